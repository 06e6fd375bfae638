//! `jobq serve`: the JSON API (`api`), live event streams (`sse`, fed by one Redis subscription
//! per process in `hub`), Prometheus metrics (`metrics`), access control (`auth`) and the
//! embedded dashboard (`assets`). Everything reaches Redis through the engine's `Store` and the
//! same command functions the CLI uses, so the HTTP answers are the CLI's `--json` shapes.

pub mod api;
pub mod assets;
pub mod auth;
pub mod errors;
pub mod hub;
pub mod metrics;
pub mod sse;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::{header, HeaderValue};
use axum::routing::{get, post};
use axum::Router;
use tokio_util::sync::CancellationToken;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;

use jobq::error::{Error, Result};
use jobq::exit::ExitStatus;
use jobq::Store;

use auth::Tokens;
use hub::Hub;

/// Largest request body: a job's payload limit plus room for the other fields.
const MAX_BODY: usize = jobq::job::MAX_PAYLOAD_BYTES + 64 * 1024;

/// What every handler shares.
pub struct App {
    pub store: Arc<Store>,
    pub hub: Hub,
    pub tokens: Option<Tokens>,
    /// Cancelled on SIGINT/SIGTERM: open event streams end so the server can stop.
    pub shutdown: CancellationToken,
}

pub type Shared = Arc<App>;

/// Serves until SIGINT or SIGTERM.
pub async fn run(store: Store, addrs: &[SocketAddr], tokens: Option<Tokens>) -> Result<ExitStatus> {
    let shutdown = CancellationToken::new();
    let store = Arc::new(store);
    let app = Arc::new(App {
        hub: Hub::start(store.clone(), shutdown.clone()),
        store,
        tokens,
        shutdown: shutdown.clone(),
    });
    let router = router(app.clone());
    let mut servers = tokio::task::JoinSet::new();
    for addr in addrs {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| Error::Io(format!("cannot listen on {addr}: {e}")))?;
        let bound = listener
            .local_addr()
            .map_err(|e| Error::Io(format!("cannot listen on {addr}: {e}")))?;
        let auth = if app.tokens.is_some() {
            "bearer tokens required"
        } else {
            "loopback only, no tokens"
        };
        eprintln!(
            "jobq: serving http://{bound}/ (dashboard at /, API under /api, metrics at /metrics; {auth})"
        );
        let stop = shutdown.clone();
        let router = router.clone();
        servers.spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
        });
    }
    let signal = wait_for_signal().await;
    shutdown.cancel();
    while let Some(done) = servers.join_next().await {
        if let Ok(Err(e)) = done {
            eprintln!("jobq: server error: {e}");
        }
    }
    Ok(signal)
}

/// SIGTERM is a normal stop (exit 0); Ctrl-C exits 130 like every other jobq command.
async fn wait_for_signal() -> ExitStatus {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return ExitStatus::Interrupted;
    };
    tokio::select! {
        _ = term.recv() => ExitStatus::Success,
        _ = tokio::signal::ctrl_c() => ExitStatus::Interrupted,
    }
}

fn router(app: Shared) -> Router {
    let api = Router::new()
        .route("/jobs", post(api::create_job).get(api::list_jobs))
        .route("/jobs/{id}", get(api::get_job))
        .route("/jobs/{id}/cancel", post(api::cancel_job))
        .route("/jobs/{id}/retry", post(api::retry_job))
        .route("/jobs/{id}/events", get(sse::job_events))
        .route("/events", get(sse::queue_events))
        .route("/throughput", get(sse::throughput))
        .route("/queues", get(api::queues))
        .route("/queues/{queue}/pause", post(api::pause))
        .route("/queues/{queue}/resume", post(api::resume))
        .route("/workers", get(api::workers))
        .route("/schedules", get(api::schedules))
        .route("/dlq", get(api::dlq))
        .route("/dlq/drain", post(api::dlq_drain))
        .route("/dlq/purge", post(api::dlq_purge))
        .fallback(api::not_found);
    Router::new()
        .nest("/api", api)
        .route("/metrics", get(metrics::scrape))
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .merge(assets::routes())
        .layer(axum::middleware::from_fn_with_state(app.clone(), auth::guard))
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .with_state(app)
}
