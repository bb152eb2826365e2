//! Keys of the Roadie Backstage Okta module
//! (`@roadiehq/catalog-backend-module-okta`), accepted with a warning that
//! names orgsync's key, so that an existing Backstage config keeps working.
//!
//! | Roadie key                      | orgsync key                      |
//! | ------------------------------- | -------------------------------- |
//! | `orgUrl`                        | `oktaUrl`                        |
//! | `oauth: { clientId, keyId, privateKey }` | the same keys on the provider |
//! | `userFilter`                    | `userSearchFilter`               |
//! | `groupFilter: '<expression>'`   | `groupFilter.searchExpression`   |
//!
//! `token` has the same name in both.

use crate::context::Context;
use crate::read::{Field, Fields, Strictness};

pub(crate) const LEGACY_KEYS: &[&str] = &["orgUrl", "oauth", "userFilter"];
const OAUTH_KEYS: &[&str] = &["clientId", "keyId", "privateKey"];

/// Reads a key that Roadie's module calls `legacy`: the current key if set,
/// else the legacy one with a warning. Both set is an error.
pub(crate) fn current_or_legacy<'a>(
    context: &mut Context,
    fields: &Fields<'a>,
    current: &str,
    legacy: &str,
) -> Option<Field<'a>> {
    match (fields.field(current), fields.field(legacy)) {
        (Some(field), Some(old)) => {
            both_set_error(context, &old, current);
            Some(field)
        }
        (Some(field), None) => Some(field),
        (None, Some(old)) => {
            context.warn(
                &old.path,
                None,
                format!("is the Roadie Okta module's name for `{current}`"),
                format!("rename it to {current}"),
            );
            Some(old)
        }
        (None, None) => None,
    }
}

/// Reads `clientId`, `keyId` or `privateKey` from the provider or, in
/// Roadie's form, from its `oauth:` map.
pub(crate) fn oauth_key<'a>(
    context: &mut Context,
    fields: &Fields<'a>,
    oauth: Option<&Fields<'a>>,
    key: &str,
) -> Option<Field<'a>> {
    let nested = oauth.and_then(|oauth| oauth.field(key));
    match (fields.field(key), nested) {
        (Some(field), Some(old)) => {
            both_set_error(context, &old, key);
            Some(field)
        }
        (Some(field), None) => Some(field),
        (None, nested) => nested,
    }
}

/// Checks Roadie's `oauth:` map and warns that its keys moved.
pub(crate) fn check_oauth(context: &mut Context, oauth: &Fields<'_>) {
    oauth.check_keys(context, OAUTH_KEYS, &[], Strictness::Strict);
    context.warn(
        oauth.path,
        None,
        "is the Roadie Okta module's form of the OAuth settings",
        "move clientId, keyId and privateKey up beside oktaUrl and remove oauth:",
    );
}

fn both_set_error(context: &mut Context, old: &Field<'_>, current: &str) {
    context.error(
        &old.path,
        None,
        format!("is the Roadie Okta module's name for `{current}`, which is also set"),
        format!("remove it and keep {current}"),
    );
}
