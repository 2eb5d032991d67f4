//! Unit tests of `xtask/src/deploy/plan.rs`: a child module of it (`super`), kept
//! out of xtask/src so that tree is the program alone.

use super::*;

#[test]
fn tls_hosts_are_https_and_no_ingress_means_port_forwards() {
    let docs = manifest::parse_all(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\n\
         spec: {tls: [{hosts: [a.example]}], rules: [{host: a.example}, {host: b.example}]}\n",
    )
    .unwrap();
    assert_eq!(
        access(&docs).unwrap(),
        Access::Ingress {
            urls: vec!["https://a.example/".into(), "http://b.example/".into()]
        }
    );
    let docs = manifest::parse_all(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 8080}]}\n---\n\
         apiVersion: v1\nkind: Service\nmetadata: {name: api}\nspec: {ports: [{port: 3080}]}\n",
    )
    .unwrap();
    let access = access(&docs).unwrap();
    assert_eq!(
        access,
        Access::PortForward {
            services: vec![("web".into(), 8080), ("api".into(), 3080)]
        }
    );
    let text = access.instructions("kind-x", "ns", "dev");
    assert!(text.contains("kubectl --context kind-x -n ns port-forward svc/web 8080:8080"));
    assert!(text.contains("http://localhost:8080"));
}
