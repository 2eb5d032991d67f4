//! Request paths → bundle keys, strictly.
//!
//! The bundle lives in memory, so nothing outside `WEB_ROOT` can be reached whatever the
//! path says; this check is the second wall, and it answers 400 instead of a confusing 404
//! or SPA page to anything that looks like an attack. A key is the decoded path without
//! its leading `/` (`assets/app.js`); the bundle loader applies [`check_segment`] to file
//! names too, so every loaded file has a key a request can spell.

use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("the path does not start with /")]
    NotAbsolute,
    #[error("the path has an empty segment (//)")]
    EmptySegment,
    #[error("the path has a . or .. segment")]
    DotSegment,
    #[error("the path has a malformed %-escape")]
    BadEscape,
    #[error("the path is not UTF-8 once decoded")]
    NotUtf8,
    #[error("the path has a forbidden character once decoded")]
    ForbiddenChar,
}

/// The bundle key for the raw (still %-encoded) path of a request.
///
/// Refused: no leading `/`; `//`; `.` and `..` segments, encoded or not; malformed escapes;
/// anything that is not UTF-8 once decoded (overlong forms like `%c0%ae` included); and, once
/// decoded, `/` or `\` inside a segment, control characters (NUL included) and `%` (left by
/// double encoding such as `%252e`). A trailing `/` is kept: `about/` is a navigation.
pub fn to_key(raw: &str) -> Result<Cow<'_, str>, PathError> {
    let rest = raw.strip_prefix('/').ok_or(PathError::NotAbsolute)?;
    let body = rest.strip_suffix('/').unwrap_or(rest);
    if body.is_empty() {
        // `/` is the index; `//` is not.
        return match rest {
            "" => Ok(Cow::Borrowed("")),
            _ => Err(PathError::EmptySegment),
        };
    }
    if !body.contains('%') {
        // The common case: nothing to decode, so the key borrows the path.
        for segment in body.split('/') {
            check_segment(segment)?;
        }
        return Ok(Cow::Borrowed(rest));
    }
    // Decode segment by segment, so an encoded `/` cannot join two of them.
    let mut key = String::with_capacity(rest.len());
    for (i, segment) in body.split('/').enumerate() {
        if i > 0 {
            key.push('/');
        }
        let segment = percent_decode(segment)?;
        check_segment(&segment)?;
        key.push_str(&segment);
    }
    if rest.ends_with('/') {
        key.push('/');
    }
    Ok(Cow::Owned(key))
}

/// One decoded path segment or file name: usable as part of a key?
pub fn check_segment(segment: &str) -> Result<(), PathError> {
    if segment == "." || segment == ".." {
        return Err(PathError::DotSegment);
    }
    if segment.is_empty() {
        return Err(PathError::EmptySegment);
    }
    if segment
        .chars()
        .any(|c| matches!(c, '/' | '\\' | '%') || c.is_control())
    {
        return Err(PathError::ForbiddenChar);
    }
    Ok(())
}

/// Does the key name something a browser navigates to rather than an asset it fetches?
/// True when its last segment has no extension (`about`, `items/42`, `about/`, ``).
pub fn is_navigation(key: &str) -> bool {
    let name = key.rsplit('/').next().unwrap_or(key);
    // A leading dot (`.well-known`) is a hidden name, not an extension.
    !name.char_indices().any(|(i, c)| c == '.' && i > 0)
}

fn percent_decode(segment: &str) -> Result<String, PathError> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = bytes.get(i + 1).and_then(|&b| hex(b));
            let lo = bytes.get(i + 2).and_then(|&b| hex(b));
            let (Some(hi), Some(lo)) = (hi, lo) else {
                return Err(PathError::BadEscape);
            };
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    // Rust's UTF-8 validation rejects overlong encodings and surrogates.
    String::from_utf8(out).map_err(|_| PathError::NotUtf8)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_map_to_keys_without_copying() {
        for (raw, key) in [
            ("/", ""),
            ("/index.html", "index.html"),
            ("/assets/app-0123abcd.js", "assets/app-0123abcd.js"),
            ("/about/", "about/"),
            ("/a..b.js", "a..b.js"),
            ("/.well-known", ".well-known"),
        ] {
            let got = to_key(raw).expect(raw);
            assert!(matches!(got, Cow::Borrowed(_)), "{raw}");
            assert_eq!(got, key);
        }
    }

    #[test]
    fn escapes_decode_per_segment() {
        for (raw, key) in [
            ("/caf%C3%A9.txt", "café.txt"),
            ("/a/b%20c/d.css", "a/b c/d.css"),
            ("/x/%61pp.js", "x/app.js"),
            ("/%61/", "a/"),
            ("/a/%62/", "a/b/"),
        ] {
            assert_eq!(to_key(raw).expect(raw), key, "{raw}");
        }
    }

    #[test]
    fn traversal_and_smuggling_are_refused() {
        for raw in [
            "",
            "*",
            "index.html",
            "//etc/passwd",
            "/a//b",
            "/..",
            "/../secret.txt",
            "/a/../../secret.txt",
            "/./index.html",
            "/%2e%2e/secret.txt",
            "/%2E%2E/secret.txt",
            "/.%2e/secret.txt",
            "/%2e/index.html",
            "/..%2fsecret.txt",
            "/a%2f..%2f..%2fsecret.txt",
            "/..%5csecret.txt",
            "/a\\..\\secret.txt",
            "/%252e%252e%252fsecret.txt",
            "/index.html%00.js",
            "/%c0%ae%c0%ae/secret.txt",
            "/%e0%80%ae/x",
            "/%ff.js",
            "/%zz",
            "/%2",
            "/a%0a.js",
        ] {
            assert!(to_key(raw).is_err(), "{raw:?} was accepted");
        }
    }

    #[test]
    fn navigation_is_a_last_segment_without_extension() {
        for key in ["", "about", "items/42", "about/", "app.js/", ".well-known"] {
            assert!(is_navigation(key), "{key}");
        }
        for key in ["missing.js", "x.wasm", "a/b.css", "items/v1.2"] {
            assert!(!is_navigation(key), "{key}");
        }
    }
}
