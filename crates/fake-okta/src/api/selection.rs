//! Which users or groups a list request selects: all, a `q` prefix query, a
//! `search` expression or a `filter` expression.
//!
//! Okta's rules, from the OpenAPI spec (2026.06.3) of the list endpoints:
//! - `search` and `filter` together are rejected with `400 E0000033`, and an
//!   expression that does not parse with `400 E0000031`.
//! - Users: plain lists and `q` leave out `DEPROVISIONED` users; `search`
//!   and `filter` include them. `q` is a case-insensitive prefix match on
//!   `firstName`, `lastName` and `email`. `filter` reads only `status`,
//!   `lastUpdated`, `id`, `profile.login`, `profile.email`,
//!   `profile.firstName` and `profile.lastName`, supports only `eq` (and
//!   `gt`, `ge`, `lt`, `le` on `lastUpdated`), has no `not`, and compares
//!   values case-sensitively. `co` in `search` works only on `firstName`,
//!   `lastName`, `email` and `login`.
//! - Groups: `q` is a case-insensitive prefix match on `profile.name`.
//!   `filter` reads only `id`, `type`, `lastUpdated` and
//!   `lastMembershipUpdated`. `co` in `search` works only on `profile.name`
//!   and `profile.description`. `search` can read an `APP_GROUP`'s
//!   `source.id`.

use axum::response::Response;
use okta_search::{CaseSensitivity, Expression, Operator};
use serde_json::json;

use super::paging::QueryParams;
use super::responses;
use crate::org::{Group, User};

const USER_FILTER_ATTRIBUTES: [&str; 7] = [
    "status",
    "lastUpdated",
    "id",
    "profile.login",
    "profile.email",
    "profile.firstName",
    "profile.lastName",
];

const USER_CONTAINS_ATTRIBUTES: [&str; 4] = [
    "profile.firstName",
    "profile.lastName",
    "profile.email",
    "profile.login",
];

const GROUP_FILTER_ATTRIBUTES: [&str; 4] = ["id", "type", "lastUpdated", "lastMembershipUpdated"];

const GROUP_CONTAINS_ATTRIBUTES: [&str; 2] = ["profile.name", "profile.description"];

/// The selection of one list request.
#[derive(Debug, Clone)]
pub enum Selection {
    /// No `q`, `search` or `filter`.
    All,
    /// `q`, lower-cased.
    Query(String),
    /// `search`.
    Search(Expression),
    /// `filter`.
    Filter(Expression),
}

impl Selection {
    /// Returns whether the request used `q`, which Okta does not page.
    pub fn is_query(&self) -> bool {
        matches!(self, Selection::Query(_))
    }

    /// Reads the selection of a `/api/v1/users` request.
    pub fn for_users(params: &QueryParams) -> Result<Self, Response> {
        let selection = Self::parse(params)?;
        if let Selection::Filter(expression) = &selection {
            check_filter(expression, &USER_FILTER_ATTRIBUTES, true)?;
        }
        if let Selection::Search(expression) = &selection {
            check_contains(expression, &USER_CONTAINS_ATTRIBUTES)?;
        }
        Ok(selection)
    }

    /// Reads the selection of a `/api/v1/groups` request.
    pub fn for_groups(params: &QueryParams) -> Result<Self, Response> {
        let selection = Self::parse(params)?;
        if let Selection::Filter(expression) = &selection {
            check_filter(expression, &GROUP_FILTER_ATTRIBUTES, false)?;
        }
        if let Selection::Search(expression) = &selection {
            check_contains(expression, &GROUP_CONTAINS_ATTRIBUTES)?;
        }
        Ok(selection)
    }

    fn parse(params: &QueryParams) -> Result<Self, Response> {
        match (params.get("search"), params.get("filter")) {
            (Some(_), Some(_)) => Err(responses::search_and_filter()),
            (Some(text), None) => Ok(Selection::Search(parse_expression(text)?)),
            (None, Some(text)) => Ok(Selection::Filter(parse_expression(text)?)),
            (None, None) => Ok(match params.get("q") {
                Some(query) => Selection::Query(query.to_lowercase()),
                None => Selection::All,
            }),
        }
    }

    /// Returns whether a user is selected.
    pub fn matches_user(&self, user: &User) -> bool {
        match self {
            Selection::All => user.status() != "DEPROVISIONED",
            Selection::Query(prefix) => {
                user.status() != "DEPROVISIONED"
                    && ["firstName", "lastName", "email"].iter().any(|name| {
                        user.profile_str(name)
                            .is_some_and(|value| starts_with_folded(value, prefix))
                    })
            }
            Selection::Search(expression) => expression.matches(user.object()),
            Selection::Filter(expression) => {
                expression.matches_with(user.object(), CaseSensitivity::Sensitive)
            }
        }
    }

    /// Returns whether a group is selected.
    pub fn matches_group(&self, group: &Group) -> bool {
        match self {
            Selection::All => true,
            Selection::Query(prefix) => starts_with_folded(group.name(), prefix),
            Selection::Search(expression) | Selection::Filter(expression) => {
                match group.source_app_id() {
                    Some(app_id) => {
                        let mut object = group.object().clone();
                        object["source"] = json!({ "id": app_id });
                        expression.matches(&object)
                    }
                    None => expression.matches(group.object()),
                }
            }
        }
    }
}

fn starts_with_folded(value: &str, folded_prefix: &str) -> bool {
    value.to_lowercase().starts_with(folded_prefix)
}

fn parse_expression(text: &str) -> Result<Expression, Response> {
    okta_search::parse(text).map_err(|error| {
        tracing::debug!(expression = text, %error, "rejected search expression");
        responses::invalid_search(&error.to_string())
    })
}

/// Checks a `filter` against the attributes and operators Okta allows.
fn check_filter(
    expression: &Expression,
    attributes: &[&str],
    only_equality: bool,
) -> Result<(), Response> {
    if only_equality && expression.uses_not() {
        return Err(responses::invalid_search(
            "filter does not support `not`; use search instead",
        ));
    }
    for condition in expression.conditions() {
        if !attributes.contains(&condition.attribute) {
            return Err(responses::invalid_search(&format!(
                "filter does not support the attribute `{}`; filter on {} or use search instead",
                condition.attribute,
                attributes.join(", ")
            )));
        }
        let ordering_allowed = condition.attribute == "lastUpdated" || !only_equality;
        let allowed = condition.operator == Operator::Eq
            || (ordering_allowed && condition.operator.is_ordering());
        if !allowed {
            return Err(responses::invalid_search(&format!(
                "filter does not support `{}` on `{}`; use eq, or use search instead",
                condition.operator, condition.attribute
            )));
        }
    }
    Ok(())
}

/// Checks that `co` is used only on the attributes Okta allows it on.
fn check_contains(expression: &Expression, attributes: &[&str]) -> Result<(), Response> {
    for condition in expression.conditions() {
        if condition.operator == Operator::Co && !attributes.contains(&condition.attribute) {
            return Err(responses::invalid_search(&format!(
                "`co` is not supported on `{}`; it works on {} only, so use sw or eq",
                condition.attribute,
                attributes.join(", ")
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(query: &str) -> QueryParams {
        QueryParams::parse(Some(query))
    }

    fn status(response: Response) -> u16 {
        response.status().as_u16()
    }

    #[test]
    fn search_with_filter_rejected() {
        let result = Selection::for_users(&params("search=id+pr&filter=id+eq+%22x%22"));
        assert_eq!(result.map_err(status).err(), Some(400));
    }

    #[test]
    fn filter_on_department_rejected() {
        let result = Selection::for_users(&params("filter=profile.department+eq+%22Sales%22"));
        assert!(result.is_err());
    }

    #[test]
    fn filter_last_updated_range_allowed() {
        let text = "filter=lastUpdated+gt+%222020-01-01T00:00:00.000Z%22";
        assert!(Selection::for_users(&params(text)).is_ok());
    }

    #[test]
    fn filter_status_ordering_rejected() {
        let result = Selection::for_users(&params("filter=status+gt+%22A%22"));
        assert!(result.is_err());
    }

    #[test]
    fn filter_not_rejected() {
        let result = Selection::for_users(&params("filter=not(status+eq+%22ACTIVE%22)"));
        assert!(result.is_err());
    }

    #[test]
    fn contains_on_department_rejected() {
        let result = Selection::for_users(&params("search=profile.department+co+%22a%22"));
        assert!(result.is_err());
    }

    #[test]
    fn query_lowercased() {
        let selection = Selection::for_groups(&params("q=PLAT")).ok();
        assert!(matches!(selection, Some(Selection::Query(prefix)) if prefix == "plat"));
    }
}
