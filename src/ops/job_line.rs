//! One job as a JSON line: a line of `jobq enqueue --batch` and the body of `POST /api/jobs`.

use jobq::cli::PriorityArg;
use jobq::error::{Error, Result};
use jobq::{duration, NewJob};
use serde::Deserialize;

/// One line of a batch file. Absent fields take the command line's values (or defaults).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    #[serde(rename = "type")]
    job_type: String,
    #[serde(alias = "data")]
    payload: Option<serde_json::Value>,
    queue: Option<String>,
    /// "high", "normal", "low" (a queue) or a number 1-10 (order within the queue).
    priority: Option<serde_json::Value>,
    delay: Option<String>,
    at: Option<String>,
    max_attempts: Option<u32>,
    timeout: Option<String>,
    unique_key: Option<String>,
    /// `enqueue --expires` / `--expires-at` of this line.
    expires: Option<String>,
    expires_at: Option<String>,
    /// Parent job ids (`enqueue --after`), and `--after-any-outcome`.
    after: Option<Vec<String>>,
    after_any_outcome: Option<bool>,
}

/// How a line's absent fields are filled: from (type, payload), a job with the defaults.
pub type Defaults<'a> = &'a dyn Fn(&str, &serde_json::Value) -> NewJob;

/// Parses one job line (also the body of `POST /api/jobs`); `validate` is up to the caller.
pub fn parse_line(text: &str, defaults: Defaults<'_>) -> Result<NewJob> {
    let line: Line = serde_json::from_str(text).map_err(|e| {
        Error::invalid(format!(
            "not a valid job ({e}); expected e.g. {{\"type\":\"send_email\",\"payload\":{{\"to\":\"a@b.c\"}}}}"
        ))
    })?;
    if line.delay.is_some() && line.at.is_some() {
        return Err(Error::invalid("give either \"delay\" or \"at\", not both"));
    }
    let payload = line.payload.clone().unwrap_or_else(|| serde_json::json!({}));
    let mut new = defaults(&line.job_type, &payload);
    match line.priority.as_ref().map(line_priority).transpose()? {
        // "queue" wins over a named priority, as it always did.
        Some(PriorityArg::Queue(p)) => {
            new.queue = p.queue().to_string();
            new.route = false;
        }
        Some(PriorityArg::Number(n)) => new.priority = Some(n),
        None => {}
    }
    if let Some(q) = line.queue {
        new.queue = q;
        new.route = false;
    }
    if let Some(d) = &line.delay {
        new.delay = Some(duration::parse(d).map_err(|e| Error::invalid(format!("delay: {e}")))?);
        new.at = None;
    }
    if let Some(t) = &line.at {
        new.at = Some(jobq::cli::parse_time(t).map_err(|e| Error::invalid(format!("at: {e}")))?);
        new.delay = None;
    }
    if let Some(t) = &line.timeout {
        new.timeout = Some(duration::parse(t).map_err(|e| Error::invalid(format!("timeout: {e}")))?);
    }
    new.max_attempts = line.max_attempts.unwrap_or(new.max_attempts);
    new.unique_key = line.unique_key;
    if line.expires.is_some() && line.expires_at.is_some() {
        return Err(Error::invalid(
            "give either \"expires\" or \"expires_at\", not both",
        ));
    }
    if let Some(d) = &line.expires {
        new.expires = Some(duration::parse(d).map_err(|e| Error::invalid(format!("expires: {e}")))?);
        new.expires_at = None;
    }
    if let Some(t) = &line.expires_at {
        new.expires_at =
            Some(jobq::cli::parse_time(t).map_err(|e| Error::invalid(format!("expires_at: {e}")))?);
        new.expires = None;
    }
    if let Some(after) = line.after {
        new.after = after;
    }
    new.after_any_outcome = line.after_any_outcome.unwrap_or(new.after_any_outcome);
    Ok(new)
}

/// A line's `priority`: "high"/"normal"/"low", or a number 1-10 (also as a string).
fn line_priority(v: &serde_json::Value) -> Result<PriorityArg> {
    let text = match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        other => other.to_string(),
    };
    text.parse::<PriorityArg>()
        .map_err(|e| Error::invalid(format!("priority {e} (use \"queue\" for other queues)")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use jobq::cli::{Cli, Command, EnqueueArgs};
    use proptest::prelude::*;

    fn args() -> EnqueueArgs {
        match Cli::try_parse_from(["jobq", "enqueue", "--batch", "-"])
            .unwrap()
            .command
        {
            Command::Enqueue(a) => a,
            _ => unreachable!(),
        }
    }

    fn check(text: &str) -> Result<NewJob> {
        let args = args();
        parse_line(text, &|t, p| super::super::new_job::defaults(&args, t, p))
            .and_then(|j| super::super::new_job::validate(&j, false).map(|_| j))
    }

    proptest! {
        #[test]
        fn never_panics_on_any_line(text in "\\PC*") {
            let _ = check(&text);
        }

        #[test]
        fn valid_lines_carry_every_field(
            t in "[A-Za-z0-9_.-]{1,128}",
            q in "[A-Za-z0-9_.-]{1,128}",
            secs in 1u64..100_000,
            attempts in 1u32..=1000,
            n in any::<i64>(),
        ) {
            let line = serde_json::json!({
                "type": t, "queue": q, "delay": format!("{secs}s"), "max_attempts": attempts,
                "payload": { "n": n }, "unique_key": q,
            });
            let job = check(&line.to_string()).unwrap();
            prop_assert_eq!(&job.job_type, &t);
            prop_assert_eq!(&job.queue, &q);
            prop_assert_eq!(job.delay, Some(std::time::Duration::from_secs(secs)));
            prop_assert_eq!(job.max_attempts, attempts);
            prop_assert_eq!(job.unique_key.as_deref(), Some(q.as_str()));
            let payload: serde_json::Value = serde_json::from_str(&job.payload).unwrap();
            prop_assert_eq!(&payload["n"], &serde_json::json!(n));
        }

        #[test]
        fn names_with_separators_globs_or_spaces_are_rejected(
            head in "[a-z]{0,5}", bad in "[:{}*?\\[\\] \t\n]", tail in "[a-z]{0,5}",
        ) {
            let name = format!("{head}{bad}{tail}");
            for field in ["type", "queue", "unique_key"] {
                let mut line = serde_json::json!({ "type": "t" });
                line[field] = serde_json::json!(name);
                prop_assert!(check(&line.to_string()).is_err(), "{} {:?} accepted", field, name);
            }
        }

        #[test]
        fn bad_durations_and_conflicts_are_rejected(d in "-?[0-9]{0,4}(\\.[0-9])?[a-z]{0,2}") {
            let parsed = jobq::duration::parse(&d);
            let line = serde_json::json!({ "type": "t", "delay": d });
            prop_assert_eq!(check(&line.to_string()).is_ok(), parsed.is_ok());
            let both = serde_json::json!({ "type": "t", "delay": "5s", "at": "2030-01-01T00:00:00Z" });
            prop_assert!(check(&both.to_string()).is_err());
        }
    }
}
