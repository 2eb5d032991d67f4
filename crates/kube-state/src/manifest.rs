//! Rendered manifests as documents: enough structure to plan a deploy (kinds, names,
//! namespaces, a few fields), without modelling Kubernetes objects.

use serde::Deserialize;
use serde_json::Value;

/// A YAML stream that is not a list of Kubernetes objects.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("YAML document {index}: {source}")]
    Yaml {
        index: usize,
        source: serde_yaml_ng::Error,
    },
    #[error(
        "YAML document {index}: not a Kubernetes object (apiVersion, kind and metadata.name are required)"
    )]
    NotAnObject { index: usize },
    #[error("serializing {id}: {source}")]
    Serialize {
        id: String,
        source: serde_yaml_ng::Error,
    },
}

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
    pub fn to_yaml(&self) -> Result<String, ManifestError> {
        serde_yaml_ng::to_string(&self.value).map_err(|source| ManifestError::Serialize {
            id: self.id(),
            source,
        })
    }
}

/// `key` of the ConfigMap generated from `base` (`web-config` → `web-config-<hash>`).
pub fn config_value<'a>(docs: &'a [Document], base: &str, key: &str) -> Option<&'a str> {
    docs.iter()
        .find(|d| d.kind == "ConfigMap" && d.name.starts_with(base))
        .and_then(|d| d.str_at(&format!("/data/{key}")))
}

/// Every document of a multi-document YAML stream (empty ones skipped).
pub fn parse_all(text: &str) -> Result<Vec<Document>, ManifestError> {
    let mut docs = Vec::new();
    for (i, de) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let index = i + 1;
        let value =
            Value::deserialize(de).map_err(|source| ManifestError::Yaml { index, source })?;
        if value.is_null() {
            continue;
        }
        docs.push(document(value).ok_or(ManifestError::NotAnObject { index })?);
    }
    Ok(docs)
}

fn document(value: Value) -> Option<Document> {
    let field = |pointer: &str| value.pointer(pointer).and_then(Value::as_str);
    let (Some(api_version), Some(kind), Some(name)) = (
        field("/apiVersion"),
        field("/kind"),
        field("/metadata/name"),
    ) else {
        return None;
    };
    Some(Document {
        api_version: api_version.to_owned(),
        kind: kind.to_owned(),
        name: name.to_owned(),
        namespace: field("/metadata/namespace").map(str::to_owned),
        value: value.clone(),
    })
}

/// The documents as one YAML stream.
pub fn to_yaml_stream<'a>(
    docs: impl IntoIterator<Item = &'a Document>,
) -> Result<String, ManifestError> {
    let mut out = String::new();
    for doc in docs {
        out.push_str("---\n");
        out.push_str(&doc.to_yaml()?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_stream_and_names_resources_as_kubectl_does() {
        let docs = parse_all(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: n}\n---\n\
             ---\napiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: postgres}\n",
        )
        .expect("two objects");
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].resource(), "deployment/api");
        assert_eq!(docs[0].namespace.as_deref(), Some("n"));
        assert_eq!(docs[1].resource(), "cluster.postgresql.cnpg.io/postgres");
        let err = parse_all("kind: Thing\n").expect_err("no name").to_string();
        assert!(
            err.contains("YAML document 1: not a Kubernetes object"),
            "{err}"
        );
    }
}
