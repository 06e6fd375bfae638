//! `jobq workers`: the live worker registry. A worker that died drops out when its record's
//! TTL (its lease) runs out; its jobs come back through lease recovery.

use chrono::Utc;

use jobq::cli::{GlobalArgs, WorkersArgs};
use jobq::error::Result;
use jobq::exit::ExitStatus;
use jobq::store::WorkerInfo;

use crate::output;

pub async fn run(_args: WorkersArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    let store = super::connect(g).await?;
    let workers = store.workers().await?;
    if g.json {
        output::json(&workers)?;
    } else if workers.is_empty() {
        output::note(format!("no live workers in namespace `{}`", g.namespace));
    } else {
        output::line(render(&workers))?;
    }
    Ok(ExitStatus::Success)
}

fn ago(t: chrono::DateTime<Utc>) -> String {
    output::span_ms(Some((Utc::now() - t).num_milliseconds().max(0) as u64))
}

fn render(workers: &[WorkerInfo]) -> String {
    let mut t = output::table(&[
        "ID",
        "HOST",
        "PID",
        "QUEUES",
        "BUSY",
        "UPTIME",
        "HEARTBEAT",
        "JOBS",
    ]);
    for w in workers {
        let mut row = comfy_table::Row::from(vec![
            w.id.clone(),
            w.host.clone(),
            w.pid.to_string(),
            w.queues.join(","),
            format!("{}/{}", w.jobs.len(), w.concurrency),
            ago(w.started_at),
            format!("{} ago", ago(w.heartbeat_at)),
            w.jobs.join(" "),
        ]);
        row.max_height(1);
        t.add_row(row);
    }
    output::fit_last_column(&mut t);
    t.to_string()
}
