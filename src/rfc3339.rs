//! Times kept as Unix milliseconds (as Lua writes them) but shown in JSON as RFC 3339 UTC
//! strings, like every other time jobq prints (`#[serde(with = "crate::rfc3339::millis")]`).
//! Reading accepts both forms: the integer from Redis and the string from jobq's own output.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serializer};

fn text(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms).single().map_or_else(
        || ms.to_string(),
        |t| t.to_rfc3339_opts(SecondsFormat::Millis, true),
    )
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Either {
    Millis(i64),
    Text(String),
}

fn millis_of<E: serde::de::Error>(v: Either) -> Result<i64, E> {
    match v {
        Either::Millis(ms) => Ok(ms),
        Either::Text(s) => DateTime::parse_from_rfc3339(&s)
            .map(|t| t.timestamp_millis())
            .map_err(|e| E::custom(format!("time {s:?}: {e}"))),
    }
}

pub mod millis {
    use super::*;

    pub fn serialize<S: Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&text(*ms))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        millis_of(Either::deserialize(d)?)
    }
}

pub mod opt_millis {
    use super::*;

    pub fn serialize<S: Serializer>(ms: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match ms {
            Some(ms) => s.serialize_str(&text(*ms)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        Option::<Either>::deserialize(d)?.map(millis_of).transpose()
    }
}

#[cfg(test)]
mod tests {
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct T {
        #[serde(with = "super::millis")]
        at: i64,
        #[serde(with = "super::opt_millis", default)]
        due: Option<i64>,
    }

    #[test]
    fn integers_in_rfc3339_out_and_back() {
        let t: T = serde_json::from_str(r#"{"at": 1763850000123, "due": 1763850000000}"#).unwrap();
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(
            json,
            r#"{"at":"2025-11-22T22:20:00.123Z","due":"2025-11-22T22:20:00.000Z"}"#
        );
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), t);
        let none: T = serde_json::from_str(r#"{"at": 0}"#).unwrap();
        assert_eq!(none.due, None);
    }
}
