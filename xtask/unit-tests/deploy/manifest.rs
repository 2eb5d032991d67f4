//! Unit tests of `xtask/src/deploy/manifest.rs`: a child module of it (`super`), kept
//! out of xtask/src so that tree is the program alone.

use super::*;

#[test]
fn parses_a_stream_and_names_resources_as_kubectl_does() {
    let docs = parse_all(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: n}\n---\n\
         ---\napiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: postgres}\n",
    )
    .unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0].resource(), "deployment/api");
    assert_eq!(docs[0].namespace.as_deref(), Some("n"));
    assert_eq!(docs[1].resource(), "cluster.postgresql.cnpg.io/postgres");
    let err = parse_all("kind: Thing\n").unwrap_err();
    assert!(
        format!("{err:#}").contains("not a Kubernetes object"),
        "{err:#}"
    );
}
