//! `jobq schedule add|ls|rm|pause|resume|run`: recurring jobs. The ticks themselves are
//! enqueued by running workers (`jobq::schedule::scheduler`); these commands only edit the
//! definitions, through the store.

use chrono::Utc;
use jobq::cli::{GlobalArgs, PriorityArg, ScheduleAddArgs, ScheduleCommand};
use jobq::error::{Error, Result};
use jobq::exit::ExitStatus;
use jobq::job::validate_name;
use jobq::schedule::spec::show_time;
use jobq::schedule::{ScheduleDef, Timing};

use crate::ops::schedule::{view, views};
use crate::output;

pub async fn run(cmd: ScheduleCommand, g: &GlobalArgs) -> Result<ExitStatus> {
    match cmd {
        ScheduleCommand::Add(a) => add(a, g).await,
        ScheduleCommand::Ls(_) => ls(g).await,
        ScheduleCommand::Rm(a) => {
            validate_name("schedule", &a.name)?;
            let store = super::connect(g).await?;
            if !store.remove_schedule(&a.name).await? {
                return Err(Error::NotFound(format!(
                    "no schedule named `{}` in namespace `{}` (see `jobq schedule ls`)",
                    a.name, g.namespace
                )));
            }
            done(g, &a.name, "removed")
        }
        ScheduleCommand::Pause(a) => {
            validate_name("schedule", &a.name)?;
            let store = super::connect(g).await?;
            let changed = store.pause_schedule(&a.name, None).await?;
            done(g, &a.name, if changed { "paused" } else { "already paused" })
        }
        ScheduleCommand::Resume(a) => {
            validate_name("schedule", &a.name)?;
            let store = super::connect(g).await?;
            let s = store.schedule(&a.name).await?;
            let now = store.server_time_ms().await? as i64;
            // Ticks missed while paused are skipped: the schedule goes on from now.
            let next = s.def.next_after(now).ok_or_else(|| never(&s.def))?;
            let changed = store.pause_schedule(&a.name, Some(next)).await?;
            done(g, &a.name, if changed { "resumed" } else { "not paused" })
        }
        ScheduleCommand::Run(a) => {
            validate_name("schedule", &a.name)?;
            let store = super::connect(g).await?;
            let s = store.schedule(&a.name).await?;
            let id = store.enqueue(&s.def.job(None)).await?.id().to_string();
            if g.json {
                output::json(&store.job(&id).await?)?;
            } else {
                output::line(&id)?;
            }
            Ok(ExitStatus::Success)
        }
    }
}

fn done(g: &GlobalArgs, name: &str, what: &str) -> Result<ExitStatus> {
    if g.json {
        output::json(&serde_json::json!({ "name": name, "result": what.replace(' ', "_") }))?;
    } else {
        output::note(format!("schedule {name} {what}"));
    }
    Ok(ExitStatus::Success)
}

fn never(def: &ScheduleDef) -> Error {
    Error::invalid(format!(
        "{} never fires (no such date); nothing was written",
        def.describe()
    ))
}

async fn add(a: ScheduleAddArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    // Everything is checked before connecting: a bad expression or zone writes nothing.
    let mut def = definition(&a)?;
    def.validate()?;
    if def.next_after(Utc::now().timestamp_millis()).is_none() {
        return Err(never(&def));
    }
    let store = super::connect(g).await?;
    // The payload must pass its type's schema (and the route must exist) now, not at 3 am.
    let mut probe = def.job(None);
    store.registry().await?.apply(&mut probe)?;
    // Tick times are on the Redis server's clock, which every worker shares.
    let now = store.server_time_ms().await? as i64;
    if let Timing::Every { ms } = def.timing {
        def.anchor_ms = Some(now + ms as i64);
    }
    let first = def.next_after(now).ok_or_else(|| never(&def))?;
    let replaced = store.add_schedule(&def, first, a.replace).await?;
    if g.json {
        output::json(&view(&store.schedule(&def.name).await?))?;
    } else {
        output::note(format!(
            "schedule {} {}: {}, first run {}",
            def.name,
            if replaced { "replaced" } else { "added" },
            def.describe(),
            show_time(&def, first)
        ));
    }
    Ok(ExitStatus::Success)
}

fn definition(a: &ScheduleAddArgs) -> Result<ScheduleDef> {
    if a.data == "-" {
        return Err(Error::invalid(
            "--data - (stdin) is not supported for schedules; use JSON text or @FILE",
        ));
    }
    let timing = match (&a.cron, a.every) {
        (Some(expr), _) => Timing::Cron {
            expr: expr.trim().to_string(),
            tz: a.tz.clone().unwrap_or_else(|| "UTC".into()),
        },
        (None, Some(every)) => Timing::Every {
            ms: every.as_millis() as u64,
        },
        (None, None) => return Err(Error::invalid("give --cron EXPR or --every DURATION")),
    };
    // --priority as enqueue takes it: a name picks the queue, a number orders within it.
    let (named, priority) = match a.priority {
        Some(PriorityArg::Queue(p)) => (Some(p.queue()), None),
        Some(PriorityArg::Number(n)) => (None, Some(n)),
        None => (None, None),
    };
    if let (Some(p), Some(q)) = (named, &a.queue) {
        return Err(Error::invalid(format!(
            "--priority {p} names a queue, and so does --queue {q}: give one (a number 1-10 for --priority may go with --queue)"
        )));
    }
    let queue = a.queue.clone().or_else(|| named.map(str::to_string));
    Ok(ScheduleDef {
        name: a.name.clone(),
        timing,
        anchor_ms: None,
        job_type: a.job_type.clone(),
        payload: super::enqueue::read_payload(&a.data)?,
        queue,
        max_attempts: a.max_attempts,
        timeout_ms: a.timeout.map(|t| t.as_millis() as u64),
        priority,
    })
}

async fn ls(g: &GlobalArgs) -> Result<ExitStatus> {
    let store = super::connect(g).await?;
    let schedules = store.schedules().await?;
    if g.json {
        output::json(&views(&schedules))?;
        return Ok(ExitStatus::Success);
    }
    if schedules.is_empty() {
        output::note(format!("no schedules in namespace `{}`", g.namespace));
        return Ok(ExitStatus::Success);
    }
    let mut t = output::table(&["NAME", "WHEN", "TYPE", "QUEUE", "NEXT RUN", "LAST RUN", "STATE"]);
    for s in &schedules {
        let at = |ms: Option<i64>| ms.map_or("-".to_string(), |ms| show_time(&s.def, ms));
        let state = if s.state.paused {
            "paused".to_string()
        } else if let Some(e) = &s.state.last_error {
            format!("last tick failed: {}", output::clip(e, 60))
        } else {
            "active".to_string()
        };
        let mut row = comfy_table::Row::from(vec![
            s.def.name.clone(),
            s.def.describe(),
            s.def.job_type.clone(),
            s.def.queue.clone().unwrap_or_else(|| "(route)".into()),
            if s.state.paused {
                "-".into()
            } else {
                at(s.state.next_ms)
            },
            at(s.state.last_ms),
            state,
        ]);
        row.max_height(1);
        t.add_row(row);
    }
    output::fit_last_column(&mut t);
    output::line(t)?;
    Ok(ExitStatus::Success)
}
