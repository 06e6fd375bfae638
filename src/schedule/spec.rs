//! What a recurring job is (its timing and the job it enqueues) and when it next ticks.
//! Pure code: the scheduler and `jobq schedule` both compute tick times here, on the Redis
//! server's clock passed in as milliseconds, so every worker agrees on them.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::job;
use crate::store::NewJob;

/// Shortest `--every`: shorter periods belong in a worker loop, not in a schedule.
pub const MIN_EVERY: Duration = Duration::from_secs(1);
/// Longest hold a worker keeps on a due schedule before another may take it over (see
/// [`ScheduleDef::hold_ms`]).
const MAX_HOLD_MS: i64 = 10_000;
const MIN_HOLD_MS: i64 = 250;

/// When a schedule ticks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Timing {
    /// Standard 5-field cron (or `@hourly`-style shortcut) in a time zone (IANA name, default UTC).
    Cron { expr: String, tz: String },
    /// A fixed period in milliseconds, anchored at the time the schedule was added (no drift).
    Every { ms: u64 },
}

/// A schedule as stored in Redis (`{ns}:schedules`, JSON) and printed by `schedule ls --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleDef {
    pub name: String,
    #[serde(flatten)]
    pub timing: Timing,
    /// For `--every`: the first tick (ms); later ticks are `anchor + k * period`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor_ms: Option<i64>,
    #[serde(rename = "type")]
    pub job_type: String,
    pub payload: serde_json::Value,
    /// `None`: the job is routed by its type (`jobq route`), else `normal`.
    pub queue: Option<String>,
    pub max_attempts: u32,
    pub timeout_ms: Option<u64>,
    /// Numbered priority of its jobs within their queue (`--priority 1..10`); `None` is 5.
    /// Absent from definitions stored before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
}

/// Parses a cron expression the way jobq accepts it: 5 fields (minute hour day-of-month month
/// day-of-week, Vixie semantics: day-of-month OR day-of-week) or `@yearly`, `@annually`,
/// `@monthly`, `@weekly`, `@daily`, `@hourly`. Seconds and years are refused: they are not
/// standard cron and a typo would tick 60 times more often than meant.
pub fn parse_cron(expr: &str) -> Result<Cron> {
    let parser = CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build();
    parser.parse(expr).map_err(|e| {
        Error::invalid(format!(
            "--cron {expr:?} is not a valid cron expression ({e}); use 5 fields, e.g. \"*/15 * * * *\", or @hourly, @daily, @weekly, @monthly, @yearly"
        ))
    })
}

pub fn parse_tz(tz: &str) -> Result<Tz> {
    Tz::from_str(tz).map_err(|_| {
        Error::invalid(format!(
            "--tz {tz:?} is not a known time zone; use an IANA name such as Europe/Berlin or America/New_York"
        ))
    })
}

impl ScheduleDef {
    /// Checks everything but the clock: names, timing, job options (the job is built and
    /// validated like any other).
    pub fn validate(&self) -> Result<()> {
        job::validate_name("schedule", &self.name)?;
        match &self.timing {
            Timing::Cron { expr, tz } => {
                parse_cron(expr)?;
                parse_tz(tz)?;
            }
            Timing::Every { ms } => {
                if *ms < MIN_EVERY.as_millis() as u64 {
                    return Err(Error::invalid(format!(
                        "--every must be at least {}",
                        crate::duration::human(MIN_EVERY)
                    )));
                }
            }
        }
        self.job(None).validate()
    }

    /// The first tick strictly after `after_ms`; `None` if there is none (e.g. `0 0 30 2 *`).
    pub fn next_after(&self, after_ms: i64) -> Option<i64> {
        match &self.timing {
            Timing::Every { ms } => {
                let period = *ms as i64;
                let anchor = self.anchor_ms.unwrap_or(after_ms + period);
                if after_ms < anchor {
                    return Some(anchor);
                }
                Some(anchor + ((after_ms - anchor) / period + 1) * period)
            }
            Timing::Cron { expr, tz } => {
                let cron = parse_cron(expr).ok()?;
                let tz = parse_tz(tz).ok()?;
                let after = tz.from_utc_datetime(&Utc.timestamp_millis_opt(after_ms).single()?.naive_utc());
                // croner finds the next wall-clock match at or after a second; asking from the
                // next whole second keeps "strictly after" exact for millisecond inputs.
                let start = after + chrono::Duration::milliseconds(1000 - after_ms.rem_euclid(1000));
                let next = cron.find_next_occurrence(&start, true).ok()?;
                Some(next.with_timezone(&Utc).timestamp_millis())
            }
        }
    }

    /// How long a worker that took this schedule's due tick holds it before another worker
    /// may take over (a worker killed mid-tick): half the period, so a takeover still lands
    /// before the next tick, within [250 ms, 10 s]. A slow but live holder racing a takeover
    /// is harmless: both enqueue the same job id, and only one advances the schedule.
    pub fn hold_ms(&self) -> i64 {
        let period = match &self.timing {
            Timing::Every { ms } => *ms as i64,
            Timing::Cron { .. } => 60_000, // cron's shortest period
        };
        (period / 2).clamp(MIN_HOLD_MS, MAX_HOLD_MS)
    }

    /// The job this schedule enqueues; with `tick_ms`, under the tick's deterministic id.
    pub fn job(&self, tick_ms: Option<i64>) -> NewJob {
        let mut new = match &self.queue {
            Some(q) => NewJob::new(&self.job_type, q, &self.payload),
            None => NewJob::routed(&self.job_type, &self.payload),
        };
        new.max_attempts = self.max_attempts;
        new.timeout = self.timeout_ms.map(Duration::from_millis);
        new.priority = self.priority;
        new.id = tick_ms.map(|t| {
            TickId {
                schedule: &self.name,
                tick_ms: t,
            }
            .for_queue(&new.queue)
        });
        new
    }

    /// Human form of the timing for tables.
    pub fn describe(&self) -> String {
        match &self.timing {
            Timing::Cron { expr, tz } if tz == "UTC" => format!("cron {expr}"),
            Timing::Cron { expr, tz } => format!("cron {expr} ({tz})"),
            Timing::Every { ms } => format!("every {}", crate::duration::human(Duration::from_millis(*ms))),
        }
    }
}

/// The id of the job of one tick: `<queue>-<ULID>` with the tick time as the ULID's time and
/// a hash of the schedule name as its random part. Enqueue is idempotent for a given id, so a
/// worker that repeats a tick another worker crashed in the middle of finds the same job
/// instead of adding a second one (exactly one job per tick).
pub struct TickId<'a> {
    pub schedule: &'a str,
    pub tick_ms: i64,
}

impl TickId<'_> {
    pub fn for_queue(&self, queue: &str) -> String {
        let ulid = ulid::Ulid::from_parts(self.tick_ms.max(0) as u64, fnv1a_80(self.schedule.as_bytes()));
        format!("{queue}-{ulid}")
    }
}

/// The schedule (one of `names`) and tick time a job id was made for, if it is a tick's id.
/// (A random id has 80 random bits: it matches a schedule name's hash by chance with
/// probability 2^-80 per name.)
pub fn tick_of(id: &str, names: &[String]) -> Option<(String, i64)> {
    let (_, ulid) = id.rsplit_once('-')?;
    let ulid = ulid::Ulid::from_string(ulid).ok()?;
    names
        .iter()
        .find(|n| fnv1a_80(n.as_bytes()) == ulid.random())
        .map(|n| (n.clone(), ulid.timestamp_ms() as i64))
}

/// 128-bit FNV-1a folded to the 80 random bits of a ULID: stable across builds and platforms
/// (unlike `std`'s hasher), which the deterministic ids need.
fn fnv1a_80(bytes: &[u8]) -> u128 {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    let mut h = OFFSET;
    for b in bytes {
        h ^= *b as u128;
        h = h.wrapping_mul(PRIME);
    }
    (h ^ (h >> 80)) & ((1u128 << 80) - 1)
}

/// Renders a tick time for humans in the schedule's zone (UTC for `--every`).
pub fn show_time(def: &ScheduleDef, ms: i64) -> String {
    let Some(t) = Utc.timestamp_millis_opt(ms).single() else {
        return "-".into();
    };
    match &def.timing {
        Timing::Cron { tz, .. } if tz != "UTC" => match parse_tz(tz) {
            Ok(z) => t.with_timezone(&z).format("%Y-%m-%d %H:%M:%S %Z").to_string(),
            Err(_) => fmt_utc(t),
        },
        _ => fmt_utc(t),
    }
}

fn fmt_utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cron(expr: &str, tz: &str) -> ScheduleDef {
        ScheduleDef {
            name: "s".into(),
            timing: Timing::Cron {
                expr: expr.into(),
                tz: tz.into(),
            },
            anchor_ms: None,
            job_type: "t".into(),
            payload: serde_json::json!({}),
            queue: None,
            max_attempts: 5,
            timeout_ms: None,
            priority: None,
        }
    }

    fn ms(rfc3339: &str) -> i64 {
        DateTime::parse_from_rfc3339(rfc3339).unwrap().timestamp_millis()
    }

    fn ticks(def: &ScheduleDef, from: &str, n: usize) -> Vec<String> {
        let mut at = ms(from);
        let mut out = Vec::new();
        for _ in 0..n {
            at = def.next_after(at).unwrap();
            out.push(Utc.timestamp_millis_opt(at).unwrap().to_rfc3339());
        }
        out
    }

    #[test]
    fn daily_job_keeps_its_wall_clock_time_across_both_dst_changes() {
        // Europe/Berlin: CET (+01) -> CEST (+02) on 2026-03-29, back on 2026-10-25.
        let d = cron("30 9 * * *", "Europe/Berlin");
        assert_eq!(
            ticks(&d, "2026-03-27T12:00:00Z", 3),
            [
                "2026-03-28T08:30:00+00:00",
                "2026-03-29T07:30:00+00:00",
                "2026-03-30T07:30:00+00:00"
            ]
        );
        assert_eq!(
            ticks(&d, "2026-10-24T12:00:00Z", 2),
            ["2026-10-25T08:30:00+00:00", "2026-10-26T08:30:00+00:00"]
        );
    }

    #[test]
    fn a_time_skipped_by_spring_forward_runs_once_right_after_the_gap() {
        // 02:30 does not exist in Berlin on 2026-03-29 (02:00 -> 03:00 CEST = 01:00Z).
        let d = cron("30 2 * * *", "Europe/Berlin");
        assert_eq!(
            ticks(&d, "2026-03-28T12:00:00Z", 2),
            ["2026-03-29T01:00:00+00:00", "2026-03-30T00:30:00+00:00"]
        );
    }

    #[test]
    fn a_time_repeated_by_fall_back_runs_once() {
        // 02:30 happens twice in Berlin on 2026-10-25 (00:30Z in CEST, 01:30Z in CET).
        let d = cron("30 2 * * *", "Europe/Berlin");
        assert_eq!(
            ticks(&d, "2026-10-24T12:00:00Z", 2),
            ["2026-10-25T00:30:00+00:00", "2026-10-26T01:30:00+00:00"]
        );
    }

    #[test]
    fn hourly_keeps_real_hours_through_the_repeated_hour() {
        // Every hour in real time, also through the repeated 02:xx of fall-back.
        let d = cron("@hourly", "Europe/Berlin");
        assert_eq!(
            ticks(&d, "2026-10-24T23:30:00Z", 4),
            [
                "2026-10-25T00:00:00+00:00",
                "2026-10-25T01:00:00+00:00",
                "2026-10-25T02:00:00+00:00",
                "2026-10-25T03:00:00+00:00"
            ]
        );
    }

    #[test]
    fn next_is_strictly_after() {
        let d = cron("*/15 * * * *", "UTC");
        assert_eq!(
            d.next_after(ms("2026-01-01T00:15:00Z")),
            Some(ms("2026-01-01T00:30:00Z"))
        );
        assert_eq!(
            d.next_after(ms("2026-01-01T00:14:59.999Z")),
            Some(ms("2026-01-01T00:15:00Z"))
        );
        let mut e = cron("x", "UTC");
        e.timing = Timing::Every { ms: 1000 };
        e.anchor_ms = Some(10_000);
        assert_eq!(e.next_after(9_999), Some(10_000));
        assert_eq!(e.next_after(10_000), Some(11_000));
        assert_eq!(e.next_after(15_500), Some(16_000));
    }

    #[test]
    fn bad_expressions_and_zones_are_rejected_with_the_reason() {
        for bad in [
            "",
            "* * * *",
            "0 * * * * *",
            "61 * * * *",
            "@every 5m",
            "* * 32 * *",
        ] {
            let e = cron(bad, "UTC").validate().unwrap_err().to_string();
            assert!(e.contains("not a valid cron expression"), "{bad:?}: {e}");
        }
        let e = cron("@daily", "Mars/Olympus").validate().unwrap_err().to_string();
        assert!(e.contains("not a known time zone"), "{e}");
        for good in [
            "@hourly",
            "@daily",
            "@weekly",
            "@monthly",
            "@yearly",
            "@annually",
            "0 9 * * MON-FRI",
        ] {
            cron(good, "UTC").validate().unwrap();
        }
        assert_eq!(cron("0 0 30 2 *", "UTC").next_after(0), None);
    }

    #[test]
    fn tick_ids_are_stable_and_distinct() {
        let a = TickId {
            schedule: "backup",
            tick_ms: 1_700_000_000_000,
        };
        let b = TickId {
            schedule: "backup",
            tick_ms: 1_700_000_060_000,
        };
        let c = TickId {
            schedule: "cleanup",
            tick_ms: 1_700_000_000_000,
        };
        assert_eq!(a.for_queue("normal"), a.for_queue("normal"));
        assert_ne!(a.for_queue("normal"), b.for_queue("normal"));
        assert_ne!(a.for_queue("normal"), c.for_queue("normal"));
        assert_eq!(job::queue_of(&a.for_queue("low")).unwrap(), "low");
        let names = vec!["cleanup".to_string(), "backup".to_string()];
        assert_eq!(
            tick_of(&a.for_queue("low"), &names),
            Some(("backup".to_string(), 1_700_000_000_000))
        );
        assert_eq!(tick_of(&job::new_job_id("low"), &names), None);
    }
}
