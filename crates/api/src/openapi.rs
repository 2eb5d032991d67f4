//! `/openapi.json`, generated from the handlers' annotations and the domain types.

use std::{io::Write, sync::OnceLock};

use actix_web::{
    HttpRequest, HttpResponse,
    http::header::{self, ContentType},
    web::Bytes,
};
use domain::{ErrorBody, Random};
use utoipa::OpenApi;

use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "randoms API",
        description = "The latest random UUIDs, and a way to add one."
    ),
    paths(
        routes::list,
        routes::create,
        routes::get_one,
        routes::events,
        routes::healthz,
        routes::ready,
        document,
        crate::metrics::serve,
    ),
    components(schemas(Random, ErrorBody))
)]
pub struct ApiDoc;

/// This document: brotli or gzip when `Accept-Encoding` allows (it is ~10 KB of JSON),
/// compressed once per process.
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "OpenAPI 3.1", content_type = "application/json")))]
pub async fn document(req: HttpRequest) -> HttpResponse {
    static ENCODED: OnceLock<Vec<(&str, Bytes)>> = OnceLock::new();
    let encoded = ENCODED.get_or_init(encode);
    let accepted = accepted(&req);
    // The first accepted coding in our order of preference; identity (last) otherwise.
    let chosen = encoded.iter().find(|(coding, _)| accepted.contains(coding));
    let Some((coding, body)) = chosen.or(encoded.last()) else {
        return HttpResponse::InternalServerError().finish();
    };
    let mut res = HttpResponse::Ok();
    res.insert_header(ContentType::json())
        .insert_header((header::VARY, "accept-encoding"));
    if *coding != "identity" {
        res.insert_header((header::CONTENT_ENCODING, *coding));
    }
    res.body(body.clone())
}

/// The document as br, gzip and identity, in that order; a coding that failed (writing to
/// memory does not) is left out.
fn encode() -> Vec<(&'static str, Bytes)> {
    let json = serde_json::to_vec(&ApiDoc::openapi()).unwrap_or_default();
    let brotli = || -> std::io::Result<Vec<u8>> {
        let params = brotli::enc::BrotliEncoderParams {
            quality: 9,
            ..Default::default()
        };
        let mut out = Vec::new();
        // Dropping the writer ends the stream.
        brotli::CompressorWriter::with_params(&mut out, 4096, &params).write_all(&json)?;
        Ok(out)
    };
    let gzip = || -> std::io::Result<Vec<u8>> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&json)?;
        gz.finish()
    };
    let mut encoded: Vec<(&str, Bytes)> = [("br", brotli()), ("gzip", gzip())]
        .into_iter()
        .filter_map(|(coding, body)| Some((coding, Bytes::from(body.ok()?))))
        .collect();
    encoded.push(("identity", Bytes::from(json)));
    encoded
}

/// The codings of `Accept-Encoding` we have (`*` is any), without those refused by `q=0`.
fn accepted(req: &HttpRequest) -> Vec<&'static str> {
    let mut allowed = Vec::new();
    let values = req.headers().get_all(header::ACCEPT_ENCODING);
    for item in values
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
    {
        let mut parts = item.split(';').map(str::trim);
        let coding = parts.next().unwrap_or_default().to_ascii_lowercase();
        let q = parts.find_map(|p| p.strip_prefix("q=")?.parse::<f32>().ok());
        if q == Some(0.0) {
            continue;
        }
        allowed.extend(
            ["br", "gzip"]
                .into_iter()
                .filter(|k| *k == coding || coding == "*"),
        );
    }
    allowed
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn accept_encoding_lists_codings_and_q_0_refuses_one() {
        let accepted = |value: &str| {
            let req = TestRequest::default()
                .insert_header((header::ACCEPT_ENCODING, value))
                .to_http_request();
            accepted(&req)
        };
        assert_eq!(accepted("gzip, deflate, br"), ["gzip", "br"]);
        assert_eq!(accepted("BR;q=1.0, gzip;q=0"), ["br"]);
        assert_eq!(accepted("*"), ["br", "gzip"]);
        assert!(accepted("identity, deflate").is_empty());
        assert!(accepted("gzip; q=0.000").is_empty());
    }

    #[test]
    fn every_coding_holds_the_same_document() {
        use std::io::Read;
        let encoded = encode();
        let codings: Vec<&str> = encoded.iter().map(|(c, _)| *c).collect();
        assert_eq!(codings, ["br", "gzip", "identity"]);
        let plain = &encoded[2].1;
        let mut from_br = Vec::new();
        brotli::Decompressor::new(&encoded[0].1[..], 4096)
            .read_to_end(&mut from_br)
            .expect("brotli");
        let mut from_gz = Vec::new();
        flate2::read::GzDecoder::new(&encoded[1].1[..])
            .read_to_end(&mut from_gz)
            .expect("gzip");
        assert_eq!((&from_br[..], &from_gz[..]), (&plain[..], &plain[..]));
        assert!(encoded[0].1.len() < plain.len() / 3, "compressed");
    }
}
