//! What a registry holds: the size of a pushed image as it is stored (compressed layers),
//! and the per-platform images of a pushed index.

use std::process::{Command, Stdio};

use crate::{Engine, Platform, is_loopback};

/// Sum of the config's and layers' sizes in the pushed manifest of `reference`
/// (`name@sha256:…`), read with skopeo when present, else the engine; None when neither
/// can tell.
pub fn pushed_size(engine: Engine, reference: &str) -> Option<u64> {
    pushed_manifest(engine, reference).and_then(|m| manifest_size(&m))
}

/// The images an index (`name@sha256:…`) lists, by platform, as `name@sha256:…`; empty
/// when it is one image, or unreadable.
pub fn platform_images(engine: Engine, reference: &str) -> Vec<(Platform, String)> {
    let name = reference
        .split_once('@')
        .map_or(reference, |(name, _)| name);
    pushed_manifest(engine, reference)
        .map(|index| index_entries(&index))
        .unwrap_or_default()
        .into_iter()
        .map(|(platform, digest)| (platform, format!("{name}@{digest}")))
        .collect()
}

/// An index's Linux images we build for, with their digests.
fn index_entries(index: &serde_json::Value) -> Vec<(Platform, String)> {
    let entries = index["manifests"].as_array().map_or(&[][..], Vec::as_slice);
    entries
        .iter()
        .filter(|m| m["platform"]["os"] == "linux")
        .filter_map(|m| {
            let platform = Platform::from_arch(m["platform"]["architecture"].as_str()?)?;
            Some((platform, m["digest"].as_str()?.to_owned()))
        })
        .collect()
}

fn pushed_manifest(engine: Engine, reference: &str) -> Option<serde_json::Value> {
    let insecure = is_loopback(reference);
    let mut inspect = if processes::find_program("skopeo").is_some() {
        let mut skopeo = Command::new("skopeo");
        skopeo.args(["inspect", "--raw"]);
        if insecure {
            skopeo.arg("--tls-verify=false");
        }
        skopeo.arg(format!("docker://{reference}"));
        skopeo
    } else {
        let mut manifest = Command::new(engine.program());
        manifest.args(["manifest", "inspect"]);
        if insecure {
            manifest.arg(match engine {
                Engine::Podman => "--tls-verify=false",
                Engine::Docker => "--insecure",
            });
        }
        manifest.arg(reference);
        manifest
    };
    let out = inspect
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status.success().then_some(())?;
    serde_json::from_slice(&out.stdout).ok()
}

/// Config plus layers, as an image manifest lists them; None when a size is missing (an
/// index of platforms has none).
pub fn manifest_size(manifest: &serde_json::Value) -> Option<u64> {
    let config = manifest["config"]["size"].as_u64()?;
    let layers = manifest["layers"].as_array()?;
    layers
        .iter()
        .map(|layer| layer["size"].as_u64())
        .sum::<Option<u64>>()
        .map(|layers| config + layers)
}

#[cfg(test)]
mod tests {
    use crate::Platform;

    #[test]
    fn an_index_lists_its_platforms() {
        let index = serde_json::json!({
            "manifests": [
                {"digest": "sha256:a", "platform": {"os": "linux", "architecture": "amd64"}},
                {"digest": "sha256:b", "platform": {"os": "linux", "architecture": "arm64"}},
                {"digest": "sha256:c", "platform": {"os": "unknown", "architecture": "unknown"}},
            ]
        });
        assert_eq!(
            super::index_entries(&index),
            [
                (Platform::Amd64, "sha256:a".to_owned()),
                (Platform::Arm64, "sha256:b".to_owned())
            ]
        );
        assert!(super::index_entries(&serde_json::json!({"layers": []})).is_empty());
    }

    #[test]
    fn sums_config_and_layers() {
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "config": {"size": 100},
            "layers": [{"size": 1000}, {"size": 20}],
        });
        assert_eq!(super::manifest_size(&manifest), Some(1120));
        assert_eq!(
            super::manifest_size(&serde_json::json!({"config": {}})),
            None
        );
    }
}
