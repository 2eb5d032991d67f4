//! The version being rendered: its tag, and the image each of our components runs.

use anyhow::{Context, bail};

use super::BASE_JOB_NAME;
use crate::images;

/// One of our images, as the manifests will name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pin {
    pub component: &'static str,
    /// `REGISTRY/component`.
    pub name: String,
    pub tag: String,
    /// `sha256:…`, when the image was pushed.
    pub digest: Option<String>,
}

impl Pin {
    /// What the pods run: `name:tag`, plus `@digest` when known.
    pub fn reference(&self) -> String {
        let digest = self.digest.as_ref().map(|d| format!("@{d}"));
        format!("{}:{}{}", self.name, self.tag, digest.unwrap_or_default())
    }
}

/// The version being rendered: its tag and the three images.
#[derive(Clone, Debug)]
pub struct Release {
    pub tag: String,
    pub pins: Vec<Pin>,
    /// `--pull-secret`: the Secret our ServiceAccounts pull the images with (a private
    /// registry).
    pub pull_secret: Option<String>,
    /// `--with`: optional components of deploy/components/ rendered in.
    pub components: Vec<Addon>,
}

/// An optional kustomize component (`deploy/components/<name>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Addon {
    /// ServiceMonitor, PrometheusRules and a Grafana dashboard (needs prometheus-operator).
    Monitoring,
}

impl Addon {
    /// Its directory under deploy/components/.
    pub fn dir(self) -> &'static str {
        match self {
            Addon::Monitoring => "monitoring",
        }
    }
}

impl Release {
    pub fn new(registry: &str, tag: &str) -> anyhow::Result<Self> {
        images::check_tag(tag)?;
        let pins = images::COMPONENTS
            .iter()
            .map(|&component| Pin {
                component,
                name: format!("{registry}/{component}"),
                tag: tag.to_owned(),
                digest: None,
            })
            .collect();
        Ok(Self {
            tag: tag.to_owned(),
            pins,
            pull_secret: None,
            components: Vec::new(),
        })
    }

    /// Pulls the images with the Secret `name` (`--pull-secret`), when given.
    pub fn pulling_with(mut self, name: Option<&str>) -> anyhow::Result<Self> {
        if let Some(name) = name {
            // A Secret's name is a DNS subdomain: what kubectl would refuse, refused here.
            let valid = (1..=253).contains(&name.len())
                && name.split('.').all(|part| {
                    !part.is_empty()
                        && !part.starts_with('-')
                        && !part.ends_with('-')
                        && part
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                });
            if !valid {
                bail!(
                    "--pull-secret: {name:?} is not a Secret name (lower-case letters, digits, `-` and `.`)"
                );
            }
        }
        self.pull_secret = name.map(str::to_owned);
        Ok(self)
    }

    /// The images as built (and pushed): their digests pin them when known.
    pub fn from_built(outcome: &images::Outcome) -> anyhow::Result<Self> {
        images::check_tag(&outcome.tag)?;
        let mut pins = Vec::new();
        for component in images::COMPONENTS {
            let built = outcome
                .images
                .iter()
                .find(|b| b.component == component)
                .with_context(|| format!("the image build produced no {component} image"))?;
            let suffix = format!(":{}", outcome.tag);
            let Some(name) = built.reference.strip_suffix(&suffix) else {
                bail!(
                    "built image {} does not carry the tag {}",
                    built.reference,
                    outcome.tag
                );
            };
            pins.push(Pin {
                component,
                name: name.to_owned(),
                tag: outcome.tag.clone(),
                digest: built.digest.clone(),
            });
        }
        Ok(Self {
            tag: outcome.tag.clone(),
            pins,
            pull_secret: None,
            components: Vec::new(),
        })
    }

    /// `migrate-<tag>`, as a valid object name: each version gets its own Job.
    pub fn job_name(&self) -> String {
        job_name(&self.tag)
    }
}

/// `migrate-<tag>` squeezed into a DNS label: lower case, `-` for anything else, at most 63.
pub(super) fn job_name(tag: &str) -> String {
    let mut name = format!("{BASE_JOB_NAME}-");
    for c in tag.chars() {
        name.push(if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '-'
        });
    }
    name.truncate(63);
    name.trim_end_matches('-').to_owned()
}
