//! A receiver for a program without an async runtime (`cargo xtask dev`).

use std::net::SocketAddr;

use tokio::{
    net::TcpListener,
    runtime::{Handle, Runtime},
};

use crate::{ReceivedSpan, Receiver};

/// A bounded [`Receiver`] on a small runtime of its own (one worker thread), for a
/// synchronous program; it may be made and dropped inside another runtime too. Everything
/// stops when it is dropped.
pub struct Background {
    // Fields drop in order: the receiver's task is aborted before its runtime goes.
    receiver: Receiver,
    _runtime: OwnRuntime,
}

impl Background {
    /// Listens on `addr`, keeping the latest `max_spans` spans. A port in use is the
    /// `AddrInUse` error of the bind.
    pub fn bind(addr: SocketAddr, max_spans: usize) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("otlp-receiver")
            .enable_all()
            .build()?;
        // Bound here, so a port in use is this call's error; served on our runtime.
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let receiver = {
            let _entered = runtime.enter();
            Receiver::serve(TcpListener::from_std(listener)?, true, max_spans)?
        };
        Ok(Self {
            receiver,
            _runtime: OwnRuntime(Some(runtime)),
        })
    }

    /// See [`Receiver::endpoint`]; the pages are under it too (`GET /`).
    pub fn endpoint(&self) -> String {
        self.receiver.endpoint()
    }

    /// See [`Receiver::requests`].
    pub fn requests(&self) -> u64 {
        self.receiver.requests()
    }

    /// See [`Receiver::spans`].
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.receiver.spans()
    }

    /// See [`Receiver::received`].
    pub fn received(&self) -> u64 {
        self.receiver.received()
    }

    /// See [`Receiver::spans_after`].
    pub fn spans_after(&self, seen: u64) -> (Vec<ReceivedSpan>, u64) {
        self.receiver.spans_after(seen)
    }
}

/// The runtime, shut down when dropped: waiting for its thread (so the port is free once
/// `Background` is gone), except inside another runtime, where blocking would panic.
struct OwnRuntime(Option<Runtime>);

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            if Handle::try_current().is_ok() {
                runtime.shutdown_background();
            } else {
                drop(runtime);
            }
        }
    }
}
