//! The build context of a host-built image: its files under `rootfs/`, and a Dockerfile that
//! is the recipe's final stage with `COPY --from=dist / /` turned into `COPY rootfs/ /`.
//!
//! A plain directory and one stage is what every builder takes: Docker's legacy builder
//! (no buildx) has no named build contexts (`--build-context`), and it would run every
//! stage of a multi-stage file, compiling in a container and pulling a Rust image.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The line of the final stage that takes the image's files from the `dist` stage.
const FROM_DIST: &str = "COPY --from=dist / /";
/// What it becomes in the generated Dockerfile.
const FROM_ROOTFS: &str = "COPY rootfs/ /";

/// A build context: the directory to send and the Dockerfile in it.
pub struct BuildContext {
    pub dir: PathBuf,
    pub dockerfile: PathBuf,
}

/// Writes `dir/Dockerfile` from the final stage of `recipe` (called `name` in messages);
/// `dir/rootfs/` holds the files.
pub fn host_built(recipe: &Path, name: &str, dir: &Path) -> Result<BuildContext> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    let text = std::fs::read_to_string(recipe).map_err(io(recipe))?;
    let stage = final_stage(&text).map_err(|why| Error::Recipe {
        recipe: name.to_owned(),
        why,
    })?;
    let dockerfile = dir.join("Dockerfile");
    let generated = format!("# Generated from {name}'s final stage.\n{stage}");
    std::fs::write(&dockerfile, generated).map_err(io(&dockerfile))?;
    Ok(BuildContext {
        dir: dir.to_owned(),
        dockerfile,
    })
}

/// The last `FROM` to the end, with its one `COPY --from=dist / /` reading `rootfs/`.
fn final_stage(text: &str) -> std::result::Result<String, String> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .rposition(|l| first_word(l).eq_ignore_ascii_case("FROM"))
        .ok_or("it has no FROM line")?;
    let stage = &lines[start..];
    let copies = stage.iter().filter(|l| l.trim() == FROM_DIST).count();
    if copies != 1 {
        return Err(format!(
            "its final stage has {copies} `{FROM_DIST}` lines, not one"
        ));
    }
    let mut out = String::new();
    for line in stage {
        out += if line.trim() == FROM_DIST {
            FROM_ROOTFS
        } else {
            line
        };
        out.push('\n');
    }
    Ok(out)
}

fn first_word(line: &str) -> &str {
    line.split_whitespace().next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_recipe_has_a_final_stage_built_from_rootfs() {
        let docker = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docker");
        for component in ["api", "migrator", "web"] {
            let path = docker.join(format!("{component}.Dockerfile"));
            let text = std::fs::read_to_string(&path).expect("the recipe");
            let stage = final_stage(&text).unwrap_or_else(|e| panic!("{component}: {e}"));
            let froms: Vec<&str> = stage
                .lines()
                .filter(|l| first_word(l).eq_ignore_ascii_case("FROM"))
                .collect();
            assert_eq!(froms, ["FROM scratch"], "{component}");
            assert!(stage.contains(&format!("\n{FROM_ROOTFS}\n")), "{stage}");
            // Right after FROM: on Docker's legacy builder, a step before the files would
            // commit an image of the daemon's platform and break a build for another one.
            assert_eq!(stage.lines().nth(1), Some(FROM_ROOTFS), "{component}");
            assert!(!stage.contains("--from="), "{stage}");
            assert!(stage.contains("ENTRYPOINT"), "{stage}");
        }
    }

    #[test]
    fn a_recipe_without_the_dist_copy_is_refused() {
        let err = final_stage("FROM a AS b\nFROM scratch\nCOPY x /\n").unwrap_err();
        assert!(
            err.to_string().contains("0 `COPY --from=dist / /`"),
            "{err}"
        );
        assert!(final_stage("# nothing\n").is_err());
    }
}
