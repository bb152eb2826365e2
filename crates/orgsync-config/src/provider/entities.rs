//! The settings that decide which Okta records are ingested and how the
//! Backstage entities built from them look, read into `orgsync_model`'s
//! [`SelectionOptions`] and [`TransformOptions`].

use orgsync_model::{GroupNaming, GroupTypeRule, SelectionOptions, TransformOptions, UserNaming};
use serde_json::Value;

use crate::context::{show, Context};
use crate::read::{Field, Fields, Strictness};
use crate::suggest::closest;

pub(crate) const GROUP_TYPE_KEYS: &[&str] = &["value", "attribute", "default"];
pub(crate) const ANNOTATIONS_KEYS: &[&str] = &["attributes", "prefix"];

const USER_NAMINGS: &[(&str, UserNaming)] = &[
    ("emailLocalPart", UserNaming::EmailLocalPart),
    ("email", UserNaming::Email),
    ("login", UserNaming::Login),
    ("id", UserNaming::Id),
];
const GROUP_NAMINGS: &[(&str, GroupNaming)] =
    &[("name", GroupNaming::Name), ("id", GroupNaming::Id)];

/// The Roadie Okta module's naming strategy names, and orgsync's nearest
/// equivalent, for the fix text.
const ROADIE_NAMINGS: &[(&str, &str)] = &[
    ("strip-domain-email", "emailLocalPart"),
    ("kebab-case-email", "email"),
    ("kebab-case-name", "name"),
];

/// Reads the selection settings; each defaults to false.
pub(crate) fn read_selection(context: &mut Context, fields: &Fields<'_>) -> SelectionOptions {
    SelectionOptions {
        include_built_in_groups: fields
            .bool(context, "includeBuiltInGroups")
            .unwrap_or(false),
        include_deprovisioned: fields
            .bool(context, "includeDeprovisionedUsers")
            .unwrap_or(false),
        only_group_members: fields.bool(context, "onlyGroupMembers").unwrap_or(false),
    }
}

/// Reads the entity settings of provider `provider_id`.
pub(crate) fn read_transform(
    context: &mut Context,
    fields: &Fields<'_>,
    provider_id: &str,
) -> TransformOptions {
    let defaults = TransformOptions::default();
    let (annotation_attributes, annotation_prefix) = match fields.field("annotations") {
        Some(field) => read_annotations(context, &field),
        None => (Vec::new(), defaults.annotation_prefix.clone()),
    };

    TransformOptions {
        provider_id: provider_id.to_string(),
        user_naming: fields
            .field("userNaming")
            .and_then(|field| read_choice(context, &field, USER_NAMINGS))
            .unwrap_or(defaults.user_naming),
        group_naming: fields
            .field("groupNaming")
            .and_then(|field| read_choice(context, &field, GROUP_NAMINGS))
            .unwrap_or(defaults.group_naming),
        group_type: fields
            .field("groupType")
            .and_then(|field| read_group_type(context, &field))
            .unwrap_or(defaults.group_type),
        parent_group_attribute: fields
            .field("parentGroupAttribute")
            .and_then(|field| read_attribute(context, &field)),
        picture_attribute: fields
            .field("pictureAttribute")
            .and_then(|field| read_attribute(context, &field)),
        annotation_attributes,
        annotation_prefix,
        keep_empty_groups: fields
            .bool(context, "keepEmptyGroups")
            .unwrap_or(defaults.keep_empty_groups),
    }
}

/// Reads one of a fixed set of names.
fn read_choice<T: Copy>(
    context: &mut Context,
    field: &Field<'_>,
    choices: &[(&str, T)],
) -> Option<T> {
    let text = field.string(context)?;
    if let Some((_, choice)) = choices.iter().find(|(name, _)| *name == text) {
        return Some(*choice);
    }
    let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
    let roadie = ROADIE_NAMINGS
        .iter()
        .find(|(roadie, current)| *roadie == text && names.contains(current));
    let fix = match (roadie, closest(&text, &names)) {
        (Some((_, current)), _) => {
            format!("write {current}, orgsync's name for the Roadie module's {text}")
        }
        (None, Some(suggestion)) => format!("did you mean `{suggestion}`?"),
        (None, None) => format!("write one of {}", names.join(", ")),
    };
    context.error(
        &field.path,
        Some(show(field.value)),
        format!("is not one of {}", names.join(", ")),
        fix,
    );
    None
}

/// Reads `groupType`: `{ value: team }` or `{ attribute: orgType, default: team }`.
fn read_group_type(context: &mut Context, field: &Field<'_>) -> Option<GroupTypeRule> {
    let Value::Object(map) = field.value else {
        let fix = match field.value {
            Value::String(text) => format!("write groupType: {{ value: {text} }}"),
            _ => "write groupType: { value: team } or { attribute: orgType, default: team }"
                .to_string(),
        };
        context.error(&field.path, Some(show(field.value)), "is not a map", fix);
        return None;
    };
    let fields = Fields::new(&field.path, map);
    fields.check_keys(context, GROUP_TYPE_KEYS, &[], Strictness::Strict);

    match (fields.field("value"), fields.field("attribute")) {
        (Some(_), Some(_)) => {
            context.error(
                &field.path,
                None,
                "sets both value and attribute",
                "keep value for one type for every group, or attribute to read each group's type from its profile",
            );
            None
        }
        (Some(value), None) => {
            if let Some(default) = fields.field("default") {
                context.warn(
                    &default.path,
                    None,
                    "has no effect without attribute",
                    "remove default",
                );
            }
            read_type_name(context, &value).map(GroupTypeRule::Fixed)
        }
        (None, Some(attribute)) => {
            let attribute = read_attribute(context, &attribute)?;
            let default = match fields.field("default") {
                Some(default) => read_type_name(context, &default)?,
                None => orgsync_model::options::DEFAULT_GROUP_TYPE.to_string(),
            };
            Some(GroupTypeRule::Attribute { attribute, default })
        }
        (None, None) => {
            context.error(
                &field.path,
                None,
                "sets neither value nor attribute",
                "write groupType: { value: team } or { attribute: orgType, default: team }",
            );
            None
        }
    }
}

fn read_type_name(context: &mut Context, field: &Field<'_>) -> Option<String> {
    let name = field.string(context)?;
    if name.trim().is_empty() {
        context.error(
            &field.path,
            Some(show(field.value)),
            "is empty",
            "write a group type such as team, department or business-unit",
        );
        return None;
    }
    Some(name.trim().to_string())
}

/// Reads an Okta profile attribute name (`costCenter`).
fn read_attribute(context: &mut Context, field: &Field<'_>) -> Option<String> {
    let name = field.string(context)?;
    let name = name.trim();
    let problem = if let Some(rest) = name.strip_prefix("profile.") {
        Some((
            "starts with `profile.`".to_string(),
            format!("write {rest}; attributes are always read from the profile"),
        ))
    } else if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == '.') {
        Some((
            "is not a profile attribute name".to_string(),
            "use the attribute's variable name from the Okta profile editor, such as costCenter, not its display name".to_string(),
        ))
    } else {
        None
    };
    if let Some((problem, fix)) = problem {
        context.error(&field.path, Some(show(field.value)), problem, fix);
        return None;
    }
    Some(name.to_string())
}

/// Reads `annotations: { attributes: [...], prefix: 'okta.com/' }`.
fn read_annotations(context: &mut Context, field: &Field<'_>) -> (Vec<String>, String) {
    let default_prefix = orgsync_model::options::DEFAULT_ANNOTATION_PREFIX.to_string();
    let Some(map) = field.map(
        context,
        "write annotations: { attributes: [costCenter, division] }",
    ) else {
        return (Vec::new(), default_prefix);
    };
    let fields = Fields::new(&field.path, map);
    fields.check_keys(context, ANNOTATIONS_KEYS, &[], Strictness::Strict);

    let mut attributes = Vec::new();
    if let Some(list) = fields.field("attributes") {
        if let Value::Array(items) = list.value {
            for (index, item) in items.iter().enumerate() {
                let item = Field {
                    path: list.path.index(index),
                    value: item,
                };
                attributes.extend(read_attribute(context, &item));
            }
        } else {
            list.string_list(context);
        }
    }
    let prefix = fields
        .field("prefix")
        .and_then(|prefix| read_annotation_prefix(context, &prefix))
        .unwrap_or(default_prefix);
    (attributes, prefix)
}

/// Checks the prefix against Backstage's annotation key rules: the part
/// before `/` is a DNS subdomain (lower-case letters, digits, `-` and `.`,
/// at most 253 characters).
fn read_annotation_prefix(context: &mut Context, field: &Field<'_>) -> Option<String> {
    let prefix = field.string(context)?;
    let domain = prefix.split('/').next().unwrap_or_default();
    let labels_valid = domain.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    });
    if domain.len() <= 253 && labels_valid && prefix.matches('/').count() <= 1 {
        return Some(prefix);
    }
    context.error(
        &field.path,
        Some(show(field.value)),
        "is not a valid annotation prefix",
        "write a lower-case domain name followed by /, such as okta.com/ or example.com/",
    );
    None
}
