//! `GET /`: the overview. It shows the catalog's totals, then one card per
//! Okta provider. A card shows the provider's last run (outcome, time,
//! duration, API calls), the users and groups it owns in the catalog, its
//! schedule, and the run in progress. While a run is in progress, the page
//! script refreshes the cards every two seconds.

use axum::extract::State;
use http::HeaderMap;
use maud::{html, Markup};
use orgsync_store::query::{EntityFilter, EntityPageQuery, FilterCondition};
use orgsync_store::{EntityQuery, StoreError};

use super::format::{count, duration_ms, interval, outcome_badge, time};
use super::{check_read_access, Page, PageError, Section, UiState, Viewer};
use crate::scheduler::status::{CurrentRun, ProviderStatus, ScheduleView};

/// How often the page script reloads the provider cards while a run is in
/// progress, in seconds.
const REFRESH_SECONDS: u32 = 2;

/// One provider's card: its status and what it owns in the catalog.
struct ProviderCard {
    status: ProviderStatus,
    users: usize,
    groups: usize,
}

/// `GET /`.
pub async fn overview(
    State(state): State<UiState>,
    viewer: Viewer,
    headers: HeaderMap,
) -> Result<Page, PageError> {
    check_read_access(&state.auth, &viewer, &headers)?;

    let failed = |error: StoreError| PageError::store(&viewer, "Counting the catalog", &error);
    let total_users = count_kind(&state, "user").await.map_err(failed)?;
    let total_groups = count_kind(&state, "group").await.map_err(failed)?;

    let mut cards = Vec::new();
    for status in state.scheduler.status().providers() {
        let users = count_owned(&state, &status.id, "User")
            .await
            .map_err(failed)?;
        let groups = count_owned(&state, &status.id, "Group")
            .await
            .map_err(failed)?;
        cards.push(ProviderCard {
            status,
            users,
            groups,
        });
    }

    Ok(Page {
        title: "Overview".to_string(),
        section: Section::Home,
        viewer,
        content: overview_content(total_users, total_groups, &cards),
    })
}

/// Counts the catalog's entities of `kind` (lower-case), whichever
/// provider owns them.
async fn count_kind(state: &UiState, kind: &str) -> Result<usize, StoreError> {
    let query = EntityPageQuery {
        filter: Some(EntityFilter {
            any_of: vec![vec![FilterCondition {
                key: "kind".to_string(),
                values: Some(vec![kind.to_string()]),
            }]],
        }),
        limit: 0,
        count_total: true,
        ..EntityPageQuery::default()
    };
    let page = state.catalog.query_entities(&query).await?;
    Ok(page.total.unwrap_or(0))
}

/// Counts the entities of `kind` that `provider` owns.
async fn count_owned(state: &UiState, provider: &str, kind: &str) -> Result<usize, StoreError> {
    let query = EntityQuery {
        kind: Some(kind.to_string()),
        provider: Some(provider.to_string()),
        ..EntityQuery::default()
    };
    state.scheduler.store().count_entities(&query).await
}

fn overview_content(total_users: usize, total_groups: usize, cards: &[ProviderCard]) -> Markup {
    let running = cards.iter().any(|card| card.status.running);
    html! {
        div class="page-head" {
            div {
                h1 { "Overview" }
                p class="lead" { "People and teams synced from Okta into the catalog." }
            }
        }
        dl class="stats card" aria-label="Catalog totals" {
            div { dt { "Users" } dd { a href="/users" { (count(to_u64(total_users))) } } }
            div { dt { "Groups" } dd { a href="/groups" { (count(to_u64(total_groups))) } } }
            div { dt { "Providers" } dd { (cards.len()) } }
        }
        h2 id="providers-heading" { "Okta providers" }
        div id="providers" aria-labelledby="providers-heading" aria-live="polite"
            data-refresh=[running.then_some(REFRESH_SECONDS)] {
            @if cards.is_empty() {
                div class="card" {
                    p { "No Okta provider is configured yet." }
                    p class="muted" {
                        "Add one under " a href="/settings" { "Settings" }
                        ", or in the config file under catalog.providers.okta, then reload the config."
                    }
                }
            } @else {
                div class="cards" {
                    @for card in cards { (provider_card(card)) }
                }
                @if running {
                    p class="muted" { "A sync is running; this list updates by itself. " a href="/" { "Reload" } }
                }
            }
        }
    }
}

fn provider_card(card: &ProviderCard) -> Markup {
    let status = &card.status;
    let heading_id = format!("provider-{}", status.id);
    html! {
        section class="card" aria-labelledby=(heading_id) {
            div class="card-head" {
                h3 id=(heading_id) { a href={ "/runs/" (status.id) } { (status.id) } }
                @if status.running {
                    (outcome_badge("running"))
                } @else if let Some(last) = &status.last_run {
                    (outcome_badge(&last.outcome))
                } @else {
                    span class="badge" { "Never run" }
                }
            }
            p class="muted mono" { (status.okta_url) }
            dl class="stats" {
                div { dt { "Users" } dd { (count(to_u64(card.users))) } }
                div { dt { "Groups" } dd { (count(to_u64(card.groups))) } }
            }
            @if let Some(current) = &status.current_run {
                (progress(current))
            }
            dl class="facts" {
                @if let Some(last) = &status.last_run {
                    dt { "Last run" }
                    dd {
                        (time(last.finished_at.unwrap_or(last.started_at)))
                        @if let Some(milliseconds) = last.duration_ms {
                            " · " span class="nowrap" { (duration_ms(milliseconds)) }
                        }
                        " · " span class="nowrap" { (count(last.api_calls)) " API calls" }
                    }
                    @if let Some(changes) = &last.changes {
                        dt { "Changes" }
                        dd {
                            (count(changes.added)) " added, "
                            (count(changes.updated)) " updated, "
                            (count(changes.removed)) " removed"
                        }
                    }
                    @if let Some(error) = &last.error {
                        dt { "Error" }
                        dd class="notice bad" { (error) }
                    }
                }
                dt { "Schedule" }
                dd { (schedule(&status.schedule)) }
                @if let Some(next) = status.next_run_at {
                    dt { "Next run" }
                    dd { (time(next)) }
                }
            }
        }
    }
}

/// Renders the phase and counts of a run in progress.
pub(super) fn progress(current: &CurrentRun) -> Markup {
    let phase = current.phase.unwrap_or("starting");
    html! {
        div class="progress-line" {
            span { "Running since " (time(current.started_at)) ": " strong { (phase) } }
        }
        @if current.member_lists_planned > 0 {
            label class="progress-line" {
                "Member lists " (count(current.member_lists_done)) " of " (count(current.member_lists_planned))
                progress max=(current.member_lists_planned) value=(current.member_lists_done) {
                    (current.member_lists_done) " of " (current.member_lists_planned)
                }
            }
        } @else {
            p class="progress-line" {
                (count(current.users)) " users, " (count(current.groups)) " groups read so far"
            }
        }
    }
}

fn schedule(schedule: &ScheduleView) -> String {
    let every = match (&schedule.cron, schedule.frequency_seconds) {
        (Some(cron), _) => format!("cron {cron}"),
        (None, Some(seconds)) => format!("every {}", interval(seconds)),
        (None, None) => "not scheduled".to_string(),
    };
    format!("{every}, timeout {}", interval(schedule.timeout_seconds))
}

fn to_u64(value: usize) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::scheduler::status::{ChangeCounts, FinishedRun, Trigger};

    fn status() -> ProviderStatus {
        ProviderStatus {
            id: "prod".to_string(),
            okta_url: "https://example.okta.com".to_string(),
            schedule: ScheduleView {
                frequency_seconds: Some(1800),
                cron: None,
                timeout_seconds: 900,
                initial_delay_seconds: 0,
            },
            next_run_at: None,
            running: false,
            current_run: None,
            last_run: None,
            removal_review: None,
        }
    }

    fn finished(outcome: &str, error: Option<&str>) -> FinishedRun {
        FinishedRun {
            run_id: Some(7),
            trigger: Some(Trigger::Schedule),
            started_at: Utc.with_ymd_and_hms(2026, 12, 4, 18, 0, 0).unwrap(),
            finished_at: Some(Utc.with_ymd_and_hms(2026, 12, 4, 18, 0, 12).unwrap()),
            duration_ms: Some(12_000),
            outcome: outcome.to_string(),
            error: error.map(str::to_string),
            changes: Some(ChangeCounts {
                added: 3,
                updated: 1,
                removed: 0,
                unchanged: 40,
                conflicts: 0,
            }),
            users: 40,
            groups: 4,
            api_calls: 1234,
            api_calls_by_endpoint: BTreeMap::new(),
            retries: Some(0),
            rate_limit_waits: 0,
            warnings: Vec::new(),
        }
    }

    fn render(status: ProviderStatus) -> String {
        let cards = [ProviderCard {
            status,
            users: 40,
            groups: 4,
        }];
        overview_content(40, 4, &cards).into_string()
    }

    #[test]
    fn card_shows_last_run() {
        let mut provider = status();
        provider.last_run = Some(finished("succeeded", None));
        let page = render(provider);
        assert!(page.contains("<span class=\"badge succeeded\">Succeeded</span>"));
        assert!(page.contains("12.0 s"));
        assert!(page.contains("1\u{202f}234 API calls"));
        assert!(page.contains("3 added, 1 updated, 0 removed"));
        assert!(page.contains("every 30 min, timeout 15 min"));
    }

    #[test]
    fn card_shows_failure_message() {
        let mut provider = status();
        provider.last_run = Some(finished("failed", Some("Okta returned HTTP 401")));
        let page = render(provider);
        assert!(page.contains("<span class=\"badge failed\">Failed</span>"));
        assert!(page.contains("Okta returned HTTP 401"));
    }

    #[test]
    fn card_without_runs_says_so() {
        let page = render(status());
        assert!(page.contains("Never run"));
        assert!(!page.contains("data-refresh"));
    }

    #[test]
    fn running_provider_refreshes_cards() {
        let mut provider = status();
        provider.running = true;
        provider.current_run = Some(CurrentRun {
            trigger: Trigger::Refresh,
            started_at: Utc.with_ymd_and_hms(2026, 12, 4, 18, 30, 0).unwrap(),
            phase: Some("members"),
            users: 40,
            groups: 4,
            member_lists_planned: 4,
            member_lists_done: 1,
            rate_limit_waits: 0,
            retries: 0,
        });
        let page = render(provider);
        assert!(page.contains("data-refresh=\"2\""));
        assert!(page.contains("<progress max=\"4\" value=\"1\">"));
        assert!(page.contains("<strong>members</strong>"));
    }
}
