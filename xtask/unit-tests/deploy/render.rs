//! Unit tests of `xtask/src/deploy/render` (a child module: `super` is that module), kept
//! out of the source tree so xtask/src stays the program.

use super::{release::job_name, *};

#[test]
fn job_names_are_dns_labels_carrying_the_tag() {
    assert_eq!(job_name("1a2b3c4"), "migrate-1a2b3c4");
    assert_eq!(job_name("1a2b3c4-dirty"), "migrate-1a2b3c4-dirty");
    assert_eq!(job_name("V1.2_rc"), "migrate-v1-2-rc");
    let long = job_name(&"x".repeat(100));
    assert_eq!(long.len(), 63);
    assert_eq!(job_name(&format!("{}.y", "x".repeat(54))).len(), 62);
}

#[test]
fn tags_and_registries_are_checked() {
    assert!(images::check_tag("abc1234-dirty").is_ok());
    assert!(images::check_tag("-x").is_err());
    assert!(images::check_tag("a/b").is_err());
    assert!(images::check_tag("").is_err());
    assert!(registry_for(Environment::Prod, None, "render").is_err());
    assert_eq!(
        registry_for(Environment::Dev, None, "render").unwrap(),
        "localhost/randoms"
    );
    assert_eq!(
        registry_for(Environment::Prod, Some("ghcr.io/acme/randoms/"), "render").unwrap(),
        "ghcr.io/acme/randoms"
    );
    assert!(registry_for(Environment::Prod, Some("ghcr.io/Acme/x"), "render").is_err());
}

#[test]
fn built_images_keep_their_digests() {
    let outcome = images::Outcome {
        engine: images::Engine::Docker,
        tag: "abc".into(),
        images: images::COMPONENTS
            .iter()
            .map(|&component| images::Built {
                component,
                reference: format!("r.io/x/{component}:abc"),
                digest: Some(format!("sha256:{component}")),
                platforms: Vec::new(),
            })
            .collect(),
    };
    let release = Release::from_built(&outcome).unwrap();
    assert_eq!(release.pins[0].reference(), "r.io/x/api:abc@sha256:api");
    assert_eq!(release.job_name(), "migrate-abc");
}

#[test]
fn relative_paths_climb_then_descend() {
    assert_eq!(
        relative(
            Path::new("/w/target/deploy/dev"),
            Path::new("/w/deploy/overlays/dev")
        ),
        PathBuf::from("../../../deploy/overlays/dev")
    );
}
