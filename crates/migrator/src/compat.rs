//! Whether the release before a migration still runs on the schema it leaves: `Expand`
//! (it adds, so the old code keeps working: the normal case, and what a rolling update
//! needs) or `Breaking` (it drops, renames or tightens something the old code uses).
//!
//! The declarations live here, not in the SQL files: refinery checksums the files, and
//! the migrations already applied must not change. `migrator check` rejects a migration
//! declared `Expand` whose SQL does something breaking.

use std::fmt;

use crate::{commands::Step, embedded};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compatibility {
    Expand,
    /// With why, for the message that refuses a rollback across it.
    Breaking(&'static str),
}

/// One entry per embedded migration, by version. A new migration must be added here, or
/// `migrator check` (and `cargo test`) fails.
const DECLARED: &[(i32, Compatibility)] = &[
    (1, Compatibility::Expand),
    (2, Compatibility::Expand),
    (3, Compatibility::Expand),
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

pub fn of(version: i32) -> Option<Compatibility> {
    DECLARED
        .iter()
        .find(|(v, _)| *v == version)
        .map(|(_, c)| *c)
}

/// Every embedded migration with its declaration (those without one are left out: `check`
/// reports them).
pub fn declared() -> Vec<(Step, Compatibility)> {
    embedded::migrations()
        .iter()
        .filter_map(|m| Some((Step::from(m), of(m.version())?)))
        .collect()
}

/// The embedded migrations declared breaking, oldest first.
pub fn breaking() -> Vec<(Step, &'static str)> {
    declared()
        .into_iter()
        .filter_map(|(step, c)| match c {
            Compatibility::Breaking(why) => Some((step, why)),
            Compatibility::Expand => None,
        })
        .collect()
}

/// The first breaking migration a release whose newest migration is `built_for` would
/// meet on a schema at `schema`; `None` when it runs there.
pub fn blocker(built_for: i32, schema: i32) -> Option<(Step, &'static str)> {
    first_between(breaking(), built_for, schema)
}

fn first_between<T>(breaking: Vec<(Step, T)>, built_for: i32, schema: i32) -> Option<(Step, T)> {
    breaking
        .into_iter()
        .find(|(step, _)| step.version > built_for && step.version <= schema)
}

/// The oldest schema a release may have been built for and still run on this build's
/// schema: the newest breaking migration, or 0 when there is none.
pub fn oldest_compatible() -> i32 {
    breaking().last().map_or(0, |(step, _)| step.version)
}

/// A migration that `check` rejects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub migration: String,
    pub why: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.migration, self.why)
    }
}

/// Every embedded migration declared once, and none declared `Expand` that breaks.
pub fn check() -> Vec<Problem> {
    let mut problems = Vec::new();
    for m in embedded::migrations() {
        let migration = format!("V{}__{}", m.version(), m.name());
        let declared = DECLARED.iter().filter(|(v, _)| *v == m.version()).count();
        if declared != 1 {
            problems.push(Problem {
                migration,
                why: format!(
                    "declared {declared} times in crates/migrator/src/compat.rs, not once (Expand or Breaking)"
                ),
            });
            continue;
        }
        if of(m.version()) == Some(Compatibility::Expand) {
            for statement in breaking_statements(m.sql().unwrap_or_default()) {
                problems.push(Problem {
                    migration: migration.clone(),
                    why: format!(
                        "`{statement}` breaks the release before it; declare it Compatibility::Breaking(why) in crates/migrator/src/compat.rs"
                    ),
                });
            }
        }
    }
    for (version, _) in DECLARED {
        if embedded::find(*version).is_none() {
            problems.push(Problem {
                migration: format!("V{version}"),
                why: "declared in crates/migrator/src/compat.rs but not a migration".into(),
            });
        }
    }
    problems
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
    fn this_builds_migrations_pass() {
        assert_eq!(check(), []);
        assert_eq!(oldest_compatible(), 0);
        assert_eq!(blocker(1, 3), None);
    }

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
        let step = |version| Step {
            version,
            name: format!("m{version}"),
        };
        let breaking = || vec![(step(4), "drops name"), (step(6), "renames")];
        assert_eq!(
            first_between(breaking(), 3, 5).map(|b| b.0.version),
            Some(4)
        );
        assert_eq!(
            first_between(breaking(), 4, 7).map(|b| b.0.version),
            Some(6)
        );
        assert_eq!(first_between(breaking(), 4, 5), None);
        assert_eq!(first_between(breaking(), 6, 9), None);
        assert_eq!(of(2), Some(Compatibility::Expand));
        assert_eq!(of(99), None);
    }
}
