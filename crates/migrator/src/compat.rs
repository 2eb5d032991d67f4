//! `migrator check`: the compatibility declarations (crate `schema-compat`) held to the SQL
//! this build embeds.

use std::fmt;

use schema_compat::Compatibility;

use crate::embedded;

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

const WHERE: &str = "crates/schema-compat/src/lib.rs";

/// Every embedded migration declared once under its name, no declaration without a
/// migration, and none declared `Expand` whose SQL breaks the release before it.
pub fn check() -> Vec<Problem> {
    let mut problems = Vec::new();
    for m in embedded::migrations() {
        let migration = format!("V{}__{}", m.version(), m.name());
        let declared: Vec<_> = schema_compat::MIGRATIONS
            .iter()
            .filter(|d| d.version == m.version())
            .collect();
        let why = match declared.as_slice() {
            [d] if d.name != m.name() => format!("declared in {WHERE} as {:?}", d.name),
            [d] if d.compatibility == Compatibility::Expand => {
                for statement in schema_compat::breaking_statements(m.sql().unwrap_or_default()) {
                    problems.push(Problem {
                        migration: migration.clone(),
                        why: format!(
                            "`{statement}` breaks the release before it; declare it Compatibility::Breaking(why) in {WHERE}"
                        ),
                    });
                }
                continue;
            }
            [_] => continue,
            more => format!(
                "declared {} times in {WHERE}, not once (Expand or Breaking)",
                more.len()
            ),
        };
        problems.push(Problem { migration, why });
    }
    for d in schema_compat::MIGRATIONS {
        if embedded::find(d.version).is_none() {
            problems.push(Problem {
                migration: format!("V{}__{}", d.version, d.name),
                why: format!("declared in {WHERE} but not a migration"),
            });
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_builds_migrations_pass() {
        assert_eq!(super::check(), []);
    }
}
