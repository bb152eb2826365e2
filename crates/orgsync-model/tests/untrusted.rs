//! Okta records are untrusted input. These property tests feed
//! [`build_entities`] profiles of any JSON type (numbers for emails, objects
//! for names, control characters, long strings), duplicate and empty ids,
//! unknown statuses, and member lists that name unknown users. They check
//! that it never panics and that every entity it returns passes Backstage's
//! validation.
//!
//! The number of cases follows `PROPTEST_CASES` (256 when unset).

use std::collections::HashMap;

use orgsync_model::{
    build_entities, validate_entity, GroupNaming, GroupTypeRule, OktaGroup, OktaSnapshot, OktaUser,
    SelectionOptions, TransformOptions, UserNaming,
};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Profile attributes that orgsync reads, so that odd values reach them.
const KNOWN_ATTRIBUTES: [&str; 10] = [
    "email",
    "login",
    "displayName",
    "firstName",
    "lastName",
    "name",
    "description",
    "parent",
    "department",
    "picture",
];

/// Text of any kind: printable, control characters, long, or empty.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z0-9.@_ -]{0,16}",
        2 => any::<String>(),
        1 => "[\\x00-\\x1f\\x7f]{1,8}",
        1 => (1usize..5_000).prop_map(|length| "x".repeat(length)),
        1 => "(Ana|ana|ANA|Zoë|r&d|@|\\.\\.)@(a|b)\\.example",
    ]
}

/// Any JSON value, nested up to three levels.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |float| {
            serde_json::Number::from_f64(float).map(Value::Number)
        }),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn attribute_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(KNOWN_ATTRIBUTES.to_vec()).prop_map(str::to_string),
        1 => text(),
    ]
}

/// Generates a profile whose attributes contain values of any type.
fn profile() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(attribute_name(), json_value(), 0..8)
        .prop_map(|map| map.into_iter().collect())
}

/// Ids from a small pool, so that duplicates and case twins are common.
fn okta_id(prefix: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (0u8..6).prop_map(move |number| format!("{prefix}{number}")),
        1 => Just(String::new()),
        1 => Just(format!("{}0", prefix.to_uppercase())),
        1 => text(),
    ]
}

fn user() -> impl Strategy<Value = OktaUser> {
    let status = prop_oneof![
        4 => Just("ACTIVE".to_string()),
        1 => Just("DEPROVISIONED".to_string()),
        1 => Just("SUSPENDED".to_string()),
        1 => text(),
    ];
    (okta_id("00u"), status, profile()).prop_map(|(id, status, profile)| OktaUser {
        id,
        status,
        profile,
    })
}

fn group() -> impl Strategy<Value = OktaGroup> {
    let group_type = prop_oneof![
        4 => Just("OKTA_GROUP".to_string()),
        1 => Just("APP_GROUP".to_string()),
        1 => Just("BUILT_IN".to_string()),
        1 => text(),
    ];
    (okta_id("00g"), group_type, profile()).prop_map(|(id, group_type, profile)| OktaGroup {
        id,
        group_type,
        profile,
    })
}

fn snapshot() -> impl Strategy<Value = OktaSnapshot> {
    let members = prop::collection::hash_map(
        okta_id("00g"),
        prop::collection::vec(okta_id("00u"), 0..8),
        0..6,
    );
    (
        prop::collection::vec(user(), 0..10),
        prop::collection::vec(group(), 0..6),
        members,
    )
        .prop_map(|(users, groups, members)| OktaSnapshot {
            users,
            groups,
            members: members.into_iter().collect::<HashMap<_, _>>(),
        })
}

/// Generates a JSON record shaped like an Okta user or group, whose fields
/// may have any type: an id that is a number, a profile that is a list.
fn record_json() -> impl Strategy<Value = Value> {
    let id = prop_oneof![
        3 => okta_id("00u").prop_map(Value::String),
        1 => json_value(),
    ];
    let profile = prop_oneof![
        3 => profile().prop_map(Value::Object),
        1 => json_value(),
    ];
    let fields = (id, json_value(), json_value(), profile, any::<[bool; 3]>());
    fields.prop_map(|(id, status, group_type, profile, present)| {
        let mut record = Map::new();
        record.insert("id".to_string(), id);
        if present[0] {
            record.insert("status".to_string(), status);
        }
        if present[1] {
            record.insert("type".to_string(), group_type);
        }
        if present[2] {
            record.insert("profile".to_string(), profile);
        }
        Value::Object(record)
    })
}

/// Selection and transform options as a valid config can set them.
fn options() -> impl Strategy<Value = (SelectionOptions, TransformOptions)> {
    let user_naming = prop::sample::select(vec![
        UserNaming::EmailLocalPart,
        UserNaming::Email,
        UserNaming::Login,
        UserNaming::Id,
    ]);
    let group_naming = prop::sample::select(vec![GroupNaming::Name, GroupNaming::Id]);
    let group_type = prop_oneof![
        Just(GroupTypeRule::default()),
        Just(GroupTypeRule::Attribute {
            attribute: "department".to_string(),
            default: "team".to_string(),
        }),
    ];
    let flags = any::<[bool; 6]>();
    (user_naming, group_naming, group_type, flags).prop_map(
        |(user_naming, group_naming, group_type, flags)| {
            let selection = SelectionOptions {
                include_built_in_groups: flags[0],
                include_deprovisioned: flags[1],
                only_group_members: flags[2],
            };
            let transform = TransformOptions {
                provider_id: "okta".to_string(),
                user_naming,
                group_naming,
                group_type,
                parent_group_attribute: flags[3].then(|| "parent".to_string()),
                picture_attribute: flags[4].then(|| "picture".to_string()),
                annotation_attributes: vec!["department".to_string(), "email".to_string()],
                keep_empty_groups: flags[5],
                ..TransformOptions::default()
            };
            (selection, transform)
        },
    )
}

/// Transform options with every default but the provider id, which the
/// config always sets.
fn default_transform() -> TransformOptions {
    TransformOptions {
        provider_id: "okta".to_string(),
        ..TransformOptions::default()
    }
}

/// Builds the entities and returns the first one that fails validation,
/// with its errors.
fn first_invalid(
    snapshot: &OktaSnapshot,
    selection: &SelectionOptions,
    transform: &TransformOptions,
) -> Option<String> {
    let output = build_entities(snapshot, selection, transform);
    output.entities.iter().find_map(|entity| {
        validate_entity(entity)
            .err()
            .map(|errors| format!("{}: {errors:?}", entity.entity_ref()))
    })
}

proptest! {
    #[test]
    fn odd_records_build_valid_entities(
        snapshot in snapshot(),
        (selection, transform) in options(),
    ) {
        let invalid = first_invalid(&snapshot, &selection, &transform);
        prop_assert_eq!(invalid, None);
    }

    #[test]
    fn decoded_json_builds_valid_entities(
        users in prop::collection::vec(record_json(), 0..6),
        groups in prop::collection::vec(record_json(), 0..4),
    ) {
        // The Okta client rejects a page with a record that does not decode,
        // so only the records that decode reach the build.
        let users: Vec<OktaUser> = users
            .into_iter()
            .filter_map(|value| serde_json::from_value(value).ok())
            .collect();
        let groups: Vec<OktaGroup> = groups
            .into_iter()
            .filter_map(|value| serde_json::from_value(value).ok())
            .collect();
        let snapshot = OktaSnapshot { users, groups, members: HashMap::new() };

        let invalid = first_invalid(&snapshot, &SelectionOptions::default(), &default_transform());
        prop_assert_eq!(invalid, None);
    }
}

#[test]
fn huge_display_name_builds_valid_user() {
    let mut profile = Map::new();
    profile.insert("email".to_string(), Value::from("ana@a.example"));
    profile.insert("displayName".to_string(), Value::from("A".repeat(1 << 20)));
    let snapshot = OktaSnapshot {
        users: vec![OktaUser {
            id: "00u1".to_string(),
            status: "ACTIVE".to_string(),
            profile,
        }],
        ..OktaSnapshot::default()
    };

    let output = build_entities(
        &snapshot,
        &SelectionOptions::default(),
        &default_transform(),
    );

    assert_eq!(output.entities.len(), 1);
    assert_eq!(validate_entity(&output.entities[0]), Ok(()));
}
