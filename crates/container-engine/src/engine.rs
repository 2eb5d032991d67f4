//! The engine itself: which one, building with it, pushing with it.

use std::{
    path::PathBuf,
    process::{Command, Output, Stdio},
};

use crate::{Error, Platform, Result};

/// The container engine that builds and pushes images.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
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
    /// What the image is for (its config's `os`/`architecture`); the files in the context
    /// must be built for it, since nothing runs in the build.
    pub platform: Platform,
    /// Build every step afresh. Docker's legacy builder and podman 4 reuse a cached step
    /// built for another platform; a host-built context has no step worth caching.
    pub no_cache: bool,
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
    pub fn detect() -> Option<Self> {
        [Engine::Podman, Engine::Docker]
            .into_iter()
            .find(|e| e.check().is_ok())
    }

    /// This engine, if it is installed and answers.
    pub fn check(self) -> Result<Self> {
        let program = self.program();
        if processes::find_program(program).is_none() {
            return Err(Error::NotInstalled { program });
        }
        let out = output(Command::new(program).arg("version"), "version")?;
        if !out.status.success() {
            let why = last_line(&out.stderr);
            return Err(Error::NotAnswering { program, why });
        }
        Ok(self)
    }

    /// Builds one image; the engine's progress is shown as it comes.
    pub fn build(self, spec: &BuildSpec<'_>) -> Result<()> {
        let mut build = Command::new(self.program());
        build.arg("build").arg("--file").arg(&spec.dockerfile);
        build.arg("--platform").arg(spec.platform.as_str());
        if spec.no_cache {
            build.arg("--no-cache");
        }
        for (name, value) in spec.build_args {
            build.arg("--build-arg").arg(format!("{name}={value}"));
        }
        for tag in spec.tags {
            build.arg("--tag").arg(tag);
        }
        build.arg(&spec.context);
        let what = format!("{} build {}", self.program(), spec.tags.join(" "));
        Ok(processes::run(&mut build, &what)?)
    }

    /// The platform of the machine the engine builds and runs on (a VM's on macOS, the
    /// nodes' of a cluster that runs in it); None if it is not one we build for.
    pub fn platform(self) -> Result<Option<Platform>> {
        let format = match self {
            Engine::Docker => "{{.Server.Arch}}",
            Engine::Podman => "{{.Host.Arch}}",
        };
        let info = match self {
            Engine::Docker => "version",
            Engine::Podman => "info",
        };
        let what = format!("{} {info} --format {format}", self.program());
        let mut ask = Command::new(self.program());
        let out = processes::output(ask.args([info, "--format", format]), &what)?;
        Ok(Platform::from_arch(
            String::from_utf8_lossy(&out.stdout).trim(),
        ))
    }

    /// Pushes `reference` and returns the digest the registry gave it (`sha256:…`).
    pub fn push(self, reference: &str) -> Result<String> {
        let program = self.program();
        let what = format!("{program} push {reference}");
        let mut push = Command::new(program);
        push.arg("push");
        let digest_file = digest_file();
        // docker treats 127.0.0.0/8 registries as insecure already.
        if self == Engine::Podman {
            if is_loopback(reference) {
                push.arg("--tls-verify=false");
            }
            push.arg("--digestfile").arg(&digest_file);
        }
        // Its progress (stderr) is shown as it comes; docker prints the digest on stdout.
        let out = processes::output(push.arg(reference), &what).inspect_err(|_| {
            let _ = std::fs::remove_file(&digest_file);
        })?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !stdout.trim().is_empty() {
            eprintln!("{}", stdout.trim_end());
        }
        let digest = match self {
            Engine::Podman => read_digest_file(digest_file)?,
            // "<tag>: digest: sha256:… size: 1234"
            Engine::Docker => stdout
                .split_whitespace()
                .skip_while(|w| *w != "digest:")
                .nth(1)
                .unwrap_or_default()
                .to_owned(),
        };
        if !digest.starts_with("sha256:") {
            return Err(Error::NoDigest { what });
        }
        Ok(digest)
    }
}

/// A fresh path for podman's `--digestfile`.
pub(crate) fn digest_file() -> PathBuf {
    std::env::temp_dir().join(format!(
        "container-engine-digest-{}-{}",
        std::process::id(),
        rand::random::<u64>()
    ))
}

/// What podman wrote to a `--digestfile`; the file goes either way.
pub(crate) fn read_digest_file(path: PathBuf) -> Result<String> {
    let text = std::fs::read_to_string(&path);
    let _ = std::fs::remove_file(&path);
    Ok(text
        .map_err(|source| Error::Io { path, source })?
        .trim()
        .to_owned())
}

/// Output whatever the status (`version` says why it failed on stderr).
fn output(cmd: &mut Command, what: &str) -> Result<Output> {
    cmd.stdin(Stdio::null()).output().map_err(|source| {
        Error::Run(processes::RunError::Spawn {
            what: what.to_owned(),
            source,
        })
    })
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
        assert!(is_tag("abc1234-dirty"));
        assert!(is_tag("0.1.0-abc"));
        for bad in ["", "-x", ".x", "a/b", "a:b", &"x".repeat(129)] {
            assert!(!is_tag(bad), "{bad}");
        }
    }
}
