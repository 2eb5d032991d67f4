use std::{io, net::TcpListener};

/// A port free on 127.0.0.1 right now: the kernel's choice, released at once so a server
/// can bind it just after. (Another process could take it in between; on loopback in a
/// test run that has not been seen to happen.)
pub fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}
