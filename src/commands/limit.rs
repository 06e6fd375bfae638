//! `jobq limit set|ls|rm`: rate limits and concurrency caps per queue, across all workers
//! (enforced by fetch.lua; see src/store/limits.rs).

use jobq::cli::{GlobalArgs, LimitCommand};
use jobq::error::{Error, Result};
use jobq::exit::ExitStatus;
use jobq::job::validate_name;
use jobq::schedule::limit::{Limit, LimitStatus};

use crate::output;

pub async fn run(cmd: LimitCommand, g: &GlobalArgs) -> Result<ExitStatus> {
    match cmd {
        LimitCommand::Set(a) => {
            let limit = Limit {
                queue: a.queue,
                rate: a.rate.as_deref().map(str::parse).transpose()?,
                concurrency: a.concurrency,
            };
            limit.validate()?;
            let store = super::connect(g).await?;
            store.set_limit(&limit).await?;
            if g.json {
                output::json(&limit)?;
            } else {
                output::note(format!(
                    "queue {} is now limited to {}",
                    limit.queue,
                    limit.describe()
                ));
            }
        }
        LimitCommand::Ls(_) => {
            let store = super::connect(g).await?;
            let limits = store.limits().await?;
            if g.json {
                output::json(&limits)?;
            } else if limits.is_empty() {
                output::note(format!("no limits in namespace `{}`", g.namespace));
            } else {
                let mut t = output::table(&["QUEUE", "RATE", "CONCURRENCY", "RUNNING", "STATE"]);
                for s in &limits {
                    t.add_row(row(s));
                }
                output::line(t)?;
            }
        }
        LimitCommand::Rm(a) => {
            validate_name("queue", &a.queue)?;
            let store = super::connect(g).await?;
            if !store.remove_limit(&a.queue).await? {
                return Err(Error::NotFound(format!(
                    "queue {} has no limit in namespace `{}` (see `jobq limit ls`)",
                    a.queue, g.namespace
                )));
            }
            if g.json {
                output::json(&serde_json::json!({ "removed": a.queue }))?;
            } else {
                output::note(format!("queue {} is no longer limited", a.queue));
            }
        }
    }
    Ok(ExitStatus::Success)
}

fn row(s: &LimitStatus) -> Vec<String> {
    let dash = || "-".to_string();
    vec![
        s.limit.queue.clone(),
        s.limit.rate.map_or_else(dash, |r| r.to_string()),
        s.limit.concurrency.map_or_else(dash, |c| c.to_string()),
        s.running.to_string(),
        if s.throttled { "throttled" } else { "open" }.to_string(),
    ]
}
