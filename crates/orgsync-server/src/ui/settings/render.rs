//! The markup of the settings pages: the provider list, the provider form
//! with its field errors, and the results of Test connection, Preview
//! changes and a run.

use maud::{html, Markup};
use orgsync_config::ProviderConfig;
use orgsync_doctor::{Report, Status};
use orgsync_store::ChangeSet;
use orgsync_sync::SyncReport;

use crate::scheduler::approval::RemovalReview;
use crate::scheduler::status::ProviderStatus;
use crate::settings::input::{FieldErrors, GroupFilterKind, ProviderInput};
use crate::ui::format::{count, duration_ms, interval, outcome_badge, time};
use crate::ui::home::progress;

/// How many refs of each kind of change the preview lists.
pub const PREVIEW_SAMPLE: usize = 10;

/// How often the run panel refreshes while a run is in progress, in seconds.
const REFRESH_SECONDS: u32 = 2;

/// One row of the provider list.
pub struct ProviderRow {
    pub id: String,
    pub okta_url: String,
    /// The config file, or "saved settings".
    pub source: String,
    /// Whether the settings pages can edit it.
    pub editable: bool,
    pub status: Option<ProviderStatus>,
    pub users: usize,
    pub groups: usize,
    /// The reason a saved provider does not run.
    pub problem: Option<String>,
}

/// Renders the provider list of `GET /settings`.
pub fn provider_list(rows: &[ProviderRow], admin: bool, notice: Option<&str>) -> Markup {
    html! {
        div class="page-head" {
            h1 { "Catalog Settings" }
            p class="lead" { "The Okta providers that fill the catalog." }
            @if admin {
                a class="button" href="/settings/providers/new" { "Add provider" }
            }
        }
        @if let Some(notice) = notice {
            p class="notice good" role="status" { (notice) }
        }
        @if !admin {
            p class="notice" {
                "You can look at the providers. "
                a href="/sign-in?next=/settings" { "Sign in" }
                " as an administrator to add or change them."
            }
        }
        div class="table-wrap" {
            table {
                caption class="visually-hidden" { "Okta providers" }
                thead {
                    tr {
                        th scope="col" { "Provider" }
                        th scope="col" { "Source" }
                        th scope="col" { "Last run" }
                        th scope="col" { "Outcome" }
                        th scope="col" class="number" { "Users" }
                        th scope="col" class="number" { "Groups" }
                    }
                }
                tbody {
                    @if rows.is_empty() {
                        tr { td colspan="6" class="muted" { "No providers yet." } }
                    }
                    @for row in rows {
                        (provider_row(row))
                    }
                }
            }
        }
    }
}

fn provider_row(row: &ProviderRow) -> Markup {
    let last = row
        .status
        .as_ref()
        .and_then(|status| status.last_run.as_ref());
    let running = row.status.as_ref().is_some_and(|status| status.running);
    html! {
        tr {
            th scope="row" {
                a href={ "/settings/providers/" (row.id) } { (row.id) }
                div class="muted mono" { (row.okta_url) }
                @if let Some(problem) = &row.problem {
                    div class="notice bad" { "Not running: " (problem) }
                }
            }
            td { (row.source) @if !row.editable { " " span class="badge" { "read-only" } } }
            td {
                @if let Some(last) = last {
                    (time(last.finished_at.unwrap_or(last.started_at)))
                } @else {
                    span class="muted" { "never" }
                }
            }
            td {
                @if running {
                    (outcome_badge("running"))
                } @else if let Some(last) = last {
                    (outcome_badge(&last.outcome))
                } @else {
                    span class="muted" { "none" }
                }
            }
            td class="number" { (count(row.users as u64)) }
            td class="number" { (count(row.groups as u64)) }
        }
    }
}

/// The stored key of a saved provider, as the form shows it.
pub struct StoredKey<'a> {
    pub fingerprint: &'a str,
    pub revision: i64,
}

/// Renders the provider form; `stored` is set when editing a saved provider.
pub fn provider_form(
    input: &ProviderInput,
    errors: &FieldErrors,
    stored: Option<&StoredKey<'_>>,
    csrf_token: &str,
) -> Markup {
    let action = match stored {
        Some(_) => format!("/settings/providers/{}", input.id),
        None => "/settings/providers".to_string(),
    };
    html! {
        @if !errors.is_empty() {
            div class="notice bad" role="alert" id="form-errors" {
                p { "The settings were not saved. Fix the fields marked below." }
                @for message in &errors.general {
                    p { (message) }
                }
            }
        }
        form method="post" action=(action) class="stacked provider-form" novalidate {
            input type="hidden" name="csrf_token" value=(csrf_token);
            @if let Some(stored) = stored {
                input type="hidden" name="revision" value=(stored.revision);
                input type="hidden" name="id" value=(input.id);
            }
            fieldset {
                legend { "Okta org and app" }
                @if stored.is_none() {
                    (text_field("id", "Provider id", &input.id, errors,
                        "Letters, digits, - and _; stored with every entity this provider writes."))
                }
                (text_field("okta_url", "Okta URL", &input.okta_url, errors,
                    "The org URL, such as https://acme.okta.com."))
                (text_field("client_id", "Client id", &input.client_id, errors,
                    "The client ID (0oa…) on the API Services app's General tab."))
                (private_key_field(errors, stored))
                (text_field("key_id", "Key id", &input.key_id, errors,
                    "The KID shown beside the public key on the app's Public Keys list."))
            }
            fieldset {
                legend { "Schedule" }
                (text_field("frequency", "Frequency", &input.frequency, errors,
                    "How often to sync: an ISO 8601 duration such as PT30M, or a cron expression such as */30 * * * *. Empty: every 30 minutes."))
                (text_field("timeout", "Timeout", &input.timeout, errors,
                    "How long one sync may take, such as PT10M. Empty: 10 minutes."))
            }
            details open[has_advanced(input, errors)] {
                summary { "Advanced: filters" }
                (text_field("user_search_filter", "User search filter", &input.user_search_filter, errors,
                    "An Okta search expression for the users to read, such as status eq \"ACTIVE\". Empty: every user."))
                (group_filter_fields(input, errors))
            }
            div class="actions" {
                button type="submit" name="action" value="test" class="button secondary" { "Test connection" }
                button type="submit" name="action" value="preview" class="button secondary" { "Preview changes" }
                button type="submit" name="action" value="save" class="button" { "Save changes" }
            }
        }
    }
}

fn has_advanced(input: &ProviderInput, errors: &FieldErrors) -> bool {
    input.group_filter != GroupFilterKind::All
        || !input.user_search_filter.trim().is_empty()
        || ["user_search_filter", "group_names", "group_search"]
            .iter()
            .any(|field| !errors.of(field).is_empty())
}

/// Returns the ids that tie a field to its hint and errors for screen readers.
fn described_by(name: &str, errors: &FieldErrors) -> String {
    if errors.of(name).is_empty() {
        format!("{name}-hint")
    } else {
        format!("{name}-hint {name}-error")
    }
}

fn field_errors(name: &str, errors: &FieldErrors) -> Markup {
    let messages = errors.of(name);
    html! {
        @if !messages.is_empty() {
            div class="field-error" id={ (name) "-error" } {
                @for message in messages {
                    p { (message) }
                }
            }
        }
    }
}

fn text_field(name: &str, label: &str, value: &str, errors: &FieldErrors, hint: &str) -> Markup {
    let invalid = !errors.of(name).is_empty();
    html! {
        div class={ "field" @if invalid { " invalid" } } {
            label for=(name) { (label) }
            input type="text" id=(name) name=(name) value=(value) autocomplete="off"
                spellcheck="false" aria-invalid=[invalid.then_some("true")]
                aria-describedby=(described_by(name, errors));
            p class="hint" id={ (name) "-hint" } { (hint) }
            (field_errors(name, errors))
        }
    }
}

/// Renders the write-only private key field. A stored key is shown only by
/// its fingerprint, and the field starts empty every time.
fn private_key_field(errors: &FieldErrors, stored: Option<&StoredKey<'_>>) -> Markup {
    let name = "private_key";
    let invalid = !errors.of(name).is_empty();
    html! {
        div class={ "field" @if invalid { " invalid" } } {
            label for=(name) { "Private key" }
            @if let Some(stored) = stored {
                p class="stored-key" {
                    "A key is stored. Public key fingerprint (SHA-256 JWK thumbprint): "
                    code { (stored.fingerprint) }
                }
            }
            textarea id=(name) name=(name) rows="6" autocomplete="off" spellcheck="false"
                aria-invalid=[invalid.then_some("true")]
                aria-describedby=(described_by(name, errors)) {}
            p class="hint" id={ (name) "-hint" } {
                @if stored.is_some() {
                    "Leave empty to keep the stored key, or paste a new PEM or JWK private key to replace it. "
                } @else {
                    "Paste the PEM or JWK private key whose public key is registered on the app. "
                }
                "The key is encrypted before it is stored and is never shown again; "
                "paste it again after a failed save."
            }
            (field_errors(name, errors))
        }
    }
}

fn group_filter_fields(input: &ProviderInput, errors: &FieldErrors) -> Markup {
    let choice = |kind: GroupFilterKind| input.group_filter == kind;
    html! {
        fieldset class="choice" {
            legend { "Groups to read" }
            div class="radio" {
                input type="radio" id="group_filter_all" name="group_filter" value="all" checked[choice(GroupFilterKind::All)];
                label for="group_filter_all" { "All groups" }
            }
            div class="radio" {
                input type="radio" id="group_filter_names" name="group_filter" value="names" checked[choice(GroupFilterKind::Names)];
                label for="group_filter_names" { "Groups with these names" }
            }
            div class={ "field" @if !errors.of("group_names").is_empty() { " invalid" } } {
                label for="group_names" { "Group names" }
                textarea id="group_names" name="group_names" rows="3"
                    aria-describedby=(described_by("group_names", errors)) { (input.group_names) }
                p class="hint" id="group_names-hint" { "One name per line, or separated by commas. Used when \"Groups with these names\" is chosen." }
                (field_errors("group_names", errors))
            }
            div class="radio" {
                input type="radio" id="group_filter_search" name="group_filter" value="search" checked[choice(GroupFilterKind::Search)];
                label for="group_filter_search" { "Groups matching a search expression" }
            }
            (text_field("group_search", "Group search expression", &input.group_search, errors,
                "An Okta search expression, such as profile.name sw \"eng-\". Used when \"Groups matching a search expression\" is chosen."))
        }
    }
}

/// Renders the read-only view of a config-file provider.
pub fn config_provider(provider: &ProviderConfig) -> Markup {
    let schedule = crate::scheduler::status::ScheduleView::from(&provider.schedule);
    html! {
        p class="notice" {
            "This provider is defined in " code { (provider.source) }
            " and is read-only here. Change it in that file and reload orgsync (SIGHUP)."
        }
        section class="card" aria-labelledby="settings-heading" {
            h2 id="settings-heading" { "Settings" }
            dl class="facts" {
                dt { "Okta URL" } dd class="mono" { (provider.okta_url) }
                dt { "Source" } dd class="mono" { (provider.source) }
                dt { "Frequency" }
                dd {
                    @if let Some(seconds) = schedule.frequency_seconds { "every " (interval(seconds)) }
                    @if let Some(cron) = &schedule.cron { "cron " code { (cron) } }
                }
                dt { "Timeout" } dd { (interval(schedule.timeout_seconds)) }
                @if let Some(filter) = &provider.user_search_filter {
                    dt { "User search filter" } dd class="mono" { (filter) }
                }
                @if let Some(filter) = &provider.group_filter {
                    dt { "Group filter" } dd class="mono" { (format!("{filter:?}")) }
                }
            }
        }
    }
}

/// Renders the Test connection results: each check with its status and fix.
pub fn connection_report(report: &Report) -> Markup {
    html! {
        section class="card results" aria-labelledby="test-heading" id="test-results" {
            h2 id="test-heading" {
                "Test connection: "
                (status_badge(report.status))
            }
            ol class="checks" {
                @for check in &report.checks {
                    li class={ "check " (check.status.as_str()) } {
                        (status_badge(check.status))
                        " " strong { (check.title) } ": " (check.detail)
                        @if let Some(fix) = &check.fix {
                            p class="fix" { "Fix: " (fix) }
                        }
                    }
                }
            }
        }
    }
}

fn status_badge(status: Status) -> Markup {
    let (class, label) = match status {
        Status::Pass => ("succeeded", "Passed"),
        Status::Warn => ("blocked", "Warning"),
        Status::Fail => ("failed", "Failed"),
        Status::Skip => ("cancelled", "Skipped"),
    };
    html! { span class={ "badge " (class) } { (label) } }
}

/// Renders the Preview changes results: counts and a sample of each change.
pub fn preview(report: &SyncReport) -> Markup {
    let changes = &report.changes;
    html! {
        section class="card results" aria-labelledby="preview-heading" id="preview-results" {
            h2 id="preview-heading" { "Preview: what a sync would change" }
            p {
                (count(report.users as u64)) " users and " (count(report.groups as u64))
                " groups read with " (count(report.api_calls)) " API calls in "
                (duration_ms(report.duration_ms)) ". Nothing was written."
            }
            dl class="stats" {
                div { dt { "Added" } dd { (count(changes.added.len() as u64)) } }
                div { dt { "Updated" } dd { (count(changes.updated.len() as u64)) } }
                div { dt { "Removed" } dd { (count(changes.removed.len() as u64)) } }
                div { dt { "Unchanged" } dd { (count(changes.unchanged as u64)) } }
            }
            (change_samples(changes))
            @for warning in &report.warnings {
                p class="notice" { (warning) }
            }
        }
    }
}

fn change_samples(changes: &ChangeSet) -> Markup {
    let lists = [
        ("Added", &changes.added),
        ("Updated", &changes.updated),
        ("Removed", &changes.removed),
    ];
    html! {
        @for (label, refs) in lists {
            @if !refs.is_empty() {
                h3 { (label) @if refs.len() > PREVIEW_SAMPLE { " (first " (PREVIEW_SAMPLE) " of " (count(refs.len() as u64)) ")" } }
                ul class="chips" {
                    @for entity_ref in refs.iter().take(PREVIEW_SAMPLE) {
                        li class="mono" { (entity_ref) }
                    }
                }
            }
        }
    }
}

/// Renders an action's failure, such as a preview whose sync failed.
pub fn action_failure(heading: &str, message: &str) -> Markup {
    html! {
        section class="card results" aria-labelledby="failure-heading" {
            h2 id="failure-heading" { (heading) }
            p class="notice bad" role="alert" { (message) }
        }
    }
}

/// Renders the run panel of a provider: the run in progress, refreshed
/// live, or the last run, and the Run now button.
pub fn run_panel(id: &str, status: Option<&ProviderStatus>, csrf_token: &str) -> Markup {
    let running = status.is_some_and(|status| status.running);
    let action = format!("/settings/providers/{id}");
    html! {
        section class="card" aria-labelledby="run-heading" id="run-panel" aria-live="polite"
            data-refresh=[running.then_some(REFRESH_SECONDS)] {
            h2 id="run-heading" { "Runs" }
            @match status {
                None => p class="muted" { "Not running: this provider is not scheduled on this server." },
                Some(status) => {
                    @if let Some(current) = &status.current_run {
                        (progress(current))
                        p class="muted" { "This panel updates by itself. " a href=(action) { "Reload" } }
                    } @else if let Some(last) = &status.last_run {
                        p {
                            "Last run " (outcome_badge(&last.outcome)) " "
                            (time(last.finished_at.unwrap_or(last.started_at)))
                            @if let Some(ms) = last.duration_ms { " · " (duration_ms(ms)) }
                            " · " (count(last.users)) " users, " (count(last.groups)) " groups, "
                            (count(last.api_calls)) " API calls"
                        }
                        @if let Some(error) = &last.error {
                            p class="notice bad" { (error) }
                        }
                        p { a href={ "/runs/" (id) } { "Run history" } }
                    } @else {
                        p class="muted" { "No run yet." }
                    }
                    @if let Some(next) = status.next_run_at {
                        p { "Next scheduled run: " (time(next)) }
                    }
                    @if let Some(review) = &status.removal_review {
                        (removal_review(id, review, csrf_token))
                    }
                }
            }
            form method="post" action=(action) class="inline" {
                input type="hidden" name="csrf_token" value=(csrf_token);
                input type="hidden" name="id" value=(id);
                button type="submit" name="action" value="run" class="button secondary" disabled[running || status.is_none()] { "Run now" }
            }
        }
    }
}

/// Renders a run blocked by the removal guard with the button that
/// approves it once, or the approval waiting for the next run.
fn removal_review(id: &str, review: &RemovalReview, csrf_token: &str) -> Markup {
    html! {
        @match review {
            RemovalReview::Blocked { removed, existing, .. } => {
                p class="notice bad" role="alert" {
                    "The removal guard blocked the last run: it would remove " (count(*removed as u64))
                    " of " (count(*existing as u64)) " entities. Check the provider's filters; if the "
                    "removals are intended, approve them once."
                }
                form method="post" action={ "/settings/providers/" (id) } class="inline" {
                    input type="hidden" name="csrf_token" value=(csrf_token);
                    input type="hidden" name="id" value=(id);
                    button type="submit" name="action" value="approve" class="button danger" {
                        "Approve removing " (count(*removed as u64)) " entities once"
                    }
                }
            }
            RemovalReview::Approved { removed, .. } => {
                p class="notice" {
                    "Approved: the next run applies if it removes at most " (count(*removed as u64))
                    " entities."
                }
            }
        }
    }
}

/// Renders the delete form of a saved provider.
pub fn delete_form(id: &str, revision: i64, csrf_token: &str) -> Markup {
    html! {
        section class="card danger" aria-labelledby="delete-heading" {
            h2 id="delete-heading" { "Delete provider" }
            p {
                "Stops this provider's schedule on every replica and deletes its saved settings and key. "
                "The users and groups it wrote stay in the catalog."
            }
            form method="post" action={ "/settings/providers/" (id) } class="inline" {
                input type="hidden" name="csrf_token" value=(csrf_token);
                input type="hidden" name="id" value=(id);
                input type="hidden" name="revision" value=(revision);
                button type="submit" name="action" value="delete" class="button danger" { "Delete " (id) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_run_offers_approval() {
        let review = RemovalReview::Blocked {
            removed: 70,
            existing: 236,
            blocked_at: chrono::Utc::now(),
        };
        let page = removal_review("okta", &review, "token-1").into_string();

        assert!(page.contains("would remove 70 of 236 entities"), "{page}");
        assert!(page.contains(r#"name="action" value="approve""#), "{page}");
        assert!(page.contains(r#"name="csrf_token" value="token-1""#), "{page}");
        assert!(page.contains(r#"action="/settings/providers/okta""#), "{page}");
    }

    #[test]
    fn approval_shows_without_button() {
        let review = RemovalReview::Approved {
            removed: 70,
            existing: 236,
            approved_at: chrono::Utc::now(),
        };
        let page = removal_review("okta", &review, "token-1").into_string();

        assert!(page.contains("removes at most 70 entities"), "{page}");
        assert!(!page.contains("value=\"approve\""), "{page}");
    }
}
