//! The parsed form of a search expression and its canonical text.
//!
//! A *condition* is one `attribute operator value` comparison or an
//! `attribute pr` presence test. Conditions combine with `and`, `or` and
//! `not`. The canonical text written by [`Display`] uses lowercase keywords,
//! single spaces, `not (...)` with parentheses, and parentheses around a
//! nested group only where precedence needs them, so that it parses back to
//! an equal [`Expression`].

use std::fmt::{self, Display, Formatter};

use crate::quote;

/// A parsed search expression.
///
/// Build one with [`parse`](crate::parse). It evaluates against Okta JSON
/// objects with [`matches`](Expression::matches) and displays as canonical
/// text.
#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    pub(crate) node: Node,
}

/// A node of the expression tree.
///
/// `And` and `Or` contain every operand of a chain such as `a and b and c`,
/// so a long chain stays flat instead of nesting one level per operand. Each
/// contains at least two operands.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Compare {
        attribute: String,
        operator: Operator,
        value: Value,
    },
    Present {
        attribute: String,
    },
    Not(Box<Node>),
    And(Vec<Node>),
    Or(Vec<Node>),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `eq`: equal.
    Eq,
    /// `sw`: starts with.
    Sw,
    /// `co`: contains.
    Co,
    /// `pr`: present, meaning not missing, null or empty.
    Pr,
    /// `gt`: greater than.
    Gt,
    /// `ge`: greater than or equal.
    Ge,
    /// `lt`: less than.
    Lt,
    /// `le`: less than or equal.
    Le,
}

impl Operator {
    /// Returns the operator that `word` names, ignoring case.
    pub fn from_word(word: &str) -> Option<Self> {
        let operator = match word.to_ascii_lowercase().as_str() {
            "eq" => Self::Eq,
            "sw" => Self::Sw,
            "co" => Self::Co,
            "pr" => Self::Pr,
            "gt" => Self::Gt,
            "ge" => Self::Ge,
            "lt" => Self::Lt,
            "le" => Self::Le,
            _ => return None,
        };
        Some(operator)
    }

    /// Returns the operator's keyword in lowercase.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Sw => "sw",
            Self::Co => "co",
            Self::Pr => "pr",
            Self::Gt => "gt",
            Self::Ge => "ge",
            Self::Lt => "lt",
            Self::Le => "le",
        }
    }

    /// Returns whether the operator orders values (`gt`, `ge`, `lt`, `le`).
    pub fn is_ordering(self) -> bool {
        matches!(self, Self::Gt | Self::Ge | Self::Lt | Self::Le)
    }
}

impl Display for Operator {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A literal value on the right of an operator.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A double-quoted string, with its escapes decoded.
    String(String),
    /// A JSON number.
    Number(serde_json::Number),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
}

impl Display for Value {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Self::String(text) => f.write_str(&quote(text)),
            Self::Number(number) => write!(f, "{number}"),
            Self::Bool(flag) => write!(f, "{flag}"),
            Self::Null => f.write_str("null"),
        }
    }
}

/// One condition of an expression, as returned by
/// [`Expression::conditions`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Condition<'a> {
    /// The dotted attribute path, such as `profile.department`.
    pub attribute: &'a str,
    /// The operator.
    pub operator: Operator,
    /// The value compared against, or `None` for `pr`.
    pub value: Option<&'a Value>,
}

impl Expression {
    /// Returns the attribute paths the expression reads, each once, in the
    /// order they first appear.
    pub fn attributes(&self) -> Vec<String> {
        let mut paths: Vec<String> = Vec::new();
        for condition in self.conditions() {
            if !paths.iter().any(|path| path == condition.attribute) {
                paths.push(condition.attribute.to_owned());
            }
        }
        paths
    }

    /// Returns every condition in the order it appears in the text, so that
    /// a caller can reject operators or attributes that an endpoint does not
    /// support.
    pub fn conditions(&self) -> Vec<Condition<'_>> {
        let mut conditions = Vec::new();
        collect_conditions(&self.node, &mut conditions);
        conditions
    }

    /// Returns whether the expression uses `not` anywhere. The `filter`
    /// parameter of `/api/v1/users` rejects `not`, while `search` accepts it.
    pub fn uses_not(&self) -> bool {
        node_uses_not(&self.node)
    }
}

fn collect_conditions<'a>(node: &'a Node, conditions: &mut Vec<Condition<'a>>) {
    match node {
        Node::Compare {
            attribute,
            operator,
            value,
        } => conditions.push(Condition {
            attribute,
            operator: *operator,
            value: Some(value),
        }),
        Node::Present { attribute } => conditions.push(Condition {
            attribute,
            operator: Operator::Pr,
            value: None,
        }),
        Node::Not(inner) => collect_conditions(inner, conditions),
        Node::And(operands) | Node::Or(operands) => {
            for operand in operands {
                collect_conditions(operand, conditions);
            }
        }
    }
}

fn node_uses_not(node: &Node) -> bool {
    match node {
        Node::Compare { .. } | Node::Present { .. } => false,
        Node::Not(_) => true,
        Node::And(operands) | Node::Or(operands) => operands.iter().any(node_uses_not),
    }
}

impl Display for Expression {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_node(f, &self.node)
    }
}

fn write_node(f: &mut Formatter<'_>, node: &Node) -> fmt::Result {
    match node {
        Node::Compare {
            attribute,
            operator,
            value,
        } => write!(f, "{attribute} {operator} {value}"),
        Node::Present { attribute } => write!(f, "{attribute} pr"),
        Node::Not(inner) => {
            f.write_str("not (")?;
            write_node(f, inner)?;
            f.write_str(")")
        }
        // An `and` inside an `and` only exists when the text grouped it with
        // parentheses, so writing them back keeps the tree the same.
        Node::And(operands) => write_operands(f, operands, " and ", |operand| {
            matches!(operand, Node::And(_) | Node::Or(_))
        }),
        Node::Or(operands) => write_operands(f, operands, " or ", |operand| {
            matches!(operand, Node::Or(_))
        }),
    }
}

fn write_operands(
    f: &mut Formatter<'_>,
    operands: &[Node],
    separator: &str,
    needs_parentheses: fn(&Node) -> bool,
) -> fmt::Result {
    for (index, operand) in operands.iter().enumerate() {
        if index > 0 {
            f.write_str(separator)?;
        }
        if needs_parentheses(operand) {
            f.write_str("(")?;
            write_node(f, operand)?;
            f.write_str(")")?;
        } else {
            write_node(f, operand)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    fn parsed(text: &str) -> Expression {
        match parse(text) {
            Ok(expression) => expression,
            Err(error) => panic!("{text:?} failed to parse: {error}"),
        }
    }

    #[test]
    fn display_is_canonical() {
        let expression = parsed(r#"( a PR  OR b Eq 1.5 )AND NOT c sw "x\u0041" and d eq TRUE"#);
        assert_eq!(
            expression.to_string(),
            r#"(a pr or b eq 1.5) and not (c sw "xA") and d eq true"#
        );
    }

    #[test]
    fn display_omits_parentheses_for_and_in_or() {
        let expression = parsed("a pr or (b pr and c pr)");
        assert_eq!(expression.to_string(), "a pr or b pr and c pr");
    }

    #[test]
    fn display_keeps_grouped_and_chain() {
        let expression = parsed("(a pr and b pr) and c pr");
        assert_eq!(expression.to_string(), "(a pr and b pr) and c pr");
        assert_ne!(expression, parsed("a pr and b pr and c pr"));
    }

    #[test]
    fn display_escapes_strings() {
        let expression = parsed(r#"x eq "say \"hi\"\n""#);
        assert_eq!(expression.to_string(), r#"x eq "say \"hi\"\n""#);
    }

    #[test]
    fn display_round_trips_float() {
        // serde_json's default parser reads this float one unit in the last
        // place off, which made the canonical text parse to another number.
        let expression = parsed("x eq 2.6497460659745478e-157");
        assert_eq!(parsed(&expression.to_string()), expression);
    }

    #[test]
    fn attributes_listed_once_in_order() {
        let expression = parsed(r#"status eq "A" or (profile.name pr and status eq "B")"#);
        assert_eq!(expression.attributes(), ["status", "profile.name"]);
    }

    #[test]
    fn conditions_report_operators() {
        let expression = parsed(r#"lastUpdated gt "2013-06-01T00:00:00Z" or id pr"#);
        let operators: Vec<Operator> = expression
            .conditions()
            .iter()
            .map(|condition| condition.operator)
            .collect();
        assert_eq!(operators, [Operator::Gt, Operator::Pr]);
    }

    #[test]
    fn present_condition_has_no_value() {
        assert_eq!(parsed("id pr").conditions()[0].value, None);
    }

    #[test]
    fn uses_not_finds_nested_not() {
        assert!(parsed("a pr or (b pr and not c pr)").uses_not());
        assert!(!parsed("a pr or (b pr and c pr)").uses_not());
    }

    #[test]
    fn operator_words_ignore_case() {
        assert_eq!(Operator::from_word("Ge"), Some(Operator::Ge));
        assert_eq!(Operator::from_word("ne"), None);
    }
}
