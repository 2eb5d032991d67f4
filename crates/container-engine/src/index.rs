//! A multi-platform image: one image per platform, pushed as one index (OCI image index or
//! Docker manifest list) under each tag, with the engine's own manifest commands, which
//! take the engine's registry logins and need no buildx.

use std::process::{Command, Stdio};

use crate::{Engine, Error, Platform, Result, engine::read_digest_file, is_loopback, registry};

/// One platform's image of a multi-platform (or single-platform) build.
#[derive(Clone, Debug)]
pub struct PlatformImage {
    pub platform: Platform,
    /// `name@sha256:…` once pushed.
    pub pushed: Option<String>,
    /// Config plus layers as the registry stores them (compressed), once pushed.
    pub pushed_bytes: Option<u64>,
}

impl PlatformImage {
    /// One built here, not pushed.
    pub fn local(platform: Platform) -> Self {
        Self {
            platform,
            pushed: None,
            pushed_bytes: None,
        }
    }
}

impl Engine {
    /// Pushes one image under each of `tags` (`name:tag`, one name): with one platform, its
    /// image (built as `tags`); with several, the index of the local `builds`. Returns the
    /// pushed digest and each platform's image as the registry has it.
    pub fn publish(
        self,
        tags: &[String],
        builds: &[(Platform, String)],
    ) -> Result<(String, Vec<PlatformImage>)> {
        let first = tags.first().map_or("", String::as_str);
        let name = first.rsplit_once(':').map_or(first, |(name, _)| name);
        let image = |platform, pushed: String| PlatformImage {
            platform,
            pushed_bytes: registry::pushed_size(self, &pushed),
            pushed: Some(pushed),
        };
        if let [(platform, _)] = builds {
            let mut digest = None;
            for reference in tags {
                eprintln!("container-engine: {} push {reference}", self.program());
                digest = Some(self.push(reference)?);
            }
            let digest = digest.ok_or_else(|| Error::NoDigest {
                what: "a push without tags".to_owned(),
            })?;
            let pushed = format!("{name}@{digest}");
            return Ok((digest, vec![image(*platform, pushed)]));
        }
        eprintln!(
            "container-engine: {} push {} (an index of {} platforms)",
            self.program(),
            tags.join(" "),
            builds.len()
        );
        let locals: Vec<String> = builds.iter().map(|(_, local)| local.clone()).collect();
        let digest = self.push_index(tags, &locals)?;
        let listed = registry::platform_images(self, &format!("{name}@{digest}"));
        let images = builds
            .iter()
            .map(|(platform, _)| {
                let (_, pushed) =
                    listed
                        .iter()
                        .find(|(p, _)| p == platform)
                        .ok_or_else(|| Error::NoDigest {
                            what: format!("the {platform} image in the index {name}@{digest}"),
                        })?;
                Ok(image(*platform, pushed.clone()))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((digest, images))
    }

    /// Pushes the local per-platform `images` as one index under each of `references` and
    /// returns its digest.
    pub fn push_index(self, references: &[String], images: &[String]) -> Result<String> {
        let digest = match self {
            Engine::Podman => podman_index(references, images)?,
            Engine::Docker => {
                // Its manifest lists point at images already in the registry.
                for image in images {
                    self.push(image)?;
                }
                docker_index(references, images)?
            }
        };
        digest
            .filter(|d| d.starts_with("sha256:"))
            .ok_or_else(|| Error::NoDigest {
                what: format!("{} manifest push {}", self.program(), references.join(" ")),
            })
    }
}

/// `podman manifest push --all` of a list made from the local images.
fn podman_index(references: &[String], images: &[String]) -> Result<Option<String>> {
    // A list of its own name: the references may be local images' names too.
    let list = format!("{}-index", references.first().map_or("", String::as_str));
    let _ = quiet(Command::new("podman").args(["manifest", "rm", &list]));
    run(Command::new("podman").args(["manifest", "create", &list]))?;
    for image in images {
        let source = format!("containers-storage:{image}");
        run(Command::new("podman").args(["manifest", "add", &list, &source]))?;
    }
    let mut digest = None;
    for reference in references {
        let file = crate::engine::digest_file();
        let mut push = Command::new("podman");
        push.args(["manifest", "push", "--all", "--digestfile"])
            .arg(&file);
        if is_loopback(reference) {
            push.arg("--tls-verify=false");
        }
        push.arg(&list).arg(format!("docker://{reference}"));
        let pushed = run(&mut push);
        let read = read_digest_file(file);
        pushed?;
        digest = Some(read?);
    }
    let _ = quiet(Command::new("podman").args(["manifest", "rm", &list]));
    Ok(digest)
}

/// `docker manifest create` and `push` of a list of the pushed `images`, per reference.
fn docker_index(references: &[String], images: &[String]) -> Result<Option<String>> {
    let mut digest = None;
    for reference in references {
        let insecure = is_loopback(reference).then_some("--insecure");
        let _ = quiet(Command::new("docker").args(["manifest", "rm", reference]));
        run(Command::new("docker")
            .args(["manifest", "create"])
            .args(insecure)
            .arg(reference)
            .args(images))?;
        let out = run(Command::new("docker")
            .args(["manifest", "push", "--purge"])
            .args(insecure)
            .arg(reference))?;
        // It prints the list's digest, alone on the last line.
        digest = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .rfind(|w| w.starts_with("sha256:"))
            .map(str::to_owned);
    }
    Ok(digest)
}

/// Runs `cmd`, its progress on stderr as it comes; an error unless it succeeds.
fn run(cmd: &mut Command) -> Result<std::process::Output> {
    let what = processes::describe(cmd);
    Ok(processes::output(cmd, &what)?)
}

/// Runs `cmd` for its effect alone (a cleanup that may find nothing to clean).
fn quiet(cmd: &mut Command) -> std::io::Result<std::process::ExitStatus> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
}
