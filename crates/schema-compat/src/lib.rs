//! Whether the release before a migration still runs on the schema it leaves: `Expand`
//! (it adds, so the old code keeps working: the normal case, and what a rolling update
//! needs) or `Breaking` (it drops, renames or tightens something the old code uses).
//!
//! The declarations live here, not in the SQL files: refinery checksums the files, and the
//! migrations already applied must not change. The migrator's `check` holds them to the
//! embedded SQL ([`breaking_statements`]); the deploy records them with each release, so a
//! rollback knows what it would cross.

/// A migration as its file is named: `V{version}__{name}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub compatibility: Compatibility,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compatibility {
    Expand,
    /// With why, for the message that refuses a rollback across it.
    Breaking(&'static str),
}

/// Every migration of `crates/migrator/migrations`, oldest first. A new migration is
/// declared here, or `migrator check` (run by `cargo xtask test`) fails.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "create_randoms",
        compatibility: Compatibility::Expand,
    },
    Migration {
        version: 2,
        name: "seed_randoms",
        compatibility: Compatibility::Expand,
    },
    Migration {
        version: 3,
        name: "notify_changes",
        compatibility: Compatibility::Expand,
    },
];

/// What makes a statement breaking, as it reads lower-cased with single spaces; each with
/// the words that excuse it (`drop index` only slows the old code down).
const BREAKING: &[(&str, &[&str])] = &[
    ("drop ", &["drop index", "drop constraint", "drop not null"]),
    ("rename ", &[]),
    (" type ", &["create type"]),
    ("set not null", &[]),
    (" not null", &["default", "create table", "create type"]),
    ("truncate", &["create trigger"]),
];

pub fn of(version: i32) -> Option<&'static Migration> {
    MIGRATIONS.iter().find(|m| m.version == version)
}

/// The newest declared migration: the schema this build needs.
pub fn latest() -> i32 {
    MIGRATIONS.iter().map(|m| m.version).max().unwrap_or(0)
}

/// A breaking migration, as a release records it: `(version, "V{n}__{name}: why")`.
pub type Breaking = (i32, String);

/// The migrations declared breaking, oldest first.
pub fn breaking() -> Vec<Breaking> {
    MIGRATIONS
        .iter()
        .filter_map(|m| match m.compatibility {
            Compatibility::Breaking(why) => {
                Some((m.version, format!("V{}__{}: {why}", m.version, m.name)))
            }
            Compatibility::Expand => None,
        })
        .collect()
}

/// The oldest schema a release may have been built for and still run on this build's
/// schema: the newest breaking migration, or 0 when there is none.
pub fn oldest_compatible() -> i32 {
    breaking().last().map_or(0, |(version, _)| *version)
}

/// The first of `breaking` that a release built for schema `built_for` meets on a schema at
/// `schema`; `None` when it runs there.
pub fn blocker(breaking: &[Breaking], built_for: i32, schema: i32) -> Option<&Breaking> {
    breaking
        .iter()
        .find(|(version, _)| *version > built_for && *version <= schema)
}

/// The statements of `sql` that a release before it may not survive. Comments and quoted
/// text (strings, `$$` bodies) are left out, so a function body is not read as DDL.
pub fn breaking_statements(sql: &str) -> Vec<String> {
    statements(sql)
        .into_iter()
        .filter(|s| {
            BREAKING.iter().any(|(pattern, excuses)| {
                s.contains(pattern) && !excuses.iter().any(|e| s.contains(e))
            })
        })
        .collect()
}

/// Statements, lower-cased, with single spaces and no comments or quoted text.
fn statements(sql: &str) -> Vec<String> {
    let mut plain = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(c) = rest.chars().next() {
        let skip_to = |end: &str, from: usize| rest[from..].find(end).map(|i| from + i + end.len());
        let skipped = match c {
            '-' if rest.starts_with("--") => Some(skip_to("\n", 2).unwrap_or(rest.len())),
            '/' if rest.starts_with("/*") => Some(skip_to("*/", 2).unwrap_or(rest.len())),
            '\'' => Some(skip_to("'", 1).unwrap_or(rest.len())),
            '$' => rest[1..].find('$').and_then(|i| {
                let tag = &rest[..i + 2];
                skip_to(tag, tag.len())
            }),
            _ => None,
        };
        match skipped {
            Some(n) => {
                plain.push(' ');
                rest = &rest[n..];
            }
            None => {
                plain.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    plain
        .split(';')
        .map(|s| {
            s.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase()
        })
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaking_statements_are_found_and_additions_pass() {
        for sql in [
            "alter table randoms drop column name",
            "ALTER TABLE randoms RENAME COLUMN name TO label",
            "alter table randoms alter column name type text",
            "alter table randoms alter column name set not null",
            "alter table randoms add column label text not null",
            "drop table randoms",
            "TRUNCATE randoms",
        ] {
            assert_eq!(breaking_statements(sql).len(), 1, "{sql}");
        }
        for sql in [
            "alter table randoms add column label text",
            "alter table randoms add column label text not null default ''",
            "create table labels (id bigint not null primary key, kind text)",
            "create index randoms_created on randoms (created_at); drop index randoms_old",
            "-- drop table randoms\ninsert into randoms (name) values ('drop table x')",
            "create function f() returns trigger language plpgsql as $$ begin drop table x; end; $$",
            "create function g() returns int as $body$ select 1; truncate t $body$ language sql",
        ] {
            assert_eq!(breaking_statements(sql), Vec::<String>::new(), "{sql}");
        }
    }

    #[test]
    fn a_blocker_is_a_breaking_migration_above_the_release_and_at_most_the_schema() {
        let breaking = [
            (4, "V4__a: drops name".to_owned()),
            (6, "V6__b: renames".to_owned()),
        ];
        let first = |built_for, schema| blocker(&breaking, built_for, schema).map(|b| b.0);
        assert_eq!(first(3, 5), Some(4));
        assert_eq!(first(4, 7), Some(6));
        assert_eq!(first(4, 5), None);
        assert_eq!(first(6, 9), None);
    }

    #[test]
    fn the_declarations_are_ordered_and_name_this_builds_migrations() {
        assert!(MIGRATIONS.windows(2).all(|w| w[0].version < w[1].version));
        assert_eq!(latest(), 3);
        assert_eq!(oldest_compatible(), 0);
        assert_eq!(of(2).map(|m| m.name), Some("seed_randoms"));
        assert!(of(99).is_none());
    }
}
