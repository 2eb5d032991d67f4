//! Kubernetes RBAC as the API server's authorizer decides (plugin/pkg/auth/authorizer/rbac):
//! a ClusterRoleBinding grants its ClusterRole everywhere, cluster-scoped objects and
//! non-resource URLs included; a RoleBinding grants its Role, or a ClusterRole, in its own
//! namespace only. A rule allows a request when it lists the verb, the API group, the
//! resource (`resource/subresource` for a subresource) and, if it lists names at all, the
//! name. No aggregation: a ClusterRole with an aggregationRule is refused.

use std::fmt;

use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, Subject,
};

/// One authorization check: a verb on a resource, or on a non-resource URL.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Request {
    pub verb: String,
    pub target: Target,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    Resource {
        group: String,
        /// `pods`, or `pods/log` for a subresource.
        resource: String,
        /// None: cluster-scoped, or across all namespaces.
        namespace: Option<String>,
        /// None: no name (a list, a create by POST) or one not known in advance.
        name: Option<String>,
    },
    NonResource {
        path: String,
    },
}

impl Request {
    pub fn resource(
        verb: &str,
        group: &str,
        resource: &str,
        ns: Option<&str>,
        name: Option<&str>,
    ) -> Self {
        Self {
            verb: verb.to_owned(),
            target: Target::Resource {
                group: group.to_owned(),
                resource: resource.to_owned(),
                namespace: ns.map(str::to_owned),
                name: name.map(str::to_owned),
            },
        }
    }

    pub fn non_resource(path: &str) -> Self {
        Self {
            verb: "get".to_owned(),
            target: Target::NonResource {
                path: path.to_owned(),
            },
        }
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.target {
            Target::NonResource { path } => write!(f, "{} {path}", self.verb),
            Target::Resource {
                group,
                resource,
                namespace,
                name,
            } => {
                let dot = if group.is_empty() { "" } else { "." };
                let name = name
                    .as_deref()
                    .map_or("(any name)".into(), |n| format!("{n:?}"));
                let ns = namespace
                    .as_deref()
                    .map_or("cluster-wide".into(), |n| format!("in namespace {n}"));
                write!(f, "{} {resource}{dot}{group} {name} {ns}", self.verb)
            }
        }
    }
}

/// Who asks: a user name and its groups.
#[derive(Clone, Debug)]
pub struct User {
    pub name: String,
    pub groups: Vec<String>,
}

impl User {
    /// What a ServiceAccount's token authenticates as.
    pub fn service_account(namespace: &str, name: &str) -> Self {
        Self {
            name: format!("system:serviceaccount:{namespace}:{name}"),
            groups: vec![
                "system:serviceaccounts".to_owned(),
                format!("system:serviceaccounts:{namespace}"),
                "system:authenticated".to_owned(),
            ],
        }
    }
}

/// The roles and bindings of a cluster (those the tests know of).
#[derive(Clone, Debug, Default)]
pub struct Policy {
    pub roles: Vec<Role>,
    pub cluster_roles: Vec<ClusterRole>,
    pub role_bindings: Vec<RoleBinding>,
    pub cluster_role_bindings: Vec<ClusterRoleBinding>,
}

impl Policy {
    /// Adds the built-in system:discovery ClusterRole and its binding to every authenticated
    /// user (kube-apiserver's bootstrap policy): discovery, OpenAPI, version, health.
    pub fn with_bootstrap_discovery(mut self) -> Self {
        let (role, binding) = serde_json::from_value(serde_json::json!([
            {
                "metadata": {"name": "system:discovery"},
                "rules": [{"verbs": ["get"], "nonResourceURLs": [
                    "/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi",
                    "/openapi/*", "/readyz", "/version", "/version/"
                ]}]
            },
            {
                "metadata": {"name": "system:discovery"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:discovery"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:authenticated"}]
            }
        ]))
        .expect("the bootstrap discovery role");
        self.cluster_roles.push(role);
        self.cluster_role_bindings.push(binding);
        self
    }

    pub fn allows(&self, user: &User, request: &Request) -> bool {
        let namespace = match &request.target {
            Target::Resource { namespace, .. } => namespace.as_deref(),
            Target::NonResource { .. } => None,
        };
        self.rules_for(user, namespace)
            .into_iter()
            .any(|rule| rule_allows(rule, request))
    }

    /// The rules that apply to `user` in `namespace` (None: cluster-wide only).
    fn rules_for(&self, user: &User, namespace: Option<&str>) -> Vec<&PolicyRule> {
        let mut rules = Vec::new();
        for binding in &self.cluster_role_bindings {
            if binds(binding.subjects.as_deref(), user, None)
                && binding.role_ref.kind == "ClusterRole"
            {
                rules.extend(self.cluster_role_rules(&binding.role_ref.name));
            }
        }
        let Some(namespace) = namespace else {
            return rules;
        };
        for binding in &self.role_bindings {
            let here = binding.metadata.namespace.as_deref() == Some(namespace);
            if !here || !binds(binding.subjects.as_deref(), user, Some(namespace)) {
                continue;
            }
            match binding.role_ref.kind.as_str() {
                "ClusterRole" => rules.extend(self.cluster_role_rules(&binding.role_ref.name)),
                "Role" => rules.extend(
                    self.roles
                        .iter()
                        .filter(|r| {
                            r.metadata.namespace.as_deref() == Some(namespace)
                                && r.metadata.name.as_deref() == Some(&binding.role_ref.name)
                        })
                        .flat_map(|r| r.rules.iter().flatten()),
                ),
                _ => {}
            }
        }
        rules
    }

    fn cluster_role_rules(&self, name: &str) -> Vec<&PolicyRule> {
        let role = self
            .cluster_roles
            .iter()
            .find(|r| r.metadata.name.as_deref() == Some(name));
        if let Some(role) = role {
            assert!(
                role.aggregation_rule.is_none(),
                "ClusterRole {name}: aggregation is not modelled"
            );
        }
        role.into_iter()
            .flat_map(|r| r.rules.iter().flatten())
            .collect()
    }

    /// Every rule, named `Kind/name rule N`.
    pub fn rules(&self) -> Vec<(String, &PolicyRule)> {
        let roles = self
            .roles
            .iter()
            .map(|r| ("Role", &r.metadata.name, &r.rules));
        let cluster = self
            .cluster_roles
            .iter()
            .map(|r| ("ClusterRole", &r.metadata.name, &r.rules));
        roles
            .chain(cluster)
            .flat_map(|(kind, name, rules)| {
                let name = name.clone().unwrap_or_default();
                rules
                    .iter()
                    .flatten()
                    .enumerate()
                    .map(move |(i, rule)| (format!("{kind}/{name} rule {}", i + 1), rule))
            })
            .collect()
    }

    /// Every policy with one verb, resource, non-resource URL or (of two or more) name less
    /// in one rule, with what it lacks: each is narrower than this one.
    pub fn narrowed(&self) -> Vec<(String, Policy)> {
        let mut out = Vec::new();
        let count = self.rules().len();
        for index in 0..count {
            let rule = self.rules()[index].1.clone();
            let lists: [(&str, Vec<String>); 4] = [
                ("verb", rule.verbs.clone()),
                ("resource", rule.resources.clone().unwrap_or_default()),
                ("URL", rule.non_resource_urls.clone().unwrap_or_default()),
                ("name", rule.resource_names.clone().unwrap_or_default()),
            ];
            for (what, items) in lists {
                // Without its last name a rule would allow every name: wider, not narrower.
                if what == "name" && items.len() < 2 {
                    continue;
                }
                for item in &items {
                    let mut policy = self.clone();
                    let rule = policy.rule_mut(index);
                    let list = match what {
                        "verb" => &mut rule.verbs,
                        "resource" => rule.resources.get_or_insert_default(),
                        "URL" => rule.non_resource_urls.get_or_insert_default(),
                        _ => rule.resource_names.get_or_insert_default(),
                    };
                    list.retain(|x| x != item);
                    out.push((format!("{}: {what} {item}", self.rules()[index].0), policy));
                }
            }
        }
        out
    }

    fn rule_mut(&mut self, index: usize) -> &mut PolicyRule {
        let roles = self.roles.iter_mut().map(|r| &mut r.rules);
        let cluster = self.cluster_roles.iter_mut().map(|r| &mut r.rules);
        roles
            .chain(cluster)
            .flat_map(|rules| rules.iter_mut().flatten())
            .nth(index)
            .expect("a rule of this policy")
    }
}

/// Whether a binding's subjects include `user`; a ServiceAccount subject without a
/// namespace is in the RoleBinding's.
fn binds(subjects: Option<&[Subject]>, user: &User, binding_namespace: Option<&str>) -> bool {
    subjects
        .into_iter()
        .flatten()
        .any(|s| match s.kind.as_str() {
            "User" => s.name == user.name,
            "Group" => user.groups.contains(&s.name),
            "ServiceAccount" => s
                .namespace
                .as_deref()
                .or(binding_namespace)
                .is_some_and(|ns| user.name == format!("system:serviceaccount:{ns}:{}", s.name)),
            _ => false,
        })
}

fn rule_allows(rule: &PolicyRule, request: &Request) -> bool {
    let lists = |list: &Option<Vec<String>>, value: &str| {
        list.iter().flatten().any(|x| x == "*" || x == value)
    };
    if !rule.verbs.iter().any(|v| v == "*" || *v == request.verb) {
        return false;
    }
    match &request.target {
        Target::Resource {
            group,
            resource,
            name,
            ..
        } => {
            let subresource = resource.split_once('/').map(|(_, sub)| sub);
            let resource_matches = rule.resources.iter().flatten().any(|r| {
                r == "*" || r == resource || subresource.is_some_and(|sub| *r == format!("*/{sub}"))
            });
            let name_matches = match rule.resource_names.as_deref() {
                None | Some([]) => true,
                Some(names) => name.as_ref().is_some_and(|n| names.contains(n)),
            };
            lists(&rule.api_groups, group) && resource_matches && name_matches
        }
        Target::NonResource { path } => rule.non_resource_urls.iter().flatten().any(|url| {
            url == path
                || url
                    .strip_suffix('*')
                    .is_some_and(|prefix| path.starts_with(prefix))
        }),
    }
}
