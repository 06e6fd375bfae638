//! Recurring jobs in Redis: definitions, states and the due set, all under the namespace tag
//! `{ns}` (one slot), changed only by the scripts beside this file. The tick times themselves
//! are computed in `crate::schedule::spec` (cron needs a real calendar).

use serde::{Deserialize, Serialize};

use super::scripts::SCRIPTS;
use super::Store;
use crate::error::{Error, Result};
use crate::schedule::spec::ScheduleDef;

/// Where a schedule stands, as kept in `{ns}:schedules:state` (written by the Lua scripts).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScheduleState {
    /// The next tick not yet enqueued (ms, server clock); `None` if it never ticks again.
    #[serde(rename = "next", default)]
    pub next_ms: Option<i64>,
    /// The last tick that was enqueued (ms).
    #[serde(rename = "last", default)]
    pub last_ms: Option<i64>,
    /// The job id of the last tick.
    #[serde(default)]
    pub last_job: Option<String>,
    /// Why the last tick's job could not be enqueued (e.g. its payload no longer matches the
    /// type's schema); the tick is skipped, not retried forever.
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub paused: bool,
    /// See `ScheduleDef::hold_ms`.
    #[serde(rename = "hold", default)]
    pub hold_ms: i64,
}

/// A schedule with its state.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub def: ScheduleDef,
    pub state: ScheduleState,
}

/// What [`Store::take_due_schedules`] handed this worker.
#[derive(Debug, Clone, Default)]
pub struct DueSchedules {
    /// The server's clock when they were taken (ms).
    pub now_ms: i64,
    /// The earliest time any schedule needs a look again (ms), `None` when there are none.
    pub earliest_ms: Option<i64>,
    pub due: Vec<Schedule>,
}

fn parse_state(raw: &str) -> Result<ScheduleState> {
    let mut s: ScheduleState =
        serde_json::from_str(raw).map_err(|e| Error::Redis(format!("unreadable schedule state ({e})")))?;
    // Lua writes empty strings for "none".
    s.last_job = s.last_job.filter(|j| !j.is_empty());
    s.last_error = s.last_error.filter(|j| !j.is_empty());
    Ok(s)
}

fn parse_def(raw: &str) -> Result<ScheduleDef> {
    serde_json::from_str(raw).map_err(|e| Error::Redis(format!("unreadable schedule definition ({e})")))
}

fn parse_score(s: &str) -> Option<i64> {
    s.parse::<f64>().ok().map(|f| f as i64)
}

fn not_found(name: &str, ns: &str) -> Error {
    Error::NotFound(format!(
        "no schedule named `{name}` in namespace `{ns}` (see `jobq schedule ls`)"
    ))
}

impl Store {
    fn schedule_keys(&self) -> [String; 3] {
        let k = self.keys();
        [k.schedules(), k.schedule_states(), k.schedules_due()]
    }

    /// Writes a schedule whose first tick is `first_ms`. Without `replace`, an existing
    /// schedule of that name is a `Conflict` and nothing is written. Returns `true` if it
    /// replaced one.
    pub async fn add_schedule(&self, def: &ScheduleDef, first_ms: i64, replace: bool) -> Result<bool> {
        let json = serde_json::to_string(def).map_err(|e| Error::Io(e.to_string()))?;
        let args = [
            def.name.clone(),
            json,
            first_ms.to_string(),
            def.hold_ms().to_string(),
            if replace { "1" } else { "0" }.to_string(),
        ];
        let reply: String = self
            .eval(&SCRIPTS.schedule_add, &self.schedule_keys(), &args)
            .await?;
        match reply.as_str() {
            "exists" => Err(Error::Conflict(format!(
                "a schedule named `{}` exists already; pass --replace to change it, or `jobq schedule rm {}` first",
                def.name, def.name
            ))),
            "replaced" => Ok(true),
            _ => Ok(false),
        }
    }

    /// Deletes a schedule (its jobs already enqueued stay). `false` if there was none.
    pub async fn remove_schedule(&self, name: &str) -> Result<bool> {
        let [defs, states, due] = self.schedule_keys();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("HDEL")
            .arg(&defs)
            .arg(name)
            .cmd("HDEL")
            .arg(&states)
            .arg(name)
            .ignore()
            .cmd("ZREM")
            .arg(&due)
            .arg(name)
            .ignore();
        let (n,): (i64,) = self
            .run(|mut conn| {
                let pipe = &pipe;
                async move { pipe.query_async(&mut conn).await }
            })
            .await?;
        Ok(n == 1)
    }

    /// Pauses (`resume_at: None`) or resumes a schedule, with its next tick at `resume_at`.
    /// `Ok(false)` if it already was in that state.
    pub async fn pause_schedule(&self, name: &str, resume_at: Option<i64>) -> Result<bool> {
        let k = self.keys();
        let args = [
            name.to_string(),
            if resume_at.is_some() { "resume" } else { "pause" }.to_string(),
            resume_at.unwrap_or(0).to_string(),
        ];
        let n: i64 = self
            .eval(
                &SCRIPTS.schedule_pause,
                &[k.schedule_states(), k.schedules_due()],
                &args,
            )
            .await?;
        if n < 0 {
            return Err(not_found(name, k.namespace()));
        }
        Ok(n == 1)
    }

    /// Every schedule, by name.
    pub async fn schedules(&self) -> Result<Vec<Schedule>> {
        let [defs, states, _] = self.schedule_keys();
        let mut pipe = redis::pipe();
        pipe.cmd("HGETALL").arg(&defs).cmd("HGETALL").arg(&states);
        type Reply = (
            std::collections::BTreeMap<String, String>,
            std::collections::HashMap<String, String>,
        );
        let (defs, states): Reply = self
            .run(|mut conn| {
                let pipe = &pipe;
                async move { pipe.query_async(&mut conn).await }
            })
            .await?;
        defs.iter()
            .map(|(name, def)| {
                let state = states
                    .get(name)
                    .map(|s| parse_state(s))
                    .transpose()?
                    .unwrap_or_default();
                Ok(Schedule {
                    def: parse_def(def)?,
                    state,
                })
            })
            .collect()
    }

    /// The names of all schedules.
    pub async fn schedule_names(&self) -> Result<Vec<String>> {
        self.query(redis::cmd("HKEYS").arg(self.keys().schedules())).await
    }

    /// One schedule; `NotFound` if there is none of that name.
    pub async fn schedule(&self, name: &str) -> Result<Schedule> {
        let [defs, states, _] = self.schedule_keys();
        let mut pipe = redis::pipe();
        pipe.cmd("HGET")
            .arg(&defs)
            .arg(name)
            .cmd("HGET")
            .arg(&states)
            .arg(name);
        let (def, state): (Option<String>, Option<String>) = self
            .run(|mut conn| {
                let pipe = &pipe;
                async move { pipe.query_async(&mut conn).await }
            })
            .await?;
        let def = def.ok_or_else(|| not_found(name, self.keys().namespace()))?;
        Ok(Schedule {
            def: parse_def(&def)?,
            state: state.map(|s| parse_state(&s)).transpose()?.unwrap_or_default(),
        })
    }

    /// Takes up to `max` due schedules for this worker (see schedule_due.lua), one command.
    pub async fn take_due_schedules(&self, max: usize) -> Result<DueSchedules> {
        let [defs, states, due] = self.schedule_keys();
        let (now_ms, earliest, taken): (i64, String, Vec<String>) = self
            .eval(&SCRIPTS.schedule_due, &[due, defs, states], &[max.to_string()])
            .await?;
        let mut out = DueSchedules {
            now_ms,
            earliest_ms: parse_score(&earliest),
            due: Vec::new(),
        };
        for t in taken.chunks(3) {
            if let [_, def, state] = t {
                // A definition this build cannot read is left alone (its hold runs out and
                // another worker may read it); the others are still served.
                if let (Ok(def), Ok(state)) = (parse_def(def), parse_state(state)) {
                    out.due.push(Schedule { def, state });
                }
            }
        }
        Ok(out)
    }

    /// Moves a schedule from tick `tick_ms` to `next_ms` after the tick's job was enqueued
    /// (`job` is its id) or refused (`error`). Returns whether this call advanced it (false:
    /// another worker did first) and the earliest score left.
    pub async fn commit_tick(
        &self,
        name: &str,
        tick_ms: i64,
        next_ms: Option<i64>,
        job: Option<&str>,
        error: Option<&str>,
    ) -> Result<(bool, Option<i64>)> {
        let k = self.keys();
        let args = [
            name.to_string(),
            tick_ms.to_string(),
            next_ms.map_or(String::new(), |n| n.to_string()),
            job.unwrap_or("").to_string(),
            error.unwrap_or("").to_string(),
        ];
        let (done, earliest): (i64, String) = self
            .eval(
                &SCRIPTS.schedule_commit,
                &[k.schedules_due(), k.schedule_states()],
                &args,
            )
            .await?;
        Ok((done == 1, parse_score(&earliest)))
    }
}
