//! Who may do what. With `--tokens`, every API call, stream and scrape needs
//! `Authorization: Bearer TOKEN` (role `read`: GETs; `operate`: everything). Without tokens
//! the server listens on loopback only and answers only requests addressed to a loopback name
//! (a DNS-rebinding page cannot borrow the browser's access to it). Mutations are POSTs with a
//! JSON content type whose Origin, when sent, is the server itself: an HTML form or a script of
//! another site cannot make one without a CORS preflight, which is never granted.
//! Tokens are never written anywhere (no access log; errors do not echo them).

use std::collections::HashMap;
use std::path::Path;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use jobq::error::{Error, Result};

use super::errors::ApiError;
use super::Shared;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// GETs, event streams and /metrics.
    Read,
    /// Everything, including enqueue, cancel, retry, pause, drain and purge.
    Operate,
}

/// The tokens file, loaded once at start.
pub struct Tokens(HashMap<String, Role>);

impl Tokens {
    /// Reads `TOKEN ROLE` lines; blank lines and `#` comments are skipped. A bad line is named
    /// by number, never by its content (it may hold a token).
    pub fn load(path: &Path) -> Result<Tokens> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::invalid(format!("cannot read --tokens file {}: {e}", path.display())))?;
        let tokens = Tokens::parse(&text)
            .map_err(|e| Error::invalid(format!("--tokens file {}: {e}", path.display())))?;
        if tokens.0.is_empty() {
            return Err(Error::invalid(format!(
                "--tokens file {} has no tokens; add lines like `<random token> read`",
                path.display()
            )));
        }
        Ok(tokens)
    }

    fn parse(text: &str) -> std::result::Result<Tokens, String> {
        let mut map = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let n = i + 1;
            let mut parts = line.split_whitespace();
            let (Some(token), Some(role), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(format!("line {n} is not `TOKEN ROLE`"));
            };
            let role = match role {
                "read" => Role::Read,
                "operate" => Role::Operate,
                _ => return Err(format!("line {n}: the role must be `read` or `operate`")),
            };
            if token.len() < 16 {
                return Err(format!(
                    "line {n}: the token is shorter than 16 characters; use a random one (e.g. `openssl rand -hex 24`)"
                ));
            }
            map.insert(token.to_string(), role);
        }
        Ok(Tokens(map))
    }

    /// The role of `presented`, comparing against every token in constant time.
    fn role(&self, presented: &str) -> Option<Role> {
        let mut found = None;
        for (token, role) in &self.0 {
            if constant_time_eq(token.as_bytes(), presented.as_bytes()) {
                found = Some(*role);
            }
        }
        found
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Paths anyone who reaches the server may load: probes and the dashboard's static files
/// (they hold no data; the data comes from the API, which asks for the token).
fn is_public(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz") || super::assets::is_asset(path)
}

/// The middleware in front of every route.
pub async fn guard(State(app): State<Shared>, req: Request, next: Next) -> Response {
    match check(&app, req.method(), req.uri().path(), req.headers()) {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

fn check(app: &Shared, method: &Method, path: &str, headers: &HeaderMap) -> Result<(), ApiError> {
    if app.tokens.is_none() && !host_is_loopback(headers) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "this server answers only requests addressed to localhost (start it with --tokens to serve other names)",
        ));
    }
    let mutation = *method != Method::GET && *method != Method::HEAD;
    if mutation {
        same_origin_json(headers)?;
    }
    let (Some(tokens), false) = (&app.tokens, is_public(path)) else {
        return Ok(());
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(presented) = presented else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "this server needs a token: send `Authorization: Bearer TOKEN`",
        ));
    };
    match tokens.role(presented) {
        None => Err(ApiError::new(StatusCode::UNAUTHORIZED, "unknown token")),
        Some(Role::Read) if mutation => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "this token has the role `read`; changes need a token with the role `operate`",
        )),
        Some(_) => Ok(()),
    }
}

/// A mutation must say it is JSON (which a cross-site form cannot) and, when the browser names
/// its origin, come from this server's own pages.
fn same_origin_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json")
        });
    if !json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "changes must be sent with `Content-Type: application/json`",
        ));
    }
    let cross = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|s| s == "cross-site" || s == "same-site");
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let foreign = match (origin, host) {
        (Some(o), Some(h)) => o.split_once("://").map(|(_, rest)| rest) != Some(h),
        (Some(_), None) => true,
        (None, _) => false,
    };
    if cross || foreign {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "cross-site request refused: changes are accepted only from this server's own pages",
        ));
    }
    Ok(())
}

/// `Host` names a loopback address (or is absent, as from a bare HTTP/1.0 client).
fn host_is_loopback(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(n, _)| n),
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_file_lines() {
        let t = Tokens::parse("# ops\n0123456789abcdef0 read\n\n0123456789abcdef1 operate # ci\n").unwrap();
        assert_eq!(t.role("0123456789abcdef0"), Some(Role::Read));
        assert_eq!(t.role("0123456789abcdef1"), Some(Role::Operate));
        assert_eq!(t.role("0123456789abcdef2"), None);
        assert!(Tokens::parse("0123456789abcdef0 admin").is_err());
        assert!(Tokens::parse("short read").is_err());
        assert!(Tokens::parse("0123456789abcdef0").is_err());
        let e = Tokens::parse("0123456789abcdef0 read extra").err().unwrap();
        assert!(!e.contains("0123456789abcdef0"), "{e}");
    }

    #[test]
    fn loopback_hosts() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::HOST, v.parse().unwrap());
            host_is_loopback(&m)
        };
        assert!(h("127.0.0.1:7878") && h("localhost:80") && h("[::1]:7878") && h("localhost"));
        assert!(!h("evil.example:7878") && !h("10.0.0.1:7878"));
    }
}
