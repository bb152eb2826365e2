//! Entity construction: names, refs, profiles and annotations of the
//! ingested users and groups.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::hierarchy::Parents;
use super::report::Report;
use super::select::Selection;
use crate::annotations::{
    annotation_key, annotation_value, GROUP_ID, GROUP_TYPE, MANAGED_BY_LOCATION,
    MANAGED_BY_ORIGIN_LOCATION, RESERVED_KEYS, USER_ID, USER_LOGIN,
};
use crate::entity::{API_VERSION, DEFAULT_NAMESPACE};
use crate::names::{assign_names, fallback_name, normalize_name, MAX_NAME_LEN};
use crate::okta::{OktaGroup, OktaUser};
use crate::options::{
    GroupNaming, GroupTypeRule, TransformOptions, UserNaming, DEFAULT_GROUP_TYPE,
};
use crate::{Entity, EntityMetadata, EntityRef};

/// What every entity of one build shares.
struct Context<'a> {
    options: &'a TransformOptions,
    /// `okta:<provider id>`, the value of the managed-by annotations.
    location: String,
    /// Profile attributes to copy, with their annotation keys.
    copies: Vec<(String, String)>,
}

/// Builds one entity per selected user and group, unsorted.
pub(super) fn build(
    selected: &Selection<'_>,
    parents: &Parents,
    options: &TransformOptions,
    report: &mut Report,
) -> Vec<Entity> {
    let context = Context {
        options,
        location: format!("okta:{}", options.provider_id),
        copies: plan_copies(options, report),
    };
    let user_refs = user_refs(&selected.users, options.user_naming);
    let group_refs = group_refs(&selected.groups, options.group_naming);
    let mut links = Links::new(selected, parents, &user_refs, &group_refs);

    let mut entities = Vec::with_capacity(user_refs.len() + group_refs.len());
    for user in &selected.users {
        let Some(user_ref) = user_refs.get(&user.id) else {
            continue;
        };
        let groups = links.member_of.remove(user.id.as_str()).unwrap_or_default();
        entities.push(user_entity(user, &user_ref.name, groups, &context, report));
    }
    for group in &selected.groups {
        let Some(group_ref) = group_refs.get(&group.id) else {
            continue;
        };
        let group_links = GroupLinks {
            members: links.members.remove(group.id.as_str()).unwrap_or_default(),
            children: links.children.remove(group.id.as_str()).unwrap_or_default(),
            parent: parents
                .get(&group.id)
                .and_then(|parent_id| group_refs.get(parent_id))
                .map(ToString::to_string),
        };
        entities.push(group_entity(
            group,
            &group_ref.name,
            group_links,
            &context,
            report,
        ));
    }
    entities
}

/// The entity refs each record links to, by the record's Okta id.
struct Links<'a> {
    /// User id to the refs of the groups the user is a member of.
    member_of: BTreeMap<&'a str, Vec<String>>,
    /// Group id to the refs of its member users.
    members: BTreeMap<&'a str, Vec<String>>,
    /// Group id to the refs of its child groups.
    children: BTreeMap<&'a str, Vec<String>>,
}

impl<'a> Links<'a> {
    fn new(
        selected: &Selection<'a>,
        parents: &'a Parents,
        user_refs: &BTreeMap<String, EntityRef>,
        group_refs: &BTreeMap<String, EntityRef>,
    ) -> Self {
        let mut links = Links {
            member_of: BTreeMap::new(),
            members: BTreeMap::new(),
            children: BTreeMap::new(),
        };
        for (group_id, user_ids) in &selected.members {
            let Some(group_ref) = group_refs.get(*group_id) else {
                continue;
            };
            for user_id in user_ids {
                let Some(user_ref) = user_refs.get(*user_id) else {
                    continue;
                };
                let groups = links.member_of.entry(user_id).or_default();
                groups.push(group_ref.to_string());
                let users = links.members.entry(group_id).or_default();
                users.push(user_ref.to_string());
            }
        }

        for (child_id, parent_id) in parents {
            if let Some(child_ref) = group_refs.get(child_id) {
                let children = links.children.entry(parent_id.as_str()).or_default();
                children.push(child_ref.to_string());
            }
        }
        links
    }
}

/// Entity refs of the users, by Okta id.
fn user_refs(users: &[&OktaUser], naming: UserNaming) -> BTreeMap<String, EntityRef> {
    let bases: Vec<(String, String)> = users
        .iter()
        .map(|user| (user.id.clone(), user_base_name(user, naming)))
        .collect();
    refs_by_id(&bases, "user")
}

/// Entity refs of the groups, by Okta id.
fn group_refs(groups: &[&OktaGroup], naming: GroupNaming) -> BTreeMap<String, EntityRef> {
    let bases: Vec<(String, String)> = groups
        .iter()
        .map(|group| (group.id.clone(), group_base_name(group, naming)))
        .collect();
    refs_by_id(&bases, "group")
}

fn refs_by_id(bases: &[(String, String)], kind: &str) -> BTreeMap<String, EntityRef> {
    assign_names(bases)
        .into_iter()
        .map(|(id, name)| (id, EntityRef::new(kind, DEFAULT_NAMESPACE, &name)))
        .collect()
}

/// The base name of a user under the naming strategy, falling back along
/// email, login and id as [`UserNaming`] documents.
fn user_base_name(user: &OktaUser, naming: UserNaming) -> String {
    let email = user.profile_str("email");
    let login = user.profile_str("login");
    let candidates = match naming {
        UserNaming::EmailLocalPart => [email.map(local_part), login.map(local_part)],
        UserNaming::Email => [email, login],
        UserNaming::Login => [login, None],
        UserNaming::Id => [None, None],
    };
    candidates
        .into_iter()
        .flatten()
        .map(normalize_name)
        .find(|name| !name.is_empty())
        .unwrap_or_else(|| fallback_name(&user.id))
}

/// The part of an address before its last `@` (a quoted local part may
/// contain `@`); the whole text when it has none.
fn local_part(address: &str) -> &str {
    address.rsplit_once('@').map_or(address, |(local, _)| local)
}

fn group_base_name(group: &OktaGroup, naming: GroupNaming) -> String {
    let name = match naming {
        GroupNaming::Name => group.profile_str("name").map(normalize_name),
        GroupNaming::Id => None,
    };
    name.filter(|name| !name.is_empty())
        .unwrap_or_else(|| fallback_name(&group.id))
}

fn user_entity(
    user: &OktaUser,
    name: &str,
    mut member_of: Vec<String>,
    context: &Context<'_>,
    report: &mut Report,
) -> Entity {
    member_of.sort();
    let display_name = user_display_name(user, report);

    let mut profile = Map::new();
    if let Some(display_name) = &display_name {
        profile.insert("displayName".into(), json!(display_name));
    }
    if let Some(email) = report.clean(&user.id, "profile.email", user.profile_str("email")) {
        profile.insert("email".into(), json!(email));
    }
    if let Some(attribute) = &context.options.picture_attribute {
        let field = format!("profile.{attribute}");
        if let Some(picture) = report.clean(&user.id, &field, user.profile_str(attribute)) {
            profile.insert("picture".into(), json!(picture));
        }
    }

    let mut annotations = copied_annotations(&user.id, &user.profile, context, report);
    annotations.insert(USER_ID.into(), user.id.clone());
    if let Some(login) = report.clean(&user.id, "profile.login", user.profile_str("login")) {
        annotations.insert(USER_LOGIN.into(), login);
    }
    set_locations(&mut annotations, context);

    let metadata = EntityMetadata {
        name: name.to_string(),
        namespace: DEFAULT_NAMESPACE.to_string(),
        title: display_name,
        annotations,
        ..EntityMetadata::default()
    };
    let mut spec = Map::new();
    spec.insert("profile".into(), Value::Object(profile));
    spec.insert("memberOf".into(), string_array(member_of));
    entity("User", metadata, Value::Object(spec))
}

/// Moves `items` into a JSON array. `json!` would copy every string, and a
/// large org has millions of member refs.
fn string_array(items: Vec<String>) -> Value {
    Value::Array(items.into_iter().map(Value::String).collect())
}

/// `profile.displayName`, else first and last name, else the login.
fn user_display_name(user: &OktaUser, report: &mut Report) -> Option<String> {
    if let Some(name) = report.clean(
        &user.id,
        "profile.displayName",
        user.profile_str("displayName"),
    ) {
        return Some(name);
    }
    let parts: Vec<&str> = ["firstName", "lastName"]
        .iter()
        .filter_map(|attribute| user.profile_str(attribute))
        .collect();
    if let Some(name) = report.clean(
        &user.id,
        "profile.firstName and lastName",
        Some(&parts.join(" ")),
    ) {
        return Some(name);
    }
    report.clean(&user.id, "profile.login", user.profile_str("login"))
}

/// A group's direct links to other entities, as entity refs.
struct GroupLinks {
    members: Vec<String>,
    children: Vec<String>,
    parent: Option<String>,
}

fn group_entity(
    group: &OktaGroup,
    name: &str,
    mut links: GroupLinks,
    context: &Context<'_>,
    report: &mut Report,
) -> Entity {
    links.members.sort();
    links.children.sort();
    let display_name = report.clean(&group.id, "profile.name", group.profile_str("name"));
    let description = report.clean(
        &group.id,
        "profile.description",
        group.profile_str("description"),
    );

    let mut profile = Map::new();
    if let Some(display_name) = &display_name {
        profile.insert("displayName".into(), json!(display_name));
    }
    let mut spec = Map::new();
    spec.insert(
        "type".into(),
        Value::String(group_type(group, &context.options.group_type)),
    );
    spec.insert("profile".into(), Value::Object(profile));
    spec.insert("children".into(), string_array(links.children));
    spec.insert("members".into(), string_array(links.members));
    if let Some(parent) = links.parent {
        spec.insert("parent".into(), Value::String(parent));
    }
    let spec = Value::Object(spec);

    let mut annotations = copied_annotations(&group.id, &group.profile, context, report);
    annotations.insert(GROUP_ID.into(), group.id.clone());
    if !group.group_type.is_empty() {
        annotations.insert(GROUP_TYPE.into(), group.group_type.clone());
    }
    set_locations(&mut annotations, context);

    let metadata = EntityMetadata {
        name: name.to_string(),
        namespace: DEFAULT_NAMESPACE.to_string(),
        title: display_name,
        description,
        annotations,
        ..EntityMetadata::default()
    };
    entity("Group", metadata, spec)
}

/// The group's `spec.type` under the rule; blank configured values fall
/// back to [`DEFAULT_GROUP_TYPE`].
fn group_type(group: &OktaGroup, rule: &GroupTypeRule) -> String {
    let configured = |value: &str| {
        let value = value.trim();
        if value.is_empty() {
            DEFAULT_GROUP_TYPE.to_string()
        } else {
            value.to_string()
        }
    };
    match rule {
        GroupTypeRule::Fixed(value) => configured(value),
        GroupTypeRule::Attribute { attribute, default } => group
            .profile_str(attribute)
            .map(|value| {
                let mut normalized = normalize_name(value);
                normalized.truncate(MAX_NAME_LEN);
                normalized.trim_end_matches(['-', '_', '.']).to_string()
            })
            .filter(|value| !value.is_empty())
            .unwrap_or_else(|| configured(default)),
    }
}

fn entity(kind: &str, metadata: EntityMetadata, spec: Value) -> Entity {
    Entity {
        api_version: API_VERSION.to_string(),
        kind: kind.to_string(),
        metadata,
        spec,
        relations: Vec::new(),
    }
}

fn set_locations(annotations: &mut BTreeMap<String, String>, context: &Context<'_>) {
    annotations.insert(MANAGED_BY_LOCATION.into(), context.location.clone());
    annotations.insert(MANAGED_BY_ORIGIN_LOCATION.into(), context.location.clone());
}

/// Works out the annotation key of every attribute to copy, warning about
/// attributes that give no valid key, a reserved key or a key already used.
fn plan_copies(options: &TransformOptions, report: &mut Report) -> Vec<(String, String)> {
    let prefix = &options.annotation_prefix;
    let mut copies: Vec<(String, String)> = Vec::new();
    for attribute in &options.annotation_attributes {
        let Some(key) = annotation_key(prefix, attribute) else {
            report.warn(
                "",
                format!("annotation attribute {attribute:?} with prefix {prefix:?} gives no valid annotation key, so it is not copied; use an attribute name with letters or digits and a DNS-style prefix"),
            );
            continue;
        };
        if RESERVED_KEYS.contains(&key.as_str()) {
            report.warn(
                "",
                format!("annotation attribute {attribute:?} maps to {key:?}, which orgsync sets itself, so it is not copied; remove it from the annotation attributes or change the prefix"),
            );
        } else if let Some((earlier, _)) = copies.iter().find(|(_, used)| *used == key) {
            report.warn(
                "",
                format!("annotation attributes {earlier:?} and {attribute:?} both map to {key:?}; only {earlier:?} is copied"),
            );
        } else {
            copies.push((attribute.clone(), key));
        }
    }
    copies
}

/// Copies the planned profile attributes that hold a string, number or
/// boolean into annotations.
fn copied_annotations(
    okta_id: &str,
    profile: &Map<String, Value>,
    context: &Context<'_>,
    report: &mut Report,
) -> BTreeMap<String, String> {
    let mut annotations = BTreeMap::new();
    for (attribute, key) in &context.copies {
        let Some(text) = profile.get(attribute).and_then(annotation_value) else {
            continue;
        };
        let field = format!("profile.{attribute}");
        if let Some(value) = report.clean(okta_id, &field, Some(&text)) {
            annotations.insert(key.clone(), value);
        }
    }
    annotations
}
