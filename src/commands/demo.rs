//! `jobq demo`: the whole life of a few jobs on a private redis-server, so a newcomer sees
//! jobq work before configuring anything. Nothing outside a temp dir is touched.

use std::sync::Arc;
use std::time::{Duration, Instant};

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use jobq::cli::{DemoArgs, GlobalArgs};
use jobq::error::{Error, Result};
use jobq::exit::ExitStatus;
use jobq::private_redis::PrivateRedis;
use jobq::worker::{Backoff, ExecHandler, HandlerSpec, Shutdown, Worker, WorkerConfig};
use jobq::{Job, NewJob, RetryPolicy, Store};
use serde_json::json;

use crate::output;

/// Each sample: type, queue, payload, and the handler command the demo worker runs for it.
const SAMPLES: [(&str, &str, &str); 4] = [
    ("echo", "high", "cat"),
    (
        "flaky",
        "normal",
        r#"sh -c 'if [ "$JOBQ_ATTEMPT" -lt 2 ]; then echo "simulated outage on attempt $JOBQ_ATTEMPT" >&2; exit 1; fi; echo "{\"sent\": true, \"attempt\": $JOBQ_ATTEMPT}"'"#,
    ),
    (
        "broken",
        "low",
        r#"sh -c 'echo "payload rejected: no recipient" >&2; exit 100'"#,
    ),
    ("count_bytes", "normal", "wc -c"),
];

pub async fn run(_args: DemoArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    let redis = PrivateRedis::start("demo")?;
    let store = Arc::new(redis.connect(&g.namespace, RetryPolicy::CLI).await?);
    output::note(format!("started a private redis-server at {}", redis.url()));

    let mut ids = Vec::new();
    for (i, (job_type, queue, _)) in SAMPLES.iter().enumerate() {
        let payload = json!({ "sample": i + 1, "to": "ops@example.com" });
        ids.push(
            store
                .enqueue(&NewJob::new(job_type, queue, &payload))
                .await?
                .id()
                .to_string(),
        );
    }
    let mut later = NewJob::new("echo", "normal", &json!({ "note": "delayed by 1s" }));
    later.delay = Some(Duration::from_secs(1));
    ids.push(store.enqueue(&later).await?.id().to_string());
    output::note(format!(
        "enqueued {} jobs (one delayed by 1s); starting a worker",
        ids.len()
    ));

    let handler = ExecHandler {
        by_type: SAMPLES
            .iter()
            .map(|(t, _, cmd)| Ok((t.to_string(), HandlerSpec::parse(cmd)?)))
            .collect::<Result<_>>()?,
        default_timeout: Some(Duration::from_secs(30)),
        kill_grace: Duration::from_secs(1),
        ..ExecHandler::default()
    };
    let config = WorkerConfig {
        concurrency: 2,
        // Short delays so the retry happens while you watch.
        backoff: Backoff {
            base: Duration::from_millis(300),
            max: Duration::from_secs(1),
        },
        ..WorkerConfig::default()
    };
    let worker = Worker::new(store.clone(), config, Arc::new(handler));
    let shutdown = Shutdown::default();
    let running = tokio::spawn({
        let (worker, shutdown) = (worker.clone(), shutdown.clone());
        async move { worker.run(shutdown).await }
    });
    let jobs = wait_until_final(&store, &ids).await;
    shutdown.drain.cancel();
    running.await.map_err(|e| Error::Io(e.to_string()))??;
    let jobs = jobs?;

    if g.json {
        output::json(&jobs)?;
    } else {
        output::line(table(&jobs))?;
        output::line(
            "\nEach job ended completed or dead (see `jobq inspect ID` for one job's whole story).\n\
             Try it on your own Redis:\n  \
             jobq worker --handler echo=cat &\n  \
             jobq enqueue echo --data '{\"hello\": \"world\"}'",
        )?;
    }
    output::note("stopped the private redis-server and removed its data");
    Ok(ExitStatus::Success)
}

async fn wait_until_final(store: &Store, ids: &[String]) -> Result<Vec<Job>> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut jobs = Vec::new();
        for id in ids {
            jobs.push(store.job(id).await?);
        }
        if jobs.iter().all(|j| j.state.is_final()) {
            return Ok(jobs);
        }
        if Instant::now() > deadline {
            return Err(Error::Io("demo jobs did not finish within 60s".into()));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn table(jobs: &[Job]) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header([
        "job",
        "type",
        "queue",
        "state",
        "attempts",
        "result or last error",
    ]);
    for j in jobs {
        let outcome = match (&j.result, &j.error) {
            (Some(r), _) => r.to_string(),
            (None, Some(e)) => e.clone(),
            _ => String::new(),
        };
        t.add_row([
            j.id.clone(),
            j.job_type.clone(),
            j.queue.clone(),
            j.state.to_string(),
            format!("{}/{}", j.attempt, j.max_attempts),
            outcome,
        ]);
    }
    t.to_string()
}
