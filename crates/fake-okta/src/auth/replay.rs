//! Single-use JWT ids.
//!
//! Client assertions and DPoP proofs carry a `jti` that may be used once. The
//! cache remembers each id until the JWT carrying it could no longer pass
//! the time checks anyway, then forgets it, so memory stays bounded by the
//! request rate times the JWT lifetime.

use std::collections::HashMap;
use std::time::SystemTime;

/// The kind of JWT a `jti` belongs to, which keeps equal ids in different
/// kinds of JWT apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum JtiKind {
    ClientAssertion,
    DpopProof,
}

/// Ids already used, each with the time after which it can be forgotten.
#[derive(Debug, Default)]
pub(crate) struct ReplayCache {
    used: HashMap<(JtiKind, String, String), SystemTime>,
    /// Entry count after the last sweep; the next sweep runs when the count
    /// has doubled, so sweeping costs O(1) per insert on average.
    swept_at_len: usize,
}

impl ReplayCache {
    /// Records `jti` for `owner` (a client id or key thumbprint) and returns
    /// `true`, or returns `false` if it was already used and not yet
    /// forgotten.
    pub(crate) fn first_use(
        &mut self,
        kind: JtiKind,
        owner: &str,
        jti: &str,
        forget_after: SystemTime,
        now: SystemTime,
    ) -> bool {
        self.sweep(now);

        let key = (kind, owner.to_owned(), jti.to_owned());
        match self.used.get(&key) {
            Some(expiry) if *expiry >= now => false,
            _ => {
                self.used.insert(key, forget_after);
                true
            }
        }
    }

    fn sweep(&mut self, now: SystemTime) {
        if self.used.len() < 2 * self.swept_at_len.max(512) {
            return;
        }
        self.used.retain(|_, expiry| *expiry >= now);
        self.swept_at_len = self.used.len();
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.used.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn second_use_is_rejected() {
        let mut cache = ReplayCache::default();

        let first = cache.first_use(JtiKind::ClientAssertion, "client", "id-1", at(100), at(10));
        let second = cache.first_use(JtiKind::ClientAssertion, "client", "id-1", at(100), at(11));

        assert!(first);
        assert!(!second);
    }

    #[test]
    fn same_jti_for_other_owner_is_accepted() {
        let mut cache = ReplayCache::default();
        cache.first_use(
            JtiKind::ClientAssertion,
            "client-a",
            "id-1",
            at(100),
            at(10),
        );

        let other = cache.first_use(
            JtiKind::ClientAssertion,
            "client-b",
            "id-1",
            at(100),
            at(10),
        );

        assert!(other);
    }

    #[test]
    fn same_jti_for_other_kind_is_accepted() {
        let mut cache = ReplayCache::default();
        cache.first_use(JtiKind::ClientAssertion, "owner", "id-1", at(100), at(10));

        let other = cache.first_use(JtiKind::DpopProof, "owner", "id-1", at(100), at(10));

        assert!(other);
    }

    #[test]
    fn forgotten_after_expiry() {
        let mut cache = ReplayCache::default();
        cache.first_use(JtiKind::DpopProof, "owner", "id-1", at(100), at(10));

        let again = cache.first_use(JtiKind::DpopProof, "owner", "id-1", at(200), at(101));

        assert!(again);
    }

    #[test]
    fn sweep_drops_expired_entries() {
        let mut cache = ReplayCache::default();
        for index in 0..1_500 {
            let jti = format!("old-{index}");
            cache.first_use(JtiKind::DpopProof, "owner", &jti, at(100), at(10));
        }

        for index in 0..600 {
            let jti = format!("new-{index}");
            cache.first_use(JtiKind::DpopProof, "owner", &jti, at(1_000), at(500));
        }

        assert_eq!(cache.len(), 600);
    }
}
