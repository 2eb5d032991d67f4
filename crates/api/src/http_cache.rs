//! HTTP caching of the API's answers (RFC 9111, RFC 9110 §13): a strong ETag per body,
//! `If-None-Match` answered with 304, and what each route allows in `Cache-Control`.

use std::hash::{DefaultHasher, Hasher};

use actix_web::{
    HttpRequest, HttpResponse,
    http::header::{self, ContentType, HeaderValue},
    web::Bytes,
};

/// The list changes with any write anywhere: stored, but revalidated every time (a 304
/// from the replica's copy is cheap).
pub const LIST: &str = "no-cache";
/// An item never changes; it can only go (a restore), so a short lifetime.
pub const ITEM: &str = "public, max-age=300";

/// A JSON body and its ETag, computed once per body (and cached with it).
#[derive(Clone, Debug)]
pub struct Answer {
    pub body: Bytes,
    pub etag: HeaderValue,
}

impl Answer {
    pub fn new(body: Bytes) -> Self {
        // SipHash with fixed keys: the same body gives the same tag in every replica of a
        // build, so a poller may move between them.
        let mut hasher = DefaultHasher::new();
        hasher.write(&body);
        let etag = HeaderValue::from_str(&format!("\"{:016x}\"", hasher.finish()))
            .unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
        Self { body, etag }
    }

    /// 304 when the request's `If-None-Match` names this answer, else 200 with the body;
    /// both with the ETag and `cache_control`.
    pub fn respond(&self, req: &HttpRequest, cache_control: &'static str) -> HttpResponse {
        let mut res = if names(req, &self.etag) {
            HttpResponse::NotModified().finish()
        } else {
            HttpResponse::Ok()
                .insert_header(ContentType::json())
                .body(self.body.clone())
        };
        let headers = res.headers_mut();
        headers.insert(header::ETAG, self.etag.clone());
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(cache_control),
        );
        res
    }
}

/// Whether any `If-None-Match` of the request is `*` or names `etag` (the weak comparison
/// RFC 9110 §13.1.2 prescribes: `W/` is ignored).
fn names(req: &HttpRequest, etag: &HeaderValue) -> bool {
    let ours = etag.as_bytes();
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag.as_bytes() == ours)
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn a_tag_matches_itself_weakly_in_a_list_or_as_a_star() {
        let answer = Answer::new(Bytes::from_static(b"[]"));
        let tag = answer.etag.to_str().expect("ASCII").to_owned();
        assert!(
            tag.starts_with('"') && tag.ends_with('"') && tag.len() == 18,
            "{tag}"
        );
        assert_eq!(Answer::new(Bytes::from_static(b"[]")).etag, answer.etag);
        assert_ne!(Answer::new(Bytes::from_static(b"[1]")).etag, answer.etag);
        for (header, expected) in [
            (tag.clone(), true),
            (format!("W/{tag}"), true),
            (format!("\"other\", {tag}"), true),
            ("*".to_owned(), true),
            ("\"other\"".to_owned(), false),
            (tag.trim_matches('"').to_owned(), false),
        ] {
            let req = TestRequest::default()
                .insert_header((header::IF_NONE_MATCH, header.as_str()))
                .to_http_request();
            assert_eq!(names(&req, &answer.etag), expected, "{header}");
        }
        assert!(!names(
            &TestRequest::default().to_http_request(),
            &answer.etag
        ));
    }
}
