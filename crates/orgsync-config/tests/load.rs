//! Loading valid configs: merging, substitution, both provider forms, the
//! Roadie module's keys, defaults, and the documented example.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use common::{private_key_jwk, private_key_pem, provider_with, Setup};
use orgsync_config::{DatabaseClient, Frequency, GroupFilter, ProviderConfig};
use orgsync_model::{GroupNaming, GroupTypeRule, UserNaming};
use orgsync_okta::Credentials;
use serde_json::json;

fn only_provider(setup: &Setup) -> ProviderConfig {
    let mut loaded = setup.loaded();
    assert_eq!(loaded.config.providers.len(), 1);
    loaded.config.providers.remove(0)
}

fn docs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs")
}

#[test]
fn minimal_provider_gets_defaults() {
    let provider = only_provider(&provider_with(""));
    assert_eq!(provider.id, "default");
    assert_eq!(provider.okta_url.as_str(), "https://acme.okta.com/");
    assert_eq!(provider.scopes, ["okta.users.read", "okta.groups.read"]);
    assert_eq!(
        provider.schedule.frequency,
        Frequency::Every(Duration::from_secs(1800))
    );
    assert_eq!(provider.schedule.timeout, Duration::from_secs(600));
    assert_eq!(provider.schedule.initial_delay, Duration::from_secs(15));
    assert_eq!(provider.user_search_filter, None);
    assert_eq!(provider.group_filter, None);
    assert_eq!(provider.rate_limit_share, 0.5);
    assert_eq!(provider.max_retries, 6);
    assert_eq!(provider.request_timeout, Duration::from_secs(30));
    assert_eq!(provider.concurrency, 8);
    assert_eq!(provider.removal_guard.max_share, 0.2);
    assert!(!provider.removal_guard.allow_empty);
}

#[test]
fn minimal_provider_gets_entity_defaults() {
    let provider = only_provider(&provider_with(""));
    assert!(!provider.selection.include_built_in_groups);
    assert!(!provider.selection.include_deprovisioned);
    assert!(!provider.selection.only_group_members);
    assert_eq!(provider.entities.provider_id, "default");
    assert_eq!(provider.entities.user_naming, UserNaming::EmailLocalPart);
    assert_eq!(provider.entities.group_naming, GroupNaming::Name);
    assert_eq!(
        provider.entities.group_type,
        GroupTypeRule::Fixed("team".into())
    );
    assert_eq!(provider.entities.annotation_prefix, "okta.com/");
    assert!(provider.entities.keep_empty_groups);
}

#[test]
fn minimal_config_gets_backend_defaults() {
    let loaded = provider_with("").loaded();
    assert_eq!(loaded.config.database.client, DatabaseClient::Sqlite);
    assert_eq!(loaded.config.database.connection, "./data/orgsync.sqlite");
    assert_eq!(loaded.config.listen.host, "127.0.0.1");
    assert_eq!(loaded.config.listen.port, 7007);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn provider_source_names_file() {
    let setup = provider_with("");
    let provider = only_provider(&setup);
    assert_eq!(
        provider.source,
        setup.path("app-config.yaml").display().to_string()
    );
}

#[test]
fn pem_key_gives_private_key_credentials() {
    let provider = only_provider(&provider_with("keyId: kid-1"));
    let Credentials::PrivateKey {
        client_id, key_id, ..
    } = provider.credentials
    else {
        panic!("expected private key credentials");
    };
    assert_eq!(client_id, "0oa123abc");
    assert_eq!(key_id.as_deref(), Some("kid-1"));
}

#[test]
fn jwk_kid_becomes_key_id() {
    let setup = provider_with("").env("OKTA_PRIVATE_KEY", &private_key_jwk("jwk-kid"));
    let Credentials::PrivateKey { key_id, .. } = only_provider(&setup).credentials else {
        panic!("expected private key credentials");
    };
    assert_eq!(key_id.as_deref(), Some("jwk-kid"));
}

#[test]
fn jwk_as_yaml_map_is_accepted() {
    let jwk: serde_json::Value = serde_json::from_str(&private_key_jwk("k")).unwrap();
    let text = format!(
        "catalog:\n  providers:\n    okta:\n      default:\n        oktaUrl: https://acme.okta.com\n        clientId: 0oa1\n        privateKey: {jwk}\n"
    );
    let provider = only_provider(&Setup::new().config("app-config.yaml", &text));
    assert!(matches!(
        provider.credentials,
        Credentials::PrivateKey { .. }
    ));
}

#[test]
fn token_gives_api_token_credentials() {
    let text = "catalog:\n  providers:\n    okta:\n      default:\n        oktaUrl: https://acme.okta.com\n        token: ${OKTA_API_TOKEN}\n";
    let setup = Setup::new()
        .config("app-config.yaml", text)
        .env("OKTA_API_TOKEN", "00supersecrettoken");
    let provider = only_provider(&setup);
    assert!(matches!(provider.credentials, Credentials::ApiToken(_)));
}

#[test]
fn debug_output_has_no_secrets() {
    let text = "catalog:\n  providers:\n    okta:\n      a:\n        oktaUrl: https://acme.okta.com\n        token: 00supersecrettoken\n      b:\n        oktaUrl: https://acme.okta.com\n        clientId: 0oa1\n        privateKey: ${OKTA_PRIVATE_KEY}\n";
    let pem = private_key_pem();
    let setup = Setup::new()
        .config("app-config.yaml", text)
        .env("OKTA_PRIVATE_KEY", &pem);
    let debug = format!("{:?}", setup.loaded());
    assert!(!debug.contains("00supersecrettoken"));
    let pem_body = pem.lines().nth(1).unwrap();
    assert!(!debug.contains(pem_body));
}

#[test]
fn map_and_list_forms_agree() {
    let list = "catalog:\n  providers:\n    okta:\n      - id: default\n        oktaUrl: https://acme.okta.com\n        clientId: 0oa123abc\n        privateKey: ${OKTA_PRIVATE_KEY}\n";
    let from_list = only_provider(
        &Setup::new()
            .config("app-config.yaml", list)
            .env("OKTA_PRIVATE_KEY", &private_key_pem()),
    );
    let from_map = only_provider(&provider_with(""));
    // The files differ only in their temporary directory.
    let without_source = |provider: ProviderConfig| ProviderConfig {
        source: String::new(),
        ..provider
    };
    assert_eq!(
        format!("{:?}", without_source(from_list)),
        format!("{:?}", without_source(from_map))
    );
}

#[test]
fn several_providers_keep_order() {
    let text = "catalog:\n  providers:\n    okta:\n      zeta:\n        oktaUrl: https://z.okta.com\n        token: 00z\n      alpha:\n        oktaUrl: https://a.okta.com\n        token: 00a\n";
    let loaded = Setup::new().config("app-config.yaml", text).loaded();
    let ids: Vec<&str> = loaded
        .config
        .providers
        .iter()
        .map(|p| p.id.as_str())
        .collect();
    assert_eq!(ids, ["zeta", "alpha"]);
}

#[test]
fn single_list_entry_without_id_is_default() {
    let text = "catalog:\n  providers:\n    okta:\n      - oktaUrl: https://acme.okta.com\n        token: 00abc\n";
    let loaded = Setup::new().config("app-config.yaml", text).loaded();
    assert_eq!(loaded.config.providers[0].id, "default");
    assert_eq!(loaded.warnings[0].key_path, "catalog.providers.okta[0]");
}

#[test]
fn later_file_wins() {
    let setup = provider_with("userSearchFilter: 'status eq \"ACTIVE\"'").config(
        "local.yaml",
        "catalog:\n  providers:\n    okta:\n      default:\n        oktaUrl: https://other.okta.com\n",
    );
    let provider = only_provider(&setup);
    assert_eq!(provider.okta_url.as_str(), "https://other.okta.com/");
    assert_eq!(
        provider.user_search_filter.as_deref(),
        Some("status eq \"ACTIVE\"")
    );
}

#[test]
fn later_request_timeout_replaces_earlier() {
    let setup = provider_with("requestTimeout: { minutes: 1 }").config(
        "local.yaml",
        "catalog:\n  providers:\n    okta:\n      default:\n        requestTimeout: { seconds: 3 }\n",
    );
    let provider = only_provider(&setup);
    assert_eq!(provider.request_timeout, Duration::from_secs(3));
}

#[test]
fn later_list_replaces_earlier() {
    let setup = provider_with("groupFilter:\n  groupNames: [a, b, c]").config(
        "local.yaml",
        "catalog:\n  providers:\n    okta:\n      default:\n        groupFilter:\n          groupNames: [d]\n",
    );
    let provider = only_provider(&setup);
    assert_eq!(
        provider.group_filter,
        Some(GroupFilter::Names(vec!["d".into()]))
    );
}

#[test]
fn later_duration_map_replaces_earlier() {
    let setup = provider_with("schedule:\n  frequency: { minutes: 15 }").config(
        "local.yaml",
        "catalog:\n  providers:\n    okta:\n      default:\n        schedule:\n          frequency: { seconds: 3 }\n",
    );
    assert_eq!(
        only_provider(&setup).schedule.frequency,
        Frequency::Every(Duration::from_secs(3))
    );
}

#[test]
fn later_group_filter_replaces_earlier_kind() {
    let setup = provider_with("groupFilter:\n  groupNames: [a, b]").config(
        "local.yaml",
        "catalog:\n  providers:\n    okta:\n      default:\n        groupFilter:\n          searchExpression: 'profile.name sw \"eng\"'\n",
    );
    assert_eq!(
        only_provider(&setup).group_filter,
        Some(GroupFilter::Search("profile.name sw \"eng\"".into()))
    );
}

#[test]
fn later_null_restores_default() {
    let setup = provider_with("concurrency: 4").config(
        "local.yaml",
        "catalog:\n  providers:\n    okta:\n      default:\n        concurrency: null\n",
    );
    assert_eq!(only_provider(&setup).concurrency, 8);
}

#[test]
fn error_names_file_that_set_value() {
    let setup = provider_with("").config(
        "local.yaml",
        "catalog:\n  providers:\n    okta:\n      default:\n        concurrency: 0\n",
    );
    let errors = setup.errors();
    let error = common::error_at(&errors, "catalog.providers.okta.default.concurrency");
    assert_eq!(error.file, setup.path("local.yaml").display().to_string());
}

#[test]
fn file_substitution_is_relative_to_config() {
    let setup = Setup::new();
    setup.write("conf/keys/okta.pem", &format!("{}\n", private_key_pem()));
    let text = "catalog:\n  providers:\n    okta:\n      default:\n        oktaUrl: https://acme.okta.com\n        clientId: 0oa1\n        privateKey: { $file: keys/okta.pem }\n";
    let setup = setup.config("conf/app-config.yaml", text);
    assert!(matches!(
        only_provider(&setup).credentials,
        Credentials::PrivateKey { .. }
    ));
}

#[test]
fn file_substitution_drops_final_newline() {
    let setup = Setup::new();
    setup.write("client-id.txt", "0oa-from-file\n");
    let text = "catalog:\n  providers:\n    okta:\n      default:\n        oktaUrl: https://acme.okta.com\n        clientId: { $file: client-id.txt }\n        privateKey: ${OKTA_PRIVATE_KEY}\n";
    let setup = setup
        .config("app-config.yaml", text)
        .env("OKTA_PRIVATE_KEY", &private_key_pem());
    let Credentials::PrivateKey { client_id, .. } = only_provider(&setup).credentials else {
        panic!("expected private key credentials");
    };
    assert_eq!(client_id, "0oa-from-file");
}

#[test]
fn env_directive_is_substituted() {
    let text = "catalog:\n  providers:\n    okta:\n      default:\n        oktaUrl: { $env: OKTA_URL }\n        token: 00a\n";
    let setup = Setup::new()
        .config("app-config.yaml", text)
        .env("OKTA_URL", "https://env.okta.com");
    assert_eq!(
        only_provider(&setup).okta_url.as_str(),
        "https://env.okta.com/"
    );
}

#[test]
fn variable_inside_string_is_substituted() {
    let text = "catalog:\n  providers:\n    okta:\n      default:\n        oktaUrl: https://${OKTA_ORG}.okta.com\n        token: 00a\n";
    let setup = Setup::new()
        .config("app-config.yaml", text)
        .env("OKTA_ORG", "acme");
    assert_eq!(
        only_provider(&setup).okta_url.as_str(),
        "https://acme.okta.com/"
    );
}

#[test]
fn escaped_variable_stays_literal() {
    let setup = provider_with("userSearchFilter: 'profile.title eq \"$${HOME}\"'");
    let provider = only_provider(&setup);
    assert_eq!(
        provider.user_search_filter.as_deref(),
        Some("profile.title eq \"${HOME}\"")
    );
}

#[test]
fn substituted_number_is_accepted() {
    let setup = provider_with("concurrency: ${OKTA_CONCURRENCY}").env("OKTA_CONCURRENCY", "12");
    assert_eq!(only_provider(&setup).concurrency, 12);
}

#[test]
fn roadie_config_loads_with_warnings() {
    let text = "catalog:\n  providers:\n    okta:\n      - orgUrl: 'https://tenant.okta.com'\n        oauth: {\n          clientId: 0oa1,\n          keyId: kid-1,\n          privateKey: '${OKTA_OAUTH_PRIVATE_KEY}',\n        }\n        userFilter: profile.department eq \"engineering\"\n        groupFilter: profile.name eq \"Everyone\"\n";
    let setup = Setup::new()
        .config("app-config.yaml", text)
        .env("OKTA_OAUTH_PRIVATE_KEY", &private_key_pem());
    let loaded = setup.loaded();
    let provider = &loaded.config.providers[0];
    assert_eq!(provider.okta_url.as_str(), "https://tenant.okta.com/");
    assert_eq!(
        provider.user_search_filter.as_deref(),
        Some("profile.department eq \"engineering\"")
    );
    assert_eq!(
        provider.group_filter,
        Some(GroupFilter::Search("profile.name eq \"Everyone\"".into()))
    );
    let Credentials::PrivateKey {
        client_id, key_id, ..
    } = &provider.credentials
    else {
        panic!("expected private key credentials");
    };
    assert_eq!(client_id, "0oa1");
    assert_eq!(key_id.as_deref(), Some("kid-1"));
}

#[test]
fn roadie_warnings_name_new_keys() {
    let text = "catalog:\n  providers:\n    okta:\n      - orgUrl: 'https://tenant.okta.com'\n        token: 00abc\n        userFilter: status eq \"ACTIVE\"\n        groupFilter: profile.name eq \"Everyone\"\n";
    let loaded = Setup::new().config("app-config.yaml", text).loaded();
    let fixes: Vec<&str> = loaded.warnings.iter().map(|w| w.fix.as_str()).collect();
    assert!(fixes.contains(&"rename it to oktaUrl"), "{fixes:?}");
    assert!(
        fixes.contains(&"rename it to userSearchFilter"),
        "{fixes:?}"
    );
    assert!(
        fixes.contains(&"write groupFilter: { searchExpression: 'profile.name eq \"Everyone\"' }"),
        "{fixes:?}"
    );
}

#[test]
fn roadie_oauth_warning_names_new_place() {
    let text = "catalog:\n  providers:\n    okta:\n      - orgUrl: https://tenant.okta.com\n        oauth:\n          clientId: 0oa1\n          privateKey: ${K}\n";
    let loaded = Setup::new()
        .config("app-config.yaml", text)
        .env("K", &private_key_pem())
        .loaded();
    let warning = loaded
        .warnings
        .iter()
        .find(|w| w.key_path == "catalog.providers.okta[0].oauth")
        .expect("a warning about oauth");
    assert!(warning
        .fix
        .starts_with("move clientId, keyId and privateKey up"));
}

#[test]
fn roadie_and_current_key_together_are_rejected() {
    let errors = provider_with("orgUrl: https://acme.okta.com").errors();
    let error = common::error_at(&errors, "catalog.providers.okta.default.orgUrl");
    assert_eq!(error.fix, "remove it and keep oktaUrl");
}

#[test]
fn parse_provider_reads_json() {
    let value = json!({
        "id": "ui",
        "oktaUrl": "https://acme.okta.com",
        "token": "00abc",
        "schedule": {"frequency": {"cron": "0 * * * *"}, "timeout": "PT5M"},
    });
    let provider = orgsync_config::parse_provider("settings form", &value).unwrap();
    assert_eq!(provider.id, "ui");
    assert_eq!(
        provider.schedule.frequency,
        Frequency::Cron("0 * * * *".into())
    );
    assert_eq!(provider.source, "settings form");
}

#[test]
fn parse_provider_paths_are_relative() {
    let value = json!({"id": "ui", "oktaUrl": "https://acme-admin.okta.com", "token": "00abc"});
    let errors = orgsync_config::parse_provider("settings form", &value).unwrap_err();
    assert_eq!(errors.0[0].key_path, "oktaUrl");
    assert_eq!(errors.0[0].file, "settings form");
}

#[test]
fn all_options_are_read() {
    let extra = "\
scopes: [okta.users.read, okta.groups.read, okta.apps.read]
schedule:
  frequency: { cron: '*/15 * * * *' }
  timeout: { minutes: 5 }
  initialDelay: PT0S
userSearchFilter: 'status eq \"ACTIVE\"'
groupFilter: { searchExpression: 'profile.name sw \"eng\"' }
includeBuiltInGroups: true
includeDeprovisionedUsers: true
onlyGroupMembers: true
keepEmptyGroups: false
userNaming: login
groupNaming: id
groupType: { attribute: orgType, default: department }
parentGroupAttribute: parentGroup
pictureAttribute: avatarUrl
annotations: { attributes: [costCenter], prefix: example.com/okta- }
rateLimitShare: 0.25
maxRetries: 2
requestTimeout: { seconds: 10 }
concurrency: 3
removalGuard: { maxShare: 0.5, allowEmpty: true }";
    let provider = only_provider(&provider_with(extra));
    assert_eq!(provider.scopes.len(), 3);
    assert_eq!(
        provider.schedule.frequency,
        Frequency::Cron("*/15 * * * *".into())
    );
    assert_eq!(provider.schedule.initial_delay, Duration::ZERO);
    assert!(provider.selection.include_built_in_groups);
    assert!(provider.selection.include_deprovisioned);
    assert!(provider.selection.only_group_members);
    assert!(!provider.entities.keep_empty_groups);
    assert_eq!(provider.entities.user_naming, UserNaming::Login);
    assert_eq!(provider.entities.group_naming, GroupNaming::Id);
    assert_eq!(
        provider.entities.group_type,
        GroupTypeRule::Attribute {
            attribute: "orgType".into(),
            default: "department".into()
        }
    );
    assert_eq!(
        provider.entities.parent_group_attribute.as_deref(),
        Some("parentGroup")
    );
    assert_eq!(
        provider.entities.picture_attribute.as_deref(),
        Some("avatarUrl")
    );
    assert_eq!(provider.entities.annotation_attributes, ["costCenter"]);
    assert_eq!(provider.entities.annotation_prefix, "example.com/okta-");
    assert_eq!(provider.rate_limit_share, 0.25);
    assert_eq!(provider.max_retries, 2);
    assert_eq!(provider.request_timeout, Duration::from_secs(10));
    assert_eq!(provider.concurrency, 3);
    assert_eq!(provider.removal_guard.max_share, 0.5);
    assert!(provider.removal_guard.allow_empty);
}

#[test]
fn postgres_backend_is_read() {
    let setup = provider_with("").config(
        "db.yaml",
        "backend:\n  database:\n    client: pg\n    connection: postgres://orgsync:${PGPASS}@db:5432/orgsync\n",
    );
    let loaded = setup.env("PGPASS", "pw").loaded();
    assert_eq!(loaded.config.database.client, DatabaseClient::Postgres);
    assert_eq!(
        loaded.config.database.connection,
        "postgres://orgsync:pw@db:5432/orgsync"
    );
}

#[test]
fn backstage_keys_outside_orgsync_are_ignored() {
    let setup = provider_with("").config(
        "backstage.yaml",
        "app:\n  title: Backstage\nbackend:\n  cors: { origin: x }\ncatalog:\n  locations: []\n  providers:\n    github: {}\n",
    );
    assert!(setup.load().is_ok());
}

#[test]
fn example_config_loads() {
    let example = docs_dir().join("app-config.example.yaml");
    let pem = private_key_pem();
    let env = |name: &str| match name {
        "OKTA_CLIENT_ID" => Some("0oa1example".to_string()),
        "OKTA_PRIVATE_KEY" => Some(pem.clone()),
        "OKTA_KEY_ID" => Some("kid-1".to_string()),
        "ORGSYNC_READ_TOKEN" => Some("read-token-0123456789abcdef".to_string()),
        "ORGSYNC_ADMIN_TOKEN" => Some("admin-token-0123456789abcdef".to_string()),
        _ => None,
    };
    let loaded = match orgsync_config::load_with_env(&[example], &env) {
        Ok(loaded) => loaded,
        Err(errors) => panic!("the example config must load:\n{errors}"),
    };
    assert_eq!(loaded.config.providers[0].id, "production");
    assert_eq!(
        loaded.config.auth.admin_token.as_deref(),
        Some("admin-token-0123456789abcdef")
    );
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

/// Reads the keys documented in docs/configuration.md: the rows of every
/// table under a `###` heading, prefixed with the heading's `path`.
fn documented_keys() -> BTreeSet<String> {
    let text = std::fs::read_to_string(docs_dir().join("configuration.md")).unwrap();
    let mut keys = BTreeSet::new();
    let mut prefix: Option<String> = None;
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix("### ") {
            let path = heading.rsplit('`').nth(1).filter(|_| heading.contains('`'));
            prefix = Some(path.unwrap_or_default().to_string());
        } else if line.starts_with("## ") || line.starts_with("# ") {
            prefix = None;
        } else if let (Some(prefix), Some(row)) = (&prefix, line.strip_prefix("| `")) {
            let key = row.split('`').next().unwrap();
            keys.insert(if prefix.is_empty() {
                key.to_string()
            } else {
                format!("{prefix}.{key}")
            });
        }
    }
    keys
}

#[test]
fn docs_cover_every_key() {
    let documented = documented_keys();
    let missing: Vec<String> = orgsync_config::known_keys()
        .into_iter()
        .filter(|key| !documented.contains(key))
        .collect();
    assert!(
        missing.is_empty(),
        "keys missing from docs/configuration.md: {missing:?}"
    );
}

#[test]
fn docs_document_only_real_keys() {
    let known: BTreeSet<String> = orgsync_config::known_keys().into_iter().collect();
    let unknown: Vec<String> = documented_keys()
        .into_iter()
        .filter(|key| !known.contains(key))
        .collect();
    assert!(
        unknown.is_empty(),
        "documented keys the loader does not read: {unknown:?}"
    );
}

#[test]
fn example_sets_every_provider_key() {
    let text = std::fs::read_to_string(docs_dir().join("app-config.example.yaml")).unwrap();
    let example: serde_json::Value = serde_yaml_ng::from_str(&text).unwrap();
    let provider = &example["catalog"]["providers"]["okta"]["production"];
    let legacy = ["id", "orgUrl", "oauth", "userFilter", "token"];
    for key in orgsync_config::known_keys() {
        let Some(name) = key.strip_prefix("catalog.providers.okta.<id>.") else {
            continue;
        };
        if name.contains('.') || legacy.contains(&name) {
            continue;
        }
        assert!(
            provider.get(name).is_some(),
            "the example does not set {name}"
        );
    }
}

#[test]
fn example_mentions_commented_keys() {
    let text = std::fs::read_to_string(docs_dir().join("app-config.example.yaml")).unwrap();
    for option in ["token:", "searchExpression:", "cron:", "client: pg"] {
        assert!(text.contains(option), "the example does not show {option}");
    }
}
