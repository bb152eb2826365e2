//! Config errors as a report: each error of a config that did not load
//! fails the check it concerns (a bad `oktaUrl` fails `url.format`, a public
//! key in `privateKey` fails `key.parse`), with the config loader's own
//! message and fix. Doctor contacts Okta only with a valid config, so every
//! other check is skipped.

use orgsync_config::ConfigError;

use crate::report::{CheckId, Checklist, Report};

/// The key path of the Okta providers in a config file.
const PROVIDERS_PATH: &str = "catalog.providers.okta";

/// Returns the provider an error belongs to: its id (map form), `[n]` for
/// the n-th entry of the list form, or `None` for errors outside providers.
pub fn provider_of(error: &ConfigError) -> Option<String> {
    let rest = error.key_path.strip_prefix(PROVIDERS_PATH)?;
    if let Some(entry) = rest.strip_prefix('[') {
        let end = entry.find(']')?;
        return Some(format!("[{}]", &entry[..end]));
    }
    let id = rest.strip_prefix('.')?;
    let end = id.find(['.', '[']).unwrap_or(id.len());
    Some(id[..end].to_owned())
}

/// Builds the report of provider `provider` from the config errors that
/// concern it. Key paths may be full (`catalog.providers.okta.default.oktaUrl`,
/// as `orgsync_config::load` reports them) or relative to the provider
/// (`oktaUrl`, as `orgsync_config::parse_provider` reports them).
pub fn report_config_errors(provider: &str, errors: &[&ConfigError]) -> Report {
    let mut by_check: Vec<(CheckId, Vec<&ConfigError>)> = Vec::new();
    for error in errors {
        let check = check_of(&relative_path(provider, &error.key_path), &error.problem);
        match by_check.iter_mut().find(|(id, _)| *id == check) {
            Some((_, list)) => list.push(error),
            None => by_check.push((check, vec![error])),
        }
    }

    let planned = planned_checks(&by_check);
    let mut checks = Checklist::new(&planned);
    let own = by_check.iter().find(|(id, _)| *id == CheckId::Config);
    let config_detail = match own {
        Some((_, list)) => describe(list),
        None => format!(
            "{} error(s) in the provider's settings, each shown at the check it concerns",
            errors.len()
        ),
    };
    let config_fix = own.map_or_else(
        || "fix the errors below, then run doctor again".to_owned(),
        |(_, list)| fixes(list),
    );
    checks.fail(CheckId::Config, config_detail, config_fix);
    for (check, list) in by_check.iter().filter(|(id, _)| *id != CheckId::Config) {
        checks.fail(*check, describe(list), fixes(list));
    }
    for id in planned {
        if !checks.has(id) {
            checks.skip(
                id,
                "not run: doctor contacts Okta only once the config is valid",
            );
        }
    }
    Report::new(provider.to_owned(), None, checks.finish(None), None)
}

/// Returns the checks of the report: those of a private-key provider, and
/// `app.api-token` before `app.role` when an error concerns `token`.
fn planned_checks(by_check: &[(CheckId, Vec<&ConfigError>)]) -> Vec<CheckId> {
    let mut planned = CheckId::PRIVATE_KEY.to_vec();
    if by_check.iter().any(|(id, _)| *id == CheckId::ApiToken) {
        let role = planned
            .iter()
            .position(|id| *id == CheckId::AppRole)
            .unwrap_or(planned.len());
        planned.insert(role, CheckId::ApiToken);
    }
    planned
}

/// Returns the key path below the provider's own path.
fn relative_path(provider: &str, key_path: &str) -> String {
    let full = format!("{PROVIDERS_PATH}.{provider}");
    let list = format!("{PROVIDERS_PATH}{provider}");
    let rest = key_path
        .strip_prefix(&full)
        .or_else(|| key_path.strip_prefix(&list))
        .unwrap_or(key_path);
    rest.strip_prefix('.').unwrap_or(rest).to_owned()
}

/// Returns the check an error at `path` (relative to the provider) concerns.
fn check_of(path: &str, problem: &str) -> CheckId {
    let path = path.strip_prefix("oauth.").unwrap_or(path);
    let first = path.split(['.', '[']).next().unwrap_or_default();
    match first {
        "oktaUrl" | "orgUrl" => CheckId::UrlFormat,
        "privateKey" => CheckId::KeyParse,
        "keyId" => CheckId::KeyId,
        "clientId" => CheckId::AppClient,
        "token" => CheckId::ApiToken,
        "scopes" => CheckId::AppScopes,
        "userSearchFilter" | "userFilter" => CheckId::UserFilter,
        "groupFilter" => CheckId::GroupFilter,
        "" => provider_level_check(problem),
        _ => CheckId::Config,
    }
}

/// Sorts errors about the provider as a whole, such as a missing key, by
/// the setting their problem names.
fn provider_level_check(problem: &str) -> CheckId {
    if problem.contains("no privateKey") {
        CheckId::KeyParse
    } else if problem.contains("no clientId") {
        CheckId::AppClient
    } else if problem.contains("no oktaUrl") {
        CheckId::UrlFormat
    } else {
        CheckId::Config
    }
}

/// Describes errors as the config loader does, without the fix:
/// `file: key.path: value problem`.
fn describe(errors: &[&ConfigError]) -> String {
    let lines: Vec<String> = errors
        .iter()
        .map(|error| {
            let mut text = error.file.clone();
            if let Some(line) = error.line {
                text.push_str(&format!(":{line}"));
            }
            if !error.key_path.is_empty() {
                text.push_str(&format!(": {}", error.key_path));
            }
            text.push_str(": ");
            if let Some(value) = &error.value {
                text.push_str(value);
                text.push(' ');
            }
            text.push_str(&error.problem);
            text
        })
        .collect();
    lines.join("\n")
}

fn fixes(errors: &[&ConfigError]) -> String {
    let fixes: Vec<&str> = errors.iter().map(|error| error.fix.as_str()).collect();
    fixes.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Status;

    fn error(key_path: &str, problem: &str) -> ConfigError {
        ConfigError {
            file: "app-config.yaml".into(),
            line: None,
            key_path: key_path.into(),
            value: Some("\"x\"".into()),
            problem: problem.into(),
            fix: "do this".into(),
        }
    }

    #[test]
    fn map_form_provider_is_found() {
        let found = provider_of(&error("catalog.providers.okta.prod.oktaUrl", "bad"));
        assert_eq!(found.as_deref(), Some("prod"));
    }

    #[test]
    fn list_form_provider_is_indexed() {
        let found = provider_of(&error("catalog.providers.okta[1].clientId", "bad"));
        assert_eq!(found.as_deref(), Some("[1]"));
    }

    #[test]
    fn error_outside_providers_has_none() {
        assert_eq!(provider_of(&error("backend.database.client", "bad")), None);
    }

    #[test]
    fn url_error_fails_url_format() {
        let url = error(
            "catalog.providers.okta.prod.oktaUrl",
            "is the admin console URL",
        );
        let report = report_config_errors("prod", &[&url]);
        let check = report.check(CheckId::UrlFormat).expect("url.format");
        assert_eq!(check.status, Status::Fail);
        assert!(
            check.detail.contains("is the admin console URL"),
            "{}",
            check.detail
        );
        assert_eq!(check.fix.as_deref(), Some("do this"));
    }

    #[test]
    fn relative_paths_are_sorted_too() {
        let key = error("privateKey", "is a public key, not a private key");
        let report = report_config_errors("default", &[&key]);
        assert_eq!(
            report.check(CheckId::KeyParse).map(|c| c.status),
            Some(Status::Fail)
        );
    }

    #[test]
    fn missing_private_key_fails_key_parse() {
        let missing = error(
            "catalog.providers.okta.prod",
            "sets clientId but no privateKey",
        );
        let report = report_config_errors("prod", &[&missing]);
        assert_eq!(
            report.check(CheckId::KeyParse).map(|c| c.status),
            Some(Status::Fail)
        );
    }

    #[test]
    fn token_error_fails_api_token_check() {
        let token = error("catalog.providers.okta.prod.token", "starts with `SSWS`");
        let report = report_config_errors("prod", &[&token]);
        assert_eq!(
            report.check(CheckId::ApiToken).map(|c| c.status),
            Some(Status::Fail)
        );
    }

    #[test]
    fn unrelated_checks_are_skipped() {
        let url = error("catalog.providers.okta.prod.oktaUrl", "bad");
        let report = report_config_errors("prod", &[&url]);
        assert_eq!(
            report.check(CheckId::AppRole).map(|c| c.status),
            Some(Status::Skip)
        );
        assert_eq!(
            report.check(CheckId::Config).map(|c| c.status),
            Some(Status::Fail)
        );
    }
}
