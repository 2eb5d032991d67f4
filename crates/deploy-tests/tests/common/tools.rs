//! A PATH for running xtask with every outside tool recorded: kubectl (the real one, or a
//! fake cluster that answers what a deploy asks), and docker, podman, kind, k3d and minikube,
//! which record their arguments and fail.

use std::{
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::Output,
};

use super::xtask;

pub enum Kubectl {
    /// The real kubectl, for `kustomize` and `config`: anything else would reach a cluster.
    Real,
    /// A cluster that serves every API the manifests use, applies anything, reports every
    /// rollout done, and finishes a migration Job with this condition (`Complete`, `Failed`);
    /// with `ImagePullBackOff`, the Job runs on and its pod cannot pull its image; with
    /// `RolloutPullBackOff` or `RolloutCrashLoop`, the Job completes, and the rollout of the
    /// api Deployment never ends (its new pod cannot pull the image the deploy applied, or
    /// crashes while another is not ready) until an image is set back; with `VerifyFails`,
    /// everything rolls out but the api answers 404 through its port-forwards until then;
    /// with `RolloutDeadline`, the api's new pod never gets ready and its rollout fails at
    /// the progress deadline.
    /// Otherwise one api pod runs the applied image, ready, and the port-forwards serve
    /// what a healthy release does (python3's http.server).
    FakeCluster { job_outcome: &'static str },
}

pub struct Tools {
    dir: tempfile::TempDir,
}

impl Tools {
    pub fn new(kubectl: Kubectl) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("calls.log");
        let real = processes::find_program("kubectl")
            .expect("kubectl on PATH (its kustomize renders the overlays)");
        let script = match kubectl {
            Kubectl::Real => format!(
                "#!/bin/sh\necho \"kubectl $*\" >> '{log}'\nexec '{real}' \"$@\"\n",
                log = log.display(),
                real = real.display()
            ),
            Kubectl::FakeCluster { job_outcome } => format!(
                r#"#!/bin/sh
echo "kubectl $*" >> '{log}'
[ "$1" = --context ] && shift 2
outcome=$(cat '{dir}/outcome' 2>/dev/null || echo '{job_outcome}')
case "$outcome" in Rollout*|Verify*) condition=Complete ;; *) condition=$outcome ;; esac
case "$1" in
  kustomize|config) exec '{real}' "$@" ;;
  version) echo '{{"serverVersion":{{"major":"1","minor":"33","gitVersion":"v1.33.1-fake"}}}}'; exit 0 ;;
  api-versions) printf '%s\n' v1 apps/v1 batch/v1 policy/v1 networking.k8s.io/v1 rbac.authorization.k8s.io/v1 autoscaling/v2 postgresql.cnpg.io/v1 cert-manager.io/v1 metrics.k8s.io/v1beta1 monitoring.coreos.com/v1; exit 0 ;;
  apply)
    case "$*" in *2-migration.yaml*) touch '{dir}/migration-applied' ;; esac
    # A copy of what was applied, in order: the deploy rewrites its phase files every run.
    prev=; for arg; do [ "$prev" = -f ] && file=$arg; prev=$arg; done
    mkdir -p '{dir}/applied'
    cp "$file" "{dir}/applied/$(ls '{dir}/applied' | wc -l | xargs printf %04d)-${{file##*/}}"
    case "$file" in
      # The history is served back as applied (JSON is what the deploy writes).
      *release-history.json) cp "$file" '{dir}/history.json' ;;
      # The page's config names the API the overlay configures.
      *1-foundation.yaml) url=$(sed -n 's/^ *API_BASE_URL: *//p' "$file" | head -n 1)
        printf '{{"api_base_url":"%s"}}' "$url" > '{dir}/www-web/config.json' ;;
      # The Deployments now run the images applied (and no image was set back since).
      *3-workloads.yaml) rm -f '{dir}/image-set'; for c in api web; do
        sed -n "s|^ *image: \(.*/$c[:@].*\)$|\1|p" "$file" | head -n 1 > "{dir}/image-$c"; done ;;
    esac ;;
esac
case "$*" in
  *"get configmap releases "*) cat '{dir}/history.json' 2>/dev/null ;;
  *"get deployment "*"--output=json")
    name=${{*#*get deployment }}; name=${{name%% *}}
    image=$(cat "{dir}/image-$name" 2>/dev/null)
    case "$name" in api) port=3080 path=/ready ;; *) port=8080 path=/healthz ;; esac
    probe='"ports":[{{"name":"http","containerPort":'$port'}}],"readinessProbe":{{"httpGet":{{"path":"'$path'","port":"http"}}}}'
    [ -n "$image" ] && echo '{{"apiVersion":"apps/v1","kind":"Deployment","metadata":{{"name":"'"$name"'"}},"spec":{{"selector":{{"matchLabels":{{"app.kubernetes.io/name":"'"$name"'"}}}},"template":{{"spec":{{"containers":[{{"name":"'"$name"'","image":"'"$image"'",'"$probe"'}}]}}}}}}}}' ;;
  *" set image deployment/"*)
    name=${{*#* set image deployment/}}; name=${{name%% *}}
    echo "${{*##*=}}" > "{dir}/image-$name"; touch '{dir}/image-set' ;;
  *"get cluster.postgresql.cnpg.io/postgres "*)
    echo '{{"status":{{"readyInstances":1,"phase":"Cluster in healthy state"}}}}' ;;
  # Replicas as set_replicas left them; nothing (unset) otherwise.
  *"get deployment "*"jsonpath={{.spec.replicas}}"*)
    name=${{*#*get deployment }}; name=${{name%% *}}
    cat '{dir}/replicas-'"$name" 2>/dev/null ;;
  *" scale deployment/"*)
    name=${{*#* scale deployment/}}; name=${{name%% *}}
    replicas=${{*#*--replicas=}}; echo "${{replicas%% *}}" > '{dir}/replicas-'"$name" ;;
  # A failing rollout never ends, until an image is set back (an undo).
  *"rollout status deployment/api "*)
    [ -e '{dir}/image-set' ] || case "$outcome" in
      RolloutDeadline) echo 'error: deployment "api" exceeded its progress deadline' >&2; exit 1 ;;
      Rollout*) exec sleep 300 ;;
    esac ;;
  *"get job "*)
    if [ -e '{dir}/migration-applied' ]; then
      echo '{{"status":{{"conditions":[{{"type":"'"$condition"'","status":"True","reason":"Fake"}}]}}}}'
    fi ;;
  *" logs api-"*) echo 'api: error: fake crash' ;;
  *" logs "*) echo 'migrator: error: fake failure' ;;
  *"get events "*) echo '{{"items":[{{"type":"Warning","reason":"BackOff","message":"Back-off restarting failed container api","count":3,"lastTimestamp":"2026-12-02T10:00:00Z"}}]}}' ;;
  *"get --raw "*) echo '{{"status":"not ready","reason":"fake: the database is unreachable"}}' ;;
  # Each forward is a static server of the pod's or Service's answers (www-*).
  *" port-forward "*)
    target=${{*#* port-forward }}; mapping=${{target#* }}; target=${{target%% *}}
    case "$target" in svc/web) www=www-web ;; *) www=www-api ;; esac
    [ "$outcome" = VerifyFails ] && [ ! -e '{dir}/image-set' ] && www=www-broken
    exec python3 -m http.server "${{mapping%%:*}}" --bind 127.0.0.1 --directory "{dir}/$www" >/dev/null 2>&1 ;;
  *"get pods "*)
    # The api pods run the image last applied or set, failing as the outcome says until
    # an undo sets one back.
    api=$(cat '{dir}/image-api' 2>/dev/null)
    # Healthy again once an image was set back.
    failing=$outcome; [ -e '{dir}/image-set' ] && failing=Complete
    ready='{{"image":"'"$api"'","name":"api","ready":true,"state":{{"running":{{"startedAt":"2026-12-02T10:00:00Z"}}}}}}'
    pull='{{"image":"IMAGE","name":"C","state":{{"waiting":{{"reason":"ImagePullBackOff","message":"pull access denied"}}}}}}'
    crash='{{"image":"'"$api"'","name":"api","restartCount":3,"state":{{"waiting":{{"reason":"CrashLoopBackOff","message":"back-off 40s"}}}},"lastState":{{"terminated":{{"reason":"Error","exitCode":1}}}}}}'
    unready='{{"image":"'"$api"'","name":"api","ready":false,"state":{{"running":{{"startedAt":"2026-12-02T10:00:00Z"}}}}}}'
    case "$failing $*" in
      ImagePullBackOff*job-name=*) containers=$(echo "$pull" | sed 's|IMAGE|fake/migrator:t|; s|"C"|"migrator"|') ;;
      *job-name=*) containers= ;;
      RolloutPullBackOff*) [ -n "$api" ] && containers=$(echo "$pull" | sed "s|IMAGE|$api|; s|\"C\"|\"api\"|") ;;
      RolloutCrashLoop*) [ -n "$api" ] && containers="$crash" ;;
      RolloutDeadline*) [ -n "$api" ] && containers="$unready" ;;
      *name=api*) [ -n "$api" ] && containers="$ready" ;;
    esac
    if [ -n "$containers" ]; then
      echo '{{"items":[{{"metadata":{{"name":"api-new-1"}},"status":{{"containerStatuses":['"$containers"']}}}}'
      [ "$failing" = RolloutCrashLoop ] && echo ',{{"metadata":{{"name":"api-new-2"}},"status":{{"containerStatuses":['"$unready"']}}}}'
      echo ']}}'
    fi ;;
esac
exit 0
"#,
                log = log.display(),
                real = real.display(),
                dir = dir.path().display(),
            ),
        };
        write_exe(&dir.path().join("kubectl"), &script);
        // What the fake's pods and Services answer through a port-forward.
        for (file, text) in [
            ("www-api/ready", r#"{"status":"ready"}"#),
            (
                "www-api/randoms",
                r#"[{"id":1,"name":"0b6cd0a2-6f4e-4a4c-9a43-8c1e0c2b8f11"}]"#,
            ),
            (
                "www-web/index.html",
                "<!doctype html><html><body>randoms</body></html>",
            ),
            ("www-broken/.keep", ""),
        ] {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        for tool in ["docker", "podman", "kind", "k3d", "minikube"] {
            let fake = format!(
                "#!/bin/sh\necho \"{tool} $*\" >> '{}'\nexit 97\n",
                log.display()
            );
            write_exe(&dir.path().join(tool), &fake);
        }
        std::fs::write(&log, "").unwrap();
        Self { dir }
    }

    /// A kubeconfig whose current context is `context` and whose cluster cannot answer.
    pub fn kubeconfig(&self, context: &str) -> PathBuf {
        let path = self.dir.path().join("kubeconfig");
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Config\ncurrent-context: {context}\n\
                 clusters: [{{name: c, cluster: {{server: 'https://127.0.0.1:9'}}}}]\n\
                 users: [{{name: u, user: {{token: not-a-real-token}}}}]\n\
                 contexts: [{{name: {context}, context: {{cluster: c, user: u}}}}]\n"
            ),
        )
        .unwrap();
        path
    }

    /// Runs xtask with these tools first on PATH; one at a time, since every deploy of an
    /// environment writes the same target/deploy/<env>.
    pub fn run(&self, args: &[&str], kubeconfig: Option<&Path>) -> Output {
        static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let path = format!(
            "{}:{}",
            self.dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = xtask(args);
        cmd.env("PATH", path);
        if let Some(kubeconfig) = kubeconfig {
            cmd.env("KUBECONFIG", kubeconfig);
        }
        cmd.output().expect("running xtask")
    }

    /// From now on, the fake cluster behaves as `Kubectl::FakeCluster` with this outcome.
    pub fn set_outcome(&self, outcome: &str) {
        std::fs::write(self.dir.path().join("outcome"), outcome).unwrap();
    }

    /// The fake cluster's release history (the ConfigMap's JSON) and the image its
    /// Deployment `name` runs, as an earlier deploy would have left them.
    pub fn set_history(&self, configmap: &str, live: &[(&str, &str)]) {
        std::fs::write(self.dir.path().join("history.json"), configmap).unwrap();
        for (name, image) in live {
            std::fs::write(self.dir.path().join(format!("image-{name}")), image).unwrap();
        }
    }

    /// The fake cluster's Deployment `name` runs `replicas` (e.g. 0 after a restore).
    pub fn set_replicas(&self, name: &str, replicas: u32) {
        std::fs::write(
            self.dir.path().join(format!("replicas-{name}")),
            replicas.to_string(),
        )
        .unwrap();
    }

    /// Every call, in order: `kubectl --context c apply …`.
    pub fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("calls.log"))
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The files of the fake cluster's `apply -f` calls, in order: (name, content).
    pub fn applied(&self) -> Vec<(String, String)> {
        let dir = self.dir.path().join("applied");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .map(|e| {
                        e.expect("an applied file")
                            .file_name()
                            .to_string_lossy()
                            .into_owned()
                    })
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
            .into_iter()
            .map(|name| {
                let text = std::fs::read_to_string(dir.join(&name)).expect("an applied file");
                (name, text)
            })
            .collect()
    }

    /// Only local kubectl commands ran: rendering, and reading the kubeconfig.
    pub fn assert_touched_nothing(&self) {
        for call in self.calls() {
            assert!(
                call.starts_with("kubectl kustomize ") || call == "kubectl config current-context",
                "a dry run or a refusal ran `{call}`"
            );
        }
    }
}

fn write_exe(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}
