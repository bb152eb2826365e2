//! Parser and evaluator for Okta search expressions, the language of the
//! `search` and `filter` query parameters of `/api/v1/users` and
//! `/api/v1/groups`.
//!
//! An expression is made of conditions such as `profile.department eq
//! "Engineering"` or `profile.manager pr`, joined with `and`, `or`, `not` and
//! parentheses. `and` binds tighter than `or`. Operators and keywords ignore
//! case, while attribute names are case-sensitive. Values are double-quoted
//! JSON strings, numbers, `true`, `false` or `null`.
//!
//! ```
//! use serde_json::json;
//!
//! let expression = okta_search::parse(r#"status eq "ACTIVE" and profile.name sw "eng""#)?;
//! let user = json!({"status": "ACTIVE", "profile": {"name": "Engineering"}});
//! assert!(expression.matches(&user));
//! assert_eq!(expression.attributes(), ["status", "profile.name"]);
//! # Ok::<(), okta_search::ParseError>(())
//! ```
//!
//! [`quote`] and [`any_equal`] build expressions from untrusted values
//! without the risk of a value breaking out of its string literal.

#![deny(missing_docs)]

mod error;
mod eval;
mod expression;
mod lexer;
mod parser;

pub use error::{ParseError, ParseErrorKind};
pub use eval::CaseSensitivity;
pub use expression::{Condition, Expression, Operator, Value};
pub use parser::parse;

/// Maximum depth of nested parentheses and `not`. Deeper expressions are
/// rejected so that hostile input cannot exhaust the stack of the recursive
/// parser and evaluator. Okta's API reference (Management API 2026.06.3)
/// warns that overly complex searches fail but gives no number.
pub const MAX_NESTING: usize = 64;

/// Quotes a value as an Okta string literal, with JSON escaping.
///
/// `"` and `\` are escaped, and so are control characters, which become
/// `\n`, `\t` and the like or `\u00XX`. Other characters stay as they are.
/// [`parse`] decodes the literal back to `value`.
pub fn quote(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for c in value.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            '\u{8}' => quoted.push_str("\\b"),
            '\u{c}' => quoted.push_str("\\f"),
            c if c.is_control() => quoted.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// Builds `attribute eq "a" or attribute eq "b" ...`, one `eq` per value.
///
/// `attribute` is written as given, so it must be a valid attribute path such
/// as `profile.name`. Each value is escaped with [`quote`]. An empty `values`
/// gives an empty string, which is not a valid expression, so callers with no
/// values should skip the search. Okta rejects searches that are too long or
/// complex (its `listUsers` documentation says so without a number), so
/// callers with many values should split them over several searches.
pub fn any_equal(attribute: &str, values: &[&str]) -> String {
    let conditions: Vec<String> = values
        .iter()
        .map(|value| format!("{attribute} eq {}", quote(value)))
        .collect();
    conditions.join(" or ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_escapes_quote_and_backslash() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
    }

    #[test]
    fn quote_escapes_control_characters() {
        assert_eq!(quote("a\nb\t\u{1}\u{7f}"), r#""a\nb\t\u0001\u007f""#);
    }

    #[test]
    fn quote_keeps_non_ascii() {
        assert_eq!(quote("Zoë 😀"), "\"Zoë 😀\"");
    }

    #[test]
    fn any_equal_joins_with_or() {
        let text = any_equal("profile.name", &["Eng", "Ops \"West\""]);
        assert_eq!(
            text,
            r#"profile.name eq "Eng" or profile.name eq "Ops \"West\"""#
        );
    }

    #[test]
    fn any_equal_output_parses() {
        let text = any_equal("profile.name", &["a", "b) or (id pr"]);
        let expression = parse(&text).unwrap();
        assert_eq!(expression.conditions().len(), 2);
    }

    #[test]
    fn any_equal_of_nothing_is_empty() {
        assert_eq!(any_equal("profile.name", &[]), "");
    }
}
