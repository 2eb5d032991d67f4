//! Unit tests of `xtask/src/deploy/context.rs`: a child module of it (`super`), kept
//! out of xtask/src so that tree is the program alone.

use super::*;

#[test]
fn contexts_are_classified_by_name() {
    assert_eq!(Cluster::of("kind-randoms"), Cluster::Kind("randoms".into()));
    assert_eq!(Cluster::of("k3d-dev"), Cluster::K3d("dev".into()));
    assert_eq!(
        Cluster::of("minikube"),
        Cluster::Minikube("minikube".into())
    );
    assert!(Cluster::of("orbstack").is_local());
    assert!(!Cluster::of("kind-").is_local());
    assert!(!Cluster::of("gke_acme_europe-west1_prod").is_local());
    assert!(!Cluster::of("my-kind-cluster").is_local());
}

#[test]
fn prod_needs_both_flags_and_remote_dev_needs_yes() {
    use Environment::{Dev, Prod};
    assert!(check_allowed(Dev, "kind-x", false, false).is_ok());
    let remote = check_allowed(Dev, "gke_x", false, false).unwrap_err();
    assert!(remote.to_string().contains("--yes"), "{remote}");
    assert!(check_allowed(Dev, "gke_x", true, true).is_ok());
    assert!(check_allowed(Prod, "kind-x", false, true).is_err());
    assert!(check_allowed(Prod, "gke_x", true, false).is_err());
    assert!(check_allowed(Prod, "gke_x", true, true).is_ok());
}
