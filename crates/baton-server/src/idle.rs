//! Closes HTTP connections that hold a socket without finishing a request, below axum.
//!
//! axum's server has no header-read timeout: a client that sent a request's headers a byte
//! at a time (slowloris), or connected and sent nothing, held its socket and a file
//! descriptor for as long as it liked, and enough of them starve everyone else. So a
//! connection gets `[limits] http_idle_timeout_ms` to be served whenever the server is
//! waiting on the client: from its opening, from the first byte of each further request,
//! and while a response cannot be written (a stalled download). The server's own writes stop
//! the clock, so a quiet keep-alive connection between requests is never cut (a client that
//! reuses it cannot race a close), and a connection that becomes a WebSocket (the server
//! writes `101 Switching Protocols`) leaves the clock for good: its `hello_timeout_ms` and
//! send-queue limits take over.
//!
//! The same listener caps how many connections are open at once
//! (`[limits] max_http_connections`): past the cap it stops accepting, so further clients
//! wait in the kernel's accept queue instead of each costing a file descriptor.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use std::sync::Arc;

use axum::serve::Listener;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// A listener whose connections close when a request takes longer than `timeout` to arrive,
/// and that holds at most `max_connections` open at once.
pub struct IdleTimeout<L> {
    inner: L,
    timeout: Duration,
    open: Arc<Semaphore>,
    /// The cap was hit and said so: said once per time the node is full, not per client.
    full: bool,
}

impl<L> IdleTimeout<L> {
    pub fn new(inner: L, timeout: Duration, max_connections: usize) -> Self {
        Self {
            inner,
            timeout,
            open: Arc::new(Semaphore::new(max_connections.max(1))),
            full: false,
        }
    }
}

impl<L> Listener for IdleTimeout<L>
where
    L: Listener,
{
    type Io = IdleIo<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let slot = match self.open.clone().try_acquire_owned() {
            Ok(slot) => {
                self.full = false;
                slot
            }
            Err(_) => {
                if !std::mem::replace(&mut self.full, true) {
                    tracing::warn!(
                        "max_http_connections reached: new connections wait until one closes"
                    );
                }
                self.open
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("the semaphore is never closed")
            }
        };
        let (io, addr) = self.inner.accept().await;
        (IdleIo::new(io, self.timeout, slot), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// One connection and its clock.
pub struct IdleIo<I> {
    io: I,
    timeout: Duration,
    deadline: Pin<Box<Sleep>>,
    /// The server is waiting on the client: the deadline counts.
    armed: bool,
    /// The connection is a WebSocket now: no deadline ever again.
    upgraded: bool,
    /// This connection's place under `max_http_connections`, given back when it closes.
    _slot: OwnedSemaphorePermit,
}

impl<I> IdleIo<I> {
    fn new(io: I, timeout: Duration, slot: OwnedSemaphorePermit) -> Self {
        Self {
            io,
            timeout,
            deadline: Box::pin(tokio::time::sleep(timeout)),
            armed: true,
            upgraded: false,
            _slot: slot,
        }
    }

    /// Starts the clock unless it runs already.
    fn arm(&mut self) {
        if !self.armed && !self.upgraded {
            self.armed = true;
            self.deadline.as_mut().reset(Instant::now() + self.timeout);
        }
    }

    /// Pending work on the connection ends with an error once an armed deadline passed.
    fn check_deadline(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        if !self.armed {
            return Poll::Pending;
        }
        self.deadline.as_mut().poll(cx).map(|()| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                "request not received within http_idle_timeout_ms",
            )
        })
    }

    /// The server wrote `first` (the start of a write): the clock stops, for good when the
    /// answer upgrades the connection to a WebSocket.
    fn wrote(&mut self, first: &[u8]) {
        self.armed = false;
        if first.starts_with(b"HTTP/1.1 101 ") {
            self.upgraded = true;
        }
    }

    /// A write could not go out: the client has `timeout` to take it.
    fn write_blocked(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        self.arm();
        self.check_deadline(cx)
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for IdleIo<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Pending => this.check_deadline(cx).map(Err),
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.arm();
                }
                Poll::Ready(Ok(()))
            }
            ready => ready,
        }
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for IdleIo<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    this.wrote(buf);
                }
                Poll::Ready(Ok(n))
            }
            Poll::Pending => this.write_blocked(cx).map(Err),
            ready => ready,
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_write_vectored(cx, bufs) {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    let first = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| b);
                    this.wrote(first);
                }
                Poll::Ready(Ok(n))
            }
            Poll::Pending => this.write_blocked(cx).map(Err),
            ready => ready,
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_flush(cx) {
            Poll::Pending => this.write_blocked(cx).map(Err),
            ready => ready,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
