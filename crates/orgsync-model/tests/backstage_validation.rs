//! Checks built entities with Backstage's own `@backstage/catalog-model`,
//! through the Node harness in `tests/backstage/`.
//!
//! The harness needs its npm packages: run
//! `npm ci --prefix crates/orgsync-model/tests/backstage` once.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use orgsync_model::{
    build_entities, validate_entity, Entity, GroupTypeRule, OktaGroup, OktaSnapshot, OktaUser,
    SelectionOptions, TransformOptions,
};
use serde_json::{json, Value};

fn harness_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/backstage")
}

/// Runs `validate.mjs` with `input` on stdin.
fn run_harness(input: &str, args: &[&str]) -> Output {
    let dir = harness_dir();
    assert!(
        dir.join("node_modules/@backstage/catalog-model").is_dir(),
        "the Backstage harness has no node_modules: run `npm ci --prefix crates/orgsync-model/tests/backstage`"
    );

    let mut child = Command::new("node")
        .arg("validate.mjs")
        .args(args)
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| {
            panic!("cannot run `node` (Node.js 18 or later is needed): {error}")
        });

    let mut stdin = child.stdin.take().expect("stdin was piped");
    stdin
        .write_all(input.as_bytes())
        .expect("the harness reads stdin");
    drop(stdin);
    child
        .wait_with_output()
        .expect("the harness runs to the end")
}

fn json_lines(entities: &[Entity]) -> String {
    entities
        .iter()
        .map(|entity| serde_json::to_string(entity).expect("entities serialize") + "\n")
        .collect()
}

fn user(id: &str, status: &str, profile: Value) -> OktaUser {
    serde_json::from_value(json!({ "id": id, "status": status, "profile": profile }))
        .expect("test users are valid")
}

fn group(id: &str, group_type: &str, profile: Value) -> OktaGroup {
    serde_json::from_value(json!({ "id": id, "type": group_type, "profile": profile }))
        .expect("test groups are valid")
}

/// Returns a snapshot with the hard cases: name collisions and case twins,
/// non-ASCII and punctuation, 80-character names, a hierarchy with a cycle,
/// control characters, oversized text and odd custom attributes.
fn hard_snapshot() -> OktaSnapshot {
    let long_name = "Platform Engineering Reliability And Operations Group Of The Year 2024 Xx";
    let users = vec![
        user(
            "00u1aaaaaa",
            "ACTIVE",
            json!({
                "login": "jane@example.com", "email": "jane@example.com",
                "firstName": "Jane", "lastName": "Doe", "costCenter": "R&D / 42", "avatar": "https://img.example/jane.png"
            }),
        ),
        user(
            "00u2bbbbbb",
            "ACTIVE",
            json!({
                "login": "Jane@other.example", "email": "JANE@other.example",
                "displayName": "Jane\u{1b}[31m Two\n", "employeeNumber": 1234, "contractor": true
            }),
        ),
        user(
            "00u3cccccc",
            "ACTIVE",
            json!({
                "login": "yamada@example.jp", "email": "山田@example.jp", "displayName": "山田 太郎"
            }),
        ),
        user(
            "00u4dddddd",
            "ACTIVE",
            json!({
                "login": "jose@example.com", "email": "José.Núñez+ops@example.com", "firstName": "José"
            }),
        ),
        user(
            "00u5eeeeee",
            "ACTIVE",
            json!({ "login": "!!!@example.com", "email": "!!!@example.com" }),
        ),
        user(
            "00u6ffffff",
            "DEPROVISIONED",
            json!({ "login": "gone@example.com", "email": "gone@example.com" }),
        ),
        user(
            "00u7gggggg",
            "ACTIVE",
            json!({
                "login": format!("{}@example.com", "x".repeat(90)), "email": format!("{}@example.com", "x".repeat(90)),
                "costCenter": ["not", "a", "string"]
            }),
        ),
        user(
            "00u1aaaaaa",
            "ACTIVE",
            json!({ "login": "duplicate@example.com" }),
        ),
    ];
    let groups = vec![
        group("00g0everyon", "BUILT_IN", json!({ "name": "Everyone" })),
        group(
            "00g1platfrm",
            "OKTA_GROUP",
            json!({ "name": "Platform", "kind": "Business Unit" }),
        ),
        group(
            "00g2platfrm",
            "OKTA_GROUP",
            json!({ "name": "platform", "parent": "Platform" }),
        ),
        group(
            "00g3randd00",
            "OKTA_GROUP",
            json!({
                "name": "R&D.", "parent": "00g1platfrm", "description": "x".repeat(10_000)
            }),
        ),
        group(
            "00g4opsops0",
            "APP_GROUP",
            json!({ "name": "Ops!", "parent": "Ops!" }),
        ),
        group(
            "00g5long000",
            "OKTA_GROUP",
            json!({ "name": long_name, "parent": "cycle b" }),
        ),
        group(
            "00g6long001",
            "OKTA_GROUP",
            json!({ "name": format!("{long_name} Two"), "parent": "Nowhere" }),
        ),
        group(
            "00g7cyclea0",
            "OKTA_GROUP",
            json!({ "name": "Cycle A", "parent": "Cycle B" }),
        ),
        group(
            "00g8cycleb0",
            "OKTA_GROUP",
            json!({ "name": "Cycle B", "parent": "cycle a", "costCenter": 7 }),
        ),
        group(
            "00g9yamada0",
            "OKTA_GROUP",
            json!({ "name": "開発チーム", "description": "Line one\r\nLine two\u{7}" }),
        ),
    ];
    let members = [
        (
            "00g0everyon",
            vec!["00u1aaaaaa", "00u2bbbbbb", "00u3cccccc"],
        ),
        (
            "00g1platfrm",
            vec!["00u1aaaaaa", "00u2bbbbbb", "00u6ffffff", "00u9unknown"],
        ),
        ("00g2platfrm", vec!["00u3cccccc", "00u3cccccc"]),
        ("00g3randd00", vec!["00u4dddddd", "00u5eeeeee"]),
        ("00g5long000", vec!["00u7gggggg"]),
        ("00g7cyclea0", vec!["00u1aaaaaa"]),
        ("00g9yamada0", vec!["00u3cccccc"]),
    ];
    OktaSnapshot {
        users,
        groups,
        members: members
            .into_iter()
            .map(|(group_id, ids)| {
                (
                    group_id.to_string(),
                    ids.into_iter().map(String::from).collect(),
                )
            })
            .collect(),
    }
}

fn hard_options() -> TransformOptions {
    TransformOptions {
        provider_id: "acme-prod".into(),
        group_type: GroupTypeRule::Attribute {
            attribute: "kind".into(),
            default: "team".into(),
        },
        parent_group_attribute: Some("parent".into()),
        picture_attribute: Some("avatar".into()),
        annotation_attributes: vec![
            "costCenter".into(),
            "employeeNumber".into(),
            "contractor".into(),
            "cost center".into(),
            "€".into(),
        ],
        ..TransformOptions::default()
    }
}

#[test]
fn hard_snapshot_passes_backstage() {
    let output = build_entities(
        &hard_snapshot(),
        &SelectionOptions::default(),
        &hard_options(),
    );
    assert!(
        output.entities.len() > 10,
        "{} entities built",
        output.entities.len()
    );

    let result = run_harness(&json_lines(&output.entities), &[]);
    let stdout = String::from_utf8_lossy(&result.stdout);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        result.status.success(),
        "Backstage rejected entities:\n{stdout}\n{stderr}"
    );
}

#[test]
fn hard_snapshot_passes_own_validation() {
    let output = build_entities(
        &hard_snapshot(),
        &SelectionOptions::default(),
        &hard_options(),
    );
    for entity in &output.entities {
        assert_eq!(validate_entity(entity), Ok(()), "{}", entity.entity_ref());
    }
}

#[test]
fn all_groups_pass_backstage() {
    let selection = SelectionOptions {
        include_built_in_groups: true,
        include_deprovisioned: true,
        only_group_members: false,
    };
    let options = TransformOptions {
        keep_empty_groups: false,
        ..hard_options()
    };
    let output = build_entities(&hard_snapshot(), &selection, &options);
    let array = serde_json::to_string(&output.entities).expect("entities serialize");

    let result = run_harness(&array, &[]);
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        result.status.success(),
        "Backstage rejected entities:\n{stdout}"
    );
}

/// Returns entities that break one Backstage rule each. Both validators
/// must reject every one.
fn broken_entities() -> Vec<Value> {
    let base = json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Group",
        "metadata": { "name": "sre", "namespace": "default" },
        "spec": { "type": "team", "children": [] }
    });
    let edits: Vec<(&str, Value)> = vec![
        ("/metadata/name", json!("-sre")),
        ("/metadata/name", json!("a".repeat(64))),
        ("/metadata/name", json!("josé")),
        ("/metadata/namespace", json!("Default")),
        ("/apiVersion", json!("backstage.io/v2")),
        ("/metadata/title", json!("")),
        (
            "/metadata/annotations",
            json!({ "okta.com/cost center": "x" }),
        ),
        ("/metadata/annotations", json!({ "Okta.com/x": "x" })),
        ("/metadata/labels", json!({ "tier": "gold plated" })),
        ("/spec/type", json!("")),
        ("/spec/children", json!("none")),
        ("/spec/members", json!([""])),
        ("/spec/parent", json!(7)),
        ("/spec/profile", json!({ "displayName": "" })),
    ];
    edits
        .into_iter()
        .map(|(pointer, value)| {
            let mut entity = base.clone();
            set_pointer(&mut entity, pointer, value);
            entity
        })
        .collect()
}

fn set_pointer(target: &mut Value, pointer: &str, value: Value) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointers have a slash");
    let parent = target.pointer_mut(parent).expect("parent exists");
    parent[key] = value;
}

#[test]
fn broken_entities_fail_backstage() {
    let broken = broken_entities();
    let array = serde_json::to_string(&broken).expect("entities serialize");
    let result = run_harness(&array, &["--allow-dangling"]);
    let stdout = String::from_utf8_lossy(&result.stdout);

    assert!(
        !result.status.success(),
        "the harness accepted broken entities"
    );
    for (index, entity) in broken.iter().enumerate() {
        let marker = format!("#{index} ");
        assert!(
            stdout.lines().any(|line| line.starts_with(&marker)),
            "Backstage accepted broken entity #{index}: {entity}\n{stdout}"
        );
    }
}

#[test]
fn broken_entities_fail_own_validation() {
    for (index, value) in broken_entities().into_iter().enumerate() {
        let entity: Entity = serde_json::from_value(value.clone()).expect("broken entities parse");
        assert!(
            validate_entity(&entity).is_err(),
            "accepted broken entity #{index}: {value}"
        );
    }
}

#[test]
fn dangling_ref_fails_backstage_set() {
    let user = json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "User",
        "metadata": { "name": "jane" },
        "spec": { "memberOf": ["group:default/nowhere"] }
    });
    let result = run_harness(&user.to_string(), &[]);
    assert!(
        !result.status.success(),
        "the harness accepted a dangling ref"
    );
}
