use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use jobq::cli::{GlobalArgs, TailArgs};
use jobq::error::{Error, Result};
use jobq::exit::ExitStatus;
use jobq::job::validate_name;
use jobq::store::{stream_pos, Event};
use jobq::Store;

use super::follow::event_line;
use crate::output;

/// Events printed without --since.
const DEFAULT_LINES: usize = 10;
/// With --type, how far back (per queue) to look for the last matching events.
const TYPE_SCAN: usize = 1000;
const PAGE: usize = 1000;
/// How long one blocking read waits before it is renewed (keeps dead connections noticed).
const BLOCK: Duration = Duration::from_secs(5);
/// How often `--follow` without --queue looks for queues created since it started.
const NEW_QUEUES: Duration = Duration::from_secs(1);

enum Since {
    Ago(Duration),
    After(String),
}

pub async fn run(args: TailArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    for q in &args.queues {
        validate_name("queue", q)?;
    }
    if let Some(t) = &args.job_type {
        validate_name("type", t)?;
    }
    let since = args.since.as_deref().map(parse_since).transpose()?;
    let store = Arc::new(super::connect(g).await?);
    // An unknown queue is an error (exit 3), as in ls, stats, watch and dlq: following a typo
    // would wait forever.
    for q in &args.queues {
        store.known_queue(q).await?;
    }
    let queues = if args.queues.is_empty() {
        store.queue_names().await?
    } else {
        args.queues.clone()
    };
    let (events, after) = replay(&store, &queues, since, args.job_type.as_deref()).await?;
    if events.is_empty() && !args.follow {
        output::note("no events in the stream (about the last 10000 events of each queue are kept)");
    }
    let printer = Printer {
        json: g.json,
        job_type: args.job_type.clone(),
    };
    for ev in &events {
        printer.print(ev)?;
    }
    if !args.follow {
        return Ok(ExitStatus::Success);
    }
    follow(store, after, &printer, args.queues.is_empty()).await
}

/// `10m` (a duration) or `1763850000000-0` (an event id, as printed by `tail --json`).
fn parse_since(text: &str) -> Result<Since> {
    let is_id = text
        .split_once('-')
        .is_some_and(|(ms, seq)| ms.parse::<u64>().is_ok() && seq.parse::<u64>().is_ok());
    if is_id {
        return Ok(Since::After(text.to_string()));
    }
    jobq::duration::parse(text).map(Since::Ago).map_err(|e| {
        Error::invalid(format!(
            "--since {text:?}: {e}; or give an event id like 1763850000000-0"
        ))
    })
}

struct Printer {
    json: bool,
    job_type: Option<String>,
}

impl Printer {
    fn wants(&self, ev: &Event) -> bool {
        self.job_type.as_ref().is_none_or(|t| *t == ev.job_type)
    }

    fn print(&self, ev: &Event) -> Result<()> {
        if !self.wants(ev) {
            return Ok(());
        }
        if self.json {
            output::json_line(ev)
        } else {
            output::line(event_line(ev))
        }
    }
}

/// Reads the past from the streams: returns the events, oldest first, and per queue the id
/// after which following must go on (the last entry read, or the stream's end).
async fn replay(
    store: &Store,
    queues: &[String],
    since: Option<Since>,
    job_type: Option<&str>,
) -> Result<(Vec<Event>, HashMap<String, String>)> {
    let mut after = HashMap::new();
    let mut events = Vec::new();
    let start = match since {
        None => return last_events(store, queues, job_type).await,
        Some(Since::After(id)) => id,
        Some(Since::Ago(d)) => {
            let from = store.server_time_ms().await?.saturating_sub(d.as_millis() as u64);
            // Exclusive: the last possible id of the millisecond before `from`.
            format!("{}-{}", from.saturating_sub(1), u64::MAX)
        }
    };
    for q in queues {
        if let Some(oldest) = store.events_trimmed_after(q, &start).await? {
            let at =
                jobq::job::millis_to_time(stream_pos(&oldest).0 as i64).map_or(oldest.clone(), output::when);
            output::note(format!(
                "queue {q}: the range asked for starts before the oldest event kept ({at}); \
                 older events were trimmed (about the last {} events of each queue are kept)",
                jobq::store::EVENTS_MAXLEN
            ));
        }
        let mut last = start.clone();
        loop {
            let page = store.events_after(q, &last, PAGE).await?;
            let Some(newest) = page.last() else { break };
            last.clone_from(&newest.event_id);
            events.extend(page);
        }
        after.insert(q.clone(), last);
    }
    events.sort_by_key(|e| stream_pos(&e.event_id));
    Ok((events, after))
}

/// The last [`DEFAULT_LINES`] events (of `job_type`) over all queues.
async fn last_events(
    store: &Store,
    queues: &[String],
    job_type: Option<&str>,
) -> Result<(Vec<Event>, HashMap<String, String>)> {
    let scan = if job_type.is_some() {
        TYPE_SCAN
    } else {
        DEFAULT_LINES
    };
    let mut after = HashMap::new();
    let mut events = Vec::new();
    for q in queues {
        let recent = store.events_last(q, scan).await?;
        let newest = recent
            .last()
            .map_or_else(|| "0-0".to_string(), |e| e.event_id.clone());
        after.insert(q.clone(), newest);
        events.extend(
            recent
                .into_iter()
                .filter(|e| job_type.is_none_or(|t| t == e.job_type)),
        );
    }
    events.sort_by_key(|e| stream_pos(&e.event_id));
    let skip = events.len().saturating_sub(DEFAULT_LINES);
    Ok((events.split_off(skip), after))
}

/// Follows every queue's stream from where the replay stopped: `XREAD` from the last id seen
/// returns exactly the entries after it, so nothing is missed or printed twice at the seam.
/// One reader per queue, each on its own connection (the streams may live on different
/// cluster nodes). With `discover` (no --queue given), queues created later are followed too,
/// from their first event.
async fn follow(
    store: Arc<Store>,
    after: HashMap<String, String>,
    printer: &Printer,
    discover: bool,
) -> Result<ExitStatus> {
    let (tx, mut rx) = mpsc::channel::<Result<Event>>(1024);
    let mut known: std::collections::HashSet<String> = after.keys().cloned().collect();
    for (queue, last) in after {
        tokio::spawn(follow_queue(store.clone(), queue, last, tx.clone()));
    }
    let mut look = tokio::time::interval(NEW_QUEUES);
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Some(ev) => printer.print(&ev?)?,
                None => return Ok(ExitStatus::Success),
            },
            _ = look.tick(), if discover => {
                // An outage shows in the readers; here it only delays the discovery.
                for queue in store.queue_names().await.unwrap_or_default() {
                    if known.insert(queue.clone()) {
                        tokio::spawn(follow_queue(store.clone(), queue, "0-0".into(), tx.clone()));
                    }
                }
            }
            _ = &mut ctrl_c => return Ok(ExitStatus::Interrupted),
        }
    }
}

async fn follow_queue(store: Arc<Store>, queue: String, mut last: String, tx: mpsc::Sender<Result<Event>>) {
    let mut conn = match store.blocking_connection().await {
        Ok(c) => c,
        Err(e) => return drop(tx.send(Err(e)).await),
    };
    loop {
        match store.events_follow(&mut conn, &queue, &last, BLOCK).await {
            Ok(events) => {
                for ev in events {
                    last.clone_from(&ev.event_id);
                    if tx.send(Ok(ev)).await.is_err() {
                        return;
                    }
                }
            }
            Err(_) => match reconnect(&store).await {
                // The last id is kept: reading on from it leaves no gap.
                Ok(c) => conn = c,
                Err(e) => return drop(tx.send(Err(e)).await),
            },
        }
    }
}

/// A new connection for the reader, waiting out a Redis that is restarting.
async fn reconnect(store: &Store) -> Result<jobq::store::Conn> {
    // A failed read right after a good one: give the server a moment before the first try.
    tokio::time::sleep(Duration::from_millis(200)).await;
    super::follow::outlast(|| store.blocking_connection()).await
}
