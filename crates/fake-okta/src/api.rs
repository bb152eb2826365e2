//! The Management API endpoints the fake serves, and the org metadata.
//!
//! Endpoints (all `GET`):
//! - `/api/v1/users`, `/api/v1/users/{idOrLogin}`, `/api/v1/users/{id}/groups`
//!   need the scope `okta.users.read`;
//! - `/api/v1/groups`, `/api/v1/groups/{id}`, `/api/v1/groups/{id}/users`
//!   need `okta.groups.read`;
//! - `/.well-known/okta-organization` needs no credentials.
//!
//! Every API request first passes [`AuthState::authorize`], and then the
//! app's admin role applies. Without a role, every request gets
//! `403 E0000006`. A role limited to some groups shows only those groups
//! (Everyone only if listed) and their members, or the members of the
//! groups its user permissions cover when those are set apart. A request
//! for another group or user then gets `403 E0000006`, or `404 E0000007`
//! when the role is set to hide them. Paging, selection and rendering live in the submodules.

// Handlers return Okta's complete error response as the `Err` value; it is
// built at most once per request, so its size does not matter.
#![allow(clippy::result_large_err)]

mod paging;
mod render;
mod responses;
mod selection;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use crate::auth::{AdminScope, AuthState, HiddenResponse};
use crate::errors::json_response;
use crate::org::{Org, OrgHandle, User};

use paging::{take_page, QueryParams};
pub use paging::{PageSize, GROUPS, GROUPS_QUERY, GROUP_MEMBERS, USERS, USERS_QUERY, USER_GROUPS};
use render::GroupStats;
pub use render::UserOptions;
use responses::ResourceKind;
use selection::Selection;

/// The scope the users endpoints require.
pub const USERS_SCOPE: &str = "okta.users.read";

/// The scope the groups endpoints require.
pub const GROUPS_SCOPE: &str = "okta.groups.read";

/// State shared by the handlers: the org, the credentials, and the base URL
/// that links in bodies and headers start with.
#[derive(Debug, Clone)]
pub struct ApiState {
    org: OrgHandle,
    auth: AuthState,
    base_url: Arc<str>,
}

impl ApiState {
    /// Creates the state for an org served at `base_url` (no trailing slash).
    pub fn new(org: OrgHandle, auth: AuthState, base_url: &str) -> Self {
        Self {
            org,
            auth,
            base_url: Arc::from(base_url.trim_end_matches('/')),
        }
    }
}

/// Returns the router of the API endpoints and the org metadata.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/v1/users", get(list_users))
        .route("/api/v1/users/{id}", get(get_user))
        .route("/api/v1/users/{id}/groups", get(list_user_groups))
        .route("/api/v1/groups", get(list_groups))
        .route("/api/v1/groups/{id}", get(get_group))
        .route("/api/v1/groups/{id}/users", get(list_group_users))
        .route("/.well-known/okta-organization", get(org_metadata))
        .with_state(state)
}

/// Responds to requests for paths the fake does not serve with Okta's `404`.
pub async fn unknown_path(uri: Uri) -> Response {
    responses::unknown_path(uri.path())
}

/// Responds to requests with a method the path does not serve with Okta's
/// `405`.
pub async fn method_not_allowed() -> Response {
    responses::method_not_allowed()
}

/// The request parts every handler reads.
struct ApiRequest {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    params: QueryParams,
}

impl<S: Send + Sync> FromRequestParts<S> for ApiRequest {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self {
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            headers: parts.headers.clone(),
            params: QueryParams::parse(parts.uri.query()),
        })
    }
}

/// The visibility that the request's admin role grants.
enum Access {
    Everything,
    Groups {
        group_ids: BTreeSet<String>,
        hidden: HiddenResponse,
        /// The groups whose members the role may read; `None` means `group_ids`.
        member_group_ids: Option<BTreeSet<String>>,
    },
}

impl Access {
    fn user_visible(&self, org: &Org, user_id: &str) -> bool {
        match self {
            Access::Everything => true,
            Access::Groups {
                group_ids,
                member_group_ids,
                ..
            } => org.is_member_of_any(member_group_ids.as_ref().unwrap_or(group_ids), user_id),
        }
    }

    fn group_visible(&self, group_id: &str) -> bool {
        match self {
            Access::Everything => true,
            Access::Groups { group_ids, .. } => group_ids.contains(group_id),
        }
    }

    /// Returns the response for an object outside the role.
    fn hidden(&self, id: &str, kind: ResourceKind) -> Response {
        match self {
            Access::Groups {
                hidden: HiddenResponse::NotFound,
                ..
            } => responses::not_found(id, kind),
            _ => responses::forbidden(),
        }
    }
}

/// Checks credentials and scope, then the admin role.
fn authorize(state: &ApiState, request: &ApiRequest, scope: &str) -> Result<Access, Response> {
    let principal = state
        .auth
        .authorize(&request.method, &request.uri, &request.headers, scope)?;
    match principal.admin_scope {
        AdminScope::Everything => Ok(Access::Everything),
        AdminScope::NoRole => {
            tracing::debug!(client_id = %principal.client_id, "client has no admin role");
            Err(responses::forbidden())
        }
        AdminScope::Groups {
            group_ids,
            hidden,
            member_group_ids,
        } => Ok(Access::Groups {
            group_ids,
            hidden,
            member_group_ids,
        }),
    }
}

/// A JSON array written item by item, so that items can be copied from
/// stored text instead of built as `Value`s.
struct JsonArray {
    text: Vec<u8>,
}

impl JsonArray {
    /// Starts an array; `capacity` is a guess of the final size in bytes.
    fn with_capacity(capacity: usize) -> Self {
        let mut text = Vec::with_capacity(capacity);
        text.push(b'[');
        Self { text }
    }

    /// Returns the buffer to write the next item to, after its separator.
    fn next_item(&mut self) -> &mut Vec<u8> {
        if self.text.len() > 1 {
            self.text.push(b',');
        }
        &mut self.text
    }

    fn push_value(&mut self, value: &Value) {
        let text = value.to_string();
        self.next_item().extend_from_slice(text.as_bytes());
    }

    fn finish(mut self) -> Vec<u8> {
        self.text.push(b']');
        self.text
    }
}

/// Bytes a listed user takes, roughly, to size page buffers.
const LISTED_USER_BYTES: usize = 2048;

/// Returns a page of users as a JSON array.
fn user_page(users: &[&User], base_url: &str, options: UserOptions) -> JsonArray {
    let mut items = JsonArray::with_capacity(users.len() * LISTED_USER_BYTES);
    for user in users {
        render::write_list_user(items.next_item(), user, base_url, options);
    }
    items
}

/// Returns a `200` JSON array with the page's `Link` headers.
fn page_response(items: JsonArray, links: Vec<HeaderValue>) -> Response {
    let mut response = (StatusCode::OK, items.finish()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for link in links {
        response.headers_mut().append(header::LINK, link);
    }
    response
}

fn wants_stats(params: &QueryParams) -> bool {
    params
        .get("expand")
        .is_some_and(|expand| expand.split(',').any(|item| item.trim() == "stats"))
}

async fn list_users(
    State(state): State<ApiState>,
    request: ApiRequest,
) -> Result<Response, Response> {
    let access = authorize(&state, &request, USERS_SCOPE)?;
    let selection = Selection::for_users(&request.params)?;
    let size = if selection.is_query() {
        USERS_QUERY
    } else {
        USERS
    };
    let limit = request.params.limit(size)?;
    let after = match request.params.get("after") {
        Some(cursor) if !selection.is_query() => Some(paging::decode_user_cursor(cursor)?),
        _ => None,
    };
    let options = UserOptions::from_headers(&request.headers);

    let org = state.org.read();
    let selected = org
        .users_after(after)
        .filter(|user| selection.matches_user(user) && access.user_visible(&org, user.id()));
    let (page, more) = take_page(selected, limit);
    let next = page
        .last()
        .filter(|_| more)
        .map(|user| paging::user_cursor(user.id()));
    let items = user_page(&page, &state.base_url, options);
    drop(org);

    // Okta does not page `q` queries and sends no `Link` for them.
    let links = if selection.is_query() {
        Vec::new()
    } else {
        let path = request.uri.path();
        paging::link_headers(
            &state.base_url,
            path,
            &request.params,
            limit,
            next.as_deref(),
        )
    };
    Ok(page_response(items, links))
}

async fn get_user(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    request: ApiRequest,
) -> Result<Response, Response> {
    let access = authorize(&state, &request, USERS_SCOPE)?;
    let org = state.org.read();
    let user = org
        .user(&id)
        .ok_or_else(|| responses::not_found(&id, ResourceKind::User))?;
    if !access.user_visible(&org, user.id()) {
        return Err(access.hidden(&id, ResourceKind::User));
    }
    let options = UserOptions::from_headers(&request.headers);
    let body = render::single_user(user, &state.base_url, options);
    Ok(json_response(StatusCode::OK, &body))
}

async fn list_user_groups(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    request: ApiRequest,
) -> Result<Response, Response> {
    let access = authorize(&state, &request, USERS_SCOPE)?;
    let limit = request.params.limit(USER_GROUPS)?;
    let org = state.org.read();
    let after = match request.params.get("after") {
        Some(cursor) => Some(paging::decode_group_cursor(cursor, &org)?),
        None => None,
    };
    let user = org
        .user(&id)
        .ok_or_else(|| responses::not_found(&id, ResourceKind::User))?;
    if !access.user_visible(&org, user.id()) {
        return Err(access.hidden(&id, ResourceKind::User));
    }

    let groups = org.groups_of(user.id()).unwrap_or_default();
    let selected = groups.into_iter().filter(|group| {
        access.group_visible(group.id()) && after.as_ref().is_none_or(|key| group.order_key() > key)
    });
    let (page, more) = take_page(selected, limit);
    let next = page
        .last()
        .filter(|_| more)
        .map(|group| paging::group_cursor(group.order_key()));
    let mut items = JsonArray::with_capacity(0);
    for group in &page {
        items.push_value(&render::group(group, &state.base_url, None));
    }
    drop(org);

    let path = request.uri.path();
    let links = paging::link_headers(
        &state.base_url,
        path,
        &request.params,
        limit,
        next.as_deref(),
    );
    Ok(page_response(items, links))
}

async fn list_groups(
    State(state): State<ApiState>,
    request: ApiRequest,
) -> Result<Response, Response> {
    let access = authorize(&state, &request, GROUPS_SCOPE)?;
    let selection = Selection::for_groups(&request.params)?;
    let size = if selection.is_query() {
        GROUPS_QUERY
    } else {
        GROUPS
    };
    let limit = request.params.limit(size)?;
    let stats = wants_stats(&request.params);

    let org = state.org.read();
    let after = match request.params.get("after") {
        Some(cursor) if !selection.is_query() => Some(paging::decode_group_cursor(cursor, &org)?),
        _ => None,
    };
    let selected = org
        .groups_after(after.as_ref())
        .filter(|group| access.group_visible(group.id()) && selection.matches_group(group));
    let (page, more) = take_page(selected, limit);
    let next = page
        .last()
        .filter(|_| more)
        .map(|group| paging::group_cursor(group.order_key()));
    let mut items = JsonArray::with_capacity(0);
    for group in &page {
        let counts = group_stats(&org, group.id(), stats);
        items.push_value(&render::group(group, &state.base_url, counts));
    }
    drop(org);

    let links = if selection.is_query() {
        Vec::new()
    } else {
        let path = request.uri.path();
        paging::link_headers(
            &state.base_url,
            path,
            &request.params,
            limit,
            next.as_deref(),
        )
    };
    Ok(page_response(items, links))
}

fn group_stats(org: &Org, group_id: &str, wanted: bool) -> Option<GroupStats> {
    if !wanted {
        return None;
    }
    Some(GroupStats {
        users_count: org.member_count(group_id).unwrap_or(0),
    })
}

async fn get_group(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    request: ApiRequest,
) -> Result<Response, Response> {
    let access = authorize(&state, &request, GROUPS_SCOPE)?;
    let org = state.org.read();
    let group = org
        .group(&id)
        .ok_or_else(|| responses::not_found(&id, ResourceKind::Group))?;
    if !access.group_visible(group.id()) {
        return Err(access.hidden(&id, ResourceKind::Group));
    }
    let stats = group_stats(&org, group.id(), wants_stats(&request.params));
    let body = render::group(group, &state.base_url, stats);
    Ok(json_response(StatusCode::OK, &body))
}

async fn list_group_users(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    request: ApiRequest,
) -> Result<Response, Response> {
    let access = authorize(&state, &request, GROUPS_SCOPE)?;
    let limit = request.params.limit(GROUP_MEMBERS)?;
    let after = match request.params.get("after") {
        Some(cursor) => Some(paging::decode_user_cursor(cursor)?),
        None => None,
    };
    let options = UserOptions::from_headers(&request.headers);

    let org = state.org.read();
    if org.group(&id).is_none() {
        return Err(responses::not_found(&id, ResourceKind::Group));
    }
    if !access.group_visible(&id) {
        return Err(access.hidden(&id, ResourceKind::Group));
    }
    // NOTE: whether Okta leaves out members the role may not read, as here,
    // or rejects the whole list is a guess.
    let members = org
        .members_after(&id, after)
        .ok_or_else(|| responses::not_found(&id, ResourceKind::Group))?
        .filter(|user| access.user_visible(&org, user.id()));
    let (page, more) = take_page(members, limit);
    let next = page
        .last()
        .filter(|_| more)
        .map(|user| paging::user_cursor(user.id()));
    let items = user_page(&page, &state.base_url, options);
    drop(org);

    let path = request.uri.path();
    let links = paging::link_headers(
        &state.base_url,
        path,
        &request.params,
        limit,
        next.as_deref(),
    );
    Ok(page_response(items, links))
}

/// `GET /.well-known/okta-organization`, shaped like the OpenAPI example of
/// an Identity Engine org; the base URL serves as both org and custom domain.
async fn org_metadata(State(state): State<ApiState>) -> Response {
    let org_id = state.org.read().org_id().to_owned();
    let body = json!({
        "id": org_id,
        "_links": {
            "organization": { "href": state.base_url.as_ref() },
            "alternate": { "href": state.base_url.as_ref() },
        },
        "pipeline": "idx",
    });
    json_response(StatusCode::OK, &body)
}
