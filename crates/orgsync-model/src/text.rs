//! Cleaning of untrusted profile strings before they go into an entity.
//!
//! Okta profiles are edited by people and by other systems, so a title may
//! hold line breaks, terminal escapes or megabytes of text. Entities carry
//! only printable text of bounded size.

/// The maximum size, in bytes of UTF-8, of one profile string in an entity.
/// Backstage sets no limit, but a profile field this long is a data error,
/// and the whole catalog is served to browsers.
pub const MAX_TEXT_BYTES: usize = 4096;

/// A profile string after cleaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CleanText {
    pub text: String,
    /// Whether the input was longer than [`MAX_TEXT_BYTES`] and was cut.
    pub truncated: bool,
}

/// Cleans a profile string: control characters that separate words (tab,
/// line breaks) become spaces, other control characters are removed, the
/// ends are trimmed and the result is cut to [`MAX_TEXT_BYTES`] on a
/// character boundary.
pub(crate) fn clean_text(raw: &str) -> CleanText {
    let mut text = String::with_capacity(raw.len().min(MAX_TEXT_BYTES));
    for c in raw.chars() {
        if c.is_control() {
            if c.is_whitespace() {
                text.push(' ');
            }
        } else {
            text.push(c);
        }
    }

    let mut text = text.trim().to_string();
    let truncated = text.len() > MAX_TEXT_BYTES;
    if truncated {
        text.truncate(floor_char_boundary(&text, MAX_TEXT_BYTES));
        text.truncate(text.trim_end().len());
    }
    CleanText { text, truncated }
}

/// Returns the largest index at or below `index` that starts a character
/// of `text`.
pub(crate) fn floor_char_boundary(text: &str, index: usize) -> usize {
    if index >= text.len() {
        return text.len();
    }
    (0..=index)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_become_spaces() {
        assert_eq!(
            clean_text("Site\r\nReliability\tTeam").text,
            "Site  Reliability Team"
        );
    }

    #[test]
    fn escapes_are_removed() {
        assert_eq!(clean_text("\u{1b}[31mRed\u{7}\u{0}").text, "[31mRed");
    }

    #[test]
    fn ends_are_trimmed() {
        assert_eq!(clean_text("  Jane \n").text, "Jane");
    }

    #[test]
    fn short_text_is_not_truncated() {
        assert!(!clean_text("Jane").truncated);
    }

    #[test]
    fn huge_text_is_cut_to_bound() {
        let cleaned = clean_text(&"a".repeat(MAX_TEXT_BYTES * 3));
        assert_eq!(cleaned.text.len(), MAX_TEXT_BYTES);
        assert!(cleaned.truncated);
    }

    #[test]
    fn cut_keeps_whole_characters() {
        // "é" is two bytes, so the bound falls inside a character.
        let cleaned = clean_text(&format!("a{}", "é".repeat(MAX_TEXT_BYTES)));
        assert!(cleaned.text.len() <= MAX_TEXT_BYTES);
        assert!(cleaned.text.ends_with('é'));
    }

    #[test]
    fn non_latin_text_is_kept() {
        assert_eq!(clean_text("山田 太郎").text, "山田 太郎");
    }
}
