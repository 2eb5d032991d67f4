//! What one connection may cost while its client does not read the answers.
//!
//! actix-web parses every request already received before it looks at whether the answers
//! go out: a client that pipelines a thousand requests and never reads gets a thousand
//! requests held in memory (about 6 KB each; 60 such clients OOM-killed a 256 MiB pod).
//! [`Throttled`] bounds the bytes actix-web may read ahead of the requests it serves, and
//! [`SEND_BUFFER`] the kernel's queue of unsent answers.

use std::{
    cell::Cell,
    io,
    pin::Pin,
    rc::Rc,
    task::{Context, Poll, ready},
};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes read ahead of the requests being served. A typical request head is smaller; a
/// larger one, or a body, is read in several turns.
pub const READ_AHEAD: usize = 2 * 1024;
/// The kernel's send buffer for one connection (Linux doubles it for bookkeeping). Without
/// it the buffer grows to 4 MiB per connection; our largest answer is about 10 KB.
pub const SEND_BUFFER: usize = 64 * 1024;

/// What the connection's requests tell its reader, on the connection's one thread: how many
/// bytes of requests actix-web has taken up, and whether a handler is at work (and not
/// waiting for the client, as while it reads a body).
#[derive(Clone, Default)]
pub struct Progress(Rc<State>);

#[derive(Default)]
struct State {
    read: Cell<u64>,
    consumed: Cell<u64>,
    busy: Cell<bool>,
}

impl Progress {
    /// A request of about `bytes` (head and body) has reached the handlers. An estimate
    /// (spacing may differ), so never counted past what was read.
    pub fn started(&self, bytes: u64) {
        let consumed = self.0.consumed.get().saturating_add(bytes);
        self.0.consumed.set(consumed.min(self.0.read.get()));
    }

    pub fn set_busy(&self, busy: bool) {
        self.0.busy.set(busy);
    }
}

/// A connection that reads at most [`READ_AHEAD`] bytes beyond the requests that have reached
/// the handlers, so actix-web never holds more than that of requests it has not started.
/// When no handler is at work and nothing was written, actix-web is waiting for more of a
/// request (a long head, a body): the reader may go on. (It flushes the stream only once its
/// write buffer is empty, so a client that stops reading stops being read from too.)
pub struct Throttled<T> {
    io: T,
    progress: Progress,
    wrote: bool,
    /// A read was refused: the flush that allows more must wake the connection.
    starved: bool,
}

impl<T> Throttled<T> {
    pub fn new(io: T) -> Self {
        Self {
            io,
            progress: Progress::default(),
            wrote: false,
            starved: false,
        }
    }

    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    fn ahead(&self) -> usize {
        let state = &self.progress.0;
        let ahead = state.read.get().saturating_sub(state.consumed.get());
        usize::try_from(ahead).unwrap_or(usize::MAX)
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Throttled<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let budget = READ_AHEAD.saturating_sub(this.ahead());
        if budget == 0 {
            this.starved = true;
            return Poll::Pending;
        }
        let mut limited = ReadBuf::new(buf.initialize_unfilled_to(budget.min(buf.remaining())));
        ready!(Pin::new(&mut this.io).poll_read(cx, &mut limited))?;
        let n = limited.filled().len();
        buf.advance(n);
        let state = &this.progress.0;
        state.read.set(state.read.get() + n as u64);
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Throttled<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = ready!(Pin::new(&mut this.io).poll_write(cx, buf))?;
        this.wrote |= written > 0;
        Poll::Ready(Ok(written))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = ready!(Pin::new(&mut this.io).poll_write_vectored(cx, bufs))?;
        this.wrote |= written > 0;
        Poll::Ready(Ok(written))
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(Pin::new(&mut this.io).poll_flush(cx))?;
        let wrote = std::mem::take(&mut this.wrote);
        if !wrote && !this.progress.0.busy.get() {
            // Idle: whatever actix-web holds, it needs more to go on.
            let state = &this.progress.0;
            state.consumed.set(state.read.get());
            if std::mem::take(&mut this.starved) {
                cx.waker().wake_by_ref();
            }
        }
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
