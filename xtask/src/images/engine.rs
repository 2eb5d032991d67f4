//! docker or podman: finding one, building with it, pushing with it.

use std::path::PathBuf;

use anyhow::{Context, bail};
use xshell::cmd;

use crate::project;

/// The container engine that builds and pushes images.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    Docker,
    Podman,
}

/// One image build.
pub struct BuildSpec<'a> {
    pub dockerfile: PathBuf,
    /// The directory sent to the builder.
    pub context: PathBuf,
    pub tags: &'a [String],
    pub build_args: &'a [(&'static str, String)],
}

impl Engine {
    /// The program to run (`docker` or `podman`).
    pub fn program(self) -> &'static str {
        match self {
            Engine::Docker => "docker",
            Engine::Podman => "podman",
        }
    }

    /// The first engine that answers: podman (daemonless), then docker.
    pub fn detect() -> anyhow::Result<Self> {
        [Engine::Podman, Engine::Docker]
            .into_iter()
            .find(|e| e.check().is_ok())
            .context("no container engine answers: install podman or docker, or pass --engine")
    }

    /// This engine, if it is installed and answers.
    pub fn check(self) -> anyhow::Result<Self> {
        let program = self.program();
        if processes::find_program(program).is_none() {
            bail!("--engine {program}: {program} is not on PATH");
        }
        let sh = project::shell()?;
        let out = cmd!(sh, "{program} version")
            .quiet()
            .ignore_status()
            .output()
            .with_context(|| format!("running {program} version"))?;
        if !out.status.success() {
            bail!(
                "--engine {program}: `{program} version` failed: {}",
                last_line(&out.stderr)
            );
        }
        Ok(self)
    }

    pub fn build(self, spec: &BuildSpec<'_>) -> anyhow::Result<()> {
        let sh = project::shell()?;
        let (program, dockerfile) = (self.program(), &spec.dockerfile);
        let mut build = cmd!(sh, "{program} build --file {dockerfile}");
        for (name, value) in spec.build_args {
            build = build.arg("--build-arg").arg(format!("{name}={value}"));
        }
        for tag in spec.tags {
            build = build.arg("--tag").arg(tag);
        }
        let build = build.arg(&spec.context);
        project::run(&format!("{program} build {}", spec.tags[0]), build)
    }

    /// Pushes `reference` and returns the digest the registry gave it (`sha256:…`).
    pub fn push(self, reference: &str) -> anyhow::Result<String> {
        let program = self.program();
        eprintln!("xtask: {program} push {reference}");
        let sh = project::shell()?;
        let mut push = cmd!(sh, "{program} push");
        let digest_file = std::env::temp_dir().join(format!(
            "xtask-digest-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        // docker treats 127.0.0.0/8 registries as insecure already.
        if self == Engine::Podman {
            if is_loopback(reference) {
                push = push.arg("--tls-verify=false");
            }
            push = push.arg("--digestfile").arg(&digest_file);
        }
        // Its progress (stderr) is shown as it comes; docker prints the digest on stdout.
        let stdout = push
            .arg(reference)
            .quiet()
            .read()
            .map_err(|e| anyhow::anyhow!("{program} push {reference} failed ({e})"))?;
        if !stdout.is_empty() {
            eprintln!("{stdout}");
        }
        let digest = match self {
            Engine::Podman => {
                let text = std::fs::read_to_string(&digest_file)
                    .with_context(|| format!("reading {}", digest_file.display()));
                let _ = std::fs::remove_file(&digest_file);
                text?.trim().to_owned()
            }
            // "<tag>: digest: sha256:… size: 1234"
            Engine::Docker => stdout
                .split_whitespace()
                .skip_while(|w| *w != "digest:")
                .nth(1)
                .unwrap_or_default()
                .to_owned(),
        };
        if !digest.starts_with("sha256:") {
            bail!("{program} push {reference}: no digest in its output");
        }
        Ok(digest)
    }
}

/// A tag as registries accept it.
pub fn check_tag(tag: &str) -> anyhow::Result<String> {
    if !is_tag(tag) {
        bail!(
            "--tag {tag:?}: a tag is 1–128 letters, digits, `_`, `.` or `-`, not starting with `.` or `-`"
        );
    }
    Ok(tag.to_owned())
}

/// Docker's rule for tags: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub fn is_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 128
        && !tag.starts_with(['.', '-'])
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Whether the reference's registry is on this machine (plain HTTP is fine there).
pub fn is_loopback(reference: &str) -> bool {
    let host = reference.split('/').next().unwrap_or_default();
    let host = host
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(host, |(host, _)| host);
    host == "localhost" || host.starts_with("127.") || host == "[::1]"
}

fn last_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or("no output")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_registries() {
        assert!(is_loopback("127.0.0.1:5000/randoms/api:abc"));
        assert!(is_loopback("localhost:5000/randoms/api"));
        assert!(is_loopback("localhost/randoms/api"));
        assert!(is_loopback("[::1]:5000/x/api"));
        assert!(!is_loopback("ghcr.io/acme/api:1"));
        assert!(!is_loopback("registry.example:5000/api"));
    }

    #[test]
    fn tags() {
        assert!(check_tag("abc1234-dirty").is_ok());
        assert!(check_tag("0.1.0-abc").is_ok());
        for bad in ["", "-x", ".x", "a/b", "a:b", &"x".repeat(129)] {
            let err = check_tag(bad).expect_err(bad).to_string();
            assert!(err.starts_with("--tag "), "{err}");
        }
    }
}
