//! The HTTP listener: serves connections with hyper under a header-read timeout and an idle
//! timeout, holds at most a configured number of them (closing the longest-idle one with no
//! request in flight to let a new one in), gives memory back after a burst, and stops
//! gracefully.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use meridian_catalog::sync::lock;
use meridian_ogc::gwc::{Lookup, TileCache};
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tower::ServiceExt;

/// How connections are bounded.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// A request head must arrive within this, counted from when the connection waits for
    /// one (a kept-alive connection waiting that long for its next request is closed too).
    pub header_read_timeout: Duration,
    /// A connection with no traffic either way for this long is closed, whatever it is doing.
    pub idle_timeout: Duration,
    /// Connections held open at most.
    pub max_connections: usize,
}

/// Connections the kernel queues before the node accepts them; past this it drops
/// connection attempts, which clients retry only a second later.
const LISTEN_BACKLOG: u32 = 8192;

/// Listen on `addr` with a long accept queue (the kernel caps it at `net.core.somaxconn`).
pub fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Descriptors kept free for files, the broker and peers when the connection cap is derived
/// from the process's descriptor limit.
const RESERVED_DESCRIPTORS: usize = 512;

/// Raise the soft limit on open descriptors to the hard one, and return the connections the
/// node can hold: `wanted`, at most the limit less [`RESERVED_DESCRIPTORS`].
pub fn connection_cap(wanted: usize) -> usize {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed.
    let limit = unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            if lim.rlim_cur < lim.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: lim.rlim_max,
                    rlim_max: lim.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    lim.rlim_cur = lim.rlim_max;
                }
            }
            usize::try_from(lim.rlim_cur).unwrap_or(usize::MAX)
        } else {
            1024
        }
    };
    wanted
        .min(limit.saturating_sub(RESERVED_DESCRIPTORS))
        .max(16)
}

/// Milliseconds since the process's first look at the clock.
fn now_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// One open connection as the listener sees it.
struct Conn {
    /// When bytes last went either way (ms, [`now_ms`]).
    last: AtomicU64,
    /// Requests being answered.
    in_flight: AtomicUsize,
    /// Told to close (to make room).
    close: Notify,
}

impl Conn {
    fn touch(&self) {
        self.last.store(now_ms(), Ordering::Relaxed);
    }
    fn idle_for(&self) -> Duration {
        Duration::from_millis(now_ms().saturating_sub(self.last.load(Ordering::Relaxed)))
    }
}

/// The open connections, and the most that were open since memory was last given back.
#[derive(Default)]
struct Registry {
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    next: AtomicU64,
    peak: AtomicUsize,
}

impl Registry {
    fn open(&self) -> usize {
        lock(&self.conns).len()
    }

    fn add(&self) -> (u64, Arc<Conn>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let c = Arc::new(Conn {
            last: AtomicU64::new(now_ms()),
            in_flight: AtomicUsize::new(0),
            close: Notify::new(),
        });
        let n = {
            let mut m = lock(&self.conns);
            m.insert(id, c.clone());
            m.len()
        };
        self.peak.fetch_max(n, Ordering::Relaxed);
        (id, c)
    }

    /// Forget a closed connection; after a burst (the count fell under a quarter of a peak of
    /// at least 1000) hand the memory its buffers used back to the system.
    fn remove(&self, id: u64) {
        let n = {
            let mut m = lock(&self.conns);
            m.remove(&id);
            m.len()
        };
        let peak = self.peak.load(Ordering::Relaxed);
        if peak >= 1000
            && n < peak / 4
            && self
                .peak
                .compare_exchange(peak, n, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            crate::memory::release_free_memory();
        }
    }

    /// Ask the connection idle longest, with no request in flight, to close; false when
    /// every connection is busy.
    fn evict_idlest(&self) -> bool {
        let victim = lock(&self.conns)
            .values()
            .filter(|c| c.in_flight.load(Ordering::Relaxed) == 0)
            .min_by_key(|c| c.last.load(Ordering::Relaxed))
            .cloned();
        match victim {
            Some(c) => {
                c.close.notify_one();
                true
            }
            None => false,
        }
    }
}

/// A connection's socket, noting when bytes go either way.
struct Tracked {
    inner: TcpStream,
    conn: Arc<Conn>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.conn.touch();
        }
        r
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.conn.touch();
        }
        r
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Counts a request in flight on its connection while it lives.
struct InFlight(Arc<Conn>);

impl InFlight {
    fn new(c: Arc<Conn>) -> Self {
        c.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(c)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

/// Serve `app` on `listener` until `shutdown` resolves, then let open requests finish (at
/// most 30 s). Each request carries its client's address ([`ConnectInfo`]). Cached tiles
/// kept in `tiles`' memory are answered before `app`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    tiles: Arc<TileCache>,
    shutdown: impl Future<Output = ()>,
) {
    let registry = Arc::new(Registry::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(x) => x,
                Err(e) => {
                    // Out of descriptors or memory: wait a little rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        if registry.open() >= limits.max_connections && !registry.evict_idlest() {
            tracing::debug!(%remote, "connection refused: every connection is busy");
            continue;
        }
        let _ = stream.set_nodelay(true);
        let (id, conn) = registry.add();
        let (app, registry, stop) = (app.clone(), registry.clone(), stop_rx.clone());
        let tiles = tiles.clone();
        tokio::spawn(async move {
            serve_connection(stream, remote, app, tiles, limits, conn, stop).await;
            registry.remove(id);
        });
    }
    let _ = stop_tx.send(true);
    let deadline = Instant::now() + Duration::from_secs(30);
    while registry.open() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn serve_connection(
    stream: TcpStream,
    remote: SocketAddr,
    app: Router,
    tiles: Arc<TileCache>,
    limits: HttpLimits,
    conn: Arc<Conn>,
    mut stop: watch::Receiver<bool>,
) {
    let io = TokioIo::new(Tracked {
        inner: stream,
        conn: conn.clone(),
    });
    let requests = conn.clone();
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(remote));
        let guard = InFlight::new(requests.clone());
        let (app, tiles) = (app.clone(), tiles.clone());
        async move {
            // A cached tile kept in memory is answered before the router.
            let ticket = match tiles.hot.lookup(req.method(), req.uri(), req.headers()) {
                Lookup::Answer(r) => return Ok(r),
                Lookup::Miss(t) => Some(t),
                Lookup::Other => None,
            };
            let r = app.oneshot(req.map(axum::body::Body::new)).await;
            if let (Some(t), Ok(answer)) = (ticket, &r) {
                tiles.hot.offer(t, answer);
            }
            drop(guard);
            r
        }
    });
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let served = builder.serve_connection_with_upgrades(io, svc);
    tokio::pin!(served);
    let mut closing = false;
    loop {
        let wait = limits.idle_timeout.saturating_sub(conn.idle_for());
        tokio::select! {
            r = served.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(%remote, error = %e, "connection ended");
                }
                break;
            }
            _ = stop.changed(), if !closing => {
                served.as_mut().graceful_shutdown();
                closing = true;
            }
            // Room needed for a new connection: this one is idle; drop it.
            _ = conn.close.notified() => break,
            _ = tokio::time::sleep(wait) => {
                if conn.idle_for() >= limits.idle_timeout {
                    tracing::debug!(%remote, "idle connection closed");
                    break;
                }
            }
        }
    }
}
