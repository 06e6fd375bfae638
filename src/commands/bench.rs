//! `jobq bench`: the figures of README "Performance", on a private redis-server by default.

use std::sync::Arc;

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use jobq::bench::{BenchConfig, Figure, Report};
use jobq::cli::{BenchArgs, GlobalArgs};
use jobq::error::{Error, Result};
use jobq::exit::ExitStatus;
use jobq::private_redis::PrivateRedis;
use jobq::{RetryPolicy, Store};

use crate::output;

pub async fn run(args: BenchArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    let config = config(&args)?;
    // A namespace of its own, so a bench on a shared Redis cannot touch anyone's jobs.
    let namespace = format!("jobq-bench-{:08x}", rand::random::<u32>());
    let (_server, store) = if args.use_redis_url {
        let store = Store::connect(&g.redis_url, &namespace, RetryPolicy::CLI).await?;
        (None, store)
    } else {
        let server = PrivateRedis::start("bench")?;
        let store = server.connect(&namespace, RetryPolicy::CLI).await?;
        (Some(server), store)
    };
    output::note(format!("benchmarking on {} (namespace {namespace})", store.url()));
    let report = jobq::bench::run(Arc::new(store), config, &|msg| output::note(msg)).await?;
    if g.json {
        output::json(&report)?;
    } else {
        output::line(render(&report))?;
    }
    Ok(ExitStatus::Success)
}

fn config(args: &BenchArgs) -> Result<BenchConfig> {
    let positive = [
        ("--jobs", args.jobs),
        ("--concurrency", args.concurrency),
        ("--repeat", args.repeat),
        ("--latency-jobs", args.latency_jobs),
        ("--rate", args.rate as usize),
    ];
    if let Some((flag, _)) = positive.iter().find(|(_, v)| *v == 0) {
        return Err(Error::invalid(format!("{flag} must be at least 1")));
    }
    if args.concurrency > 10_000 {
        return Err(Error::invalid("--concurrency must be at most 10000"));
    }
    if args.backlogs.contains(&0) {
        return Err(Error::invalid("--backlogs sizes must be at least 1"));
    }
    Ok(BenchConfig {
        jobs: args.jobs,
        concurrency: args.concurrency,
        repeat: args.repeat,
        rate: args.rate,
        latency_jobs: args.latency_jobs,
        idle_window: args.idle_window,
        backlogs: args.backlogs.clone(),
        external_jobs: args.external_jobs,
    })
}

fn render(r: &Report) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["figure", "median", "spread (min-max)", "unit", "target"]);
    for f in &r.figures {
        t.add_row([
            f.name.replace('_', " "),
            num(f.median),
            spread(f),
            f.unit.into(),
            f.target.into(),
        ]);
    }
    let mut b = Table::new();
    b.load_preset(UTF8_FULL_CONDENSED);
    b.set_header([
        "queued jobs",
        "processed/s",
        "bench process peak RSS (MiB)",
        "Redis used memory (MiB)",
    ]);
    for row in &r.backlog {
        b.add_row([
            row.backlog.to_string(),
            with_spread(&row.processed_per_s),
            with_spread(&row.peak_rss_mib),
            with_spread(&row.redis_used_mib),
        ]);
    }
    format!(
        "{t}\n\nCost as the backlog grows ({} jobs processed from each):\n{b}\n\n{} rounds, concurrency {}; load average {:.1} at start, {:.1} at end",
        r.config.jobs, r.config.repeat, r.config.concurrency, r.loadavg[0], r.loadavg[1]
    )
}

fn num(v: f64) -> String {
    if !v.is_finite() {
        "-".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn spread(f: &Figure) -> String {
    format!("{}-{}", num(f.min), num(f.max))
}

fn with_spread(f: &Figure) -> String {
    format!("{} ({})", num(f.median), spread(f))
}
