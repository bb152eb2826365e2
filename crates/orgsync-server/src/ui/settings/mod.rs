//! The Catalog Settings pages under `/settings`: the list of Okta
//! providers, and a form per saved provider with Test connection, Preview
//! changes, Save changes, Run now and Delete.
//!
//! Everyone with read access gets the list and the read-only settings.
//! Only a signed-in admin gets the forms, and every POST needs the
//! session's CSRF token. Providers from config files are shown read-only
//! with their file. Saving goes through the
//! [`ProviderRegistry`](crate::settings::ProviderRegistry), which
//! validates with the config reader's messages, seals the private key and
//! applies the change to the scheduler at once.
//!
//! Every form posts back to its page and every action re-renders the page,
//! so the pages work without JavaScript. The page script only refreshes the
//! run panel while a run is in progress.

mod render;

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use http::{HeaderMap, StatusCode};
use maud::{html, Markup};
use orgsync_config::ProviderConfig;
use orgsync_doctor::DoctorOptions;
use orgsync_store::{EntityQuery, SaveMode, SavedProvider, Store, StoreError};
use orgsync_sync::{NoProgress, SyncOptions, SyncReport};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::layout::error_page;
use super::{check_read_access, Page, Section, Viewer};
use crate::auth::AuthConfig;
use crate::scheduler::{Scheduler, SchedulerError};
use crate::session::csrf_matches_token;
use crate::settings::input::{FieldErrors, ProviderInput};
use crate::settings::{ProviderRegistry, SaveError, SAVED_SOURCE};
use render::{ProviderRow, StoredKey};

/// The parts the settings pages read and change.
#[derive(Clone)]
pub struct SettingsState {
    pub registry: Arc<ProviderRegistry>,
    pub scheduler: Scheduler,
    pub auth: Arc<AuthConfig>,
}

/// Builds the settings routes.
pub fn routes(state: SettingsState) -> Router {
    Router::new()
        .route("/settings", get(list))
        .route("/settings/providers/new", get(new_form))
        .route("/settings/providers", axum::routing::post(create))
        .route(
            "/settings/providers/{id}",
            get(provider_page).post(provider_action),
        )
        .with_state(state)
}

/// The fields every settings form posts, besides the provider's.
#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    action: String,
    /// The revision the form was opened on; empty for a new provider.
    #[serde(default)]
    revision: String,
    #[serde(flatten)]
    input: ProviderInput,
}

/// The query of the list and provider pages: what the last action did.
#[derive(Debug, Default, Deserialize)]
pub struct NoticeQuery {
    #[serde(default)]
    saved: Option<String>,
    #[serde(default)]
    deleted: Option<String>,
    #[serde(default)]
    started: Option<String>,
}

fn forbidden(viewer: Viewer, message: &str) -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        viewer,
        "Administrators only",
        message,
    )
}

fn store_failed(viewer: Viewer, operation: &str, error: &StoreError) -> Response {
    tracing::error!(operation, error = %error, "settings page could not use the database");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        viewer,
        "The catalog database returned an error",
        &format!(
            "{operation} failed because the catalog database returned an error; the server \
             log has the details. Reload the page to try again."
        ),
    )
}

/// Returns the session's CSRF token when the viewer is a signed-in admin.
fn admin_token(viewer: &Viewer) -> Option<&str> {
    match viewer {
        Viewer::Admin { csrf_token, .. } => Some(csrf_token),
        Viewer::Anonymous => None,
    }
}

/// Checks that a POST comes from a signed-in admin's own form.
fn check_post(viewer: &Viewer, form_token: &str) -> Result<(), Response> {
    let Some(token) = admin_token(viewer) else {
        return Err(forbidden(
            viewer.clone(),
            "Only a signed-in administrator can change providers. Sign in and try again.",
        ));
    };
    if !csrf_matches_token(token, form_token) {
        tracing::warn!("settings form rejected: invalid CSRF token");
        return Err(forbidden(
            viewer.clone(),
            "The form expired or did not come from this site. Reload the page and try again.",
        ));
    }
    Ok(())
}

/// `GET /settings`.
async fn list(
    State(state): State<SettingsState>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(query): Query<NoticeQuery>,
) -> Response {
    if let Err(error) = check_read_access(&state.auth, &viewer, &headers) {
        return error.into_response();
    }
    let rows = match provider_rows(&state).await {
        Ok(rows) => rows,
        Err(error) => return store_failed(viewer, "Reading the providers", &error),
    };
    let notice = query
        .deleted
        .map(|id| format!("Deleted provider {id}. Its schedule has stopped."));
    let content = render::provider_list(&rows, viewer.is_signed_in(), notice.as_deref());
    page("Catalog Settings", viewer, content).into_response()
}

fn page(title: &str, viewer: Viewer, content: Markup) -> Page {
    Page {
        title: title.to_string(),
        section: Section::Settings,
        viewer,
        content,
    }
}

async fn provider_rows(state: &SettingsState) -> Result<Vec<ProviderRow>, StoreError> {
    let store = state.scheduler.store();
    let mut rows = Vec::new();
    for provider in state.registry.config_providers() {
        rows.push(
            row(
                state,
                store,
                &provider.id,
                provider.okta_url.as_str(),
                &provider.source,
                false,
                None,
            )
            .await?,
        );
    }
    for view in state.registry.saved_providers().await? {
        let settings = &view.saved.settings;
        rows.push(
            row(
                state,
                store,
                &settings.id,
                &settings.okta_url,
                SAVED_SOURCE,
                true,
                view.problem.clone(),
            )
            .await?,
        );
    }
    Ok(rows)
}

async fn row(
    state: &SettingsState,
    store: &Arc<dyn Store>,
    id: &str,
    okta_url: &str,
    source: &str,
    editable: bool,
    problem: Option<String>,
) -> Result<ProviderRow, StoreError> {
    let count = |kind: &str| EntityQuery {
        kind: Some(kind.to_string()),
        provider: Some(id.to_string()),
        ..EntityQuery::default()
    };
    Ok(ProviderRow {
        id: id.to_string(),
        okta_url: okta_url.to_string(),
        source: source.to_string(),
        editable,
        status: state.scheduler.status().provider(id),
        users: store.count_entities(&count("User")).await?,
        groups: store.count_entities(&count("Group")).await?,
        problem,
    })
}

/// `GET /settings/providers/new`.
async fn new_form(viewer: Viewer) -> Response {
    let Some(token) = admin_token(&viewer).map(str::to_string) else {
        return Redirect::to("/sign-in?next=/settings/providers/new").into_response();
    };
    let content = new_content(
        &ProviderInput::default(),
        &FieldErrors::default(),
        &token,
        None,
    );
    page("Add provider", viewer, content).into_response()
}

fn new_content(
    input: &ProviderInput,
    errors: &FieldErrors,
    token: &str,
    results: Option<Markup>,
) -> Markup {
    html! {
        nav class="breadcrumbs" aria-label="Breadcrumbs" {
            a href="/settings" { "Catalog Settings" } " / " span { "Add provider" }
        }
        div class="page-head" { h1 { "Add an Okta provider" } }
        (render::provider_form(input, errors, None, token))
        @if let Some(results) = results { (results) }
    }
}

/// `POST /settings/providers`: test, preview or save a new provider.
async fn create(
    State(state): State<SettingsState>,
    viewer: Viewer,
    Form(form): Form<SettingsForm>,
) -> Response {
    if let Err(response) = check_post(&viewer, &form.csrf_token) {
        return response;
    }
    let token = form.csrf_token.clone();
    let input = form.input;
    let outcome = match form.action.as_str() {
        "save" => match state.registry.save(&input, SaveMode::Create).await {
            Ok(saved) => return saved_redirect(&saved),
            Err(error) => Outcome::from_save_error(error, &viewer),
        },
        "test" => test_connection(&state, &input, None).await,
        "preview" => preview(&state, &input, None).await,
        other => return unknown_action(viewer, other),
    };
    match outcome {
        Outcome::Page {
            errors,
            results,
            status,
        } => {
            let content = new_content(&input, &errors, &token, results);
            page("Add provider", viewer, content).into_response_with(status)
        }
        Outcome::Response(response) => response,
    }
}

/// The result of an action: the form again, with errors or results, or a
/// finished response.
enum Outcome {
    Page {
        errors: FieldErrors,
        results: Option<Markup>,
        status: StatusCode,
    },
    Response(Response),
}

impl Outcome {
    fn results(results: Markup) -> Outcome {
        Outcome::Page {
            errors: FieldErrors::default(),
            results: Some(results),
            status: StatusCode::OK,
        }
    }

    fn invalid(errors: FieldErrors) -> Outcome {
        Outcome::Page {
            errors,
            results: None,
            status: StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    fn from_save_error(error: SaveError, viewer: &Viewer) -> Outcome {
        match error {
            SaveError::Invalid(errors) => Outcome::invalid(errors),
            SaveError::Store(StoreError::ProviderExists { provider }) => {
                let mut errors = FieldErrors::default();
                errors.add(
                    "id",
                    format!("\"{provider}\" is the id of a saved provider; choose another id or edit that provider"),
                );
                Outcome::invalid(errors)
            }
            SaveError::Store(error @ StoreError::StaleSettings { .. }) => {
                let mut errors = FieldErrors::default();
                errors.general.push(error.to_string());
                Outcome::Page {
                    errors,
                    results: None,
                    status: StatusCode::CONFLICT,
                }
            }
            SaveError::Secret(error) => {
                let mut errors = FieldErrors::default();
                errors.add("private_key", error.to_string());
                Outcome::invalid(errors)
            }
            SaveError::Store(error) => {
                Outcome::Response(store_failed(viewer.clone(), "Saving the provider", &error))
            }
        }
    }
}

fn unknown_action(viewer: Viewer, action: &str) -> Response {
    error_page(
        StatusCode::BAD_REQUEST,
        viewer,
        "Unknown action",
        &format!("The form asked for the action {action:?}, which this page does not have. Reload the page and use its buttons."),
    )
}

fn saved_redirect(saved: &SavedProvider) -> Response {
    Redirect::to(&format!(
        "/settings/providers/{}?saved=1",
        saved.settings.id
    ))
    .into_response()
}

/// Validates the form; the failure becomes the page's field errors.
fn validated(
    state: &SettingsState,
    input: &ProviderInput,
    existing: Option<&SavedProvider>,
) -> Result<ProviderConfig, Outcome> {
    match state.registry.validate(input, existing) {
        Ok((provider, _)) => Ok(provider),
        Err(error) => Err(Outcome::from_save_error(error, &Viewer::Anonymous)),
    }
}

/// Runs the doctor's checks on the form's settings.
async fn test_connection(
    state: &SettingsState,
    input: &ProviderInput,
    existing: Option<&SavedProvider>,
) -> Outcome {
    let provider = match validated(state, input, existing) {
        Ok(provider) => provider,
        Err(outcome) => return outcome,
    };
    tracing::info!(provider = %provider.id, "testing a provider's connection from the settings page");
    let report = orgsync_doctor::run_checks(&provider, &DoctorOptions::default()).await;
    Outcome::results(render::connection_report(&report))
}

/// Runs a dry-run sync of the form's settings.
async fn preview(
    state: &SettingsState,
    input: &ProviderInput,
    existing: Option<&SavedProvider>,
) -> Outcome {
    let provider = match validated(state, input, existing) {
        Ok(provider) => provider,
        Err(outcome) => return outcome,
    };
    tracing::info!(provider = %provider.id, "previewing a provider's changes from the settings page");
    match dry_run(Arc::clone(state.scheduler.store()), provider).await {
        Ok(report) => Outcome::results(render::preview(&report)),
        Err(message) => Outcome::results(render::action_failure("Preview failed", &message)),
    }
}

/// Runs the sync engine in dry-run mode as a task of its own, so that a
/// panic in it becomes an error on the page.
async fn dry_run(store: Arc<dyn Store>, provider: ProviderConfig) -> Result<SyncReport, String> {
    let options = SyncOptions {
        dry_run: true,
        ..SyncOptions::default()
    };
    let task = tokio::spawn(async move {
        orgsync_sync::run_provider(
            &provider,
            store.as_ref(),
            &options,
            Arc::new(NoProgress),
            CancellationToken::new(),
        )
        .await
    });
    match task.await {
        Ok(Ok(report)) => Ok(report),
        Ok(Err(error)) => Err(error.to_string()),
        Err(join) => {
            tracing::error!(error = %join, "the preview task panicked");
            Err("The preview stopped unexpectedly; the server log has the details.".to_string())
        }
    }
}

/// `GET /settings/providers/{id}`.
async fn provider_page(
    State(state): State<SettingsState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> Response {
    if let Err(error) = check_read_access(&state.auth, &viewer, &headers) {
        return error.into_response();
    }
    if let Some(provider) = state.registry.config_provider(&id) {
        let content = config_content(&state, &provider, &viewer);
        return page(&id, viewer, content).into_response();
    }
    let saved = match state.registry.saved_provider(&id).await {
        Ok(Some(saved)) => saved,
        Ok(None) => return not_found(viewer, &id),
        Err(error) => return store_failed(viewer, "Reading the provider", &error),
    };
    let notice = if query.saved.is_some() {
        Some("Saved. The scheduler runs the new settings from now on.")
    } else if query.started.is_some() {
        Some("Run started.")
    } else {
        None
    };
    let input = crate::settings::stored_input(&saved.settings);
    let content = saved_content(
        &state,
        &saved,
        &input,
        &FieldErrors::default(),
        &viewer,
        notice,
        None,
    );
    page(&id, viewer, content).into_response()
}

fn not_found(viewer: Viewer, id: &str) -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        viewer,
        "Provider not found",
        &format!("No provider has the id {id:?}. The Catalog Settings page lists every provider."),
    )
}

fn config_content(state: &SettingsState, provider: &ProviderConfig, viewer: &Viewer) -> Markup {
    let status = state.scheduler.status().provider(&provider.id);
    html! {
        (breadcrumbs(&provider.id))
        div class="page-head" { h1 { (provider.id) } }
        (render::config_provider(provider))
        @if let Some(token) = admin_token(viewer) {
            (render::run_panel(&provider.id, status.as_ref(), token))
        }
    }
}

fn breadcrumbs(id: &str) -> Markup {
    html! {
        nav class="breadcrumbs" aria-label="Breadcrumbs" {
            a href="/settings" { "Catalog Settings" } " / " span { (id) }
        }
    }
}

fn saved_content(
    state: &SettingsState,
    saved: &SavedProvider,
    input: &ProviderInput,
    errors: &FieldErrors,
    viewer: &Viewer,
    notice: Option<&str>,
    results: Option<Markup>,
) -> Markup {
    let id = &saved.settings.id;
    let status = state.scheduler.status().provider(id);
    let stored = StoredKey {
        fingerprint: &saved.settings.key_fingerprint,
        revision: saved.revision,
    };
    html! {
        (breadcrumbs(id))
        div class="page-head" {
            h1 { (id) }
            p class="lead" { "Saved in the catalog database; last changed " (crate::ui::format::time(saved.updated_at)) "." }
        }
        @if let Some(notice) = notice {
            p class="notice good" role="status" { (notice) }
        }
        @match admin_token(viewer) {
            Some(token) => {
                (render::run_panel(id, status.as_ref(), token))
                (render::provider_form(input, errors, Some(&stored), token))
                @if let Some(results) = results { (results) }
                (render::delete_form(id, saved.revision, token))
            }
            None => {
                p class="notice" {
                    a href={ "/sign-in?next=/settings/providers/" (id) } { "Sign in" }
                    " as an administrator to change this provider."
                }
                dl class="facts card" {
                    dt { "Okta URL" } dd class="mono" { (saved.settings.okta_url) }
                    dt { "Private key" } dd { "stored; fingerprint " code { (saved.settings.key_fingerprint) } }
                }
            }
        }
    }
}

/// `POST /settings/providers/{id}`: test, preview, save, run or delete.
async fn provider_action(
    State(state): State<SettingsState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<SettingsForm>,
) -> Response {
    if let Err(response) = check_post(&viewer, &form.csrf_token) {
        return response;
    }
    if form.action == "run" {
        return run_now(&state, viewer, &id).await;
    }
    if form.action == "approve" {
        return approve_removals(&state, viewer, &id);
    }
    let saved = match state.registry.saved_provider(&id).await {
        Ok(Some(saved)) => saved,
        Ok(None) => return not_found(viewer, &id),
        Err(error) => return store_failed(viewer, "Reading the provider", &error),
    };
    // The id is fixed once saved; the URL names the provider.
    let mut input = form.input;
    input.id = id.clone();

    let outcome = match form.action.as_str() {
        "save" => {
            let Ok(revision) = form.revision.parse::<i64>() else {
                return unknown_action(viewer, "save without a revision");
            };
            match state
                .registry
                .save(&input, SaveMode::Update { revision })
                .await
            {
                Ok(saved) => return saved_redirect(&saved),
                Err(error) => Outcome::from_save_error(error, &viewer),
            }
        }
        "delete" => return delete(&state, viewer, &id).await,
        "test" => test_connection(&state, &input, Some(&saved)).await,
        "preview" => preview(&state, &input, Some(&saved)).await,
        other => return unknown_action(viewer, other),
    };
    match outcome {
        Outcome::Page {
            errors,
            results,
            status,
        } => {
            let content = saved_content(&state, &saved, &input, &errors, &viewer, None, results);
            page(&id, viewer, content).into_response_with(status)
        }
        Outcome::Response(response) => response,
    }
}

async fn run_now(state: &SettingsState, viewer: Viewer, id: &str) -> Response {
    match state.scheduler.refresh(id).await {
        Ok(_) => {
            tracing::info!(provider = %id, "run started from the settings page");
            Redirect::to(&format!("/settings/providers/{id}?started=1#run-panel")).into_response()
        }
        Err(error @ SchedulerError::UnknownProvider { .. }) => not_found_message(viewer, &error),
        Err(error) => error_page(
            StatusCode::CONFLICT,
            viewer,
            "The run did not start",
            &error.to_string(),
        ),
    }
}

/// Approves the provider's run that the removal guard blocked, once, as
/// `POST /api/orgsync/providers/{id}/approve` does.
fn approve_removals(state: &SettingsState, viewer: Viewer, id: &str) -> Response {
    match state.scheduler.approve_removals(id) {
        Ok(review) => {
            tracing::info!(provider = %id, ?review, "removals approved from the settings page");
            Redirect::to(&format!("/settings/providers/{id}#run-panel")).into_response()
        }
        Err(error) => {
            tracing::warn!(provider = %id, error = %error, "approving removals failed");
            error_page(
                StatusCode::CONFLICT,
                viewer,
                "Nothing was approved",
                &error.to_string(),
            )
        }
    }
}

fn not_found_message(viewer: Viewer, error: &SchedulerError) -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        viewer,
        "Provider not scheduled",
        &error.to_string(),
    )
}

async fn delete(state: &SettingsState, viewer: Viewer, id: &str) -> Response {
    match state.registry.delete(id).await {
        Ok(true) => {
            tracing::info!(provider = %id, "saved provider deleted from the settings page");
            Redirect::to(&format!("/settings?deleted={id}")).into_response()
        }
        Ok(false) => not_found(viewer, id),
        Err(error) => store_failed(viewer, "Deleting the provider", &error),
    }
}
