use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use jobq::cli::{GlobalArgs, WatchArgs};
use jobq::error::Result;
use jobq::exit::ExitStatus;
use jobq::job::{queue_of, validate_name, State};
use jobq::store::{Event, Subscription};
use jobq::Store;

use super::follow::{describe, event_line, outlast, watch_outcome, Tracker};
use crate::ops::events::snapshot_event;
use crate::output;

pub async fn run(args: WatchArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    let Some(id) = &args.id else {
        for q in &args.queues {
            validate_name("queue", q)?;
        }
        if let Some(t) = &args.job_type {
            validate_name("type", t)?;
        }
        let store = super::connect(g).await?;
        // An unknown queue is an error (exit 3), as in ls, stats, tail and dlq.
        for q in &args.queues {
            store.known_queue(q).await?;
        }
        return watch_all(&store, &args, output::mode(g.json)).await;
    };
    queue_of(id)?;
    let store = super::connect(g).await?;
    watch_job(&store, id, output::mode(g.json)).await
}

/// Follows one job until its attempt ends; the exit status says how.
pub async fn watch_job(store: &Store, id: &str, mode: output::Mode) -> Result<ExitStatus> {
    let mut tracker = Tracker::open(store, &[id.to_string()]).await?;
    let mut bar: Option<JobBar> = None;
    loop {
        let ev = tokio::select! {
            ev = tracker.next() => ev?,
            _ = tokio::signal::ctrl_c() => {
                if let Some(b) = &bar { b.pb.abandon() }
                return Ok(ExitStatus::Interrupted);
            }
        };
        let outcome = watch_outcome(&ev);
        match mode {
            output::Mode::Json => output::json_line(&ev)?,
            output::Mode::Plain => output::line(event_line(&ev))?,
            output::Mode::Live if outcome.is_some() => {
                if let Some(b) = bar.take() {
                    b.pb.finish_and_clear();
                }
                output::line(format!("{}  {}", label(&ev), describe(&ev)))?;
            }
            output::Mode::Live => {
                let b = bar.get_or_insert_with(|| JobBar::new(&ev, ProgressDrawTarget::stdout()));
                b.update(&ev);
            }
        }
        if let Some(status) = outcome {
            return Ok(status);
        }
    }
}

/// `export_csv …TYVP`: the type and the end of the id (its random, distinguishing part).
fn label(ev: &Event) -> String {
    let tail = &ev.id[ev.id.len().saturating_sub(6)..];
    format!("{} …{tail}", ev.job_type)
}

/// The bar of one running job.
struct JobBar {
    pb: ProgressBar,
    shape: Shape,
}

#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Waiting,
    Spinner,
    Steps,
    Percent,
}

const TICK: Duration = Duration::from_millis(120);

impl JobBar {
    fn new(ev: &Event, target: ProgressDrawTarget) -> JobBar {
        let pb = ProgressBar::with_draw_target(None, target);
        pb.set_prefix(label(ev));
        pb.enable_steady_tick(TICK);
        let mut bar = JobBar {
            pb,
            shape: Shape::Waiting,
        };
        bar.update(ev);
        bar
    }

    fn update(&mut self, ev: &Event) {
        if ev.state != State::Active {
            self.reshape(Shape::Waiting);
            self.pb.set_message(describe(ev));
            return;
        }
        if ev.event == "started" || self.shape == Shape::Waiting {
            // Elapsed time counts from the start of this attempt, not from when we looked.
            let since = (chrono::Utc::now().timestamp_millis() - ev.time).max(0) as u64;
            self.pb = self.pb.clone().with_elapsed(Duration::from_millis(since));
        }
        let p = ev.progress.clone().unwrap_or_default();
        let (shape, pos, len) = match (p.current, p.total, p.percent) {
            (Some(c), Some(t), _) if t > 0.0 => (Shape::Steps, c, t),
            (_, _, Some(pct)) => (Shape::Percent, pct, 100.0),
            (Some(c), None, None) => (Shape::Spinner, c, 0.0),
            _ => (Shape::Spinner, 0.0, 0.0),
        };
        self.reshape(shape);
        if len > 0.0 {
            self.pb.set_length(len.round() as u64);
        }
        self.pb.set_position(pos.round() as u64);
        let msg = p.message.unwrap_or_else(|| format!("attempt {}", ev.attempt));
        self.pb.set_message(msg);
    }

    fn reshape(&mut self, shape: Shape) {
        if self.shape == shape && shape != Shape::Waiting {
            return;
        }
        self.shape = shape;
        let template = match shape {
            Shape::Waiting => "{prefix}  {spinner} {msg}",
            Shape::Spinner => "{prefix}  {spinner} {pos}  {msg}  {elapsed_precise}",
            Shape::Steps => {
                "{prefix}  [{bar:25}] {percent:>3}%  {pos}/{len}  {msg}  {elapsed_precise} (eta {eta_precise})"
            }
            Shape::Percent => "{prefix}  [{bar:25}] {pos:>3}%  {msg}  {elapsed_precise} (eta {eta_precise})",
        };
        let style = ProgressStyle::with_template(template)
            .expect("templates are static")
            .progress_chars("#>-");
        self.pb.set_style(style);
    }
}

/// How often `watch` without --queue looks for queues created since it started.
const NEW_QUEUES: Duration = Duration::from_secs(1);

/// Every running job of some queues, until Ctrl-C. Survives Redis restarts (it subscribes and
/// reads what runs again) and, without --queue, picks up queues created after it started.
async fn watch_all(store: &Store, args: &WatchArgs, mode: output::Mode) -> Result<ExitStatus> {
    let mut board = Board::new(mode, args.bars);
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    let mut told_empty = false;
    loop {
        let view = tokio::select! {
            v = outlast(|| View::open(store, args)) => v?,
            _ = &mut ctrl_c => {
                board.abandon();
                return Ok(ExitStatus::Interrupted);
            }
        };
        if view.queues.is_empty() && !told_empty {
            output::note(format!(
                "no queues in namespace `{}` yet; waiting for jobs",
                store.keys().namespace()
            ));
            told_empty = true;
        }
        let View {
            queues,
            mut sub,
            mut last,
            running,
        } = view;
        for ev in &running {
            board.show(ev, args)?;
        }
        let mut look = tokio::time::interval(NEW_QUEUES);
        loop {
            let next = async {
                match &mut sub {
                    Some(s) => s.next().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                ev = next => {
                    // None: the connection dropped; subscribe again and re-read what is running.
                    let Some(ev) = ev else { break };
                    let Some(seen) = last.get_mut(&ev.queue) else { continue };
                    if ev.is_after(seen) {
                        seen.clone_from(&ev.event_id);
                        board.show(&ev, args)?;
                    }
                }
                _ = look.tick(), if args.queues.is_empty() => {
                    // A new queue: start over with it. An error (Redis gone) starts over too:
                    // `outlast` says so and waits the outage out. Ignoring it would keep this
                    // arm busy retrying while the view said nothing.
                    match store.queue_names().await {
                        Ok(names) if names == queues => {}
                        _ => break,
                    }
                }
                _ = &mut ctrl_c => {
                    board.abandon();
                    return Ok(ExitStatus::Interrupted);
                }
            }
        }
    }
}

/// What `watch` without an id starts from: the subscription first, then the running jobs and
/// each queue's latest event id (events after it are news), so nothing falls in between.
struct View {
    queues: Vec<String>,
    sub: Option<Subscription>,
    last: HashMap<String, String>,
    running: Vec<Event>,
}

impl View {
    async fn open(store: &Store, args: &WatchArgs) -> Result<View> {
        let queues = if args.queues.is_empty() {
            store.queue_names().await?
        } else {
            args.queues.clone()
        };
        let sub = if queues.is_empty() {
            None
        } else {
            Some(store.subscribe(&queues).await?)
        };
        let mut last = HashMap::new();
        let mut running = Vec::new();
        for q in &queues {
            let (ids, last_id) = store.active_ids(q).await?;
            last.insert(q.clone(), last_id);
            for id in ids {
                if let Ok(job) = store.job(&id).await {
                    running.push(snapshot_event(&job));
                }
            }
        }
        Ok(View {
            queues,
            sub,
            last,
            running,
        })
    }
}

/// The screen of `watch` without an id: at most `cap` bars, the rest counted on a summary line.
struct Board {
    mode: output::Mode,
    cap: usize,
    mp: MultiProgress,
    summary: ProgressBar,
    bars: HashMap<String, JobBar>,
    /// Running jobs without a bar (over the cap).
    hidden: BTreeSet<String>,
    ended: HashMap<State, usize>,
    retrying: usize,
}

impl Board {
    fn new(mode: output::Mode, cap: usize) -> Board {
        let mp = MultiProgress::with_draw_target(ProgressDrawTarget::stdout());
        let summary = ProgressBar::hidden();
        if mode == output::Mode::Live {
            mp.add(summary.clone());
            summary.set_style(ProgressStyle::with_template("{msg}").expect("static template"));
        }
        let board = Board {
            mode,
            cap,
            mp,
            summary,
            bars: HashMap::new(),
            hidden: BTreeSet::new(),
            ended: HashMap::new(),
            retrying: 0,
        };
        board.summarise();
        board
    }

    fn show(&mut self, ev: &Event, args: &WatchArgs) -> Result<()> {
        if args.job_type.as_ref().is_some_and(|t| *t != ev.job_type) {
            return Ok(());
        }
        match self.mode {
            output::Mode::Json => output::json_line(ev),
            output::Mode::Plain => output::line(event_line(ev)),
            output::Mode::Live => {
                self.draw(ev);
                Ok(())
            }
        }
    }

    fn draw(&mut self, ev: &Event) {
        if ev.state == State::Active {
            if let Some(bar) = self.bars.get_mut(&ev.id) {
                bar.update(ev);
            } else if self.bars.len() < self.cap {
                self.hidden.remove(&ev.id);
                let bar = JobBar::new(ev, ProgressDrawTarget::hidden());
                let pb = self.mp.insert_before(&self.summary, bar.pb.clone());
                self.bars.insert(ev.id.clone(), JobBar { pb, ..bar });
            } else {
                self.hidden.insert(ev.id.clone());
            }
        } else if self.bars.contains_key(&ev.id) || self.hidden.remove(&ev.id) {
            // The attempt is over: its bar becomes a line above the bars.
            if let Some(bar) = self.bars.remove(&ev.id) {
                bar.pb.finish_and_clear();
                self.mp.remove(&bar.pb);
            }
            let _ = self.mp.println(format!("{}  {}", label(ev), describe(ev)));
            if ev.state.is_final() {
                *self.ended.entry(ev.state).or_default() += 1;
            } else if ev.event == "retry_scheduled" {
                self.retrying += 1;
            }
        }
        self.summarise();
    }

    fn summarise(&self) {
        let mut parts = vec![format!("{} running", self.bars.len() + self.hidden.len())];
        if !self.hidden.is_empty() {
            parts.push(format!("{} not shown", self.hidden.len()));
        }
        let n = |s: State| self.ended.get(&s).copied().unwrap_or(0);
        parts.push(format!(
            "since start: {} completed, {} retrying, {} dead, {} cancelled",
            n(State::Completed),
            self.retrying,
            n(State::Dead),
            n(State::Cancelled)
        ));
        self.summary.set_message(parts.join(" · "));
    }

    fn abandon(&self) {
        for bar in self.bars.values() {
            bar.pb.abandon();
        }
        self.summary.abandon();
    }
}
