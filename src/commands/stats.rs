//! `jobq stats`: one table with a row per queue and a totals row, the live worker count and
//! the last 7 days. `--json` prints [`Report`] (field names documented in the README).

use jobq::cli::{GlobalArgs, StatsArgs};
use jobq::error::{Error, Result};
use jobq::exit::ExitStatus;
use jobq::store::DayStats;

use crate::ops::stats::{collect, Report};
use crate::ops::target_queues;
use crate::output;

pub async fn run(args: StatsArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    if args.watch.is_some_and(|w| w.as_millis() < 100) {
        return Err(Error::invalid("--watch interval must be at least 100ms"));
    }
    let store = super::connect(g).await?;
    let queues = target_queues(&store, args.queue.as_deref()).await?;
    let Some(interval) = args.watch else {
        let report = collect(&store, &queues).await?;
        print(&report, g.json, false)?;
        return Ok(ExitStatus::Success);
    };
    // One Ctrl-C listener for the whole watch, so a press while a screen is read is not lost.
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        // New queues appear while watching all of them. A Redis outage is waited out (the
        // last screen stays, a note on stderr says why it does not change).
        let screen = super::follow::outlast(|| async {
            let queues = match args.queue {
                Some(_) => queues.clone(),
                None => store.queue_names().await?,
            };
            collect(&store, &queues).await
        });
        let report = tokio::select! {
            r = screen => r?,
            _ = &mut ctrl_c => return Ok(ExitStatus::Interrupted),
        };
        print(&report, g.json, true)?;
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = &mut ctrl_c => return Ok(ExitStatus::Interrupted),
        }
    }
}

fn print(report: &Report, json: bool, watch: bool) -> Result<()> {
    if json && watch {
        // One compact document per line, so `jobq stats --watch --json | jq` streams.
        return output::line(serde_json::to_string(report).map_err(|e| Error::Io(e.to_string()))?);
    }
    if json {
        return output::json(report);
    }
    let screen = render(report);
    if watch && output::stdout_is_tty() {
        // Home the cursor and clear: the table redraws in place.
        output::line(format!("\x1b[H\x1b[2J{screen}"))
    } else {
        output::line(screen)
    }
}

fn render(r: &Report) -> String {
    // The LIMIT column only when some queue has a limit (`jobq limit`).
    let limited = r.queues.iter().any(|q| q.limit.is_some());
    let mut header = vec![
        "QUEUE",
        "QUEUED",
        "SCHEDULED",
        "WAITING",
        "ACTIVE",
        "DEAD",
        "COMPLETED",
        "PROCESSED",
        "FAILED",
        "LAST MIN",
        "LATENCY",
    ];
    if limited {
        header.push("LIMIT");
    }
    let mut t = output::table(&header);
    let rows = r.queues.iter().map(|q| (q, q.paused));
    for (q, paused) in rows.chain([(&r.totals, false)]) {
        let throttled = q.limit.as_ref().is_some_and(|l| l.throttled);
        let name = match (paused, throttled) {
            (true, _) => format!("{} (paused)", q.queue),
            (false, true) => format!("{} (throttled)", q.queue),
            (false, false) => q.queue.clone(),
        };
        let n = |v: u64| output::thousands(v);
        let mut row = vec![
            name,
            n(q.queued),
            n(q.scheduled),
            n(q.waiting),
            n(q.active),
            n(q.dead),
            n(q.completed),
            n(q.processed_total),
            n(q.failed_total),
            n(q.processed_last_minute),
            output::span_ms(q.oldest_queued_age_ms),
        ];
        if limited {
            row.push(q.limit.as_ref().map_or_else(String::new, |l| l.limit.describe()));
        }
        t.add_row(row);
    }
    let workers = match r.workers {
        1 => "1 live worker".to_string(),
        n => format!("{n} live workers"),
    };
    // Numbers never wrap: a narrow window scrolls sideways rather than splitting them.
    t.set_content_arrangement(comfy_table::ContentArrangement::Disabled);
    format!("{t}\n{workers}\n\n{}", days(&r.totals.days))
}

/// The last 7 days of all queues: one column per day and a sparkline of jobs processed.
fn days(days: &[DayStats]) -> String {
    let mut header = vec!["LAST 7 DAYS".to_string()];
    header.extend(
        days.iter()
            .map(|d| d.date.get(5..).unwrap_or(&d.date).to_string()),
    );
    header.push(String::new());
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut t = output::table(&header);
    let column = |get: &dyn Fn(&DayStats) -> u64| days.iter().map(get).collect::<Vec<u64>>();
    let rows = [
        ("processed", column(&|d| d.processed)),
        ("failed", column(&|d| d.failed)),
        ("dead", column(&|d| d.dead)),
    ];
    for (label, values) in rows {
        let mut row = vec![label.to_string()];
        row.extend(values.iter().map(|v| output::thousands(*v)));
        row.push(sparkline(&values));
        t.add_row(row);
    }
    t.to_string()
}

fn sparkline(values: &[u64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    values
        .iter()
        .map(|&v| BARS[((v * 7).div_ceil(max)) as usize])
        .collect()
}
