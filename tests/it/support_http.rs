//! A tiny HTTP/1.1 webhook receiver on 127.0.0.1:0 for `jobq notify` tests: it answers 500
//! to the first `fail_first` requests (or to all while `down`), then 200, checks each body's
//! `X-Jobq-Signature` against the secret, and keeps every accepted delivery.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct Delivery {
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    pub signature_ok: bool,
}

impl Delivery {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

#[derive(Default)]
struct State {
    fail_first: usize,
    down: bool,
    requests: usize,
    failed: usize,
    accepted: Vec<Delivery>,
}

pub struct Receiver {
    pub port: u16,
    secret: Option<Vec<u8>>,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl Receiver {
    pub fn start(fail_first: usize, secret: Option<&[u8]>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            fail_first,
            ..State::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp, key) = (state.clone(), stop.clone(), secret.map(<[u8]>::to_vec));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (st, key) = (st.clone(), key.clone());
                std::thread::spawn(move || serve(conn, &st, key.as_deref()));
            }
        });
        Receiver {
            port,
            secret: secret.map(<[u8]>::to_vec),
            state,
            stop,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks/jobq", self.port)
    }

    /// While down, every request gets 500.
    pub fn set_down(&self, down: bool) {
        self.state.lock().unwrap().down = down;
    }

    pub fn accepted(&self) -> Vec<Delivery> {
        self.state.lock().unwrap().accepted.clone()
    }

    /// Requests answered with 500.
    pub fn failed(&self) -> usize {
        self.state.lock().unwrap().failed
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Answers requests on one (keep-alive) connection until the client closes it.
fn serve(conn: TcpStream, state: &Mutex<State>, secret: Option<&[u8]>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut writer = conn;
    loop {
        let mut headers = HashMap::new();
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return; // closed
        }
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let ok = {
            let mut s = state.lock().unwrap();
            s.requests += 1;
            let fail = s.down || s.requests <= s.fail_first;
            if fail {
                s.failed += 1;
            } else {
                let signature_ok = match (secret, headers.get("x-jobq-signature")) {
                    (Some(key), Some(sig)) => jobq::archive::sign::verify(key, &body, sig),
                    (Some(_), None) => false,
                    (None, sig) => sig.is_none(),
                };
                s.accepted.push(Delivery {
                    headers,
                    body,
                    signature_ok,
                });
            }
            !fail
        };
        let status = if ok { "200 OK" } else { "500 Internal Server Error" };
        let reply = format!("HTTP/1.1 {status}\r\nContent-Length: 2\r\n\r\nok");
        if writer.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}
