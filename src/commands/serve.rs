//! `jobq serve`: checks the access settings (tokens, listen address) before anything starts,
//! then hands over to the server in `src/serve/`.

use std::net::SocketAddr;

use jobq::cli::{GlobalArgs, ServeArgs};
use jobq::error::{Error, Result};
use jobq::exit::ExitStatus;
use jobq::{RetryPolicy, Store};

use crate::serve::{self, auth::Tokens};

/// How long an HTTP request may wait out a Redis blip before it answers 503: long enough for a
/// failover or a restart of a local server, short enough for a health check or a browser.
const REQUEST_RETRY: RetryPolicy = RetryPolicy {
    budget: std::time::Duration::from_secs(3),
    retry_oom: false,
    wait_at_start: std::time::Duration::ZERO,
};

pub async fn run(args: ServeArgs, g: &GlobalArgs) -> Result<ExitStatus> {
    let tokens = args.tokens.as_deref().map(Tokens::load).transpose()?;
    let addrs = resolve(&args.listen).await?;
    if tokens.is_none() {
        if let Some(open) = addrs.iter().find(|a| !a.ip().is_loopback()) {
            return Err(Error::invalid(format!(
                "refusing to serve on {open} without --tokens: anyone who can reach it could read, run and delete jobs. \
                 Listen on a loopback address (the default 127.0.0.1:7878) or give --tokens FILE"
            )));
        }
    }
    let store = Store::connect_with(&g.connection(), &g.namespace, REQUEST_RETRY).await?;
    serve::run(store, &addrs, tokens).await
}

/// `ADDR:PORT` (a name is resolved); every address it stands for is served.
async fn resolve(listen: &str) -> Result<Vec<SocketAddr>> {
    let bad = |why: String| {
        Error::invalid(format!(
            "--listen {listen:?} {why}; give ADDR:PORT, e.g. 127.0.0.1:7878 or [::1]:7878"
        ))
    };
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host(listen)
        .await
        .map_err(|e| bad(format!("is not an address to listen on ({e})")))?
        .collect();
    if addrs.is_empty() {
        return Err(bad("resolves to no address".into()));
    }
    Ok(addrs)
}
