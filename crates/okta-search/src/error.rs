//! Parse errors for search expressions.
//!
//! A [`ParseError`] points at a character of the expression text and states
//! both the problem there and how to fix it, because its message is shown to
//! people who typed a filter into a config file or a query string.

use thiserror::Error;

/// A search expression that could not be parsed.
///
/// Displays as `at character N: <what is wrong>; <how to fix it>`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("at character {position}: {message}; {}", .kind.hint())]
pub struct ParseError {
    /// The 1-based position of the character where the problem starts, counted
    /// in Unicode scalar values (not bytes). An error at the end of the text
    /// points one past the last character.
    pub position: usize,
    /// The problem, as a sentence fragment without the position. The Display
    /// output adds [`hint`](Self::hint) after it.
    pub message: String,
    /// The kind of problem, with the values at fault.
    pub kind: ParseErrorKind,
}

impl ParseError {
    /// Builds an error at the 0-based character `index`, taking the message
    /// and hint from `kind`.
    pub(crate) fn at(index: usize, kind: ParseErrorKind) -> Self {
        Self {
            position: index + 1,
            message: kind.to_string(),
            kind,
        }
    }

    /// Returns how to fix the problem, such as "use double quotes:
    /// \"ACTIVE\"".
    pub fn hint(&self) -> String {
        self.kind.hint()
    }
}

/// The kinds of problem [`parse`](crate::parse) reports. Each variant's
/// Display is the `message` of the [`ParseError`] that carries it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The text is empty or only whitespace.
    #[error("the expression is empty")]
    Empty,

    /// A character that starts no token.
    #[error("unexpected character `{found}`")]
    UnexpectedCharacter {
        /// The character at fault.
        found: char,
    },

    /// A string delimited by single quotes.
    #[error("single quotes do not delimit strings in Okta search expressions, found {found}")]
    SingleQuotes {
        /// The single-quoted text as written, quotes included.
        found: String,
        /// The same text as a double-quoted string literal.
        suggestion: String,
    },

    /// A string literal without its closing double quote.
    #[error("the string that starts here has no closing `\"`")]
    UnterminatedString,

    /// A backslash escape that JSON does not define.
    #[error("`{escape}` is not a valid escape in a string")]
    InvalidEscape {
        /// The escape as written, backslash included.
        escape: String,
    },

    /// A number that is not a valid JSON number or does not fit in a 64-bit
    /// float.
    #[error("`{text}` is not a valid number")]
    InvalidNumber {
        /// The number as written.
        text: String,
    },

    /// An attribute path with an empty or malformed segment.
    #[error("`{path}` is not a valid attribute path")]
    InvalidAttribute {
        /// The path as written.
        path: String,
    },

    /// A token where a condition (an attribute, `not` or `(`) must start.
    #[error("expected a condition (an attribute, `not` or `(`), found {found}")]
    ExpectedCondition {
        /// A description of the token found.
        found: String,
    },

    /// A token after an attribute that is not one of the operators.
    #[error(
        "expected an operator (eq, sw, co, pr, gt, ge, lt, le) after `{attribute}`, found {found}"
    )]
    ExpectedOperator {
        /// The attribute path before the operator.
        attribute: String,
        /// A description of the token found.
        found: String,
    },

    /// A token after an operator that is not a value.
    #[error("expected a value after `{attribute} {operator}`, found {found}")]
    ExpectedValue {
        /// The attribute path of the condition.
        attribute: String,
        /// The operator, as written.
        operator: String,
        /// A description of the token found.
        found: String,
    },

    /// A value whose type the operator cannot compare.
    #[error("`{operator}` cannot compare {value}")]
    ValueType {
        /// The operator, as written.
        operator: String,
        /// A description of the value.
        value: String,
    },

    /// A value for a timestamp attribute that is not an ISO 8601 timestamp.
    #[error("`{attribute}` is a timestamp, but {value} is not an ISO 8601 timestamp")]
    InvalidTimestamp {
        /// The timestamp attribute.
        attribute: String,
        /// A description of the value.
        value: String,
    },

    /// `and`, `or` or `not` with no condition after it.
    #[error("`{keyword}` must be followed by a condition, found {found}")]
    MissingOperand {
        /// The keyword, as written.
        keyword: String,
        /// A description of the token found.
        found: String,
    },

    /// A complete condition followed by something other than `and`, `or`,
    /// or the `)` or end that closes it.
    #[error("expected {}, found {found}", logical_expected(*.inside_parentheses))]
    ExpectedLogical {
        /// A description of the token found.
        found: String,
        /// Whether the condition is inside parentheses, so `)` may follow.
        inside_parentheses: bool,
    },

    /// An opening parenthesis that is never closed.
    #[error("this `(` is never closed")]
    UnclosedParenthesis,

    /// A closing parenthesis without an opening one.
    #[error("this `)` has no matching `(`")]
    UnmatchedParenthesis,

    /// Parentheses and `not` nested deeper than [`MAX_NESTING`](crate::MAX_NESTING).
    #[error("parentheses and `not` are nested more than {max} levels deep")]
    TooDeep {
        /// The maximum nesting depth.
        max: usize,
    },
}

impl ParseErrorKind {
    /// Returns how to fix this kind of problem.
    fn hint(&self) -> String {
        match self {
            Self::Empty => "write a condition such as `status eq \"ACTIVE\"`".into(),
            Self::UnexpectedCharacter { found } => unexpected_character_hint(*found),
            Self::SingleQuotes { suggestion, .. } => format!("use double quotes: {suggestion}"),
            Self::UnterminatedString => {
                "add the closing `\"`, and write any `\"` inside the string as `\\\"`".into()
            }
            Self::InvalidEscape { .. } => concat!(
                "the valid escapes are \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX ",
                "(with a low surrogate after a high one); write a backslash as \\\\"
            )
            .into(),
            Self::InvalidNumber { .. } => {
                "write a JSON number such as 42, -1.5 or 2e10, or quote the value as a string"
                    .into()
            }
            Self::InvalidAttribute { .. } => concat!(
                "write dot-separated names that start with a letter or `_`, ",
                "such as `profile.department`"
            )
            .into(),
            Self::ExpectedCondition { .. } => {
                "start each condition with an unquoted attribute, such as `profile.name eq \"x\"`"
                    .into()
            }
            Self::ExpectedOperator { found, .. } => operator_hint(found),
            Self::ExpectedValue { .. } => concat!(
                "give a double-quoted string, a number, true, false or null, ",
                "such as `status eq \"ACTIVE\"`"
            )
            .into(),
            Self::ValueType { .. } => concat!(
                "`sw` and `co` take a double-quoted string, and `gt`, `ge`, `lt` and `le` ",
                "take a string or a number"
            )
            .into(),
            Self::InvalidTimestamp { .. } => {
                "write a double-quoted timestamp such as \"2013-06-01T00:00:00.000Z\"".into()
            }
            Self::MissingOperand { keyword, .. } => {
                format!("add a condition after `{keyword}` or remove it")
            }
            Self::ExpectedLogical { .. } => {
                "join conditions with `and` or `or`, and quote string values".into()
            }
            Self::UnclosedParenthesis => "add a `)` after the last condition it groups".into(),
            Self::UnmatchedParenthesis => "remove the `)` or add a `(` before it".into(),
            Self::TooDeep { .. } => "remove redundant parentheses or split the search".into(),
        }
    }
}

/// Lists what may follow a complete condition.
fn logical_expected(inside_parentheses: bool) -> &'static str {
    if inside_parentheses {
        "`and`, `or` or `)`"
    } else {
        "`and`, `or` or the end of the expression"
    }
}

/// Suggests a fix for a character that starts no token.
fn unexpected_character_hint(found: char) -> String {
    match found {
        '=' | '!' | '<' | '>' => {
            "use the word operators eq, gt, ge, lt and le, such as `status eq \"ACTIVE\"`".into()
        }
        '&' | '|' => "join conditions with the words `and` and `or`".into(),
        _ => "quote text values with double quotes, such as `profile.name eq \"x\"`".into(),
    }
}

/// Suggests a fix for a token where an operator was expected. `found` is the
/// description the parser made of the token.
fn operator_hint(found: &str) -> String {
    let lowered = found.to_lowercase();
    if lowered == "`ne`" {
        return "Okta does not support `ne`, so write `not (attribute eq value)` instead".into();
    }
    if lowered == "`equals`" || lowered == "`is`" {
        return "write `eq` for equality, such as `profile.name eq \"x\"`".into();
    }
    "put an operator between the attribute and the value, such as `status eq \"ACTIVE\"`".into()
}
