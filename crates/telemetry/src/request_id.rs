//! A request's id, as every server gives it: the caller's `x-request-id` when it is safe to
//! log as is (so a request can be followed across services), else a fresh UUID. Each server
//! echoes it in its answer and logs it on the request's lines.

/// The header that carries it, both ways.
pub const HEADER: &str = "x-request-id";

/// 1 to 128 of `A-Z a-z 0-9 . _ : -`: one token in every log format, so an id such as
/// `a status=200` cannot add fields to a text line (which writes it unquoted).
pub fn is_safe(id: &[u8]) -> bool {
    (1..=128).contains(&id.len())
        && id
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// A fresh id, for a request that came without a safe one: a v4 UUID, from a thread-local
/// generator (no system call per request).
pub fn fresh() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_safe_ids_are_kept() {
        let longest = "a".repeat(128);
        for id in ["trace-me-123", "a.b_c:d-E9", longest.as_str(), &fresh()] {
            assert!(is_safe(id.as_bytes()), "{id}");
        }
        let too_long = "a".repeat(129);
        for id in [
            "",
            "a b status=200",
            "a=b",
            "a\"b",
            "a\\b",
            "a/b",
            "caf\u{e9}",
            too_long.as_str(),
        ] {
            assert!(!is_safe(id.as_bytes()), "{id:?}");
        }
        assert_ne!(fresh(), fresh());
    }
}
