//! A CycloneDX bill of materials of exactly what a binary links.
//!
//! `cargo auditable build` embeds the binary's resolved dependency graph in it; this reads
//! that list back (`auditable-info`), leaves out build-time dependencies (build scripts and
//! proc macros run on the build machine and are not linked) and converts the rest with
//! `auditable-cyclonedx`. The result describes the binary as built, not the whole Cargo.lock.

use std::path::{Path, PathBuf};

use auditable_cyclonedx::auditable_serde::VersionInfo;
use auditable_cyclonedx::cyclonedx_bom::models::bom::SpecVersion;

/// The media type of the document `cyclonedx_json` returns (CycloneDX 1.5, JSON).
pub const MEDIA_TYPE: &str = "application/vnd.cyclonedx+json";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "{path}: no dependency list embedded ({why}); build it with `cargo auditable build` \
         (cargo install cargo-auditable --locked)"
    )]
    NotAuditable { path: PathBuf, why: String },
    #[error("{path}: the embedded dependency list is malformed: {why}")]
    Malformed { path: PathBuf, why: String },
}

/// The CycloneDX document (JSON) of the crates `binary` links, with their versions and
/// dependency edges.
pub fn cyclonedx_json(binary: &Path) -> Result<String, Error> {
    let embedded = auditable_info::json_from_file(binary, auditable_info::Limits::default())
        .map_err(|e| Error::NotAuditable {
            path: binary.to_owned(),
            why: e.to_string(),
        })?;
    let malformed = |why: String| Error::Malformed {
        path: binary.to_owned(),
        why,
    };
    let mut graph: serde_json::Value =
        serde_json::from_str(&embedded).map_err(|e| malformed(e.to_string()))?;
    linked_only(&mut graph).map_err(malformed)?;
    // From text: the format's types borrow strings, which a `Value` cannot lend.
    let info: VersionInfo =
        serde_json::from_str(&graph.to_string()).map_err(|e| malformed(e.to_string()))?;
    let bom = auditable_cyclonedx::auditable_to_minimal_cdx(&info);
    let mut out = Vec::new();
    bom.output_as_json(&mut out, SpecVersion::V1_5)
        .map_err(|e| malformed(e.to_string()))?;
    String::from_utf8(out).map_err(|e| malformed(e.to_string()))
}

/// Drops the packages of kind `build` from cargo auditable's graph (`{"packages": [...]}`,
/// edges as indices into that list) and renumbers the edges of the rest.
fn linked_only(graph: &mut serde_json::Value) -> Result<(), String> {
    let packages = graph
        .get_mut("packages")
        .and_then(|p| p.as_array_mut())
        .ok_or("no package list")?;
    let is_build = |p: &serde_json::Value| p.get("kind").and_then(|k| k.as_str()) == Some("build");
    let mut new_index = Vec::with_capacity(packages.len());
    let mut kept = 0;
    for package in packages.iter() {
        new_index.push((!is_build(package)).then(|| {
            kept += 1;
            kept - 1
        }));
    }
    packages.retain(|p| !is_build(p));
    for package in packages.iter_mut() {
        if let Some(edges) = package
            .get_mut("dependencies")
            .and_then(|d| d.as_array_mut())
        {
            let renumbered = edges
                .iter()
                .filter_map(|e| e.as_u64().and_then(|i| usize::try_from(i).ok()))
                .filter_map(|i| new_index.get(i).copied().flatten())
                .map(serde_json::Value::from)
                .collect();
            *edges = renumbered;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn build_dependencies_are_left_out_and_edges_renumbered() {
        let mut graph = json!({"packages": [
            {"name": "app", "version": "1.0.0", "source": "local", "dependencies": [1, 2, 3], "root": true},
            {"name": "serde_derive", "version": "1.0.0", "source": "crates.io", "kind": "build"},
            {"name": "serde", "version": "1.0.0", "source": "crates.io", "dependencies": [1]},
            {"name": "tokio", "version": "1.0.0", "source": "crates.io"},
        ]});
        super::linked_only(&mut graph).unwrap();
        let names: Vec<&str> = graph["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["app", "serde", "tokio"]);
        assert_eq!(graph["packages"][0]["dependencies"], json!([1, 2]));
        assert_eq!(graph["packages"][1]["dependencies"], json!([]));
    }
}
