//! Turning stored users and groups into response bodies.
//!
//! Stored objects have no `_links`; they are added here from the server's
//! base URL. Users in lists carry only a `self` link, as in recorded list
//! responses; a single user carries the lifecycle links of its status.
//! Groups carry `logo`, `users` and `apps` links (and `source` for
//! `APP_GROUP`s).
//!
//! The request header `Content-Type: application/json;
//! okta-response=omitCredentials,omitCredentialsLinks,omitTransitioningToStatus`
//! removes parts of user bodies, as Okta documents for its `OktaResponse`
//! header parameter.

use axum::http::{header, HeaderMap};
use serde_json::{json, Map, Value};

use crate::org::{Group, Omittable, User};

/// Parts of user bodies the request asked Okta to leave out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserOptions {
    /// `omitCredentials`: no `credentials` object.
    pub omit_credentials: bool,
    /// `omitCredentialsLinks`: no password, recovery-question, forgot and
    /// reset password, reset-factors or unlock links.
    pub omit_credential_links: bool,
    /// `omitTransitioningToStatus`: no `transitioningToStatus` field.
    pub omit_transitioning: bool,
}

impl UserOptions {
    /// Reads the `okta-response` parameter of the request's `Content-Type`.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let mut options = Self::default();
        let Some(content_type) = headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
        else {
            return options;
        };
        for parameter in content_type.split(';').skip(1) {
            let Some((name, value)) = parameter.split_once('=') else {
                continue;
            };
            if !name.trim().eq_ignore_ascii_case("okta-response") {
                continue;
            }
            for flag in value.trim().trim_matches('"').split(',') {
                match flag.trim() {
                    "omitCredentials" => options.omit_credentials = true,
                    "omitCredentialsLinks" => options.omit_credential_links = true,
                    "omitTransitioningToStatus" => options.omit_transitioning = true,
                    _ => {}
                }
            }
        }
        options
    }
}

/// Links that `omitCredentialsLinks` removes.
const CREDENTIAL_LINKS: [&str; 6] = [
    "changePassword",
    "changeRecoveryQuestion",
    "forgotPassword",
    "resetPassword",
    "resetFactors",
    "unlock",
];

/// Appends a user as it appears in a list: the object and a `self` link.
///
/// The user's stored JSON text is copied rather than the object serialized
/// again, because list pages of up to 1,000 users spent most of their time
/// there. The result is the text `Value::to_string` gives for the object
/// with the omitted members removed and `_links` added last.
pub fn write_list_user(out: &mut Vec<u8>, user: &User, base_url: &str, options: UserOptions) {
    let omit = |member| match member {
        Omittable::Credentials => options.omit_credentials,
        Omittable::TransitioningToStatus => options.omit_transitioning,
    };
    if user.serialized().write_open(out, omit) {
        out.push(b',');
    }
    out.extend_from_slice(br#""_links":{"self":{"href":"#);
    let href = Value::String(user_href(base_url, user.id()));
    out.extend_from_slice(href.to_string().as_bytes());
    out.extend_from_slice(b"}}}");
}

/// Returns a user as `GET /api/v1/users/{id}` returns it, with lifecycle links.
pub fn single_user(user: &User, base_url: &str, options: UserOptions) -> Value {
    let mut object = user_body(user, options);
    let mut links = lifecycle_links(user, base_url);
    if options.omit_credential_links {
        for name in CREDENTIAL_LINKS {
            links.remove(name);
        }
    }
    object.insert("_links".to_owned(), Value::Object(links));
    Value::Object(object)
}

fn user_body(user: &User, options: UserOptions) -> Map<String, Value> {
    let mut object = match user.object() {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    if options.omit_credentials {
        object.remove("credentials");
    }
    if options.omit_transitioning {
        object.remove("transitioningToStatus");
    }
    object
}

fn user_href(base_url: &str, id: &str) -> String {
    format!("{base_url}/api/v1/users/{id}")
}

/// Returns the links of a single user, in the order Okta sends them.
///
/// NOTE: the recorded exchanges show only a `STAGED` user (schema, activate,
/// self, type). The sets for other statuses follow Okta's documented
/// lifecycle operations for each status.
fn lifecycle_links(user: &User, base_url: &str) -> Map<String, Value> {
    let own = user_href(base_url, user.id());
    let type_id = user.object()["type"]["id"].as_str().unwrap_or_default();
    let action = |path: &str| json!({ "href": format!("{own}/{path}"), "method": "POST" });
    let operations: &[(&str, &str)] = match user.status() {
        "STAGED" | "DEPROVISIONED" => &[("activate", "lifecycle/activate")],
        "PROVISIONED" => &[
            ("reactivate", "lifecycle/reactivate"),
            ("deactivate", "lifecycle/deactivate"),
        ],
        "SUSPENDED" => &[
            ("unsuspend", "lifecycle/unsuspend"),
            ("deactivate", "lifecycle/deactivate"),
        ],
        "LOCKED_OUT" => &[
            ("unlock", "lifecycle/unlock"),
            ("resetPassword", "lifecycle/reset_password"),
            ("deactivate", "lifecycle/deactivate"),
        ],
        _ => &[
            ("suspend", "lifecycle/suspend"),
            ("resetPassword", "lifecycle/reset_password"),
            ("expirePassword", "lifecycle/expire_password"),
            ("forgotPassword", "credentials/forgot_password"),
            (
                "changeRecoveryQuestion",
                "credentials/change_recovery_question",
            ),
            ("resetFactors", "lifecycle/reset_factors"),
            ("changePassword", "credentials/change_password"),
            ("deactivate", "lifecycle/deactivate"),
        ],
    };

    // Okta's user schema id shares the user type id's suffix (`oty…` and
    // `osc…`), as the recorded responses show.
    let schema_id = format!("osc{}", type_id.get(3..).unwrap_or_default());
    let mut links = Map::new();
    links.insert(
        "schema".to_owned(),
        json!({ "href": format!("{base_url}/api/v1/meta/schemas/user/{schema_id}") }),
    );
    for (name, path) in operations {
        links.insert((*name).to_owned(), action(path));
    }
    links.insert("self".to_owned(), json!({ "href": own }));
    links.insert(
        "type".to_owned(),
        json!({ "href": format!("{base_url}/api/v1/meta/types/user/{type_id}") }),
    );
    links
}

/// Statistics for `expand=stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupStats {
    /// Members of the group, of every status.
    pub users_count: usize,
}

/// Returns a group with its links, and `_embedded.stats` when `stats` is given.
pub fn group(group: &Group, base_url: &str, stats: Option<GroupStats>) -> Value {
    let mut object = match group.object() {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    if let Some(stats) = stats {
        // The OpenAPI spec (2026.06.3) spells the last field
        // `hasAdminPrivlege`; Okta's responses and knowledge base use
        // `hasAdminPrivilege`.
        let embedded = json!({
            "stats": {
                "usersCount": stats.users_count,
                "appsCount": 0,
                "groupPushMappingsCount": 0,
                "hasAdminPrivilege": false,
            }
        });
        object.insert("_embedded".to_owned(), embedded);
    }
    object.insert("_links".to_owned(), group_links(group, base_url));
    Value::Object(object)
}

fn group_links(group: &Group, base_url: &str) -> Value {
    let own = format!("{base_url}/api/v1/groups/{}", group.id());
    let logo_kind = if group.group_type() == "APP_GROUP" {
        "active_directory"
    } else {
        "okta"
    };
    let logo = |size: &str| {
        json!({
            "name": size,
            "href": format!("{base_url}/img/logos/groups/{logo_kind}-{size}.png"),
            "type": "image/png",
        })
    };
    let mut links = Map::new();
    links.insert("logo".to_owned(), json!([logo("medium"), logo("large")]));
    if let Some(app_id) = group.source_app_id() {
        let source = json!({ "href": format!("{base_url}/api/v1/apps/{app_id}") });
        links.insert("source".to_owned(), source);
    }
    links.insert(
        "users".to_owned(),
        json!({ "href": format!("{own}/users") }),
    );
    links.insert("apps".to_owned(), json!({ "href": format!("{own}/apps") }));
    Value::Object(links)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::{complete_user, Org};
    use axum::http::HeaderValue;
    use chrono::Utc;

    /// Returns an org with one user that has credentials and a
    /// `transitioningToStatus`, and that user's id.
    fn org_with_user() -> (Org, String) {
        let mut org = Org::new(3, Utc::now());
        let partial = json!({
            "profile": {"login": "ada@example.com"},
            "transitioningToStatus": "ACTIVE",
            "credentials": {"provider": {"type": "OKTA", "name": "OKTA"}},
        });
        let user = complete_user(&mut org, partial, Utc::now()).unwrap();
        let id = org.insert_user(user).unwrap().to_string();
        (org, id)
    }

    /// The list rendering built from the object, as the text must read.
    fn expected_list_user(user: &User, base_url: &str, options: UserOptions) -> String {
        let mut object = user_body(user, options);
        let links = json!({ "self": { "href": user_href(base_url, user.id()) } });
        object.insert("_links".to_owned(), links);
        Value::Object(object).to_string()
    }

    fn listed(options: UserOptions) -> (String, String) {
        let (org, id) = org_with_user();
        let user = org.user(&id).unwrap();
        let mut out = Vec::new();
        write_list_user(&mut out, user, "http://127.0.0.1:1", options);
        let expected = expected_list_user(user, "http://127.0.0.1:1", options);
        (String::from_utf8(out).unwrap(), expected)
    }

    #[test]
    fn list_user_text_matches_object() {
        let (text, expected) = listed(UserOptions::default());
        assert_eq!(text, expected);
    }

    #[test]
    fn list_user_omits_credentials() {
        let options = UserOptions {
            omit_credentials: true,
            ..UserOptions::default()
        };
        let (text, expected) = listed(options);
        assert_eq!(text, expected);
    }

    #[test]
    fn list_user_omits_both_members() {
        let options = UserOptions {
            omit_credentials: true,
            omit_credential_links: true,
            omit_transitioning: true,
        };
        let (text, expected) = listed(options);
        assert_eq!(text, expected);
    }

    fn headers(content_type: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).unwrap(),
        );
        headers
    }

    #[test]
    fn okta_response_flags_parsed() {
        let options = UserOptions::from_headers(&headers(
            "application/json; okta-response=omitCredentials,omitCredentialsLinks",
        ));
        assert!(options.omit_credentials);
        assert!(options.omit_credential_links);
        assert!(!options.omit_transitioning);
    }

    #[test]
    fn quoted_okta_response_parsed() {
        let options = UserOptions::from_headers(&headers(
            "application/json; okta-response=\"omitCredentials, omitTransitioningToStatus\"",
        ));
        assert!(options.omit_credentials);
        assert!(options.omit_transitioning);
    }

    #[test]
    fn plain_content_type_omits_nothing() {
        let options = UserOptions::from_headers(&headers("application/json"));
        assert_eq!(options, UserOptions::default());
    }
}
