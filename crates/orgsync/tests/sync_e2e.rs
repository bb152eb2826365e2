//! End-to-end tests of `orgsync sync` and `orgsync export`: the real binary
//! against fake-okta on a loopback port, with a real SQLite catalog.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use common::{annotation, by_okta_id, change_count, of_kind, okta_reference, strings, TestOrg};
use fake_okta::faults::FaultConfig;
use fake_okta::generate::{from_recorded, org_from_fixture};
use fake_okta::server::FakeOkta;
use serde_json::{json, Value};

const USER_ID: &str = "okta.com/user-id";
const GROUP_ID: &str = "okta.com/group-id";

fn fixture(value: Value) -> fake_okta::org::Org {
    org_from_fixture(value, std::path::Path::new("test fixture")).expect("fixture loads")
}

/// A small org with name collisions, case twins, a hierarchy and departments.
fn team_fixture() -> fake_okta::org::Org {
    fixture(json!({
        "seed": 3,
        "users": [
            {"id": "00u0000000000000ana1", "profile": {"login": "ana@a.example", "email": "ana@a.example", "firstName": "Ana", "lastName": "Lima", "department": "Engineering"}},
            {"id": "00u0000000000000ana2", "profile": {"login": "ana@b.example", "email": "ana@b.example", "firstName": "Ana", "lastName": "Souza", "department": "Sales"}},
            {"id": "00u00000000000000ze1", "profile": {"login": "zoe@a.example", "email": "Zoë@a.example", "firstName": "Zoë", "lastName": "Ærø", "department": "Engineering"}},
            {"id": "00u00000000000000bo1", "profile": {"login": "bo@a.example", "email": "bo@a.example", "firstName": "Bo", "lastName": "Kim", "department": "Engineering"}},
            {"id": "00u00000000000000ex1", "status": "DEPROVISIONED", "profile": {"login": "ex@a.example", "email": "ex@a.example", "firstName": "Ex", "lastName": "Employee", "department": "Engineering"}}
        ],
        "groups": [
            {"id": "00g000000000000engin", "profile": {"name": "Engineering", "description": "All engineers"}},
            {"id": "00g0000000000000plat", "profile": {"name": "Platform", "parentGroup": "Engineering"}},
            {"id": "00g0000000000000pla2", "profile": {"name": "platform", "parentGroup": "Engineering"}},
            {"id": "00g0000000000000data", "profile": {"name": "data-eng", "parentGroup": "Engineering"}},
            {"id": "00g0000000000000sale", "profile": {"name": "team-sales"}},
            {"id": "00g0000000000000empt", "profile": {"name": "team-empty"}}
        ],
        "memberships": {
            "Engineering": ["ana@a.example", "zoe@a.example", "bo@a.example", "ex@a.example"],
            "Platform": ["ana@a.example", "bo@a.example"],
            "platform": ["zoe@a.example"],
            "data-eng": ["zoe@a.example", "ex@a.example"],
            "team-sales": ["ana@b.example"]
        }
    }))
}

fn names(entities: &[&Value]) -> BTreeSet<String> {
    entities
        .iter()
        .filter_map(|entity| entity["metadata"]["name"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_org_matches_okta() {
    let org = TestOrg::start(FakeOkta::builder().generated(300, 30, 11), "").await;
    let (code, report) = org.sync(&[]).await;
    assert_eq!(code, 0, "{report}");

    let entities = org.export().await;
    let handle = org.fake.org_handle();
    let okta = handle.read();

    let expected_users: BTreeSet<&str> = okta
        .users_after(None)
        .filter(|user| user.status() != "DEPROVISIONED")
        .map(|user| user.id())
        .collect();
    let exported_users: BTreeSet<&str> = of_kind(&entities, "User")
        .iter()
        .filter_map(|user| annotation(user, USER_ID))
        .collect();
    assert_eq!(exported_users, expected_users);

    let expected_groups: BTreeSet<&str> = okta
        .groups_after(None)
        .filter(|group| group.group_type() != "BUILT_IN")
        .map(|group| group.id())
        .collect();
    let exported_groups: BTreeSet<&str> = of_kind(&entities, "Group")
        .iter()
        .filter_map(|group| annotation(group, GROUP_ID))
        .collect();
    assert_eq!(exported_groups, expected_groups);

    for group_id in &expected_groups {
        let active_members = okta
            .members_after(group_id, None)
            .expect("group exists")
            .filter(|user| user.status() != "DEPROVISIONED")
            .count();
        let group = by_okta_id(&entities, GROUP_ID, group_id).expect("group exported");
        assert_eq!(
            strings(&group["spec"]["members"]).len(),
            active_members,
            "members of {group_id}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_run_changes_nothing() {
    let org = TestOrg::start(FakeOkta::builder().generated(200, 20, 5), "").await;
    let (first_code, first) = org.sync(&[]).await;
    assert_eq!(first_code, 0, "{first}");
    let before = org.export().await;

    let (code, second) = org.sync(&[]).await;
    assert_eq!(code, 0, "{second}");
    assert_eq!(change_count(&second, "added"), 0);
    assert_eq!(change_count(&second, "updated"), 0);
    assert_eq!(change_count(&second, "removed"), 0);
    assert_eq!(
        second["report"]["changes"]["unchanged"],
        json!(before.len())
    );
    assert_eq!(org.export().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_changes_are_applied() {
    let org = TestOrg::start(FakeOkta::builder().org(team_fixture()), "").await;
    assert_eq!(org.sync(&[]).await.0, 0);

    {
        let handle = org.fake.org_handle();
        let mut okta = handle.write();
        okta.remove_member("00g0000000000000plat", "00u00000000000000bo1", Utc::now())
            .expect("membership removed");
        okta.insert_user(json!({
            "id": "00u00000000000000ne1",
            "status": "ACTIVE",
            "profile": {"login": "new@a.example", "email": "new@a.example", "firstName": "New", "lastName": "Person"}
        }))
        .expect("user added");
    }

    let before = org.export().await;
    let platform = by_okta_id(&before, GROUP_ID, "00g0000000000000plat").expect("exported");
    let platform_ref = format!(
        "group:default/{}",
        platform["metadata"]["name"].as_str().unwrap_or("?")
    );

    let (code, report) = org.sync(&[]).await;
    assert_eq!(code, 0, "{report}");
    let added = strings(&report["report"]["changes"]["added"]);
    let updated = strings(&report["report"]["changes"]["updated"]);
    assert_eq!(added, vec!["user:default/new".to_string()]);
    assert!(updated.contains(&platform_ref), "{updated:?}");
    assert!(
        updated.contains(&"user:default/bo".to_string()),
        "{updated:?}"
    );
    assert_eq!(change_count(&report, "removed"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_org_syncs() {
    let okta = from_recorded(&okta_reference().join("recorded")).expect("recorded org loads");
    let org = TestOrg::start(FakeOkta::builder().org(okta), "").await;
    let (code, report) = org.sync(&[]).await;
    assert_eq!(code, 0, "{report}");

    let entities = org.export().await;
    let handle = org.fake.org_handle();
    let okta = handle.read();
    for user in okta
        .users_after(None)
        .filter(|user| user.status() != "DEPROVISIONED")
    {
        assert!(
            by_okta_id(&entities, USER_ID, user.id()).is_some(),
            "recorded user {} is exported",
            user.id()
        );
    }
    assert!(!of_kind(&entities, "Group").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_names_select_exact_groups() {
    let extra = "        groupFilter:\n          groupNames: [Platform, data-eng, ghost-team]\n";
    let org = TestOrg::start(FakeOkta::builder().org(team_fixture()), extra).await;
    let (code, report) = org.sync(&[]).await;
    assert_eq!(code, 0, "{report}");
    assert_eq!(
        strings(&report["report"]["unmatched_group_names"]),
        vec!["ghost-team".to_string()]
    );

    let entities = org.export().await;
    let groups: BTreeSet<&str> = of_kind(&entities, "Group")
        .iter()
        .filter_map(|group| annotation(group, GROUP_ID))
        .collect();
    let expected: BTreeSet<&str> = ["00g0000000000000plat", "00g0000000000000data"].into();
    assert_eq!(groups, expected, "the case twin `platform` is not selected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_expression_selects_groups() {
    let extra = "        groupFilter:\n          searchExpression: 'profile.name sw \"team-\"'\n";
    let org = TestOrg::start(FakeOkta::builder().org(team_fixture()), extra).await;
    let (code, report) = org.sync(&[]).await;
    assert_eq!(code, 0, "{report}");

    let entities = org.export().await;
    let groups = names(&of_kind(&entities, "Group"));
    let expected: BTreeSet<String> = ["team-empty", "team-sales"].map(String::from).into();
    assert_eq!(groups, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_search_filter_selects_users() {
    let extra = "        userSearchFilter: 'profile.department eq \"Engineering\"'\n";
    let org = TestOrg::start(FakeOkta::builder().org(team_fixture()), extra).await;
    let (code, report) = org.sync(&[]).await;
    assert_eq!(code, 0, "{report}");

    let entities = org.export().await;
    let users: BTreeSet<&str> = of_kind(&entities, "User")
        .iter()
        .filter_map(|user| annotation(user, USER_ID))
        .collect();
    // The DEPROVISIONED engineer is returned by Okta's search but left out.
    let expected: BTreeSet<&str> = [
        "00u0000000000000ana1",
        "00u00000000000000ze1",
        "00u00000000000000bo1",
    ]
    .into();
    assert_eq!(users, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_group_members_drops_others() {
    let extra = "        onlyGroupMembers: true\n        groupFilter:\n          groupNames: [team-sales]\n";
    let org = TestOrg::start(FakeOkta::builder().org(team_fixture()), extra).await;
    let (code, report) = org.sync(&[]).await;
    assert_eq!(code, 0, "{report}");

    let entities = org.export().await;
    let users: Vec<&str> = of_kind(&entities, "User")
        .iter()
        .filter_map(|user| annotation(user, USER_ID))
        .collect();
    assert_eq!(users, vec!["00u0000000000000ana2"]);
    assert_eq!(
        report["report"]["api_calls_by_endpoint"].get("GET /api/v1/users"),
        None,
        "users come from the member lists, so /api/v1/users is not listed"
    );
}

/// A sync keeps only the profile attributes its entities need. The annotation
/// and picture attributes must still arrive, from users or from member lists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_attributes_survive_profile_trimming() {
    let mapped = "        pictureAttribute: department\n        annotations:\n          attributes: [department, lastName]\n";
    for extra in [
        mapped.to_string(),
        format!("{mapped}        onlyGroupMembers: true\n"),
    ] {
        let org = TestOrg::start(FakeOkta::builder().org(team_fixture()), &extra).await;
        let (code, report) = org.sync(&[]).await;
        assert_eq!(code, 0, "{report}");

        let entities = org.export().await;
        let ana = by_okta_id(&entities, USER_ID, "00u0000000000000ana2").expect("exported");
        assert_eq!(
            annotation(ana, "okta.com/department"),
            Some("Sales"),
            "{extra}"
        );
        assert_eq!(
            annotation(ana, "okta.com/lastName"),
            Some("Souza"),
            "{extra}"
        );
        assert_eq!(ana["spec"]["profile"]["picture"], json!("Sales"), "{extra}");
        assert_eq!(
            ana["spec"]["profile"]["displayName"],
            json!("Ana Souza"),
            "{extra}"
        );
        assert_eq!(
            ana["spec"]["profile"]["email"],
            json!("ana@b.example"),
            "{extra}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn name_collisions_get_stable_suffixes() {
    let org = TestOrg::start(FakeOkta::builder().org(team_fixture()), "").await;
    assert_eq!(org.sync(&[]).await.0, 0);
    let first = org.export().await;

    let name_of = |entities: &[Value], id: &str| {
        by_okta_id(entities, USER_ID, id).expect("user exported")["metadata"]["name"]
            .as_str()
            .map(str::to_string)
            .expect("name")
    };
    let ana_a = name_of(&first, "00u0000000000000ana1");
    let ana_b = name_of(&first, "00u0000000000000ana2");
    assert_eq!(ana_a, "ana");
    assert_ne!(ana_b, "ana");
    assert!(ana_b.starts_with("ana-"), "{ana_b}");

    let group_names = names(&of_kind(&first, "Group"));
    assert!(group_names.contains("platform"), "{group_names:?}");
    assert_eq!(
        group_names
            .iter()
            .filter(|name| name.starts_with("platform"))
            .count(),
        2
    );

    assert_eq!(org.sync(&[]).await.0, 0);
    let second = org.export().await;
    assert_eq!(name_of(&second, "00u0000000000000ana2"), ana_b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parent_attribute_builds_hierarchy() {
    let extra = "        parentGroupAttribute: parentGroup\n";
    let org = TestOrg::start(FakeOkta::builder().org(team_fixture()), extra).await;
    assert_eq!(org.sync(&[]).await.0, 0);
    let entities = org.export().await;

    let engineering = by_okta_id(&entities, GROUP_ID, "00g000000000000engin").expect("exported");
    let children: BTreeSet<String> = strings(&engineering["spec"]["children"])
        .into_iter()
        .collect();
    assert_eq!(children.len(), 3, "{children:?}");
    assert!(children.contains("group:default/data-eng"));

    let data = by_okta_id(&entities, GROUP_ID, "00g0000000000000data").expect("exported");
    assert_eq!(data["spec"]["parent"], json!("group:default/engineering"));
}

/// Injects `faults` into the fake, changes the org so that a successful run
/// would change the catalog, and checks that the failed run changed nothing.
async fn assert_failed_run_changes_nothing(faults: FaultConfig) {
    let org = TestOrg::start(FakeOkta::builder().generated(150, 12, 21), "").await;
    assert_eq!(org.sync(&[]).await.0, 0);
    let before = org.export().await;

    {
        let handle = org.fake.org_handle();
        let mut okta = handle.write();
        let victim = okta
            .users_after(None)
            .next()
            .expect("a user")
            .id()
            .to_string();
        okta.remove_user(&victim, Utc::now()).expect("user removed");
    }
    org.fake.faults().set_config(faults).expect("valid faults");

    let (code, report) = org.sync(&[]).await;
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["ok"], json!(false));
    assert_eq!(org.export().await, before, "the catalog is unchanged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_midway_change_nothing() {
    assert_failed_run_changes_nothing(FaultConfig {
        error_rate: 1.0,
        only_paths: Some(vec!["/api/v1/groups/".to_string()]),
        after_requests: 3,
        ..FaultConfig::default()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_midway_changes_nothing() {
    assert_failed_run_changes_nothing(FaultConfig {
        malformed_json_rate: 1.0,
        only_paths: Some(vec!["/api/v1/groups/".to_string()]),
        after_requests: 2,
        ..FaultConfig::default()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_midway_change_nothing() {
    assert_failed_run_changes_nothing(FaultConfig {
        drop_connection_rate: 1.0,
        only_paths: Some(vec!["/api/v1/users".to_string()]),
        ..FaultConfig::default()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_writes_nothing() {
    let org = TestOrg::start(FakeOkta::builder().org(team_fixture()), "").await;
    let (code, report) = org.sync(&["--dry-run"]).await;
    assert_eq!(code, 0, "{report}");
    assert!(change_count(&report, "added") > 0);
    assert!(!org.database().exists(), "a dry run creates no catalog");

    assert_eq!(org.sync(&[]).await.0, 0);
    let runs = org.run_count().await;
    let catalog = org.catalog().await;
    let (code, report) = org.sync(&["--dry-run"]).await;
    assert_eq!(code, 0, "{report}");
    assert_eq!(org.run_count().await, runs, "a dry run records no run");
    assert_eq!(org.catalog().await, catalog);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removal_guard_blocks_until_approved() {
    let org = TestOrg::start(FakeOkta::builder().org(team_fixture()), "").await;
    assert_eq!(org.sync(&[]).await.0, 0);
    let before = org.export().await;

    {
        let handle = org.fake.org_handle();
        let mut okta = handle.write();
        for id in [
            "00u0000000000000ana1",
            "00u0000000000000ana2",
            "00u00000000000000ze1",
        ] {
            okta.remove_user(id, Utc::now()).expect("user removed");
        }
    }

    let (code, report) = org.sync(&[]).await;
    assert_eq!(code, 3, "{report}");
    assert_eq!(report["blocked"], json!(true));
    assert!(report["error"]
        .as_str()
        .unwrap_or_default()
        .contains("--approve-removals"));
    assert_eq!(org.export().await, before);

    let (approved, report) = org.sync(&["--approve-removals"]).await;
    assert_eq!(approved, 0, "{report}");
    assert_eq!(change_count(&report, "removed"), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_config_exits_before_contacting_okta() {
    let org = TestOrg::start(
        FakeOkta::builder().org(team_fixture()),
        "        oktaURL: x\n",
    )
    .await;
    let output = org.orgsync(&["sync"]).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("oktaUrl"), "{stderr}");

    assert_eq!(
        org.fake.request_counts().total,
        0,
        "no request reached fake-okta"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_passes_backstage_validation() {
    let extra = "        parentGroupAttribute: parentGroup\n";
    let org = TestOrg::start(FakeOkta::builder().generated(400, 40, 9), extra).await;
    assert_eq!(org.sync(&[]).await.0, 0);
    let entities = org.export().await;

    let harness =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../orgsync-model/tests/backstage");
    assert!(
        harness
            .join("node_modules/@backstage/catalog-model")
            .exists(),
        "the Backstage harness is not installed: run `npm ci --prefix {}`",
        harness.display()
    );
    let mut child = tokio::process::Command::new("node")
        .arg(harness.join("validate.mjs"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("node runs");
    let input = serde_json::to_vec(&entities).expect("entities encode");
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(&input).await.expect("entities sent");
    }
    let output = child.wait_with_output().await.expect("node finishes");
    assert!(
        output.status.success(),
        "Backstage rejected the export:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let kinds: BTreeMap<String, usize> =
        entities.iter().fold(BTreeMap::new(), |mut counts, entity| {
            *counts
                .entry(entity["kind"].as_str().unwrap_or("?").to_string())
                .or_default() += 1;
            counts
        });
    assert!(kinds.get("User").copied().unwrap_or(0) > 300, "{kinds:?}");
}
