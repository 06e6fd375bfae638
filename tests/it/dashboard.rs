//! The dashboard in a real headless Chromium (issue 13 item 3): it loads, shows a job enqueued
//! from the CLI without a reload, a running job's bar moves, retry from the dead-letter set
//! works through its confirmation, and the console stays free of errors. With
//! `JOBQ_SCREENSHOTS=dir` it saves the screenshots the README shows.

use std::time::Duration;

use crate::support_browser::Browser;
use crate::support_serve::Serve;
use crate::util::*;

const T: Duration = Duration::from_secs(30);

fn dead_jobs(redis: &Redis, queue: &str, job_type: &str, n: usize) -> Vec<String> {
    let ids: Vec<String> = (0..n)
        .map(|i| {
            let data = format!(r#"{{"to":"user{i}@example.com"}}"#);
            enqueue(
                redis,
                &[job_type, "--queue", queue, "--max-attempts", "1", "--data", &data],
            )
        })
        .collect();
    let h = script(
        redis.dir.path(),
        "fail.sh",
        "echo 'SMTP 550: mailbox unavailable' >&2\nexit 1",
    );
    let handler = format!("{job_type}={}", h.display());
    run(jobq(redis).args(["worker", "--burst", "--queues", queue, "--handler", &handler])).ok();
    ids
}

fn percent(b: &Browser) -> f64 {
    b.js("const el = document.querySelector('#progress .bar'); return el ? el.dataset.percent : ''")
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(-1.0)
}

#[test]
fn dashboard_shows_live_jobs_moves_the_bar_and_retries_from_the_dlq() {
    let redis = Redis::start();
    let dead = dead_jobs(&redis, "mail", "send_email", 3);
    for n in 0..4 {
        enqueue(
            &redis,
            &[
                "thumbnail",
                "--queue",
                "media",
                "--data",
                &format!(r#"{{"img":{n}}}"#),
            ],
        );
    }
    let s = Serve::start(&redis);
    let b = Browser::start();

    // The job list is open before the job exists: it must appear without a reload.
    b.goto(&s.url("/#/jobs"));
    b.wait_for("#jobs table");
    // The chart starts from the server's counts (/api/throughput), not from a replay: the
    // three deaths before the page was opened are on it.
    let chart = |bars: &str| -> u64 {
        b.js(&format!("return rate.{bars}.reduce((a, n) => a + n, 0)"))
            .as_u64()
            .unwrap_or(0)
    };
    wait_until("the chart's history", T, || chart("failed") == 3);
    assert_eq!(b.js("return document.title"), "jobq");
    let go = redis.dir.path().join("go");
    let id = enqueue(
        &redis,
        &[
            "export_csv",
            "--queue",
            "reports",
            "--data",
            r#"{"table":"orders","rows":50000}"#,
        ],
    );
    b.wait_for(&format!("tr[data-id='{id}']"));
    b.screenshot("jobs");

    // A handler that reports progress step by step until told to finish.
    let h = script(
        redis.dir.path(),
        "export.sh",
        &format!(
            "i=0\nwhile [ ! -f {go} ]; do [ $i -lt 80 ] && i=$((i+1)); \
             echo \"progress $((i*625))/50000 writing chunk $i of 80\" >&$JOBQ_PROGRESS_FD; sleep 0.1; done\n\
             echo '{{\"file\":\"orders.csv\",\"rows\":50000}}'",
            go = go.display()
        ),
    );
    b.click(&format!("tr[data-id='{id}'] a"));
    b.wait_for("#progress .bar");
    // Some traffic for the throughput chart, which counts the events the page has seen.
    for n in 0..40 {
        enqueue(
            &redis,
            &[
                "thumbnail",
                "--queue",
                "media",
                "--data",
                &format!(r#"{{"img":{n}}}"#),
            ],
        );
    }
    run(jobq(&redis).args(["worker", "--burst", "--queues", "media", "--exec", "true"])).ok();
    wait_until("the chart to count the jobs done live", T, || chart("done") == 44);
    assert_eq!(chart("failed"), 3);
    let _w = Worker::start(&redis, &["--queues", "reports", "--exec", h.to_str().unwrap()]);
    let mut first = -1.0;
    wait_until("the bar to show progress", T, || {
        first = percent(&b);
        first > 0.0
    });
    wait_until("the bar to move", T, || percent(&b) > first);
    b.wait_for("h1 .badge.active");
    wait_until("the bar to pass 30%", T, || percent(&b) >= 30.0);
    b.screenshot("job");
    b.hash("#/workers");
    b.wait_for(&format!("#workers a[href='#/job/{id}']"));
    b.screenshot("workers");
    std::fs::write(&go, "").unwrap();
    wait_for_state(&redis, &id, "completed", T);
    b.hash(&format!("#/job/{id}"));
    b.wait_for("#result");
    b.wait_for("h1 .badge.completed");

    b.hash("#/");
    b.wait_for("tr[data-queue='reports']");
    b.wait_for("tr[data-queue='mail']");
    b.screenshot("queues");

    // Retry one dead job: a confirmation first, then it is queued and leaves the list.
    b.hash("#/dlq");
    b.wait_for(&format!("tr[data-id='{}']", dead[0]));
    b.screenshot("dlq");
    b.click(&format!("tr[data-id='{}'] button[data-action='retry']", dead[0]));
    b.wait_for("dialog#confirm[open]");
    assert_eq!(
        state(&redis, &dead[0]),
        "dead",
        "nothing happens before the confirmation"
    );
    b.click("#confirm-ok");
    wait_for_state(&redis, &dead[0], "queued", T);
    b.wait_gone(&format!("tr[data-id='{}']", dead[0]));
    assert_eq!(state(&redis, &dead[1]), "dead");

    let errors: Vec<(String, String)> = b
        .console()
        .into_iter()
        .filter(|(level, _)| level == "SEVERE" || level == "WARNING")
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");
}

#[test]
fn dashboard_asks_for_a_token_once_and_keeps_it_for_the_tab() {
    let redis = Redis::start();
    enqueue(&redis, &["t", "--queue", "guarded"]);
    let token = "dashboard-token-0123456789abcdef";
    let file = redis.dir.path().join("tokens");
    std::fs::write(&file, format!("{token} read\n")).unwrap();
    let s = Serve::start_with(&redis, &["--tokens", file.to_str().unwrap()]);
    let b = Browser::start();
    b.goto(&s.url("/"));
    b.wait_for("dialog#login[open]");
    b.type_into("#login-token", "wrong-token-0123456789abcdef");
    b.click("#login-ok");
    // A refused token is dropped and asked for again, saying so.
    b.wait_for("dialog#login[open] #login-error:not([hidden])");
    b.js("document.querySelector('#login-token').value = ''");
    b.type_into("#login-token", token);
    b.click("#login-ok");
    b.wait_for("tr[data-queue='guarded']");
    assert_eq!(b.js("return sessionStorage.getItem('jobq.token')"), token);
    // Reloading the tab keeps the token: no second question.
    b.goto(&s.url("/#/jobs"));
    b.wait_for("#jobs table");
    assert_eq!(b.js("return document.querySelector('dialog#login').open"), false);
}
