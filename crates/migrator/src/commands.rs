//! `up`, `down` and `status` on a connected client.

use std::fmt;

use refinery::{Migration, Runner, Target};
use tokio_postgres::Client;
use tracing::{Instrument, info};

use crate::{
    Error, embedded,
    history::{self, Applied},
    lock, trace,
};

/// A migration named the way its file is: `V{version}__{name}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub version: i32,
    pub name: String,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "V{}__{}", self.version, self.name)
    }
}

impl From<&Migration> for Step {
    fn from(m: &Migration) -> Self {
        Step {
            version: m.version(),
            name: m.name().to_owned(),
        }
    }
}

/// What `up` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpReport {
    /// In the order they were applied; empty when there was nothing to do.
    pub applied: Vec<Step>,
    /// The highest applied version afterwards.
    pub version: Option<i32>,
}

/// What `down` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownReport {
    /// In the order they were reverted (newest first).
    pub reverted: Vec<Step>,
    /// The highest applied version afterwards; `None` when everything was reverted.
    pub version: Option<i32>,
}

/// Applies the pending migrations up to `target` (default: all), each in its own
/// transaction together with its history row (refinery's default).
///
/// A database ahead of this build (a rollback's migrator meeting a newer release's schema)
/// is no error when every embedded migration is applied, unchanged: there is nothing to do.
pub async fn up(client: &mut Client, target: Option<i32>) -> Result<UpReport, Error> {
    if let Some(target) = target {
        check_embedded(target)?;
    }
    lock::exclusive(client, async |client: &mut Client| {
        let history = history::applied(client).await?;
        if let Some(version) = ahead_of_this_build(&history)? {
            return Ok(UpReport {
                applied: Vec::new(),
                version: Some(version),
            });
        }
        let runner = Runner::new(embedded::migrations()).set_target(match target {
            Some(version) => Target::Version(version),
            None => Target::Latest,
        });
        let run = runner.run_async(client).instrument(trace::step("apply"));
        let applied: Vec<Step> = match run.await {
            Ok(report) => report.applied_migrations().iter().map(Step::from).collect(),
            Err(e) => {
                // Those before the failing one are committed: say so before failing.
                for m in e.report().map_or(&[][..], |r| r.applied_migrations()) {
                    info!(migration = %m, "applied");
                }
                return Err(e.into());
            }
        };
        for step in &applied {
            info!(migration = %step, "applied");
        }
        let version = history::applied_version(client).await?;
        Ok(UpReport { applied, version })
    })
    .await
}

/// Reverts the latest applied migration, or with `target` every migration above it
/// (`Some(0)`: all of them), newest first. Each down script runs in one transaction with
/// the deletion of its history row, so history and schema never disagree.
pub async fn down(client: &mut Client, target: Option<i32>) -> Result<DownReport, Error> {
    if let Some(target) = target.filter(|t| *t != 0) {
        check_embedded(target)?;
    }
    lock::exclusive(client, async |client: &mut Client| {
        let applied = history::applied(client).await?;
        let to_revert: Vec<&Applied> = match target {
            None => applied.last().into_iter().collect(),
            Some(target) => applied
                .iter()
                .rev()
                .filter(|a| a.version > target)
                .collect(),
        };
        // Check every step before changing anything, so a refusal leaves no partial revert.
        let plan = to_revert
            .into_iter()
            .map(revert_plan)
            .collect::<Result<Vec<_>, _>>()?;
        let mut reverted = Vec::with_capacity(plan.len());
        for (step, sql) in plan {
            revert(client, &step, sql)
                .instrument(trace::step(format!("revert {step}")))
                .await
                .map_err(|source| Error::Revert {
                    version: step.version,
                    name: step.name.clone(),
                    source,
                })?;
            info!(migration = %step, "reverted");
            reverted.push(step);
        }
        let version = history::applied_version(client).await?;
        Ok(DownReport { reverted, version })
    })
    .await
}

/// The down script of an applied migration, if this build has the very same migration.
fn revert_plan(applied: &Applied) -> Result<(Step, &'static str), Error> {
    let step = Step {
        version: applied.version,
        name: applied.name.clone(),
    };
    let Some(embedded) = embedded::find(applied.version) else {
        return Err(Error::NotEmbedded {
            version: step.version,
            name: step.name,
        });
    };
    // The down script undoes the embedded up script; if another one was applied, it may not.
    if !same_migration(applied, embedded) {
        return Err(Error::Divergent {
            version: step.version,
            name: step.name,
        });
    }
    match embedded::down_script(applied.version) {
        Some(sql) => Ok((step, sql)),
        None => Err(Error::NoDownScript {
            version: step.version,
            name: step.name,
        }),
    }
}

async fn revert(client: &mut Client, step: &Step, sql: &str) -> Result<(), tokio_postgres::Error> {
    let tx = client.transaction().await?;
    tx.batch_execute(sql).await?;
    history::forget(&tx, step.version).await?;
    tx.commit().await
}

/// The applied version when it is newer than every embedded one and all of those are
/// applied as embedded; `None` when the database is not ahead (refinery decides then).
fn ahead_of_this_build(history: &[Applied]) -> Result<Option<i32>, Error> {
    let Some(newest) = history.iter().map(|a| a.version).max() else {
        return Ok(None);
    };
    if newest <= embedded::latest_version() {
        return Ok(None);
    }
    for m in embedded::migrations() {
        match history.iter().find(|a| a.version == m.version()) {
            None => {
                return Err(Error::Skipped {
                    version: m.version(),
                    name: m.name().to_owned(),
                    at: newest,
                });
            }
            Some(a) if !same_migration(a, m) => {
                return Err(Error::Changed {
                    version: a.version,
                    name: a.name.clone(),
                });
            }
            Some(_) => {}
        }
    }
    Ok(Some(newest))
}

pub(crate) fn same_migration(applied: &Applied, embedded: &Migration) -> bool {
    applied.name == embedded.name() && applied.checksum == embedded.checksum().to_string()
}

fn check_embedded(target: i32) -> Result<(), Error> {
    match embedded::find(target) {
        Some(_) => Ok(()),
        None => Err(Error::UnknownTarget {
            target,
            embedded: embedded::versions_list(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_must_be_embedded_versions() {
        assert!(check_embedded(1).is_ok());
        let err = check_embedded(7)
            .expect_err("7 is not embedded")
            .to_string();
        assert_eq!(
            err,
            "no embedded migration has version 7 (embedded: 1, 2, 3)"
        );
    }
}
