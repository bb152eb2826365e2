//! The `/_fake/` control API and the request counters.
//!
//! Tests and demos change the running org through these JSON endpoints,
//! which need no credentials and are neither rate-limited, faulted nor
//! counted:
//!
//! | method and path | effect |
//! | --- | --- |
//! | `POST /_fake/users` | add a user from a partial object; `201` with it |
//! | `PUT /_fake/users/{id}` | merge fields into a user, or add it with this id |
//! | `DELETE /_fake/users/{id}` | remove a user and its memberships; `204` |
//! | `POST /_fake/groups` | add a group; `201` with it |
//! | `PUT`, `DELETE /_fake/groups/{id}` | as for users |
//! | `PUT`, `DELETE /_fake/groups/{gid}/users/{uid}` | add, remove a membership |
//! | `PUT /_fake/clients/{clientId}` | add or replace a `ClientRegistration` |
//! | `DELETE /_fake/clients/{clientId}` | remove a client registration |
//! | `GET`, `PUT /_fake/limits` | read or replace the `RateLimitConfig` |
//! | `GET`, `PUT /_fake/faults` | read or replace the `FaultConfig` |
//! | `GET /_fake/requests` | request counts per endpoint template and status |
//! | `POST /_fake/reset` | zero counts, rate-limit windows and fault sequence |
//! | `GET /_fake/org` | the org id and its numbers of users, groups, memberships |
//!
//! `PUT` on a user or group replaces top-level fields and merges `profile`
//! key by key. `POST /_fake/reset` with `{"reloadOrg": true}` also restores
//! the starting org.
//!
//! Partial objects are completed as [`crate::org::complete_user`] and
//! [`crate::org::complete_group`] describe. Errors are
//! `{"error": "<message>"}` with `400` (invalid input), `404` (unknown id)
//! or `409` (login already taken).
//!
//! *Request counting*: [`count_layer`] wraps the API routes and records each
//! response under `"{METHOD} {route template}"` (such as
//! `GET /api/v1/groups/{id}/users`) and its final status, after the rate-limit
//! and fault layers have acted.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::auth::{AuthState, ClientRegistration};
use crate::errors::json_response;
use crate::faults::{FaultConfig, FaultState};
use crate::generate::{generate_org, GenerateOptions};
use crate::limits::{LimitState, RateLimitConfig};
use crate::org::{complete_group, complete_user, format_timestamp, Org, OrgError, OrgHandle};

/// The key of requests no route matched.
const UNMATCHED: &str = "(no route)";

/// Request counts, shared between the counting middleware and readers.
#[derive(Debug, Clone, Default)]
pub struct RequestCounter {
    inner: Arc<Mutex<RequestCounts>>,
}

/// A snapshot of the request counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestCounts {
    /// All counted requests.
    pub total: u64,
    /// Counts by `"{METHOD} {route template}"`, then by status code.
    pub endpoints: BTreeMap<String, BTreeMap<String, u64>>,
}

impl RequestCounts {
    /// Returns the count of one endpoint and status, such as
    /// `count("GET /api/v1/users", 200)`.
    pub fn count(&self, endpoint: &str, status: u16) -> u64 {
        self.endpoints
            .get(endpoint)
            .and_then(|statuses| statuses.get(&status.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// Returns the count of one endpoint over all statuses.
    pub fn endpoint_total(&self, endpoint: &str) -> u64 {
        self.endpoints
            .get(endpoint)
            .map(|statuses| statuses.values().sum())
            .unwrap_or(0)
    }
}

impl RequestCounter {
    /// Records one response.
    pub fn record(&self, endpoint: String, status: StatusCode) {
        let mut counts = self.lock();
        counts.total += 1;
        *counts
            .endpoints
            .entry(endpoint)
            .or_default()
            .entry(status.as_u16().to_string())
            .or_default() += 1;
    }

    /// Returns the counts so far.
    pub fn snapshot(&self) -> RequestCounts {
        self.lock().clone()
    }

    /// Zeroes the counts.
    pub fn reset(&self) {
        *self.lock() = RequestCounts::default();
    }

    fn lock(&self) -> MutexGuard<'_, RequestCounts> {
        // Counts stay usable after a panic elsewhere; each update is complete.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Wraps every route of `router` (and its fallback) with request counting.
/// Apply it after the rate-limit and fault layers so it sees final statuses.
pub fn count_layer(router: Router, counter: RequestCounter) -> Router {
    router.layer(axum::middleware::from_fn_with_state(counter, count_request))
}

async fn count_request(
    State(counter): State<RequestCounter>,
    request: Request,
    next: Next,
) -> Response {
    let template = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str);
    let endpoint = format!("{} {template}", request.method());
    let response = next.run(request).await;
    counter.record(endpoint, response.status());
    response
}

/// The recipe from which `POST /_fake/reset` rebuilds the starting org.
#[derive(Debug, Clone)]
pub enum OrgRecipe {
    /// Regenerate from these options; generation is deterministic.
    Generate(GenerateOptions),
    /// Copy this org.
    Snapshot(Arc<Org>),
}

impl OrgRecipe {
    /// Builds the starting org again. A snapshot is shared, not copied.
    pub fn build(&self) -> Arc<Org> {
        match self {
            OrgRecipe::Generate(options) => Arc::new(generate_org(options)),
            OrgRecipe::Snapshot(org) => Arc::clone(org),
        }
    }
}

/// State that the control handlers change.
#[derive(Debug, Clone)]
pub struct ControlState {
    /// The served org.
    pub org: OrgHandle,
    /// How to rebuild the starting org.
    pub recipe: OrgRecipe,
    /// Client registrations and tokens.
    pub auth: AuthState,
    /// Rate-limit counters and settings.
    pub limits: LimitState,
    /// Fault settings and counts.
    pub faults: FaultState,
    /// Request counts.
    pub counter: RequestCounter,
}

/// Returns the router of the `/_fake/` endpoints.
pub fn router(state: ControlState) -> Router {
    Router::new()
        .route("/_fake/users", post(add_user))
        .route("/_fake/users/{id}", put(put_user).delete(delete_user))
        .route("/_fake/groups", post(add_group))
        .route("/_fake/groups/{id}", put(put_group).delete(delete_group))
        .route(
            "/_fake/groups/{group_id}/users/{user_id}",
            put(add_member).delete(remove_member),
        )
        .route("/_fake/clients/{id}", put(put_client).delete(delete_client))
        .route("/_fake/limits", get(get_limits).put(put_limits))
        .route("/_fake/faults", get(get_faults).put(put_faults))
        .route("/_fake/requests", get(get_requests))
        .route("/_fake/reset", post(reset))
        .route("/_fake/org", get(org_summary))
        .with_state(state)
}

/// A control API error: `{"error": message}` with a status.
#[derive(Debug)]
struct ControlError {
    status: StatusCode,
    message: String,
}

impl ControlError {
    fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

impl From<OrgError> for ControlError {
    fn from(error: OrgError) -> Self {
        let status = match error {
            OrgError::UserNotFound(_) | OrgError::GroupNotFound(_) => StatusCode::NOT_FOUND,
            OrgError::LoginTaken { .. } => StatusCode::CONFLICT,
            OrgError::Invalid { .. } | OrgError::EveryoneIsImplicit(_) => StatusCode::BAD_REQUEST,
        };
        Self {
            status,
            message: error.to_string(),
        }
    }
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        tracing::debug!(status = %self.status, message = %self.message, "control request rejected");
        json_response(self.status, &json!({ "error": self.message }))
    }
}

type ControlResult = Result<Response, ControlError>;

/// Reads a JSON body, naming the problem in the error.
fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T, ControlError> {
    serde_json::from_slice(body)
        .map_err(|error| ControlError::bad_request(format!("invalid {what} JSON: {error}")))
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

async fn add_user(State(state): State<ControlState>, body: bytes::Bytes) -> ControlResult {
    let partial: Value = parse_body(&body, "user")?;
    let mut org = state.org.write();
    let user = complete_user(&mut org, partial, Utc::now())?;
    let id = org.insert_user(user)?;
    tracing::info!(user_id = %id, "control API added a user");
    let object = org
        .user(&id)
        .map(|user| user.object().clone())
        .unwrap_or_default();
    Ok(json_response(StatusCode::CREATED, &object))
}

async fn put_user(
    State(state): State<ControlState>,
    Path(id): Path<String>,
    body: bytes::Bytes,
) -> ControlResult {
    let changes: Value = parse_body(&body, "user")?;
    let now = Utc::now();
    let mut org = state.org.write();
    let existing = org.user(&id).map(|user| user.object().clone());
    let merged = match existing {
        Some(current) => merge_changes(current, changes, now, true)?,
        None => with_id(changes, &id)?,
    };
    let user = complete_user(&mut org, merged, now)?;
    let id = org.insert_user(user)?;
    let object = org
        .user(&id)
        .map(|user| user.object().clone())
        .unwrap_or_default();
    Ok(json_response(StatusCode::OK, &object))
}

async fn delete_user(State(state): State<ControlState>, Path(id): Path<String>) -> ControlResult {
    let mut org = state.org.write();
    let user_id = org
        .user(&id)
        .map(|user| user.id().to_owned())
        .ok_or_else(|| OrgError::UserNotFound(id.clone()))?;
    org.remove_user(&user_id, Utc::now());
    tracing::info!(%user_id, "control API removed a user");
    Ok(no_content())
}

async fn add_group(State(state): State<ControlState>, body: bytes::Bytes) -> ControlResult {
    let partial: Value = parse_body(&body, "group")?;
    let mut org = state.org.write();
    let group = complete_group(&mut org, partial, Utc::now())?;
    let id = org.insert_group(group)?;
    tracing::info!(group_id = %id, "control API added a group");
    let object = org
        .group(&id)
        .map(|group| group.object().clone())
        .unwrap_or_default();
    Ok(json_response(StatusCode::CREATED, &object))
}

async fn put_group(
    State(state): State<ControlState>,
    Path(id): Path<String>,
    body: bytes::Bytes,
) -> ControlResult {
    let changes: Value = parse_body(&body, "group")?;
    let now = Utc::now();
    let mut org = state.org.write();
    let existing = org.group(&id).map(|group| {
        let mut object = group.object().clone();
        if let Some(app_id) = group.source_app_id() {
            object["source"] = json!({ "id": app_id });
        }
        object
    });
    let merged = match existing {
        Some(current) => merge_changes(current, changes, now, false)?,
        None => with_id(changes, &id)?,
    };
    let group = complete_group(&mut org, merged, now)?;
    let id = org.insert_group(group)?;
    let object = org
        .group(&id)
        .map(|group| group.object().clone())
        .unwrap_or_default();
    Ok(json_response(StatusCode::OK, &object))
}

async fn delete_group(State(state): State<ControlState>, Path(id): Path<String>) -> ControlResult {
    state.org.write().remove_group(&id)?;
    tracing::info!(group_id = %id, "control API removed a group");
    Ok(no_content())
}

async fn add_member(
    State(state): State<ControlState>,
    Path((group_id, user_id)): Path<(String, String)>,
) -> ControlResult {
    state
        .org
        .write()
        .add_member(&group_id, &user_id, Utc::now())?;
    Ok(no_content())
}

async fn remove_member(
    State(state): State<ControlState>,
    Path((group_id, user_id)): Path<(String, String)>,
) -> ControlResult {
    state
        .org
        .write()
        .remove_member(&group_id, &user_id, Utc::now())?;
    Ok(no_content())
}

/// Merges `changes` into `current`: top-level fields are replaced and
/// `profile` is merged key by key. `lastUpdated` (and `statusChanged` for a
/// user whose status changes) move to `now` unless `changes` sets them.
fn merge_changes(
    mut current: Value,
    changes: Value,
    now: chrono::DateTime<Utc>,
    is_user: bool,
) -> Result<Value, ControlError> {
    let Value::Object(changes) = changes else {
        return Err(ControlError::bad_request("the body must be a JSON object"));
    };
    let stamp = json!(format_timestamp(now));
    let status_changes = is_user
        && changes
            .get("status")
            .is_some_and(|status| Some(status) != current.get("status"));
    if !changes.contains_key("lastUpdated") {
        current["lastUpdated"] = stamp.clone();
    }
    if status_changes && !changes.contains_key("statusChanged") {
        current["statusChanged"] = stamp;
    }
    for (key, value) in changes {
        match (key.as_str(), value) {
            ("profile", Value::Object(profile)) => {
                for (name, field) in profile {
                    current["profile"][name] = field;
                }
            }
            (_, value) => current[key] = value,
        }
    }
    Ok(current)
}

fn with_id(mut changes: Value, id: &str) -> Result<Value, ControlError> {
    match changes.as_object_mut() {
        Some(map) => {
            map.insert("id".to_owned(), json!(id));
            Ok(changes)
        }
        None => Err(ControlError::bad_request("the body must be a JSON object")),
    }
}

async fn put_client(
    State(state): State<ControlState>,
    Path(id): Path<String>,
    body: bytes::Bytes,
) -> ControlResult {
    let mut value: Value = parse_body(&body, "client registration")?;
    if let Some(map) = value.as_object_mut() {
        map.insert("client_id".to_owned(), json!(id));
    }
    let client: ClientRegistration = serde_json::from_value(value).map_err(|error| {
        ControlError::bad_request(format!("invalid client registration JSON: {error}"))
    })?;
    client
        .validate()
        .map_err(|error| ControlError::bad_request(error.to_string()))?;
    state.auth.upsert_client(client);
    Ok(no_content())
}

async fn delete_client(State(state): State<ControlState>, Path(id): Path<String>) -> ControlResult {
    if state.auth.remove_client(&id) {
        Ok(no_content())
    } else {
        Err(ControlError {
            status: StatusCode::NOT_FOUND,
            message: format!("client {id:?} is not registered"),
        })
    }
}

async fn get_limits(State(state): State<ControlState>) -> Response {
    Json(state.limits.config()).into_response()
}

async fn put_limits(State(state): State<ControlState>, body: bytes::Bytes) -> ControlResult {
    let config: RateLimitConfig = parse_body(&body, "rate-limit settings")?;
    state
        .limits
        .set_config(config)
        .map_err(|error| ControlError::bad_request(error.to_string()))?;
    Ok(no_content())
}

async fn get_faults(State(state): State<ControlState>) -> Response {
    Json(state.faults.config()).into_response()
}

async fn put_faults(State(state): State<ControlState>, body: bytes::Bytes) -> ControlResult {
    let config: FaultConfig = parse_body(&body, "fault settings")?;
    state
        .faults
        .set_config(config)
        .map_err(|error| ControlError::bad_request(error.to_string()))?;
    Ok(no_content())
}

async fn get_requests(State(state): State<ControlState>) -> Response {
    Json(state.counter.snapshot()).into_response()
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ResetRequest {
    #[serde(default)]
    reload_org: bool,
}

async fn reset(State(state): State<ControlState>, body: bytes::Bytes) -> ControlResult {
    let request: ResetRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ResetRequest::default()
    } else {
        parse_body(&body, "reset request")?
    };
    state.counter.reset();
    state.limits.reset();
    state.faults.reset();
    if request.reload_org {
        let recipe = state.recipe.clone();
        let org = tokio::task::spawn_blocking(move || recipe.build())
            .await
            .map_err(|error| ControlError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                message: format!("rebuilding the org failed: {error}"),
            })?;
        state.org.replace(org);
    }
    tracing::info!(
        reload_org = request.reload_org,
        "control API reset the fake"
    );
    Ok(no_content())
}

async fn org_summary(State(state): State<ControlState>) -> Response {
    let org = state.org.read();
    let body = json!({
        "orgId": org.org_id(),
        "users": org.user_count(),
        "groups": org.group_count(),
        "memberships": org.membership_count(),
    });
    json_response(StatusCode::OK, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> chrono::DateTime<Utc> {
        chrono::DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
            .map(|time| time.with_timezone(&Utc))
            .unwrap()
    }

    #[test]
    fn merge_keeps_other_profile_fields() {
        let current = json!({"status": "ACTIVE", "profile": {"login": "a@x", "title": "Dev"}});
        let merged =
            merge_changes(current, json!({"profile": {"title": "Lead"}}), now(), true).unwrap();
        assert_eq!(merged["profile"]["login"], "a@x");
        assert_eq!(merged["profile"]["title"], "Lead");
    }

    #[test]
    fn status_change_moves_status_changed() {
        let current = json!({"status": "ACTIVE", "statusChanged": "2020-01-01T00:00:00.000Z"});
        let merged = merge_changes(current, json!({"status": "SUSPENDED"}), now(), true).unwrap();
        assert_eq!(merged["statusChanged"], "2024-05-01T12:00:00.000Z");
        assert_eq!(merged["lastUpdated"], "2024-05-01T12:00:00.000Z");
    }

    #[test]
    fn counts_group_by_endpoint_and_status() {
        let counter = RequestCounter::default();
        counter.record("GET /api/v1/users".to_owned(), StatusCode::OK);
        counter.record("GET /api/v1/users".to_owned(), StatusCode::OK);
        counter.record(
            "GET /api/v1/users".to_owned(),
            StatusCode::TOO_MANY_REQUESTS,
        );
        let counts = counter.snapshot();
        assert_eq!(counts.total, 3);
        assert_eq!(counts.count("GET /api/v1/users", 200), 2);
        assert_eq!(counts.count("GET /api/v1/users", 429), 1);
        assert_eq!(counts.endpoint_total("GET /api/v1/users"), 3);
    }
}
