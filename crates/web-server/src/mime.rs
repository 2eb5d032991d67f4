//! Content types by file extension.
//!
//! A fixed table rather than a MIME database: the bundle holds a known handful of kinds,
//! and `application/wasm` must be exact (browsers refuse streaming compilation otherwise).

/// The `Content-Type` for a bundle key (`app-3f9a1c0d_bg.wasm` → `application/wasm`).
pub fn content_type(key: &str) -> &'static str {
    let name = key.rsplit('/').next().unwrap_or(key);
    let ext = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => return DEFAULT,
    };
    match ext.as_str() {
        "wasm" => "application/wasm",
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "txt" => "text/plain; charset=utf-8",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "pdf" => "application/pdf",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mp3" => "audio/mpeg",
        "ogg" => "audio/ogg",
        "wav" => "audio/wav",
        "gz" => "application/gzip",
        "zip" => "application/zip",
        _ => DEFAULT,
    }
}

/// Unknown kinds are downloaded, never sniffed (the server also sends `nosniff`).
const DEFAULT: &str = "application/octet-stream";

#[cfg(test)]
mod tests {
    use super::content_type;

    #[test]
    fn the_bundle_kinds_have_exact_types() {
        for (key, expected) in [
            ("app-3f9a1c0d_bg.wasm", "application/wasm"),
            ("app-3f9a1c0d.js", "text/javascript; charset=utf-8"),
            ("style-ab12cd34.css", "text/css; charset=utf-8"),
            ("index.html", "text/html; charset=utf-8"),
            ("config.json", "application/json"),
            ("app.js.map", "application/json"),
            ("img/logo.SVG", "image/svg+xml"),
            ("favicon.ico", "image/x-icon"),
            ("robots.txt", "text/plain; charset=utf-8"),
            ("dir.v2/README", "application/octet-stream"),
            (".htaccess", "application/octet-stream"),
            ("blob.bin", "application/octet-stream"),
        ] {
            assert_eq!(content_type(key), expected, "{key}");
        }
    }
}
