//! A user's JSON text, serialized once when the user is stored.
//!
//! List pages hold up to 1,000 users. Copying and serializing each user's
//! `Value` for every page was most of a page's cost, so the text is kept
//! beside the object. Responses copy it, skip the members the request asked
//! Okta to omit (`credentials`, `transitioningToStatus`) by their recorded
//! byte ranges, and append `_links` in place of the closing brace.

use std::ops::Range;
use std::sync::Arc;

use serde_json::{Map, Value};

/// The members a response can leave out of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Omittable {
    /// `credentials`, left out for `omitCredentials`.
    Credentials,
    /// `transitioningToStatus`, left out for `omitTransitioningToStatus`.
    TransitioningToStatus,
}

impl Omittable {
    fn of(key: &str) -> Option<Self> {
        match key {
            "credentials" => Some(Self::Credentials),
            "transitioningToStatus" => Some(Self::TransitioningToStatus),
            _ => None,
        }
    }
}

/// An object's compact JSON text and where its omittable members are.
///
/// Cloning is cheap because the text is shared.
#[derive(Debug, Clone)]
pub struct SerializedObject {
    text: Arc<str>,
    /// Byte ranges of omittable members, in text order. Each range contains
    /// the member and one separating comma, so removing it leaves valid JSON.
    omittable: Vec<(Omittable, Range<usize>)>,
}

impl SerializedObject {
    /// Serializes an object's members in their stored order, as
    /// `Value::to_string` would.
    pub fn new(object: &Map<String, Value>) -> Result<Self, serde_json::Error> {
        let mut text = String::from("{");
        let mut omittable: Vec<(Omittable, Range<usize>)> = Vec::new();
        for (index, (key, value)) in object.iter().enumerate() {
            let start = text.len();
            if index > 0 {
                text.push(',');
            }
            if index == 1 {
                extend_first_over_comma(&mut omittable, start);
            }
            text.push_str(&serde_json::to_string(key)?);
            text.push(':');
            text.push_str(&serde_json::to_string(value)?);
            if let Some(kind) = Omittable::of(key) {
                omittable.push((kind, start..text.len()));
            }
        }
        text.push('}');
        Ok(Self {
            text: Arc::from(text),
            omittable,
        })
    }

    /// Appends the object's members without the closing brace, leaving out
    /// the members `omit` selects, so that the caller can add members.
    /// Returns whether at least one member was written.
    pub fn write_open(&self, out: &mut Vec<u8>, omit: impl Fn(Omittable) -> bool) -> bool {
        let open = self.text.len() - 1;
        let mut written = 1;
        out.push(b'{');
        let mut members = false;
        for (kind, range) in &self.omittable {
            if !omit(*kind) {
                continue;
            }
            // A removed first member's range takes the comma that the
            // second member's range starts with, so ranges can overlap.
            let start = range.start.max(written);
            members |= start > written;
            out.extend_from_slice(&self.text.as_bytes()[written..start]);
            written = range.end.max(written);
        }
        members |= open > written;
        out.extend_from_slice(&self.text.as_bytes()[written..open]);
        members
    }
}

/// Extends a first member's range over the comma after it, because the first
/// member has no comma before it. `comma` is where the second member starts.
fn extend_first_over_comma(omittable: &mut [(Omittable, Range<usize>)], comma: usize) {
    if let Some((_, range)) = omittable.first_mut() {
        if range.start == 1 {
            range.end = comma + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn serialized(value: Value) -> SerializedObject {
        match value {
            Value::Object(map) => SerializedObject::new(&map).unwrap(),
            _ => unreachable!("tests pass objects"),
        }
    }

    fn written(object: &SerializedObject, omit: &[Omittable]) -> String {
        let mut out = Vec::new();
        object.write_open(&mut out, |kind| omit.contains(&kind));
        out.push(b'}');
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn text_matches_value_to_string() {
        let value = json!({"id": "00u1", "b\"q": [1, {"z": null}], "credentials": {"a": 1}});
        assert_eq!(written(&serialized(value.clone()), &[]), value.to_string());
    }

    #[test]
    fn middle_member_omitted() {
        let object = serialized(json!({"id": 1, "credentials": {"x": 2}, "z": 3}));
        assert_eq!(
            written(&object, &[Omittable::Credentials]),
            r#"{"id":1,"z":3}"#
        );
    }

    #[test]
    fn first_member_omitted() {
        let object = serialized(json!({"transitioningToStatus": "A", "id": 1}));
        assert_eq!(
            written(&object, &[Omittable::TransitioningToStatus]),
            r#"{"id":1}"#
        );
    }

    #[test]
    fn last_member_omitted() {
        let object = serialized(json!({"id": 1, "credentials": {}}));
        assert_eq!(written(&object, &[Omittable::Credentials]), r#"{"id":1}"#);
    }

    #[test]
    fn both_members_omitted() {
        let object = serialized(json!({"credentials": 1, "transitioningToStatus": 2}));
        let omit = [Omittable::Credentials, Omittable::TransitioningToStatus];
        assert_eq!(written(&object, &omit), "{}");
    }

    #[test]
    fn members_reported_when_left() {
        let object = serialized(json!({"credentials": 1}));
        let mut out = Vec::new();
        assert!(!object.write_open(&mut out, |_| true));
    }
}
