//! Human durations (`90s`, `5m`, `1h30m`, `250ms`) used by every flag that takes a time span.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// Longest span any flag accepts; anything above is almost certainly a typo (`--delay 5000d`).
pub const MAX_DURATION: Duration = Duration::from_secs(366 * 24 * 3600);

/// Parses `90s`, `5m`, `2h`, `1d`, `250ms` and sums like `1h30m`. A bare number is refused:
/// `--timeout 30` could mean seconds or minutes, and a wrong guess fails silently later.
pub fn parse(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty duration: use e.g. 90s, 5m, 2h".into());
    }
    if s.parse::<u64>().is_ok() {
        return Err(format!(
            "duration `{text}` has no unit: write e.g. {s}s or {s}m (units: ms, s, m, h, d)"
        ));
    }
    let mut total: u128 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return Err(invalid(text));
        }
        let value: u128 = rest[..digits].parse().map_err(|_| invalid(text))?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let millis_per_unit: u128 = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(invalid(text)),
        };
        rest = &rest[unit_len..];
        total = total.saturating_add(value.saturating_mul(millis_per_unit));
    }
    let millis = u64::try_from(total).unwrap_or(u64::MAX);
    check(Duration::from_millis(millis), text)
}

/// Checks an absolute run time (`--at`) like `--delay`: at most [`MAX_DURATION`] ahead, and not
/// in the past (more than [`PAST_GRACE`] ago) unless `allow_past`.
pub fn check_at(at: DateTime<Utc>, now: DateTime<Utc>, allow_past: bool) -> Result<(), String> {
    let ahead = at - now;
    if ahead.to_std().is_ok_and(|d| d > MAX_DURATION) {
        return Err(format!(
            "--at {} is more than 366d ahead (the limit, as for --delay)",
            at.to_rfc3339()
        ));
    }
    let past = PAST_GRACE.as_millis() as i64;
    if !allow_past && ahead.num_milliseconds() < -past {
        return Err(format!(
            "--at {} is in the past ({} ago); add --allow-past to run it at once",
            at.to_rfc3339(),
            human((-ahead).to_std().unwrap_or_default())
        ));
    }
    Ok(())
}

/// How far in the past `--at` may be without `--allow-past`: `--at "$(date -Is)"` is "now".
pub const PAST_GRACE: Duration = Duration::from_secs(5);

fn check(d: Duration, text: &str) -> Result<Duration, String> {
    if d.is_zero() {
        return Err(format!(
            "duration `{text}` is zero: give a positive span like 30s"
        ));
    }
    if d > MAX_DURATION {
        return Err(format!("duration `{text}` is longer than the maximum of 366d"));
    }
    Ok(d)
}

fn invalid(text: &str) -> String {
    format!("invalid duration `{text}`: use a number with a unit (ms, s, m, h, d), e.g. 90s, 5m, 1h30m")
}

/// Formats a span compactly for humans: `1h02m`, `3m20s`, `4.2s`, `17ms`.
pub fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1_000 {
        format!("{ms}ms")
    } else if ms < 10_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else if ms < 60_000 {
        format!("{}s", ms / 1000)
    } else if ms < 3_600_000 {
        format!("{}m{:02}s", ms / 60_000, (ms / 1000) % 60)
    } else if ms < 86_400_000 {
        format!("{}h{:02}m", ms / 3_600_000, (ms / 60_000) % 60)
    } else {
        format!("{}d{:02}h", ms / 86_400_000, (ms / 3_600_000) % 24)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_sums() {
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse("45").unwrap_err().contains("45s"));
    }

    #[test]
    fn rejects_nonsense() {
        for bad in [
            "",
            "0s",
            "-5s",
            "NaN",
            "5x",
            "s",
            "1.5s",
            "400d",
            "99999999999999999999999h",
        ] {
            assert!(parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_any_text(s in "\\PC*") {
            let _ = parse(&s);
        }

        #[test]
        fn sums_of_units_parse_exactly(h in 0u64..100, m in 0u64..100, s in 0u64..100, ms in 1u64..1000) {
            let text = format!("{h}h{m}m{s}s{ms}ms");
            let want = Duration::from_millis(((h * 60 + m) * 60 + s) * 1000 + ms);
            proptest::prop_assert_eq!(parse(&text), Ok(want));
        }

        #[test]
        fn anything_with_a_sign_or_dot_is_rejected(n in 0u64..10_000, sep in "[-+.,e]") {
            let (leading, inner) = (format!("{sep}{n}s"), format!("1{sep}{n}s"));
            proptest::prop_assert!(parse(&leading).is_err());
            proptest::prop_assert!(parse(&inner).is_err());
        }

        #[test]
        fn human_output_parses_back_for_whole_seconds(secs in 10u64..60) {
            proptest::prop_assert_eq!(parse(&human(Duration::from_secs(secs))), Ok(Duration::from_secs(secs)));
        }
    }

    #[test]
    fn at_has_the_bounds_of_delay_and_refuses_the_past() {
        let now = Utc::now();
        let day = chrono::Duration::days(1);
        assert!(check_at(now + day * 365, now, false).is_ok());
        assert!(check_at(now + day * 367, now, false).is_err());
        assert!(check_at(now + day * 367, now, true).is_err());
        assert!(check_at(now - chrono::Duration::seconds(1), now, false).is_ok());
        assert!(check_at(now - chrono::Duration::minutes(1), now, false).is_err());
        assert!(check_at(now - day, now, true).is_ok());
    }

    #[test]
    fn formats_for_humans() {
        assert_eq!(human(Duration::from_millis(17)), "17ms");
        assert_eq!(human(Duration::from_millis(4200)), "4.2s");
        assert_eq!(human(Duration::from_secs(200)), "3m20s");
        assert_eq!(human(Duration::from_secs(3720)), "1h02m");
    }
}
