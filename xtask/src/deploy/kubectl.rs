//! kubectl, always with an explicit `--context`: a context switch in another terminal
//! during a deploy cannot redirect it.

use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// The field manager of our server-side applies, as shown in `managedFields`.
const FIELD_MANAGER: &str = "randoms-deploy";

pub struct Kubectl {
    pub context: String,
}

impl Kubectl {
    pub fn new(context: &str) -> Self {
        Self {
            context: context.to_owned(),
        }
    }

    /// `kubectl --context C ARGS…`, for display and for running.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("kubectl");
        cmd.arg("--context").arg(&self.context).args(args);
        cmd
    }

    /// Runs to completion and returns stdout; a failure carries kubectl's own message.
    pub fn output(&self, args: &[&str]) -> anyhow::Result<String> {
        let output = self
            .command(args)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running kubectl {}", args.join(" ")))?;
        if !output.status.success() {
            bail!(
                "kubectl {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        String::from_utf8(output.stdout).context("kubectl printed something not UTF-8")
    }

    /// Runs with kubectl's output shown as it comes (rollout progress, apply results).
    pub fn run(&self, args: &[&str]) -> anyhow::Result<()> {
        let status = self
            .command(args)
            .stdin(Stdio::null())
            .status()
            .with_context(|| format!("running kubectl {}", args.join(" ")))?;
        if !status.success() {
            bail!("kubectl {} failed ({status})", args.join(" "));
        }
        Ok(())
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
    let output = Command::new("kubectl")
        .args(["config", "current-context"])
        .stdin(Stdio::null())
        .output()
        .context("running kubectl config current-context")?;
    let name = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if !output.status.success() || name.is_empty() {
        bail!("no current kubectl context: pass --context");
    }
    Ok(name)
}
