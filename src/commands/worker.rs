use std::sync::Arc;
use std::time::Duration;

use jobq::cli::{GlobalArgs, WorkerArgs};
use jobq::error::{Error, Result};
use jobq::exit::ExitStatus;
use jobq::job::validate_name;
use jobq::log::Format;
use jobq::worker::{
    load_handlers_file, load_hooks_file, parse_queues, Backoff, ExecHandler, HandlerSpec, Shutdown, Worker,
    WorkerConfig,
};
use jobq::{RetryPolicy, Store};

pub async fn run(args: WorkerArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    init_log(&args, g)?;
    let handler = exec_handler(&args, g)?;
    let config = config(&args)?;
    let retry = RetryPolicy::WORKER.wait_at_start(args.wait_for_redis.unwrap_or(Duration::MAX));
    let store = Arc::new(Store::connect_with(&g.connection(), &g.namespace, retry).await?);
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
    let (queues, weights) = parse_queues(&args.queues)?;
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
        queues,
        weights,
        concurrency: args.concurrency,
        lease: args.lease,
        shutdown_timeout: args.shutdown_timeout,
        burst: args.burst,
        backoff: Backoff {
            base: args.retry_base,
            max: args.retry_max.max(args.retry_base),
        },
        retention: args.retention,
        log_completed: args.log_jobs,
    })
}

/// `--json` on `worker` means JSON log lines (a worker prints no data on stdout); it is
/// refused together with an explicit `--log-format text` rather than one of them being ignored.
fn init_log(args: &WorkerArgs, g: &GlobalArgs) -> Result<()> {
    let format = match (g.json, args.log_format) {
        (true, Some(Format::Text)) => return Err(Error::invalid(
            "--json means JSON log lines, but --log-format (or JOBQ_LOG_FORMAT) says text: drop one of them",
        )),
        (true, _) => Format::Json,
        (false, format) => format.unwrap_or(Format::Text),
    };
    jobq::log::init(args.log_level, format);
    Ok(())
}

/// Handlers from `--handlers FILE`, then `--handler TYPE=COMMAND` (which wins), then `--exec`.
/// Every program is checked now, and every handler gets the worker's connection settings
/// (its own `env` from the handlers file comes after them, so it wins).
fn exec_handler(args: &WorkerArgs, g: &GlobalArgs) -> Result<ExecHandler> {
    let mut handler = ExecHandler {
        default_timeout: Some(args.timeout),
        kill_grace: args.kill_grace,
        ..ExecHandler::default()
    };
    if let Some(path) = &args.handlers_file {
        handler.by_type = load_handlers_file(path)?;
        handler.hooks = Arc::new(load_hooks_file(path)?);
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
    let mut types: Vec<&String> = handler.by_type.keys().collect();
    types.sort();
    for t in types {
        handler.by_type[t].check_program(&format!("handler for type {t}"))?;
    }
    if let Some(spec) = &handler.fallback {
        spec.check_program("--exec handler")?;
    }
    let conn = g.connection_env();
    for spec in handler.by_type.values_mut().chain(handler.fallback.as_mut()) {
        spec.env.splice(0..0, conn.iter().cloned());
    }
    Ok(handler)
}
