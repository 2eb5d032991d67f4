//! Attaching a document to a pushed image where scanners look for it: the cosign
//! convention, an OCI artifact tagged `sha256-<hex of the image digest>.<kind>` in the
//! image's repository. Any registry accepts it (no referrers API needed).
//!
//! The artifact is written as an OCI image layout and copied with skopeo, which keeps its
//! bytes (`--preserve-digests`) and uses the same credentials as podman and docker.

use std::path::Path;
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::{Error, Result, is_loopback};

/// The empty config OCI artifacts carry (`application/vnd.oci.empty.v1+json`).
const EMPTY_CONFIG: &[u8] = b"{}";

/// The tag of `kind` (e.g. `sbom`) attached to the image `digest` (`sha256:…`).
pub fn attached_tag(digest: &str, kind: &str) -> String {
    format!("{}.{kind}", digest.replacen(':', "-", 1))
}

/// Pushes `document` (of `media_type`) as `repository:sha256-<hex>.<kind>`, staged in
/// `layout` (emptied first); returns the reference it was pushed to.
pub fn attach(
    repository: &str,
    digest: &str,
    kind: &str,
    media_type: &str,
    document: &[u8],
    layout: &Path,
) -> Result<String> {
    if processes::find_program("skopeo").is_none() {
        return Err(Error::NotInstalled { program: "skopeo" });
    }
    let io = |source| Error::Io {
        path: layout.to_owned(),
        source,
    };
    if layout.exists() {
        std::fs::remove_dir_all(layout).map_err(io)?;
    }
    let blobs = layout.join("blobs").join("sha256");
    std::fs::create_dir_all(&blobs).map_err(io)?;
    let blob = |bytes: &[u8]| -> Result<serde_json::Value> {
        let hex = format!("{:x}", Sha256::digest(bytes));
        std::fs::write(blobs.join(&hex), bytes).map_err(io)?;
        Ok(serde_json::json!({"digest": format!("sha256:{hex}"), "size": bytes.len()}))
    };
    let descriptor = |mut d: serde_json::Value, media: &str| {
        d["mediaType"] = media.into();
        d
    };
    let config = descriptor(blob(EMPTY_CONFIG)?, "application/vnd.oci.empty.v1+json");
    let layer = descriptor(blob(document)?, media_type);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": media_type,
        "config": config,
        "layers": [layer],
    });
    let manifest = descriptor(
        blob(manifest.to_string().as_bytes())?,
        "application/vnd.oci.image.manifest.v1+json",
    );
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [manifest]});
    std::fs::write(layout.join("index.json"), index.to_string()).map_err(io)?;
    std::fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .map_err(io)?;

    let reference = format!("{repository}:{}", attached_tag(digest, kind));
    let what = format!("skopeo copy to {reference}");
    let mut copy = Command::new("skopeo");
    copy.args(["copy", "--quiet", "--preserve-digests"]);
    if is_loopback(&reference) {
        copy.arg("--dest-tls-verify=false");
    }
    copy.arg(format!("oci:{}", layout.display()))
        .arg(format!("docker://{reference}"));
    processes::run(&mut copy, &what)?;
    Ok(reference)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_tag_names_the_image_digest() {
        assert_eq!(
            super::attached_tag("sha256:ab12", "sbom"),
            "sha256-ab12.sbom"
        );
    }
}
