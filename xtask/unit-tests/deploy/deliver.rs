//! Unit tests of `xtask/src/deploy/deliver.rs`: a child module of it (`super`), kept
//! out of xtask/src so that tree is the program alone.

use super::*;
use images::Engine::{Docker, Podman};

#[test]
fn shared_engine_clusters_build_with_docker() {
    let desktop = Cluster::of("docker-desktop");
    assert_eq!(engine_for(&desktop, None).unwrap(), Some(Docker));
    assert_eq!(engine_for(&desktop, Some(Docker)).unwrap(), Some(Docker));
    let err = engine_for(&Cluster::of("orbstack"), Some(Podman)).unwrap_err();
    assert!(err.to_string().starts_with("--engine podman: "), "{err}");
    assert_eq!(engine_for(&Cluster::of("kind-x"), None).unwrap(), None);
    assert_eq!(
        engine_for(&Cluster::of("gke_x"), Some(Podman)).unwrap(),
        Some(Podman)
    );
}
