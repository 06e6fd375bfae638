//! Which jobs a listing selects and one page of them, shared by `jobq ls`, `jobq dlq ls`,
//! the bulk commands' counts and `GET /api/jobs|dlq`. Jobs are read page by page from the
//! per-state lists and sets (never KEYS, never the whole set in memory: one page of ids and
//! hashes at a time). Pages go on after the last job listed, not from an index, so they do
//! not skip jobs when the queue moves (page.lua).

use std::collections::HashSet;

use jobq::cli::StateFilter;
use jobq::error::{Error, Result};
use jobq::job::{queue_of, validate_name, Job, State};
use jobq::records::Listing;
use jobq::store::PagePos;
use jobq::Store;

/// Listing order of states when `--state` is not given.
const ORDER: [State; 7] = State::LISTING_ORDER;

/// Ids read per round trip when scanning.
const PAGE: u64 = 500;

/// Which jobs a listing or a count selects.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub state: Option<StateFilter>,
    pub job_type: Option<String>,
}

impl Filter {
    pub fn new(state: Option<StateFilter>, job_type: Option<String>) -> Result<Filter> {
        if let Some(t) = &job_type {
            validate_name("type", t)?;
        }
        Ok(Filter { state, job_type })
    }

    fn states(&self) -> Vec<State> {
        self.state.map_or(ORDER.to_vec(), |s| vec![s.state().0])
    }

    /// `job` was read from the set of `state`; it counts if it is still there and matches.
    fn matches(&self, job: &Job, state: State) -> bool {
        self.matches_head(&(job.state, job.job_type.clone(), job.attempt), state)
    }

    /// The same test on a job's (state, type, attempt).
    fn matches_head(&self, (st, ty, attempt): &(State, String, u32), state: State) -> bool {
        let failed_only = self.state.is_some_and(|s| s.state().1);
        *st == state && (!failed_only || *attempt > 0) && self.job_type.as_ref().is_none_or(|t| t == ty)
    }

    /// "dead send_email jobs in queue high" for messages.
    pub fn describe(&self, queue: Option<&str>) -> String {
        let state = self
            .state
            .map_or(String::new(), |s| format!("{s:?} ").to_lowercase());
        let ty = self.job_type.as_ref().map_or(String::new(), |t| format!("{t} "));
        let q = queue.map_or("any queue".to_string(), |q| format!("queue {q}"));
        format!("{state}{ty}jobs in {q}")
    }
}

/// Where a page stopped: `<queue>:<state>:<score>:<id>` of the last job listed (the score is
/// empty for the queued list). Queue names and ids cannot contain `:`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    queue: String,
    state: State,
    pos: PagePos,
}

impl Cursor {
    fn parse(s: &str) -> Result<Cursor> {
        let bad = || Error::invalid(format!("--cursor {s:?} is not a cursor printed by `jobq ls`"));
        let parts: Vec<&str> = s.split(':').collect();
        let [q, st, score, id] = parts[..] else {
            return Err(bad());
        };
        validate_name("queue", q).map_err(|_| bad())?;
        let state: State = st.parse().map_err(|_| bad())?;
        // Only a queued job in the plain list has no score (a numbered one has its rank).
        if queue_of(id).ok() != Some(q) || (score.is_empty() && state != State::Queued) {
            return Err(bad());
        }
        if !score.is_empty() && score.parse::<f64>().is_err() {
            return Err(bad());
        }
        Ok(Cursor {
            queue: q.to_string(),
            state,
            pos: PagePos {
                id: id.to_string(),
                score: (!score.is_empty()).then(|| score.to_string()),
            },
        })
    }

    fn render(&self) -> String {
        let score = self.pos.score.as_deref().unwrap_or("");
        format!("{}:{}:{score}:{}", self.queue, self.state, self.pos.id)
    }
}

/// Checks `--limit` and `--cursor` (before connecting: a bad cursor must not wait on Redis).
pub fn check_page(limit: u64, cursor: Option<&str>) -> Result<Option<Cursor>> {
    if limit == 0 {
        return Err(Error::invalid("--limit must be at least 1"));
    }
    cursor.map(Cursor::parse).transpose()
}

/// One page of the jobs `filter` selects in `queue` (or every queue), from `cursor`: what
/// `jobq ls --json` prints and `GET /api/jobs` answers.
pub async fn page_of(
    store: &Store,
    queue: Option<&str>,
    filter: &Filter,
    limit: u64,
    cursor: Option<&str>,
) -> Result<Listing> {
    let cursor = check_page(limit, cursor)?;
    let queues = super::target_queues(store, queue).await?;
    list(store, &queues, filter, limit, cursor).await
}

async fn list(
    store: &Store,
    queues: &[String],
    filter: &Filter,
    limit: u64,
    cursor: Option<Cursor>,
) -> Result<Listing> {
    let mut jobs = Vec::new();
    // A job cancelled while queued and then retried is in the queued list twice.
    let mut seen = HashSet::new();
    let mut from = cursor;
    let rank = |s: State| ORDER.iter().position(|o| *o == s);
    let mut last: Option<Cursor> = None;
    for queue in queues {
        if from.as_ref().is_some_and(|c| *queue < c.queue) {
            continue;
        }
        for state in filter.states() {
            let mut after = None;
            if let Some(c) = &from {
                if c.queue == *queue && rank(state) < rank(c.state) {
                    continue;
                }
                if c.queue == *queue && c.state == state {
                    after = Some(c.pos.clone());
                }
            }
            from = None;
            loop {
                let want = limit.saturating_sub(jobs.len() as u64).clamp(20, PAGE);
                let positions = store.page_after(queue, state, after.as_ref(), want).await?;
                let ids: Vec<String> = positions.iter().map(|p| p.id.clone()).collect();
                let page = store.jobs(queue, &ids).await?;
                for (pos, job) in positions.iter().zip(page) {
                    if jobs.len() as u64 == limit {
                        // More jobs follow: the cursor names the last one examined.
                        return Ok(Listing {
                            jobs,
                            next_cursor: last.map(|c| c.render()),
                        });
                    }
                    after = Some(pos.clone());
                    last = Some(Cursor {
                        queue: queue.clone(),
                        state,
                        pos: pos.clone(),
                    });
                    let Some(job) = job else { continue };
                    if filter.matches(&job, state) && (state != State::Queued || seen.insert(job.id.clone()))
                    {
                        jobs.push(job);
                    }
                }
                if (positions.len() as u64) < want {
                    break;
                }
            }
        }
    }
    Ok(Listing {
        jobs,
        next_cursor: None,
    })
}

/// How many jobs of `queue` match `filter`: the size of the set when only the state matters,
/// otherwise a paged scan of states and types (nothing kept, no payloads read).
pub async fn count(store: &Store, queue: &str, filter: &Filter) -> Result<u64> {
    if let (Some(sf), None) = (filter.state, &filter.job_type) {
        if let Some(n) = state_count(store, queue, sf).await? {
            return Ok(n);
        }
    }
    let mut n = 0;
    for state in filter.states() {
        let mut index = 0;
        loop {
            let ids = store.page_ids(queue, state, index, PAGE).await?;
            let heads = store.job_heads(queue, &ids).await?;
            n += heads
                .iter()
                .flatten()
                .filter(|h| filter.matches_head(h, state))
                .count() as u64;
            if (ids.len() as u64) < PAGE {
                break;
            }
            index += PAGE;
        }
    }
    Ok(n)
}

/// The number of jobs in a state, from `stats`, when no scan is needed.
async fn state_count(store: &Store, queue: &str, sf: StateFilter) -> Result<Option<u64>> {
    let s = store.queue_stats(queue).await?;
    Ok(match sf {
        StateFilter::Queued => Some(s.queued),
        StateFilter::Waiting => Some(s.waiting),
        StateFilter::Scheduled => Some(s.scheduled),
        StateFilter::Active => Some(s.active),
        StateFilter::Dead => Some(s.dead),
        StateFilter::Cancelled => Some(s.cancelled),
        StateFilter::Completed => Some(s.completed),
        StateFilter::Failed => None,
    })
}
