//! The user and group filters of a provider: `userSearchFilter` and
//! `groupFilter`. Search expressions are parsed here, before any request,
//! so that a typo is reported with its position instead of as Okta's
//! `400 Invalid search criteria` at sync time.

use serde_json::Value;

use crate::context::{show, Context, KeyPath};
use crate::read::{Field, Fields, Strictness};

/// The selection of Okta groups a provider reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupFilter {
    /// Groups whose `profile.name` is one of these (matched as Okta's `eq`
    /// matches: ignoring case).
    Names(Vec<String>),
    /// Groups matching an Okta search expression (the `search` parameter of
    /// `/api/v1/groups`).
    Search(String),
}

pub(crate) const GROUP_FILTER_KEYS: &[&str] = &["groupNames", "searchExpression"];

/// Reads a search expression and checks that it parses.
pub(crate) fn read_search(context: &mut Context, field: &Field<'_>) -> Option<String> {
    let expression = field.string(context)?;
    match okta_search::parse(&expression) {
        Ok(_) => Some(expression),
        Err(error) => {
            context.error(
                &field.path,
                Some(show(&Value::String(expression.clone()))),
                format!("is not a valid search expression: {}", error.message),
                format!(
                    "{}\n{}",
                    error.hint(),
                    caret_lines(&expression, error.position)
                ),
            );
            None
        }
    }
}

/// Formats the expression on one line and a caret under the character at
/// the 1-based `position`, both indented, for showing under an error.
fn caret_lines(expression: &str, position: usize) -> String {
    let flat: String = expression
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let offset = " ".repeat(position.saturating_sub(1));
    format!("    {flat}\n    {offset}^")
}

/// Reads `groupFilter`: a map with exactly one of `groupNames` and
/// `searchExpression`, or Roadie's plain expression string.
pub(crate) fn read_group_filter(context: &mut Context, field: &Field<'_>) -> Option<GroupFilter> {
    match field.value {
        Value::Object(map) => {
            let fields = Fields::new(&field.path, map);
            fields.check_keys(context, GROUP_FILTER_KEYS, &[], Strictness::Strict);
            read_group_filter_map(context, &field.path, &fields)
        }
        Value::String(text) => {
            context.warn(
                &field.path,
                Some(show(field.value)),
                "is a search expression string, the Roadie Okta module's form",
                format!("write groupFilter: {{ searchExpression: '{text}' }}"),
            );
            read_search(context, field).map(GroupFilter::Search)
        }
        Value::Array(_) => {
            context.error(
                &field.path,
                Some(show(field.value)),
                "is a list, but a map is expected",
                "write the group names as groupFilter: { groupNames: [platform-team, data-eng] }",
            );
            None
        }
        other => {
            context.error(
                &field.path,
                Some(show(other)),
                "is not a map",
                "write groupFilter: { groupNames: [...] } or groupFilter: { searchExpression: '...' }",
            );
            None
        }
    }
}

fn read_group_filter_map(
    context: &mut Context,
    path: &KeyPath,
    fields: &Fields<'_>,
) -> Option<GroupFilter> {
    match (fields.field("groupNames"), fields.field("searchExpression")) {
        (Some(_), Some(_)) => {
            context.error(
                path,
                None,
                "sets both groupNames and searchExpression",
                "keep one: groupNames for a fixed list of groups, or searchExpression for an Okta search",
            );
            None
        }
        (Some(names), None) => read_group_names(context, &names).map(GroupFilter::Names),
        (None, Some(search)) => read_search(context, &search).map(GroupFilter::Search),
        (None, None) => {
            if fields.is_missing(context, "groupNames")
                && fields.is_missing(context, "searchExpression")
            {
                context.error(
                    path,
                    None,
                    "sets neither groupNames nor searchExpression",
                    "add groupNames: [...] or searchExpression: '...', or remove groupFilter to read all groups",
                );
            }
            None
        }
    }
}

fn read_group_names(context: &mut Context, field: &Field<'_>) -> Option<Vec<String>> {
    let names = field.string_list(context)?;
    if names.is_empty() {
        context.error(
            &field.path,
            Some(show(field.value)),
            "is an empty list",
            "list at least one group name, or remove groupFilter to read all groups",
        );
        return None;
    }
    let mut valid = true;
    for (index, name) in names.iter().enumerate() {
        if name.trim().is_empty() {
            context.error(
                &field.path.index(index),
                Some(show(&Value::String(name.clone()))),
                "is an empty group name",
                "remove it or write the group's name",
            );
            valid = false;
        }
    }
    valid.then_some(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_points_at_position() {
        let lines = caret_lines("status equals 1", 8);
        assert_eq!(lines, "    status equals 1\n           ^");
    }
}
