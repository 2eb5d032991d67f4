use crate::helpers::{TestApi, migrated_database, run_to_exit};

#[test]
fn a_bad_value_exits_non_zero_with_one_line_naming_the_variable() {
    for (var, value) in [
        ("API_PORT", "abc"),
        ("API_PORT", "70000"),
        ("DB_PORT", "x"),
        ("DB_POOL_MAX_SIZE", "0"),
        ("DB_SSL_MODE", "sometimes"),
        ("SHUTDOWN_TIMEOUT_SECS", "-5"),
        ("LOG_FORMAT", "xml"),
        ("CORS_ALLOWED_ORIGINS", "localhost:8080"),
        ("RUST_LOG", "api=loud"),
    ] {
        let (status, stderr) = run_to_exit(&[(var, value)]);
        assert!(!status.success(), "{var}={value} was accepted");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{var}={value}: one line, got {stderr:?}");
        assert!(lines[0].contains(var), "{var}={value}: {stderr:?}");
    }
}

#[test]
fn a_malformed_database_url_is_refused_without_showing_the_password() {
    let (status, stderr) =
        run_to_exit(&[("DATABASE_URL", "postgres://app:Sup3rSecret@db:port/app")]);
    assert!(!status.success());
    assert!(stderr.contains("DATABASE_URL"), "{stderr}");
    assert!(!stderr.contains("Sup3rSecret"), "{stderr}");
}

#[test]
fn a_port_in_use_is_named() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let (status, stderr) = run_to_exit(&[("API_PORT", &port)]);
    assert!(!status.success());
    assert!(
        stderr.contains(&port) && stderr.contains("API_PORT"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_split_db_variables_work_and_the_password_never_reaches_the_logs() {
    let url = migrated_database().await;
    let cfg: tokio_postgres::Config = url.parse().expect("test url");
    let password = String::from_utf8(
        cfg.get_password()
            .expect("the test server has one")
            .to_vec(),
    )
    .expect("utf-8");
    let port = cfg.get_ports()[0].to_string();
    let env = [
        ("DB_HOST", "127.0.0.1"),
        ("DB_PORT", port.as_str()),
        ("DB_NAME", cfg.get_dbname().expect("dbname")),
        ("DB_USER", cfg.get_user().expect("user")),
        ("DB_PASS", password.as_str()),
        ("DB_SSL_MODE", "disable"),
    ];
    let mut cmd_env: Vec<(&str, &str)> = env.to_vec();
    // The optional file layer: a setting there applies unless the environment overrides it.
    let dir = std::env::temp_dir().join(format!("api-config-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("api.toml");
    std::fs::write(&file, "db_pool_max_size = \"4\"\n").expect("write config file");
    let file = file.to_string_lossy().into_owned();
    cmd_env.push(("CONFIG_FILE", &file));

    let api = TestApi::spawn_split(&cmd_env);
    assert_eq!(api.get("/ready").await.status(), 200);
    assert_eq!(api.post("/randoms").await.status(), 201);
    let metrics = api.get("/metrics").await.text().await.expect("metrics");
    assert!(
        metrics.contains("api_db_pool_max_size 4"),
        "CONFIG_FILE applied: {metrics}"
    );

    // A wrong password: the error mentions authentication, never the password.
    let wrong = "Wr0ngButSecret";
    let bad = TestApi::spawn_split(&[
        ("DB_HOST", "127.0.0.1"),
        ("DB_PORT", port.as_str()),
        ("DB_USER", "postgres"),
        ("DB_PASS", wrong),
        ("DB_SSL_MODE", "disable"),
    ]);
    assert_eq!(bad.get("/ready").await.status(), 503);
    assert_eq!(bad.get("/randoms").await.status(), 503);

    for logs in [api.logs(), bad.logs()] {
        assert!(!logs.contains(&password), "password leaked: {logs}");
        assert!(!logs.contains(wrong), "password leaked: {logs}");
    }
    let _ = std::fs::remove_dir_all(dir);
}
