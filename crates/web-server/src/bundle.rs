//! The SPA bundle, read whole into memory at start and indexed by key.
//!
//! It is small (well under a megabyte), so a request is a hash lookup with no filesystem
//! access: fast, and nothing outside `WEB_ROOT` is reachable by construction. Every header
//! value a file needs (type, length, ETag, caching) is computed here, once.

use std::{
    collections::{HashMap, HashSet},
    fs, io,
    path::{Path, PathBuf},
};

use bytes::Bytes;
use hyper::header::HeaderValue;

use crate::{headers, mime, negotiate::Encoding, path};

/// Refuse to hold more than this: `WEB_ROOT` pointing at the wrong directory should fail
/// at start, not fill the memory.
pub const MAX_BYTES: u64 = 256 * 1024 * 1024;
pub const MAX_FILES: usize = 10_000;

/// Why the bundle cannot be served. Messages lead with the variable to fix; an I/O cause is
/// the `source()` (print with `{:#}` through anyhow to see it).
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("WEB_ROOT: cannot open {path}")]
    Root { path: PathBuf, source: io::Error },
    #[error("WEB_ROOT: {0} is not a directory")]
    NotADirectory(PathBuf),
    #[error("WEB_ROOT: {0} has no index.html (is it the SPA's dist directory?)")]
    NoIndex(PathBuf),
    #[error("WEB_ROOT: cannot read {path}")]
    Read { path: PathBuf, source: io::Error },
    #[error(
        "WEB_ROOT: {0} holds more than {MAX_FILES} files or {mib} MiB (is it the SPA's dist directory?)",
        mib = MAX_BYTES >> 20
    )]
    TooLarge(PathBuf),
}

/// One stored encoding of a file, with its precomputed headers.
#[derive(Debug, Clone)]
pub struct Representation {
    pub body: Bytes,
    /// Strong, and distinct per encoding: a cached gzip body must not validate a br one.
    pub etag: HeaderValue,
    pub content_length: HeaderValue,
}

impl Representation {
    fn new(body: Bytes, encoding: Encoding) -> Self {
        let suffix = encoding
            .header_value()
            .map_or(String::new(), |e| format!("-{e}"));
        // FNV-1a, not a std hasher: the tag must be the same in every replica and release
        // for the same bytes. Collisions are harmless enough here (length is in the tag too).
        let hash = body.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        let etag = format!("\"{hash:016x}-{:x}{suffix}\"", body.len());
        Self {
            etag: HeaderValue::try_from(etag).expect("quotes, hex and a dash are a valid header"),
            content_length: HeaderValue::from(body.len()),
            body,
        }
    }
}

/// A servable file: the identity body and whichever precompressed ones exist.
#[derive(Debug, Clone)]
pub struct Asset {
    pub content_type: HeaderValue,
    pub cache_control: HeaderValue,
    pub identity: Representation,
    pub br: Option<Representation>,
    pub gzip: Option<Representation>,
}

impl Asset {
    pub fn new(
        content_type: &'static str,
        cache_control: &'static str,
        identity: Bytes,
        br: Option<Bytes>,
        gzip: Option<Bytes>,
    ) -> Self {
        Self {
            content_type: HeaderValue::from_static(content_type),
            cache_control: HeaderValue::from_static(cache_control),
            identity: Representation::new(identity, Encoding::Identity),
            br: br.map(|b| Representation::new(b, Encoding::Brotli)),
            gzip: gzip.map(|b| Representation::new(b, Encoding::Gzip)),
        }
    }

    /// A bundle file: type and caching follow from its key.
    fn from_file(key: &str, identity: Bytes, br: Option<Bytes>, gzip: Option<Bytes>) -> Self {
        let cache_control = if key == "index.html" {
            headers::NO_CACHE
        } else {
            headers::cache_control(key)
        };
        Self::new(mime::content_type(key), cache_control, identity, br, gzip)
    }

    /// The same file (type, caching) with other content: identity only, since the stored
    /// encodings would hold the old content; the ETag and length follow the new bytes.
    pub fn with_identity(&self, identity: Bytes) -> Self {
        Self {
            content_type: self.content_type.clone(),
            cache_control: self.cache_control.clone(),
            identity: Representation::new(identity, Encoding::Identity),
            br: None,
            gzip: None,
        }
    }

    /// Stored in more than one encoding, so the answer depends on `Accept-Encoding`.
    pub fn is_negotiable(&self) -> bool {
        self.br.is_some() || self.gzip.is_some()
    }

    /// The representation for `encoding`, falling back to identity when it is not stored.
    pub fn representation(&self, encoding: Encoding) -> &Representation {
        let stored = match encoding {
            Encoding::Brotli => self.br.as_ref(),
            Encoding::Gzip => self.gzip.as_ref(),
            Encoding::Identity => None,
        };
        stored.unwrap_or(&self.identity)
    }

    /// Memory held, all encodings together.
    fn bytes(&self) -> usize {
        [Some(&self.identity), self.br.as_ref(), self.gzip.as_ref()]
            .into_iter()
            .flatten()
            .map(|r| r.body.len())
            .sum()
    }
}

/// Every file of the bundle by key (`assets/app.js`); `X.br` and `X.gz` are folded into `X`.
#[derive(Debug, Clone)]
pub struct Bundle {
    files: HashMap<String, Asset>,
    index: Asset,
}

impl Bundle {
    /// Reads the whole of `root`. Skipped, with a warning: symlinks that lead outside `root`
    /// (or nowhere), names no request could spell (not UTF-8, or with `\`, `%` or control
    /// characters), hidden entries (`.git`, `.DS_Store`) and special files. `X.br` and `X.gz`
    /// next to `X` become its precompressed encodings; without `X` they are ordinary files.
    pub fn load(root: &Path) -> Result<Self, BundleError> {
        let canonical = fs::canonicalize(root).map_err(|source| BundleError::Root {
            path: root.to_owned(),
            source,
        })?;
        if !canonical.is_dir() {
            return Err(BundleError::NotADirectory(root.to_owned()));
        }
        let mut walk = Walk {
            root: canonical.clone(),
            display_root: root.to_owned(),
            raw: HashMap::new(),
            visited: HashSet::from([canonical.clone()]),
            total: 0,
        };
        walk.dir(&canonical, "")?;
        let raw = walk.raw;

        let mut files = HashMap::with_capacity(raw.len());
        for (key, body) in &raw {
            let sibling_of = key.strip_suffix(".br").or_else(|| key.strip_suffix(".gz"));
            if sibling_of.is_some_and(|base| raw.contains_key(base)) {
                continue;
            }
            let br = raw.get(&format!("{key}.br")).cloned();
            let gzip = raw.get(&format!("{key}.gz")).cloned();
            let asset = Asset::from_file(key, body.clone(), br, gzip);
            files.insert(key.clone(), asset);
        }
        let index = files
            .get("index.html")
            .cloned()
            .ok_or_else(|| BundleError::NoIndex(root.to_owned()))?;
        Ok(Self { files, index })
    }

    pub fn get(&self, key: &str) -> Option<&Asset> {
        self.files.get(key)
    }

    /// `index.html`, which every bundle has: the answer to `/` and to SPA navigations.
    pub fn index(&self) -> &Asset {
        &self.index
    }

    /// Adds or replaces a file (e.g. the generated `config.json`); returns the one replaced.
    pub fn insert(&mut self, key: &str, asset: Asset) -> Option<Asset> {
        if key == "index.html" {
            self.index = asset.clone();
        }
        self.files.insert(key.to_owned(), asset)
    }

    /// How many keys are served.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Memory held by the bodies, all encodings together.
    pub fn bytes(&self) -> usize {
        self.files.values().map(Asset::bytes).sum()
    }
}

struct Walk {
    /// Canonical: every file read must resolve under it.
    root: PathBuf,
    /// As configured, for messages.
    display_root: PathBuf,
    raw: HashMap<String, Bytes>,
    /// Canonical directories already read, so a symlink loop inside the root ends.
    visited: HashSet<PathBuf>,
    total: u64,
}

impl Walk {
    fn dir(&mut self, dir: &Path, prefix: &str) -> Result<(), BundleError> {
        let read_error = |path: &Path| {
            let path = path.to_owned();
            move |source| BundleError::Read { path, source }
        };
        for entry in fs::read_dir(dir).map_err(read_error(dir))? {
            let entry = entry.map_err(read_error(dir))?;
            let path = entry.path();
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                tracing::warn!(path = %path.display(), "skipped: the name is not UTF-8");
                continue;
            };
            if name.starts_with('.') {
                tracing::debug!(path = %path.display(), "skipped: hidden");
                continue;
            }
            if let Err(why) = path::check_segment(&name) {
                tracing::warn!(path = %path.display(), %why, "skipped: no request can name it");
                continue;
            }
            let file_type = entry.file_type().map_err(read_error(&path))?;
            let real = if file_type.is_symlink() {
                match fs::canonicalize(&path) {
                    Ok(target) if target.starts_with(&self.root) => target,
                    Ok(target) => {
                        tracing::warn!(
                            path = %path.display(),
                            target = %target.display(),
                            "skipped: the symlink leads outside WEB_ROOT"
                        );
                        continue;
                    }
                    Err(e) => {
                        tracing::warn!(path = %path.display(), error = %e, "skipped: broken symlink");
                        continue;
                    }
                }
            } else {
                path.clone()
            };
            let meta = fs::metadata(&real).map_err(read_error(&path))?;
            let key = format!("{prefix}{name}");
            if meta.is_dir() {
                let canonical = fs::canonicalize(&real).map_err(read_error(&path))?;
                if self.visited.insert(canonical) {
                    self.dir(&real, &format!("{key}/"))?;
                }
            } else if meta.is_file() {
                self.total += meta.len();
                if self.total > MAX_BYTES || self.raw.len() >= MAX_FILES {
                    return Err(BundleError::TooLarge(self.display_root.clone()));
                }
                let body = fs::read(&real).map_err(read_error(&path))?;
                self.raw.insert(key, Bytes::from(body));
            } else {
                tracing::warn!(path = %path.display(), "skipped: not a file or directory");
            }
        }
        Ok(())
    }
}
