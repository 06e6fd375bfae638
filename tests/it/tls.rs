//! TLS with a private CA and mutual TLS (`tls-auth-clients yes`): --tls-ca, --tls-cert,
//! --tls-key and their JOBQ_TLS_* variables, against a redis-server with its own CA.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support_cluster::free_port;
use crate::util::*;

const UNAVAILABLE: i32 = 5;
const USAGE: i32 = 2;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl must be installed");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, both signed by the CA.
struct Pki {
    ca: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
}

fn make_pki(dir: &Path) -> Pki {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=jobq test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ],
    );
    // Extensions make them X.509 v3 certificates (webpki rejects v1).
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    for name in ["server", "client"] {
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                &format!("/CN={name}"),
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
            ],
        );
        let mut args = vec![
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr") as &str,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-out",
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
        args.extend([format!("{name}.pem"), "-extfile".into(), format!("{name}.ext")]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        openssl(dir, &args);
    }
    Pki {
        ca: dir.join("ca.pem"),
        server_cert: dir.join("server.pem"),
        server_key: dir.join("server.key"),
        client_cert: dir.join("client.pem"),
        client_key: dir.join("client.key"),
    }
}

#[test]
fn private_ca_and_mutual_tls() {
    let pki_dir = tempfile::tempdir().unwrap();
    let pki = make_pki(pki_dir.path());
    let port = free_port().to_string();
    let redis = Redis::start_with(&[
        "--tls-port",
        &port,
        "--tls-cert-file",
        pki.server_cert.to_str().unwrap(),
        "--tls-key-file",
        pki.server_key.to_str().unwrap(),
        "--tls-ca-cert-file",
        pki.ca.to_str().unwrap(),
        "--tls-auth-clients",
        "yes",
    ]);
    let url = format!("rediss://127.0.0.1:{port}");
    let (ca, cert, key) = (
        pki.ca.to_str().unwrap(),
        pki.client_cert.to_str().unwrap(),
        pki.client_key.to_str().unwrap(),
    );
    let before = redis.digest();

    // Without the CA the server's certificate is not trusted: one line, exit 5, nothing written.
    let r = run(jobq(&redis).args(["enqueue", "t", "--redis-url", &url]));
    assert_eq!(r.code, UNAVAILABLE, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("not signed by a CA jobq trusts"),
        "{}",
        r.stderr
    );

    // With the CA but without a client certificate the server refuses us. Its alert races
    // with our first command (a "broken pipe" half of the time on a busy machine), so the
    // answer is checked several times: it must not depend on who wins.
    for _ in 0..5 {
        let r = run(jobq(&redis).args(["enqueue", "t", "--redis-url", &url, "--tls-ca", ca]));
        assert_eq!(r.code, UNAVAILABLE, "{}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert!(r.stderr.contains("requires a client certificate"), "{}", r.stderr);
    }

    // A worker fails fast too: a rejected certificate is not an outage to wait out.
    let start = Instant::now();
    let r = run(jobq(&redis).args([
        "worker",
        "--queues",
        "normal",
        "--exec",
        "true",
        "--redis-url",
        &url,
    ]));
    assert_eq!(r.code, UNAVAILABLE, "{}", r.stderr);
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "took {:?}",
        start.elapsed()
    );

    // A client certificate needs its key.
    let r = run(jobq(&redis).args([
        "enqueue",
        "t",
        "--redis-url",
        &url,
        "--tls-ca",
        ca,
        "--tls-cert",
        cert,
    ]));
    assert_eq!(r.code, USAGE, "{}", r.stderr);
    // TLS files with a plain URL are a mistake, not something to ignore.
    let r = run(jobq(&redis).args(["enqueue", "t", "--tls-ca", ca]));
    assert_eq!(r.code, USAGE, "{}", r.stderr);
    assert!(r.stderr.contains("rediss://"), "{}", r.stderr);
    assert_eq!(redis.digest(), before, "a refused command wrote something");

    // Flags work...
    let id = run(jobq(&redis).args([
        "enqueue",
        "t",
        "--redis-url",
        &url,
        "--tls-ca",
        ca,
        "--tls-cert",
        cert,
        "--tls-key",
        key,
    ]))
    .ok()
    .stdout
    .trim()
    .to_string();
    // ...and so do the variables, for a worker whose handler reaches Redis the same way.
    let h = script(
        redis.dir.path(),
        "progress.sh",
        &format!("{} progress 50", env!("CARGO_BIN_EXE_jobq")),
    );
    run(jobq(&redis)
        .env("JOBQ_REDIS_URL", &url)
        .env("JOBQ_TLS_CA", ca)
        .env("JOBQ_TLS_CERT", cert)
        .env("JOBQ_TLS_KEY", key)
        .args([
            "worker",
            "--burst",
            "--queues",
            "normal",
            "--exec",
            h.to_str().unwrap(),
        ]))
    .ok();
    assert_eq!(state(&redis, &id), "completed");
}
