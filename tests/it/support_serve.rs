//! A `jobq serve` process for tests (port picked by the system, address read from its stderr,
//! killed on drop) and a small blocking HTTP client over ureq.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::time::Duration;

use serde_json::Value;

use crate::util::{jobq, Background, Redis};

pub struct Serve {
    process: Background,
    pub base: String,
}

impl Serve {
    pub fn start(redis: &Redis) -> Serve {
        Serve::start_with(redis, &[])
    }

    pub fn start_with(redis: &Redis, args: &[&str]) -> Serve {
        let mut cmd = jobq(redis);
        cmd.args(["serve", "--listen", "127.0.0.1:0"]).args(args);
        let process = Background::spawn(cmd, redis.dir.path(), "serve", "serving http://");
        let text = process.log();
        let at = text.find("http://").unwrap();
        let end = text[at + 7..].find('/').unwrap();
        let base = text[at..at + 7 + end].to_string();
        Serve { process, base }
    }

    pub fn stderr(&self) -> String {
        self.process.log()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

pub fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(10))
        .timeout_read(Duration::from_secs(30))
        .build()
}

/// An HTTP answer: status and JSON body (`Value::Null` when the body is not JSON).
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub text: String,
}

/// `method url` with `headers` and an optional body (sent as JSON unless a content type is given).
pub fn call(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> Reply {
    let mut req = agent().request(method, url);
    for (k, v) in headers {
        req = req.set(k, v);
    }
    let res = match body {
        Some(b) => {
            if !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            {
                req = req.set("Content-Type", "application/json");
            }
            req.send_string(b)
        }
        None if method == "POST"
            && !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type")) =>
        {
            req.set("Content-Type", "application/json").call()
        }
        None => req.call(),
    };
    let res = match res {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let status = res.status();
    let text = res.into_string().unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply { status, body, text }
}

pub fn get(url: &str) -> Reply {
    call("GET", url, &[], None)
}

pub fn post(url: &str, body: &str) -> Reply {
    call("POST", url, &[], Some(body))
}

/// An open server-sent event stream.
pub struct Sse {
    reader: BufReader<Box<dyn std::io::Read + Send + Sync>>,
}

/// One SSE message: its `id` and the JSON of its `data`.
#[derive(Debug, Clone)]
pub struct Message {
    pub id: String,
    pub data: Value,
}

impl Sse {
    pub fn open(url: &str, headers: &[(&str, &str)]) -> Sse {
        let mut req = agent().get(url).set("Accept", "text/event-stream");
        for (k, v) in headers {
            req = req.set(k, v);
        }
        let res = req.call().unwrap_or_else(|e| panic!("GET {url}: {e}"));
        assert_eq!(res.status(), 200);
        assert!(
            res.content_type().starts_with("text/event-stream"),
            "{}",
            res.content_type()
        );
        Sse {
            reader: BufReader::new(res.into_reader()),
        }
    }

    /// The next message (keep-alive comments are skipped); `None` when the stream ended.
    pub fn next(&mut self) -> Option<Message> {
        let (mut id, mut data) = (String::new(), String::new());
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if !data.is_empty() {
                    let data = serde_json::from_str(&data).expect("SSE data is JSON");
                    return Some(Message { id, data });
                }
                continue;
            }
            if let Some(v) = line.strip_prefix("id:") {
                id = v.trim().to_string();
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push_str(v.trim_start());
            }
        }
    }
}
