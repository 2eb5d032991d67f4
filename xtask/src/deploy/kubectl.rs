//! kubectl, always with an explicit `--context`: a context switch in another terminal
//! during a deploy cannot redirect it. It runs where xtask was started, so a relative
//! `KUBECONFIG` means what it meant to the user.

use std::process::Command;

use anyhow::{Context, bail};
use xshell::{Cmd, Shell, cmd};

use crate::project;

/// The field manager of our server-side applies, as shown in `managedFields`.
const FIELD_MANAGER: &str = "randoms-deploy";

pub struct Kubectl {
    pub context: String,
    sh: Shell,
}

impl Kubectl {
    pub fn new(context: &str) -> anyhow::Result<Self> {
        Ok(Self {
            context: context.to_owned(),
            sh: Shell::new().context("reading the current directory")?,
        })
    }

    /// `kubectl --context C ARGS…`.
    fn cmd(&self, args: &[&str]) -> Cmd<'_> {
        let context = &self.context;
        cmd!(self.sh, "kubectl --context {context} {args...}")
    }

    /// The same, for a long-running child (`port-forward`).
    pub fn command(&self, args: &[&str]) -> Command {
        self.cmd(args).into()
    }

    /// Runs to completion and returns stdout; a failure carries kubectl's own message.
    pub fn output(&self, args: &[&str]) -> anyhow::Result<String> {
        project::read(&format!("kubectl {}", args.join(" ")), self.cmd(args))
    }

    /// Runs with kubectl's output shown as it comes (rollout progress, apply results); a
    /// failure names the whole command.
    pub fn run(&self, args: &[&str]) -> anyhow::Result<()> {
        project::check("kubectl", self.cmd(args))
    }

    /// [`Self::output`] in namespace `ns`.
    pub fn output_in(&self, ns: &str, args: &[&str]) -> anyhow::Result<String> {
        self.output(&[&["-n", ns], args].concat())
    }

    /// [`Self::run`] in namespace `ns`.
    pub fn run_in(&self, ns: &str, args: &[&str]) -> anyhow::Result<()> {
        self.run(&[&["-n", ns], args].concat())
    }

    /// Server-side apply of a file: the fields we declare are ours, even if someone changed
    /// them by hand (`kubectl scale`, `kubectl edit`) since the last deploy.
    pub fn apply(&self, file: &std::path::Path) -> anyhow::Result<()> {
        let file = file.to_string_lossy();
        self.run(&[
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager",
            FIELD_MANAGER,
            "-f",
            &file,
        ])
    }
}

/// The context kubectl uses when none is given (read from the kubeconfig, no cluster call).
pub fn current_context() -> anyhow::Result<String> {
    let sh = Shell::new().context("reading the current directory")?;
    let output = cmd!(sh, "kubectl config current-context")
        .quiet()
        .ignore_status()
        .output()
        .context("running kubectl config current-context")?;
    let name = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if !output.status.success() || name.is_empty() {
        bail!("no current kubectl context: pass --context");
    }
    Ok(name)
}
