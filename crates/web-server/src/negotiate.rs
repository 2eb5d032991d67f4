//! Reading what the client accepts: `Accept-Encoding`, `If-None-Match`, and whether
//! `Accept` asks for a page.

/// A stored representation of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

impl Encoding {
    /// The `Content-Encoding` value, if any.
    pub fn header_value(self) -> Option<&'static str> {
        match self {
            Self::Brotli => Some("br"),
            Self::Gzip => Some("gzip"),
            Self::Identity => None,
        }
    }
}

/// Quality values in thousandths (`q=0.5` → 500), as RFC 9110 allows three decimals.
type Q = u16;

/// Picks the representation to send, among the identity one and the compressed ones that
/// exist. The highest q wins; on a tie br beats gzip beats identity (smaller first).
/// A coding with q=0 is never chosen, and `*` stands for codings not named. Identity,
/// unless named, is acceptable but least preferred, so `gzip;q=0.1` still gets gzip.
/// No header means identity; so does a header that refuses everything (better than a 406
/// for a static file).
pub fn choose_encoding(accept_encoding: Option<&[u8]>, has_br: bool, has_gzip: bool) -> Encoding {
    let Some(header) = accept_encoding else {
        return Encoding::Identity;
    };
    let (mut br, mut gzip, mut identity, mut star) = (None, None, None, None);
    for (coding, q) in entries(header) {
        let slot = if coding.eq_ignore_ascii_case(b"br") {
            &mut br
        } else if coding.eq_ignore_ascii_case(b"gzip") || coding.eq_ignore_ascii_case(b"x-gzip") {
            &mut gzip
        } else if coding.eq_ignore_ascii_case(b"identity") {
            &mut identity
        } else if coding == b"*" {
            &mut star
        } else {
            continue;
        };
        // Named twice: a refusal wins over an acceptance.
        *slot = Some(slot.map_or(q, |old: Q| old.min(q)));
    }
    let br = if has_br { br.or(star).unwrap_or(0) } else { 0 };
    let gzip = if has_gzip {
        gzip.or(star).unwrap_or(0)
    } else {
        0
    };
    let identity = identity.unwrap_or(1);
    [
        (Encoding::Brotli, br),
        (Encoding::Gzip, gzip),
        (Encoding::Identity, identity),
    ]
    .into_iter()
    .filter(|&(_, q)| q > 0)
    // `max_by_key` keeps the last of equals: reverse so the first listed wins ties.
    .rev()
    .max_by_key(|&(_, q)| q)
    .map_or(Encoding::Identity, |(encoding, _)| encoding)
}

/// Does `If-None-Match` hold `etag` (or `*`)? Weak comparison, as RFC 9110 asks for this
/// header: `W/"x"` matches `"x"`.
pub fn none_match(if_none_match: &[u8], etag: &[u8]) -> bool {
    let etag = etag.strip_prefix(b"W/").unwrap_or(etag);
    if_none_match.split(|&b| b == b',').any(|tag| {
        let tag = tag.trim_ascii();
        tag == b"*" || tag.strip_prefix(b"W/").unwrap_or(tag) == etag
    })
}

/// Does `Accept` rank `text/html` first (named, q > 0, no other type ranked higher)?
/// Browsers' navigations do; `fetch`, scripts, styles and images send `*/*` or their own type.
pub fn prefers_html(accept: &[u8]) -> bool {
    let mut html: Q = 0;
    let mut best: Q = 0;
    for (range, q) in entries(accept) {
        if range.eq_ignore_ascii_case(b"text/html") {
            html = html.max(q);
        }
        best = best.max(q);
    }
    html > 0 && html >= best
}

/// The `token;q=x` items of a comma-separated header; an item with a malformed q is skipped.
fn entries(header: &[u8]) -> impl Iterator<Item = (&[u8], Q)> {
    header.split(|&b| b == b',').filter_map(|item| {
        let mut parts = item.split(|&b| b == b';');
        let token = parts.next()?.trim_ascii();
        if token.is_empty() {
            return None;
        }
        let mut q = 1000;
        for param in parts {
            let param = param.trim_ascii();
            if let Some(value) = param
                .strip_prefix(b"q=")
                .or_else(|| param.strip_prefix(b"Q="))
            {
                q = parse_q(value.trim_ascii())?;
            }
        }
        Some((token, q))
    })
}

/// `0`, `0.5`, `1.000`…: at most three decimals, never above 1.
fn parse_q(value: &[u8]) -> Option<Q> {
    let (int, frac) = match value.iter().position(|&b| b == b'.') {
        Some(dot) => (&value[..dot], &value[dot + 1..]),
        None => (value, &b""[..]),
    };
    if frac.len() > 3 || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut thousandths: Q = 0;
    for i in 0..3 {
        thousandths = thousandths * 10 + frac.get(i).map_or(0, |d| Q::from(d - b'0'));
    }
    match int {
        b"0" => Some(thousandths),
        b"1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(header: &str) -> Encoding {
        choose_encoding(Some(header.as_bytes()), true, true)
    }

    #[test]
    fn brotli_first_then_gzip_then_identity() {
        assert_eq!(pick("gzip, deflate, br, zstd"), Encoding::Brotli);
        assert_eq!(pick("gzip, deflate"), Encoding::Gzip);
        assert_eq!(pick("x-gzip"), Encoding::Gzip);
        assert_eq!(pick("deflate"), Encoding::Identity);
        assert_eq!(pick(""), Encoding::Identity);
        assert_eq!(pick("*"), Encoding::Brotli);
        assert_eq!(choose_encoding(None, true, true), Encoding::Identity);
    }

    #[test]
    fn q_values_are_respected() {
        assert_eq!(pick("br;q=0, gzip"), Encoding::Gzip);
        assert_eq!(pick("br;q=0.0, gzip;q=0"), Encoding::Identity);
        assert_eq!(pick("br;q=0.5, gzip;q=0.8"), Encoding::Gzip);
        assert_eq!(pick("BR ; Q=1.0 , gzip;q=0.9"), Encoding::Brotli);
        assert_eq!(pick("gzip;q=0.1"), Encoding::Gzip);
        assert_eq!(pick("identity, gzip;q=0.5"), Encoding::Identity);
        assert_eq!(pick("*;q=0"), Encoding::Identity);
        assert_eq!(pick("*;q=0, gzip"), Encoding::Gzip);
        assert_eq!(pick("br, br;q=0, gzip"), Encoding::Gzip);
        // A malformed q drops the item rather than guessing.
        assert_eq!(pick("br;q=2, gzip"), Encoding::Gzip);
        assert_eq!(pick("br;q=abc, gzip"), Encoding::Gzip);
    }

    #[test]
    fn only_existing_representations_are_chosen() {
        let header = Some(&b"br, gzip"[..]);
        assert_eq!(choose_encoding(header, false, true), Encoding::Gzip);
        assert_eq!(choose_encoding(header, false, false), Encoding::Identity);
    }

    #[test]
    fn q_parsing() {
        for (text, q) in [
            ("0", 0),
            ("1", 1000),
            ("0.5", 500),
            ("0.125", 125),
            ("1.000", 1000),
        ] {
            assert_eq!(parse_q(text.as_bytes()), Some(q), "{text}");
        }
        for bad in ["", "1.5", "2", "0.1234", "-0", ".5", "0.a"] {
            assert_eq!(parse_q(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn if_none_match_lists_star_and_weak_tags() {
        let tag = b"\"abc-br\"";
        assert!(none_match(b"\"abc-br\"", tag));
        assert!(none_match(b"\"x\", \"abc-br\"", tag));
        assert!(none_match(b"W/\"abc-br\"", tag));
        assert!(none_match(b"*", tag));
        assert!(!none_match(b"\"abc\"", tag));
        assert!(!none_match(b"\"abc-gz\", \"abc\"", tag));
        assert!(!none_match(b"", tag));
    }

    #[test]
    fn navigations_prefer_html() {
        let browser = b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        assert!(prefers_html(browser));
        assert!(prefers_html(b"text/html"));
        assert!(!prefers_html(b"*/*"));
        assert!(!prefers_html(b"text/css,*/*;q=0.1"));
        assert!(!prefers_html(b"application/json, text/html;q=0.5"));
        assert!(!prefers_html(b"text/html;q=0"));
        assert!(!prefers_html(b""));
    }
}
