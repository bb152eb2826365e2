//! Evaluates expressions against JSON objects as Okta returns them.
//!
//! An attribute path such as `profile.department` walks nested objects. A
//! missing attribute satisfies no comparison. When the attribute is an array,
//! the comparison is true if any element satisfies it, as Okta's `listUsers`
//! reference documents for array-valued profile attributes.
//!
//! Types must agree: a string value matches string attributes, a number
//! matches numbers, `true`/`false` match booleans, and `eq null` matches a
//! missing or null attribute.

use std::borrow::Cow;
use std::cmp::Ordering;

use chrono::{DateTime, FixedOffset};
use serde_json::Value as Json;

use crate::expression::{Expression, Node, Operator, Value};

/// Top-level attributes whose values are ISO 8601 timestamps. `eq`, `gt`,
/// `ge`, `lt` and `le` compare them as points in time rather than as text.
const TIMESTAMP_ATTRIBUTES: [&str; 7] = [
    "created",
    "lastUpdated",
    "statusChanged",
    "activated",
    "lastMembershipUpdated",
    "passwordChanged",
    "lastLogin",
];

/// The case rule for string comparisons by `eq`, `sw`, `co` and the
/// ordering operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CaseSensitivity {
    /// Ignore case, as Okta does for the `search` parameter.
    #[default]
    Insensitive,
    /// Compare exactly, as Okta documents for the `filter` parameter of
    /// `/api/v1/users`.
    Sensitive,
}

impl Expression {
    /// Evaluates the expression against a JSON object as Okta returns it,
    /// such as a user with `status` and `profile.*`, ignoring the case of
    /// strings as the `search` parameter does.
    pub fn matches(&self, object: &Json) -> bool {
        self.matches_with(object, CaseSensitivity::Insensitive)
    }

    /// Evaluates the expression like [`matches`](Self::matches), with the
    /// given string case rule.
    pub fn matches_with(&self, object: &Json, case: CaseSensitivity) -> bool {
        evaluate(&self.node, object, case)
    }
}

/// Returns whether `attribute` names a timestamp attribute.
pub(crate) fn is_timestamp_attribute(attribute: &str) -> bool {
    TIMESTAMP_ATTRIBUTES.contains(&attribute)
}

/// Parses an ISO 8601 timestamp in the RFC 3339 profile that Okta writes,
/// such as `2013-06-01T00:00:00.000Z`.
pub(crate) fn parse_timestamp(text: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(text).ok()
}

fn evaluate(node: &Node, object: &Json, case: CaseSensitivity) -> bool {
    match node {
        Node::Compare {
            attribute,
            operator,
            value,
        } => {
            let actual = lookup(object, attribute);
            let comparison = Comparison {
                attribute,
                operator: *operator,
                expected: value,
                case,
            };
            comparison.matches_value(actual)
        }
        Node::Present { attribute } => lookup(object, attribute).is_some_and(is_present),
        Node::Not(inner) => !evaluate(inner, object, case),
        Node::And(operands) => operands.iter().all(|node| evaluate(node, object, case)),
        Node::Or(operands) => operands.iter().any(|node| evaluate(node, object, case)),
    }
}

/// Follows a dotted path through nested objects.
fn lookup<'a>(object: &'a Json, path: &str) -> Option<&'a Json> {
    path.split('.')
        .try_fold(object, |current, segment| current.get(segment))
}

/// Returns whether a value counts as present for `pr`. Null and empty
/// strings, arrays and objects count as absent, following the `pr` rule of
/// SCIM (RFC 7644, section 3.4.2.2), which Okta's filter syntax is based on.
fn is_present(value: &Json) -> bool {
    match value {
        Json::Null => false,
        Json::String(text) => !text.is_empty(),
        Json::Array(items) => !items.is_empty(),
        Json::Object(fields) => !fields.is_empty(),
        Json::Bool(_) | Json::Number(_) => true,
    }
}

/// One `attribute operator value` condition being evaluated.
struct Comparison<'a> {
    attribute: &'a str,
    operator: Operator,
    expected: &'a Value,
    case: CaseSensitivity,
}

impl Comparison<'_> {
    fn matches_value(&self, actual: Option<&Json>) -> bool {
        match (actual, self.expected) {
            (None | Some(Json::Null), Value::Null) => self.operator == Operator::Eq,
            (None, _) => false,
            (Some(Json::Array(items)), _) => items.iter().any(|item| self.matches_one(item)),
            (Some(actual), _) => self.matches_one(actual),
        }
    }

    fn matches_one(&self, actual: &Json) -> bool {
        if let (Json::String(actual), Value::String(expected)) = (actual, self.expected) {
            return self.matches_strings(actual, expected);
        }

        let ordering = match (actual, self.expected) {
            (Json::Number(actual), Value::Number(expected)) => compare_numbers(actual, expected),
            (Json::Bool(actual), Value::Bool(expected)) => Some(actual.cmp(expected)),
            _ => None,
        };
        ordering.is_some_and(|ordering| accepts(self.operator, ordering))
    }

    fn matches_strings(&self, actual: &str, expected: &str) -> bool {
        let actual_folded = fold_case(actual, self.case);
        let expected_folded = fold_case(expected, self.case);
        match self.operator {
            Operator::Sw => return actual_folded.starts_with(expected_folded.as_ref()),
            Operator::Co => return actual_folded.contains(expected_folded.as_ref()),
            _ => {}
        }

        let ordering = if is_timestamp_attribute(self.attribute) {
            compare_timestamps(actual, expected)
        } else {
            Some(actual_folded.cmp(&expected_folded))
        };
        ordering.is_some_and(|ordering| accepts(self.operator, ordering))
    }
}

/// Returns whether `operator` holds when the attribute compares to the value
/// as `ordering`.
fn accepts(operator: Operator, ordering: Ordering) -> bool {
    match operator {
        Operator::Eq => ordering == Ordering::Equal,
        Operator::Gt => ordering == Ordering::Greater,
        Operator::Ge => ordering != Ordering::Less,
        Operator::Lt => ordering == Ordering::Less,
        Operator::Le => ordering != Ordering::Greater,
        Operator::Sw | Operator::Co | Operator::Pr => false,
    }
}

fn fold_case(text: &str, case: CaseSensitivity) -> Cow<'_, str> {
    match case {
        CaseSensitivity::Insensitive => Cow::Owned(text.to_lowercase()),
        CaseSensitivity::Sensitive => Cow::Borrowed(text),
    }
}

/// Compares two timestamps as points in time. An attribute value that is not
/// a timestamp compares to nothing.
fn compare_timestamps(actual: &str, expected: &str) -> Option<Ordering> {
    let actual = parse_timestamp(actual)?;
    let expected = parse_timestamp(expected)?;
    Some(actual.cmp(&expected))
}

/// Compares numbers exactly when both are integers, and as 64-bit floats
/// otherwise.
fn compare_numbers(actual: &serde_json::Number, expected: &serde_json::Number) -> Option<Ordering> {
    if let (Some(actual), Some(expected)) = (actual.as_i64(), expected.as_i64()) {
        return Some(actual.cmp(&expected));
    }
    if let (Some(actual), Some(expected)) = (actual.as_u64(), expected.as_u64()) {
        return Some(actual.cmp(&expected));
    }
    actual.as_f64()?.partial_cmp(&expected.as_f64()?)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::parse;

    fn user() -> Json {
        json!({
            "id": "00u1ero7vZFVEIYLWPBN",
            "status": "ACTIVE",
            "created": "2013-06-01T00:00:00.000Z",
            "lastUpdated": "2014-01-01T12:30:00.000Z",
            "lastLogin": null,
            "type": {"id": "oty1"},
            "profile": {
                "login": "Isaac.Brock@example.com",
                "department": "Engineering",
                "nickName": "",
                "level": 7,
                "ratio": 0.5,
                "contractor": false,
                "tags": ["alpha", "beta"],
                "empty": [],
            },
        })
    }

    fn matches(text: &str) -> bool {
        match parse(text) {
            Ok(expression) => expression.matches(&user()),
            Err(error) => panic!("{text:?} failed to parse: {error}"),
        }
    }

    #[test]
    fn eq_matches_equal_string() {
        assert!(matches(r#"status eq "ACTIVE""#));
        assert!(!matches(r#"status eq "STAGED""#));
    }

    #[test]
    fn eq_ignores_string_case() {
        assert!(matches(r#"profile.login eq "isaac.brock@EXAMPLE.com""#));
    }

    #[test]
    fn eq_keeps_diacritics_significant() {
        assert!(!matches(r#"profile.department eq "Engineéring""#));
    }

    #[test]
    fn sensitive_case_rejects_other_case() {
        let expression = parse(r#"status eq "active""#).unwrap();
        assert!(!expression.matches_with(&user(), CaseSensitivity::Sensitive));
        assert!(expression.matches_with(&user(), CaseSensitivity::Insensitive));
    }

    #[test]
    fn sw_matches_prefix() {
        assert!(matches(r#"profile.department sw "eng""#));
        assert!(!matches(r#"profile.department sw "ring""#));
    }

    #[test]
    fn co_matches_substring() {
        assert!(matches(r#"profile.login co "BROCK@""#));
        assert!(!matches(r#"profile.login co "brock@other""#));
    }

    #[test]
    fn pr_needs_non_empty_value() {
        assert!(matches("profile.department pr"));
        assert!(!matches("profile.nickName pr"));
        assert!(!matches("profile.empty pr"));
        assert!(!matches("lastLogin pr"));
        assert!(!matches("profile.missing pr"));
        assert!(matches("profile.contractor pr"));
    }

    #[test]
    fn ordering_compares_strings_ignoring_case() {
        assert!(!matches(r#"status gt "active" or status lt "active""#));
        assert!(matches(r#"status lt "staged""#));
        assert!(matches(r#"status ge "ACTIVE""#));
        assert!(matches(r#"status le "active""#));
    }

    #[test]
    fn ordering_compares_numbers() {
        assert!(matches("profile.level gt 6"));
        assert!(!matches("profile.level gt 7"));
        assert!(matches("profile.level ge 7"));
        assert!(matches("profile.level lt 7.5"));
        assert!(matches("profile.level le 7"));
        assert!(matches("profile.ratio lt 1"));
    }

    #[test]
    fn eq_compares_number_kinds() {
        assert!(matches("profile.level eq 7.0"));
        assert!(matches("profile.ratio eq 5e-1"));
    }

    #[test]
    fn eq_matches_boolean() {
        assert!(matches("profile.contractor eq FALSE"));
        assert!(!matches("profile.contractor eq true"));
    }

    #[test]
    fn eq_null_matches_missing_or_null() {
        assert!(matches("lastLogin eq null"));
        assert!(matches("profile.missing eq null"));
        assert!(!matches("status eq null"));
    }

    #[test]
    fn types_must_agree() {
        assert!(!matches(r#"profile.level eq "7""#));
        assert!(!matches("status eq 7"));
    }

    #[test]
    fn missing_attribute_matches_nothing() {
        assert!(!matches(r#"profile.missing eq "x""#));
        assert!(!matches(r#"profile.missing lt "x""#));
    }

    #[test]
    fn array_matches_any_element() {
        assert!(matches(r#"profile.tags eq "BETA""#));
        assert!(!matches(r#"profile.tags eq "gamma""#));
        assert!(matches(r#"profile.tags sw "al""#));
    }

    #[test]
    fn nested_path_reaches_object() {
        assert!(matches(r#"type.id eq "oty1""#));
    }

    #[test]
    fn path_through_string_matches_nothing() {
        assert!(!matches(r#"status.id eq "ACTIVE""#));
    }

    #[test]
    fn attribute_names_are_case_sensitive() {
        assert!(!matches(r#"Status eq "ACTIVE""#));
    }

    #[test]
    fn timestamps_compare_as_instants() {
        // Same instant written with an offset and without fractional seconds.
        assert!(matches(r#"created eq "2013-06-01T02:00:00+02:00""#));
        assert!(matches(r#"created gt "2013-05-31T23:59:59.999Z""#));
        assert!(!matches(r#"created gt "2013-06-01T00:00:00Z""#));
        assert!(matches(r#"created ge "2013-06-01T00:00:00Z""#));
        assert!(matches(r#"lastUpdated lt "2014-01-01T13:00:00.000+00:00""#));
        assert!(matches(r#"lastUpdated le "2014-01-01T12:30:00Z""#));
    }

    #[test]
    fn timestamps_differ_from_text_order() {
        // As text "2013-06-01T01" sorts after "2013-06-01T00", but the offset
        // puts this instant an hour before `created`.
        assert!(matches(r#"created gt "2013-06-01T01:00:00+02:00""#));
    }

    #[test]
    fn null_timestamp_fails_ordering() {
        assert!(!matches(r#"lastLogin gt "2000-01-01T00:00:00Z""#));
    }

    #[test]
    fn and_needs_every_operand() {
        assert!(matches(r#"status eq "ACTIVE" and profile.level eq 7"#));
        assert!(!matches(r#"status eq "ACTIVE" and profile.level eq 8"#));
    }

    #[test]
    fn or_needs_any_operand() {
        assert!(matches(r#"status eq "STAGED" or profile.level eq 7"#));
        assert!(!matches(r#"status eq "STAGED" or profile.level eq 8"#));
    }

    #[test]
    fn not_inverts() {
        assert!(matches(r#"not status eq "STAGED""#));
        assert!(!matches(r#"not (status eq "ACTIVE")"#));
    }

    #[test]
    fn precedence_decides_result() {
        // true or (true and false) holds, while (true or true) and false does not.
        assert!(matches(r#"status pr or status eq "X" and id eq "other""#));
        assert!(!matches(
            r#"(status pr or status eq "X") and id eq "other""#
        ));
    }

    #[test]
    fn non_object_matches_nothing() {
        let expression = parse(r#"status eq "ACTIVE""#).unwrap();
        assert!(!expression.matches(&json!(["ACTIVE"])));
    }
}
