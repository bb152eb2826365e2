use serde_json::{json, Value};

use super::*;
use crate::options::{GroupNaming, GroupTypeRule, UserNaming};
use crate::text::MAX_TEXT_BYTES;
use crate::validate::{is_valid_entity_name, validate_entity};

fn user(id: &str, profile: Value) -> OktaUser {
    user_with_status(id, "ACTIVE", profile)
}

fn user_with_status(id: &str, status: &str, profile: Value) -> OktaUser {
    serde_json::from_value(json!({ "id": id, "status": status, "profile": profile }))
        .expect("test user is valid JSON for OktaUser")
}

fn jane(id: &str) -> OktaUser {
    user(
        id,
        json!({ "login": "jane@example.com", "email": "jane@example.com" }),
    )
}

fn group(id: &str, profile: Value) -> OktaGroup {
    group_of_type(id, "OKTA_GROUP", profile)
}

fn group_of_type(id: &str, group_type: &str, profile: Value) -> OktaGroup {
    serde_json::from_value(json!({ "id": id, "type": group_type, "profile": profile }))
        .expect("test group is valid JSON for OktaGroup")
}

fn named(id: &str, name: &str) -> OktaGroup {
    group(id, json!({ "name": name }))
}

fn snapshot(
    users: Vec<OktaUser>,
    groups: Vec<OktaGroup>,
    members: &[(&str, &[&str])],
) -> OktaSnapshot {
    OktaSnapshot {
        users,
        groups,
        members: members
            .iter()
            .map(|(group_id, user_ids)| {
                let ids = user_ids.iter().map(|id| id.to_string()).collect();
                (group_id.to_string(), ids)
            })
            .collect(),
    }
}

fn options() -> TransformOptions {
    TransformOptions {
        provider_id: "acme".into(),
        ..TransformOptions::default()
    }
}

fn build(snapshot: &OktaSnapshot) -> BuildOutput {
    build_entities(snapshot, &SelectionOptions::default(), &options())
}

fn build_with(snapshot: &OktaSnapshot, options: &TransformOptions) -> BuildOutput {
    build_entities(snapshot, &SelectionOptions::default(), options)
}

fn select_with(snapshot: &OktaSnapshot, selection: &SelectionOptions) -> BuildOutput {
    build_entities(snapshot, selection, &options())
}

/// The entity built for an Okta id, found through its id annotation.
fn by_okta_id<'a>(output: &'a BuildOutput, okta_id: &str) -> Option<&'a Entity> {
    output.entities.iter().find(|entity| {
        let annotations = &entity.metadata.annotations;
        annotations
            .get(crate::annotations::USER_ID)
            .map(String::as_str)
            == Some(okta_id)
            || annotations
                .get(crate::annotations::GROUP_ID)
                .map(String::as_str)
                == Some(okta_id)
    })
}

fn name_of(output: &BuildOutput, okta_id: &str) -> String {
    by_okta_id(output, okta_id)
        .map(|entity| entity.metadata.name.clone())
        .unwrap_or_default()
}

fn spec_of(output: &BuildOutput, okta_id: &str) -> Value {
    by_okta_id(output, okta_id)
        .map(|entity| entity.spec.clone())
        .unwrap_or_default()
}

fn warned(output: &BuildOutput, okta_id: &str, fragment: &str) -> bool {
    output
        .warnings
        .iter()
        .any(|warning| warning.okta_id == okta_id && warning.message.contains(fragment))
}

// Selection

#[test]
fn built_in_group_left_out() {
    let output = build(&snapshot(
        vec![],
        vec![group_of_type(
            "g0",
            "BUILT_IN",
            json!({ "name": "Everyone" }),
        )],
        &[],
    ));
    assert!(output.entities.is_empty());
    assert_eq!(output.skipped_groups, 1);
}

#[test]
fn built_in_group_kept_when_included() {
    let selection = SelectionOptions {
        include_built_in_groups: true,
        ..SelectionOptions::default()
    };
    let everyone = group_of_type("g0", "BUILT_IN", json!({ "name": "Everyone" }));
    let output = select_with(&snapshot(vec![], vec![everyone], &[]), &selection);
    assert_eq!(name_of(&output, "g0"), "everyone");
}

#[test]
fn deprovisioned_user_left_out() {
    let gone = user_with_status(
        "u1",
        "DEPROVISIONED",
        json!({ "email": "gone@example.com" }),
    );
    let output = build(&snapshot(vec![gone], vec![], &[]));
    assert!(output.entities.is_empty());
    assert_eq!(output.skipped_users, 1);
}

#[test]
fn deprovisioned_user_kept_when_included() {
    let selection = SelectionOptions {
        include_deprovisioned: true,
        ..SelectionOptions::default()
    };
    let gone = user_with_status(
        "u1",
        "DEPROVISIONED",
        json!({ "email": "gone@example.com" }),
    );
    let output = select_with(&snapshot(vec![gone], vec![], &[]), &selection);
    assert_eq!(name_of(&output, "u1"), "gone");
}

#[test]
fn suspended_user_is_kept() {
    let held = user_with_status("u1", "SUSPENDED", json!({ "email": "held@example.com" }));
    let output = build(&snapshot(vec![held], vec![], &[]));
    assert_eq!(output.entities.len(), 1);
}

#[test]
fn only_members_drops_loners() {
    let selection = SelectionOptions {
        only_group_members: true,
        ..SelectionOptions::default()
    };
    let data = snapshot(
        vec![jane("u1"), jane("u2")],
        vec![named("g1", "Platform")],
        &[("g1", &["u1"])],
    );
    let output = select_with(&data, &selection);
    assert!(by_okta_id(&output, "u1").is_some());
    assert!(by_okta_id(&output, "u2").is_none());
    assert_eq!(output.skipped_users, 1);
}

#[test]
fn only_members_ignores_built_in_membership() {
    let selection = SelectionOptions {
        only_group_members: true,
        ..SelectionOptions::default()
    };
    let everyone = group_of_type("g0", "BUILT_IN", json!({ "name": "Everyone" }));
    let data = snapshot(vec![jane("u1")], vec![everyone], &[("g0", &["u1"])]);
    let output = select_with(&data, &selection);
    assert!(output.entities.is_empty());
}

#[test]
fn membership_to_skipped_user_is_counted() {
    let gone = user_with_status(
        "u2",
        "DEPROVISIONED",
        json!({ "email": "gone@example.com" }),
    );
    let data = snapshot(
        vec![jane("u1"), gone],
        vec![named("g1", "Platform")],
        &[("g1", &["u1", "u2"])],
    );
    let output = build(&data);
    assert_eq!(
        spec_of(&output, "g1")["members"],
        json!(["user:default/jane"])
    );
    assert_eq!(output.dropped_memberships, 1);
    assert!(output.warnings.is_empty(), "{:?}", output.warnings);
}

#[test]
fn unknown_member_is_counted() {
    let data = snapshot(
        vec![jane("u1")],
        vec![named("g1", "Platform")],
        &[("g1", &["u1", "u9"])],
    );
    let output = build(&data);
    assert_eq!(
        spec_of(&output, "g1")["members"],
        json!(["user:default/jane"])
    );
    assert_eq!(output.unknown_members, 1);
}

#[test]
fn repeated_member_listed_once() {
    let data = snapshot(
        vec![jane("u1")],
        vec![named("g1", "Platform")],
        &[("g1", &["u1", "u1"])],
    );
    let output = build(&data);
    assert_eq!(
        spec_of(&output, "g1")["members"],
        json!(["user:default/jane"])
    );
}

#[test]
fn duplicate_user_keeps_first() {
    let first = user("u1", json!({ "email": "first@example.com" }));
    let second = user("u1", json!({ "email": "second@example.com" }));
    let output = build(&snapshot(vec![first, second], vec![], &[]));
    assert_eq!(output.entities.len(), 1);
    assert_eq!(name_of(&output, "u1"), "first");
    assert!(warned(&output, "u1", "more than once"));
}

#[test]
fn duplicate_group_keeps_first() {
    let output = build(&snapshot(
        vec![],
        vec![named("g1", "First"), named("g1", "Second")],
        &[],
    ));
    assert_eq!(name_of(&output, "g1"), "first");
    assert!(warned(&output, "g1", "more than once"));
}

#[test]
fn user_without_id_left_out() {
    let output = build(&snapshot(vec![jane("")], vec![], &[]));
    assert!(output.entities.is_empty());
    assert!(warned(&output, "", "without an Okta id"));
}

// User names

fn user_named(naming: UserNaming, profile: Value) -> String {
    let options = TransformOptions {
        user_naming: naming,
        ..options()
    };
    let output = build_with(
        &snapshot(vec![user("00uAbC123", profile)], vec![], &[]),
        &options,
    );
    name_of(&output, "00uAbC123")
}

#[test]
fn name_uses_email_local_part() {
    let profile = json!({ "email": "Jane.Doe@example.com", "login": "jdoe@corp.example" });
    assert_eq!(user_named(UserNaming::EmailLocalPart, profile), "jane.doe");
}

#[test]
fn name_falls_back_to_login_local_part() {
    let profile = json!({ "email": "!!!@example.com", "login": "jdoe@corp.example" });
    assert_eq!(user_named(UserNaming::EmailLocalPart, profile), "jdoe");
}

#[test]
fn name_falls_back_to_id() {
    assert_eq!(
        user_named(UserNaming::EmailLocalPart, json!({})),
        "00uabc123"
    );
}

#[test]
fn email_naming_uses_whole_address() {
    let profile = json!({ "email": "jane@example.com" });
    assert_eq!(user_named(UserNaming::Email, profile), "jane-example.com");
}

#[test]
fn login_naming_uses_login() {
    let profile = json!({ "email": "jane@example.com", "login": "JDoe" });
    assert_eq!(user_named(UserNaming::Login, profile), "jdoe");
}

#[test]
fn id_naming_uses_id() {
    let profile = json!({ "email": "jane@example.com" });
    assert_eq!(user_named(UserNaming::Id, profile), "00uabc123");
}

#[test]
fn accented_name_is_transliterated() {
    let profile = json!({ "email": "José.Núñez@example.com" });
    assert_eq!(
        user_named(UserNaming::EmailLocalPart, profile),
        "jose.nunez"
    );
}

#[test]
fn non_latin_name_is_transliterated() {
    let profile = json!({ "email": "山田@example.jp" });
    assert_eq!(user_named(UserNaming::EmailLocalPart, profile), "shan-tian");
}

#[test]
fn user_collision_gets_id_suffix() {
    let first = user("00u111111", json!({ "email": "jane@one.example" }));
    let second = user("00u222222", json!({ "email": "Jane@two.example" }));
    let output = build(&snapshot(vec![second, first], vec![], &[]));
    assert_eq!(name_of(&output, "00u111111"), "jane");
    assert_eq!(name_of(&output, "00u222222"), "jane-222222");
}

// User entity

fn single_user(profile: Value, options: &TransformOptions) -> Entity {
    let output = build_with(&snapshot(vec![user("u1", profile)], vec![], &[]), options);
    output
        .entities
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no entity built"))
}

#[test]
fn title_prefers_display_name() {
    let entity = single_user(
        json!({ "displayName": "Jane D.", "firstName": "Jane", "login": "j" }),
        &options(),
    );
    assert_eq!(entity.metadata.title.as_deref(), Some("Jane D."));
    assert_eq!(entity.spec["profile"]["displayName"], "Jane D.");
}

#[test]
fn title_joins_first_and_last_name() {
    let entity = single_user(
        json!({ "firstName": "Jane", "lastName": "Doe", "login": "j" }),
        &options(),
    );
    assert_eq!(entity.metadata.title.as_deref(), Some("Jane Doe"));
}

#[test]
fn title_uses_login_last() {
    let entity = single_user(json!({ "login": "jane@example.com" }), &options());
    assert_eq!(entity.metadata.title.as_deref(), Some("jane@example.com"));
}

#[test]
fn title_is_absent_without_names() {
    let entity = single_user(json!({}), &options());
    assert_eq!(entity.metadata.title, None);
}

#[test]
fn title_loses_control_characters() {
    let entity = single_user(json!({ "displayName": "Jane\u{1b}[2J\nDoe" }), &options());
    assert_eq!(entity.metadata.title.as_deref(), Some("Jane[2J Doe"));
}

#[test]
fn profile_has_email() {
    let entity = single_user(json!({ "email": "jane@example.com" }), &options());
    assert_eq!(entity.spec["profile"]["email"], "jane@example.com");
}

#[test]
fn picture_comes_from_attribute() {
    let options = TransformOptions {
        picture_attribute: Some("avatar".into()),
        ..options()
    };
    let entity = single_user(json!({ "avatar": "https://img.example/j.png" }), &options);
    assert_eq!(
        entity.spec["profile"]["picture"],
        "https://img.example/j.png"
    );
}

#[test]
fn picture_needs_a_string() {
    let options = TransformOptions {
        picture_attribute: Some("avatar".into()),
        ..options()
    };
    let entity = single_user(json!({ "avatar": 12 }), &options);
    assert_eq!(entity.spec["profile"].get("picture"), None);
}

#[test]
fn user_without_groups_has_empty_member_of() {
    let entity = single_user(json!({}), &options());
    assert_eq!(entity.spec["memberOf"], json!([]));
}

#[test]
fn member_of_lists_sorted_group_refs() {
    let data = snapshot(
        vec![jane("u1")],
        vec![named("g1", "Zeta"), named("g2", "Alpha")],
        &[("g1", &["u1"]), ("g2", &["u1"])],
    );
    let output = build(&data);
    assert_eq!(
        spec_of(&output, "u1")["memberOf"],
        json!(["group:default/alpha", "group:default/zeta"])
    );
}

#[test]
fn user_annotations_identify_record() {
    let entity = single_user(json!({ "login": "jane@example.com" }), &options());
    let annotations = &entity.metadata.annotations;
    assert_eq!(
        annotations.get("okta.com/user-id").map(String::as_str),
        Some("u1")
    );
    assert_eq!(
        annotations.get("okta.com/user-login").map(String::as_str),
        Some("jane@example.com")
    );
    assert_eq!(
        annotations
            .get("backstage.io/managed-by-location")
            .map(String::as_str),
        Some("okta:acme")
    );
    assert_eq!(
        annotations
            .get("backstage.io/managed-by-origin-location")
            .map(String::as_str),
        Some("okta:acme")
    );
}

// Group names and specs

fn group_names(groups: Vec<OktaGroup>) -> BuildOutput {
    build(&snapshot(vec![], groups, &[]))
}

#[test]
fn group_name_from_profile_name() {
    let output = group_names(vec![named("g1", "Site Reliability")]);
    assert_eq!(name_of(&output, "g1"), "site-reliability");
}

#[test]
fn group_naming_by_id() {
    let options = TransformOptions {
        group_naming: GroupNaming::Id,
        ..options()
    };
    let output = build_with(
        &snapshot(vec![], vec![named("00gXyZ", "Platform")], &[]),
        &options,
    );
    assert_eq!(name_of(&output, "00gXyZ"), "00gxyz");
}

#[test]
fn group_case_twins_get_distinct_names() {
    let output = group_names(vec![
        named("00g222222", "platform"),
        named("00g111111", "Platform"),
    ]);
    assert_eq!(name_of(&output, "00g111111"), "platform");
    assert_eq!(name_of(&output, "00g222222"), "platform-222222");
}

#[test]
fn group_punctuation_is_trimmed() {
    let output = group_names(vec![named("g1", "R&D."), named("g2", "Ops!")]);
    assert_eq!(name_of(&output, "g1"), "r-d");
    assert_eq!(name_of(&output, "g2"), "ops");
}

#[test]
fn long_group_name_fits() {
    let output = group_names(vec![named(
        "00gLONG00001",
        &"Platform Engineering ".repeat(4),
    )]);
    let name = name_of(&output, "00gLONG00001");
    assert!(name.len() <= 63, "{name}");
    assert!(name.ends_with("-g00001"), "{name}");
}

#[test]
fn symbol_group_name_falls_back_to_id() {
    let output = group_names(vec![named("00gSym", "???")]);
    assert_eq!(name_of(&output, "00gSym"), "00gsym");
}

#[test]
fn group_profile_shows_name() {
    let output = group_names(vec![named("g1", "Site Reliability")]);
    assert_eq!(
        spec_of(&output, "g1")["profile"]["displayName"],
        "Site Reliability"
    );
}

#[test]
fn group_description_when_present() {
    let output = group_names(vec![group(
        "g1",
        json!({ "name": "SRE", "description": "Keeps it up" }),
    )]);
    let entity = by_okta_id(&output, "g1");
    assert_eq!(
        entity.and_then(|e| e.metadata.description.as_deref()),
        Some("Keeps it up")
    );
}

#[test]
fn blank_description_is_left_out() {
    let output = group_names(vec![group(
        "g1",
        json!({ "name": "SRE", "description": " \n " }),
    )]);
    let entity = by_okta_id(&output, "g1");
    assert_eq!(entity.and_then(|e| e.metadata.description.as_deref()), None);
}

#[test]
fn huge_description_is_cut_with_warning() {
    let text = "x".repeat(MAX_TEXT_BYTES * 4);
    let output = group_names(vec![group(
        "g1",
        json!({ "name": "SRE", "description": text }),
    )]);
    let entity = by_okta_id(&output, "g1");
    let length = entity
        .and_then(|e| e.metadata.description.as_ref())
        .map(String::len);
    assert_eq!(length, Some(MAX_TEXT_BYTES));
    assert!(warned(&output, "g1", "profile.description"));
}

#[test]
fn group_type_is_fixed_by_default() {
    let output = group_names(vec![named("g1", "SRE")]);
    assert_eq!(spec_of(&output, "g1")["type"], "team");
}

#[test]
fn group_type_from_attribute_is_normalized() {
    let options = TransformOptions {
        group_type: GroupTypeRule::Attribute {
            attribute: "kind".into(),
            default: "team".into(),
        },
        ..options()
    };
    let sre = group("g1", json!({ "name": "SRE", "kind": "Business Unit" }));
    let output = build_with(&snapshot(vec![], vec![sre], &[]), &options);
    assert_eq!(spec_of(&output, "g1")["type"], "business-unit");
}

#[test]
fn group_type_falls_back_to_default() {
    let options = TransformOptions {
        group_type: GroupTypeRule::Attribute {
            attribute: "kind".into(),
            default: "squad".into(),
        },
        ..options()
    };
    let sre = group("g1", json!({ "name": "SRE", "kind": "!!" }));
    let output = build_with(&snapshot(vec![], vec![sre], &[]), &options);
    assert_eq!(spec_of(&output, "g1")["type"], "squad");
}

#[test]
fn blank_fixed_type_becomes_team() {
    let options = TransformOptions {
        group_type: GroupTypeRule::Fixed("  ".into()),
        ..options()
    };
    let output = build_with(&snapshot(vec![], vec![named("g1", "SRE")], &[]), &options);
    assert_eq!(spec_of(&output, "g1")["type"], "team");
}

#[test]
fn group_members_are_sorted_refs() {
    let data = snapshot(
        vec![
            user("u1", json!({ "email": "zed@x.example" })),
            user("u2", json!({ "email": "amy@x.example" })),
        ],
        vec![named("g1", "SRE")],
        &[("g1", &["u1", "u2"])],
    );
    let output = build(&data);
    assert_eq!(
        spec_of(&output, "g1")["members"],
        json!(["user:default/amy", "user:default/zed"])
    );
}

#[test]
fn group_children_always_present() {
    let output = group_names(vec![named("g1", "SRE")]);
    assert_eq!(spec_of(&output, "g1")["children"], json!([]));
}

#[test]
fn group_annotations_identify_record() {
    let output = group_names(vec![named("g1", "SRE")]);
    let annotations = by_okta_id(&output, "g1")
        .map(|e| e.metadata.annotations.clone())
        .unwrap_or_default();
    assert_eq!(
        annotations.get("okta.com/group-id").map(String::as_str),
        Some("g1")
    );
    assert_eq!(
        annotations.get("okta.com/group-type").map(String::as_str),
        Some("OKTA_GROUP")
    );
    assert_eq!(
        annotations
            .get("backstage.io/managed-by-location")
            .map(String::as_str),
        Some("okta:acme")
    );
}

// Hierarchy

fn with_parents() -> TransformOptions {
    TransformOptions {
        parent_group_attribute: Some("parent".into()),
        ..options()
    }
}

fn child(id: &str, name: &str, parent: &str) -> OktaGroup {
    group(id, json!({ "name": name, "parent": parent }))
}

#[test]
fn parent_and_children_are_linked() {
    let groups = vec![
        named("g1", "Engineering"),
        child("g2", "Platform", "engineering"),
        child("g3", "Data", "g1"),
    ];
    let output = build_with(&snapshot(vec![], groups, &[]), &with_parents());
    assert_eq!(
        spec_of(&output, "g2")["parent"],
        "group:default/engineering"
    );
    assert_eq!(
        spec_of(&output, "g1")["children"],
        json!(["group:default/data", "group:default/platform"])
    );
}

#[test]
fn parent_ignored_without_attribute_option() {
    let groups = vec![
        named("g1", "Engineering"),
        child("g2", "Platform", "Engineering"),
    ];
    let output = build(&snapshot(vec![], groups, &[]));
    assert_eq!(spec_of(&output, "g2").get("parent"), None);
}

#[test]
fn unknown_parent_warns_and_is_dropped() {
    let output = build_with(
        &snapshot(vec![], vec![child("g1", "Platform", "Nowhere")], &[]),
        &with_parents(),
    );
    assert_eq!(spec_of(&output, "g1").get("parent"), None);
    assert!(warned(&output, "g1", "Nowhere"));
}

#[test]
fn built_in_parent_is_unknown() {
    let everyone = group_of_type("g0", "BUILT_IN", json!({ "name": "Everyone" }));
    let output = build_with(
        &snapshot(
            vec![],
            vec![everyone, child("g1", "Platform", "Everyone")],
            &[],
        ),
        &with_parents(),
    );
    assert_eq!(spec_of(&output, "g1").get("parent"), None);
    assert!(warned(&output, "g1", "not an ingested group"));
}

#[test]
fn cycle_is_broken_with_warning() {
    let groups = vec![
        child("g1", "A", "C"),
        child("g2", "B", "A"),
        child("g3", "C", "B"),
    ];
    let output = build_with(&snapshot(vec![], groups, &[]), &with_parents());
    assert_eq!(spec_of(&output, "g1").get("parent"), None);
    assert_eq!(spec_of(&output, "g2")["parent"], "group:default/a");
    assert_eq!(spec_of(&output, "g3")["parent"], "group:default/b");
    assert!(warned(&output, "g1", "cycle"));
}

// Empty groups

#[test]
fn empty_group_kept_by_default() {
    let output = group_names(vec![named("g1", "SRE")]);
    assert_eq!(output.entities.len(), 1);
}

#[test]
fn empty_group_dropped_when_configured() {
    let options = TransformOptions {
        keep_empty_groups: false,
        ..options()
    };
    let data = snapshot(
        vec![jane("u1")],
        vec![named("g1", "SRE"), named("g2", "Empty")],
        &[("g1", &["u1"])],
    );
    let output = build_with(&data, &options);
    assert!(by_okta_id(&output, "g1").is_some());
    assert!(by_okta_id(&output, "g2").is_none());
    assert_eq!(output.skipped_groups, 1);
}

#[test]
fn group_with_only_skipped_members_is_empty() {
    let options = TransformOptions {
        keep_empty_groups: false,
        ..options()
    };
    let gone = user_with_status("u1", "DEPROVISIONED", json!({}));
    let output = build_with(
        &snapshot(vec![gone], vec![named("g1", "SRE")], &[("g1", &["u1"])]),
        &options,
    );
    assert!(output.entities.is_empty());
}

#[test]
fn parent_of_members_survives_pruning() {
    let options = TransformOptions {
        keep_empty_groups: false,
        ..with_parents()
    };
    let groups = vec![
        named("g1", "Engineering"),
        child("g2", "Platform", "g1"),
        child("g3", "Idle", "g1"),
    ];
    let output = build_with(
        &snapshot(vec![jane("u1")], groups, &[("g2", &["u1"])]),
        &options,
    );
    assert!(by_okta_id(&output, "g1").is_some());
    assert!(by_okta_id(&output, "g3").is_none());
    assert_eq!(
        spec_of(&output, "g1")["children"],
        json!(["group:default/platform"])
    );
}

// Copied annotations

fn with_copies(attributes: &[&str]) -> TransformOptions {
    TransformOptions {
        annotation_attributes: attributes.iter().map(|a| a.to_string()).collect(),
        ..options()
    }
}

#[test]
fn attributes_are_copied_as_strings() {
    let profile =
        json!({ "costCenter": "R&D", "employeeNumber": 42, "contractor": false, "tags": ["a"] });
    let entity = single_user(
        profile,
        &with_copies(&["costCenter", "employeeNumber", "contractor", "tags"]),
    );
    let annotations = &entity.metadata.annotations;
    assert_eq!(
        annotations.get("okta.com/costCenter").map(String::as_str),
        Some("R&D")
    );
    assert_eq!(
        annotations
            .get("okta.com/employeeNumber")
            .map(String::as_str),
        Some("42")
    );
    assert_eq!(
        annotations.get("okta.com/contractor").map(String::as_str),
        Some("false")
    );
    assert_eq!(annotations.get("okta.com/tags"), None);
}

#[test]
fn group_attributes_are_copied() {
    let sre = group("g1", json!({ "name": "SRE", "costCenter": "CC-7" }));
    let output = build_with(
        &snapshot(vec![], vec![sre], &[]),
        &with_copies(&["costCenter"]),
    );
    let annotations = by_okta_id(&output, "g1")
        .map(|e| e.metadata.annotations.clone())
        .unwrap_or_default();
    assert_eq!(
        annotations.get("okta.com/costCenter").map(String::as_str),
        Some("CC-7")
    );
}

#[test]
fn custom_prefix_is_used() {
    let options = TransformOptions {
        annotation_prefix: "example.com/okta-".into(),
        ..with_copies(&["division"])
    };
    let entity = single_user(json!({ "division": "EMEA" }), &options);
    assert_eq!(
        entity
            .metadata
            .annotations
            .get("example.com/okta-division")
            .map(String::as_str),
        Some("EMEA")
    );
}

#[test]
fn reserved_key_is_not_copied() {
    let entity_output = build_with(
        &snapshot(
            vec![user("u1", json!({ "user-id": "forged" }))],
            vec![],
            &[],
        ),
        &with_copies(&["user-id"]),
    );
    let annotations = by_okta_id(&entity_output, "u1")
        .map(|e| e.metadata.annotations.clone())
        .unwrap_or_default();
    assert_eq!(
        annotations.get("okta.com/user-id").map(String::as_str),
        Some("u1")
    );
    assert!(warned(&entity_output, "", "orgsync sets itself"));
}

#[test]
fn unusable_attribute_warns_once() {
    let data = snapshot(vec![jane("u1"), jane("u2")], vec![], &[]);
    let output = build_with(&data, &with_copies(&["€€"]));
    assert_eq!(output.warnings.len(), 1);
}

#[test]
fn colliding_attributes_copy_first() {
    let entity_output = build_with(
        &snapshot(
            vec![user(
                "u1",
                json!({ "cost center": "A", "cost-center": "B" }),
            )],
            vec![],
            &[],
        ),
        &with_copies(&["cost center", "cost-center"]),
    );
    let annotations = by_okta_id(&entity_output, "u1")
        .map(|e| e.metadata.annotations.clone())
        .unwrap_or_default();
    assert_eq!(
        annotations.get("okta.com/cost-center").map(String::as_str),
        Some("A")
    );
    assert!(warned(&entity_output, "", "both map to"));
}

// Whole output

fn mixed_snapshot() -> OktaSnapshot {
    snapshot(
        vec![
            jane("00u1"),
            user(
                "00u2",
                json!({ "email": "JANE@other.example", "displayName": "Jane Two" }),
            ),
            user(
                "00u3",
                json!({ "email": "山田@example.jp", "firstName": "太郎" }),
            ),
            user_with_status(
                "00u4",
                "DEPROVISIONED",
                json!({ "email": "gone@example.com" }),
            ),
        ],
        vec![
            group_of_type("00g0", "BUILT_IN", json!({ "name": "Everyone" })),
            named("00g1", "Platform"),
            named("00g2", "platform"),
            child("00g3", "R&D.", "Platform"),
            named("00g4", &"Very Long Group Name ".repeat(4)),
        ],
        &[
            ("00g0", &["00u1", "00u2", "00u3", "00u4"]),
            ("00g1", &["00u1", "00u4", "00u9"]),
            ("00g3", &["00u2", "00u3"]),
        ],
    )
}

#[test]
fn entities_are_sorted_by_ref() {
    let output = build_with(&mixed_snapshot(), &with_parents());
    let keys: Vec<String> = output
        .entities
        .iter()
        .map(|e| e.entity_ref().key())
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
}

#[test]
fn built_entities_pass_validation() {
    let output = build_with(&mixed_snapshot(), &with_parents());
    for entity in &output.entities {
        assert_eq!(validate_entity(entity), Ok(()), "{}", entity.entity_ref());
    }
}

#[test]
fn built_names_are_unique_per_kind() {
    let output = build_with(&mixed_snapshot(), &with_parents());
    let mut keys: Vec<String> = output
        .entities
        .iter()
        .map(|e| e.entity_ref().key())
        .collect();
    let count = keys.len();
    keys.dedup();
    assert_eq!(keys.len(), count);
}

#[test]
fn warnings_are_sorted() {
    let groups = vec![child("g2", "B", "Nowhere"), child("g1", "A", "Nowhere")];
    let output = build_with(&snapshot(vec![], groups, &[]), &with_parents());
    let ids: Vec<&str> = output.warnings.iter().map(|w| w.okta_id.as_str()).collect();
    assert_eq!(ids, ["g1", "g2"]);
}

#[test]
fn warning_display_names_record() {
    let warning = BuildWarning {
        okta_id: "00g1".into(),
        message: "the group is listed more than once".into(),
    };
    assert_eq!(
        warning.to_string(),
        "Okta record 00g1: the group is listed more than once"
    );
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    fn arbitrary_snapshot() -> impl Strategy<Value = OktaSnapshot> {
        // Small pools of values make name collisions and case twins common.
        let email = prop_oneof![
            3 => "(jane|Jane|JANE!|josé|r&d|)@(one|two)\\.example",
            1 => "\\PC{0,12}",
        ];
        let group_name = prop_oneof![
            3 => "(Platform|platform|R&D\\.|Ops!|[a-c]{70})",
            1 => "\\PC{0,12}",
        ];
        let parent = prop_oneof![
            (0usize..10).prop_map(|p| format!("00g{p:04}")),
            "(Platform|PLATFORM|Ops!|nowhere)",
        ];
        let users = prop::collection::vec((email, "[A-Z]{0,3}"), 0..12);
        let groups = prop::collection::vec((group_name, prop::option::of(parent)), 0..8);
        let members = prop::collection::vec((0usize..8, 0usize..14), 0..30);
        (users, groups, members).prop_map(|(users, groups, members)| {
            let users: Vec<OktaUser> = users
                .into_iter()
                .enumerate()
                .map(|(i, (email, status))| {
                    let status = if status == "D" {
                        "DEPROVISIONED"
                    } else {
                        "ACTIVE"
                    };
                    user_with_status(
                        &format!("00u{i:04}"),
                        status,
                        json!({ "email": email, "displayName": email }),
                    )
                })
                .collect();
            let groups: Vec<OktaGroup> = groups
                .into_iter()
                .enumerate()
                .map(|(i, (name, parent))| {
                    group(
                        &format!("00g{i:04}"),
                        json!({ "name": name, "parent": parent }),
                    )
                })
                .collect();
            let mut member_map: HashMap<String, Vec<String>> = HashMap::new();
            for (group_index, user_index) in members {
                member_map
                    .entry(format!("00g{group_index:04}"))
                    .or_default()
                    .push(format!("00u{user_index:04}"));
            }
            OktaSnapshot {
                users,
                groups,
                members: member_map,
            }
        })
    }

    fn shuffled(snapshot: OktaSnapshot) -> impl Strategy<Value = (OktaSnapshot, OktaSnapshot)> {
        let users = Just(snapshot.users.clone()).prop_shuffle();
        let groups = Just(snapshot.groups.clone()).prop_shuffle();
        let lists: Vec<_> = snapshot
            .members
            .iter()
            .map(|(group_id, ids)| (Just(group_id.clone()), Just(ids.clone()).prop_shuffle()))
            .collect();
        (users, groups, lists).prop_map(move |(users, groups, lists)| {
            let reordered = OktaSnapshot {
                users,
                groups,
                members: lists.into_iter().collect(),
            };
            (snapshot.clone(), reordered)
        })
    }

    fn options_for_properties() -> TransformOptions {
        TransformOptions {
            parent_group_attribute: Some("parent".into()),
            keep_empty_groups: false,
            ..options()
        }
    }

    /// Attribute names for [`arbitrary_profiles`]: every one the build may
    /// read, and some it never reads.
    const PROFILE_POOL: &[&str] = &[
        "displayName",
        "email",
        "firstName",
        "lastName",
        "login",
        "photo",
        "costCenter",
        "department",
        "nickName",
        "title",
    ];

    fn arbitrary_profiles() -> impl Strategy<Value = Vec<Value>> {
        let value = prop_oneof![
            3 => "(ann|Bo B|x@one\\.example|)".prop_map(Value::from),
            1 => (0i64..5).prop_map(Value::from),
            1 => Just(Value::Null),
        ];
        let profile = prop::collection::btree_map(prop::sample::select(PROFILE_POOL), value, 0..10)
            .prop_map(|attributes| {
                Value::Object(
                    attributes
                        .into_iter()
                        .map(|(name, value)| (name.to_string(), value))
                        .collect(),
                )
            });
        prop::collection::vec(profile, 1..6)
    }

    fn arbitrary_transform() -> impl Strategy<Value = TransformOptions> {
        let naming = prop::sample::select(vec![
            UserNaming::EmailLocalPart,
            UserNaming::Email,
            UserNaming::Login,
            UserNaming::Id,
        ]);
        let picture = prop::option::of(prop::sample::select(PROFILE_POOL));
        let copied = prop::sample::subsequence(PROFILE_POOL, 0..4);
        (naming, picture, copied).prop_map(|(user_naming, picture, copied)| TransformOptions {
            user_naming,
            picture_attribute: picture.map(String::from),
            annotation_attributes: copied.into_iter().map(String::from).collect(),
            ..options()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn profiles_trimmed_to_read_attributes_build_the_same(
            profiles in arbitrary_profiles(),
            options in arbitrary_transform(),
        ) {
            let users: Vec<OktaUser> = profiles
                .into_iter()
                .enumerate()
                .map(|(i, profile)| user(&format!("00u{i:04}"), profile))
                .collect();
            let attributes = options.user_profile_attributes();
            let mut trimmed = users.clone();
            for user in &mut trimmed {
                user.keep_profile_attributes(&attributes);
            }
            let members: &[(&str, &[&str])] = &[("00g1", &["00u0000", "00u0001"])];
            let full = snapshot(users, vec![named("00g1", "Team")], members);
            let trimmed = snapshot(trimmed, vec![named("00g1", "Team")], members);
            prop_assert_eq!(build_with(&full, &options), build_with(&trimmed, &options));
        }

        #[test]
        fn any_text_gives_valid_name(raw in "\\PC{0,100}", id in "[0-9A-Za-z]{0,20}") {
            let data = snapshot(vec![user(&format!("00u{id}"), json!({ "email": raw }))], vec![], &[]);
            let output = build(&data);
            let name = output.entities.first().map(|e| e.metadata.name.clone()).unwrap_or_default();
            prop_assert!(is_valid_entity_name(&name), "{raw:?} gave {name:?}");
        }

        #[test]
        fn any_snapshot_validates(data in arbitrary_snapshot()) {
            let output = build_with(&data, &options_for_properties());
            for entity in &output.entities {
                prop_assert_eq!(validate_entity(entity), Ok(()));
            }
        }

        #[test]
        fn building_is_deterministic(data in arbitrary_snapshot()) {
            let options = options_for_properties();
            let first = build_with(&data, &options);
            let second = build_with(&data, &options);
            prop_assert_eq!(first, second);
        }

        #[test]
        fn input_order_does_not_matter(
            (original, reordered) in arbitrary_snapshot().prop_flat_map(shuffled)
        ) {
            let options = options_for_properties();
            prop_assert_eq!(build_with(&original, &options), build_with(&reordered, &options));
        }
    }
}
