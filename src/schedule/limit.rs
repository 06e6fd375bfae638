//! Per-queue flow control (`jobq limit`): a rate limit and a concurrency cap that hold across
//! every worker of the queue. Definitions and parsing here; storage and enforcement in the
//! store (src/store/limits.rs, fetch.lua).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Largest N of `--rate N/...` and `--concurrency N`.
pub const MAX_LIMIT: u32 = 1_000_000;

/// `N/s`, `N/m` or `N/h`: at most N job starts per period on average. The bucket holds N
/// starts, so an idle queue may start up to N at once, then N per period (a token bucket on
/// the Redis clock, refilled continuously).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub jobs: u32,
    /// The period in milliseconds: 1000, 60000 or 3600000.
    pub per_ms: u64,
}

impl Rate {
    fn unit(&self) -> &'static str {
        match self.per_ms {
            1000 => "s",
            60_000 => "m",
            _ => "h",
        }
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.jobs, self.unit())
    }
}

impl FromStr for Rate {
    type Err = Error;

    fn from_str(s: &str) -> Result<Rate> {
        let bad = || {
            Error::invalid(format!(
                "--rate {s:?} must look like N/s, N/m or N/h with N from 1 to {MAX_LIMIT} (e.g. 10/s)"
            ))
        };
        let (n, unit) = s.split_once('/').ok_or_else(bad)?;
        let jobs = n
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(bad)?;
        let per_ms = match unit {
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            _ => return Err(bad()),
        };
        Ok(Rate { jobs, per_ms })
    }
}

impl Serialize for Rate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Rate, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The limits of one queue, as `jobq limit set` stores them and `limit ls --json` prints them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limit {
    pub queue: String,
    /// Job starts per period, across all workers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Rate>,
    /// Jobs of the queue running at once, across all workers (leased jobs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
}

impl Limit {
    /// Checks a limit before anything is written.
    pub fn validate(&self) -> Result<()> {
        crate::job::validate_name("queue", &self.queue)?;
        if self.rate.is_none() && self.concurrency.is_none() {
            return Err(Error::invalid(
                "give --rate N/s|N/m|N/h, --concurrency N or both (`jobq limit rm QUEUE` removes a limit)",
            ));
        }
        if let Some(c) = self.concurrency {
            if c == 0 || c > MAX_LIMIT {
                return Err(Error::invalid(format!(
                    "--concurrency must be between 1 and {MAX_LIMIT}, not {c}"
                )));
            }
        }
        Ok(())
    }

    /// The short form the tables show: `10/s, 4 at once`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(r) = self.rate {
            parts.push(r.to_string());
        }
        if let Some(c) = self.concurrency {
            parts.push(format!("{c} at once"));
        }
        parts.join(", ")
    }
}

/// A limit and what it does right now (`limit ls`, `stats`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitStatus {
    #[serde(flatten)]
    pub limit: Limit,
    /// Jobs of the queue holding a live lease (what the concurrency cap counts).
    pub running: u64,
    /// Starts the rate limit allows right now (whole tokens in the bucket); absent without a rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<u64>,
    /// The queue has work the limit holds back: the cap is reached or the bucket is empty.
    pub throttled: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_and_print_back() {
        for s in ["1/s", "10/m", "1000000/h"] {
            assert_eq!(s.parse::<Rate>().unwrap().to_string(), s);
        }
        for bad in [
            "",
            "10",
            "0/s",
            "-1/s",
            "10/d",
            "1.5/s",
            "10/ s",
            "2000000/s",
            "/s",
        ] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
    }
}
