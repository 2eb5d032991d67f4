//! Running a command to completion, where only its success (and perhaps its stdout)
//! matters: one error type saying which command and how it failed.

use std::{
    io,
    process::{Command, ExitStatus, Output, Stdio},
};

/// A command that could not be started, or that failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("could not run {what}: {source}")]
    Spawn { what: String, source: io::Error },
    #[error("{what} failed ({status})")]
    Failed { what: String, status: ExitStatus },
}

/// Runs `cmd` (called `what` in errors) with stdin closed, its output shown as it comes.
pub fn run(cmd: &mut Command, what: &str) -> Result<(), RunError> {
    let status = cmd
        .stdin(Stdio::null())
        .status()
        .map_err(|source| spawn(what, source))?;
    check(what, status)
}

/// [`run`], returning what it printed on stdout (stderr is shown as it comes).
pub fn output(cmd: &mut Command, what: &str) -> Result<Output, RunError> {
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|source| spawn(what, source))?;
    check(what, out.status)?;
    Ok(out)
}

/// `program arg…`, for a command's place in a message.
pub fn describe(cmd: &Command) -> String {
    let mut words = vec![cmd.get_program().to_string_lossy().into_owned()];
    words.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    words.join(" ")
}

fn spawn(what: &str, source: io::Error) -> RunError {
    RunError::Spawn {
        what: what.to_owned(),
        source,
    }
}

fn check(what: &str, status: ExitStatus) -> Result<(), RunError> {
    if status.success() {
        Ok(())
    } else {
        Err(RunError::Failed {
            what: what.to_owned(),
            status,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_name_the_command() {
        let err = run(&mut Command::new("false"), "false").expect_err("fails");
        assert!(err.to_string().starts_with("false failed"), "{err}");
        let err = run(&mut Command::new("/no/such/program"), "nothing").expect_err("absent");
        assert!(
            err.to_string().starts_with("could not run nothing"),
            "{err}"
        );
        let out = output(Command::new("echo").arg("hi"), "echo").expect("runs");
        assert_eq!(out.stdout, b"hi\n");
        assert_eq!(describe(Command::new("echo").arg("hi")), "echo hi");
    }
}
