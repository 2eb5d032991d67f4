//! Whether a release may run on the live schema.

use crate::Record;

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
