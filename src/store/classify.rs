//! What a Redis failure means for jobq, decided in one place: retry on the same connection,
//! reconnect (and on Sentinel find the master again), or give up at once; and how to say it
//! in one line of words, without the client's raw text or a password.

use redis::RedisError;

use crate::error::Error;

/// What to do about a failed command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    /// The server is there but cannot serve now (`BUSY`, `LOADING`, a cluster moving slots):
    /// wait and try again on the same connection.
    Wait,
    /// The connection is unusable or talks to the wrong server (dropped, timed out, `READONLY`
    /// from a demoted master): open a new one, then try again.
    Reconnect,
    /// `OOM`: workers wait it out, one-shot commands report it.
    OutOfMemory,
    /// Retrying cannot help (login or ACL refused, TLS certificate rejected, unknown command,
    /// wrong arguments): report at once, workers too.
    Permanent,
}

/// Server error codes jobq reacts to.
const KNOWN_CODES: [&str; 14] = [
    "NOAUTH",
    "WRONGPASS",
    "NOPERM",
    "OOM",
    "BUSY",
    "LOADING",
    "TRYAGAIN",
    "MASTERDOWN",
    "CLUSTERDOWN",
    "READONLY",
    "CROSSSLOT",
    "MOVED",
    "ASK",
    "NOREPLICAS",
];

/// The first known server error code of `err`, also inside pipeline and script failures.
pub(super) fn code_of(err: &RedisError) -> Option<&'static str> {
    let known = |c: &str| KNOWN_CODES.iter().copied().find(|k| *k == c);
    if let Some(code) = err.code().and_then(known) {
        return Some(code);
    }
    if let Some(items) = err.clone().into_server_errors() {
        if let Some(code) = items.iter().find_map(|(_, e)| known(e.code())) {
            return Some(code);
        }
    }
    // A code wrapped in a script error's text ("... READONLY You can't write ...").
    let text = err.to_string();
    KNOWN_CODES
        .iter()
        .copied()
        .find(|k| text.split(|c: char| !c.is_ascii_alphabetic()).any(|w| w == *k))
}

pub(super) fn is_tls_failure(err: &RedisError) -> bool {
    let text = err.to_string().to_ascii_lowercase();
    ["certificate", "tls", "handshake", "alert"]
        .iter()
        .any(|w| text.contains(w))
}

pub(super) fn is_auth_failure(err: &RedisError) -> bool {
    // Redis answers an unauthenticated client's long command (more than 10 arguments, as the
    // enqueue script has) with "Protocol error: unauthenticated multibulk length".
    err.kind() == redis::ErrorKind::AuthenticationFailed
        || matches!(code_of(err), Some("NOAUTH" | "WRONGPASS"))
        || err.to_string().contains("unauthenticated")
}

pub(super) fn action(err: &RedisError) -> Action {
    if is_auth_failure(err) || code_of(err) == Some("NOPERM") || is_tls_failure(err) {
        return Action::Permanent;
    }
    if err.is_io_error() || err.is_timeout() || err.is_connection_dropped() || err.is_connection_refusal() {
        return Action::Reconnect;
    }
    match code_of(err) {
        Some("READONLY" | "MASTERDOWN" | "NOREPLICAS") => Action::Reconnect,
        Some("BUSY" | "LOADING" | "TRYAGAIN" | "CLUSTERDOWN") => Action::Wait,
        Some("OOM") => Action::OutOfMemory,
        _ if matches!(
            err.kind(),
            redis::ErrorKind::ClusterConnectionNotFound | redis::ErrorKind::MasterNameNotFoundBySentinel
        ) =>
        {
            Action::Reconnect
        }
        _ if err.is_unrecoverable_error() => Action::Reconnect,
        _ => Action::Permanent,
    }
}

/// One line in words describing a Redis failure: known codes are named in plain language;
/// anything else is the server's own message without the client's framing (pipeline indices,
/// script locations) and without passwords.
pub(super) fn describe(err: &RedisError) -> String {
    if let Some(words) = code_of(err).and_then(words_for) {
        return words.to_string();
    }
    if let Some(words) = tls_words(&err.to_string()) {
        return words.to_string();
    }
    if let Some(items) = err.clone().into_server_errors() {
        if let Some((_, first)) = items.first() {
            let detail = first.details().unwrap_or("");
            return redact_passwords(&strip_script_location(&format!("{} {detail}", first.code())));
        }
    }
    if err.kind() == redis::ErrorKind::MasterNameNotFoundBySentinel {
        return "no sentinel knows the master name in the URL".into();
    }
    if err.is_connection_refusal() {
        return "connection refused".into();
    }
    if err.is_timeout() {
        return "timed out".into();
    }
    let text = err.to_string();
    let line = text.lines().next().unwrap_or("").trim();
    redact_passwords(&strip_script_location(line))
}

fn words_for(code: &str) -> Option<&'static str> {
    Some(match code {
        "READONLY" => "the server is a read-only replica (a failover may have happened)",
        "MASTERDOWN" => "the replica has lost its master",
        "LOADING" => "Redis is loading its data set into memory",
        "BUSY" => "Redis is busy running a long script",
        "TRYAGAIN" => "the cluster is moving the keys involved",
        "CLUSTERDOWN" => "the cluster is down (not every slot is served)",
        "CROSSSLOT" => "a command touched keys of different cluster slots",
        "OOM" => "Redis is out of memory (OOM: maxmemory reached)",
        "NOREPLICAS" => "too few replicas confirmed the write in time",
        _ => return None,
    })
}

/// rustls' reasons, in words.
fn tls_words(text: &str) -> Option<&'static str> {
    const WORDS: [(&str, &str); 8] = [
        (
            "UnknownIssuer",
            "the server's certificate is not signed by a CA jobq trusts: give that CA with --tls-ca",
        ),
        (
            "NotValidForName",
            "the server's certificate is not valid for this host name",
        ),
        ("Expired", "the server's certificate has expired"),
        ("NotValidYet", "the server's certificate is not valid yet"),
        (
            "UnsupportedCertVersion",
            "a certificate is not an X.509 v3 certificate",
        ),
        (
            "CertificateRequired",
            "the server requires a client certificate: give --tls-cert and --tls-key",
        ),
        ("BadCertificate", "the server rejected the client certificate"),
        (
            "UnknownCA",
            "the server does not trust the client certificate's CA",
        ),
    ];
    WORDS.iter().find(|(k, _)| text.contains(k)).map(|(_, w)| *w)
}

/// `ERR ... script: 1a2b..., on @user_script:140.` loses everything from `script:` on.
fn strip_script_location(text: &str) -> String {
    let cut = ["script:", "@user_script", "@user_function"]
        .iter()
        .filter_map(|m| text.find(m))
        .min()
        .unwrap_or(text.len());
    text[..cut].trim().trim_end_matches(['.', ',']).to_string()
}

/// Maps a Redis failure to an error a user can act on (each variant has its exit code).
pub(super) fn to_error(err: &RedisError, url: &str, namespace: &str) -> Error {
    let what = describe(err);
    if is_auth_failure(err) {
        return Error::Auth(format!(
            "Redis at {url} rejected the login ({what}): check the user and password in --redis-url / JOBQ_REDIS_URL"
        ));
    }
    match code_of(err) {
        Some("NOPERM") => {
            return Error::Auth(format!(
                "the Redis user of {url} lacks a permission jobq needs ({what}): grant it access to the `{{{namespace}}}:*` and `{{{namespace}:*` keys and to EVALSHA"
            ))
        }
        Some("OOM") => {
            return Error::Redis(format!(
                "Redis at {url} is out of memory (maxmemory reached); nothing was written. Free memory or raise maxmemory"
            ))
        }
        Some("MOVED" | "ASK") => {
            return Error::Invalid(format!(
                "Redis at {url} is a cluster node and the keys live on another node: use redis+cluster://host:port[,host:port...]"
            ))
        }
        Some("NOREPLICAS") => {
            return Error::Redis(format!(
                "Redis at {url}: {what} (--min-replicas); the write may be on the master only and lost if it fails: check with `jobq inspect` before retrying"
            ))
        }
        Some("READONLY") => {
            return Error::Redis(format!(
                "Redis at {url} is a read-only replica: point --redis-url at the master, or use redis+sentinel:// / redis+cluster:// to follow failovers"
            ))
        }
        _ => {}
    }
    if is_tls_failure(err) {
        return Error::Unavailable(format!(
            "TLS connection to Redis at {url} failed: {what} (see --tls-ca, --tls-cert, --tls-key; #insecure at the end of the URL skips the check)"
        ));
    }
    if err.is_io_error() || err.is_timeout() || err.is_connection_dropped() || err.is_connection_refusal() {
        return Error::Unavailable(format!(
            "cannot reach Redis at {url} ({what}): start redis-server or point --redis-url / JOBQ_REDIS_URL at it"
        ));
    }
    if matches!(
        err.kind(),
        redis::ErrorKind::ClusterConnectionNotFound | redis::ErrorKind::MasterNameNotFoundBySentinel
    ) {
        return Error::Unavailable(format!("cannot reach Redis at {url} ({what})"));
    }
    Error::Redis(format!("Redis at {url} answered with an error: {what}"))
}

fn redact_passwords(text: &str) -> String {
    text.split(' ').map(redact_url).collect::<Vec<_>>().join(" ")
}

/// `redis://user:secret@host/0` becomes `redis://user:***@host/0` (also for the cluster and
/// sentinel forms); a `pass=` query parameter (unix socket URLs) is masked too.
pub fn redact_url(url: &str) -> String {
    let url = redact_userinfo(url);
    match url.find('?') {
        Some(q) => {
            let params: Vec<String> = url[q + 1..]
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if k == "pass" || k == "password" => format!("{k}=***"),
                    _ => p.to_string(),
                })
                .collect();
            format!("{}?{}", &url[..q], params.join("&"))
        }
        None => url,
    }
}

fn redact_userinfo(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_string();
    };
    let userinfo = &rest[..at];
    let user = userinfo.split(':').next().unwrap_or("");
    if !userinfo.contains(':') {
        return url.to_string();
    }
    format!("{}{}:***{}", &url[..scheme_end + 3], user, &rest[at..])
}

#[cfg(test)]
mod tests {
    use super::{redact_url, strip_script_location};

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact_url("redis://:pw@h:6379/0"), "redis://:***@h:6379/0");
        assert_eq!(redact_url("rediss://u:p@ss@h/1"), "rediss://u:***@h/1");
        assert_eq!(redact_url("redis://h:6379"), "redis://h:6379");
        assert_eq!(redact_url("redis://user@h"), "redis://user@h");
        assert_eq!(redact_url("unix:///tmp/r.sock"), "unix:///tmp/r.sock");
        assert_eq!(
            redact_url("unix:///tmp/r.sock?db=1&pass=pw"),
            "unix:///tmp/r.sock?db=1&pass=***"
        );
        assert_eq!(
            redact_url("redis+cluster://u:pw@a:1,b:2,c:3"),
            "redis+cluster://u:***@a:1,b:2,c:3"
        );
        assert_eq!(
            redact_url("rediss+sentinel://:pw@a:1,b:2/mymaster/2#insecure"),
            "rediss+sentinel://:***@a:1,b:2/mymaster/2#insecure"
        );
    }

    #[test]
    fn script_locations_are_dropped() {
        assert_eq!(
            strip_script_location("ERR bad thing script: 1a2b, on @user_script:140."),
            "ERR bad thing"
        );
        assert_eq!(strip_script_location("ERR plain"), "ERR plain");
    }
}
