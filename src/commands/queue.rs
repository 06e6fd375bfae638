//! `jobq queue rm QUEUE [--force]`: removes a queue that is done with (rules in cli.rs,
//! QUEUE_RM_EXAMPLES). Jobs go in the same atomic batches as `purge`; the last step is one
//! script that removes the queue's keys only if no job is left.

use jobq::cli::{GlobalArgs, QueueCommand, QueueRmArgs};
use jobq::error::{Error, Result};
use jobq::exit::ExitStatus;
use jobq::job::State;
use jobq::records::QueueRemoved;
use jobq::Store;

use crate::ops::bulk::{self, Answer, BATCH};
use crate::output;

pub async fn run(cmd: QueueCommand, g: &GlobalArgs) -> Result<ExitStatus> {
    match cmd {
        QueueCommand::Rm(args) => rm(args, g).await,
    }
}

async fn rm(args: QueueRmArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    let store = super::connect(g).await?;
    store.known_queue(&args.queue).await?;
    let q = &args.queue;
    let s = store.queue_stats(q).await?;
    if s.active > 0 {
        return Err(Error::Conflict(format!(
            "queue {q} has {} running jobs; cancel them or let them finish, then remove it",
            s.active
        )));
    }
    let pending = s.queued + s.scheduled + s.waiting + s.dead;
    if pending > 0 && !args.force {
        return Err(Error::Conflict(format!(
            "queue {q} still has {} queued, {} scheduled, {} waiting and {} dead jobs; \
             purge them (jobq purge {q} --state all) or add --force",
            s.queued, s.scheduled, s.waiting, s.dead
        )));
    }
    let total = pending + s.completed + s.cancelled;
    let question = if total == 0 {
        format!("Remove queue {q}?")
    } else {
        format!("Remove queue {q} and delete its {total} jobs?")
    };
    match bulk::confirm(question, args.yes.yes).await? {
        Answer::Yes => {}
        Answer::No => {
            output::note("nothing removed");
            return Ok(ExitStatus::Failure);
        }
        Answer::Interrupted => return Ok(ExitStatus::Interrupted),
    }
    let mut states = vec![State::Completed, State::Cancelled];
    if args.force {
        states.extend([State::Queued, State::Scheduled, State::Waiting, State::Dead]);
    }
    let deleted_jobs = delete_jobs(&store, q, &states).await?;
    // Releases of its ended jobs not yet applied to their children (a worker's crash) are
    // applied now: the children must not wait for a queue that is gone.
    store.release_dependents(q).await?;
    store.remove_queue(q).await?;
    let done = QueueRemoved {
        queue: q.clone(),
        deleted_jobs,
    };
    if g.json {
        output::json(&done)?;
    } else {
        output::line(format!("removed queue {q} ({deleted_jobs} jobs deleted)"))?;
    }
    Ok(ExitStatus::Success)
}

/// Deletes every job of `states` in batches (as `purge` does); returns how many.
async fn delete_jobs(store: &Store, queue: &str, states: &[State]) -> Result<u64> {
    let mut n = 0;
    for &state in states {
        loop {
            let b = store.purge_batch(queue, state, 0, BATCH, None).await?;
            n += b.done;
            if b.scanned < BATCH {
                break;
            }
        }
    }
    Ok(n)
}
