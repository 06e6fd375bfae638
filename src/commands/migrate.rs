//! `jobq migrate`: moves a jobq 1 namespace to the cluster key layout (see store/migrate.rs).
//! A dry run by default; `--apply` carries it out; running it again is harmless.

use jobq::cli::{GlobalArgs, MigrateArgs};
use jobq::error::Result;
use jobq::exit::ExitStatus;
use jobq::store::MigrationPlan;

use crate::output;

pub async fn run(args: MigrateArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    let store = super::connect(g).await?;
    let plan = store.migration_plan().await?;
    if args.apply && !plan.is_empty() {
        store.migrate(&plan).await?;
    }
    if g.json {
        output::json(&serde_json::json!({ "applied": args.apply, "plan": plan }))?;
    } else if plan.is_empty() {
        output::line(format!(
            "namespace `{}` already uses the cluster layout; nothing to do",
            g.namespace
        ))?;
    } else {
        output::line(render(&plan, args.apply))?;
        if !args.apply {
            output::note("dry run: nothing was written; run `jobq migrate --apply` to do it");
        }
    }
    Ok(ExitStatus::Success)
}

fn render(p: &MigrationPlan, applied: bool) -> String {
    let verb = |future: &str, past: &str| {
        if applied {
            past.to_string()
        } else {
            future.to_string()
        }
    };
    let mut lines = Vec::new();
    if !p.queues.is_empty() {
        lines.push(format!(
            "{} queues: {}",
            verb("register", "registered"),
            p.queues.join(", ")
        ));
    }
    if let Some(e) = &p.epoch {
        lines.push(format!("{} the dataset epoch {e}", verb("keep", "kept")));
    }
    if !p.workers.is_empty() {
        lines.push(format!(
            "{} {} jobq 1 worker registry entries",
            verb("drop", "dropped"),
            p.workers.len()
        ));
    }
    for key in &p.delete {
        lines.push(format!("{} {key}", verb("delete", "deleted")));
    }
    lines.join("\n")
}
