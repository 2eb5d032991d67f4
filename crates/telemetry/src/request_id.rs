//! A request's id, as every server gives it: the caller's `x-request-id` when it is safe to
//! log as is (so a request can be followed across services), else a fresh UUID. Each server
//! echoes it in its answer and logs it on the request's lines.

use std::borrow::Cow;

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

/// The id of a request that came with `given` (its `x-request-id`, if any): that one when
/// safe, else a fresh v4 UUID (from a thread-local generator: no system call per request).
/// Either is a valid header value.
pub fn of(given: Option<&[u8]>) -> Cow<'_, str> {
    match given
        .filter(|id| is_safe(id))
        .and_then(|id| std::str::from_utf8(id).ok())
    {
        Some(id) => Cow::Borrowed(id),
        None => Cow::Owned(uuid::Uuid::new_v4().to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_safe_ids_are_kept() {
        let longest = "a".repeat(128);
        for id in ["trace-me-123", "a.b_c:d-E9", longest.as_str()] {
            assert!(is_safe(id.as_bytes()), "{id}");
            assert_eq!(of(Some(id.as_bytes())), id);
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
            let fresh = of(Some(id.as_bytes()));
            assert!(uuid::Uuid::parse_str(&fresh).is_ok() && is_safe(fresh.as_bytes()));
        }
        assert_ne!(of(None), of(None));
    }
}
