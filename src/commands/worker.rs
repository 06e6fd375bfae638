use std::sync::Arc;

use jobq::cli::{GlobalArgs, WorkerArgs};
use jobq::error::{Error, Result};
use jobq::exit::ExitStatus;
use jobq::job::validate_name;
use jobq::worker::{load_handlers_file, Backoff, ExecHandler, HandlerSpec, Shutdown, Worker, WorkerConfig};
use jobq::{RetryPolicy, Store};

pub async fn run(args: WorkerArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    let handler = exec_handler(&args)?;
    let config = config(&args)?;
    let store = Arc::new(Store::connect(&g.redis_url, &g.namespace, RetryPolicy::WORKER).await?);
    let shutdown =
        Shutdown::on_signals().map_err(|e| Error::Io(format!("cannot listen for signals: {e}")))?;
    let worker = Worker::new(store, config, Arc::new(handler));
    worker.run(shutdown).await?;
    Ok(ExitStatus::Success)
}

pub fn config(args: &WorkerArgs) -> Result<WorkerConfig> {
    if args.queues.is_empty() {
        return Err(Error::invalid("--queues is empty: name at least one queue"));
    }
    for q in &args.queues {
        validate_name("queue", q)?;
    }
    if args.concurrency == 0 || args.concurrency > 10_000 {
        return Err(Error::invalid(format!(
            "--concurrency must be between 1 and 10000, not {}",
            args.concurrency
        )));
    }
    if args.lease.as_millis() < 300 {
        return Err(Error::invalid("--lease must be at least 300ms"));
    }
    Ok(WorkerConfig {
        queues: args.queues.clone(),
        concurrency: args.concurrency,
        lease: args.lease,
        shutdown_timeout: args.shutdown_timeout,
        burst: args.burst,
        backoff: Backoff {
            base: args.retry_base,
            max: args.retry_max.max(args.retry_base),
        },
        retention: args.retention,
        log_completed: true,
    })
}

/// Handlers from `--handlers FILE`, then `--handler TYPE=COMMAND` (which wins), then `--exec`.
fn exec_handler(args: &WorkerArgs) -> Result<ExecHandler> {
    let mut handler = ExecHandler {
        default_timeout: Some(args.timeout),
        kill_grace: args.kill_grace,
        ..ExecHandler::default()
    };
    if let Some(path) = &args.handlers_file {
        handler.by_type = load_handlers_file(path)?;
    }
    for h in &args.handlers {
        let (job_type, command) = h
            .split_once('=')
            .ok_or_else(|| Error::invalid(format!("--handler {h:?} must look like TYPE=COMMAND")))?;
        validate_name("type", job_type)?;
        let mut spec = HandlerSpec::parse(command)?;
        spec.persistent = args.persistent;
        handler.by_type.insert(job_type.to_string(), spec);
    }
    handler.fallback = args.exec.as_deref().map(HandlerSpec::parse).transpose()?;
    if let Some(spec) = handler.fallback.as_mut() {
        spec.persistent = args.persistent;
    }
    if handler.by_type.is_empty() && handler.fallback.is_none() {
        return Err(Error::invalid(
            "no handlers: give --handler TYPE=COMMAND, --handlers FILE or --exec COMMAND",
        ));
    }
    Ok(handler)
}
