//! The server's log lines, written to stderr from a thread of their own.
//!
//! Every init, answer and server verification logs a line. Written straight to stderr, each
//! line was a `write` system call on the request's worker, under stderr's lock (the two
//! workers queued on it), and it cost a server verification about 7 µs of its ~55. A
//! [`LogSink`] instead appends each formatted line to a buffer in memory and wakes its
//! writer thread only when the buffer goes from empty to holding something; the thread
//! waits [`LINGER`] for more to gather and writes them with one call.
//!
//! - **Order** is kept: lines reach the target in the order they were appended.
//! - **Delay**: a line reaches the target within about [`LINGER`] plus the write.
//! - **Back-pressure**: when the target cannot keep up and [`MAX_PENDING`] bytes wait, a
//!   writer waits for the thread to take them, as a direct write to a slow stderr would.
//! - **Ending**: dropping the [`LogGuard`] writes what is left and stops the thread, so a
//!   server that shuts down (SIGTERM, Ctrl-C, an error out of `main`) loses no line. A
//!   process killed outright (SIGKILL) loses the lines of its last [`LINGER`]. These are
//!   diagnostics: nothing the service acknowledges depends on them.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long the writer thread lets lines gather after the first one arrives.
pub const LINGER: Duration = Duration::from_millis(5);

/// Bytes that may wait before a writer is held back until the thread takes them.
pub const MAX_PENDING: usize = 4 << 20;

struct State {
    pending: Vec<u8>,
    /// The thread is waiting for a first line (so the next append must wake it).
    idle: bool,
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the thread: a first line arrived, or the sink is closing.
    arrived: Condvar,
    /// Wakes writers held back by a full buffer.
    taken: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A `MakeWriter` for `tracing_subscriber::fmt` whose writes go to the writer thread.
#[derive(Clone)]
pub struct LogSink {
    shared: Arc<Shared>,
}

/// Stops the writer thread when dropped, after it has written every line appended.
pub struct LogGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl LogSink {
    /// A sink writing to `target` from a new thread, `stile-log`.
    pub fn new(target: impl Write + Send + 'static) -> std::io::Result<(LogSink, LogGuard)> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                pending: Vec::with_capacity(64 * 1024),
                idle: false,
                closed: false,
            }),
            arrived: Condvar::new(),
            taken: Condvar::new(),
        });
        let thread = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("stile-log".into())
                .spawn(move || write_out(&shared, target))?
        };
        Ok((
            LogSink {
                shared: shared.clone(),
            },
            LogGuard {
                shared,
                thread: Some(thread),
            },
        ))
    }

    fn append(&self, bytes: &[u8]) {
        let mut state = self.shared.lock();
        while state.pending.len() >= MAX_PENDING && !state.closed {
            state = self
                .shared
                .taken
                .wait(state)
                .unwrap_or_else(|p| p.into_inner());
        }
        state.pending.extend_from_slice(bytes);
        if state.idle {
            state.idle = false;
            self.shared.arrived.notify_one();
        }
    }
}

/// The writer thread: wait for a first line, let more gather, write them all at once.
fn write_out(shared: &Shared, mut target: impl Write) {
    let mut spare = Vec::with_capacity(64 * 1024);
    loop {
        let closed = {
            let mut state = shared.lock();
            while state.pending.is_empty() && !state.closed {
                state.idle = true;
                state = shared
                    .arrived
                    .wait(state)
                    .unwrap_or_else(|p| p.into_inner());
            }
            state.idle = false;
            state.closed
        };
        if !closed {
            std::thread::sleep(LINGER);
        }
        let closed = {
            let mut state = shared.lock();
            std::mem::swap(&mut state.pending, &mut spare);
            shared.taken.notify_all();
            state.closed
        };
        // A target that fails (stderr closed) loses these lines; there is nowhere to say so.
        let _ = target.write_all(&spare).and_then(|()| target.flush());
        spare.clear();
        if spare.capacity() > MAX_PENDING {
            spare = Vec::with_capacity(64 * 1024);
        }
        if closed && shared.lock().pending.is_empty() {
            return;
        }
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        {
            let mut state = self.shared.lock();
            state.closed = true;
            self.shared.arrived.notify_one();
            self.shared.taken.notify_all();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One event's writer: `tracing_subscriber::fmt` formats the whole line, then writes it
/// with one `write_all`, so each line is appended whole.
pub struct LineWriter<'a> {
    sink: &'a LogSink,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.sink.append(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogSink {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter { sink: self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;
    use tracing_subscriber::fmt::MakeWriter;

    /// A target that keeps what it is given, and counts the calls.
    #[derive(Clone, Default)]
    struct Kept(Arc<Mutex<(Vec<u8>, usize)>>);

    impl Write for Kept {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let mut k = self.0.lock().unwrap();
            k.0.extend_from_slice(buf);
            k.1 += 1;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Kept {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().0.clone()).unwrap()
        }
        fn writes(&self) -> usize {
            self.0.lock().unwrap().1
        }
    }

    fn line(sink: &LogSink, text: &str) {
        sink.make_writer().write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn lines_arrive_in_order_and_together() {
        let kept = Kept::default();
        let (sink, guard) = LogSink::new(kept.clone()).unwrap();
        for i in 0..1000 {
            line(&sink, &format!("line {i}\n"));
        }
        drop(guard);
        let text = kept.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1000);
        for (i, l) in lines.iter().enumerate() {
            assert_eq!(*l, format!("line {i}"));
        }
        // A thousand lines appended faster than LINGER go out in a few writes, not one each.
        assert!(kept.writes() < 20, "{} writes", kept.writes());
    }

    #[test]
    fn a_line_is_written_soon_without_waiting_for_more() {
        let kept = Kept::default();
        let (sink, _guard) = LogSink::new(kept.clone()).unwrap();
        // The thread is idle between lines; each line wakes it.
        for round in 0..3 {
            let started = Instant::now();
            line(&sink, &format!("alone {round}\n"));
            while !kept.text().contains(&format!("alone {round}")) {
                assert!(
                    started.elapsed() < Duration::from_secs(5),
                    "line {round} never written"
                );
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }

    #[test]
    fn lines_from_many_threads_stay_whole() {
        let kept = Kept::default();
        let (sink, guard) = LogSink::new(kept.clone()).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let sink = sink.clone();
                std::thread::spawn(move || {
                    for i in 0..500 {
                        line(&sink, &format!("thread {t} line {i} {}\n", "x".repeat(100)));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(guard);
        let text = kept.text();
        let mut next = [0usize; 4];
        for l in text.lines() {
            let parts: Vec<&str> = l.split(' ').collect();
            assert_eq!(parts.len(), 5, "torn line: {l}");
            let t: usize = parts[1].parse().unwrap();
            let i: usize = parts[3].parse().unwrap();
            assert_eq!(i, next[t], "thread {t}'s lines out of order");
            next[t] += 1;
        }
        assert_eq!(next, [500; 4]);
    }

    /// A target that blocks until released: a writer is held back once `MAX_PENDING`
    /// bytes wait, and goes on when the thread takes them.
    #[test]
    fn a_full_buffer_holds_writers_back() {
        #[derive(Clone)]
        struct Gate(Arc<(Mutex<bool>, Condvar)>, Kept);
        impl Write for Gate {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                let (open, cv) = &*self.0;
                let mut o = open.lock().unwrap();
                while !*o {
                    o = cv.wait(o).unwrap();
                }
                self.1.write(buf)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let gate = Gate(
            Arc::new((Mutex::new(false), Condvar::new())),
            Kept::default(),
        );
        let (sink, guard) = LogSink::new(gate.clone()).unwrap();
        let chunk = "y".repeat(64 * 1024) + "\n";
        // The first chunk is taken by the thread, which then blocks on the gate.
        line(&sink, &chunk);
        while sink.shared.lock().pending.len() == 64 * 1024 + 1 {
            std::thread::yield_now();
        }
        let writer = {
            let sink = sink.clone();
            let chunk = chunk.clone();
            std::thread::spawn(move || {
                for _ in 0..(MAX_PENDING / chunk.len() + 2) {
                    line(&sink, &chunk);
                }
            })
        };
        std::thread::sleep(Duration::from_millis(200));
        assert!(!writer.is_finished(), "a writer went on past a full buffer");
        assert!(sink.shared.lock().pending.len() >= MAX_PENDING);
        {
            let (open, cv) = &*gate.0;
            *open.lock().unwrap() = true;
            cv.notify_all();
        }
        writer.join().unwrap();
        drop(guard);
        let expected = (MAX_PENDING / chunk.len() + 3) * chunk.len();
        assert_eq!(gate.1.text().len(), expected);
    }

    #[test]
    fn tracing_events_go_through_the_sink() {
        let kept = Kept::default();
        let (sink, guard) = LogSink::new(kept.clone()).unwrap();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(sink)
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(code = "T001", "token verified");
        });
        drop(guard);
        let text = kept.text();
        assert!(text.contains("token verified"), "{text}");
        assert!(text.contains("code=\"T001\""), "{text}");
        assert!(
            !text.contains('\u{1b}'),
            "colour codes in a plain log: {text}"
        );
    }

    /// `log_format = "json"`: one JSON object per line.
    #[test]
    fn json_lines_stay_one_object_each() {
        let kept = Kept::default();
        let (sink, guard) = LogSink::new(kept.clone()).unwrap();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(sink)
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            for i in 0..100 {
                tracing::info!(n = i, "token verified");
            }
        });
        drop(guard);
        let text = kept.text();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        assert_eq!(lines.len(), 100);
        for (i, l) in lines.iter().enumerate() {
            assert_eq!(l["fields"]["n"], i);
            assert_eq!(l["fields"]["message"], "token verified");
        }
    }
}
