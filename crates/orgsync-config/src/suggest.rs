//! "Did you mean …?" suggestions for misspelled keys and values.

/// Returns the candidate closest to `word`, if it is close enough to be a
/// likely misspelling.
///
/// Case, `-` and `_` are ignored (`oktaURL`, `okta_url` and `okta-url` all
/// match `oktaUrl`). A candidate qualifies within an optimal string alignment
/// distance of a third of its length (at least 1, at most 3), which accepts
/// one or two typos or a swapped pair of letters in a typical key.
pub(crate) fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let word = normalize(word);
    let mut best: Option<(usize, &'a str)> = None;

    for candidate in candidates {
        let normalized = normalize(candidate);
        let distance = strsim::osa_distance(&word, &normalized);
        let limit = (normalized.chars().count() / 3).clamp(1, 3);
        if distance > limit {
            continue;
        }
        if best.is_none_or(|(best_distance, _)| distance < best_distance) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

fn normalize(word: &str) -> String {
    word.chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: &[&str] = &["oktaUrl", "clientId", "oauth", "scopes", "id"];

    #[test]
    fn case_difference_matches() {
        assert_eq!(closest("oktaURL", KEYS), Some("oktaUrl"));
    }

    #[test]
    fn snake_case_matches() {
        assert_eq!(closest("client_id", KEYS), Some("clientId"));
    }

    #[test]
    fn swapped_letters_match() {
        assert_eq!(closest("ouath", KEYS), Some("oauth"));
    }

    #[test]
    fn singular_matches_plural() {
        assert_eq!(closest("scope", KEYS), Some("scopes"));
    }

    #[test]
    fn unrelated_word_has_no_match() {
        assert_eq!(closest("kubernetes", KEYS), None);
    }
}
