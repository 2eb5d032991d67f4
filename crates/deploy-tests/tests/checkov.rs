//! checkov (a policy scanner, `pip install checkov`) over the rendered overlays and the
//! deployer's RBAC (deploy/deployer), with the skips of deploy/checkov.yaml (each one
//! explained there). Skipped, with a note, where checkov is not installed, except under `CI`
//! (.ci/run installs it); `CHECKOV=/path/to/checkov` names one off PATH.

mod common;

use std::process::Command;

use common::ENVS;

#[test]
fn checkov_finds_nothing_in_the_rendered_overlays() {
    let Some(checkov) = processes::find_program_or_env("CHECKOV", &["checkov"]) else {
        // .ci/run installs it: there, a missing scanner is a failure, not a skip.
        assert!(
            std::env::var_os("CI").is_none(),
            "checkov is not installed (pip install checkov), or set CHECKOV"
        );
        eprintln!("note: checkov is not installed (pip install checkov): policy scan skipped");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(&checkov);
    cmd.arg("--config-file")
        .arg(common::root().join("deploy/checkov.yaml"));
    for env in ENVS {
        let file = dir.path().join(format!("{env}.yaml"));
        std::fs::write(&file, common::render(env)).expect("write the manifests");
        cmd.arg("--file").arg(&file);
    }
    // The identity CI deploys with: plain kustomize, as an administrator applies it.
    let deployer = Command::new("kubectl")
        .arg("kustomize")
        .arg(common::root().join("deploy/deployer"))
        .output()
        .expect("kubectl renders deploy/deployer");
    assert!(
        deployer.status.success(),
        "kubectl kustomize deploy/deployer failed"
    );
    let file = dir.path().join("deployer.yaml");
    std::fs::write(&file, deployer.stdout).expect("write the deployer's manifests");
    cmd.arg("--file").arg(&file);
    let output = cmd.output().expect("running checkov");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && report.contains("Failed checks: 0"),
        "checkov found problems:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("Passed checks:"), "{report}");
}
