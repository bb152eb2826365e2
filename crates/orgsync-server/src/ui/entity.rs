//! `GET /users/{name}` and `GET /groups/{name}`: one user or group of the
//! default namespace, with its profile, links to related entities, its
//! annotations and the entity as YAML.
//!
//! orgsync writes every entity into the default namespace, so pages and
//! links name entities by name alone. A ref into another namespace is shown
//! as text.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use http::HeaderMap;
use maud::{html, Markup};
use orgsync_model::annotations::{GROUP_ID, MANAGED_BY_LOCATION, USER_ID, USER_LOGIN};
use orgsync_model::entity::DEFAULT_NAMESPACE;
use orgsync_model::{Entity, EntityRef};

use super::format::count;
use super::lists::PAGE_SIZE;
use super::tree;
use super::{check_read_access, Page, PageError, Section, UiState, Viewer};

/// `GET /users/{name}`.
pub async fn user_page(
    State(state): State<UiState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Page, PageError> {
    check_read_access(&state.auth, &viewer, &headers)?;
    let user = load(&state, &viewer, "user", &name).await?;
    let group_refs = string_list(&user.spec["memberOf"]);
    let groups = state
        .catalog
        .entities_by_refs(&group_refs, None)
        .await
        .map_err(|error| PageError::store(&viewer, "Reading the user's groups", &error))?;

    let title = display_name(&user).unwrap_or_else(|| user.metadata.name.clone());
    let profile = &user.spec["profile"];
    let content = html! {
        (breadcrumbs("/users", "Users", &user.metadata.name))
        div class="page-head" {
            div class="identity" {
                (avatar(&title, profile["picture"].as_str()))
                div {
                    h1 { (title) }
                    p class="lead mono" { "user:" (user.metadata.namespace) "/" (user.metadata.name) }
                }
            }
        }
        div class="grid-2" {
            section class="card" aria-labelledby="profile-heading" {
                h2 id="profile-heading" { "Profile" }
                dl class="facts" {
                    dt { "Name" } dd { (user.metadata.name) }
                    @if let Some(display) = profile["displayName"].as_str() {
                        dt { "Display name" } dd { (display) }
                    }
                    @if let Some(email) = profile["email"].as_str() {
                        dt { "Email" } dd { a href={ "mailto:" (email) } { (email) } }
                    }
                    @if let Some(login) = user.metadata.annotations.get(USER_LOGIN) {
                        dt { "Okta login" } dd { (login) }
                    }
                    @if let Some(id) = user.metadata.annotations.get(USER_ID) {
                        dt { "Okta id" } dd class="mono" { (id) }
                    }
                    @if let Some(location) = user.metadata.annotations.get(MANAGED_BY_LOCATION) {
                        dt { "Managed by" } dd class="mono" { (location) }
                    }
                }
            }
            section class="card" aria-labelledby="groups-heading" {
                h2 id="groups-heading" { "Groups " span class="muted" { "(" (group_refs.len()) ")" } }
                @if group_refs.is_empty() {
                    p class="muted" { "Not a member of any synced group." }
                } @else {
                    ul class="chips" {
                        @for (group_ref, group) in group_refs.iter().zip(&groups) {
                            li { (related_link(group_ref, group.as_ref())) }
                        }
                    }
                }
            }
        }
        (annotations(&user.metadata.annotations))
        (raw_yaml(&user))
    };
    Ok(Page {
        title,
        section: Section::Users,
        viewer,
        content,
    })
}

/// `GET /groups/{name}`.
pub async fn group_page(
    State(state): State<UiState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Page, PageError> {
    check_read_access(&state.auth, &viewer, &headers)?;
    let group = load(&state, &viewer, "group", &name).await?;
    let hierarchy = tree::Hierarchy::load(state.catalog.as_ref(), &group)
        .await
        .map_err(|error| PageError::store(&viewer, "Reading the group hierarchy", &error))?;

    let member_refs = string_list(&group.spec["members"]);
    let shown: Vec<String> = member_refs.iter().take(PAGE_SIZE).cloned().collect();
    let members = state
        .catalog
        .entities_by_refs(&shown, None)
        .await
        .map_err(|error| PageError::store(&viewer, "Reading the group's members", &error))?;
    let child_refs = string_list(&group.spec["children"]);
    let children = state
        .catalog
        .entities_by_refs(&child_refs, None)
        .await
        .map_err(|error| PageError::store(&viewer, "Reading the group's children", &error))?;

    let title = display_name(&group).unwrap_or_else(|| group.metadata.name.clone());
    let spec = &group.spec;
    let content = html! {
        (breadcrumbs("/groups", "Groups", &group.metadata.name))
        div class="page-head" {
            div {
                h1 { (title) }
                p class="lead mono" { "group:" (group.metadata.namespace) "/" (group.metadata.name) }
            }
        }
        div class="grid-2" {
            section class="card" aria-labelledby="about-heading" {
                h2 id="about-heading" { "About" }
                dl class="facts" {
                    dt { "Name" } dd { (group.metadata.name) }
                    @if let Some(kind) = spec["type"].as_str() {
                        dt { "Type" } dd { span class="badge" { (kind) } }
                    }
                    @if let Some(description) = &group.metadata.description {
                        dt { "Description" } dd { (description) }
                    }
                    dt { "Parent" }
                    dd {
                        @if let Some(parent) = spec["parent"].as_str() {
                            (related_link(parent, hierarchy.parent()))
                        } @else {
                            span class="muted" { "None (a top-level group)" }
                        }
                    }
                    dt { "Members" } dd { (count(u64::try_from(member_refs.len()).unwrap_or(u64::MAX))) }
                    @if let Some(id) = group.metadata.annotations.get(GROUP_ID) {
                        dt { "Okta id" } dd class="mono" { (id) }
                    }
                    @if let Some(location) = group.metadata.annotations.get(MANAGED_BY_LOCATION) {
                        dt { "Managed by" } dd class="mono" { (location) }
                    }
                }
                h3 { "Child groups " span class="muted" { "(" (child_refs.len()) ")" } }
                @if child_refs.is_empty() {
                    p class="muted" { "No child groups." }
                } @else {
                    ul class="chips" {
                        @for (child_ref, child) in child_refs.iter().zip(&children) {
                            li { (related_link(child_ref, child.as_ref())) }
                        }
                    }
                }
            }
            section class="card" aria-labelledby="hierarchy-heading" {
                h2 id="hierarchy-heading" { "Hierarchy" }
                (hierarchy.render())
            }
        }
        section aria-labelledby="members-heading" {
            h2 id="members-heading" { "Members " span class="muted" { "(" (member_refs.len()) ")" } }
            @if member_refs.is_empty() {
                p class="muted" { "This group has no direct members." }
            } @else {
                div class="table-wrap" {
                    table {
                        thead { tr { th scope="col" { "Name" } th scope="col" { "Display name" } th scope="col" { "Email" } } }
                        tbody {
                            @for (member_ref, member) in shown.iter().zip(&members) {
                                tr {
                                    td { (ref_link(member_ref)) }
                                    td { @if let Some(member) = member { (display_name(member).unwrap_or_default()) } }
                                    td { @if let Some(email) = member.as_ref().and_then(|member| member.spec["profile"]["email"].as_str()) { (email) } }
                                }
                            }
                        }
                    }
                }
                @if member_refs.len() > shown.len() {
                    p { a href={ "/users?group=" (encode_segment(&group.metadata.name)) } { "All " (member_refs.len()) " members, with search" } }
                }
            }
        }
        (annotations(&group.metadata.annotations))
        (raw_yaml(&group))
    };
    Ok(Page {
        title,
        section: Section::Groups,
        viewer,
        content,
    })
}

/// Reads the entity of `kind` named `name` in the default namespace, or a
/// 404 page that points to the list to search.
async fn load(
    state: &UiState,
    viewer: &Viewer,
    kind: &str,
    name: &str,
) -> Result<Entity, PageError> {
    let entity_ref = format!("{kind}:{DEFAULT_NAMESPACE}/{name}");
    let found = state
        .catalog
        .entity_by_ref(&entity_ref)
        .await
        .map_err(|error| PageError::store(viewer, &format!("Reading {entity_ref}"), &error))?;
    found.ok_or_else(|| {
        PageError::not_found(
            viewer,
            format!("No {kind} named {name}"),
            format!(
                "The catalog has no {entity_ref}. It may have been removed by the last sync; \
                 search the {kind}s list for it."
            ),
        )
    })
}

/// Returns the display name of a user or group: `spec.profile.displayName`, else
/// `metadata.title`.
pub fn display_name(entity: &Entity) -> Option<String> {
    entity.spec["profile"]["displayName"]
        .as_str()
        .map(str::to_string)
        .or_else(|| entity.metadata.title.clone())
}

/// Returns the path of a group's page, for the default namespace.
pub fn group_href(name: &str) -> String {
    format!("/groups/{}", encode_segment(name))
}

/// Returns the path of an entity's page, for users and groups of the
/// default namespace.
fn href_of(entity_ref: &EntityRef) -> Option<String> {
    if !entity_ref.namespace.eq_ignore_ascii_case(DEFAULT_NAMESPACE) {
        return None;
    }
    let section = match entity_ref.kind.to_ascii_lowercase().as_str() {
        "user" => "users",
        "group" => "groups",
        _ => return None,
    };
    Some(format!("/{section}/{}", encode_segment(&entity_ref.name)))
}

/// Renders a link to an entity's page, labelled with its name.
pub fn entity_link(entity: &Entity) -> Markup {
    match href_of(&entity.entity_ref()) {
        Some(href) => html! { a href=(href) { (entity.metadata.name) } },
        None => html! { (entity.entity_ref()) },
    }
}

/// Renders a link to the entity a ref names, labelled with its name.
pub fn ref_link(target_ref: &str) -> Markup {
    related_link(target_ref, None)
}

/// Renders a link to the entity `target_ref` names, labelled with its
/// display name when `entity` (the entity read back for the ref) has one.
/// A ref into another namespace, or one that does not parse, is shown as
/// text.
fn related_link(target_ref: &str, entity: Option<&Entity>) -> Markup {
    let Some(parsed) = EntityRef::parse(target_ref, None) else {
        return html! { span class="mono" { (target_ref) } };
    };
    let label = entity
        .and_then(display_name)
        .unwrap_or_else(|| parsed.name.clone());
    match href_of(&parsed) {
        Some(href) => html! {
            a href=(href) title=(parsed.name) { (label) }
        },
        None => html! { span class="mono" { (target_ref) } },
    }
}

/// Returns the strings of a JSON list, or an empty list for other values.
pub fn string_list(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Percent-encodes everything in a path segment but RFC 3986's unreserved
/// characters. Valid entity names need no encoding; this guards the rest.
pub fn encode_segment(segment: &str) -> String {
    let mut encoded = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

fn breadcrumbs(list_href: &str, list_label: &str, name: &str) -> Markup {
    html! {
        nav class="breadcrumbs" aria-label="Breadcrumb" {
            ol {
                li { a href=(list_href) { (list_label) } }
                li { span aria-current="page" { (name) } }
            }
        }
    }
}

/// Renders a round picture from an `https` URL, or the initials of `name`.
fn avatar(name: &str, picture: Option<&str>) -> Markup {
    if let Some(url) = picture.filter(|url| url.starts_with("https://")) {
        return html! { img class="avatar" src=(url) alt="" width="56" height="56"; };
    }
    let initials: String = name
        .split_whitespace()
        .filter_map(|word| word.chars().next())
        .take(2)
        .flat_map(char::to_uppercase)
        .collect();
    html! { span class="avatar" aria-hidden="true" { (initials) } }
}

fn annotations(annotations: &BTreeMap<String, String>) -> Markup {
    html! {
        section aria-labelledby="annotations-heading" {
            h2 id="annotations-heading" { "Annotations" }
            @if annotations.is_empty() {
                p class="muted" { "No annotations." }
            } @else {
                div class="table-wrap" {
                    table {
                        thead { tr { th scope="col" { "Key" } th scope="col" { "Value" } } }
                        tbody {
                            @for (key, value) in annotations {
                                tr { td class="mono" { (key) } td class="mono" { (value) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn raw_yaml(entity: &Entity) -> Markup {
    let yaml = serde_yaml_ng::to_string(entity).unwrap_or_else(|error| {
        tracing::warn!(entity = %entity.entity_ref(), error = %error, "serializing an entity as YAML failed");
        format!("# The entity could not be shown as YAML: {error}")
    });
    html! {
        section aria-labelledby="yaml-heading" {
            h2 id="yaml-heading" { "Entity YAML" }
            details {
                summary { "Show the entity as the catalog stores it" }
                pre class="yaml" tabindex="0" { code { (yaml) } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_keep_entity_names() {
        assert_eq!(encode_segment("ann.lee_2-x~"), "ann.lee_2-x~");
    }

    #[test]
    fn segments_encode_other_bytes() {
        assert_eq!(encode_segment("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn default_namespace_refs_link_to_pages() {
        let link = ref_link("group:default/platform").into_string();
        assert_eq!(
            link,
            "<a href=\"/groups/platform\" title=\"platform\">platform</a>"
        );
    }

    #[test]
    fn other_namespace_refs_are_text() {
        let link = ref_link("group:other/platform").into_string();
        assert!(!link.contains("href"));
        assert!(link.contains("group:other/platform"));
    }

    #[test]
    fn avatar_uses_initials_without_picture() {
        let markup = avatar("Ann Lee", None).into_string();
        assert!(markup.contains(">AL<"));
    }

    #[test]
    fn avatar_ignores_plain_http_pictures() {
        let markup = avatar("Ann Lee", Some("http://example.com/a.png")).into_string();
        assert!(!markup.contains("<img"));
    }
}
