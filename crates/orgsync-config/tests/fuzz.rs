//! Random input never makes the loader panic: arbitrary text as a config
//! file, and arbitrary JSON shaped like provider settings.

mod common;

use proptest::prelude::*;
use serde_json::{Map, Value};

/// Keys the loader reads, so that random maps reach deep into it.
const KEYS: &[&str] = &[
    "id",
    "oktaUrl",
    "orgUrl",
    "clientId",
    "privateKey",
    "keyId",
    "token",
    "oauth",
    "scopes",
    "schedule",
    "frequency",
    "timeout",
    "initialDelay",
    "cron",
    "minutes",
    "seconds",
    "userSearchFilter",
    "userFilter",
    "groupFilter",
    "groupNames",
    "searchExpression",
    "includeBuiltInGroups",
    "userNaming",
    "groupNaming",
    "groupType",
    "value",
    "attribute",
    "default",
    "annotations",
    "attributes",
    "prefix",
    "rateLimitShare",
    "maxRetries",
    "requestTimeout",
    "concurrency",
    "removalGuard",
    "maxShare",
    "allowEmpty",
    "$env",
    "$file",
];

/// Strings that are near-valid values for some key.
const STRINGS: &[&str] = &[
    "https://acme.okta.com",
    "https://acme-admin.okta.com/oauth2/default",
    "http://127.0.0.1:1",
    "0oa1,",
    "PT30M",
    "P1M",
    "30m",
    "*/5 * * * *",
    "status eq \"ACTIVE\"",
    "(((",
    "${X}",
    "$${",
    "-----BEGIN PRIVATE KEY-----",
    "SSWS ",
    "50%",
    "profile.x",
    "é€😀",
    "",
    " ",
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop::sample::select(STRINGS).prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 48, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..8).prop_map(|entries| {
                let map: Map<String, Value> = entries
                    .into_iter()
                    .map(|(key, value)| (key.to_string(), value))
                    .collect();
                Value::Object(map)
            }),
        ]
    })
}

/// YAML-like text: indentation, keys, punctuation and quotes.
fn yamlish() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        "[ ]{0,8}[a-zA-Z$]{1,12}: ?[-\\[\\]{}'\",:&*!|>%@`#a-z0-9 ]{0,20}",
        "[ ]{0,8}- ?[-\\[\\]{}'\",:a-z0-9 ]{0,20}",
        ".{0,30}",
    ];
    prop::collection::vec(line, 0..12).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_provider_settings_never_panic(value in json_value()) {
        let _ = orgsync_config::parse_provider("fuzz", &value);
    }

    #[test]
    fn random_provider_under_catalog_never_panics(value in json_value()) {
        let text = format!("catalog:\n  providers:\n    okta:\n      default: {value}\n");
        let setup = common::Setup::new().config("app-config.yaml", &text);
        let _ = setup.load();
    }

    #[test]
    fn random_yaml_never_panics(text in yamlish()) {
        let setup = common::Setup::new().config("app-config.yaml", &text);
        let _ = setup.load();
    }
}
