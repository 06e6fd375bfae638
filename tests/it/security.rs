//! Restricted ACL users, TLS, and passwords kept out of every output.

use std::net::TcpListener;
use std::process::Command;

use crate::util::*;

const AUTH: i32 = 6;
const UNAVAILABLE: i32 = 5;

fn url_as(redis: &Redis, user: &str, pass: &str) -> String {
    format!("{}?user={user}&pass={pass}", redis.url())
}

#[test]
fn works_as_a_restricted_acl_user() {
    let redis = Redis::start();
    let mut c = redis.conn();
    redis::cmd("ACL")
        .arg(
            &[
                "SETUSER",
                "app",
                "on",
                ">app-secret-pw",
                "~{jobq}:*",
                "~{jobq:*",
                "&*",
                "+@all",
                "-@dangerous",
            ][..],
        )
        .query::<()>(&mut c)
        .unwrap();
    let url = url_as(&redis, "app", "app-secret-pw");
    let id = run(jobq(&redis).args(["enqueue", "t", "--redis-url", &url]))
        .ok()
        .stdout
        .trim()
        .to_string();
    let r = run(jobq(&redis).args(["worker", "--burst", "--exec", "echo done", "--redis-url", &url])).ok();
    assert!(
        !r.stderr.contains("app-secret-pw"),
        "password in the worker log: {}",
        r.stderr
    );
    assert!(r.stderr.contains("pass=***"), "{}", r.stderr);
    let job = run(jobq(&redis).args(["inspect", &id, "--json", "--redis-url", &url])).ok();
    assert!(job.stdout.contains("\"completed\""), "{}", job.stdout);
    assert!(!job.stdout.contains("app-secret-pw"));
}

#[test]
fn noperm_is_one_clear_line() {
    let redis = Redis::start();
    let mut c = redis.conn();
    redis::cmd("ACL")
        .arg(&["SETUSER", "other", "on", ">pw-other", "~other:*", "+@all"][..])
        .query::<()>(&mut c)
        .unwrap();
    let before = redis.digest();
    let r = run(jobq(&redis).args([
        "enqueue",
        "t",
        "--redis-url",
        &url_as(&redis, "other", "pw-other"),
    ]));
    assert_eq!(r.code, AUTH, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("lacks a permission"), "{}", r.stderr);
    assert!(!r.stderr.contains("pw-other"));
    assert_eq!(redis.digest(), before);
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn works_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let ok = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .args(["-addext", "subjectAltName=IP:127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl must be installed");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let port = free_port().to_string();
    let redis = Redis::start_with(&[
        "--tls-port",
        &port,
        "--tls-cert-file",
        cert.to_str().unwrap(),
        "--tls-key-file",
        key.to_str().unwrap(),
        "--tls-auth-clients",
        "no",
    ]);
    // The test's certificate is self-signed: verification must reject it by default...
    let strict = format!("rediss://127.0.0.1:{port}");
    let r = run(jobq(&redis).args(["enqueue", "t", "--redis-url", &strict]));
    assert_eq!(r.code, UNAVAILABLE, "{}", r.stderr);
    assert!(r.stderr.contains("TLS"), "{}", r.stderr);
    // ...and with verification explicitly waived the whole path runs over TLS.
    let insecure = format!("rediss://127.0.0.1:{port}/#insecure");
    let id = run(jobq(&redis).args(["enqueue", "t", "--redis-url", &insecure]))
        .ok()
        .stdout
        .trim()
        .to_string();
    run(jobq(&redis).args(["worker", "--burst", "--exec", "true", "--redis-url", &insecure])).ok();
    assert_eq!(state(&redis, &id), "completed");
}
