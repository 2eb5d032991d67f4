//! The Kubernetes manifests, proven offline: every overlay renders (with xtask and with plain
//! kustomize), every document reads into its k8s-openapi type, every cross-reference holds,
//! the hardening rules hold for every container, and the manifests agree with what the
//! programs really read and serve. The last test breaks each rule on purpose to show the
//! checks can fail.

mod common;

use std::{collections::BTreeSet, sync::OnceLock};

use common::{ENVS, Manifests, REGISTRY, TAG, checks, plain, rendered};
use serde_json::Value;

fn assert_fine(problems: checks::Problems, env: &str) {
    assert!(problems.is_empty(), "{env}:\n  {}", problems.join("\n  "));
}

/// The routes of the API, from its OpenAPI document (which a test of the API proves is
/// served route by route).
fn api_routes() -> BTreeSet<String> {
    use utoipa::OpenApi;
    api::openapi::ApiDoc::openapi()
        .paths
        .paths
        .keys()
        .cloned()
        .collect()
}

/// Whether the real static server answers `path` with 200 by itself, rather than with the
/// SPA's index.html (which it serves for any unknown navigation).
fn web_answers(path: &str) -> bool {
    static APP: OnceLock<(web_server::app::App, tempfile::TempDir)> = OnceLock::new();
    const INDEX: &str = "<!doctype html><title>the SPA</title>";
    let (app, _dir) = APP.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("index.html"), INDEX).expect("write index.html");
        let bundle = web_server::bundle::Bundle::load(dir.path()).expect("bundle");
        let api = web_server::config::ApiBaseUrl::parse("http://localhost:3080").expect("url");
        (web_server::app::App::new(bundle, &api).expect("app"), dir)
    });
    let req = hyper::Request::get(path)
        .header("accept", "text/html")
        // HTTP/1.1 needs exactly one Host (RFC 9112 §3.2), as the kubelet sends.
        .header("host", "web")
        .body(())
        .expect("request");
    let res = app.respond(&req);
    let status = res.status();
    let body = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(http_body_util::BodyExt::collect(res.into_body()))
        .expect("body")
        .to_bytes();
    status == 200 && body != INDEX.as_bytes()
}

#[test]
fn every_overlay_renders_into_typed_objects_with_xtask_and_with_plain_kustomize() {
    for env in ENVS {
        let m = rendered(env);
        let kinds: BTreeSet<&str> = m.objects.iter().map(|o| o.kind.as_str()).collect();
        for kind in [
            "Namespace",
            "ServiceAccount",
            "ConfigMap",
            "Service",
            "Deployment",
            "Job",
            "PodDisruptionBudget",
            "NetworkPolicy",
            "Role",
            "RoleBinding",
        ] {
            assert!(kinds.contains(kind), "{env} renders no {kind}: {kinds:?}");
        }
        let extra: &[&str] = match env {
            "dev" => &["StatefulSet", "CronJob", "Secret", "PersistentVolumeClaim"],
            _ => &["Cluster", "HorizontalPodAutoscaler", "Ingress"],
        };
        for kind in extra {
            assert!(kinds.contains(kind), "{env} renders no {kind}");
        }
        plain(env);
    }
}

#[test]
fn plain_kustomize_differs_only_in_the_pinned_images_and_the_job_name() {
    for env in ENVS {
        let pinned = serde_json::to_string(&rendered(env).values()).unwrap();
        let unpinned = serde_json::to_string(&plain(env).values()).unwrap();
        assert!(unpinned.contains("registry.example/randoms/api:unpinned"));
        assert!(unpinned.contains(r#""name":"migrate""#));
        let as_pinned = unpinned
            .replace("registry.example/randoms/", &format!("{REGISTRY}/"))
            .replace(":unpinned", &format!(":{TAG}"))
            .replace(r#""name":"migrate""#, &format!(r#""name":"migrate-{TAG}""#));
        let a: Value = serde_json::from_str(&as_pinned).unwrap();
        let b: Value = serde_json::from_str(&pinned).unwrap();
        assert_eq!(
            a, b,
            "{env}: xtask render changes more than images and the Job name"
        );
    }
}

#[test]
fn each_environment_lives_in_its_own_namespace() {
    let dev = rendered("dev").namespace().to_owned();
    let prod = rendered("prod").namespace().to_owned();
    assert_ne!(dev, prod);
    for env in ENVS {
        assert_fine(checks::namespaces(rendered(env)), env);
    }
}

#[test]
fn services_select_pods_and_target_their_container_ports() {
    for env in ENVS {
        assert_fine(checks::service_selectors_and_ports(rendered(env)), env);
    }
}

#[test]
fn configured_ports_are_the_container_ports_and_the_database_is_where_the_api_looks() {
    for env in ENVS {
        assert_fine(checks::configured_ports(rendered(env)), env);
    }
}

#[test]
fn every_config_secret_volume_and_account_reference_resolves() {
    for env in ENVS {
        assert_fine(checks::references(rendered(env)), env);
    }
}

#[test]
fn every_container_is_hardened_bounded_and_pinned() {
    for env in ENVS {
        assert_fine(checks::hardening(rendered(env)), env);
    }
}

#[test]
fn probe_paths_are_real_routes_of_the_api_and_the_static_server() {
    let routes = api_routes();
    assert!(
        routes.contains("/ready") && routes.contains("/healthz"),
        "{routes:?}"
    );
    assert!(web_answers("/healthz"));
    assert!(
        !web_answers("/health"),
        "an unknown path gets the SPA, not a probe answer"
    );
    for env in ENVS {
        assert_fine(checks::probes(rendered(env), &routes, &web_answers), env);
    }
}

#[test]
fn config_maps_hold_exactly_the_variables_the_programs_read() {
    for env in ENVS {
        assert_fine(
            checks::config_keys(
                rendered(env),
                api::configuration::VARIABLES,
                web_server::config::VARIABLES,
                migrator::VARIABLES,
            ),
            env,
        );
    }
}

/// Where traces go is set per overlay: nowhere in dev (no spans at all), prod's collector
/// and ratio in prod; the same for the API (and the migrator, which reads its ConfigMap) as
/// for the static server, so that a user action is traced through both or neither.
#[test]
fn each_overlay_sends_every_programs_traces_to_one_collector_at_one_ratio() {
    const TRACES: [&str; 3] = [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_TRACES_SAMPLER",
        "OTEL_TRACES_SAMPLER_ARG",
    ];
    for env in ENVS {
        let m = rendered(env);
        let (api, web) = (m.config("api-config"), m.config("web-config"));
        for key in TRACES {
            assert_eq!(api.get(key), web.get(key), "{env}: {key}");
        }
        let want = match env {
            "prod" => [
                "http://otel-collector.monitoring:4318",
                "traceidratio",
                "0.1",
            ],
            _ => ["", "parentbased_always_on", "1.0"],
        };
        let have = TRACES.map(|key| api.get(key).map_or("(unset)", String::as_str));
        assert_eq!(have, want, "{env}: {TRACES:?}");
        let (_, job) = m
            .pod_templates()
            .into_iter()
            .find(|(owner, _)| owner.starts_with("Job/"))
            .unwrap_or_else(|| panic!("{env}: no migration Job"));
        let reads_api_config = job.spec.iter().flat_map(|s| &s.containers).any(|c| {
            c.env_from.iter().flatten().any(|from| {
                from.config_map_ref
                    .as_ref()
                    .is_some_and(|r| checks::is_generated(&r.name, "api-config"))
            })
        });
        assert!(reads_api_config, "{env}: the migrator traces as the API");
    }
}

#[test]
fn rollouts_keep_capacity_and_drain_before_the_kill() {
    let drain = web_server::server::DRAIN_TIMEOUT.as_secs();
    for env in ENVS {
        assert_fine(checks::rollout_safety(rendered(env), drain), env);
    }
}

#[test]
fn the_migration_job_carries_the_version_and_cleans_up() {
    for env in ENVS {
        assert_fine(
            checks::migration_job(
                rendered(env),
                &format!("migrate-{TAG}"),
                &format!("{REGISTRY}/migrator:{TAG}"),
            ),
            env,
        );
        assert_fine(
            checks::migration_job(
                &plain(env),
                "migrate",
                "registry.example/randoms/migrator:unpinned",
            ),
            env,
        );
    }
}

#[test]
fn dev_runs_a_statefulset_with_backups_and_prod_a_cloudnativepg_cluster() {
    for env in ENVS {
        assert_fine(checks::database(rendered(env)), env);
    }
}

#[test]
fn network_policies_deny_by_default_and_admit_only_the_database_clients() {
    assert_fine(
        checks::network_policies(rendered("dev"), &["api", "migrator", "postgres-backup"]),
        "dev",
    );
    assert_fine(
        checks::network_policies(rendered("prod"), &["api", "migrator"]),
        "prod",
    );
}

#[test]
fn the_developer_role_deploys_and_reads_logs_but_never_secrets() {
    for env in ENVS {
        assert_fine(checks::rbac(rendered(env)), env);
    }
}

#[test]
fn the_page_calls_the_api_where_it_is_reachable() {
    for env in ENVS {
        assert_fine(checks::ingress_and_origins(rendered(env)), env);
    }
}

#[test]
fn our_images_are_pinned_to_the_release_and_the_others_to_a_version() {
    for env in ENVS {
        let images = checks::images(rendered(env));
        for (id, component) in [
            ("Deployment/api/api", "api"),
            ("Deployment/web/web", "web"),
            (format!("Job/migrate-{TAG}/migrator").as_str(), "migrator"),
        ] {
            assert_eq!(
                images.get(id).map(String::as_str),
                Some(format!("{REGISTRY}/{component}:{TAG}").as_str()),
                "{env}: {images:?}"
            );
        }
        for (id, image) in &images {
            assert!(
                !image.contains("registry.example"),
                "{env}: {id} runs the placeholder {image}"
            );
        }
    }
}

#[test]
fn the_only_secret_rendered_is_dev_s_generated_from_the_ignored_file() {
    assert_eq!(rendered("prod").secrets().count(), 0);
    let dev = rendered("dev");
    let secrets: Vec<_> = dev.secrets().collect();
    assert_eq!(secrets.len(), 1);
    let secret = secrets[0];
    let name = secret.metadata.name.clone().unwrap_or_default();
    assert!(
        checks::is_generated(&name, "postgres-app"),
        "{name}: not made by the secretGenerator"
    );
    assert_eq!(secret.type_.as_deref(), Some("kubernetes.io/basic-auth"));
    let keys: BTreeSet<_> = secret
        .data
        .iter()
        .flatten()
        .map(|(k, _)| k.clone())
        .collect();
    assert_eq!(keys, ["password", "username"].map(String::from).into());
    let file = std::fs::read_to_string(common::root().join("deploy/overlays/dev/secrets/db.env"))
        .expect("the render created the dev secret file");
    let password = file
        .lines()
        .find_map(|l| l.strip_prefix("password="))
        .expect("a password line");
    let rendered_password = &secret.data.as_ref().unwrap()["password"].0;
    assert_eq!(rendered_password.as_slice(), password.as_bytes());
}

/// A change to the manifests, and the check that must then complain.
struct Breakage {
    env: &'static str,
    what: &'static str,
    kind: &'static str,
    name: &'static str,
    change: fn(&mut Value),
    check: fn(&Manifests) -> checks::Problems,
    expect: &'static str,
}

fn set(v: &mut Value, pointer: &str, to: Value) {
    *v.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("no {pointer} to change")) = to;
}

#[test]
fn every_check_fails_on_manifests_broken_on_purpose() {
    let breakages = [
        Breakage {
            env: "dev",
            what: "a Service selecting nothing",
            kind: "Service",
            name: "api",
            change: |v| set(v, "/spec/selector/app.kubernetes.io~1name", "apii".into()),
            check: checks::service_selectors_and_ports,
            expect: "selects no pod",
        },
        Breakage {
            env: "prod",
            what: "a target port no container has",
            kind: "Service",
            name: "web",
            change: |v| set(v, "/spec/ports/0/targetPort", "www".into()),
            check: checks::service_selectors_and_ports,
            expect: "is no container port",
        },
        Breakage {
            env: "dev",
            what: "a ConfigMap that does not exist",
            kind: "Deployment",
            name: "api",
            change: |v| {
                set(
                    v,
                    "/spec/template/spec/containers/0/envFrom/0/configMapRef/name",
                    "api-config".into(),
                )
            },
            check: checks::references,
            expect: "ConfigMap api-config exists nowhere",
        },
        Breakage {
            env: "prod",
            what: "a Secret key CloudNativePG does not make",
            kind: "Job",
            name: "migrate",
            change: |v| {
                set(
                    v,
                    "/spec/template/spec/containers/0/env/1/valueFrom/secretKeyRef/key",
                    "pasword".into(),
                )
            },
            check: checks::references,
            expect: "has no key pasword",
        },
        Breakage {
            env: "dev",
            what: "a mount of no volume",
            kind: "CronJob",
            name: "postgres-backup",
            change: |v| {
                set(
                    v,
                    "/spec/jobTemplate/spec/template/spec/containers/0/volumeMounts/0/name",
                    "backup".into(),
                )
            },
            check: checks::references,
            expect: "which is no volume",
        },
        Breakage {
            env: "dev",
            what: "a writable root filesystem",
            kind: "Deployment",
            name: "web",
            change: |v| {
                set(
                    v,
                    "/spec/template/spec/containers/0/securityContext/readOnlyRootFilesystem",
                    false.into(),
                )
            },
            check: checks::hardening,
            expect: "readOnlyRootFilesystem",
        },
        Breakage {
            env: "prod",
            what: "service links back on (API_PORT=tcp://…)",
            kind: "Deployment",
            name: "api",
            change: |v| set(v, "/spec/template/spec/enableServiceLinks", true.into()),
            check: checks::hardening,
            expect: "enableServiceLinks",
        },
        Breakage {
            env: "dev",
            what: "an unpinned image",
            kind: "StatefulSet",
            name: "postgres",
            change: |v| {
                set(
                    v,
                    "/spec/template/spec/containers/0/image",
                    "postgres:latest".into(),
                )
            },
            check: checks::hardening,
            expect: "not pinned",
        },
        Breakage {
            env: "dev",
            what: "a readiness probe that ignores the database",
            kind: "Deployment",
            name: "api",
            change: |v| {
                set(
                    v,
                    "/spec/template/spec/containers/0/readinessProbe/httpGet/path",
                    "/healthz".into(),
                )
            },
            check: |m| checks::probes(m, &api_routes(), &web_answers),
            expect: "readiness must be /ready",
        },
        Breakage {
            env: "prod",
            what: "a web probe answered by the SPA fallback",
            kind: "Deployment",
            name: "web",
            change: |v| {
                set(
                    v,
                    "/spec/template/spec/containers/0/livenessProbe/httpGet/path",
                    "/health".into(),
                )
            },
            check: |m| checks::probes(m, &api_routes(), &web_answers),
            expect: "is not a route",
        },
        Breakage {
            env: "dev",
            what: "a ConfigMap key the API does not read",
            kind: "ConfigMap",
            name: "api-config",
            change: |v| v["data"]["API_PROT"] = "3080".into(),
            check: |m| {
                checks::config_keys(
                    m,
                    api::configuration::VARIABLES,
                    web_server::config::VARIABLES,
                    migrator::VARIABLES,
                )
            },
            expect: "API_PROT",
        },
        Breakage {
            env: "dev",
            what: "a grace period shorter than the drain",
            kind: "Deployment",
            name: "api",
            change: |v| {
                set(
                    v,
                    "/spec/template/spec/terminationGracePeriodSeconds",
                    30.into(),
                )
            },
            check: |m| checks::rollout_safety(m, 10),
            expect: "terminationGracePeriodSeconds 30",
        },
        Breakage {
            env: "prod",
            what: "a rollout that may drop capacity",
            kind: "Deployment",
            name: "api",
            change: |v| set(v, "/spec/strategy/rollingUpdate/maxUnavailable", 1.into()),
            check: |m| checks::rollout_safety(m, 10),
            expect: "maxUnavailable 0",
        },
        Breakage {
            env: "prod",
            what: "event-stream heartbeats a proxy would not wait for",
            kind: "ConfigMap",
            name: "api-config",
            change: |v| set(v, "/data/API_STREAM_HEARTBEAT_SECS", "45".into()),
            check: |m| checks::rollout_safety(m, 10),
            expect: "API_STREAM_HEARTBEAT_SECS",
        },
        Breakage {
            env: "dev",
            what: "the API pointed at another database port",
            kind: "ConfigMap",
            name: "api-config",
            change: |v| set(v, "/data/DB_PORT", "5433".into()),
            check: checks::configured_ports,
            expect: "DB_PORT",
        },
        Breakage {
            env: "dev",
            what: "a database volume two pods could share",
            kind: "StatefulSet",
            name: "postgres",
            change: |v| {
                set(
                    v,
                    "/spec/volumeClaimTemplates/0/spec/accessModes/0",
                    "ReadWriteMany".into(),
                )
            },
            check: checks::database,
            expect: "ReadWriteMany",
        },
        Breakage {
            env: "dev",
            what: "the web pods admitted to the database",
            kind: "NetworkPolicy",
            name: "postgres-clients",
            change: |v| {
                set(
                    v,
                    "/spec/ingress/0/from/0/podSelector/matchLabels/app.kubernetes.io~1name",
                    "web".into(),
                )
            },
            check: |m| checks::network_policies(m, &["api", "migrator", "postgres-backup"]),
            expect: "expected exactly",
        },
        Breakage {
            env: "prod",
            what: "developers reading Secrets",
            kind: "Role",
            name: "developer",
            change: |v| set(v, "/rules/2/resources/0", "secrets".into()),
            check: checks::rbac,
            expect: "grants secrets",
        },
        Breakage {
            env: "prod",
            what: "the page told to call another origin",
            kind: "ConfigMap",
            name: "web-config",
            change: |v| set(v, "/data/API_BASE_URL", "https://api.example.com".into()),
            check: checks::ingress_and_origins,
            expect: "is not the Ingress origin",
        },
    ];
    for b in breakages {
        let mut values = rendered(b.env).values();
        let target = values
            .iter_mut()
            .find(|v| {
                v["kind"] == b.kind
                    && v["metadata"]["name"]
                        .as_str()
                        .is_some_and(|n| n.starts_with(b.name))
            })
            .unwrap_or_else(|| panic!("{}: no {} {}", b.env, b.kind, b.name));
        (b.change)(target);
        let broken = Manifests::from_values(b.env, values)
            .unwrap_or_else(|e| panic!("{}: {}: {e}", b.env, b.what));
        let problems = (b.check)(&broken);
        assert!(
            problems.iter().any(|p| p.contains(b.expect)),
            "{}: {} went unnoticed (expected a problem with {:?}, got {problems:?})",
            b.env,
            b.what,
            b.expect
        );
    }
}

#[test]
fn a_field_no_kubernetes_type_has_is_an_error() {
    let mut values = rendered("dev").values();
    let api = values
        .iter_mut()
        .find(|v| v["kind"] == "Deployment" && v["metadata"]["name"] == "api")
        .unwrap();
    api["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = serde_json::json!({});
    let err = Manifests::from_values("dev", values).unwrap_err();
    assert!(err.contains("readinesProbe"), "{err}");
}

/// A private registry: `--pull-secret` makes exactly our three ServiceAccounts pull with the
/// Secret, in both environments; without it none does; a name kubectl would refuse is
/// refused first, naming the flag.
#[test]
fn a_pull_secret_reaches_our_service_accounts_only() {
    let pull_secrets = |m: &common::Manifests| {
        m.service_accounts()
            .map(|sa| {
                let names: Vec<String> = sa
                    .image_pull_secrets
                    .iter()
                    .flatten()
                    .map(|r| r.name.clone())
                    .collect();
                (sa.metadata.name.clone().unwrap_or_default(), names)
            })
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    for env in ENVS {
        let text = common::render_with(env, &["--pull-secret", "ghcr-pull"]);
        let text = String::from_utf8(text).expect("UTF-8");
        let with = common::Manifests::parse(env, &text).expect("manifests");
        for (account, secrets) in pull_secrets(&with) {
            let ours = ["api", "migrator", "web"].contains(&account.as_str());
            let want: &[&str] = if ours { &["ghcr-pull"] } else { &[] };
            assert_eq!(secrets, want, "{env}: ServiceAccount {account}");
        }
        assert!(
            pull_secrets(rendered(env)).values().all(Vec::is_empty),
            "{env}: no pull secret unless asked for"
        );
    }
    let out = common::xtask(&["render", "dev", "--tag", TAG, "--pull-secret", "Not_A_Name"])
        .output()
        .expect("running xtask");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("--pull-secret"),
        "{stderr}"
    );
}
