//! A second, plain socket for calls made one at a time (issue 11, single enqueue).
//!
//! The shared multiplexed connection hands every command to its own task and the reply back
//! to the caller: two thread hand-offs per awaited call, about half of such a call's time here
//! (20,000 `EVALSHA` calls awaited one by one on a multi-thread runtime: ~11k/s through the
//! multiplexed connection, ~23k/s when the calling task writes and reads a socket itself). So
//! a call that finds this socket free takes it for its whole operation; calls that overlap
//! (a busy worker, many tasks) go through the multiplexed connection as before.
//!
//! Only for one server reached without TLS (`redis://`, `unix://`): a cluster and Sentinel keep
//! their own clients (slot maps, failovers), and TLS would need its own handshake here. Not used
//! while writes must be confirmed by replicas either: `WAIT` counts one connection's writes.
//! The socket is opened once a store has made [`OPEN_AFTER`] calls, so a one-shot command
//! never pays for a second connection.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::{ConnectionAddr, RedisError, RedisResult, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Calls a store makes through the multiplexed connection before it opens the socket.
const OPEN_AFTER: u32 = 16;
/// After the socket could not be opened, how long calls go without trying again.
const REOPEN_PAUSE: Duration = Duration::from_secs(1);

trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// Where the socket goes, and what it sends first (`AUTH`, `SELECT`).
struct Target {
    addr: ConnectionAddr,
    login: Vec<u8>,
    logins: usize,
    db: i64,
}

enum Slot {
    /// No socket: calls so far, and no new try before `retry_at`.
    Closed {
        calls: u32,
        retry_at: Option<Instant>,
    },
    Idle(Socket),
    /// Leased to one call, or being opened.
    Busy,
}

/// The socket of one store (see the module comment).
pub(super) struct Direct {
    target: Option<Target>,
    /// The shared connection's: opening the socket, and each reply.
    connect_timeout: Duration,
    response_timeout: Duration,
    slot: Mutex<Slot>,
}

impl Direct {
    /// `client` is the single server's client; `None` for clusters, Sentinel and TLS.
    /// The timeouts are the shared connection's: for opening the socket, and for each reply.
    pub fn new(
        client: Option<&redis::Client>,
        connect_timeout: Duration,
        response_timeout: Duration,
    ) -> Direct {
        let target = client.and_then(|c| {
            let info = c.get_connection_info();
            let addr = match info.addr() {
                a @ (ConnectionAddr::Tcp(..) | ConnectionAddr::Unix(_)) => a.clone(),
                _ => return None,
            };
            let settings = info.redis_settings();
            let mut login = Vec::new();
            let mut logins = 0;
            if let Some(password) = settings.password() {
                let mut auth = redis::cmd("AUTH");
                if let Some(user) = settings.username() {
                    auth.arg(user);
                }
                auth.arg(password);
                login.extend(auth.get_packed_command());
                logins += 1;
            }
            if settings.db() != 0 {
                login.extend(redis::cmd("SELECT").arg(settings.db()).get_packed_command());
                logins += 1;
            }
            Some(Target {
                addr,
                login,
                logins,
                db: settings.db(),
            })
        });
        Direct {
            target,
            connect_timeout,
            response_timeout,
            slot: Mutex::new(Slot::Closed {
                calls: 0,
                retry_at: None,
            }),
        }
    }

    /// The socket for one call, if it is free (opened now if the store has made enough
    /// calls); `None`: use the multiplexed connection.
    pub async fn lease(self: &Arc<Self>) -> Option<Lease> {
        let target = self.target.as_ref()?;
        {
            let mut slot = self.slot.lock().unwrap();
            match std::mem::replace(&mut *slot, Slot::Busy) {
                Slot::Idle(socket) => return Some(Lease::new(socket, self.clone())),
                Slot::Busy => return None,
                Slot::Closed { calls, retry_at } => {
                    let calls = calls + 1;
                    if calls < OPEN_AFTER || retry_at.is_some_and(|t| Instant::now() < t) {
                        *slot = Slot::Closed { calls, retry_at };
                        return None;
                    }
                    // Left busy: this call opens it.
                }
            }
        }
        // Marks the slot closed again if this future is dropped while it opens the socket.
        let opening = Opening(self);
        let opened = tokio::time::timeout(self.connect_timeout, Socket::open(target)).await;
        std::mem::forget(opening);
        match opened {
            Ok(Ok(socket)) => Some(Lease::new(socket, self.clone())),
            _ => {
                self.close(Some(Instant::now() + REOPEN_PAUSE));
                None
            }
        }
    }

    fn close(&self, retry_at: Option<Instant>) {
        *self.slot.lock().unwrap() = Slot::Closed {
            calls: OPEN_AFTER,
            retry_at,
        };
    }

    fn give_back(&self, socket: Socket) {
        *self.slot.lock().unwrap() = Slot::Idle(socket);
    }
}

struct Opening<'a>(&'a Direct);

impl Drop for Opening<'_> {
    fn drop(&mut self) {
        self.0.close(None);
    }
}

/// One call's hold on the socket; it goes back to the store when the call's operation ends,
/// unless a command was cut off half-way (its reply would be read as the next call's).
#[derive(Clone)]
pub struct Lease(Arc<Held>);

struct Held {
    socket: tokio::sync::Mutex<Option<Socket>>,
    home: Arc<Direct>,
}

impl Lease {
    fn new(socket: Socket, home: Arc<Direct>) -> Lease {
        Lease(Arc::new(Held {
            socket: tokio::sync::Mutex::new(Some(socket)),
            home,
        }))
    }

    async fn call(&self, packed: &[u8], skip: usize, count: usize) -> RedisResult<Vec<Value>> {
        let mut guard = self.0.socket.lock().await;
        let Some(socket) = guard.as_mut() else {
            return Err(dropped());
        };
        let result =
            tokio::time::timeout(self.0.home.response_timeout, socket.call(packed, skip + count)).await;
        match result {
            Ok(Ok(mut replies)) => {
                // A transaction's `QUEUED` replies come first; an error among them is the
                // transaction's error (as the multiplexed connection reports it).
                let rest = replies.split_off(skip);
                if let Some(Value::ServerError(e)) =
                    replies.into_iter().find(|v| matches!(v, Value::ServerError(_)))
                {
                    return Err(e.into());
                }
                Ok(rest)
            }
            Ok(Err(e)) => {
                *guard = None;
                Err(e)
            }
            Err(_) => {
                *guard = None;
                Err(RedisError::from(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "Redis did not answer in time",
                )))
            }
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        match self.socket.get_mut().take() {
            Some(socket) if socket.clean => self.home.give_back(socket),
            _ => self.home.close(None),
        }
    }
}

impl redis::aio::ConnectionLike for Lease {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> redis::RedisFuture<'a, Value> {
        Box::pin(async move {
            let mut replies = self.call(&cmd.get_packed_command(), 0, 1).await?;
            replies.pop().ok_or_else(dropped)
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<Value>> {
        Box::pin(async move { self.call(&pipeline.get_packed_pipeline(), offset, count).await })
    }

    fn get_db(&self) -> i64 {
        self.0.home.target.as_ref().map_or(0, |t| t.db)
    }
}

struct Socket {
    io: Box<dyn Io>,
    buf: Vec<u8>,
    /// No reply is outstanding: the next call reads its own.
    clean: bool,
}

impl Socket {
    async fn open(target: &Target) -> RedisResult<Socket> {
        let io: Box<dyn Io> = match &target.addr {
            ConnectionAddr::Tcp(host, port) => {
                let stream = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
                stream.set_nodelay(true)?;
                Box::new(stream)
            }
            ConnectionAddr::Unix(path) => Box::new(tokio::net::UnixStream::connect(path).await?),
            _ => return Err(dropped()),
        };
        let mut socket = Socket {
            io,
            buf: Vec::with_capacity(4096),
            clean: true,
        };
        if target.logins > 0 {
            for reply in socket.call(&target.login, target.logins).await? {
                if let Value::ServerError(e) = reply {
                    return Err(e.into());
                }
            }
        }
        Ok(socket)
    }

    /// Writes `packed` and reads `replies` replies.
    async fn call(&mut self, packed: &[u8], replies: usize) -> RedisResult<Vec<Value>> {
        self.clean = false;
        self.io.write_all(packed).await?;
        self.buf.clear();
        let mut ends = Vec::with_capacity(replies);
        let mut scanned = 0;
        while ends.len() < replies {
            match frame_len(&self.buf[scanned..]) {
                Some(Ok(len)) => {
                    scanned += len;
                    ends.push(scanned);
                    continue;
                }
                Some(Err(())) => {
                    return Err(RedisError::from(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "unreadable reply from Redis",
                    )))
                }
                None => {}
            }
            self.buf.reserve(4096);
            if self.io.read_buf(&mut self.buf).await? == 0 {
                return Err(dropped());
            }
        }
        // Redis answers only what was asked: anything more means the stream is out of step.
        if scanned != self.buf.len() {
            return Err(RedisError::from(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "unexpected data from Redis",
            )));
        }
        let mut start = 0;
        let mut values = Vec::with_capacity(replies);
        for end in ends {
            values.push(redis::parse_redis_value(&self.buf[start..end])?);
            start = end;
        }
        self.clean = true;
        Ok(values)
    }
}

fn dropped() -> RedisError {
    RedisError::from(std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        "connection to Redis closed",
    ))
}

/// The length of the first complete RESP value in `buf`: `None` while it is incomplete,
/// `Some(Err(()))` if it is not RESP. Covers RESP3's types too, though this socket speaks RESP2.
fn frame_len(buf: &[u8]) -> Option<Result<usize, ()>> {
    let mut pos = 0;
    // Values still to read: a header line adds its aggregate's elements.
    let mut pending: u64 = 1;
    while pending > 0 {
        let line = buf.get(pos..)?;
        let end = line.windows(2).position(|w| w == b"\r\n")?;
        let kind = line.first().copied()?;
        let number = || -> Result<i64, ()> {
            std::str::from_utf8(&line[1..end])
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or(())
        };
        pos += end + 2;
        pending -= 1;
        match kind {
            b'$' | b'!' | b'=' => match number() {
                Ok(n) if n >= 0 => pos += n as usize + 2,
                Ok(_) => {}
                Err(()) => return Some(Err(())),
            },
            b'*' | b'~' | b'>' | b'%' | b'|' => match number() {
                Ok(n) if n > 0 => {
                    let n = n as u64;
                    pending += match kind {
                        b'%' => 2 * n,
                        b'|' => 2 * n + 1,
                        _ => n,
                    }
                }
                Ok(_) => {}
                Err(()) => return Some(Err(())),
            },
            b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => {}
            _ => return Some(Err(())),
        }
    }
    (pos <= buf.len()).then_some(Ok(pos))
}

#[cfg(test)]
mod tests {
    use super::frame_len;

    #[test]
    fn frames_end_where_their_value_ends() {
        let reply = b"*2\r\n$6\r\nqueued\r\n$3\r\nabc\r\n";
        assert_eq!(frame_len(reply), Some(Ok(reply.len())));
        for cut in 0..reply.len() {
            assert_eq!(frame_len(&reply[..cut]), None, "cut at {cut}");
        }
        let two = b"+OK\r\n:5\r\n";
        assert_eq!(frame_len(two), Some(Ok(5)));
        assert_eq!(frame_len(b"$-1\r\n*-1\r\n"), Some(Ok(5)));
        assert_eq!(frame_len(b"*0\r\n"), Some(Ok(4)));
        assert_eq!(frame_len(b"-ERR no\r\n"), Some(Ok(9)));
        // A bulk string may hold CR LF itself.
        assert_eq!(frame_len(b"$4\r\na\r\nb\r\n"), Some(Ok(10)));
        assert_eq!(frame_len(b"*1\r\n*2\r\n:1\r\n:2\r\n"), Some(Ok(16)));
        assert_eq!(frame_len(b"%1\r\n+a\r\n:1\r\n"), Some(Ok(12)));
        assert_eq!(frame_len(b"?what\r\n"), Some(Err(())));
        assert_eq!(frame_len(b"$x\r\n"), Some(Err(())));
    }
}
