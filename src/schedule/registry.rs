//! Routes (type pattern -> queue) and payload schemas (type -> JSON Schema), as stored in
//! Redis under the namespace tag and cached per process (see `Store::registry`). Every enqueue
//! path of the library goes through [`Registry::apply`], so the CLI, `--batch`, library
//! callers, the scheduler and the HTTP API route and validate the same way.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::job::{self, MAX_NAME_LEN};
use crate::store::NewJob;

/// Largest schema accepted by `jobq type set` (it is read by every enqueuer).
pub const MAX_SCHEMA_BYTES: usize = 64 * 1024;

/// One route as `route ls --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub pattern: String,
    pub queue: String,
}

/// A compiled payload schema.
pub struct TypeSchema {
    pub text: String,
    validator: jsonschema::Validator,
}

/// Routes and schemas of a namespace at one version.
#[derive(Default)]
pub struct Registry {
    /// Bumped by every change; the cache compares it to refresh.
    pub version: u64,
    /// Most specific first (see [`specificity`]).
    routes: Vec<Route>,
    schemas: HashMap<String, Arc<TypeSchema>>,
}

impl Registry {
    /// Builds a registry from the stored hashes. A stored schema that no longer compiles
    /// (written by a newer jobq?) is skipped rather than blocking every enqueue.
    pub fn new(version: u64, routes: HashMap<String, String>, schemas: HashMap<String, String>) -> Registry {
        let mut routes: Vec<Route> = routes
            .into_iter()
            .map(|(pattern, queue)| Route { pattern, queue })
            .collect();
        routes.sort_by_key(|r| specificity(&r.pattern));
        let schemas = schemas
            .into_iter()
            .filter_map(|(t, text)| compile(&t, &text).ok().map(|s| (t, Arc::new(s))))
            .collect();
        Registry {
            version,
            routes,
            schemas,
        }
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The queue of the most specific route matching `job_type`.
    pub fn route(&self, job_type: &str) -> Option<&str> {
        self.routes
            .iter()
            .find(|r| glob_match(r.pattern.as_bytes(), job_type.as_bytes()))
            .map(|r| r.queue.as_str())
    }

    pub fn schema(&self, job_type: &str) -> Option<&TypeSchema> {
        self.schemas.get(job_type).map(|s| &**s)
    }

    /// Whether [`Registry::apply`] can change or refuse any of `jobs` (if not, a bulk
    /// enqueue need not copy them).
    pub fn affects(&self, jobs: &[NewJob]) -> bool {
        jobs.iter()
            .any(|j| (j.route && !self.routes.is_empty()) || self.schemas.contains_key(&j.job_type))
    }

    /// Routes a job that names no queue, then checks its payload against its type's schema.
    pub fn apply(&self, new: &mut NewJob) -> Result<()> {
        if new.route {
            if let Some(q) = self.route(&new.job_type) {
                new.queue = q.to_string();
                if let Some(id) = new.id.as_mut() {
                    // A client-chosen id (a schedule tick's) carries its queue: same ULID, new queue.
                    if let Some((_, ulid)) = id.rsplit_once('-') {
                        *id = format!("{q}-{ulid}");
                    }
                }
            }
            new.route = false;
        }
        if let Some(schema) = self.schema(&new.job_type) {
            let payload: serde_json::Value = serde_json::from_str(&new.payload)
                .map_err(|e| Error::invalid(format!("payload is not valid JSON ({e})")))?;
            schema.check(&new.job_type, &payload)?;
        }
        Ok(())
    }
}

impl TypeSchema {
    /// The first violation as one line: where in the payload, which rule, what is wrong.
    pub fn check(&self, job_type: &str, payload: &serde_json::Value) -> Result<()> {
        let Some(err) = self.validator.iter_errors(payload).next() else {
            return Ok(());
        };
        let at = err.instance_path().to_string();
        let at = if at.is_empty() { "/".to_string() } else { at };
        let msg = err.to_string();
        let msg: String = msg.lines().next().unwrap_or("").chars().take(200).collect();
        Err(Error::invalid(format!(
            "payload does not match the schema of type `{job_type}`: at {at}: {msg} (rule `{}` at {})",
            err.kind().keyword(),
            err.schema_path()
        )))
    }
}

/// Compiles a schema for `jobq type set` (and the cache): valid JSON, a valid JSON Schema
/// (checked against its meta-schema), no remote references (jobq fetches nothing).
pub fn compile(job_type: &str, text: &str) -> Result<TypeSchema> {
    if text.len() > MAX_SCHEMA_BYTES {
        return Err(Error::invalid(format!(
            "the schema is {} bytes; the limit is {MAX_SCHEMA_BYTES}",
            text.len()
        )));
    }
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| Error::invalid(format!("the schema is not valid JSON ({e})")))?;
    let validator = jsonschema::validator_for(&value).map_err(|e| {
        let msg = e.to_string();
        let msg = msg.lines().next().unwrap_or("").to_string();
        Error::invalid(format!(
            "the schema for type `{job_type}` is not a valid JSON Schema: {msg} (at {})",
            if e.instance_path().to_string().is_empty() {
                "/".to_string()
            } else {
                e.instance_path().to_string()
            }
        ))
    })?;
    Ok(TypeSchema {
        text: text.to_string(),
        validator,
    })
}

/// Checks a route pattern: a type name that may contain `*` (any run of characters) and `?`
/// (one character).
pub fn validate_pattern(pattern: &str) -> Result<()> {
    let literal: String = pattern.chars().filter(|c| !matches!(c, '*' | '?')).collect();
    if pattern.is_empty() || pattern.len() > MAX_NAME_LEN {
        return Err(Error::invalid(format!(
            "route pattern must be 1 to {MAX_NAME_LEN} characters"
        )));
    }
    if literal.is_empty() {
        return Ok(()); // `*` alone: a catch-all route
    }
    job::validate_name("route pattern", &literal).map_err(|_| {
        Error::invalid(format!(
            "route pattern {pattern:?} may contain only letters, digits, `_`, `.`, `-` and the wildcards `*` and `?`"
        ))
    })
}

/// Sort key of a pattern, most specific first: fewer `*`, then fewer `?`, then more literal
/// characters, then the pattern itself (so equal ranks still order the same everywhere).
/// `ai.image.*` thus beats `ai.*`, which beats `*`; an exact type beats every glob.
pub fn specificity(pattern: &str) -> (usize, usize, std::cmp::Reverse<usize>, String) {
    let stars = pattern.matches('*').count();
    let marks = pattern.matches('?').count();
    (
        stars,
        marks,
        std::cmp::Reverse(pattern.len() - stars - marks),
        pattern.to_string(),
    )
}

/// Glob match of `*` and `?` over bytes (types are ASCII), iterative with backtracking to
/// the last star: linear-ish, no recursion blow-up on `*a*a*a*b`.
pub fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(routes: &[(&str, &str)]) -> Registry {
        Registry::new(
            1,
            routes
                .iter()
                .map(|(p, q)| (p.to_string(), q.to_string()))
                .collect(),
            HashMap::new(),
        )
    }

    #[test]
    fn globs() {
        for (p, t, want) in [
            ("ai.*", "ai.chat", true),
            ("ai.*", "ai.", true),
            ("ai.*", "ai", false),
            ("*", "x", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*.pdf", "render.pdf", true),
            ("*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaac", false),
            ("send_email", "send_email", true),
            ("send_email", "send_emails", false),
        ] {
            assert_eq!(glob_match(p.as_bytes(), t.as_bytes()), want, "{p} {t}");
        }
    }

    #[test]
    fn most_specific_route_wins() {
        let r = reg(&[
            ("*", "misc"),
            ("ai.*", "ai"),
            ("ai.image.*", "gpu"),
            ("ai.image.upscale", "big"),
            ("ai.?ext", "text"),
        ]);
        assert_eq!(r.route("ai.image.upscale"), Some("big"));
        assert_eq!(r.route("ai.image.crop"), Some("gpu"));
        assert_eq!(r.route("ai.text"), Some("text"));
        assert_eq!(r.route("ai.chat"), Some("ai"));
        assert_eq!(r.route("email"), Some("misc"));
        assert_eq!(reg(&[("ai.*", "ai")]).route("email"), None);
    }

    #[test]
    fn a_routed_tick_keeps_its_deterministic_id_in_the_routed_queue() {
        let r = reg(&[("ai.*", "ai")]);
        let tick = crate::schedule::spec::TickId {
            schedule: "s",
            tick_ms: 1_700_000_000_000,
        };
        let mut job = NewJob::routed("ai.chat", &serde_json::json!({}));
        job.id = Some(tick.for_queue("normal"));
        r.apply(&mut job).unwrap();
        assert_eq!(job.queue, "ai");
        assert_eq!(job.id.as_deref(), Some(tick.for_queue("ai").as_str()));
        job.validate().unwrap();
    }

    #[test]
    fn patterns() {
        for good in ["ai.*", "*", "?", "a-b_c.d*"] {
            validate_pattern(good).unwrap();
        }
        for bad in ["", "a:b", "a b", "{x}", "[ab]", "é*"] {
            assert!(validate_pattern(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn schema_errors_name_the_path_and_rule() {
        let s = compile(
            "send_email",
            r#"{"type":"object","required":["to"],"properties":{"to":{"type":"string"}}}"#,
        )
        .unwrap();
        s.check("send_email", &serde_json::json!({"to": "a@b.c"}))
            .unwrap();
        let e = s
            .check("send_email", &serde_json::json!({"to": 5}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("at /to") && e.contains("rule `type`"), "{e}");
        let e = s
            .check("send_email", &serde_json::json!({}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("rule `required`"), "{e}");
        assert!(compile("t", r#"{"type": 5}"#).is_err());
        assert!(compile("t", "{").is_err());
        assert!(compile("t", r#"{"$ref": "https://example.com/s.json"}"#).is_err());
    }
}
