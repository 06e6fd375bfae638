//! Finished jobs about to expire from Redis before `jobq archive` copied them. Only queues an
//! archiver has worked on are checked (it records its positions through the store).

use super::{Finding, Level};
use crate::duration::human;
use crate::error::{Error, Result};
use crate::store::{Backlog, Store};

/// Warn once the oldest job not yet archived has spent this share of its time in Redis:
/// relative, because doctor cannot know the workers' `--retention`.
const WARN_AT: f64 = 0.5;

fn ms(v: i64) -> String {
    human(std::time::Duration::from_millis(v.max(0) as u64))
}

/// The job closest to expiring, with its time left, if it is past [`WARN_AT`] of its life.
fn at_risk(backlog: &[Backlog], now: i64) -> Option<(&Backlog, i64)> {
    backlog
        .iter()
        .filter_map(|b| {
            let ttl = b.oldest_ttl_ms?;
            let age = now - b.oldest_ms?;
            let life = ttl + age;
            (life > 0 && age as f64 >= WARN_AT * life as f64).then_some((b, ttl))
        })
        .min_by_key(|(_, ttl)| *ttl)
}

/// The archive check of `queue`; a Redis user that may not run it gets a warning saying so
/// rather than a failed doctor.
pub(super) async fn check(store: &Store, queue: &str) -> Result<Option<Finding>> {
    match check_queue(store, queue).await {
        Err(Error::Auth(e)) | Err(Error::Redis(e)) => Ok(Some(Finding::new(
            Level::Warning,
            &format!("queue {queue}: archive"),
            format!("cannot check: {e}"),
        ))),
        other => other,
    }
}

async fn check_queue(store: &Store, queue: &str) -> Result<Option<Finding>> {
    let Some(mark) = store.archive_mark(queue).await? else {
        return Ok(None);
    };
    let (now, backlog) = store.archive_backlog(queue, &mark.cursors).await?;
    let check = format!("queue {queue}: archive");
    let waiting: u64 = backlog.iter().map(|b| b.count).sum();
    let reported = format!("the archiver last reported {} ago", ms(now - mark.at_ms));
    let advice = "make sure `jobq archive --to URL` is running (or its cron job), and keeping up";
    if let Some((b, ttl)) = at_risk(&backlog, now) {
        let f = Finding::new(
            Level::Warning,
            &check,
            format!(
                "{waiting} finished job(s) not archived yet; the oldest {} one expires from Redis in {} ({reported})",
                b.state,
                ms(ttl)
            ),
        );
        return Ok(Some(f.advice(advice)));
    }
    if let Some(b) = backlog.iter().find(|b| b.oldest_gone) {
        let f = Finding::new(
            Level::Warning,
            &check,
            format!(
                "{waiting} finished job(s) not archived yet, and the oldest {} one already expired from Redis ({reported})",
                b.state
            ),
        );
        return Ok(Some(f.advice(advice)));
    }
    Ok(Some(Finding::new(
        Level::Ok,
        &check,
        format!("{waiting} finished job(s) not archived yet; none close to expiring ({reported})"),
    )))
}
