//! A headless Chromium driven through WebDriver (chromedriver on a free port, spoken to with
//! plain HTTP): enough to load pages, click, read the DOM, take screenshots and read the
//! browser's console log. Chromedriver and the browser are stopped on drop.

#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    _profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn http(method: &str, url: &str, body: Option<Value>) -> Value {
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(60)).build();
    let req = agent.request(method, url);
    let res = match body {
        Some(b) => req
            .set("Content-Type", "application/json")
            .send_string(&b.to_string()),
        None => req.call(),
    };
    let text = match res {
        Ok(r) => r.into_string().unwrap(),
        Err(ureq::Error::Status(code, r)) => {
            panic!("WebDriver {method} {url}: {code} {}", r.into_string().unwrap())
        }
        Err(e) => panic!("WebDriver {method} {url}: {e}"),
    };
    let v: Value = serde_json::from_str(&text).unwrap();
    v["value"].clone()
}

impl Browser {
    pub fn start() -> Browser {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver must be on PATH (apt-get install chromium chromium-driver)");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(2)).build();
        while agent.get(&format!("{base}/status")).call().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium(),
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,900", "--hide-scrollbars",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
            "goog:loggingPrefs": { "browser": "ALL" },
        }}});
        let mut b = Browser {
            driver,
            base,
            session: String::new(),
            _profile: profile,
        };
        let created = http("POST", &format!("{}/session", b.base), Some(caps));
        b.session = created["sessionId"]
            .as_str()
            .expect("a WebDriver session")
            .to_string();
        b
    }

    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{path}", self.base, self.session)
    }

    pub fn goto(&self, url: &str) {
        http("POST", &self.url("/url"), Some(json!({ "url": url })));
    }

    /// Moves to another view of the loaded page the way its links do (no reload).
    pub fn hash(&self, hash: &str) {
        self.js(&format!(
            "location.hash = {}",
            serde_json::to_string(hash).unwrap()
        ));
    }

    /// Runs `script` (a function body; `return` gives the result) in the page.
    pub fn js(&self, script: &str) -> Value {
        http(
            "POST",
            &self.url("/execute/sync"),
            Some(json!({ "script": script, "args": [] })),
        )
    }

    fn find(&self, css: &str) -> Option<String> {
        let found = http(
            "POST",
            &self.url("/elements"),
            Some(json!({ "using": "css selector", "value": css })),
        );
        found.as_array()?.first()?[ELEMENT].as_str().map(str::to_string)
    }

    /// Waits until `css` matches an element, then clicks it like a user.
    pub fn click(&self, css: &str) {
        let el = self.wait_for(css);
        http(
            "POST",
            &self.url(&format!("/element/{el}/click")),
            Some(json!({})),
        );
    }

    /// Types `text` into the element `css` matches, like a user at the keyboard.
    pub fn type_into(&self, css: &str, text: &str) {
        let el = self.wait_for(css);
        http(
            "POST",
            &self.url(&format!("/element/{el}/value")),
            Some(json!({ "text": text })),
        );
    }

    /// Waits until `css` matches an element; returns its WebDriver id.
    pub fn wait_for(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(el) = self.find(css) {
                return el;
            }
            self.give_up_after(deadline, &format!("`{css}` on the page"));
        }
    }

    pub fn wait_gone(&self, css: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.find(css).is_some() {
            self.give_up_after(deadline, &format!("`{css}` to leave the page"));
        }
    }

    /// Panics with what the page shows and logged once `deadline` has passed; else pauses.
    fn give_up_after(&self, deadline: Instant, what: &str) {
        if Instant::now() > deadline {
            let text = self.js("return document.body.innerText");
            panic!(
                "timed out waiting for {what}; the page says:\n{}\nconsole: {:?}",
                text.as_str().unwrap_or(""),
                self.console()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }

    pub fn screenshot_png(&self) -> Vec<u8> {
        use base64::Engine;
        let b64 = http("GET", &self.url("/screenshot"), None);
        base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap())
            .unwrap()
    }

    /// Saves a screenshot as `<dir>/<name>.png` when `JOBQ_SCREENSHOTS=dir` is set.
    pub fn screenshot(&self, name: &str) {
        if let Some(dir) = std::env::var_os("JOBQ_SCREENSHOTS") {
            std::fs::create_dir_all(&dir).unwrap();
            let path = std::path::Path::new(&dir).join(format!("{name}.png"));
            std::fs::write(path, self.screenshot_png()).unwrap();
        }
    }

    /// The browser console's entries so far (level, message).
    pub fn console(&self) -> Vec<(String, String)> {
        let log = http("POST", &self.url("/se/log"), Some(json!({ "type": "browser" })));
        log.as_array()
            .map(|entries| {
                entries
                    .iter()
                    .map(|e| {
                        (
                            e["level"].as_str().unwrap_or("").to_string(),
                            e["message"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn chromium() -> String {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in ["/usr/bin", "/usr/local/bin", "/snap/bin"] {
            let path = format!("{dir}/{name}");
            if std::path::Path::new(&path).exists() {
                return path;
            }
        }
    }
    panic!("no chromium found (apt-get install chromium chromium-driver)");
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(10)).build();
            let _ = agent
                .delete(&format!("{}/session/{}", self.base, self.session))
                .call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
