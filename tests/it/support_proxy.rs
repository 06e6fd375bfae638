//! A TCP proxy that can freeze (a network partition without resets: connections stay open,
//! nothing is forwarded any more, new connections are accepted and never served), and a
//! redis-server with a TCP port behind it.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::util::Redis;

/// How often the proxy's threads look at their flags; internal to the fixture.
const TICK: Duration = Duration::from_millis(10);

pub struct Proxy {
    addr: SocketAddr,
    frozen: Arc<AtomicBool>,
    closed: Arc<AtomicBool>,
}

impl Proxy {
    /// Forwards connections on a fresh local port to `target`.
    pub fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let proxy = Proxy {
            addr: listener.local_addr().unwrap(),
            frozen: Arc::default(),
            closed: Arc::default(),
        };
        let (frozen, closed) = (proxy.frozen.clone(), proxy.closed.clone());
        std::thread::spawn(move || {
            while !closed.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        // A frozen network lets the connection in and answers nothing.
                        let Ok(server) = TcpStream::connect(target) else {
                            continue;
                        };
                        pump(
                            client.try_clone().unwrap(),
                            server.try_clone().unwrap(),
                            &frozen,
                            &closed,
                        );
                        pump(server, client, &frozen, &closed);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(TICK),
                    Err(_) => return,
                }
            }
        });
        proxy
    }

    pub fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    /// Stops forwarding in both directions without closing anything.
    pub fn freeze(&self) {
        self.frozen.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.closed.store(true, Ordering::SeqCst);
    }
}

/// Copies `from` to `to` on a thread until either side closes or the proxy is dropped. While
/// frozen, bytes already read are held back, not forwarded.
fn pump(mut from: TcpStream, mut to: TcpStream, frozen: &Arc<AtomicBool>, closed: &Arc<AtomicBool>) {
    let (frozen, closed) = (frozen.clone(), closed.clone());
    from.set_read_timeout(Some(TICK)).unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        while !closed.load(Ordering::SeqCst) {
            if frozen.load(Ordering::SeqCst) {
                std::thread::sleep(TICK);
                continue;
            }
            match from.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    while frozen.load(Ordering::SeqCst) && !closed.load(Ordering::SeqCst) {
                        std::thread::sleep(TICK);
                    }
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => break,
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Both);
    });
}

/// A redis-server that also listens on a local TCP port (the unix socket stays for `jobq`
/// commands and the test's own checks).
pub fn redis_with_tcp() -> (Redis, SocketAddr) {
    // The port is free now; a race with another process taking it in between is harmless to
    // correctness (the server would fail to start and the fixture would say so).
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let port_arg = port.to_string();
    let redis = Redis::start_with(&["--port", &port_arg, "--bind", "127.0.0.1"]);
    (redis, SocketAddr::from(([127, 0, 0, 1], port)))
}
