//! The load generator: HTTP/1.1 over keep-alive loopback connections, with requests built
//! before the clock starts so that the generator spends its CPU on sending and reading, not
//! on building. Two ways to drive a server:
//!
//! - [`closed`]: `conns` connections each send the next request as soon as the last answer
//!   is in — the peak throughput;
//! - [`open`]: requests are due at a fixed rate whatever the server does, and each one's
//!   latency counts from when it was due (so a stalled server is not hidden by the
//!   generator waiting politely: no coordinated omission).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One keep-alive connection with its read buffer.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// A response: status and body.
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap_or("")
    }
}

impl Conn {
    pub async fn open(addr: &str) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(64 * 1024),
        })
    }

    /// Send one request (complete HTTP/1.1 bytes) and read its response.
    pub async fn roundtrip(&mut self, request: &[u8]) -> std::io::Result<Reply> {
        self.stream.write_all(request).await?;
        self.buf.clear();
        let mut chunk = [0u8; 16 * 1024];
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        };
        let head = std::str::from_utf8(&self.buf[..head_end]).map_err(|_| bad("head"))?;
        let status: u16 = head
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("status line"))?;
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .ok_or_else(|| bad("no content-length"))?;
        while self.buf.len() < head_end + length {
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
        Ok(Reply {
            status,
            body: self.buf[head_end..head_end + length].to_vec(),
        })
    }
}

fn bad(what: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("bad response: {what}"),
    )
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A POST with a body and extra header lines (each ending in `\r\n`).
pub fn post(host: &str, path: &str, content_type: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n{extra}\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A GET.
pub fn get(host: &str, path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nhost: {host}\r\n\r\n").into_bytes()
}

/// What a run measured.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Requests answered as expected.
    pub ok: usize,
    /// Requests answered otherwise, or not at all.
    pub failed: usize,
    pub seconds: f64,
    /// Latencies of the expected answers, µs, sorted.
    pub micros: Vec<u32>,
    /// The first unexpected answer, for the report.
    pub first_failure: Option<String>,
}

impl Stats {
    pub fn rps(&self) -> f64 {
        self.ok as f64 / self.seconds
    }

    /// The `q` quantile of latency, in ms.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        quantile_ms(&self.micros, q)
    }

    fn merge(parts: Vec<Stats>, seconds: f64) -> Stats {
        let mut out = Stats {
            seconds,
            ..Stats::default()
        };
        for p in parts {
            out.ok += p.ok;
            out.failed += p.failed;
            out.micros.extend(p.micros);
            out.first_failure = out.first_failure.or(p.first_failure);
        }
        out.micros.sort_unstable();
        out
    }

    fn record(&mut self, since: Instant, reply: std::io::Result<Reply>, check: &Check) {
        match reply {
            Ok(r) if check(&r) => {
                self.ok += 1;
                self.micros
                    .push(since.elapsed().as_micros().min(u32::MAX as u128) as u32);
            }
            Ok(r) => {
                self.failed += 1;
                if self.first_failure.is_none() {
                    self.first_failure = Some(format!("{} {}", r.status, r.text()));
                }
            }
            Err(e) => {
                self.failed += 1;
                if self.first_failure.is_none() {
                    self.first_failure = Some(e.to_string());
                }
            }
        }
    }
}

/// The `q` quantile (ms) of latencies in µs, sorted; NaN for none.
pub fn quantile_ms(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * q) as usize).min(sorted.len() - 1);
    f64::from(sorted[i]) / 1000.0
}

/// Whether a reply is the one the scenario expects.
pub type Check = Arc<dyn Fn(&Reply) -> bool + Send + Sync>;

/// Requests to send, by index; `None` when the supply has run out.
pub type Supply = Arc<dyn Fn(usize) -> Option<Arc<[u8]>> + Send + Sync>;

/// A supply that repeats one request.
pub fn repeat(request: Vec<u8>) -> Supply {
    let r: Arc<[u8]> = request.into();
    Arc::new(move |_| Some(r.clone()))
}

/// A supply of distinct requests, each used once.
pub fn each_once(requests: Vec<Vec<u8>>) -> Supply {
    let all: Arc<Vec<Arc<[u8]>>> = Arc::new(requests.into_iter().map(Into::into).collect());
    Arc::new(move |i| all.get(i).cloned())
}

/// One request on `conn`, recorded with its latency from `since`; a broken connection is
/// replaced. False when no new connection could be opened.
async fn exchange(
    conn: &mut Conn,
    addr: &str,
    req: &[u8],
    since: Instant,
    stats: &mut Stats,
    check: &Check,
) -> bool {
    let reply = conn.roundtrip(req).await;
    let broken = reply.is_err();
    stats.record(since, reply, check);
    if broken {
        match Conn::open(addr).await {
            Ok(c) => *conn = c,
            Err(_) => return false,
        }
    }
    true
}

/// Each connection task's figures.
async fn joined(tasks: Vec<tokio::task::JoinHandle<Stats>>) -> Vec<Stats> {
    let mut parts = Vec::with_capacity(tasks.len());
    for t in tasks {
        parts.push(t.await.unwrap_or_default());
    }
    parts
}

/// Drive `addr` with `conns` connections back to back for `duration`.
pub async fn closed(
    addr: &str,
    conns: usize,
    duration: Duration,
    supply: Supply,
    check: Check,
) -> Stats {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let end = started + duration;
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let (addr, next, supply, check) =
            (addr.to_owned(), next.clone(), supply.clone(), check.clone());
        tasks.push(tokio::spawn(async move {
            let mut stats = Stats::default();
            let Ok(mut conn) = Conn::open(&addr).await else {
                stats.failed += 1;
                return stats;
            };
            while Instant::now() < end {
                let Some(req) = supply(next.fetch_add(1, Ordering::Relaxed)) else {
                    break;
                };
                if !exchange(&mut conn, &addr, &req, Instant::now(), &mut stats, &check).await {
                    break;
                }
            }
            stats
        }));
    }
    Stats::merge(
        joined(tasks).await,
        started
            .elapsed()
            .as_secs_f64()
            .min(duration.as_secs_f64() + 0.5),
    )
}

/// Drive `addr` at `rate` requests per second for `duration`, spread over `conns`
/// connections; latency counts from when each request was due.
pub async fn open(
    addr: &str,
    rate: f64,
    conns: usize,
    duration: Duration,
    supply: Supply,
    check: Check,
) -> Stats {
    let total = (rate * duration.as_secs_f64()) as usize;
    let started = Instant::now() + Duration::from_millis(20);
    let mut tasks = Vec::new();
    for k in 0..conns {
        let (addr, supply, check) = (addr.to_owned(), supply.clone(), check.clone());
        tasks.push(tokio::spawn(async move {
            let mut stats = Stats::default();
            let Ok(mut conn) = Conn::open(&addr).await else {
                stats.failed += 1;
                return stats;
            };
            let mut i = k;
            while i < total {
                let due = started + Duration::from_secs_f64(i as f64 / rate);
                // Late because the server was slow to answer the last request: the wait
                // counts. Late because the timer fired late (it has millisecond
                // resolution): that is the generator's doing, and does not.
                let since = if Instant::now() >= due {
                    due
                } else {
                    tokio::time::sleep_until(due.into()).await;
                    Instant::now()
                };
                let Some(req) = supply(i) else { break };
                if !exchange(&mut conn, &addr, &req, since, &mut stats, &check).await {
                    break;
                }
                i += conns;
            }
            stats
        }));
    }
    Stats::merge(joined(tasks).await, duration.as_secs_f64())
}

/// A small pool of connections shared by many concurrent users (multi-step flows).
pub struct Pool {
    addr: String,
    idle: tokio::sync::Mutex<Vec<Conn>>,
    permits: tokio::sync::Semaphore,
}

impl Pool {
    pub fn new(addr: &str, size: usize) -> Arc<Pool> {
        Arc::new(Pool {
            addr: addr.to_owned(),
            idle: tokio::sync::Mutex::new(Vec::new()),
            permits: tokio::sync::Semaphore::new(size),
        })
    }

    /// One request on a pooled connection: the reply and its latency (µs), queueing for a
    /// connection included.
    pub async fn send(&self, request: &[u8]) -> (std::io::Result<Reply>, u32) {
        let t = Instant::now();
        let Ok(_permit) = self.permits.acquire().await else {
            return (Err(std::io::ErrorKind::Other.into()), 0);
        };
        let idle = self.idle.lock().await.pop();
        let reused = idle.is_some();
        let mut conn = match idle {
            Some(c) => c,
            None => match Conn::open(&self.addr).await {
                Ok(c) => c,
                Err(e) => return (Err(e), 0),
            },
        };
        let mut reply = conn.roundtrip(request).await;
        if reused && reply.is_err() {
            // The server closes keep-alive connections idle longer than its header
            // timeout; the request never reached it. Once more on a fresh connection.
            match Conn::open(&self.addr).await {
                Ok(c) => {
                    conn = c;
                    reply = conn.roundtrip(request).await;
                }
                Err(e) => return (Err(e), 0),
            }
        }
        let micros = t.elapsed().as_micros().min(u32::MAX as u128) as u32;
        if reply.is_ok() {
            self.idle.lock().await.push(conn);
        }
        (reply, micros)
    }
}
