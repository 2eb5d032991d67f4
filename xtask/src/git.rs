//! What git says about the work tree: the commit images are tagged and labelled with.

use anyhow::Context;
use sha2::{Digest, Sha256};
use xshell::cmd;

use crate::project;

/// Hex digits of the commit in a tag: fixed, because `--short` grows with the repository
/// and differs between clones, and a tag typed on a laptop must match the one CI pushed.
const COMMIT_DIGITS: usize = 12;

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

/// HEAD's subject line, and who is deploying: the CI actor, else git's user, else the login.
pub fn subject_and_author() -> (String, String) {
    let subject = git(&["log", "-1", "--format=%s"]).unwrap_or_default();
    let author = std::env::var("GITHUB_ACTOR")
        .map(|actor| format!("github:{actor}"))
        .ok()
        .or_else(|| {
            git(&["config", "user.email"])
                .ok()
                .filter(|e| !e.is_empty())
        })
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".to_owned());
    (subject, author)
}

/// HEAD's first 12 hex digits; when tracked or untracked (not ignored) files differ from it,
/// `-dirty-` and a hash of those differences: such a build is not that commit, and a
/// changed build must get a new tag, or a redeploy keeps the old pods.
pub fn short_commit() -> anyhow::Result<String> {
    let full = revision()?;
    let short = full.get(..COMMIT_DIGITS).unwrap_or(&full);
    if git(&["status", "--porcelain"])?.is_empty() {
        return Ok(short.to_owned());
    }
    let sh = project::shell()?;
    let diff = cmd!(sh, "git diff HEAD --binary")
        .quiet()
        .output()
        .context("running `git diff HEAD`")?
        .stdout;
    let untracked = git(&["ls-files", "--others", "--exclude-standard"])?;
    let mut files = Vec::new();
    for path in untracked.lines() {
        // A file removed since the listing hashes as empty: the tag still differs.
        let content = std::fs::read(project::root().join(path)).unwrap_or_default();
        files.push((path.to_owned(), content));
    }
    Ok(format!("{short}-dirty-{}", changes_hash(&diff, &files)))
}

/// Eight hex digits of a hash of the uncommitted changes: the same changes, the same tag.
fn changes_hash(diff: &[u8], untracked: &[(String, Vec<u8>)]) -> String {
    let mut hash = Sha256::new();
    hash.update(diff);
    for (path, content) in untracked {
        // Lengths first, so no two different lists hash the same bytes.
        for part in [path.as_bytes(), content] {
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part);
        }
    }
    hash.finalize()[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
#[path = "../unit-tests/git.rs"]
mod tests;
