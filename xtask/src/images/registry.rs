//! What a registry holds: the size of a pushed image as it is stored (compressed layers).

use xshell::cmd;

use super::{Engine, engine::is_loopback};
use crate::project;

/// Sum of the config's and layers' sizes in the pushed manifest of `reference`
/// (`name@sha256:…`), read with skopeo when present, else the engine; None (with a note)
/// when neither can tell.
pub fn pushed_size(engine: Engine, reference: &str) -> Option<u64> {
    let size = pushed_manifest(engine, reference).and_then(|m| manifest_size(&m));
    if size.is_none() {
        eprintln!("xtask: images: could not read the pushed size of {reference}");
    }
    size
}

fn pushed_manifest(engine: Engine, reference: &str) -> Option<serde_json::Value> {
    let sh = project::shell().ok()?;
    let insecure = is_loopback(reference);
    let inspect = if processes::find_program("skopeo").is_some() {
        let tls = insecure.then_some("--tls-verify=false");
        let image = format!("docker://{reference}");
        cmd!(sh, "skopeo inspect --raw {tls...} {image}")
    } else {
        let program = engine.program();
        let tls = insecure.then_some(match engine {
            Engine::Podman => "--tls-verify=false",
            Engine::Docker => "--insecure",
        });
        cmd!(sh, "{program} manifest inspect {tls...} {reference}")
    };
    serde_json::from_str(&inspect.quiet().ignore_stderr().read().ok()?).ok()
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
