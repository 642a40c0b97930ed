//! A minimal HTTP/1.1 GET over one kept-alive loopback connection, for polling a node as
//! cheaply as possible: the blocking `reqwest` client hands every request to a runtime
//! thread of its own and back, which on 2 shared cores adds its own latency and load to
//! what a poll measures.

use crate::BenchError;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

/// One connection to a server's HTTP address, authenticated as Meridian's default
/// administrator unless made [`RawGet::anonymous`].
pub struct RawGet {
    addr: String,
    prefix: String,
    auth: bool,
    stream: Option<BufReader<TcpStream>>,
}

impl RawGet {
    /// For a node whose base URL is `http://host:port/prefix`.
    pub fn new(base: &str) -> Result<Self, BenchError> {
        let (addr, prefix) = split_base(base)?;
        Ok(RawGet {
            addr,
            prefix,
            auth: true,
            stream: None,
        })
    }

    /// The same, sending no credentials (OGC requests, other servers).
    pub fn anonymous(mut self) -> Self {
        self.auth = false;
        self
    }

    /// The status of `GET prefix + path` (the body is read and dropped).
    pub fn status(&mut self, path: &str) -> Result<u16, BenchError> {
        self.get(path, &mut std::io::sink())
    }

    /// `GET prefix + path`: its status, the body written to `body`. A connection the node
    /// closed is opened again once.
    pub fn get(&mut self, path: &str, body: &mut impl Write) -> Result<u16, BenchError> {
        match self.try_get(path, body) {
            Ok(s) => Ok(s),
            Err(_) => {
                self.stream = None;
                self.try_get(path, body)
                    .map_err(|e| BenchError::Http(format!("GET {path}: {e}")))
            }
        }
    }

    fn try_get(&mut self, path: &str, body: &mut impl Write) -> std::io::Result<u16> {
        if self.stream.is_none() {
            let s = TcpStream::connect(&self.addr)?;
            s.set_nodelay(true)?;
            self.stream = Some(BufReader::new(s));
        }
        let Some(reader) = self.stream.as_mut() else {
            return Err(std::io::Error::other("no connection"));
        };
        // admin:geoserver
        let auth = if self.auth {
            "Authorization: Basic YWRtaW46Z2Vvc2VydmVy\r\n"
        } else {
            ""
        };
        let request = format!(
            "GET {}{path} HTTP/1.1\r\nHost: {}\r\n{auth}\r\n",
            self.prefix, self.addr
        );
        reader.get_mut().write_all(request.as_bytes())?;
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let mut head = Head::from_status_line(&line)?;
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Err(bad("headers cut short"));
            }
            if !head.header(&line)? {
                break;
            }
        }
        let Head {
            status,
            length,
            chunked,
            close,
            ..
        } = head;
        let length = if matches!(status, 204 | 304) {
            Some(0)
        } else {
            length
        };
        if chunked {
            loop {
                line.clear();
                reader.read_line(&mut line)?;
                let size = usize::from_str_radix(line.trim(), 16).map_err(|_| bad("chunk size"))?;
                copy(reader, size, body)?;
                copy(reader, 2, &mut std::io::sink())?;
                if size == 0 {
                    break;
                }
            }
        } else if let Some(length) = length {
            copy(reader, length, body)?;
        } else {
            // Neither sized nor chunked: the body runs until the server closes.
            std::io::copy(reader, body)?;
            self.stream = None;
        }
        if close {
            self.stream = None;
        }
        Ok(status)
    }
}

/// `http://host:port/prefix` → (`host:port`, `/prefix` without a trailing slash).
pub(crate) fn split_base(base: &str) -> Result<(String, String), BenchError> {
    let rest = base
        .strip_prefix("http://")
        .ok_or_else(|| BenchError::Http(format!("{base}: not an http:// URL")))?;
    let (addr, prefix) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    Ok((addr.to_string(), prefix.trim_end_matches('/').to_string()))
}

/// `http://host:port/path?query` → (`http://host:port`, `/path?query`).
pub(crate) fn split_url(url: &str) -> Result<(String, &str), BenchError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| BenchError::Http(format!("{url}: not an http:// URL")))?;
    let at = rest.find('/').unwrap_or(rest.len());
    let path = if at == rest.len() { "/" } else { &rest[at..] };
    Ok((format!("http://{}", &rest[..at]), path))
}

/// What the status line and the headers of an answer say about it.
pub(crate) struct Head {
    /// The status code.
    pub status: u16,
    /// `Content-Length`.
    pub length: Option<usize>,
    /// `Transfer-Encoding: chunked`.
    pub chunked: bool,
    /// `Connection: close`, or HTTP/1.0: the server closes the connection after this one.
    pub close: bool,
    /// `X-Meridian-Position`, the position of the write the answer is for.
    pub position: Option<String>,
}

impl Head {
    /// From the status line (`HTTP/1.1 201 Created`).
    pub(crate) fn from_status_line(line: &str) -> std::io::Result<Head> {
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(line.trim()))?;
        Ok(Head {
            status,
            length: None,
            chunked: false,
            close: line.starts_with("HTTP/1.0"),
            position: None,
        })
    }

    /// Take one header line; false for the empty line that ends the headers.
    pub(crate) fn header(&mut self, line: &str) -> std::io::Result<bool> {
        let header = line.trim_end();
        if header.is_empty() {
            return Ok(false);
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                self.length = Some(value.parse().map_err(|_| bad(header))?);
            } else if name.eq_ignore_ascii_case("connection") {
                self.close = value.eq_ignore_ascii_case("close");
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                self.chunked = value.eq_ignore_ascii_case("chunked");
            } else if name.eq_ignore_ascii_case("x-meridian-position") {
                self.position = Some(value.to_string());
            }
        }
        Ok(true)
    }
}

/// An answer that is not HTTP as expected.
pub(crate) fn bad(what: &str) -> std::io::Error {
    std::io::Error::other(format!("bad response: {what}"))
}

/// Copy exactly `n` bytes from `reader` to `to`.
fn copy(reader: &mut BufReader<TcpStream>, n: usize, to: &mut impl Write) -> std::io::Result<()> {
    let copied = std::io::copy(&mut reader.take(n as u64), to)?;
    if copied as usize == n {
        Ok(())
    } else {
        Err(std::io::Error::other("body cut short"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::net::TcpListener;

    /// A request's line and headers, as the server side of a test reads them.
    fn read_head(reader: &mut BufReader<TcpStream>) -> String {
        let mut request = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            request.push_str(&line);
            if line == "\r\n" {
                return request;
            }
        }
    }

    #[test]
    fn reads_sized_and_chunked_answers_on_one_connection() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (s, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(s);
            let mut requests = Vec::new();
            for answer in [
                "HTTP/1.1 404 Not Found\r\ncontent-length: 9\r\n\r\nno such x",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n2\r\n\":\r\n2\r\n1}\r\n0\r\n\r\n",
            ] {
                requests.push(read_head(&mut reader));
                reader.get_mut().write_all(answer.as_bytes()).unwrap();
            }
            requests
        });
        let mut raw = RawGet::new(&format!("http://{addr}/geoserver")).unwrap();
        assert_eq!(raw.status("/rest/workspaces/x.json").unwrap(), 404);
        let mut body = Vec::new();
        assert_eq!(raw.get("/rest/cluster/wait.json", &mut body).unwrap(), 200);
        assert_eq!(body, b"{\"a\":1}");
        let requests = server.join().unwrap();
        assert!(requests[0].starts_with("GET /geoserver/rest/workspaces/x.json HTTP/1.1\r\n"));
        assert!(requests[1].contains("Authorization: Basic YWRtaW46Z2Vvc2VydmVy\r\n"));
    }

    #[test]
    fn an_anonymous_client_follows_closes_and_bodies_that_run_to_the_close() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let mut requests = Vec::new();
            for answer in [
                "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nup to the close",
                "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
            ] {
                // One connection per answer: the server closes after each.
                let (s, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(s);
                requests.push(read_head(&mut reader));
                reader.get_mut().write_all(answer.as_bytes()).unwrap();
            }
            requests
        });
        let url = format!("http://{addr}/wfs?request=GetFeature");
        let (base, path) = split_url(&url).unwrap();
        assert_eq!(path, "/wfs?request=GetFeature");
        let mut raw = RawGet::new(&base).unwrap().anonymous();
        let mut body = Vec::new();
        assert_eq!(raw.get(path, &mut body).unwrap(), 200);
        assert_eq!(body, b"up to the close");
        body.clear();
        assert_eq!(raw.get(path, &mut body).unwrap(), 200);
        assert_eq!(body, b"ok");
        let requests = server.join().unwrap();
        assert!(requests[0].starts_with("GET /wfs?request=GetFeature HTTP/1.1\r\n"));
        assert!(!requests[0].contains("Authorization"), "{}", requests[0]);
        assert!(requests[1].starts_with("GET /wfs?request=GetFeature HTTP/1.1\r\n"));
    }
}
