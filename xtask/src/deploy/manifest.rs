//! Rendered manifests as documents: enough structure to plan a deploy (kinds, names,
//! namespaces, a few fields), without modelling Kubernetes objects.

use anyhow::{Context, bail};
use serde::Deserialize;
use serde_json::Value;

/// One object of a rendered overlay.
#[derive(Clone, Debug)]
pub struct Document {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    /// None for cluster-scoped objects (Namespace).
    pub namespace: Option<String>,
    pub value: Value,
}

impl Document {
    /// `Kind/name`, as in kubectl's messages.
    pub fn id(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }

    /// The field at a JSON pointer (`/spec/template/spec`).
    pub fn get(&self, pointer: &str) -> Option<&Value> {
        self.value.pointer(pointer)
    }

    pub fn str_at(&self, pointer: &str) -> Option<&str> {
        self.get(pointer).and_then(Value::as_str)
    }

    /// A Service's first port.
    pub fn port(&self) -> Option<u16> {
        let port = self.get("/spec/ports/0/port").and_then(Value::as_u64)?;
        u16::try_from(port).ok()
    }

    /// `kubectl`'s resource name: `deployment/api`, `cluster.postgresql.cnpg.io/postgres`.
    pub fn resource(&self) -> String {
        let kind = self.kind.to_lowercase();
        match self.api_version.split_once('/') {
            Some((group, _)) if group.contains('.') => format!("{kind}.{group}/{}", self.name),
            _ => format!("{kind}/{}", self.name),
        }
    }

    /// The document as YAML, for the files handed to `kubectl apply`.
    pub fn to_yaml(&self) -> anyhow::Result<String> {
        serde_yaml_ng::to_string(&self.value).with_context(|| format!("serializing {}", self.id()))
    }
}

/// Every document of a multi-document YAML stream (empty ones skipped).
/// `key` of the ConfigMap generated from `base` (`web-config` → `web-config-<hash>`).
pub fn config_value<'a>(docs: &'a [Document], base: &str, key: &str) -> Option<&'a str> {
    docs.iter()
        .find(|d| d.kind == "ConfigMap" && d.name.starts_with(base))
        .and_then(|d| d.str_at(&format!("/data/{key}")))
}

pub fn parse_all(text: &str) -> anyhow::Result<Vec<Document>> {
    let mut docs = Vec::new();
    for (i, de) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let value = Value::deserialize(de).with_context(|| format!("YAML document {}", i + 1))?;
        if value.is_null() {
            continue;
        }
        docs.push(document(value).with_context(|| format!("YAML document {}", i + 1))?);
    }
    Ok(docs)
}

fn document(value: Value) -> anyhow::Result<Document> {
    let field = |pointer: &str| value.pointer(pointer).and_then(Value::as_str);
    let (Some(api_version), Some(kind), Some(name)) = (
        field("/apiVersion"),
        field("/kind"),
        field("/metadata/name"),
    ) else {
        bail!("not a Kubernetes object (apiVersion, kind and metadata.name are required)");
    };
    Ok(Document {
        api_version: api_version.to_owned(),
        kind: kind.to_owned(),
        name: name.to_owned(),
        namespace: field("/metadata/namespace").map(str::to_owned),
        value: value.clone(),
    })
}

/// The documents as one YAML stream.
pub fn to_yaml_stream<'a>(docs: impl IntoIterator<Item = &'a Document>) -> anyhow::Result<String> {
    let mut out = String::new();
    for doc in docs {
        out.push_str("---\n");
        out.push_str(&doc.to_yaml()?);
    }
    Ok(out)
}

#[cfg(test)]
#[path = "../../unit-tests/deploy/manifest.rs"]
mod tests;
