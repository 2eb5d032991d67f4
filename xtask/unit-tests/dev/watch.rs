//! Unit tests of `xtask/src/dev/watch.rs`: a child module of it (`super`), kept
//! out of xtask/src so that tree is the program alone.

use super::*;

#[test]
fn files_map_to_what_must_be_redone() {
    let c = |p: &str| classify(Path::new(p));
    assert_eq!(c("crates/api/src/routes/randoms.rs"), [Change::Api]);
    assert_eq!(c("crates/db/src/pool.rs"), [Change::Api]);
    assert_eq!(
        c("crates/settings/src/layered.rs"),
        [Change::Migrations, Change::Api, Change::Server]
    );
    assert_eq!(c("crates/domain/src/random.rs"), [Change::Api, Change::Web]);
    assert_eq!(c("web/src/app.rs"), [Change::Web]);
    assert_eq!(c("web/style.css"), [Change::Style]);
    assert_eq!(c("web/src/style.css"), [Change::Web]);
    assert_eq!(c("crates/web-server/src/app.rs"), [Change::Server]);
    assert_eq!(
        c("crates/migrator/migrations/V3__more.sql"),
        [Change::Migrations, Change::Api]
    );
    assert!(c("web/src/.app.rs.swp").is_empty());
    assert!(c("web/src/app.rs~").is_empty());
    assert!(c("web/target/x").is_empty());
    assert!(c("README.md").is_empty());
}
