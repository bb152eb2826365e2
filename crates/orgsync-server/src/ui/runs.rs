//! `GET /runs`: the latest runs of every provider, and `GET /runs/{id}`:
//! one provider's run history with charts of duration, Okta API calls and
//! entity counts over its recent runs.

use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use http::HeaderMap;
use maud::{html, Markup};
use orgsync_store::{RunOutcome, RunRecord};

use super::chart::{LineChart, Series};
use super::entity::encode_segment;
use super::format::{count, duration_ms, outcome_badge, time};
use super::home::progress;
use super::{check_read_access, Page, PageError, Section, UiState, Viewer};

/// Runs listed on `/runs`.
const LATEST_RUNS: usize = 50;
/// Runs a provider's page lists and charts.
const PROVIDER_RUNS: usize = 100;
/// How often the page script reloads a running provider's progress, in
/// seconds.
const REFRESH_SECONDS: u32 = 2;

/// `GET /runs`.
pub async fn all_runs(
    State(state): State<UiState>,
    viewer: Viewer,
    headers: HeaderMap,
) -> Result<Page, PageError> {
    check_read_access(&state.auth, &viewer, &headers)?;
    let runs = state
        .scheduler
        .store()
        .runs(None, LATEST_RUNS)
        .await
        .map_err(|error| PageError::store(&viewer, "Reading the run history", &error))?;
    let providers = state.scheduler.status().providers();

    let content = html! {
        div class="page-head" {
            div {
                h1 { "Runs" }
                p class="lead" { "Sync runs of every Okta provider, newest first." }
            }
        }
        @if !providers.is_empty() {
            nav aria-label="Providers" {
                ul class="chips" {
                    @for provider in &providers {
                        li { a href=(provider_href(&provider.id)) { (provider.id) " history" } }
                    }
                }
            }
        }
        h2 { "Latest runs" }
        @if runs.is_empty() {
            p class="muted" { "No provider has run yet." }
        } @else {
            (runs_table(&runs, true))
        }
    };
    Ok(Page {
        title: "Runs".to_string(),
        section: Section::Runs,
        viewer,
        content,
    })
}

/// `GET /runs/{id}`.
pub async fn provider_runs(
    State(state): State<UiState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Page, PageError> {
    check_read_access(&state.auth, &viewer, &headers)?;
    let status = state.scheduler.status().provider(&id);
    let runs = state
        .scheduler
        .store()
        .runs(Some(&id), PROVIDER_RUNS)
        .await
        .map_err(|error| PageError::store(&viewer, "Reading the run history", &error))?;
    if status.is_none() && runs.is_empty() {
        return Err(PageError::not_found(
            &viewer,
            format!("No provider named {id}"),
            format!(
                "No provider {id:?} is configured and none has run under that id. \
                 The Runs page lists the configured providers."
            ),
        ));
    }

    let running = status.as_ref().is_some_and(|status| status.running);
    let content = html! {
        nav class="breadcrumbs" aria-label="Breadcrumb" {
            ol {
                li { a href="/runs" { "Runs" } }
                li { span aria-current="page" { (id) } }
            }
        }
        div class="page-head" {
            div {
                h1 { (id) }
                @if let Some(status) = &status {
                    p class="lead mono" { (status.okta_url) }
                } @else {
                    p class="lead" { "This provider is no longer configured; its history remains." }
                }
            }
        }
        div id="live-run" aria-live="polite" data-refresh=[running.then_some(REFRESH_SECONDS)] {
            @if let Some(current) = status.as_ref().and_then(|status| status.current_run.as_ref()) {
                div class="card" {
                    h2 { "Run in progress " (outcome_badge("running")) }
                    (progress(current))
                }
            }
        }
        h2 { "Over time" }
        (charts(&runs))
        h2 { "History" }
        @if runs.is_empty() {
            p class="muted" { "This provider has not run yet." }
        } @else {
            (runs_table(&runs, false))
        }
    };
    Ok(Page {
        title: format!("Runs of {id}"),
        section: Section::Runs,
        viewer,
        content,
    })
}

fn provider_href(id: &str) -> String {
    format!("/runs/{}", encode_segment(id))
}

fn duration_of(run: &RunRecord) -> Option<u64> {
    let finished = run.finished_at?;
    let elapsed = (finished - run.started_at).to_std().ok()?;
    Some(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
}

fn non_negative(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn runs_table(runs: &[RunRecord], with_provider: bool) -> Markup {
    html! {
        div class="table-wrap" {
            table {
                thead {
                    tr {
                        @if with_provider { th scope="col" { "Provider" } }
                        th scope="col" { "Started" }
                        th scope="col" { "Outcome" }
                        th scope="col" class="number" { "Duration" }
                        th scope="col" class="number" { "Users" }
                        th scope="col" class="number" { "Groups" }
                        th scope="col" class="number" { "Added" }
                        th scope="col" class="number" { "Updated" }
                        th scope="col" class="number" { "Removed" }
                        th scope="col" class="number" { "API calls" }
                    }
                }
                tbody {
                    @for run in runs {
                        tr {
                            @if with_provider {
                                td { a href=(provider_href(&run.provider)) { (run.provider) } }
                            }
                            td { (time(run.started_at)) }
                            td {
                                (outcome_badge(run.outcome.as_str()))
                                @if let Some(error) = &run.error {
                                    div class="muted run-error" title=(error) { (error) }
                                }
                            }
                            td class="number" { @if let Some(milliseconds) = duration_of(run) { (duration_ms(milliseconds)) } }
                            td class="number" { (count(non_negative(run.users))) }
                            td class="number" { (count(non_negative(run.groups))) }
                            td class="number" { (count(non_negative(run.added))) }
                            td class="number" { (count(non_negative(run.updated))) }
                            td class="number" { (count(non_negative(run.removed))) }
                            td class="number" { (count(non_negative(run.api_calls))) }
                        }
                    }
                }
            }
        }
    }
}

/// Draws the charts of the finished runs in `runs` (newest first), oldest
/// first. Failed runs have no entity counts worth drawing, so their points
/// are left out of the entity chart.
fn charts(runs: &[RunRecord]) -> Markup {
    let finished: Vec<&RunRecord> = runs
        .iter()
        .rev()
        .filter(|run| run.outcome != RunOutcome::Running && run.finished_at.is_some())
        .collect();
    if finished.is_empty() {
        return html! { p class="muted" { "Charts appear after the first finished run." } };
    }
    let labels: Vec<String> = finished.iter().map(|run| label(run.started_at)).collect();
    let complete = |run: &RunRecord| {
        matches!(
            run.outcome,
            RunOutcome::Succeeded | RunOutcome::DryRun | RunOutcome::Blocked
        )
    };
    let as_float = |value: u64| value as f64;

    let duration = LineChart {
        id: "chart-duration",
        title: "Duration",
        labels: &labels,
        series: vec![Series {
            name: "Duration",
            color: 1,
            values: finished
                .iter()
                .map(|run| duration_of(run).map(as_float))
                .collect(),
        }],
        format: |milliseconds| duration_ms(milliseconds.round() as u64),
    };
    let api_calls = LineChart {
        id: "chart-api-calls",
        title: "Okta API calls",
        labels: &labels,
        series: vec![Series {
            name: "API calls",
            color: 2,
            values: finished
                .iter()
                .map(|run| complete(run).then(|| as_float(non_negative(run.api_calls))))
                .collect(),
        }],
        format: |calls| count(calls.round() as u64),
    };
    let entities = LineChart {
        id: "chart-entities",
        title: "Entities",
        labels: &labels,
        series: vec![
            Series {
                name: "Users",
                color: 1,
                values: finished
                    .iter()
                    .map(|run| complete(run).then(|| as_float(non_negative(run.users))))
                    .collect(),
            },
            Series {
                name: "Groups",
                color: 3,
                values: finished
                    .iter()
                    .map(|run| complete(run).then(|| as_float(non_negative(run.groups))))
                    .collect(),
            },
        ],
        format: |entities| count(entities.round() as u64),
    };
    html! {
        div class="charts" {
            (duration.render())
            (api_calls.render())
            (entities.render())
        }
    }
}

fn label(at: DateTime<Utc>) -> String {
    at.format("%m-%d %H:%M").to_string()
}
