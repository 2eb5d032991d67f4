//! The SQL compiled into the binary: refinery's up migrations from `migrations/`, and the
//! paired down scripts, which refinery's file pattern skips (`V1__x.down.sql` does not
//! match `V{n}__{name}.sql`) so they are embedded here by hand.

use std::sync::OnceLock;

use refinery::Migration;

mod sql {
    refinery::embed_migrations!("migrations");
}

/// Down scripts by version. The unit tests check this table against the directory, so a
/// migration added without its down script (or keyed to the wrong file) fails `cargo test`.
const DOWN_SCRIPTS: &[(i32, &str)] = &[
    (1, include_str!("../migrations/V1__create_randoms.down.sql")),
    (2, include_str!("../migrations/V2__seed_randoms.down.sql")),
    (3, include_str!("../migrations/V3__notify_changes.down.sql")),
];

/// The up migrations, ordered by version.
pub fn migrations() -> &'static [Migration] {
    static MIGRATIONS: OnceLock<Vec<Migration>> = OnceLock::new();
    MIGRATIONS.get_or_init(|| {
        let mut all = sql::migrations::runner().get_migrations().clone();
        all.sort();
        all
    })
}

pub fn find(version: i32) -> Option<&'static Migration> {
    migrations().iter().find(|m| m.version() == version)
}

pub fn down_script(version: i32) -> Option<&'static str> {
    DOWN_SCRIPTS
        .iter()
        .find(|(v, _)| *v == version)
        .map(|(_, sql)| *sql)
}

/// The highest embedded version (0 if there were none).
pub fn latest_version() -> i32 {
    migrations().last().map_or(0, Migration::version)
}

/// "1, 2", for messages.
pub fn versions_list() -> String {
    migrations()
        .iter()
        .map(|m| m.version().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use std::{collections::BTreeSet, fs, path::Path};

    use super::*;

    /// File names in `migrations/`, split into up (`X.sql`) and down (`X.down.sql`) stems.
    fn stems_on_disk() -> (BTreeSet<String>, BTreeSet<String>) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let (mut up, mut down) = (BTreeSet::new(), BTreeSet::new());
        for entry in fs::read_dir(&dir).expect("the migrations directory is readable") {
            let name = entry.expect("a directory entry").file_name();
            let name = name.to_str().expect("UTF-8 file names");
            if let Some(stem) = name.strip_suffix(".down.sql") {
                down.insert(stem.to_owned());
            } else if let Some(stem) = name.strip_suffix(".sql") {
                up.insert(stem.to_owned());
            } else {
                panic!("unexpected file in migrations/: {name}");
            }
        }
        (up, down)
    }

    #[test]
    fn every_up_migration_has_a_down_script_and_vice_versa() {
        let (up, down) = stems_on_disk();
        assert!(!up.is_empty());
        assert_eq!(up, down, "up and down scripts must pair by file name");
    }

    #[test]
    fn the_embedded_down_scripts_are_the_files_next_to_their_up_migrations() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let embedded: Vec<i32> = migrations().iter().map(Migration::version).collect();
        let keyed: Vec<i32> = DOWN_SCRIPTS.iter().map(|(v, _)| *v).collect();
        assert_eq!(
            embedded, keyed,
            "DOWN_SCRIPTS must list every embedded version, in order"
        );
        for m in migrations() {
            let file = dir.join(format!("V{}__{}.down.sql", m.version(), m.name()));
            let on_disk = fs::read_to_string(&file).expect("the down script exists");
            assert_eq!(
                down_script(m.version()),
                Some(on_disk.as_str()),
                "{}",
                file.display()
            );
        }
    }

    #[test]
    fn every_file_on_disk_is_embedded() {
        let (up, _) = stems_on_disk();
        let embedded: BTreeSet<String> = migrations().iter().map(ToString::to_string).collect();
        assert_eq!(up, embedded);
    }

    #[test]
    fn latest_version_is_the_highest_embedded_one() {
        assert_eq!(latest_version(), 3);
        assert_eq!(versions_list(), "1, 2, 3");
        assert_eq!(find(1).map(Migration::name), Some("create_randoms"));
        assert!(find(4).is_none());
    }
}
