//! `GET /users` and `GET /groups`: the catalog's users and groups, ordered
//! by name, with a search box and numbered pages.
//!
//! The search (`q`) is a case-insensitive substring of the name, the title,
//! the display name or the email. `page` counts from 1. `/users?group=NAME`
//! lists the members of one group.

use axum::extract::{RawQuery, State};
use http::HeaderMap;
use maud::{html, Markup};
use orgsync_model::entity::DEFAULT_NAMESPACE;
use orgsync_model::Entity;
use orgsync_store::query::{
    EntityFilter, EntityPage, EntityPageQuery, FilterCondition, FullTextFilter, OrderField,
    SortOrder,
};

use super::entity::{display_name, entity_link, group_href};
use super::format::count;
use super::{check_read_access, Page, PageError, Section, UiState, Viewer};
use crate::catalog::params::QueryParams;

/// Rows on one page of a list.
pub const PAGE_SIZE: usize = 50;

/// The highest page number a list accepts, so that a crafted URL cannot
/// ask the database to skip an unbounded number of rows.
const MAX_PAGE: usize = 10_000;

/// The fields the search box matches, as lower-cased dotted keys.
const SEARCH_FIELDS: [&str; 4] = [
    "metadata.name",
    "metadata.title",
    "spec.profile.displayname",
    "spec.profile.email",
];

/// The parsed query string of a list page.
struct ListRequest {
    /// The trimmed search term; empty for none.
    search: String,
    page: usize,
    /// `/users?group=NAME`: only the members of this group.
    group: Option<String>,
}

impl ListRequest {
    fn parse(raw: Option<&str>, viewer: &Viewer) -> Result<ListRequest, PageError> {
        let params = QueryParams::parse(raw);
        let invalid =
            |error: crate::error::ApiError| PageError::invalid_input(viewer, error.to_string());
        let search = params
            .single("q")
            .map_err(invalid)?
            .unwrap_or_default()
            .trim()
            .to_string();
        let page = params.integer("page").map_err(invalid)?.unwrap_or(1);
        if page == 0 || page > MAX_PAGE {
            return Err(PageError::invalid_input(
                viewer,
                format!("Invalid page {page}, expected 1 to {MAX_PAGE}; page numbers start at 1"),
            ));
        }
        let group = params
            .single("group")
            .map_err(invalid)?
            .map(str::trim)
            .filter(|group| !group.is_empty())
            .map(str::to_string);
        Ok(ListRequest {
            search,
            page,
            group,
        })
    }

    /// Builds the link to another page of the same list.
    fn href(&self, path: &str, page: usize) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if !self.search.is_empty() {
            query.append_pair("q", &self.search);
        }
        if let Some(group) = &self.group {
            query.append_pair("group", group);
        }
        if page > 1 {
            query.append_pair("page", &page.to_string());
        }
        let query = query.finish();
        if query.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{query}")
        }
    }

    fn page_query(&self, kind: &str) -> EntityPageQuery {
        let mut conditions = vec![FilterCondition {
            key: "kind".to_string(),
            values: Some(vec![kind.to_string()]),
        }];
        if let Some(group) = &self.group {
            let group_ref = format!("group:{DEFAULT_NAMESPACE}/{group}").to_lowercase();
            conditions.push(FilterCondition {
                key: "relations.memberof".to_string(),
                values: Some(vec![group_ref]),
            });
        }
        let full_text = (!self.search.is_empty()).then(|| FullTextFilter {
            term: self.search.to_lowercase(),
            fields: SEARCH_FIELDS
                .iter()
                .map(|field| field.to_string())
                .collect(),
        });
        EntityPageQuery {
            filter: Some(EntityFilter {
                any_of: vec![conditions],
            }),
            // NOTE: no index serves this order, so a page sorts every match.
            // That took 65 ms at 10,000 users; the API's same query takes
            // about a second at 90,000 (docs/benchmarks.md).
            order: Some(OrderField {
                field: "metadata.name".to_string(),
                order: SortOrder::Asc,
            }),
            full_text,
            offset: (self.page - 1) * PAGE_SIZE,
            limit: PAGE_SIZE,
            count_total: true,
            ..EntityPageQuery::default()
        }
    }
}

/// `GET /users`.
pub async fn users(
    State(state): State<UiState>,
    viewer: Viewer,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Page, PageError> {
    check_read_access(&state.auth, &viewer, &headers)?;
    let request = ListRequest::parse(raw.as_deref(), &viewer)?;
    let page = state
        .catalog
        .query_entities(&request.page_query("user"))
        .await
        .map_err(|error| PageError::store(&viewer, "Listing users", &error))?;

    let title = match &request.group {
        Some(group) => format!("Members of {group}"),
        None => "Users".to_string(),
    };
    let content = html! {
        div class="page-head" {
            div {
                h1 { (title) }
                @if let Some(group) = &request.group {
                    p class="lead" {
                        "Users with a direct membership in "
                        a href=(group_href(group)) { (group) } "."
                    }
                } @else {
                    p class="lead" { "People synced from Okta." }
                }
            }
        }
        (search_form("/users", "Search users", "Name, display name or email", &request))
        (result_summary(&page, &request, "user", "users"))
        @if !page.items.is_empty() {
            div class="table-wrap" {
                table {
                    caption class="visually-hidden" { (title) }
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Display name" } th scope="col" { "Email" } th scope="col" class="number" { "Groups" } } }
                    tbody {
                        @for item in &page.items {
                            (user_row(&item.entity))
                        }
                    }
                }
            }
        }
        (pager("/users", &page, &request))
    };
    Ok(Page {
        title,
        section: Section::Users,
        viewer,
        content,
    })
}

/// `GET /groups`.
pub async fn groups(
    State(state): State<UiState>,
    viewer: Viewer,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Page, PageError> {
    check_read_access(&state.auth, &viewer, &headers)?;
    let mut request = ListRequest::parse(raw.as_deref(), &viewer)?;
    // Groups have no memberships of their own to filter by.
    request.group = None;
    let page = state
        .catalog
        .query_entities(&request.page_query("group"))
        .await
        .map_err(|error| PageError::store(&viewer, "Listing groups", &error))?;

    let content = html! {
        div class="page-head" {
            div {
                h1 { "Groups" }
                p class="lead" { "Teams and other groups synced from Okta, with their place in the hierarchy." }
            }
        }
        (search_form("/groups", "Search groups", "Name or display name", &request))
        (result_summary(&page, &request, "group", "groups"))
        @if !page.items.is_empty() {
            div class="table-wrap" {
                table {
                    caption class="visually-hidden" { "Groups" }
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Display name" } th scope="col" { "Type" } th scope="col" { "Parent" } th scope="col" class="number" { "Members" } th scope="col" class="number" { "Child groups" } } }
                    tbody {
                        @for item in &page.items {
                            (group_row(&item.entity))
                        }
                    }
                }
            }
        }
        (pager("/groups", &page, &request))
    };
    Ok(Page {
        title: "Groups".to_string(),
        section: Section::Groups,
        viewer,
        content,
    })
}

fn search_form(path: &str, label: &str, hint: &str, request: &ListRequest) -> Markup {
    html! {
        form class="search" method="get" action=(path) role="search" {
            div class="field" {
                label for="q" { (label) }
                input type="search" id="q" name="q" value=(request.search)
                    placeholder=(hint) autocomplete="off";
            }
            @if let Some(group) = &request.group {
                input type="hidden" name="group" value=(group);
            }
            button type="submit" { "Search" }
            @if !request.search.is_empty() {
                a class="button secondary" href=(ListRequest { search: String::new(), page: 1, group: request.group.clone() }.href(path, 1)) { "Clear" }
            }
        }
    }
}

fn result_summary(
    page: &EntityPage,
    request: &ListRequest,
    singular: &str,
    plural: &str,
) -> Markup {
    let total = page.total.unwrap_or(page.items.len());
    let noun = if total == 1 { singular } else { plural };
    let first = (request.page - 1) * PAGE_SIZE + 1;
    let last = first + page.items.len().saturating_sub(1);
    html! {
        p class="muted" role="status" {
            @if total == 0 {
                @if request.search.is_empty() {
                    "No " (plural) " in the catalog yet."
                } @else {
                    "No " (plural) " match “" (request.search) "”."
                }
            } @else if page.items.is_empty() {
                "Page " (request.page) " is past the end: " (count(to_u64(total))) " " (noun) " in all."
            } @else {
                (count(to_u64(total))) " " (noun)
                @if !request.search.is_empty() { " match “" (request.search) "”" }
                @if total > PAGE_SIZE { ", showing " (first) "–" (last) }
                "."
            }
        }
    }
}

fn pager(path: &str, page: &EntityPage, request: &ListRequest) -> Markup {
    let total = page.total.unwrap_or(0);
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    if pages <= 1 && request.page == 1 {
        return html! {};
    }
    let previous = (request.page > 1).then(|| request.href(path, request.page - 1));
    let next = (request.page < pages).then(|| request.href(path, request.page + 1));
    html! {
        nav class="pager" aria-label="Pages" {
            span { "Page " (request.page) " of " (pages) }
            ul {
                li {
                    @if let Some(href) = &previous {
                        a class="button secondary" href=(href) rel="prev" { "← Previous" }
                    } @else {
                        span class="button secondary" aria-disabled="true" { "← Previous" }
                    }
                }
                li {
                    @if let Some(href) = &next {
                        a class="button secondary" href=(href) rel="next" { "Next →" }
                    } @else {
                        span class="button secondary" aria-disabled="true" { "Next →" }
                    }
                }
            }
        }
    }
}

fn user_row(user: &Entity) -> Markup {
    let email = user.spec["profile"]["email"].as_str();
    let groups = user.spec["memberOf"].as_array().map_or(0, Vec::len);
    html! {
        tr {
            td { (entity_link(user)) }
            td { (display_name(user).unwrap_or_default()) }
            td { @if let Some(email) = email { (email) } }
            td class="number" { (groups) }
        }
    }
}

fn group_row(group: &Entity) -> Markup {
    let spec = &group.spec;
    let members = spec["members"].as_array().map_or(0, Vec::len);
    let children = spec["children"].as_array().map_or(0, Vec::len);
    html! {
        tr {
            td { (entity_link(group)) }
            td { (display_name(group).unwrap_or_default()) }
            td { @if let Some(kind) = spec["type"].as_str() { span class="badge" { (kind) } } }
            td {
                @if let Some(parent) = spec["parent"].as_str() {
                    (super::entity::ref_link(parent))
                }
            }
            td class="number" { (members) }
            td class="number" { (children) }
        }
    }
}

fn to_u64(value: usize) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}
