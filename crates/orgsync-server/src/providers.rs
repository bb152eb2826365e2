//! The provider status API under `/api/orgsync`:
//!
//! - `GET /providers`: every provider's schedule, next run, current run
//!   (phase and counts) and last run;
//! - `GET /providers/{id}`: one provider's status;
//! - `GET /providers/{id}/runs?limit=N`: its run history, newest first;
//! - `POST /providers/{id}/refresh`: start a run now (admin token);
//! - `POST /providers/{id}/approve`: approve the removals of a run the
//!   removal guard blocked, once (admin token).

use axum::extract::{Path, RawQuery, State};
use axum::routing::{get, post};
use axum::Json;
use http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::catalog::params::QueryParams;
use crate::error::{store_failure, ApiError};
use crate::routes::RouteList;
use crate::scheduler::approval::ApprovalError;
use crate::scheduler::status::FinishedRun;
use crate::scheduler::{Scheduler, SchedulerError};

/// The number of runs `runs` returns without a `limit`.
const DEFAULT_RUNS_LIMIT: usize = 20;
/// The largest `limit` of `runs`.
const MAX_RUNS_LIMIT: usize = 1000;

/// Lists the read routes.
pub fn read_routes() -> RouteList<Scheduler> {
    RouteList::new()
        .route(Method::GET, "/api/orgsync/providers", get(list_providers))
        .route(
            Method::GET,
            "/api/orgsync/providers/{id}",
            get(provider_status),
        )
        .route(
            Method::GET,
            "/api/orgsync/providers/{id}/runs",
            get(provider_runs),
        )
}

/// Lists the write routes.
pub fn write_routes() -> RouteList<Scheduler> {
    RouteList::new()
        .route(
            Method::POST,
            "/api/orgsync/providers/{id}/refresh",
            post(refresh_provider),
        )
        .route(
            Method::POST,
            "/api/orgsync/providers/{id}/approve",
            post(approve_removals),
        )
}

async fn list_providers(State(scheduler): State<Scheduler>) -> Json<Value> {
    Json(json!({ "items": scheduler.status().providers() }))
}

fn unknown(id: &str) -> ApiError {
    ApiError::NotFound(
        SchedulerError::UnknownProvider {
            provider: id.to_string(),
        }
        .to_string(),
    )
}

async fn provider_status(
    State(scheduler): State<Scheduler>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let status = scheduler
        .status()
        .provider(&id)
        .ok_or_else(|| unknown(&id))?;
    Ok(Json(json!(status)))
}

async fn provider_runs(
    State(scheduler): State<Scheduler>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    if scheduler.status().provider(&id).is_none() {
        return Err(unknown(&id));
    }
    let params = QueryParams::parse(raw.as_deref());
    let limit = params.integer("limit")?.unwrap_or(DEFAULT_RUNS_LIMIT);
    if limit == 0 || limit > MAX_RUNS_LIMIT {
        return Err(ApiError::Input(format!(
            "Invalid limit {limit}, expected 1 to {MAX_RUNS_LIMIT}"
        )));
    }

    let records = scheduler
        .store()
        .runs(Some(&id), limit)
        .await
        .map_err(|error| store_failure("reading the run history", &error))?;
    let items: Vec<FinishedRun> = records.iter().map(FinishedRun::from_record).collect();
    Ok(Json(json!({ "items": items })))
}

async fn refresh_provider(
    State(scheduler): State<Scheduler>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    match scheduler.refresh(&id).await {
        Ok(_) => {
            tracing::info!(provider = %id, "refresh requested through the API");
            let body = json!({ "provider": id, "trigger": "refresh", "status": "started" });
            Ok((StatusCode::ACCEPTED, Json(body)))
        }
        Err(error @ SchedulerError::UnknownProvider { .. }) => {
            Err(ApiError::NotFound(error.to_string()))
        }
        Err(
            error @ (SchedulerError::AlreadyRunning { .. }
            | SchedulerError::ClaimedElsewhere { .. }),
        ) => Err(ApiError::Conflict(error.to_string())),
        Err(error @ SchedulerError::ClaimFailed { .. }) => {
            tracing::warn!(provider = %id, error = %error, "refresh failed");
            Err(ApiError::Unavailable(error.to_string()))
        }
        Err(error @ SchedulerError::ShuttingDown) => Err(ApiError::Unavailable(error.to_string())),
    }
}

async fn approve_removals(
    State(scheduler): State<Scheduler>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    match scheduler.approve_removals(&id) {
        Ok(review) => Ok(Json(json!({ "provider": id, "removalReview": review }))),
        Err(error @ ApprovalError::UnknownProvider { .. }) => {
            Err(ApiError::NotFound(error.to_string()))
        }
        Err(error @ ApprovalError::NothingBlocked { .. }) => {
            Err(ApiError::Conflict(error.to_string()))
        }
    }
}
