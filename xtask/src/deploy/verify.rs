//! After the rollouts of a deploy, an undo or a rollback, the release checked end to end
//! (crate `smoke`) through port-forwards: every API pod of this release ready, the list a
//! JSON array, the page and its `/config.json` naming the API.

use anyhow::Context;
use smoke::{Forward, Namespace};

use super::{
    kubectl::Kubectl,
    manifest::{self, Document},
    pods, port_forward,
};

/// `api`: the api Deployment as it rolled out; `docs`: the Services and the web-config of
/// the overlay.
pub fn verify(
    kubectl: &Kubectl,
    ns: &str,
    api: &Document,
    docs: &[Document],
) -> anyhow::Result<()> {
    let ns = Namespace {
        context: &kubectl.context,
        name: ns,
    };
    let (path, port) = kube_state::readiness_probe(&api.value, "api")
        .context("deployment/api has no HTTP readiness probe")?;
    let images = kube_state::images_of(&api.value);
    let selector = pods::of_deployment(api).context("deployment/api selects no pods")?;
    let listed = pods::list(kubectl, ns.name, &selector).context("listing the api pods")?;
    let names = kube_state::running(&listed, &images);
    anyhow::ensure!(!names.is_empty(), "no api pod runs {}", images.join(", "));
    for pod in &names {
        smoke::ready(
            &Forward::open(&ns, &format!("pod/{pod}"), port)?.base,
            &path,
        )?;
    }
    let port_of = |name| port_forward::service_port(docs, name);
    let listed = smoke::lists(&Forward::open(&ns, "svc/api", port_of("api")?)?.base)?;
    let site = Forward::open(&ns, "svc/web", port_of("web")?)?;
    smoke::page(&site.base)?;
    let api_url = manifest::config_value(docs, "web-config", "API_BASE_URL")
        .context("the plan has no web-config with API_BASE_URL")?;
    smoke::config_names(&site.base, api_url)?;
    eprintln!(
        "xtask: verified: {} api pod(s) ready, GET /randoms lists {listed}, the page and its config name {api_url}",
        names.len()
    );
    Ok(())
}
