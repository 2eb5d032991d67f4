//! What a registry holds: the size of a pushed image as it is stored (compressed layers).

use std::process::Command;

use super::{Engine, engine::is_loopback};
use crate::project;

/// Sum of the config's and layers' sizes in the pushed manifest of `reference`
/// (`name@sha256:…`), read with skopeo when present, else the engine; None (with a note)
/// when neither can tell.
pub fn pushed_size(engine: Engine, reference: &str) -> Option<u64> {
    let insecure = is_loopback(reference);
    let mut cmd = if project::on_path("skopeo") {
        let mut cmd = Command::new("skopeo");
        cmd.args(["inspect", "--raw"]);
        if insecure {
            cmd.arg("--tls-verify=false");
        }
        cmd.arg(format!("docker://{reference}"));
        cmd
    } else {
        let mut cmd = Command::new(engine.program());
        cmd.args(["manifest", "inspect"]);
        if insecure {
            cmd.arg(match engine {
                Engine::Podman => "--tls-verify=false",
                Engine::Docker => "--insecure",
            });
        }
        cmd.arg(reference);
        cmd
    };
    let size = cmd
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| serde_json::from_slice::<serde_json::Value>(&out.stdout).ok())
        .and_then(|manifest| manifest_size(&manifest));
    if size.is_none() {
        eprintln!("xtask: images: could not read the pushed size of {reference}");
    }
    size
}

fn manifest_size(manifest: &serde_json::Value) -> Option<u64> {
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
