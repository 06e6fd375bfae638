//! `jobq serve` (issue 13) over real HTTP against a real redis-server: the API answers with the
//! CLI's JSON, bad input writes nothing, access rules, /metrics checked by promtool, and the
//! event streams (snapshot then changes; resume without gaps or repeats; one subscription).

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support_serve::*;
use crate::util::*;

const T: Duration = Duration::from_secs(60);

fn cli_json(redis: &Redis, args: &[&str]) -> Value {
    let r = run(jobq(redis).args(args).arg("--json")).ok();
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {}", r.stdout))
}

/// Makes one dead job of `job_type` in `queue`.
fn dead_job(redis: &Redis, queue: &str, job_type: &str) -> String {
    let id = enqueue(redis, &[job_type, "--queue", queue, "--max-attempts", "1"]);
    run(jobq(redis).args([
        "worker",
        "--burst",
        "--queues",
        queue,
        "--handler",
        &format!("{job_type}=false"),
    ]))
    .ok();
    assert_eq!(state(redis, &id), "dead");
    id
}

fn without(mut v: Value, keys: &[&str]) -> Value {
    fn strip(v: &mut Value, keys: &[&str]) {
        match v {
            Value::Object(m) => {
                for k in keys {
                    m.remove(*k);
                }
                m.values_mut().for_each(|x| strip(x, keys));
            }
            Value::Array(a) => a.iter_mut().for_each(|x| strip(x, keys)),
            _ => {}
        }
    }
    strip(&mut v, keys);
    v
}

#[test]
fn api_answers_with_the_cli_json_shapes() {
    let redis = Redis::start();
    let dead = dead_job(&redis, "mail", "send");
    let s = Serve::start(&redis);

    let created = post(
        &s.url("/api/jobs"),
        r#"{"type":"report","payload":{"n":1},"queue":"reports","max_attempts":3}"#,
    );
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_string();
    // As `enqueue --json`: the job as `inspect --json` shows it, plus `duplicate`.
    assert_eq!(created.body["duplicate"], false);
    assert_eq!(
        without(created.body.clone(), &["duplicate"]),
        cli_json(&redis, &["inspect", &id])
    );
    assert_eq!(created.body["max_attempts"], 3);
    assert_eq!(
        get(&s.url(&format!("/api/jobs/{id}"))).body,
        cli_json(&redis, &["inspect", &id])
    );

    let listing = get(&s.url("/api/jobs?queue=reports&state=queued&limit=10"));
    assert_eq!(listing.status, 200);
    assert_eq!(
        listing.body,
        cli_json(
            &redis,
            &["ls", "--queue", "reports", "--state", "queued", "--limit", "10"]
        )
    );
    assert_eq!(
        get(&s.url("/api/dlq?queue=mail")).body,
        cli_json(&redis, &["dlq", "ls", "--queue", "mail"])
    );
    assert_eq!(get(&s.url("/api/workers")).body, cli_json(&redis, &["workers"]));
    assert_eq!(get(&s.url("/api/schedules")).body, serde_json::json!([]));
    run(jobq(&redis).args(["schedule", "add", "hourly-report", "--every", "1h", "report"])).ok();
    assert_eq!(
        get(&s.url("/api/schedules")).body,
        cli_json(&redis, &["schedule", "ls"])
    );
    // Ages and the clock move between the two reads; everything else is the same document.
    let volatile = ["generated_at", "oldest_queued_age_ms"];
    assert_eq!(
        without(get(&s.url("/api/queues")).body, &volatile),
        without(cli_json(&redis, &["stats"]), &volatile)
    );

    // Paging: the cursor of one page leads to the next, as with `jobq ls --cursor`.
    for n in 0..3 {
        post(
            &s.url("/api/jobs"),
            &format!(r#"{{"type":"page","payload":{{"n":{n}}},"queue":"paging"}}"#),
        );
    }
    let first = get(&s.url("/api/jobs?queue=paging&limit=2")).body;
    assert_eq!(first["jobs"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = get(&s.url(&format!("/api/jobs?queue=paging&limit=2&cursor={cursor}"))).body;
    assert_eq!(second["jobs"].as_array().unwrap().len(), 1);
    assert!(second["next_cursor"].is_null());

    let paused = post(&s.url("/api/queues/reports/pause"), "");
    assert_eq!(
        paused.body,
        serde_json::json!({"queue": "reports", "paused": true, "changed": true})
    );
    assert_eq!(
        cli_json(&redis, &["stats", "--queue", "reports"])["queues"][0]["paused"],
        true
    );
    let resumed = post(&s.url("/api/queues/reports/resume"), "");
    assert_eq!(resumed.body["paused"], false);

    let cancelled = post(&s.url(&format!("/api/jobs/{id}/cancel")), "");
    assert_eq!(
        cancelled.body,
        serde_json::json!({"id": id, "state": "cancelled", "changed": true})
    );
    let retried = post(&s.url(&format!("/api/jobs/{dead}/retry")), "");
    assert_eq!(
        retried.body,
        serde_json::json!({"id": dead, "state": "queued", "changed": true})
    );
    assert_eq!(state(&redis, &dead), "queued");

    // Drain and purge take the CLI's filters and answer with its bulk report.
    // (The burst worker that kills `other` kills the retried job again too: two dead jobs.)
    let other = dead_job(&redis, "mail", "send");
    let drained = post(&s.url("/api/dlq/drain"), r#"{"queue":"mail","type":"other"}"#);
    assert_eq!(drained.body["total"], 0, "{}", drained.text);
    let drained = post(&s.url("/api/dlq/drain"), r#"{"queue":"mail"}"#);
    assert_eq!(
        drained.body,
        serde_json::json!({"total": 2, "queues": {"mail": 2}, "interrupted": false})
    );
    assert_eq!(state(&redis, &other), "queued");
    let third = dead_job(&redis, "spam", "send");
    let purged = post(&s.url("/api/dlq/purge"), r#"{"queue":"spam"}"#);
    assert_eq!(purged.body["total"], 1, "{}", purged.text);
    assert_eq!(run(jobq(&redis).args(["inspect", &third])).code, 3);
}

#[test]
fn bad_requests_get_the_right_status_and_write_nothing() {
    let redis = Redis::start();
    let done = enqueue(&redis, &["ok", "--queue", "q"]);
    run(jobq(&redis).args(["worker", "--burst", "--queues", "q", "--handler", "ok=true"])).ok();
    let queued = enqueue(&redis, &["later", "--queue", "q"]);
    let s = Serve::start(&redis);
    let before = redis.digest();
    // Over the payload limit (512 KiB), under the body limit: the engine's own check answers.
    let big = format!(r#"{{"type":"t","payload":"{}"}}"#, "x".repeat(520 * 1024));
    let cases: Vec<(&str, String, Option<String>, u16)> = vec![
        ("POST", "/api/jobs".into(), Some("{not json".into()), 400),
        ("POST", "/api/jobs".into(), Some(r#"{"type":"a:b"}"#.into()), 400),
        (
            "POST",
            "/api/jobs".into(),
            Some(r#"{"type":"t","queue":"q*"}"#.into()),
            400,
        ),
        (
            "POST",
            "/api/jobs".into(),
            Some(r#"{"type":"t","colour":"red"}"#.into()),
            400,
        ),
        (
            "POST",
            "/api/jobs".into(),
            Some(r#"{"type":"t","delay":"soon"}"#.into()),
            400,
        ),
        (
            "POST",
            "/api/jobs".into(),
            Some(r#"{"type":"t","delay":"5s","at":"2030-01-01T00:00:00Z"}"#.into()),
            400,
        ),
        (
            "POST",
            "/api/jobs".into(),
            Some(r#"{"type":"t","max_attempts":0}"#.into()),
            400,
        ),
        ("POST", "/api/jobs".into(), Some(big), 400),
        ("GET", "/api/jobs?state=sleeping".into(), None, 400),
        ("GET", "/api/jobs?limit=0".into(), None, 400),
        ("GET", "/api/jobs?cursor=nonsense".into(), None, 400),
        ("GET", "/api/jobs?stat=dead".into(), None, 400),
        ("GET", "/api/jobs?queue=nosuch".into(), None, 404),
        ("GET", "/api/jobs/not-an-id".into(), None, 400),
        ("GET", "/api/jobs/q-01JD8XQ4T3M6Z6Q7W8E9R0TYVP".into(), None, 404),
        (
            "POST",
            "/api/jobs/q-01JD8XQ4T3M6Z6Q7W8E9R0TYVP/cancel".into(),
            None,
            404,
        ),
        ("POST", format!("/api/jobs/{done}/cancel"), None, 409),
        ("POST", format!("/api/jobs/{queued}/retry"), None, 409),
        ("POST", "/api/queues/nosuch/pause".into(), None, 404),
        (
            "POST",
            "/api/dlq/drain".into(),
            Some(r#"{"queue":"nosuch"}"#.into()),
            404,
        ),
        (
            "POST",
            "/api/dlq/purge".into(),
            Some(r#"{"limit":0}"#.into()),
            400,
        ),
        (
            "POST",
            "/api/dlq/purge".into(),
            Some(r#"{"everything":true}"#.into()),
            400,
        ),
        ("GET", "/api/nothing-here".into(), None, 404),
    ];
    for (method, path, body, want) in cases {
        let r = call(method, &s.url(&path), &[], body.as_deref());
        assert_eq!(r.status, want, "{method} {path}: {}", r.text);
        let msg = r.body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{path}: no error text: {}", r.text));
        assert!(!msg.is_empty() && !msg.contains('\n'), "{path}: {msg}");
    }
    // Cross-site protection: a form's content type, or another origin, is refused.
    let form = call(
        "POST",
        &s.url("/api/jobs"),
        &[("Content-Type", "text/plain")],
        Some(r#"{"type":"t"}"#),
    );
    assert_eq!(form.status, 415, "{}", form.text);
    let foreign = call(
        "POST",
        &s.url(&format!("/api/jobs/{queued}/cancel")),
        &[("Origin", "http://evil.example")],
        None,
    );
    assert_eq!(foreign.status, 403, "{}", foreign.text);
    let cross = call(
        "POST",
        &s.url("/api/dlq/purge"),
        &[("Sec-Fetch-Site", "cross-site")],
        Some("{}"),
    );
    assert_eq!(cross.status, 403);
    // A page served under another name (DNS rebinding) gets nothing from a token-less server.
    let rebound = call(
        "GET",
        &s.url("/api/queues"),
        &[("Host", "evil.example:7878")],
        None,
    );
    assert_eq!(rebound.status, 403);
    assert_eq!(redis.digest(), before, "a refused request changed Redis");
    assert_eq!(state(&redis, &queued), "queued");
}

#[test]
fn tokens_decide_who_reads_and_who_operates_and_never_show_up_in_logs() {
    let redis = Redis::start();
    let dir = redis.dir.path();
    // Without tokens only loopback is served: refused before anything starts.
    let r = run(jobq(&redis).args(["serve", "--listen", "0.0.0.0:0"]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("refusing to serve on 0.0.0.0:0 without --tokens"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    let bad = dir.join("bad-tokens");
    std::fs::write(&bad, "s3cr3t-s3cr3t-s3cr3t admin\n").unwrap();
    let r = run(jobq(&redis).args(["serve", "--tokens", bad.to_str().unwrap()]));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("line 1") && !r.stderr.contains("s3cr3t"),
        "{}",
        r.stderr
    );

    let read = "read-token-0123456789abcdef";
    let operate = "operate-token-0123456789abcdef";
    let file = dir.join("tokens");
    std::fs::write(
        &file,
        format!("# who may do what\n{read} read\n{operate} operate\n"),
    )
    .unwrap();
    let id = enqueue(&redis, &["t", "--queue", "q"]);
    let s = Serve::start_with(&redis, &["--tokens", file.to_str().unwrap()]);
    let bearer = |t: &str| format!("Bearer {t}");
    assert_eq!(get(&s.url("/api/queues")).status, 401);
    assert_eq!(get(&s.url("/metrics")).status, 401);
    let wrong = call(
        "GET",
        &s.url("/api/queues"),
        &[("Authorization", "Bearer nope-nope-nope-nope")],
        None,
    );
    assert_eq!(wrong.status, 401);
    let ok = call(
        "GET",
        &s.url("/api/queues"),
        &[("Authorization", &bearer(read))],
        None,
    );
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(
        call(
            "GET",
            &s.url("/metrics"),
            &[("Authorization", &bearer(read))],
            None
        )
        .status,
        200
    );
    let before = redis.digest();
    let denied = call(
        "POST",
        &s.url(&format!("/api/jobs/{id}/cancel")),
        &[("Authorization", &bearer(read))],
        None,
    );
    assert_eq!(denied.status, 403, "{}", denied.text);
    assert_eq!(redis.digest(), before);
    let done = call(
        "POST",
        &s.url(&format!("/api/jobs/{id}/cancel")),
        &[("Authorization", &bearer(operate))],
        None,
    );
    assert_eq!(done.status, 200, "{}", done.text);
    // Probes and the dashboard's files need no token; the dashboard asks for one on its own.
    assert_eq!(get(&s.url("/healthz")).status, 200);
    assert_eq!(get(&s.url("/")).status, 200);
    // With tokens, other host names are served (a proxy in front, a real hostname).
    let named = call(
        "GET",
        &s.url("/api/workers"),
        &[("Host", "jobs.example:80"), ("Authorization", &bearer(read))],
        None,
    );
    assert_eq!(named.status, 200);
    let log = s.stderr();
    assert!(
        !log.contains(read) && !log.contains(operate),
        "a token was logged:\n{log}"
    );
}

#[test]
fn metrics_pass_promtool_and_count_jobs_by_queue_and_state() {
    let mut redis = Redis::start();
    dead_job(&redis, "mail", "send");
    enqueue(&redis, &["a", "--queue", "reports"]);
    enqueue(&redis, &["a", "--queue", "reports"]);
    let s = Serve::start(&redis);
    let m = get(&s.url("/metrics"));
    assert_eq!(m.status, 200);
    for line in [
        r#"jobq_jobs{queue="reports",state="queued"} 2"#,
        r#"jobq_jobs{queue="mail",state="dead"} 1"#,
        r#"jobq_failed_total{queue="mail"} 1"#,
        r#"jobq_dead_total{queue="mail"} 1"#,
        r#"jobq_processed_total{queue="reports"} 0"#,
        "jobq_workers 0",
        "jobq_worker_busy_slots 0",
    ] {
        assert!(m.text.lines().any(|l| l == line), "no `{line}` in:\n{}", m.text);
    }
    assert!(m
        .text
        .contains(r#"jobq_oldest_queued_job_age_seconds{queue="reports"} "#));
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool must be on PATH (apt-get install prometheus)");
    use std::io::Write;
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(m.text.as_bytes())
        .unwrap();
    let out = promtool.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        m.text
    );
    assert_eq!(get(&s.url("/healthz")).status, 200);
    assert_eq!(get(&s.url("/readyz")).status, 200);
    redis.kill();
    let r = get(&s.url("/readyz"));
    assert_eq!(r.status, 503, "{}", r.text);
    assert!(
        r.body["error"].as_str().unwrap().contains("cannot reach Redis"),
        "{}",
        r.text
    );
    assert_eq!(get(&s.url("/api/queues")).status, 503);
    assert_eq!(get(&s.url("/healthz")).status, 200);
}

#[test]
fn a_job_stream_sends_the_snapshot_then_every_change_and_ends_with_the_job() {
    let redis = Redis::start();
    let go = redis.dir.path().join("go");
    let h = script(
        redis.dir.path(),
        "steps.sh",
        &format!(
            "echo 'progress 1/4 one' >&$JOBQ_PROGRESS_FD\necho 'progress 2/4 two' >&$JOBQ_PROGRESS_FD\n\
             while [ ! -f {} ]; do sleep 0.05; done\necho '{{\"ok\":true}}'",
            go.display()
        ),
    );
    let s = Serve::start(&redis);
    let id = enqueue(&redis, &["steps", "--queue", "q"]);
    let mut sse = Sse::open(&s.url(&format!("/api/jobs/{id}/events")), &[]);
    let first = sse.next().unwrap();
    assert_eq!(first.data["event"], "snapshot");
    assert_eq!(first.data["state"], "queued");
    let _w = Worker::start(&redis, &["--queues", "q", "--exec", h.to_str().unwrap()]);
    let mut seen = Vec::new();
    while let Some(m) = sse.next() {
        seen.push(m.data["event"].as_str().unwrap().to_string());
        if m.data["event"] == "progress" {
            std::fs::write(&go, "").unwrap();
        }
        if m.data["state"] == "completed" {
            // The same shape as `inspect`'s result (a JSON value, not its text).
            assert_eq!(m.data["result"], serde_json::json!({"ok": true}));
        }
        assert_eq!(m.data["id"], id.as_str());
    }
    // Progress lines written in quick succession may be coalesced into one event.
    assert_eq!(seen.first().map(String::as_str), Some("started"), "{seen:?}");
    assert_eq!(
        seen.last().map(String::as_str),
        Some("completed"),
        "then the stream ended: {seen:?}"
    );
    assert!(
        seen.len() > 2 && seen[1..seen.len() - 1].iter().all(|e| e == "progress"),
        "{seen:?}"
    );
    // A finished job's stream is its snapshot alone.
    let mut again = Sse::open(&s.url(&format!("/api/jobs/{id}/events")), &[]);
    assert_eq!(again.next().unwrap().data["state"], "completed");
    assert!(again.next().is_none());
    assert_eq!(
        get(&s.url("/api/jobs/q-01JD8XQ4T3M6Z6Q7W8E9R0TYVP/events")).status,
        404
    );
}

fn enqueued_ids(msgs: &[Message]) -> Vec<String> {
    msgs.iter()
        .map(|m| m.data["id"].as_str().unwrap().to_string())
        .collect()
}

fn read_n(sse: &mut Sse, n: usize) -> Vec<Message> {
    (0..n).map(|_| sse.next().expect("stream ended early")).collect()
}

#[test]
fn queue_streams_resume_from_last_event_id_without_gaps_or_repeats() {
    let redis = Redis::start();
    enqueue(&redis, &["warm", "--queue", "a"]);
    enqueue(&redis, &["warm", "--queue", "b"]);
    let s = Serve::start(&redis);
    for (path, queues) in [
        ("/api/events?queue=a", vec!["a"]),
        ("/api/events", vec!["a", "b"]),
    ] {
        let mut sse = Sse::open(&s.url(path), &[]);
        // The stream is live once an event enqueued now arrives.
        let mut before = Vec::new();
        for (i, q) in queues.iter().cycle().take(4).enumerate() {
            before.push(enqueue(&redis, &[&format!("t{i}"), "--queue", q]));
        }
        let got = read_n(&mut sse, 4);
        assert_eq!(enqueued_ids(&got), before, "{path}");
        let last = got.last().unwrap().id.clone();
        drop(sse);
        let mut missed = Vec::new();
        for (i, q) in queues.iter().cycle().take(6).enumerate() {
            missed.push(enqueue(&redis, &[&format!("m{i}"), "--queue", q]));
        }
        let mut resumed = Sse::open(&s.url(path), &[("Last-Event-ID", &last)]);
        let replayed = read_n(&mut resumed, 6);
        assert_eq!(enqueued_ids(&replayed), missed, "{path}: replay after {last}");
        let live = enqueue(&redis, &["live", "--queue", queues[0]]);
        assert_eq!(
            enqueued_ids(&read_n(&mut resumed, 1)),
            [live],
            "{path}: live after the replay"
        );
    }
    let bad = call(
        "GET",
        &s.url("/api/events?queue=a"),
        &[("Last-Event-ID", "yesterday")],
        None,
    );
    assert_eq!(bad.status, 400);
    assert_eq!(get(&s.url("/api/events?queue=nosuch")).status, 404);
}

/// The dashboard's chart starts from `/api/throughput` (the last 5 minutes, counted by the
/// server) and its event stream from the position those counts end at: no event counted is
/// sent again, and the page replays nothing.
#[test]
fn throughput_counts_the_last_minutes_and_the_stream_goes_on_after_them() {
    let redis = Redis::start();
    for _ in 0..3 {
        enqueue(&redis, &["ok", "--queue", "a"]);
    }
    for _ in 0..2 {
        enqueue(&redis, &["bad", "--queue", "b", "--max-attempts", "1"]);
    }
    enqueue(&redis, &["flaky", "--queue", "b", "--max-attempts", "2"]);
    run(jobq(&redis).args([
        "worker",
        "--burst",
        "--queues",
        "a,b",
        "--retry-base",
        "1h",
        "--handler",
        "ok=true",
        "--handler",
        "bad=false",
        "--handler",
        "flaky=false",
    ]))
    .ok();
    let s = Serve::start(&redis);
    let r = get(&s.url("/api/throughput"));
    assert_eq!(r.status, 200, "{}", r.text);
    let t = r.body;
    let sum = |k: &str| -> u64 { t[k].as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).sum() };
    assert_eq!(t["bucket_ms"], 5000);
    assert_eq!(t["completed"].as_array().unwrap().len(), 60);
    assert_eq!(sum("completed"), 3, "{t}");
    assert_eq!(sum("failed"), 3, "two dead, one retry scheduled: {t}");
    let (secs, _): (u64, u64) = redis::cmd("TIME").query(&mut redis.conn()).unwrap();
    let last = t["first"].as_u64().unwrap() + 59;
    assert!(
        last <= secs * 1000 / 5000 && last + 2 >= secs * 1000 / 5000,
        "{t}"
    );

    let position = t["position"].as_str().unwrap();
    let mut sse = Sse::open(&s.url("/api/events"), &[("Last-Event-ID", position)]);
    let live = enqueue(&redis, &["t", "--queue", "b"]);
    assert_eq!(enqueued_ids(&read_n(&mut sse, 1)), [live], "nothing replayed");
    assert_eq!(get(&s.url("/api/throughput?queue=a")).status, 400);
}

#[test]
fn a_hundred_open_streams_cost_redis_one_subscription() {
    let redis = Redis::start();
    let id = enqueue(&redis, &["t", "--queue", "q"]);
    let s = Serve::start(&redis);
    let mut streams: Vec<Sse> = (0..100)
        .map(|i| {
            if i % 2 == 0 {
                Sse::open(&s.url("/api/events?queue=q"), &[])
            } else {
                Sse::open(&s.url(&format!("/api/jobs/{id}/events")), &[])
            }
        })
        .collect();
    let channel = "{jobq:q}:events";
    let mut conn = redis.conn();
    // Plain and sharded Pub/Sub both count (the engine may use either).
    let subscribers = |conn: &mut redis::Connection| -> i64 {
        ["NUMSUB", "SHARDNUMSUB"]
            .iter()
            .map(|sub| {
                redis::cmd("PUBSUB")
                    .arg(*sub)
                    .arg(channel)
                    .query::<(String, i64)>(conn)
                    .map_or(0, |v| v.1)
            })
            .sum()
    };
    assert_eq!(subscribers(&mut conn), 1, "one subscription for 100 streams");
    let clients: String = redis::cmd("CLIENT").arg("LIST").query(&mut conn).unwrap();
    let subscribed = clients
        .lines()
        .filter(|l| {
            l.split(' ').any(|f| {
                ["sub=", "psub=", "ssub="]
                    .iter()
                    .any(|p| f.starts_with(p) && !f.ends_with("=0"))
            })
        })
        .count();
    assert_eq!(subscribed, 1, "{clients}");
    // And every one of them gets the news.
    run(jobq(&redis).args(["cancel", &id])).ok();
    for (i, sse) in streams.iter_mut().enumerate() {
        let mut m = sse.next().unwrap();
        if i % 2 == 1 {
            assert_eq!(m.data["event"], "snapshot");
            m = sse.next().unwrap();
        }
        assert_eq!(m.data["event"], "cancelled", "stream {i}");
    }
    wait_until("nothing else subscribed", T, || subscribers(&mut conn) == 1);
}
