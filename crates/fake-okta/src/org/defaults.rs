//! Completing partial user and group objects with Okta's defaults.
//!
//! Fixtures, the control API and recorded exchanges may give only some fields
//! of a user or group. These functions fill in the rest the way Okta would
//! for a newly created object, put the fields in Okta's order, and drop
//! `_links` and `_embedded`, which are rendered per response.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use super::{object_of, Org, OrgError};

/// The user statuses Okta returns.
pub const USER_STATUSES: [&str; 8] = [
    "ACTIVE",
    "DEPROVISIONED",
    "LOCKED_OUT",
    "PASSWORD_EXPIRED",
    "PROVISIONED",
    "RECOVERY",
    "STAGED",
    "SUSPENDED",
];

/// The group types Okta returns.
pub const GROUP_TYPES: [&str; 3] = ["APP_GROUP", "BUILT_IN", "OKTA_GROUP"];

/// Top-level user fields in the order Okta sends them.
const USER_FIELDS: [&str; 11] = [
    "id",
    "status",
    "created",
    "activated",
    "statusChanged",
    "lastLogin",
    "lastUpdated",
    "passwordChanged",
    "type",
    "profile",
    "credentials",
];

/// Top-level group fields in the order Okta sends them.
const GROUP_FIELDS: [&str; 7] = [
    "id",
    "created",
    "lastUpdated",
    "lastMembershipUpdated",
    "objectClass",
    "type",
    "profile",
];

/// Formats a timestamp as Okta does: UTC with milliseconds, `…T18:19:47.000Z`.
pub fn format_timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Completes a partial user object. Only `profile.login` (or
/// `profile.email`, which then becomes the login) is required; a missing id
/// is generated. Timestamps default to `now`, as for a user created then.
pub fn complete_user(org: &mut Org, partial: Value, now: DateTime<Utc>) -> Result<Value, OrgError> {
    let Value::Object(mut given) = partial else {
        return Err(invalid_user("the user must be a JSON object"));
    };
    let profile = complete_user_profile(given.remove("profile"))?;
    let status = given.remove("status").unwrap_or_else(|| json!("ACTIVE"));
    check_enum(&status, "status", &USER_STATUSES, "user")?;
    let id = match given.remove("id") {
        Some(Value::String(id)) if !id.is_empty() => id,
        Some(_) => return Err(invalid_user("`id` must be a non-empty string")),
        None => org.new_id("00u"),
    };

    let stamp = json!(format_timestamp(now));
    let staged = status == "STAGED";
    let activation = if staged { Value::Null } else { stamp.clone() };
    let credentials = default_credentials(&profile);
    let defaults = [
        ("id", json!(id)),
        ("status", status),
        ("created", stamp.clone()),
        ("activated", activation.clone()),
        ("statusChanged", activation),
        ("lastLogin", Value::Null),
        ("lastUpdated", stamp.clone()),
        ("passwordChanged", stamp),
        ("type", json!({ "id": org.user_type_id() })),
        ("profile", profile),
        ("credentials", credentials),
    ];
    Ok(merge_in_order(defaults.into(), &USER_FIELDS, given))
}

/// Completes a partial group object. Only `profile.name` is required; a
/// missing id is generated, `type` defaults to `OKTA_GROUP`.
pub fn complete_group(
    org: &mut Org,
    partial: Value,
    now: DateTime<Utc>,
) -> Result<Value, OrgError> {
    let Value::Object(mut given) = partial else {
        return Err(invalid_group("the group must be a JSON object"));
    };
    let profile = complete_group_profile(given.remove("profile"))?;
    let group_type = given.remove("type").unwrap_or_else(|| json!("OKTA_GROUP"));
    check_enum(&group_type, "type", &GROUP_TYPES, "group")?;
    let id = match given.remove("id") {
        Some(Value::String(id)) if !id.is_empty() => id,
        Some(_) => return Err(invalid_group("`id` must be a non-empty string")),
        None => org.new_id("00g"),
    };

    if let Some(source) = source_of(&given) {
        given.insert("source".to_owned(), source);
    }
    let object_class = if group_type == "APP_GROUP" {
        json!(["okta:windows_security_principal"])
    } else {
        json!(["okta:user_group"])
    };
    let stamp = json!(format_timestamp(now));
    let defaults = [
        ("id", json!(id)),
        ("created", stamp.clone()),
        ("lastUpdated", stamp.clone()),
        ("lastMembershipUpdated", stamp),
        ("objectClass", object_class),
        ("type", group_type),
        ("profile", profile),
    ];
    Ok(merge_in_order(defaults.into(), &GROUP_FIELDS, given))
}

/// Returns the Everyone group of a new org.
pub(super) fn everyone_group(id: String, now: DateTime<Utc>) -> Value {
    let stamp = json!(format_timestamp(now));
    object_of(vec![
        ("id", json!(id)),
        ("created", stamp.clone()),
        ("lastUpdated", stamp.clone()),
        ("lastMembershipUpdated", stamp),
        ("objectClass", json!(["okta:user_group"])),
        ("type", json!("BUILT_IN")),
        (
            "profile",
            json!({ "name": "Everyone", "description": "All users in your organization" }),
        ),
    ])
}

/// Returns whether a group object is an Everyone group (`BUILT_IN`, named Everyone).
pub(crate) fn is_everyone(object: &Value) -> bool {
    object["type"] == "BUILT_IN" && object["profile"]["name"] == "Everyone"
}

fn complete_user_profile(profile: Option<Value>) -> Result<Value, OrgError> {
    let mut given = match profile {
        Some(Value::Object(map)) => map,
        Some(_) => return Err(invalid_user("`profile` must be a JSON object")),
        None => return Err(invalid_user("`profile.login` is missing; set it")),
    };
    let login = match (given.remove("login"), given.get("email")) {
        (Some(Value::String(login)), _) if !login.is_empty() => login,
        (None, Some(Value::String(email))) if !email.is_empty() => email.clone(),
        _ => {
            return Err(invalid_user(
                "`profile.login` must be a non-empty string; set it",
            ))
        }
    };

    // Okta sends these base attributes even when they are null.
    let mut profile = Map::new();
    for key in ["firstName", "lastName", "mobilePhone", "secondEmail"] {
        profile.insert(key.to_owned(), given.remove(key).unwrap_or(Value::Null));
    }
    profile.insert("login".to_owned(), json!(login));
    let email = given.remove("email").unwrap_or_else(|| json!(login));
    profile.insert("email".to_owned(), email);
    profile.extend(given);
    Ok(Value::Object(profile))
}

fn complete_group_profile(profile: Option<Value>) -> Result<Value, OrgError> {
    let mut given = match profile {
        Some(Value::Object(map)) => map,
        Some(_) => return Err(invalid_group("`profile` must be a JSON object")),
        None => return Err(invalid_group("`profile.name` is missing; set it")),
    };
    let name = match given.remove("name") {
        Some(Value::String(name)) if !name.is_empty() => name,
        _ => {
            return Err(invalid_group(
                "`profile.name` must be a non-empty string; set it",
            ))
        }
    };
    let mut profile = Map::new();
    profile.insert("name".to_owned(), json!(name));
    let description = given.remove("description").unwrap_or(Value::Null);
    profile.insert("description".to_owned(), description);
    profile.extend(given);
    Ok(Value::Object(profile))
}

/// Returns the app an `APP_GROUP` comes from, as `{"id": …}`: taken from a `source`
/// field or from the app id at the end of `_links.source.href`.
fn source_of(given: &Map<String, Value>) -> Option<Value> {
    if let Some(source) = given.get("source") {
        return Some(source.clone());
    }
    let href = given.get("_links")?.get("source")?.get("href")?.as_str()?;
    let app_id = href.trim_end_matches('/').rsplit('/').next()?;
    Some(json!({ "id": app_id }))
}

fn default_credentials(profile: &Value) -> Value {
    let mut emails = Vec::new();
    if let Some(email) = profile["email"].as_str() {
        emails.push(json!({ "value": email, "status": "VERIFIED", "type": "PRIMARY" }));
    }
    json!({
        "password": {},
        "emails": emails,
        "provider": { "type": "OKTA", "name": "OKTA" },
    })
}

/// Puts `defaults` overridden by `given` in `order`, then the remaining
/// given fields. `_links` and `_embedded` are dropped.
fn merge_in_order(
    defaults: Vec<(&str, Value)>,
    order: &[&str],
    mut given: Map<String, Value>,
) -> Value {
    given.remove("_links");
    given.remove("_embedded");
    let mut defaults: Map<String, Value> = defaults
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect();
    let mut object = Map::new();
    for key in order {
        let value = given
            .remove(*key)
            .or_else(|| defaults.remove(*key))
            .unwrap_or(Value::Null);
        object.insert((*key).to_owned(), value);
    }
    object.extend(given);
    Value::Object(object)
}

fn check_enum(
    value: &Value,
    field: &str,
    allowed: &[&str],
    kind: &'static str,
) -> Result<(), OrgError> {
    match value.as_str() {
        Some(text) if allowed.contains(&text) => Ok(()),
        _ => Err(OrgError::Invalid {
            kind,
            reason: format!(
                "`{field}` is {value}, expected one of {}",
                allowed.join(", ")
            ),
        }),
    }
}

fn invalid_user(reason: &str) -> OrgError {
    OrgError::Invalid {
        kind: "user",
        reason: reason.to_owned(),
    }
}

fn invalid_group(reason: &str) -> OrgError {
    OrgError::Invalid {
        kind: "group",
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
            .map(|time| time.with_timezone(&Utc))
            .unwrap()
    }

    #[test]
    fn user_gets_okta_field_order() {
        let mut org = Org::new(1, now());
        let user = complete_user(
            &mut org,
            json!({"profile": {"login": "a@x.example"}}),
            now(),
        );
        let user = user.unwrap();
        let keys: Vec<&str> = user
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, USER_FIELDS);
    }

    #[test]
    fn email_becomes_login() {
        let mut org = Org::new(1, now());
        let user = complete_user(
            &mut org,
            json!({"profile": {"email": "a@x.example"}}),
            now(),
        );
        assert_eq!(user.unwrap()["profile"]["login"], "a@x.example");
    }

    #[test]
    fn staged_user_not_activated() {
        let mut org = Org::new(1, now());
        let partial = json!({"status": "STAGED", "profile": {"login": "a@x.example"}});
        let user = complete_user(&mut org, partial, now()).unwrap();
        assert_eq!(user["activated"], Value::Null);
    }

    #[test]
    fn unknown_status_rejected() {
        let mut org = Org::new(1, now());
        let partial = json!({"status": "HAPPY", "profile": {"login": "a@x.example"}});
        let error = complete_user(&mut org, partial, now()).unwrap_err();
        assert!(error.to_string().contains("HAPPY"));
    }

    #[test]
    fn given_fields_win() {
        let mut org = Org::new(1, now());
        let partial = json!({
            "id": "00uexample0000000001",
            "created": "2020-01-01T00:00:00.000Z",
            "profile": {"login": "a@x.example", "department": "R&D"},
            "_links": {"self": {"href": "https://elsewhere.example"}},
        });
        let user = complete_user(&mut org, partial, now()).unwrap();
        assert_eq!(user["id"], "00uexample0000000001");
        assert_eq!(user["created"], "2020-01-01T00:00:00.000Z");
        assert_eq!(user["profile"]["department"], "R&D");
        assert_eq!(user.get("_links"), None);
    }

    #[test]
    fn group_needs_name() {
        let mut org = Org::new(1, now());
        let error = complete_group(&mut org, json!({"profile": {}}), now()).unwrap_err();
        assert!(error.to_string().contains("profile.name"));
    }

    #[test]
    fn app_group_gets_ad_object_class() {
        let mut org = Org::new(1, now());
        let partial = json!({"type": "APP_GROUP", "profile": {"name": "AD"}});
        let group = complete_group(&mut org, partial, now()).unwrap();
        assert_eq!(
            group["objectClass"],
            json!(["okta:windows_security_principal"])
        );
    }

    #[test]
    fn source_taken_from_links() {
        let mut org = Org::new(1, now());
        let partial = json!({
            "type": "APP_GROUP",
            "profile": {"name": "AD"},
            "_links": {"source": {"href": "https://x.example/api/v1/apps/0oa1"}},
        });
        let group = complete_group(&mut org, partial, now()).unwrap();
        assert_eq!(group["source"], json!({"id": "0oa1"}));
    }

    #[test]
    fn timestamps_use_milliseconds() {
        assert_eq!(format_timestamp(now()), "2024-05-01T12:00:00.000Z");
    }
}
