//! `kubectl port-forward` to a free local port, for as long as a check needs it.

use std::{
    net::TcpStream,
    process::{Command, Stdio},
    time::Duration,
};

use processes::{Process, Signal, Stop};

use crate::Error;

/// Where the release runs: a kubectl context and a namespace.
pub struct Namespace<'a> {
    pub context: &'a str,
    pub name: &'a str,
}

/// A port-forward; closed on drop.
pub struct Forward {
    child: Process,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Forward {
    /// Forwards a free local port to `port` of `target` (`pod/NAME`, `svc/NAME`) and waits
    /// until it accepts connections (20 s at most).
    pub fn open(ns: &Namespace<'_>, target: &str, port: u16) -> Result<Self, Error> {
        let fail = |why: String| Error::Forward {
            target: target.to_owned(),
            why,
        };
        let local = processes::free_port().map_err(|e| fail(format!("no free port: {e}")))?;
        let mut cmd = Command::new("kubectl");
        cmd.args([
            "--context",
            ns.context,
            "-n",
            ns.name,
            "port-forward",
            target,
        ])
        .arg(format!("{local}:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null());
        let stop = Stop::leader(Signal::SIGTERM, Duration::from_secs(5));
        let mut child = Process::spawn(&mut cmd, stop).map_err(|e| fail(e.to_string()))?;
        let at = format!("127.0.0.1:{local}");
        let up = processes::wait_until(
            &format!("the port-forward to {target}"),
            Duration::from_secs(20),
            Duration::from_millis(100),
            || {
                if !child.is_running() {
                    return Some(false);
                }
                TcpStream::connect(&at).ok().map(|_| true)
            },
        );
        match up {
            Ok(true) => Ok(Self {
                child,
                base: format!("http://{at}"),
            }),
            Ok(false) => Err(fail(
                "kubectl port-forward ended (its message is above)".into(),
            )),
            Err(e) => Err(fail(e.to_string())),
        }
    }
}

impl Drop for Forward {
    fn drop(&mut self) {
        let _ = self.child.stop();
    }
}
