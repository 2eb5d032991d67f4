//! What git says about the work tree: the commit images are tagged and labelled with.

use anyhow::Context;
use xshell::cmd;

use crate::project;

fn git(args: &[&str]) -> anyhow::Result<String> {
    let sh = project::shell()?;
    let out = project::read(
        &format!("`git {}`", args.join(" ")),
        cmd!(sh, "git {args...}"),
    )?;
    Ok(out.trim().to_owned())
}

/// The full hash of HEAD.
pub fn revision() -> anyhow::Result<String> {
    git(&["rev-parse", "HEAD"]).context("this is not a git work tree with a commit; pass --tag")
}

/// HEAD's short hash, with `-dirty` when tracked or untracked (not ignored) files differ
/// from it: such a build is not that commit.
pub fn short_commit() -> anyhow::Result<String> {
    let short = git(&["rev-parse", "--short", "HEAD"])
        .context("this is not a git work tree with a commit; pass --tag")?;
    let dirty = !git(&["status", "--porcelain"])?.is_empty();
    Ok(format!("{short}{}", if dirty { "-dirty" } else { "" }))
}
