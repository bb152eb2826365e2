//! Cursors of `GET /entities/by-query`.
//!
//! A cursor is opaque to clients: URL-safe base64 of a JSON document that
//! holds the whole query (filter, order field, full-text filter), the
//! position to continue from, the direction, the first position of the
//! result (to tell whether a previous page exists) and the total count
//! taken on the first page, so later pages skip the count. Positions are
//! keys in the order, not offsets, so entities added or removed between two
//! requests shift no page.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::query::{EntityFilter, FullTextFilter, OrderField, PagePosition};
use crate::error::ApiError;

/// The cursor format version; a cursor of another version is rejected.
const CURSOR_VERSION: u32 = 1;

/// The state of a paged `by-query` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cursor {
    version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<EntityFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<OrderField>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_text: Option<FullTextFilter>,
    /// The position to continue after (or before, when `backward`).
    pub position: PagePosition,
    pub backward: bool,
    /// The position of the first entity of the whole result.
    pub first: PagePosition,
    pub total_items: usize,
}

impl Cursor {
    /// A cursor for the query, continuing from `position`.
    pub fn new(
        query: QueryState,
        position: PagePosition,
        backward: bool,
        first: PagePosition,
        total_items: usize,
    ) -> Cursor {
        Cursor {
            version: CURSOR_VERSION,
            filter: query.filter,
            order: query.order,
            full_text: query.full_text,
            position,
            backward,
            first,
            total_items,
        }
    }

    /// The query this cursor pages through.
    pub fn query(&self) -> QueryState {
        QueryState {
            filter: self.filter.clone(),
            order: self.order.clone(),
            full_text: self.full_text.clone(),
        }
    }

    /// Encodes the cursor as the opaque string clients pass back.
    pub fn encode(&self) -> String {
        // Serializing plain strings, numbers and bools cannot fail.
        let json = serde_json::to_vec(self).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    /// Decodes a cursor string from a request.
    pub fn decode(text: &str) -> Result<Cursor, ApiError> {
        let malformed = |reason: &str| {
            ApiError::Input(format!(
                "Malformed cursor, {reason}; pass a nextCursor or prevCursor from an earlier \
                 response unchanged, or start again without a cursor"
            ))
        };
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim().trim_end_matches('='))
            .map_err(|_| malformed("it is not base64"))?;
        let cursor: Cursor =
            serde_json::from_slice(&bytes).map_err(|_| malformed("it could not be parsed"))?;
        if cursor.version != CURSOR_VERSION {
            return Err(malformed("it comes from another version of orgsync"));
        }
        Ok(cursor)
    }
}

/// The parts of a `by-query` request that stay the same on every page.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryState {
    pub filter: Option<EntityFilter>,
    pub order: Option<OrderField>,
    pub full_text: Option<FullTextFilter>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::query::{FilterCondition, SortOrder};

    fn position(name: &str) -> PagePosition {
        PagePosition {
            sort_value: Some(name.to_string()),
            entity_ref: format!("user:default/{name}"),
        }
    }

    fn sample() -> Cursor {
        let query = QueryState {
            filter: Some(EntityFilter {
                any_of: vec![vec![FilterCondition {
                    key: "kind".to_string(),
                    values: Some(vec!["user".to_string()]),
                }]],
            }),
            order: Some(OrderField {
                field: "metadata.name".to_string(),
                order: SortOrder::Desc,
            }),
            full_text: None,
        };
        Cursor::new(query, position("bob"), false, position("zed"), 42)
    }

    #[test]
    fn cursor_round_trips() {
        let cursor = sample();
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
    }

    #[test]
    fn cursor_is_url_safe() {
        let encoded = sample().encode();
        assert!(encoded
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn garbage_cursor_is_input_error() {
        let error = Cursor::decode("not a cursor!").unwrap_err();
        assert_eq!(error.name(), "InputError");
    }

    #[test]
    fn json_that_is_not_a_cursor_is_rejected() {
        let encoded = URL_SAFE_NO_PAD.encode(br#"{"limit":2,"offset":2}"#);
        assert!(Cursor::decode(&encoded).is_err());
    }

    #[test]
    fn other_version_is_rejected() {
        let mut cursor = sample();
        cursor.version = CURSOR_VERSION + 1;
        assert!(Cursor::decode(&cursor.encode()).is_err());
    }
}
