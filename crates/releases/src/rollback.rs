//! Whether a release may run on the live schema.

use std::collections::BTreeMap;

use crate::{History, Record};

/// Why there is no release to roll back to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoTarget {
    #[error(
        "the Deployments run images no recorded release has ({0}); deploy a known tag with `cargo xtask deploy ENV --no-build --tag TAG`"
    )]
    LiveUnknown(String),
    #[error("--to {tag}: no such release (recorded: {recorded})")]
    Unknown { tag: String, recorded: String },
    #[error("no release before the live one is recorded: nothing to roll back to")]
    NothingBefore,
    #[error("--to {0}: that release is the live one")]
    Live(String),
}

impl History {
    /// The live record and the one to roll back to: `to`, or the one before the live one.
    pub fn rollback_target(
        &self,
        live_images: &BTreeMap<String, String>,
        to: Option<&str>,
    ) -> Result<(&Record, &Record), NoTarget> {
        let images = || live_images.values().cloned().collect::<Vec<_>>().join(", ");
        let live = self
            .live(live_images)
            .ok_or_else(|| NoTarget::LiveUnknown(images()))?;
        let target = match to {
            Some(tag) => self.find(tag).ok_or_else(|| NoTarget::Unknown {
                tag: tag.to_owned(),
                recorded: self
                    .records
                    .iter()
                    .map(|r| r.tag.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?,
            None => self.previous(live).ok_or(NoTarget::NothingBefore)?,
        };
        let live = &self.records[live];
        if target.tag == live.tag {
            return Err(NoTarget::Live(target.tag.clone()));
        }
        Ok((live, target))
    }
}

/// Why a rollback is refused: a breaking migration between the target's schema and the
/// live one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{tag} was built for schema {built_for}, and the live schema ({schema}) is past a breaking migration, {migration}: its code would fail there. \
     To go back anyway, revert the schema first with `migrator down --target {built_for}` (it runs the down scripts above {built_for}, and whatever those migrations added is lost), then roll back"
)]
pub struct Refusal {
    pub tag: String,
    pub built_for: i32,
    pub schema: i32,
    /// `V{n}__{name}: why`.
    pub migration: String,
}

/// `target` may run on the schema `live` left: no migration recorded breaking lies above
/// what `target` was built for and at most the live schema.
pub fn check_rollback(target: &Record, live: &Record) -> Result<(), Refusal> {
    let blocker = live
        .breaking
        .iter()
        .find(|(version, _)| *version > target.requires_schema && *version <= live.schema);
    match blocker {
        None => Ok(()),
        Some((_, migration)) => Err(Refusal {
            tag: target.tag.clone(),
            built_for: target.requires_schema,
            schema: live.schema,
            migration: migration.clone(),
        }),
    }
}
