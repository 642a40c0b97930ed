//! A minimal async HTTP/1.1 POST over one kept-alive loopback connection, for the write
//! benchmarks' clients: on 2 shared cores, what the clients cost is taken from the nodes they
//! measure, and `reqwest` (hyper's client, its pool and header maps) cost about 22 µs a
//! write against the node's 170–190.

use crate::rawget::{bad, split_base, Head};
use crate::BenchError;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// One connection to a node's HTTP address, authenticated as the default administrator.
pub struct RawPost {
    addr: String,
    prefix: String,
    stream: Option<BufReader<TcpStream>>,
    line: String,
    body: Vec<u8>,
}

/// A node's answer to a POST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// `X-Meridian-Position`: the position of the write, when the node journaled it.
    pub position: Option<String>,
    /// The body.
    pub body: String,
}

impl RawPost {
    /// For a node whose base URL is `http://host:port/prefix`; connects on the first POST.
    pub fn new(base: &str) -> Result<Self, BenchError> {
        let (addr, prefix) = split_base(base)?;
        Ok(RawPost {
            addr,
            prefix,
            stream: None,
            line: String::new(),
            body: Vec::new(),
        })
    }

    /// `POST prefix + path` with an XML body. A POST is not sent twice: any failure is the
    /// caller's (and the connection is opened again for the next one).
    pub async fn post_xml(&mut self, path: &str, xml: &str) -> Result<Answer, BenchError> {
        match self.try_post(path, xml).await {
            Ok(a) => Ok(a),
            Err(e) => {
                self.stream = None;
                Err(BenchError::Http(format!("POST {path}: {e}")))
            }
        }
    }

    async fn try_post(&mut self, path: &str, xml: &str) -> std::io::Result<Answer> {
        if self.stream.is_none() {
            let s = TcpStream::connect(&self.addr).await?;
            s.set_nodelay(true)?;
            self.stream = Some(BufReader::new(s));
        }
        let Some(reader) = self.stream.as_mut() else {
            return Err(std::io::Error::other("no connection"));
        };
        // admin:geoserver
        let request = format!(
            "POST {}{path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Basic YWRtaW46Z2Vvc2VydmVy\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{xml}",
            self.prefix,
            self.addr,
            xml.len()
        );
        reader.get_mut().write_all(request.as_bytes()).await?;
        let line = &mut self.line;
        line.clear();
        reader.read_line(line).await?;
        let mut head = Head::from_status_line(line)?;
        loop {
            line.clear();
            if reader.read_line(line).await? == 0 {
                return Err(bad("headers cut short"));
            }
            if !head.header(line)? {
                break;
            }
        }
        let body = &mut self.body;
        body.clear();
        if head.chunked {
            loop {
                line.clear();
                reader.read_line(line).await?;
                let size = usize::from_str_radix(line.trim(), 16).map_err(|_| bad("chunk size"))?;
                let start = body.len();
                body.resize(start + size + 2, 0);
                reader.read_exact(&mut body[start..]).await?;
                body.truncate(start + size);
                if size == 0 {
                    break;
                }
            }
        } else {
            // Write answers always carry their length (a body up to the close is not expected).
            body.resize(head.length.unwrap_or(0), 0);
            reader.read_exact(body).await?;
        }
        if head.close {
            self.stream = None;
        }
        Ok(Answer {
            status: head.status,
            position: head.position,
            body: String::from_utf8_lossy(body).into_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::io::{BufRead, Read, Write};

    #[test]
    fn posts_and_reads_sized_and_chunked_answers_on_one_connection() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (s, _) = listener.accept().unwrap();
            let mut reader = std::io::BufReader::new(s);
            let mut requests = Vec::new();
            for answer in [
                "HTTP/1.1 201 Created\r\nX-Meridian-Position: node-a:7\r\ncontent-length: 2\r\n\r\nws",
                "HTTP/1.1 409 Conflict\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nalre\r\n3\r\nady\r\n0\r\n\r\n",
            ] {
                let mut request = String::new();
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if let Some(v) = line.strip_prefix("Content-Length: ") {
                        length = v.trim().parse().unwrap();
                    }
                    request.push_str(&line);
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                request.push_str(&String::from_utf8(body).unwrap());
                requests.push(request);
                reader.get_mut().write_all(answer.as_bytes()).unwrap();
            }
            requests
        });
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut raw = RawPost::new(&format!("http://{addr}/geoserver/")).unwrap();
        let xml = "<workspace><name>ws</name></workspace>";
        let first = rt.block_on(raw.post_xml("/rest/workspaces", xml)).unwrap();
        assert_eq!(
            first,
            Answer {
                status: 201,
                position: Some("node-a:7".into()),
                body: "ws".into()
            }
        );
        let second = rt.block_on(raw.post_xml("/rest/workspaces", xml)).unwrap();
        assert_eq!((second.status, second.body.as_str()), (409, "already"));
        let requests = server.join().unwrap();
        assert!(requests[0].starts_with("POST /geoserver/rest/workspaces HTTP/1.1\r\n"));
        assert!(requests[0].contains("Authorization: Basic YWRtaW46Z2Vvc2VydmVy\r\n"));
        assert!(requests[1].ends_with(&format!("\r\n\r\n{xml}")));
    }
}
