//! Every mistake the loader detects, checked for its key path and its fix.

mod common;

use common::{error_at, private_key_jwk, private_key_pem, provider_with, public_key_pem, Setup};

const P: &str = "catalog.providers.okta.default";

fn path(key: &str) -> String {
    format!("{P}.{key}")
}

/// Returns a provider config with `oktaUrl` set to `url`.
fn with_url(url: &str) -> Setup {
    let text = format!(
        "catalog:\n  providers:\n    okta:\n      default:\n        oktaUrl: {url}\n        clientId: 0oa123abc\n        privateKey: ${{OKTA_PRIVATE_KEY}}\n"
    );
    Setup::new()
        .config("app-config.yaml", &text)
        .env("OKTA_PRIVATE_KEY", &private_key_pem())
}

#[test]
fn url_password_is_not_shown() {
    let errors = with_url("https://admin:hunter2secret@acme.okta.com").errors();
    let text = errors.to_string();
    assert!(text.contains("user name or password"), "{text}");
    assert!(!text.contains("hunter2secret"), "{text}");
}

#[test]
fn admin_url_gets_org_url() {
    let errors = with_url("https://acme-admin.okta.com").errors();
    let error = error_at(&errors, &path("oktaUrl"));
    assert_eq!(error.fix, "use the org URL \"https://acme.okta.com\"");
}

#[test]
fn admin_url_message_reads_whole() {
    let errors = with_url("https://acme-admin.okta.com").errors();
    let expected = "app-config.yaml: catalog.providers.okta.default.oktaUrl: \
        \"https://acme-admin.okta.com\" is the admin console URL; \
        use the org URL \"https://acme.okta.com\"";
    let text = errors.to_string();
    assert!(text.ends_with(expected), "{text}");
}

#[test]
fn http_url_is_rejected() {
    let errors = with_url("http://acme.okta.com").errors();
    let error = error_at(&errors, &path("oktaUrl"));
    assert!(
        error
            .fix
            .starts_with("use https: \"https://acme.okta.com\""),
        "{error}"
    );
}

#[test]
fn http_loopback_urls_are_accepted() {
    for url in [
        "http://127.0.0.1:8080",
        "http://127.1.2.3:9",
        "'http://[::1]:8080'",
        "http://localhost:3000",
    ] {
        let result = with_url(url).load();
        assert!(result.is_ok(), "{url}: {:?}", result.err());
    }
}

#[test]
fn authorization_server_path_is_rejected() {
    let errors = with_url("https://acme.okta.com/oauth2/default").errors();
    let error = error_at(&errors, &path("oktaUrl"));
    assert_eq!(
        error.fix,
        "orgsync needs the org URL without a path: \"https://acme.okta.com\""
    );
}

#[test]
fn missing_scheme_gets_https() {
    let errors = with_url("acme.okta.com").errors();
    let error = error_at(&errors, &path("oktaUrl"));
    assert_eq!(
        error.fix,
        "write the full org URL, \"https://acme.okta.com\""
    );
}

#[test]
fn public_key_is_rejected() {
    let errors = provider_with("")
        .env("OKTA_PRIVATE_KEY", &public_key_pem())
        .errors();
    let error = error_at(&errors, &path("privateKey"));
    assert!(error.problem.starts_with("is a public key"), "{error}");
    assert!(error.fix.contains("private key of the pair"), "{error}");
}

#[test]
fn invalid_key_text_is_not_shown() {
    let secret = "definitely-not-a-key-but-secret-text";
    let errors = provider_with("").env("OKTA_PRIVATE_KEY", secret).errors();
    let text = errors.to_string();
    assert!(!text.contains(secret), "{text}");
    let error = error_at(&errors, &path("privateKey"));
    assert_eq!(
        error.value.as_deref(),
        Some(format!("<private key, {} characters>", secret.len()).as_str())
    );
}

#[test]
fn public_key_text_is_not_shown() {
    let public = public_key_pem();
    let body = public.lines().nth(1).expect("PEM body line");
    let errors = provider_with("").env("OKTA_PRIVATE_KEY", &public).errors();
    assert!(!errors.to_string().contains(body));
}

#[test]
fn encrypted_key_gets_openssl_fix() {
    let encrypted = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----\n";
    let errors = provider_with("")
        .env("OKTA_PRIVATE_KEY", encrypted)
        .errors();
    let error = error_at(&errors, &path("privateKey"));
    assert!(error.fix.contains("openssl pkey"), "{error}");
}

#[test]
fn key_file_path_gets_file_fix() {
    let errors = provider_with("")
        .env("OKTA_PRIVATE_KEY", "./secrets/okta.pem")
        .errors();
    let error = error_at(&errors, &path("privateKey"));
    assert_eq!(
        error.fix,
        "write privateKey: { $file: ./secrets/okta.pem } to read the key from the file"
    );
}

#[test]
fn key_id_differing_from_jwk_kid_is_rejected() {
    let errors = provider_with("keyId: other-kid")
        .env("OKTA_PRIVATE_KEY", &private_key_jwk("jwk-kid"))
        .errors();
    let error = error_at(&errors, &path("keyId"));
    assert!(error.problem.contains("\"jwk-kid\""), "{error}");
}

#[test]
fn invalid_user_search_shows_caret() {
    let errors = provider_with("userSearchFilter: 'status equals \"ACTIVE\"'").errors();
    let error = error_at(&errors, &path("userSearchFilter"));
    assert!(
        error
            .problem
            .starts_with("is not a valid search expression"),
        "{error}"
    );
    assert!(
        error
            .fix
            .ends_with("    status equals \"ACTIVE\"\n           ^"),
        "{error}"
    );
}

#[test]
fn invalid_group_search_is_reported() {
    let errors =
        provider_with("groupFilter:\n  searchExpression: \"profile.name sw 'eng'\"").errors();
    let error = error_at(&errors, &path("groupFilter.searchExpression"));
    assert!(error.fix.contains("double quotes"), "{error}");
}

#[test]
fn both_group_filters_are_rejected() {
    let extra = "groupFilter:\n  groupNames: [a]\n  searchExpression: 'profile.name eq \"a\"'";
    let errors = provider_with(extra).errors();
    let error = error_at(&errors, &path("groupFilter"));
    assert!(error.fix.starts_with("keep one"), "{error}");
}

#[test]
fn empty_group_filter_is_rejected() {
    let errors = provider_with("groupFilter: {}").errors();
    let error = error_at(&errors, &path("groupFilter"));
    assert!(error.problem.contains("neither"), "{error}");
}

#[test]
fn schedule_keys_beside_schedule_are_moved() {
    let errors =
        provider_with("frequency: { minutes: 30 }\ntimeout: PT10M\ninitialDelay: PT1S").errors();
    for key in ["frequency", "timeout", "initialDelay"] {
        let error = error_at(&errors, &path(key));
        assert_eq!(error.fix, "move it under schedule:", "{key}");
    }
}

#[test]
fn trailing_comma_is_rejected() {
    let text = "catalog:\n  providers:\n    okta:\n      default:\n        oktaUrl: https://acme.okta.com\n        clientId: 0oa123abc,\n        privateKey: ${OKTA_PRIVATE_KEY}\n";
    let errors = Setup::new()
        .config("app-config.yaml", text)
        .env("OKTA_PRIVATE_KEY", &private_key_pem())
        .errors();
    let error = error_at(&errors, &path("clientId"));
    assert_eq!(error.fix, "remove the trailing comma");
}

#[test]
fn quoted_comma_list_gets_line_and_fix() {
    let extra = "groupFilter:\n  groupNames:\n    - \"platform-team\",\n    - \"data-eng\"";
    let errors = provider_with(extra).errors();
    let error = &errors.0[0];
    assert!(error.line.is_some(), "{error}");
    assert!(
        error
            .fix
            .starts_with("remove the comma after the quoted value"),
        "{error}"
    );
}

#[test]
fn quoted_items_on_one_line_get_fix() {
    let errors =
        provider_with("groupFilter:\n  groupNames: \"platform-team\", \"data-eng\"").errors();
    let error = &errors.0[0];
    assert!(
        error
            .fix
            .starts_with("remove the comma after the quoted value"),
        "{error}"
    );
}

#[test]
fn quoted_list_string_gets_list() {
    let errors =
        provider_with("groupFilter:\n  groupNames: '\"platform-team\", \"data-eng\"'").errors();
    let error = error_at(&errors, &path("groupFilter.groupNames"));
    assert_eq!(
        error.fix,
        "write it as a YAML list: [platform-team, data-eng]"
    );
}

#[test]
fn unknown_key_gets_suggestion() {
    let errors = provider_with("oktaURL: https://acme.okta.com").errors();
    let error = error_at(&errors, &path("oktaURL"));
    assert_eq!(error.fix, "did you mean `oktaUrl`?");
}

#[test]
fn unknown_key_without_match_lists_keys() {
    let errors = provider_with("kubernetes: true").errors();
    let error = error_at(&errors, &path("kubernetes"));
    assert!(
        error
            .fix
            .starts_with("remove it; the keys allowed here are id, oktaUrl"),
        "{error}"
    );
}

#[test]
fn number_for_duration_is_rejected() {
    let errors = provider_with("schedule:\n  timeout: 30").errors();
    let error = error_at(&errors, &path("schedule.timeout"));
    assert!(
        error
            .fix
            .starts_with("write { seconds: 30 } or { minutes: 30 }"),
        "{error}"
    );
}

#[test]
fn string_for_boolean_is_rejected() {
    let errors = provider_with("keepEmptyGroups: yes").errors();
    let error = error_at(&errors, &path("keepEmptyGroups"));
    assert_eq!(error.fix, "write true or false without quotes");
}

#[test]
fn unknown_naming_gets_suggestion() {
    let errors = provider_with("userNaming: emailLocalpart_").errors();
    let error = error_at(&errors, &path("userNaming"));
    assert_eq!(error.fix, "did you mean `emailLocalPart`?");
}

#[test]
fn roadie_naming_gets_equivalent() {
    let errors = provider_with("userNaming: strip-domain-email").errors();
    let error = error_at(&errors, &path("userNaming"));
    assert!(error.fix.starts_with("write emailLocalPart"), "{error}");
}

#[test]
fn missing_credentials_are_reported() {
    let text = "catalog:\n  providers:\n    okta:\n      default:\n        oktaUrl: https://acme.okta.com\n";
    let errors = Setup::new().config("app-config.yaml", text).errors();
    let error = error_at(&errors, P);
    assert_eq!(error.problem, "has no credentials");
}

#[test]
fn missing_private_key_is_reported() {
    let text = "catalog:\n  providers:\n    okta:\n      default:\n        oktaUrl: https://acme.okta.com\n        clientId: 0oa1\n";
    let errors = Setup::new().config("app-config.yaml", text).errors();
    let error = error_at(&errors, P);
    assert!(error.fix.starts_with("add privateKey"), "{error}");
}

#[test]
fn missing_okta_url_is_reported() {
    let text = "catalog:\n  providers:\n    okta:\n      default:\n        token: 00abc\n";
    let errors = Setup::new().config("app-config.yaml", text).errors();
    let error = error_at(&errors, P);
    assert!(error.fix.starts_with("add oktaUrl"), "{error}");
}

#[test]
fn missing_providers_are_reported() {
    let errors = Setup::new()
        .config("app-config.yaml", "backend: {}\n")
        .errors();
    let error = error_at(&errors, "catalog.providers.okta");
    assert!(error.problem.starts_with("is missing"), "{error}");
}

#[test]
fn token_and_client_id_conflict() {
    let errors = provider_with("token: 00abc").errors();
    let error = error_at(&errors, P);
    assert!(error.fix.starts_with("sign in one way"), "{error}");
}

#[test]
fn ssws_prefix_is_rejected() {
    let text = "catalog:\n  providers:\n    okta:\n      default:\n        oktaUrl: https://acme.okta.com\n        token: SSWS 00secretvalue\n";
    let errors = Setup::new().config("app-config.yaml", text).errors();
    let error = error_at(&errors, &path("token"));
    assert_eq!(error.fix, "remove the prefix; orgsync adds `SSWS` itself");
    assert!(!errors.to_string().contains("00secretvalue"));
}

#[test]
fn invalid_cron_is_rejected() {
    let errors = provider_with("schedule:\n  frequency: { cron: '61 * * * *' }").errors();
    let error = error_at(&errors, &path("schedule.frequency.cron"));
    assert!(
        error.problem.starts_with("is not a valid cron expression"),
        "{error}"
    );
}

#[test]
fn zero_duration_is_rejected() {
    let errors = provider_with("schedule:\n  frequency: { minutes: 0 }").errors();
    let error = error_at(&errors, &path("schedule.frequency"));
    assert!(error.problem.starts_with("is zero"), "{error}");
}

#[test]
fn negative_duration_is_rejected() {
    let errors = provider_with("requestTimeout: { seconds: -5 }").errors();
    let error = error_at(&errors, &path("requestTimeout"));
    assert!(error.problem.contains("negative"), "{error}");
}

#[test]
fn timeout_not_below_frequency_warns() {
    let loaded =
        provider_with("schedule:\n  frequency: PT30M\n  timeout: { minutes: 30 }").loaded();
    let warning = &loaded.warnings[0];
    assert_eq!(warning.key_path, path("schedule.timeout"));
}

#[test]
fn duplicate_provider_ids_are_rejected() {
    let text = "catalog:\n  providers:\n    okta:\n      - id: main\n        oktaUrl: https://a.okta.com\n        token: 00a\n      - id: main\n        oktaUrl: https://b.okta.com\n        token: 00b\n";
    let errors = Setup::new().config("app-config.yaml", text).errors();
    let error = error_at(&errors, "catalog.providers.okta[1].id");
    assert_eq!(error.problem, "is also the id of catalog.providers.okta[0]");
}

#[test]
fn invalid_provider_id_gets_suggestion() {
    let text = "catalog:\n  providers:\n    okta:\n      My Okta:\n        oktaUrl: https://a.okta.com\n        token: 00a\n";
    let errors = Setup::new().config("app-config.yaml", text).errors();
    let error = error_at(&errors, "catalog.providers.okta.My Okta");
    assert!(error.fix.ends_with("such as `my-okta`"), "{error}");
}

#[test]
fn list_entries_without_id_are_rejected() {
    let text = "catalog:\n  providers:\n    okta:\n      - oktaUrl: https://a.okta.com\n        token: 00a\n      - oktaUrl: https://b.okta.com\n        token: 00b\n";
    let errors = Setup::new().config("app-config.yaml", text).errors();
    let error = error_at(&errors, "catalog.providers.okta[1]");
    assert_eq!(error.problem, "has no id");
}

#[test]
fn settings_without_provider_id_are_rejected() {
    let text =
        "catalog:\n  providers:\n    okta:\n      oktaUrl: https://a.okta.com\n      token: 00a\n";
    let errors = Setup::new().config("app-config.yaml", text).errors();
    let error = error_at(&errors, "catalog.providers.okta");
    assert!(
        error.fix.starts_with("indent the settings under an id"),
        "{error}"
    );
}

#[test]
fn percentage_share_gets_fraction() {
    let errors = provider_with("rateLimitShare: 50").errors();
    let error = error_at(&errors, &path("rateLimitShare"));
    assert_eq!(error.fix, "write it as a fraction, not a percentage: 0.5");
}

#[test]
fn zero_share_is_rejected() {
    let errors = provider_with("rateLimitShare: 0").errors();
    let error = error_at(&errors, &path("rateLimitShare"));
    assert!(error.problem.starts_with("is not a share"), "{error}");
}

#[test]
fn profile_prefix_in_attribute_is_rejected() {
    let errors = provider_with("parentGroupAttribute: profile.parentGroup").errors();
    let error = error_at(&errors, &path("parentGroupAttribute"));
    assert_eq!(
        error.fix,
        "write parentGroup; attributes are always read from the profile"
    );
}

#[test]
fn group_type_string_gets_map_form() {
    let errors = provider_with("groupType: department").errors();
    let error = error_at(&errors, &path("groupType"));
    assert_eq!(error.fix, "write groupType: { value: department }");
}

#[test]
fn unset_variable_names_variable_and_key() {
    let text = "catalog:\n  providers:\n    okta:\n      default:\n        oktaUrl: https://${OKTA_DOMAIN}\n        token: 00abc\n";
    let errors = Setup::new().config("app-config.yaml", text).errors();
    let error = error_at(&errors, &path("oktaUrl"));
    assert!(error.problem.contains("OKTA_DOMAIN"), "{error}");
}

#[test]
fn unset_variable_reports_only_itself() {
    let text = "catalog:\n  providers:\n    okta:\n      default:\n        oktaUrl: https://acme.okta.com\n        token: ${OKTA_API_TOKEN}\n";
    let errors = Setup::new().config("app-config.yaml", text).errors();
    assert_eq!(errors.0.len(), 1, "{errors}");
}

#[test]
fn missing_file_is_named() {
    let text = "catalog:\n  providers:\n    okta:\n      default:\n        oktaUrl: https://acme.okta.com\n        clientId: 0oa1\n        privateKey: { $file: keys/missing.pem }\n";
    let setup = Setup::new().config("app-config.yaml", text);
    let errors = setup.errors();
    let error = error_at(&errors, &path("privateKey"));
    let expected = setup.path("keys/missing.pem").display().to_string();
    assert!(error.problem.contains(&expected), "{error}");
}

#[test]
fn unknown_directive_is_rejected() {
    let extra = "keyId: { $ENV: KEY_ID }";
    let errors = provider_with(extra).errors();
    let error = error_at(&errors, &path("keyId"));
    assert!(error.problem.contains("unknown substitution"), "{error}");
}

#[test]
fn yaml_syntax_error_has_line() {
    let text = "catalog:\n  providers:\n    okta: [\n";
    let errors = Setup::new().config("app-config.yaml", text).errors();
    assert!(errors.0[0].line.is_some(), "{errors}");
}

#[test]
fn tab_indentation_gets_fix() {
    let text = "catalog:\n\tproviders: {}\n";
    let errors = Setup::new().config("app-config.yaml", text).errors();
    assert!(errors.0[0].fix.contains("tabs"), "{errors}");
}

#[test]
fn missing_config_file_is_named() {
    let setup = Setup::new();
    let missing = setup.path("nope.yaml");
    let env = |_: &str| None;
    let errors = orgsync_config::load_with_env(std::slice::from_ref(&missing), &env).unwrap_err();
    assert_eq!(errors.0[0].file, missing.display().to_string());
}

#[test]
fn all_errors_are_collected() {
    let extra = "oktaURL: x\nrateLimitShare: 2\nschedule:\n  timeout: 30";
    let errors = provider_with(extra).errors();
    assert_eq!(errors.0.len(), 3, "{errors}");
}

#[test]
fn errors_print_one_per_line() {
    let errors = provider_with("oktaURL: x\nrateLimitShare: 2").errors();
    assert_eq!(errors.to_string().lines().count(), 2, "{errors}");
}

#[test]
fn database_password_is_not_shown() {
    let errors = provider_with("")
        .config("db.yaml", "backend:\n  database:\n    client: sqlite\n    connection: postgres://u:hunter2@db/x\n")
        .errors();
    assert!(!errors.to_string().contains("hunter2"), "{errors}");
}

#[test]
fn misspelled_top_level_key_is_caught() {
    let errors = provider_with("").config("b.yaml", "catalgo: {}\n").errors();
    let error = error_at(&errors, "catalgo");
    assert_eq!(error.fix, "did you mean `catalog`?");
}
