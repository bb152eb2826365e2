//! `GET /sign-in`, `POST /sign-in` and `POST /sign-out`: the admin's
//! sign-in form and the session it starts ([`crate::session`]).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use http::{HeaderMap, StatusCode};
use maud::{html, Markup};
use serde::Deserialize;

use super::{Page, Section, Viewer};
use crate::session::{
    csrf_matches, set_cookie, sign_in_token_matches, AdminCredentials, Session, Sessions,
};

/// How long a failed sign-in waits before its response, to slow down
/// password guessing.
/// NOTE: the delay is per request; parallel guesses are not limited.
const FAILED_SIGN_IN_DELAY: Duration = Duration::from_secs(1);

/// The name a signed-in admin is shown as.
const ADMIN_NAME: &str = "admin";

/// The parts the sign-in pages use.
#[derive(Clone)]
pub struct SignInState {
    pub sessions: Arc<Sessions>,
    pub admin: Arc<AdminCredentials>,
}

/// Builds the sign-in routes.
pub fn routes(state: SignInState) -> Router {
    Router::new()
        .route("/sign-in", get(sign_in_form).post(sign_in))
        .route("/sign-out", post(sign_out))
        .with_state(state)
}

/// The query of `GET /sign-in`.
#[derive(Debug, Default, Deserialize)]
pub struct SignInQuery {
    /// The page to return to after signing in.
    #[serde(default)]
    next: String,
}

/// The fields of the sign-in form. `Debug` leaves out the secret.
#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    secret: String,
    #[serde(default)]
    sign_in_token: String,
    #[serde(default)]
    next: String,
}

/// The fields of the sign-out form.
#[derive(Debug, Deserialize)]
pub struct SignOutForm {
    #[serde(default)]
    csrf_token: String,
}

/// Returns `next` when it is a path on this server, else `/settings`, so
/// that the form cannot send people to another site.
fn safe_next(next: &str) -> String {
    let local = next.starts_with('/') && !next.starts_with("//") && !next.contains('\\');
    if local {
        next.to_string()
    } else {
        "/settings".to_string()
    }
}

async fn sign_in_form(
    State(state): State<SignInState>,
    viewer: Viewer,
    Query(query): Query<SignInQuery>,
) -> Response {
    if viewer.is_signed_in() {
        return Redirect::to(&safe_next(&query.next)).into_response();
    }
    sign_in_page(&state, &safe_next(&query.next), None, StatusCode::OK)
}

/// Renders the form with a fresh sign-in token in a cookie and a field.
fn sign_in_page(
    state: &SignInState,
    next: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let (token, cookie) = state.sessions.sign_in_token();
    let page = Page {
        title: "Sign in".to_string(),
        section: Section::Settings,
        viewer: Viewer::Anonymous,
        content: sign_in_content(state.admin.is_enabled(), &token, next, error),
    };
    let mut response = page.into_response_with(status);
    set_cookie(response.headers_mut(), cookie);
    response
}

fn sign_in_content(enabled: bool, token: &str, next: &str, error: Option<&str>) -> Markup {
    html! {
        div class="page-head" {
            h1 { "Sign in" }
            p class="lead" { "Administrators sign in to manage Okta providers." }
        }
        section class="card narrow" aria-labelledby="sign-in-heading" {
            h2 id="sign-in-heading" class="visually-hidden" { "Sign in as administrator" }
            @if !enabled {
                p class="notice bad" role="alert" {
                    "Sign-in is disabled because no admin password or token is configured. "
                    "Set backend.auth.adminPassword (or the ORGSYNC_ADMIN_PASSWORD environment "
                    "variable), or the admin token, and restart orgsync."
                }
            } @else {
                @if let Some(error) = error {
                    p class="notice bad" role="alert" id="sign-in-error" { (error) }
                }
                form method="post" action="/sign-in" class="stacked" {
                    input type="hidden" name="sign_in_token" value=(token);
                    input type="hidden" name="next" value=(next);
                    div class="field" {
                        label for="secret" { "Admin password or token" }
                        input type="password" id="secret" name="secret" required
                            autocomplete="current-password"
                            aria-describedby=[error.map(|_| "sign-in-error")];
                    }
                    button type="submit" class="button" { "Sign in" }
                }
            }
        }
    }
}

async fn sign_in(
    State(state): State<SignInState>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let next = safe_next(&form.next);
    if !sign_in_token_matches(&headers, &form.sign_in_token) {
        tracing::warn!("sign-in rejected: the form's token does not match its cookie");
        return sign_in_page(
            &state,
            &next,
            Some(
                "The sign-in form expired or was opened in another tab. Enter the password again.",
            ),
            StatusCode::FORBIDDEN,
        );
    }
    // Argon2 is CPU-heavy; it runs off the async worker threads.
    let admin = Arc::clone(&state.admin);
    let verified = tokio::task::spawn_blocking(move || admin.verify(&form.secret))
        .await
        .unwrap_or(false);
    if !verified {
        tracing::warn!("sign-in failed: wrong admin password or token");
        tokio::time::sleep(FAILED_SIGN_IN_DELAY).await;
        return sign_in_page(
            &state,
            &next,
            Some("The password or token is not correct. Check it and try again."),
            StatusCode::UNAUTHORIZED,
        );
    }

    // A new session id on every sign-in, so an id planted before sign-in
    // is worth nothing after it.
    state.sessions.end(&headers);
    let (id, _) = state.sessions.start();
    tracing::info!("admin signed in");
    let mut response = Redirect::to(&next).into_response();
    set_cookie(response.headers_mut(), state.sessions.session_cookie(&id));
    response
}

async fn sign_out(
    State(state): State<SignInState>,
    headers: HeaderMap,
    Form(form): Form<SignOutForm>,
) -> Response {
    if let Some(session) = state.sessions.find(&headers) {
        if !csrf_matches(&session, &form.csrf_token) {
            tracing::warn!("sign-out rejected: invalid CSRF token");
            return (
                StatusCode::FORBIDDEN,
                "The form expired; reload the page and sign out again.",
            )
                .into_response();
        }
        state.sessions.end(&headers);
        tracing::info!("admin signed out");
    }
    let mut response = Redirect::to("/").into_response();
    set_cookie(
        response.headers_mut(),
        state.sessions.expired_session_cookie(),
    );
    response
}

/// Middleware: puts the signed-in admin's [`Viewer`] in the request's
/// extensions when its session cookie names a live session. Without one the
/// extension is left as it is, so pages see an anonymous viewer.
pub async fn attach_viewer(
    State(sessions): State<Arc<Sessions>>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(session) = sessions.find(request.headers()) {
        request.extensions_mut().insert(viewer_of(&session));
    }
    next.run(request).await
}

fn viewer_of(session: &Session) -> Viewer {
    Viewer::Admin {
        name: ADMIN_NAME.to_string(),
        csrf_token: session.csrf_token.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_be_local_path() {
        assert_eq!(safe_next("/users?q=a"), "/users?q=a");
        assert_eq!(safe_next("https://evil.example"), "/settings");
        assert_eq!(safe_next("//evil.example"), "/settings");
        assert_eq!(safe_next("/\\evil.example"), "/settings");
        assert_eq!(safe_next(""), "/settings");
    }
}
