//! One single-threaded runtime per core, each accepting on its own socket bound to the same
//! address with `SO_REUSEPORT`, so the kernel spreads connections over them and a request
//! never crosses threads, as with nginx's workers. Measured against one multi-threaded
//! runtime on one socket: see docs/performance.md.

use std::{
    io,
    net::{SocketAddr, TcpListener, ToSocketAddrs},
    sync::Arc,
    thread::JoinHandle,
};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::sync::watch;

use crate::{
    app::App,
    server::{self, ConnectionCap},
};

/// Pending connections per socket; the kernel caps it at `net.core.somaxconn`.
const BACKLOG: i32 = 1024;

/// How many workers: one per core this process may use (cgroup limits included).
pub fn count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `n` sockets listening on `host:port` (the first one picks the port when it is 0).
pub fn bind(host: &str, port: u16, n: usize) -> io::Result<Vec<TcpListener>> {
    let mut addr = (host, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address"))?;
    let mut listeners = Vec::with_capacity(n);
    for _ in 0..n.max(1) {
        let listener = bind_one(addr)?;
        addr = listener.local_addr()?;
        listeners.push(listener);
    }
    Ok(listeners)
}

fn bind_one(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// Running workers; [`Workers::stop`] drains them all.
pub struct Workers {
    stop: watch::Sender<bool>,
    threads: Vec<JoinHandle<()>>,
}

impl Workers {
    /// One thread and runtime per listener, each serving `app`; together they hold at most
    /// `cap`'s connections.
    pub fn start(
        listeners: Vec<TcpListener>,
        app: &Arc<App>,
        cap: &ConnectionCap,
    ) -> io::Result<Self> {
        let (stop, stopped) = watch::channel(false);
        let mut threads = Vec::with_capacity(listeners.len());
        for (i, listener) in listeners.into_iter().enumerate() {
            let app = app.clone();
            let cap = cap.clone();
            let mut stopped = stopped.clone();
            let thread = std::thread::Builder::new()
                .name(format!("web-worker-{i}"))
                .spawn(move || {
                    let runtime = match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(runtime) => runtime,
                        Err(e) => {
                            tracing::error!(error = %e, worker = i, "cannot start a worker");
                            return;
                        }
                    };
                    runtime.block_on(async move {
                        let listener = match tokio::net::TcpListener::from_std(listener) {
                            Ok(listener) => listener,
                            Err(e) => {
                                tracing::error!(error = %e, worker = i, "cannot use the socket");
                                return;
                            }
                        };
                        server::serve_capped(listener, app, &cap, async move {
                            let _ = stopped.wait_for(|stop| *stop).await;
                        })
                        .await;
                    });
                })?;
            threads.push(thread);
        }
        Ok(Self { stop, threads })
    }

    /// Tells every worker to stop accepting and drain, and waits for them.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let threads = self.threads;
        let _ = tokio::task::spawn_blocking(move || {
            for thread in threads {
                let _ = thread.join();
            }
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_worker_listens_on_the_port_the_first_one_got() {
        let listeners = bind("127.0.0.1", 0, 3).expect("bind");
        let ports: Vec<u16> = listeners
            .iter()
            .map(|l| l.local_addr().expect("addr").port())
            .collect();
        assert_eq!(ports.len(), 3);
        assert!(
            ports[0] != 0 && ports.iter().all(|p| *p == ports[0]),
            "{ports:?}"
        );
        // A socket that did not ask to share the port cannot take it from them.
        let other = std::net::TcpListener::bind(("127.0.0.1", ports[0]));
        assert!(other.is_err());
    }
}
