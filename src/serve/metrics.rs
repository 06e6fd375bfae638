//! `GET /metrics`: the Prometheus text exposition format (0.0.4), written by a small typed
//! writer. (prometheus-client writes OpenMetrics, whose `_total` counter families the text
//! format's own checker, `promtool check metrics`, reads as separate, undocumented families;
//! and its hash-ordered label sets would shuffle the output between scrapes.)
//!
//! Each scrape reads the queue set, the stats of every queue (pipelined: a few round trips for
//! 1,000 queues, no scan of jobs) and the worker registry. The numbers live in Redis, so this
//! process keeps no counters of its own and any number of servers report the same values.

use std::fmt::Write;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use jobq::store::{QueueStats, WorkerInfo};

use super::errors::ApiResult;
use super::Shared;

pub async fn scrape(State(app): State<Shared>) -> ApiResult<Response> {
    let names = app.store.queue_names().await?;
    let stats = app.store.queues_stats(&names).await?;
    let workers = app.store.workers().await?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        render(&stats, &workers),
    )
        .into_response())
}

#[derive(Clone, Copy)]
enum Kind {
    Gauge,
    Counter,
}

/// One metric family: `# HELP`, `# TYPE`, then its samples.
struct Family<'a> {
    out: &'a mut String,
    name: &'static str,
}

impl<'a> Family<'a> {
    fn new(out: &'a mut String, name: &'static str, kind: Kind, help: &str) -> Family<'a> {
        let kind = match kind {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        };
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        Family { out, name }
    }

    /// A sample; label values are queue names and states (`[A-Za-z0-9_.-]`), never escaped.
    fn sample(&mut self, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        let _ = write!(self.out, "{}", self.name);
        for (i, (k, v)) in labels.iter().enumerate() {
            let sep = if i == 0 { '{' } else { ',' };
            let _ = write!(self.out, "{sep}{k}=\"{v}\"");
        }
        if !labels.is_empty() {
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }
}

type Get = fn(&QueueStats) -> u64;

const STATES: [(&str, Get); 6] = [
    ("queued", |s| s.queued),
    ("scheduled", |s| s.scheduled),
    ("active", |s| s.active),
    ("dead", |s| s.dead),
    ("completed", |s| s.completed),
    ("cancelled", |s| s.cancelled),
];

const TOTALS: [(&str, &str, Get); 3] = [
    ("jobq_processed_total", "Jobs completed", |s| s.processed_total),
    ("jobq_failed_total", "Failed attempts", |s| s.failed_total),
    ("jobq_dead_total", "Jobs that ran out of attempts", |s| {
        s.dead_total
    }),
];

pub fn render(stats: &[QueueStats], workers: &[WorkerInfo]) -> String {
    let mut out = String::new();
    let help = "Jobs by queue and state (completed and cancelled: those still kept)";
    let mut f = Family::new(&mut out, "jobq_jobs", Kind::Gauge, help);
    for s in stats {
        for (state, get) in STATES {
            f.sample(&[("queue", &s.queue), ("state", state)], get(s));
        }
    }
    for (name, help, get) in TOTALS {
        let mut f = Family::new(&mut out, name, Kind::Counter, help);
        for s in stats {
            f.sample(&[("queue", &s.queue)], get(s));
        }
    }
    let help = "How long the job that runs next has waited (0 when none is queued)";
    let mut f = Family::new(&mut out, "jobq_oldest_queued_job_age_seconds", Kind::Gauge, help);
    for s in stats {
        let age = s.oldest_queued_age_ms.unwrap_or(0) as f64 / 1000.0;
        f.sample(&[("queue", &s.queue)], age);
    }
    let mut f = Family::new(
        &mut out,
        "jobq_queue_paused",
        Kind::Gauge,
        "1 while the queue is paused",
    );
    for s in stats {
        f.sample(&[("queue", &s.queue)], u8::from(s.paused));
    }
    let busy: usize = workers.iter().map(|w| w.jobs.len()).sum();
    let slots: usize = workers.iter().map(|w| w.concurrency).sum();
    for (name, help, v) in [
        (
            "jobq_workers",
            "Live workers (heartbeat record present)",
            workers.len(),
        ),
        (
            "jobq_worker_slots",
            "Jobs the live workers can run at once (sum of their --concurrency)",
            slots,
        ),
        (
            "jobq_worker_busy_slots",
            "Jobs the live workers are running",
            busy,
        ),
    ] {
        Family::new(&mut out, name, Kind::Gauge, help).sample(&[], v);
    }
    out
}
