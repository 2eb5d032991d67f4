//! The dev backup CronJob's own scripts, taken from the rendered manifests, run against a
//! real PostgreSQL: dumps are taken and pruned to the newest BACKUP_KEEP, and a dump
//! restores into a fresh database with every row back.

mod common;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
    thread,
    time::Duration,
};

use common::{checks, rendered};

/// Dumps kept in this test (the CronJob keeps more).
const KEEP: usize = 2;

/// The database server, as libpq's variables.
struct Server {
    bin: PathBuf,
    env: BTreeMap<&'static str, String>,
}

impl Server {
    fn start() -> Self {
        let admin = local_pg::shared_admin_url().expect("a local PostgreSQL");
        let url = url::Url::parse(&admin).expect("the admin URL is a postgres:// URL");
        let env = BTreeMap::from([
            ("PGHOST", url.host_str().expect("host").to_owned()),
            ("PGPORT", url.port().unwrap_or(5432).to_string()),
            ("PGUSER", url.username().to_owned()),
            ("PGPASSWORD", url.password().unwrap_or_default().to_owned()),
        ]);
        let bin = local_pg::Binaries::find()
            .expect("PostgreSQL binaries")
            .dir()
            .to_owned();
        Self { bin, env }
    }

    fn psql(&self, db: &str, sql: &str) -> String {
        let output = Command::new(self.bin.join("psql"))
            .args([
                "-X",
                "-q",
                "-t",
                "-A",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                db,
                "-c",
                sql,
            ])
            .envs(&self.env)
            .output()
            .expect("running psql");
        assert!(
            output.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    fn create_database(&self, name: &str) {
        self.psql("postgres", &format!("DROP DATABASE IF EXISTS {name}"));
        self.psql("postgres", &format!("CREATE DATABASE {name}"));
    }

    /// Runs a script as the CronJob does (`sh script`), with the CronJob's environment
    /// variables given values for this machine.
    fn script(&self, script: &Path, vars: &BTreeMap<String, String>) -> std::process::Output {
        let path = format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Command::new("sh")
            .arg(script)
            .env_clear()
            .env("PATH", path)
            .envs(vars)
            .output()
            .expect("running sh")
    }
}

/// The rows, in a form that compares whole tables.
fn rows(server: &Server, db: &str) -> String {
    server.psql(
        db,
        "SELECT count(*) || ':' || coalesce(string_agg(id || '=' || name, ',' ORDER BY id), '') FROM randoms",
    )
}

fn dumps(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("backup dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The CronJob's variables, with this machine's values (every variable it sets must be
/// known here, so a new one cannot go untested).
fn job_env(
    server: &Server,
    template: &str,
    db: &str,
    dir: &Path,
    extra: &[(&str, &str)],
) -> BTreeMap<String, String> {
    let m = rendered("dev");
    let cron = m
        .named(m.cron_jobs(), template)
        .unwrap_or_else(|| panic!("no CronJob {template}"));
    let container = &cron
        .spec
        .as_ref()
        .and_then(|s| s.job_template.spec.as_ref())
        .and_then(|s| s.template.spec.as_ref())
        .expect("a pod spec")
        .containers[0];
    let mut vars = BTreeMap::new();
    for var in container.env.iter().flatten() {
        let value = match var.name.as_str() {
            "PGHOST" | "PGPORT" | "PGUSER" | "PGPASSWORD" => server.env[var.name.as_str()].clone(),
            "PGDATABASE" => db.to_owned(),
            "BACKUP_DIR" => dir.display().to_string(),
            "BACKUP_KEEP" | "RESTORE_FILE" => var.value.clone().expect("a literal value"),
            other => panic!("{template} sets {other}, which this test does not know"),
        };
        vars.insert(var.name.clone(), value);
    }
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    vars
}

#[test]
fn the_backup_cronjob_keeps_the_newest_dumps_and_a_dump_restores_every_row() {
    let m = rendered("dev");
    let scripts = m.config("postgres-scripts");
    let work = tempfile::tempdir().expect("temp dir");
    let backup_sh = work.path().join("backup.sh");
    let restore_sh = work.path().join("restore.sh");
    std::fs::write(&backup_sh, &scripts["backup.sh"]).unwrap();
    std::fs::write(&restore_sh, &scripts["restore.sh"]).unwrap();
    let backups = work.path().join("backups");
    std::fs::create_dir(&backups).unwrap();
    let cron_keep = checks::container(m, "CronJob/postgres-backup")
        .env
        .iter()
        .flatten()
        .find(|e| e.name == "BACKUP_KEEP")
        .and_then(|e| e.value.clone())
        .expect("BACKUP_KEEP");
    assert!(
        cron_keep.parse::<usize>().unwrap() > KEEP,
        "the CronJob keeps more than the test, which keeps few to see the pruning"
    );

    let server = Server::start();
    let source = "backup_source";
    server.create_database(source);
    server.psql(
        source,
        "CREATE TABLE randoms (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name uuid NOT NULL, created_at timestamptz NOT NULL DEFAULT now());\
         INSERT INTO randoms (name) SELECT gen_random_uuid() FROM generate_series(1, 20)",
    );
    let backup_env = job_env(
        &server,
        "postgres-backup",
        source,
        &backups,
        &[("BACKUP_KEEP", &KEEP.to_string())],
    );

    // Three dumps, 10 more rows before each of the later ones; the first is pruned.
    let mut states = Vec::new();
    for round in 0..3 {
        if round > 0 {
            server.psql(
                source,
                "INSERT INTO randoms (name) SELECT gen_random_uuid() FROM generate_series(1, 10)",
            );
            // Dump names carry the second they were taken.
            thread::sleep(Duration::from_millis(1100));
        }
        let out = server.script(&backup_sh, &backup_env);
        assert!(
            out.status.success(),
            "backup.sh: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        states.push((
            dumps(&backups).last().cloned().unwrap(),
            rows(&server, source),
        ));
    }
    let kept = dumps(&backups);
    assert_eq!(
        kept,
        vec![states[1].0.clone(), states[2].0.clone()],
        "the newest KEEP dumps, and nothing else (no partial files)"
    );
    assert_eq!(kept.len(), KEEP);
    assert!(states[2].1.starts_with("40:"), "{}", states[2].1);

    // The newest into a fresh database: every row back.
    let latest = "backup_restored_latest";
    server.create_database(latest);
    let out = server.script(
        &restore_sh,
        &job_env(&server, "postgres-restore", latest, &backups, &[]),
    );
    assert!(
        out.status.success(),
        "restore.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(rows(&server, latest), states[2].1);
    // The identity continues after the restored rows.
    server.psql(
        latest,
        "INSERT INTO randoms (name) VALUES (gen_random_uuid())",
    );
    assert_eq!(server.psql(latest, "SELECT max(id) FROM randoms"), "41");

    // A named, older dump over that database: its objects are replaced, not merged.
    let out = server.script(
        &restore_sh,
        &job_env(
            &server,
            "postgres-restore",
            latest,
            &backups,
            &[("RESTORE_FILE", &states[1].0)],
        ),
    );
    assert!(
        out.status.success(),
        "restore.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(rows(&server, latest), states[1].1);

    // Refusals: a path instead of a name, a missing dump, a nonsense BACKUP_KEEP.
    for (script, template, extra, says) in [
        (
            &restore_sh,
            "postgres-restore",
            ("RESTORE_FILE", "../backup.sh"),
            "not a path",
        ),
        (
            &restore_sh,
            "postgres-restore",
            ("RESTORE_FILE", "backup-19990101T000000Z.dump"),
            "does not exist",
        ),
        (
            &backup_sh,
            "postgres-backup",
            ("BACKUP_KEEP", "0"),
            "BACKUP_KEEP",
        ),
    ] {
        let out = server.script(
            script,
            &job_env(&server, template, latest, &backups, &[extra]),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains(says),
            "{extra:?}: {stderr}"
        );
    }
    assert_eq!(dumps(&backups), kept, "a refused run changes no dump");
}
