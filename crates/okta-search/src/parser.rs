//! Recursive-descent parser for search expressions.
//!
//! The grammar, lowest precedence first (keywords ignore case):
//!
//! ```text
//! expression := and_chain ("or" and_chain)*
//! and_chain  := unary ("and" unary)*
//! unary      := "not" unary | "(" expression ")" | condition
//! condition  := attribute "pr" | attribute operator value
//! operator   := "eq" | "sw" | "co" | "gt" | "ge" | "lt" | "le"
//! value      := string | number | "true" | "false" | "null"
//! ```
//!
//! So `and` binds tighter than `or`, and `not` applies to the one condition or
//! parenthesized group after it. The parser also checks that each value suits
//! its operator and that timestamp attributes get ISO 8601 timestamps, because
//! Okta rejects such searches with `400 E0000031` and callers validate
//! filters before sending them.

use crate::error::{ParseError, ParseErrorKind};
use crate::eval::{is_timestamp_attribute, parse_timestamp};
use crate::expression::{Expression, Node, Operator, Value};
use crate::lexer::{Lexer, Token, TokenKind};
use crate::MAX_NESTING;

/// Parses the text of an Okta search expression.
///
/// # Errors
///
/// Returns a [`ParseError`] that points at the first character that breaks
/// the grammar, such as a missing operator, an unterminated string, a single
/// quote, a trailing `and` or an unbalanced parenthesis.
pub fn parse(text: &str) -> Result<Expression, ParseError> {
    let mut parser = Parser {
        lexer: Lexer::new(text),
    };
    let first = parser.lexer.peek()?;
    if first.kind == TokenKind::End {
        return Err(ParseError::at(first.start, ParseErrorKind::Empty));
    }

    let node = parser.parse_or(0)?;

    let token = parser.lexer.next_token()?;
    match token.kind {
        TokenKind::End => Ok(Expression { node }),
        TokenKind::CloseParenthesis => Err(ParseError::at(
            token.start,
            ParseErrorKind::UnmatchedParenthesis,
        )),
        other => Err(expected_logical(token.start, &other, false)),
    }
}

struct Parser {
    lexer: Lexer,
}

impl Parser {
    fn parse_or(&mut self, depth: usize) -> Result<Node, ParseError> {
        let mut operands = vec![self.parse_and(depth)?];
        while let Some(keyword) = self.take_keyword("or")? {
            self.ensure_operand(&keyword)?;
            operands.push(self.parse_and(depth)?);
        }
        Ok(combine(operands, Node::Or))
    }

    fn parse_and(&mut self, depth: usize) -> Result<Node, ParseError> {
        let mut operands = vec![self.parse_unary(depth)?];
        while let Some(keyword) = self.take_keyword("and")? {
            self.ensure_operand(&keyword)?;
            operands.push(self.parse_unary(depth)?);
        }
        Ok(combine(operands, Node::And))
    }

    fn parse_unary(&mut self, depth: usize) -> Result<Node, ParseError> {
        if let Some(keyword) = self.take_keyword("not")? {
            check_depth(depth, keyword.start)?;
            self.ensure_operand(&keyword)?;
            let operand = self.parse_unary(depth + 1)?;
            return Ok(Node::Not(Box::new(operand)));
        }

        if self.lexer.peek()?.kind == TokenKind::OpenParenthesis {
            let open = self.lexer.next_token()?;
            check_depth(depth, open.start)?;
            let inner = self.parse_or(depth + 1)?;
            self.expect_close(&open)?;
            return Ok(inner);
        }

        self.parse_condition()
    }

    /// Consumes the `)` that closes the group opened at `open`.
    fn expect_close(&mut self, open: &Token) -> Result<(), ParseError> {
        let token = self.lexer.next_token()?;
        match token.kind {
            TokenKind::CloseParenthesis => Ok(()),
            TokenKind::End => Err(ParseError::at(
                open.start,
                ParseErrorKind::UnclosedParenthesis,
            )),
            other => Err(expected_logical(token.start, &other, true)),
        }
    }

    fn parse_condition(&mut self) -> Result<Node, ParseError> {
        let token = self.lexer.next_token()?;
        let attribute = match token.kind {
            TokenKind::Word(word) if !is_keyword(&word) => word,
            other => {
                let found = other.describe();
                let kind = ParseErrorKind::ExpectedCondition { found };
                return Err(ParseError::at(token.start, kind));
            }
        };

        let (operator, written) = self.parse_operator(&attribute)?;
        if operator == Operator::Pr {
            return Ok(Node::Present { attribute });
        }

        let (value, start) = self.parse_value(&attribute, &written)?;
        check_value(&attribute, operator, &written, &value, start)?;
        Ok(Node::Compare {
            attribute,
            operator,
            value,
        })
    }

    /// Parses the operator after `attribute` and returns it with its text as
    /// written, for error messages.
    fn parse_operator(&mut self, attribute: &str) -> Result<(Operator, String), ParseError> {
        let token = self.lexer.next_token()?;
        if let TokenKind::Word(word) = &token.kind {
            if let Some(operator) = Operator::from_word(word) {
                return Ok((operator, word.clone()));
            }
        }

        let kind = ParseErrorKind::ExpectedOperator {
            attribute: attribute.to_owned(),
            found: token.kind.describe(),
        };
        Err(ParseError::at(token.start, kind))
    }

    /// Parses the value after `attribute operator` and returns it with the
    /// index where it starts.
    fn parse_value(
        &mut self,
        attribute: &str,
        operator: &str,
    ) -> Result<(Value, usize), ParseError> {
        let token = self.lexer.next_token()?;
        let value = match token.kind {
            TokenKind::String(text) => Value::String(text),
            TokenKind::Number(number, _) => Value::Number(number),
            TokenKind::Word(ref word) if word.eq_ignore_ascii_case("true") => Value::Bool(true),
            TokenKind::Word(ref word) if word.eq_ignore_ascii_case("false") => Value::Bool(false),
            TokenKind::Word(ref word) if word.eq_ignore_ascii_case("null") => Value::Null,
            other => {
                let kind = ParseErrorKind::ExpectedValue {
                    attribute: attribute.to_owned(),
                    operator: operator.to_owned(),
                    found: other.describe(),
                };
                return Err(ParseError::at(token.start, kind));
            }
        };
        Ok((value, token.start))
    }

    /// Consumes the next token if it is the keyword `keyword`, in any case.
    fn take_keyword(&mut self, keyword: &str) -> Result<Option<Token>, ParseError> {
        let matches = matches!(
            &self.lexer.peek()?.kind,
            TokenKind::Word(word) if word.eq_ignore_ascii_case(keyword)
        );
        if matches {
            return self.lexer.next_token().map(Some);
        }
        Ok(None)
    }

    /// Rejects the end of the text or a `)` right after `and`, `or` or `not`,
    /// pointing at the keyword, because the keyword is what the user has to
    /// complete or remove.
    fn ensure_operand(&mut self, keyword: &Token) -> Result<(), ParseError> {
        let next = self.lexer.peek()?;
        if !matches!(next.kind, TokenKind::End | TokenKind::CloseParenthesis) {
            return Ok(());
        }

        let kind = ParseErrorKind::MissingOperand {
            keyword: match &keyword.kind {
                TokenKind::Word(word) => word.clone(),
                other => other.describe(),
            },
            found: next.kind.describe(),
        };
        Err(ParseError::at(keyword.start, kind))
    }
}

/// Returns whether `word` is a keyword that cannot start a condition. `not`
/// is handled before a condition is parsed.
fn is_keyword(word: &str) -> bool {
    word.eq_ignore_ascii_case("and") || word.eq_ignore_ascii_case("or")
}

/// Joins the operands of a chain, or returns the single operand unchanged.
fn combine(mut operands: Vec<Node>, build: fn(Vec<Node>) -> Node) -> Node {
    if operands.len() == 1 {
        return operands.remove(0);
    }
    build(operands)
}

fn check_depth(depth: usize, start: usize) -> Result<(), ParseError> {
    if depth < MAX_NESTING {
        return Ok(());
    }
    Err(ParseError::at(
        start,
        ParseErrorKind::TooDeep { max: MAX_NESTING },
    ))
}

fn expected_logical(start: usize, found: &TokenKind, inside_parentheses: bool) -> ParseError {
    let kind = ParseErrorKind::ExpectedLogical {
        found: found.describe(),
        inside_parentheses,
    };
    ParseError::at(start, kind)
}

/// Checks that `value` suits `operator` and, for timestamp attributes, is a
/// timestamp.
fn check_value(
    attribute: &str,
    operator: Operator,
    written: &str,
    value: &Value,
    start: usize,
) -> Result<(), ParseError> {
    let suits = match operator {
        Operator::Sw | Operator::Co => matches!(value, Value::String(_)),
        Operator::Gt | Operator::Ge | Operator::Lt | Operator::Le => {
            matches!(value, Value::String(_) | Value::Number(_))
        }
        Operator::Eq | Operator::Pr => true,
    };
    if !suits {
        let kind = ParseErrorKind::ValueType {
            operator: written.to_owned(),
            value: describe_value(value),
        };
        return Err(ParseError::at(start, kind));
    }

    let compares_time = operator == Operator::Eq || operator.is_ordering();
    if !compares_time || !is_timestamp_attribute(attribute) {
        return Ok(());
    }
    match value {
        Value::String(text) if parse_timestamp(text).is_some() => Ok(()),
        // `eq null` matches a timestamp that was never set, such as the
        // `lastLogin` of a user who never signed in.
        Value::Null if operator == Operator::Eq => Ok(()),
        _ => {
            let kind = ParseErrorKind::InvalidTimestamp {
                attribute: attribute.to_owned(),
                value: describe_value(value),
            };
            Err(ParseError::at(start, kind))
        }
    }
}

fn describe_value(value: &Value) -> String {
    match value {
        Value::String(_) => format!("the string {value}"),
        Value::Number(_) => format!("the number {value}"),
        Value::Bool(_) | Value::Null => format!("`{value}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> ParseError {
        match parse(text) {
            Ok(expression) => panic!("{text:?} parsed as {expression}"),
            Err(error) => error,
        }
    }

    fn parsed(text: &str) -> Expression {
        match parse(text) {
            Ok(expression) => expression,
            Err(error) => panic!("{text:?} failed to parse: {error}"),
        }
    }

    #[test]
    fn unknown_operator_names_attribute_and_word() {
        let error = error(r#"profile.name equals "x""#);
        assert_eq!(
            error.to_string(),
            "at character 14: expected an operator (eq, sw, co, pr, gt, ge, lt, le) after \
             `profile.name`, found `equals`; write `eq` for equality, such as \
             `profile.name eq \"x\"`"
        );
    }

    #[test]
    fn ne_operator_suggests_not() {
        let error = error(r#"status ne "ACTIVE""#);
        assert!(error.hint().contains("not (attribute eq value)"), "{error}");
    }

    #[test]
    fn unterminated_string_points_at_quote() {
        let error = error(r#"status eq "ACTIVE"#);
        assert_eq!(error.position, 11);
        assert_eq!(error.kind, ParseErrorKind::UnterminatedString);
    }

    #[test]
    fn backslash_at_end_is_unterminated() {
        let error = error(r#"status eq "ACTIVE\"#);
        assert_eq!(error.kind, ParseErrorKind::UnterminatedString);
    }

    #[test]
    fn single_quotes_suggest_double_quotes() {
        let error = error("status eq 'ACTIVE'");
        assert_eq!(error.position, 11);
        assert_eq!(
            error.kind,
            ParseErrorKind::SingleQuotes {
                found: "'ACTIVE'".into(),
                suggestion: "\"ACTIVE\"".into(),
            }
        );
        assert!(error.to_string().contains("use double quotes: \"ACTIVE\""));
    }

    #[test]
    fn unclosed_single_quote_is_reported() {
        let error = error("status eq 'ACTIVE");
        assert_eq!(
            error.kind,
            ParseErrorKind::SingleQuotes {
                found: "'ACTIVE".into(),
                suggestion: "\"ACTIVE\"".into(),
            }
        );
    }

    #[test]
    fn trailing_and_points_at_keyword() {
        let error = error(r#"status eq "A" and"#);
        assert_eq!(error.position, 15);
        assert_eq!(
            error.kind,
            ParseErrorKind::MissingOperand {
                keyword: "and".into(),
                found: "the end of the expression".into(),
            }
        );
    }

    #[test]
    fn or_before_close_is_missing_operand() {
        let error = error(r#"(status eq "A" OR)"#);
        assert_eq!(error.position, 16);
        assert_eq!(
            error.kind,
            ParseErrorKind::MissingOperand {
                keyword: "OR".into(),
                found: "`)`".into(),
            }
        );
    }

    #[test]
    fn not_at_end_is_missing_operand() {
        let error = error("not");
        assert!(matches!(error.kind, ParseErrorKind::MissingOperand { .. }));
    }

    #[test]
    fn doubled_and_points_at_second() {
        let error = error("a pr and and b pr");
        assert_eq!(error.position, 10);
        assert!(matches!(
            error.kind,
            ParseErrorKind::ExpectedCondition { .. }
        ));
    }

    #[test]
    fn unclosed_parenthesis_points_at_open() {
        let error = error(r#"a pr and (status eq "A""#);
        assert_eq!(error.position, 10);
        assert_eq!(error.kind, ParseErrorKind::UnclosedParenthesis);
    }

    #[test]
    fn unmatched_close_points_at_close() {
        let error = error(r#"status eq "A")"#);
        assert_eq!(error.position, 14);
        assert_eq!(error.kind, ParseErrorKind::UnmatchedParenthesis);
    }

    #[test]
    fn empty_parentheses_expect_condition() {
        let error = error("()");
        assert_eq!(error.position, 2);
        assert!(matches!(
            error.kind,
            ParseErrorKind::ExpectedCondition { .. }
        ));
    }

    #[test]
    fn junk_inside_parentheses_expects_close() {
        let error = error("(a pr b pr)");
        assert_eq!(error.position, 7);
        assert!(error.message.contains("`and`, `or` or `)`"), "{error}");
    }

    #[test]
    fn invalid_escape_points_at_backslash() {
        let error = error(r#"profile.name eq "a\qb""#);
        assert_eq!(error.position, 19);
        assert_eq!(
            error.kind,
            ParseErrorKind::InvalidEscape {
                escape: "\\q".into()
            }
        );
    }

    #[test]
    fn short_unicode_escape_is_invalid() {
        let error = error(r#"x eq "\u12""#);
        assert_eq!(
            error.kind,
            ParseErrorKind::InvalidEscape {
                escape: "\\u12".into()
            }
        );
    }

    #[test]
    fn lone_high_surrogate_is_invalid() {
        let error = error(r#"x eq "\ud800""#);
        assert!(matches!(error.kind, ParseErrorKind::InvalidEscape { .. }));
    }

    #[test]
    fn lone_low_surrogate_is_invalid() {
        let error = error(r#"x eq "\udc00""#);
        assert!(matches!(error.kind, ParseErrorKind::InvalidEscape { .. }));
    }

    #[test]
    fn json_escapes_decode() {
        let expression = parsed(r#"x eq "q\" b\\ s\/ \b\f\n\r\t \u00e9 \ud83d\ude00""#);
        let expected = "q\" b\\ s/ \u{8}\u{c}\n\r\t é 😀";
        assert_eq!(
            expression.conditions()[0].value,
            Some(&Value::String(expected.into()))
        );
    }

    #[test]
    fn empty_text_is_rejected() {
        assert_eq!(error("").kind, ParseErrorKind::Empty);
    }

    #[test]
    fn whitespace_only_points_past_end() {
        let error = error("   ");
        assert_eq!(error.position, 4);
        assert_eq!(error.kind, ParseErrorKind::Empty);
    }

    #[test]
    fn equals_sign_is_unexpected_character() {
        let error = error(r#"status = "A""#);
        assert_eq!(error.position, 8);
        assert_eq!(
            error.kind,
            ParseErrorKind::UnexpectedCharacter { found: '=' }
        );
        assert!(error.hint().contains("eq"), "{error}");
    }

    #[test]
    fn missing_logical_points_at_next_condition() {
        let error = error(r#"status eq "A" status eq "B""#);
        assert_eq!(error.position, 15);
        assert!(matches!(error.kind, ParseErrorKind::ExpectedLogical { .. }));
    }

    #[test]
    fn quoted_attribute_expects_condition() {
        let error = error(r#""status" eq "A""#);
        assert_eq!(error.position, 1);
        assert!(matches!(
            error.kind,
            ParseErrorKind::ExpectedCondition { .. }
        ));
    }

    #[test]
    fn bare_word_value_expects_value() {
        let error = error("status eq ACTIVE");
        assert_eq!(error.position, 11);
        assert_eq!(
            error.kind,
            ParseErrorKind::ExpectedValue {
                attribute: "status".into(),
                operator: "eq".into(),
                found: "`ACTIVE`".into(),
            }
        );
    }

    #[test]
    fn missing_value_expects_value() {
        let error = error("status eq");
        assert_eq!(error.position, 10);
        assert!(matches!(error.kind, ParseErrorKind::ExpectedValue { .. }));
    }

    #[test]
    fn invalid_attribute_path_is_rejected() {
        let error = error(r#"profile..name eq "x""#);
        assert_eq!(
            error.kind,
            ParseErrorKind::InvalidAttribute {
                path: "profile..name".into()
            }
        );
    }

    #[test]
    fn leading_zero_number_is_invalid() {
        let error = error("x eq 01");
        assert_eq!(error.position, 6);
        assert_eq!(
            error.kind,
            ParseErrorKind::InvalidNumber { text: "01".into() }
        );
    }

    #[test]
    fn out_of_range_number_is_invalid() {
        let error = error("x eq 1e999");
        assert!(matches!(error.kind, ParseErrorKind::InvalidNumber { .. }));
    }

    #[test]
    fn starts_with_number_is_type_error() {
        let error = error("profile.x sw 5");
        assert_eq!(error.position, 14);
        assert_eq!(
            error.kind,
            ParseErrorKind::ValueType {
                operator: "sw".into(),
                value: "the number 5".into(),
            }
        );
    }

    #[test]
    fn ordering_boolean_is_type_error() {
        let error = error("x GT true");
        assert!(matches!(error.kind, ParseErrorKind::ValueType { .. }));
    }

    #[test]
    fn timestamp_attribute_rejects_text() {
        let error = error(r#"created gt "yesterday""#);
        assert_eq!(error.position, 12);
        assert!(matches!(
            error.kind,
            ParseErrorKind::InvalidTimestamp { .. }
        ));
    }

    #[test]
    fn timestamp_attribute_rejects_number() {
        let error = error("lastUpdated lt 5");
        assert!(matches!(
            error.kind,
            ParseErrorKind::InvalidTimestamp { .. }
        ));
    }

    #[test]
    fn timestamp_attribute_accepts_eq_null() {
        assert!(parse("lastLogin eq null").is_ok());
    }

    #[test]
    fn timestamp_attribute_allows_starts_with() {
        assert!(parse(r#"created sw "2013""#).is_ok());
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let plain = parsed("a eq 1 or b eq 2 and c eq 3");
        assert_eq!(plain, parsed("a eq 1 or (b eq 2 and c eq 3)"));
        assert_ne!(plain, parsed("(a eq 1 or b eq 2) and c eq 3"));
    }

    #[test]
    fn not_applies_to_next_condition() {
        let plain = parsed("not a pr and b pr");
        assert_eq!(plain, parsed("(not a pr) and b pr"));
        assert_ne!(plain, parsed("not (a pr and b pr)"));
    }

    #[test]
    fn not_accepts_parentheses_without_space() {
        assert_eq!(parsed("not(a pr)"), parsed("not a pr"));
    }

    #[test]
    fn keywords_ignore_case() {
        let mixed = parsed(r#"a EQ "x" AnD NOT b Pr oR c Sw "y" or d eq TRUE or e eq NULL"#);
        let lower = parsed(r#"a eq "x" and not b pr or c sw "y" or d eq true or e eq null"#);
        assert_eq!(mixed, lower);
    }

    #[test]
    fn attribute_names_keep_case() {
        assert_eq!(parsed("Status pr").attributes(), ["Status"]);
    }

    #[test]
    fn keyword_prefixed_paths_are_attributes() {
        assert_eq!(
            parsed("not.x pr or android pr").attributes(),
            ["not.x", "android"]
        );
    }

    #[test]
    fn nesting_at_limit_parses() {
        let text = format!("{}a pr{}", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
        assert!(parse(&text).is_ok());
    }

    #[test]
    fn nesting_past_limit_is_rejected() {
        let depth = MAX_NESTING + 1;
        let text = format!("{}a pr{}", "(".repeat(depth), ")".repeat(depth));
        assert_eq!(
            error(&text).kind,
            ParseErrorKind::TooDeep { max: MAX_NESTING }
        );
    }

    #[test]
    fn nested_not_past_limit_is_rejected() {
        let text = format!("{}a pr", "not ".repeat(MAX_NESTING + 1));
        assert_eq!(
            error(&text).kind,
            ParseErrorKind::TooDeep { max: MAX_NESTING }
        );
    }

    #[test]
    fn long_chain_stays_flat() {
        let text = vec!["a pr"; 20_000].join(" and ");
        let expression = parsed(&text);
        assert_eq!(expression.conditions().len(), 20_000);
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        let error = error(r#"x eq "é" y"#);
        assert_eq!(error.position, 10);
    }
}
