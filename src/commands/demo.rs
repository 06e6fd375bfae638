//! `jobq demo`: the whole life of a few jobs on a private redis-server, so a newcomer sees
//! jobq work before configuring anything. Nothing outside a temp dir is touched. It teaches:
//! it prints the handlers it uses and the commands that do what it does, shows a live
//! progress bar of a real job, and ends with commands to try that work on a fresh machine.

use std::sync::Arc;
use std::time::{Duration, Instant};

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use jobq::cli::{DemoArgs, GlobalArgs};
use jobq::error::{Error, Result};
use jobq::exit::ExitStatus;
use jobq::private_redis::PrivateRedis;
use jobq::worker::{load_handlers_file, Backoff, ExecHandler, Shutdown, Worker, WorkerConfig};
use jobq::{Job, NewJob, RetryPolicy, Store};
use serde_json::json;

use crate::output;

/// Each sample: type, queue, and the handler command the demo worker runs for it.
const SAMPLES: [(&str, &str, &str); 5] = [
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
    (
        "resize",
        "normal",
        r#"sh -c 'i=0; while [ $i -lt 25 ]; do i=$((i+1)); echo "progress $i/25 resizing image $i" >&$JOBQ_PROGRESS_FD; sleep 0.12; done; echo "{\"resized\": 25}"'"#,
    ),
];

const HANDLERS_FILE: &str = "demo-handlers.toml";

/// The samples' handlers as a handlers file for `jobq worker --handlers` (the TOML writer picks
/// the quoting, so the shell snippets need no escaping by hand).
fn handlers_file() -> String {
    let mut file = toml::Table::new();
    for (job_type, _, cmd) in SAMPLES {
        let mut entry = toml::Table::new();
        entry.insert("command".into(), cmd.into());
        file.insert(job_type.into(), entry.into());
    }
    file.to_string()
}

/// The closing hint: works as written where `jobq demo` works (redis-server on PATH).
const TRY_IT: &str = "\
Try it on a Redis of your own (a throwaway one on a unix socket; nothing else is touched):
  sock=${TMPDIR:-/tmp}/jobq-try.sock
  redis-server --port 0 --unixsocket $sock --save '' --daemonize yes
  until redis-cli -s $sock ping >/dev/null 2>&1; do sleep 0.1; done   # until it is up
  export JOBQ_REDIS_URL=unix://$sock
  jobq enqueue echo --data '{\"hello\": \"world\"}'
  jobq worker --handler echo=cat --burst
  jobq ls --state completed
  redis-cli -s $sock shutdown nosave";

pub async fn run(_args: DemoArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    let redis = PrivateRedis::start("demo")?;
    let store = Arc::new(redis.connect(&g.namespace, RetryPolicy::CLI).await?);
    output::note(format!("started a private redis-server at {}", redis.url()));

    // The worker below loads this very file, so what is shown is what runs.
    let handlers_path = redis.dir().join(HANDLERS_FILE);
    std::fs::write(&handlers_path, handlers_file())
        .map_err(|e| Error::Io(format!("cannot write {}: {e}", handlers_path.display())))?;
    let teach = !g.json;
    if teach {
        output::line(format!(
            "The handlers, as a handlers file ({HANDLERS_FILE}): one program per job type, run without a shell;\n\
             each gets the payload on stdin and prints its result on stdout.\n"
        ))?;
        for line in handlers_file().lines() {
            output::line(if line.is_empty() {
                String::new()
            } else {
                format!("  {line}")
            })?;
        }
        output::line("\nWhat the demo does, as you would type it:")?;
    }
    let mut ids = Vec::new();
    for (i, (job_type, queue, _)) in SAMPLES.iter().enumerate() {
        let payload = json!({ "sample": i + 1, "to": "ops@example.com" });
        if teach {
            output::line(format!(
                "  jobq enqueue {job_type} --queue {queue} --data '{payload}'"
            ))?;
        }
        ids.push(
            store
                .enqueue(&NewJob::new(job_type, queue, &payload))
                .await?
                .id()
                .to_string(),
        );
    }
    let payload = json!({ "note": "delayed by 1s" });
    let mut later = NewJob::new("echo", "normal", &payload);
    later.delay = Some(Duration::from_secs(1));
    ids.push(store.enqueue(&later).await?.id().to_string());
    if teach {
        output::line(format!(
            "  jobq enqueue echo --queue normal --delay 1s --data '{payload}'"
        ))?;
        output::line(format!(
            "  jobq worker --queues high,normal,low --concurrency 2 --retry-base 300ms --retry-max 1s --handlers {HANDLERS_FILE}"
        ))?;
    }

    let handler = ExecHandler {
        by_type: load_handlers_file(&handlers_path)?,
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
    if teach {
        // A real job's progress, live: the same view as `jobq watch ID`.
        let resize = &ids[SAMPLES.len() - 1];
        output::line(format!("  jobq watch {resize}\n"))?;
        super::watch::watch_job(&store, resize, output::mode(false)).await?;
    }
    let jobs = wait_until_final(&store, &ids).await;
    shutdown.drain.cancel();
    running.await.map_err(|e| Error::Io(e.to_string()))??;
    let jobs = jobs?;

    if g.json {
        output::json(&jobs)?;
    } else {
        output::line(format!("\n  jobq ls --all\n\n{}", table(&jobs)))?;
        output::line(format!(
            "\nEach job ended completed or dead: `flaky` failed once and was retried, `broken` \
             failed for good\n(exit 100). `jobq inspect ID` tells one job's whole story.\n\n{TRY_IT}"
        ))?;
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
