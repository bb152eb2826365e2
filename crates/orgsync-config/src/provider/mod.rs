//! One Okta provider: the settings under `catalog.providers.okta.<id>`.
//!
//! A *provider* is one Okta org connection and the rules for turning its
//! users and groups into entities. Every key is checked here; see
//! `docs/configuration.md` for what each one means.

mod credentials;
mod entities;
mod filters;
mod legacy;

use std::time::Duration;

use orgsync_model::{SelectionOptions, TransformOptions};
use serde_json::{Map, Value};
use url::Url;

use crate::context::{show, Context, KeyPath};
use crate::duration::{read_duration, Bounds};
use crate::okta_url::{parse_okta_url, redact_password};
use crate::read::{Field, Fields, Strictness};
use crate::schedule::{read_schedule, Schedule};

pub use filters::GroupFilter;

pub(crate) use entities::{ANNOTATIONS_KEYS, GROUP_TYPE_KEYS};
pub(crate) use filters::GROUP_FILTER_KEYS;
pub(crate) use legacy::LEGACY_KEYS;

/// The settings of one Okta provider, validated.
///
/// `Debug` is safe to log: the credentials' `Debug` never prints the key or token.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// The provider id, unique among providers (`default`).
    pub id: String,
    /// The config file the provider's settings came from.
    pub source: String,
    /// The Okta org URL (`https://acme.okta.com/`).
    pub okta_url: Url,
    pub credentials: orgsync_okta::Credentials,
    /// OAuth scopes requested with the client credentials.
    pub scopes: Vec<String>,
    pub schedule: Schedule,
    /// Okta search expression for `/api/v1/users`.
    pub user_search_filter: Option<String>,
    /// The groups to read, or all groups when `None`.
    pub group_filter: Option<GroupFilter>,
    pub selection: SelectionOptions,
    pub entities: TransformOptions,
    /// The largest share of any Okta rate-limit bucket the client may use, in (0, 1].
    pub rate_limit_share: f64,
    /// How often a failed request is retried.
    pub max_retries: u32,
    /// How long one HTTP request may take.
    pub request_timeout: Duration,
    /// How many requests may be in flight at once.
    pub concurrency: usize,
    pub removal_guard: RemovalGuard,
}

/// Protection against a sync that would delete most of the catalog, as
/// happens when a filter or an Okta permission changes by mistake.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RemovalGuard {
    /// The largest share of a provider's entities one sync may remove, in [0, 1].
    pub max_share: f64,
    /// Whether a sync that reads no users and no groups may remove everything.
    pub allow_empty: bool,
}

impl Default for RemovalGuard {
    fn default() -> RemovalGuard {
        RemovalGuard {
            max_share: 0.2,
            allow_empty: false,
        }
    }
}

pub(crate) const DEFAULT_SCOPES: &[&str] = &["okta.users.read", "okta.groups.read"];
pub(crate) const DEFAULT_RATE_LIMIT_SHARE: f64 = 0.5;
pub(crate) const DEFAULT_MAX_RETRIES: u32 = 6;
pub(crate) const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
pub(crate) const DEFAULT_CONCURRENCY: usize = 8;
/// More retries than this would keep a sync failing for hours with backoff.
const MAX_RETRIES_LIMIT: u64 = 100;
/// Okta's published default limit of concurrent requests per org.
const OKTA_CONCURRENCY_LIMIT: u64 = 75;

pub(crate) const PROVIDER_KEYS: &[&str] = &[
    "id",
    "oktaUrl",
    "clientId",
    "privateKey",
    "keyId",
    "token",
    "scopes",
    "schedule",
    "userSearchFilter",
    "groupFilter",
    "includeBuiltInGroups",
    "includeDeprovisionedUsers",
    "onlyGroupMembers",
    "keepEmptyGroups",
    "userNaming",
    "groupNaming",
    "groupType",
    "parentGroupAttribute",
    "pictureAttribute",
    "annotations",
    "rateLimitShare",
    "maxRetries",
    "requestTimeout",
    "concurrency",
    "removalGuard",
];
pub(crate) const REMOVAL_GUARD_KEYS: &[&str] = &["maxShare", "allowEmpty"];

/// Keys of nested sections that people put directly on the provider.
const MISPLACED: &[(&str, &str)] = &[
    ("frequency", "schedule"),
    ("timeout", "schedule"),
    ("initialDelay", "schedule"),
    ("groupNames", "groupFilter"),
    ("searchExpression", "groupFilter"),
    ("maxShare", "removalGuard"),
    ("allowEmpty", "removalGuard"),
    ("attributes", "annotations"),
    ("prefix", "annotations"),
];

/// Reads the provider with id `id` at `path`. Returns `None` when anything
/// required is missing or invalid; the reasons are in `context`.
pub(crate) fn read_provider(
    context: &mut Context,
    path: &KeyPath,
    id: &str,
    map: &Map<String, Value>,
) -> Option<ProviderConfig> {
    let fields = Fields::new(path, map);
    let known: Vec<&str> = PROVIDER_KEYS.iter().chain(LEGACY_KEYS).copied().collect();
    fields.check_keys(context, &known, MISPLACED, Strictness::Strict);

    let okta_url = read_url(context, &fields);
    let credentials = read_sign_in(context, &fields);
    let scopes = read_scopes(context, &fields, credentials.as_ref());
    let schedule = match fields.map(
        context,
        "schedule",
        "write schedule: { frequency: { minutes: 30 }, timeout: { minutes: 10 } }",
    ) {
        Some(map) => read_schedule(context, &path.key("schedule"), map),
        None => Schedule::default(),
    };
    let user_search_filter =
        legacy::current_or_legacy(context, &fields, "userSearchFilter", "userFilter")
            .and_then(|field| filters::read_search(context, &field));
    let group_filter = fields
        .field("groupFilter")
        .and_then(|field| filters::read_group_filter(context, &field));
    let selection = entities::read_selection(context, &fields);
    let transform = entities::read_transform(context, &fields, id);
    let tuning = read_tuning(context, &fields);

    Some(ProviderConfig {
        id: id.to_string(),
        source: context.origins.file_of(path).to_string(),
        okta_url: okta_url?,
        credentials: credentials?,
        scopes,
        schedule,
        user_search_filter,
        group_filter,
        selection,
        entities: transform,
        rate_limit_share: tuning.rate_limit_share,
        max_retries: tuning.max_retries,
        request_timeout: tuning.request_timeout,
        concurrency: tuning.concurrency,
        removal_guard: tuning.removal_guard,
    })
}

fn read_url(context: &mut Context, fields: &Fields<'_>) -> Option<Url> {
    let Some(field) = legacy::current_or_legacy(context, fields, "oktaUrl", "orgUrl") else {
        if fields.is_missing(context, "oktaUrl") && fields.is_missing(context, "orgUrl") {
            context.error(
                fields.path,
                None,
                "has no oktaUrl",
                "add oktaUrl: the org URL, such as https://acme.okta.com",
            );
        }
        return None;
    };
    let text = field.string(context)?;
    match parse_okta_url(&text) {
        Ok(url) => Some(url),
        Err(issues) => {
            let shown = show(&Value::String(redact_password(&text)));
            for (problem, fix) in issues {
                context.error(&field.path, Some(shown.clone()), problem, fix);
            }
            None
        }
    }
}

fn read_sign_in(context: &mut Context, fields: &Fields<'_>) -> Option<orgsync_okta::Credentials> {
    let oauth_map = fields.map(
        context,
        "oauth",
        "move clientId, keyId and privateKey up beside oktaUrl",
    );
    let oauth_path = fields.path.key("oauth");
    let oauth = oauth_map.map(|map| Fields::new(&oauth_path, map));
    if let Some(oauth) = &oauth {
        legacy::check_oauth(context, oauth);
    }

    let failed = ["clientId", "privateKey", "keyId", "token"]
        .iter()
        .any(|key| {
            context.has_failed(&fields.path.key(key)) || context.has_failed(&oauth_path.key(key))
        });
    let sign_in = credentials::CredentialFields {
        client_id: legacy::oauth_key(context, fields, oauth.as_ref(), "clientId"),
        private_key: legacy::oauth_key(context, fields, oauth.as_ref(), "privateKey"),
        key_id: legacy::oauth_key(context, fields, oauth.as_ref(), "keyId"),
        token: fields.field("token"),
        failed,
    };
    credentials::read_credentials(context, fields.path, sign_in)
}

fn read_scopes(
    context: &mut Context,
    fields: &Fields<'_>,
    credentials: Option<&orgsync_okta::Credentials>,
) -> Vec<String> {
    let defaults = || {
        DEFAULT_SCOPES
            .iter()
            .map(|scope| scope.to_string())
            .collect()
    };
    let Some(field) = fields.field("scopes") else {
        return defaults();
    };
    if let Some(orgsync_okta::Credentials::ApiToken(_)) = credentials {
        context.warn(
            &field.path,
            None,
            "has no effect with an API token",
            "remove scopes; an API token has the permissions of the admin who created it",
        );
    }
    let Some(scopes) = read_scope_list(context, &field) else {
        return defaults();
    };
    for needed in DEFAULT_SCOPES {
        if !scopes.iter().any(|scope| scope == needed) {
            context.warn(
                &field.path,
                Some(show(field.value)),
                format!("does not include {needed}, which orgsync needs to read the org"),
                format!("add {needed} and grant it on the app's Okta API Scopes tab"),
            );
        }
    }
    scopes
}

/// Reads `scopes`; a space-separated string, as in an OAuth request, gets
/// the list written out in the fix.
fn read_scope_list(context: &mut Context, field: &Field<'_>) -> Option<Vec<String>> {
    if let Value::String(text) = field.value {
        let items: Vec<&str> = text
            .split([' ', ','])
            .filter(|item| !item.is_empty())
            .collect();
        context.error(
            &field.path,
            Some(show(field.value)),
            "is a string, but a list is expected",
            format!("write it as a YAML list: [{}]", items.join(", ")),
        );
        return None;
    }
    let scopes = field.string_list(context)?;
    let mut valid = true;
    for (index, scope) in scopes.iter().enumerate() {
        if scope.is_empty() || scope.contains(char::is_whitespace) {
            context.error(
                &field.path.index(index),
                Some(show(&Value::String(scope.clone()))),
                "is not a single scope",
                "write one scope per list item, such as okta.users.read",
            );
            valid = false;
        }
    }
    valid.then_some(scopes)
}

/// The client settings, with defaults for what is not set.
struct Tuning {
    rate_limit_share: f64,
    max_retries: u32,
    request_timeout: Duration,
    concurrency: usize,
    removal_guard: RemovalGuard,
}

fn read_tuning(context: &mut Context, fields: &Fields<'_>) -> Tuning {
    let rate_limit_share = fields
        .field("rateLimitShare")
        .and_then(|field| read_share(context, &field, false))
        .unwrap_or(DEFAULT_RATE_LIMIT_SHARE);
    let max_retries = fields
        .integer(context, "maxRetries", 0, MAX_RETRIES_LIMIT)
        .map_or(DEFAULT_MAX_RETRIES, |retries| retries as u32);
    let request_timeout = fields
        .field("requestTimeout")
        .and_then(|field| read_duration(context, &field.path, field.value, Bounds::Positive))
        .unwrap_or(DEFAULT_REQUEST_TIMEOUT);
    let concurrency = fields
        .field("concurrency")
        .and_then(|field| read_concurrency(context, &field))
        .unwrap_or(DEFAULT_CONCURRENCY);
    let removal_guard = fields
        .map(
            context,
            "removalGuard",
            "write removalGuard: { maxShare: 0.2, allowEmpty: false }",
        )
        .map(|map| read_removal_guard(context, &fields.path.key("removalGuard"), map))
        .unwrap_or_default();

    Tuning {
        rate_limit_share,
        max_retries,
        request_timeout,
        concurrency,
        removal_guard,
    }
}

/// Reads a share: in (0, 1], or [0, 1] when `allow_zero`. A percentage
/// (`50` or `"50%"`) gets the matching fraction in the fix.
fn read_share(context: &mut Context, field: &Field<'_>, allow_zero: bool) -> Option<f64> {
    let range = if allow_zero {
        "from 0 to 1"
    } else {
        "greater than 0 and at most 1"
    };
    let percent = match field.value {
        Value::String(text) => text
            .trim()
            .strip_suffix('%')
            .and_then(|n| n.trim().parse::<f64>().ok()),
        _ => None,
    };
    let share = match percent {
        Some(percent) => Err(format!("write it as a fraction: {}", percent / 100.0)),
        None => match crate::read::as_number(field.value) {
            Some(share) if share > 1.0 && share <= 100.0 => Err(format!(
                "write it as a fraction, not a percentage: {}",
                share / 100.0
            )),
            Some(share) if share <= 1.0 && (share > 0.0 || (allow_zero && share == 0.0)) => {
                Ok(share)
            }
            _ => Err(format!("write a number {range}, such as 0.5")),
        },
    };
    match share {
        Ok(share) => Some(share),
        Err(fix) => {
            context.error(
                &field.path,
                Some(show(field.value)),
                format!("is not a share {range}"),
                fix,
            );
            None
        }
    }
}

fn read_concurrency(context: &mut Context, field: &Field<'_>) -> Option<usize> {
    let concurrency = field.integer(context, 1, 10_000)?;
    if concurrency > OKTA_CONCURRENCY_LIMIT {
        context.warn(
            &field.path,
            Some(show(field.value)),
            format!("is above Okta's default limit of {OKTA_CONCURRENCY_LIMIT} concurrent requests per org"),
            "lower it unless your org has a higher limit; requests over the limit fail with 429",
        );
    }
    Some(concurrency as usize)
}

fn read_removal_guard(
    context: &mut Context,
    path: &KeyPath,
    map: &Map<String, Value>,
) -> RemovalGuard {
    let fields = Fields::new(path, map);
    fields.check_keys(context, REMOVAL_GUARD_KEYS, &[], Strictness::Strict);
    let defaults = RemovalGuard::default();

    RemovalGuard {
        max_share: fields
            .field("maxShare")
            .and_then(|field| read_share(context, &field, true))
            .unwrap_or(defaults.max_share),
        allow_empty: fields
            .bool(context, "allowEmpty")
            .unwrap_or(defaults.allow_empty),
    }
}
