//! `jobq notify`: the command-line face of [`jobq::archive::notify::Notifier`].

use std::collections::HashSet;
use std::sync::Arc;

use jobq::archive::notify::{self, Notifier, NotifyConfig};
use jobq::cli::{GlobalArgs, NotifyArgs};
use jobq::error::{Error, Result};
use jobq::exit::ExitStatus;
use jobq::job::validate_name;
use jobq::worker::Shutdown;
use jobq::{RetryPolicy, Store};

pub async fn run(args: NotifyArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    let config = config(&args)?;
    let store = Arc::new(Store::connect(&g.redis_url, &g.namespace, RetryPolicy::WORKER).await?);
    let stop = Shutdown::on_signals()
        .map_err(|e| Error::Io(format!("cannot listen for signals: {e}")))?
        .drain;
    let started = format!(
        "notify {} started: {} events of {} to {}{}",
        config.name,
        args.on.join(","),
        if config.queues.is_empty() {
            "every queue".to_string()
        } else {
            format!("queues {}", config.queues.join(","))
        },
        config.url,
        if config.secret.is_some() { ", signed" } else { "" }
    );
    jobq::log::info(jobq::log::Ctx::default(), started);
    let notifier = Notifier::new(store, config)?;
    notifier.run(stop).await?;
    jobq::log::info(jobq::log::Ctx::default(), "notify stopped");
    Ok(ExitStatus::Success)
}

fn config(args: &NotifyArgs) -> Result<NotifyConfig> {
    let url = notify::parse_url(&args.url)?;
    let events = args
        .on
        .iter()
        .map(|on| notify::event_for(on.trim()))
        .collect::<Result<HashSet<_>>>()?;
    if events.is_empty() {
        return Err(Error::invalid("--on is empty: name at least one event"));
    }
    for q in &args.queues {
        validate_name("queue", q)?;
    }
    if let Some(t) = &args.job_type {
        validate_name("type", t)?;
    }
    let name = match &args.name {
        Some(n) => {
            validate_name("--name", n)?;
            n.clone()
        }
        None => notify::default_name(&url),
    };
    if args.timeout.is_zero() {
        return Err(Error::invalid("--timeout must be more than 0"));
    }
    Ok(NotifyConfig {
        url,
        events,
        queues: args.queues.clone(),
        job_type: args.job_type.clone(),
        secret: args.secret_file.as_deref().map(read_secret).transpose()?,
        name,
        request_timeout: args.timeout,
    })
}

/// The secret is the file's content without its trailing newline; an empty one is refused
/// (it would sign with a key anyone knows).
fn read_secret(path: &std::path::Path) -> Result<Vec<u8>> {
    let mut bytes = std::fs::read(path)
        .map_err(|e| Error::invalid(format!("cannot read --secret-file {}: {e}", path.display())))?;
    while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        bytes.pop();
    }
    if bytes.is_empty() {
        return Err(Error::invalid(format!(
            "--secret-file {} is empty",
            path.display()
        )));
    }
    Ok(bytes)
}
