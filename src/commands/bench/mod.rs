//! `jobq bench`: the figures of README "Performance", on a private redis-server by default.

use std::sync::Arc;

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
mod ceiling;
mod engine;
mod fleet;

use engine::{BenchConfig, Figure, Report};
use fleet::{FleetConfig, FleetReport};
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
    let (server, store) = if args.use_redis_url {
        let store = Store::connect_with(&g.connection(), &namespace, RetryPolicy::CLI).await?;
        // Its figures come from one server's `INFO commandstats`, and its clean-up deletes keys
        // of many slots at once: on a cluster it would measure and clean one node of several.
        if store.is_cluster() {
            return Err(Error::invalid(
                "bench --use-redis-url measures one Redis server, not a cluster: give it one node's redis:// URL on a spare server, or run it without --use-redis-url",
            ));
        }
        (None, store)
    } else {
        let server = PrivateRedis::start("bench")?;
        let store = server.connect(&namespace, RetryPolicy::CLI).await?;
        (Some(server), store)
    };
    output::note(format!("benchmarking on {} (namespace {namespace})", store.url()));
    let url = match &server {
        Some(server) => server.url(),
        None => g.redis_url.clone(),
    };
    if args.fleet {
        let fleet = FleetConfig {
            window: config.idle_window,
            processes: vec![1, 10, 100],
            queue_counts: vec![1, 20, 50],
            jobs: config.jobs,
            url,
        };
        let report = fleet::run(Arc::new(store), fleet, &|msg| output::note(msg)).await?;
        if g.json {
            output::json(&report)?;
        } else {
            output::line(render_fleet(&report))?;
        }
        return Ok(ExitStatus::Success);
    }
    let report = engine::run(Arc::new(store), &url, config, &|msg| output::note(msg)).await?;
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
    let c = &r.ceilings;
    format!(
        "{t}\n\nCeilings of this machine (one client, measured by {} in this run): job-insert script {}/s, LPUSH {}/s, RPOP {}/s\n\nCost as the backlog grows ({} jobs processed from each):\n{b}\n\n{} rounds, concurrency {}; load average {:.1} at start, {:.1} at end",
        c.measured_by,
        num(c.insert_per_s),
        num(c.lpush_per_s),
        num(c.rpop_per_s),
        r.config.jobs, r.config.repeat, r.config.concurrency, r.loadavg[0], r.loadavg[1]
    )
}

fn render_fleet(r: &FleetReport) -> String {
    let mut idle = Table::new();
    idle.load_preset(UTF8_FULL_CONDENSED);
    idle.set_header(["queues of one idle worker", "Redis commands/s"]);
    for row in &r.idle {
        idle.add_row([row.queues.to_string(), num(row.commands_per_s)]);
    }
    let mut procs = Table::new();
    procs.load_preset(UTF8_FULL_CONDENSED);
    procs.set_header([
        "idle worker processes (50 queues each)",
        "commands/s, all",
        "commands/s per worker",
        "recovery passes per queue and minute",
    ]);
    for row in &r.processes {
        procs.add_row([
            row.workers.to_string(),
            num(row.commands_per_s),
            num(row.commands_per_s_per_worker),
            num(row.recovery_passes_per_queue_min),
        ]);
    }
    let mut prio = Table::new();
    prio.load_preset(UTF8_FULL_CONDENSED);
    prio.set_header(["job's queue (of 20, strict priority)", "commands per job"]);
    for row in &r.priority {
        prio.add_row([row.position.to_string(), num(row.commands_per_job)]);
    }
    let mut fan = Table::new();
    fan.load_preset(UTF8_FULL_CONDENSED);
    fan.set_header([
        "idle worker processes on the queue",
        "jobs (trickle)",
        "commands per job",
        "commands/s",
    ]);
    for row in &r.fanout {
        fan.add_row([
            row.workers.to_string(),
            format!("{} at {}/s", row.jobs, num(row.jobs_per_s)),
            num(row.commands_per_job),
            num(row.commands_per_s),
        ]);
    }
    format!(
        "{idle}\n\n{procs}\n\n{prio}\n\n{fan}\n\nidle windows of {}s, default 15 s lease; {} jobs per priority row, concurrency 1",
        r.config.window.as_secs(),
        r.config.jobs
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
