//! The JSON API under `/api`. Each handler checks its input, then calls the same function as
//! the CLI command, so the answer is that command's `--json` output and bad input writes
//! nothing (the engine validates before it touches Redis).

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use clap::ValueEnum;
use serde::Deserialize;

use jobq::cli::StateFilter;
use jobq::error::Error;
use jobq::job::{queue_of, validate_name, Job, State as JobState};
use jobq::store::EnqueueOutcome;
use jobq::NewJob;

use super::errors::{ApiError, ApiResult};
use super::Shared;
use crate::ops::bulk::{Caller, Report};
use crate::ops::listing::{self, Filter};
use crate::ops::{delete, job_line, jobs, new_job, pause, requeue, stats, target_queues};
use jobq::records::Listing;

/// Jobs per page when `limit` is not given (as `jobq ls`).
const DEFAULT_LIMIT: u64 = 50;
/// Largest page one request may ask for.
const MAX_LIMIT: u64 = 1000;

/// Query parameters; unknown ones are refused (a typo must not silently widen a listing).
pub struct Params(HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Query(map) = Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
            .map_err(|e| ApiError::bad_request(format!("bad query string: {}", e.body_text())))?;
        Ok(Params(map))
    }
}

impl Params {
    pub fn only(&self, allowed: &[&str]) -> ApiResult<()> {
        match self.0.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(ApiError::bad_request(format!(
                "unknown query parameter `{k}`; this endpoint takes {}",
                allowed.join(", ")
            ))),
            None => Ok(()),
        }
    }

    /// A non-empty value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// A comma-separated list.
    pub fn list(&self, key: &str) -> Option<Vec<String>> {
        self.get(key).map(|v| {
            v.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
    }

    fn limit(&self) -> ApiResult<u64> {
        let Some(v) = self.get("limit") else {
            return Ok(DEFAULT_LIMIT);
        };
        match v.parse::<u64>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(ApiError::bad_request(format!(
                "limit must be a number from 1 to {MAX_LIMIT}, not {v:?}"
            ))),
        }
    }

    fn queue(&self) -> ApiResult<Option<&str>> {
        let q = self.get("queue");
        if let Some(q) = q {
            validate_name("queue", q)?;
        }
        Ok(q)
    }
}

fn state_filter(text: &str) -> ApiResult<StateFilter> {
    StateFilter::from_str(text, false).map_err(|_| {
        let names: Vec<String> = StateFilter::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_string()))
            .collect();
        ApiError::bad_request(format!("unknown state {text:?}; use one of {}", names.join(", ")))
    })
}

fn job_id(id: &str) -> ApiResult<()> {
    queue_of(id)?;
    Ok(())
}

/// `POST /api/jobs`: one `--batch` line as the body; 201 with the new job, or 200 with the
/// unfinished job that holds the same unique key (nothing added).
pub async fn create_job(State(app): State<Shared>, body: String) -> ApiResult<Response> {
    // A body that names no queue is routed like `jobq enqueue` without --queue/--priority.
    let new = job_line::parse_line(&body, &NewJob::routed)?;
    new_job::validate(&new, false)?;
    let outcome = app.store.enqueue(&new).await?;
    let (status, duplicate) = match outcome {
        EnqueueOutcome::Created { .. } => (StatusCode::CREATED, false),
        EnqueueOutcome::Duplicate { .. } => (StatusCode::OK, true),
    };
    let job: Job = app.store.job(outcome.id()).await?;
    Ok((status, Json(jobq::records::Enqueued { job, duplicate })).into_response())
}

/// `GET /api/jobs/{id}`: as `jobq inspect --json`.
pub async fn get_job(State(app): State<Shared>, Path(id): Path<String>) -> ApiResult<Json<Job>> {
    job_id(&id)?;
    Ok(Json(app.store.job(&id).await?))
}

/// `GET /api/jobs?queue=&state=&type=&limit=&cursor=`: as `jobq ls --json`.
pub async fn list_jobs(State(app): State<Shared>, p: Params) -> ApiResult<Json<Listing>> {
    p.only(&["queue", "state", "type", "limit", "cursor"])?;
    let state = p.get("state").map(state_filter).transpose()?;
    let filter = Filter::new(state, p.get("type").map(str::to_string))?;
    let listing = listing::page_of(&app.store, p.queue()?, &filter, p.limit()?, p.get("cursor")).await?;
    Ok(Json(listing))
}

/// `POST /api/jobs/{id}/cancel`: as `jobq cancel ID --json`.
pub async fn cancel_job(
    State(app): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Json<jobq::records::Changed>> {
    job_id(&id)?;
    Ok(Json(jobs::cancel_one(&app.store, &id).await?))
}

/// `POST /api/jobs/{id}/retry`: as `jobq retry ID --json`.
pub async fn retry_job(
    State(app): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Json<jobq::records::Changed>> {
    job_id(&id)?;
    Ok(Json(jobs::retry_one(&app.store, &id).await?))
}

/// `GET /api/queues[?queue=]`: as `jobq stats --json`.
pub async fn queues(State(app): State<Shared>, p: Params) -> ApiResult<Json<stats::Report>> {
    p.only(&["queue"])?;
    Ok(Json(stats::report(&app.store, p.queue()?).await?))
}

/// `POST /api/queues/{queue}/pause`: as `jobq pause Q --json`.
pub async fn pause(State(app): State<Shared>, Path(queue): Path<String>) -> ApiResult<Json<pause::Paused>> {
    Ok(Json(pause::set_paused(&app.store, &queue, true).await?))
}

/// `POST /api/queues/{queue}/resume`: as `jobq resume Q --json`.
pub async fn resume(State(app): State<Shared>, Path(queue): Path<String>) -> ApiResult<Json<pause::Paused>> {
    Ok(Json(pause::set_paused(&app.store, &queue, false).await?))
}

/// `GET /api/workers`: as `jobq workers --json`.
pub async fn workers(State(app): State<Shared>) -> ApiResult<Json<Vec<jobq::store::WorkerInfo>>> {
    Ok(Json(app.store.workers().await?))
}

/// `GET /api/schedules`: as `jobq schedule ls --json` (an empty array when there are none).
pub async fn schedules(State(app): State<Shared>) -> ApiResult<Json<serde_json::Value>> {
    let schedules = app.store.schedules().await?;
    let views = serde_json::to_value(crate::ops::schedule::views(&schedules))
        .map_err(|e| jobq::Error::Io(e.to_string()))?;
    Ok(Json(views))
}

/// `GET /api/dlq?queue=&type=&limit=&cursor=`: as `jobq dlq ls --json`.
pub async fn dlq(State(app): State<Shared>, p: Params) -> ApiResult<Json<Listing>> {
    p.only(&["queue", "type", "limit", "cursor"])?;
    let filter = Filter::new(Some(StateFilter::Dead), p.get("type").map(str::to_string))?;
    let listing = listing::page_of(&app.store, p.queue()?, &filter, p.limit()?, p.get("cursor")).await?;
    Ok(Json(listing))
}

/// The body of `POST /api/dlq/drain|purge`: the filters of `jobq dlq drain|purge`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Select {
    queue: Option<String>,
    #[serde(rename = "type")]
    job_type: Option<String>,
    limit: Option<u64>,
}

fn select(body: &str) -> ApiResult<(Select, Filter)> {
    let sel: Select = if body.trim().is_empty() {
        Select::default()
    } else {
        serde_json::from_str(body).map_err(|e| {
            ApiError::bad_request(format!(
                "body is not a selection ({e}); expected e.g. {{\"queue\":\"high\",\"type\":\"send_email\",\"limit\":100}}"
            ))
        })?
    };
    if sel.limit == Some(0) {
        return Err(ApiError::bad_request("limit must be at least 1"));
    }
    if let Some(q) = &sel.queue {
        validate_name("queue", q)?;
    }
    let filter = Filter::new(Some(StateFilter::Dead), sel.job_type.clone())?;
    Ok((sel, filter))
}

/// `POST /api/dlq/drain`: as `jobq dlq drain --yes --json`.
pub async fn dlq_drain(State(app): State<Shared>, body: String) -> ApiResult<Json<Report>> {
    let (sel, filter) = select(&body)?;
    let queues = target_queues(&app.store, sel.queue.as_deref()).await?;
    let done = requeue::requeue_bulk(&app.store, &queues, &filter, sel.limit, true, Caller::Api).await?;
    Ok(Json(done.report))
}

/// `POST /api/dlq/purge`: as `jobq dlq purge --yes --json`.
pub async fn dlq_purge(State(app): State<Shared>, body: String) -> ApiResult<Json<Report>> {
    let (sel, filter) = select(&body)?;
    let queues = target_queues(&app.store, sel.queue.as_deref()).await?;
    let job_type = filter.job_type.as_deref();
    let done = delete::delete_bulk(
        &app.store,
        &queues,
        &[JobState::Dead],
        job_type,
        sel.limit,
        ("dead", true),
        Caller::Api,
    )
    .await?;
    Ok(Json(done.report))
}

/// `GET /healthz`: the process answers.
pub async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// `GET /readyz`: Redis answers (503 with the reason otherwise).
pub async fn readyz(State(app): State<Shared>) -> ApiResult<Json<serde_json::Value>> {
    app.store.server_time_ms().await?;
    Ok(Json(serde_json::json!({ "status": "ready" })))
}

/// Unknown `/api/...` paths answer in JSON too.
pub async fn not_found() -> ApiError {
    ApiError::from(Error::NotFound(
        "no such API endpoint; see README \"HTTP API and dashboard\"".into(),
    ))
}
