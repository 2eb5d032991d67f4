//! What git says about the work tree: the commit images are tagged and labelled with.

use std::process::Command;

use anyhow::{Context, bail};

use crate::project;

fn git(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(project::root())
        .output()
        .context("running git (is it installed?)")?;
    if !out.status.success() {
        bail!(
            "`git {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
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
    Ok(if dirty {
        format!("{short}-dirty")
    } else {
        short
    })
}
