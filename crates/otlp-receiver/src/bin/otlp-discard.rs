//! `otlp-discard`: the stand-in collector of `cargo xtask bench`, as a process of its own
//! built in release, so that what it costs the machine is what a collector's receiving
//! would, not a debug build's. Listens on `127.0.0.1:PORT` (the argument, or any free port),
//! prints its endpoint, answers every export without decoding it, and on end of stdin
//! prints how many export requests it answered, then exits.

use std::{
    net::{Ipv4Addr, SocketAddr},
    process::ExitCode,
};

use otlp_receiver::Receiver;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = tokio::io::stderr()
                .write_all(format!("otlp-discard: {e}\n").as_bytes())
                .await;
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let port = match std::env::args().nth(1) {
        Some(port) => port
            .parse::<u16>()
            .map_err(|_| format!("{port:?} is not a port number"))?,
        None => 0,
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let receiver = Receiver::discarding_on(addr)
        .await
        .map_err(|e| format!("listening on {addr}: {e}"))?;
    say(&format!("{}\n", receiver.endpoint())).await?;
    // Serve until whoever started us closes our stdin.
    let _ = tokio::io::stdin().read_to_end(&mut Vec::new()).await;
    say(&format!("requests {}\n", receiver.requests())).await
}

async fn say(line: &str) -> Result<(), String> {
    let mut stdout = tokio::io::stdout();
    stdout
        .write_all(line.as_bytes())
        .await
        .and(stdout.flush().await)
        .map_err(|e| format!("stdout: {e}"))
}
