//! Connections that a handler can cut: the fake's way to drop a request without
//! answering it (`Fault::ConnectionReset` and friends).
//!
//! axum's `serve` takes any [`Listener`]; ours wraps each accepted `TcpStream` in a
//! [`FaultyStream`] sharing a [`KillSwitch`] with the connection's [`ConnHandle`],
//! which handlers get through `ConnectInfo`. Once killed, every read and write on the
//! stream fails, so hyper drops the connection without writing a byte; the socket is
//! closed with `SO_LINGER` 0, which makes the client see a TCP reset.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Default)]
struct KillSwitch {
    killed: AtomicBool,
    /// The task last reading the stream, woken up when the connection is killed.
    reader: Mutex<Option<Waker>>,
}

/// A handle on one client connection.
#[derive(Debug, Clone)]
pub(crate) struct ConnHandle {
    #[allow(dead_code)] // shown in Debug output
    peer: SocketAddr,
    switch: Arc<KillSwitch>,
}

impl ConnHandle {
    /// Closes the connection without answering the request in flight.
    pub fn kill(&self) {
        self.switch.killed.store(true, Ordering::SeqCst);
        let waker = self
            .switch
            .reader
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl Connected<IncomingStream<'_, FaultyListener>> for ConnHandle {
    fn connect_info(stream: IncomingStream<'_, FaultyListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A TCP stream that fails every operation once its connection is killed.
#[derive(Debug)]
pub(crate) struct FaultyStream {
    inner: TcpStream,
    switch: Arc<KillSwitch>,
    reset_armed: bool,
}

impl FaultyStream {
    fn check(&mut self) -> io::Result<()> {
        if !self.switch.killed.load(Ordering::SeqCst) {
            return Ok(());
        }
        if !self.reset_armed {
            self.reset_armed = true;
            // Linger 0 turns the close into a TCP RST. Tokio deprecates SO_LINGER
            // because a non-zero linger blocks the thread on drop; zero does not.
            #[allow(deprecated)]
            let _ = self.inner.set_linger(Some(Duration::ZERO));
        }
        Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "connection cut by FakeStripe fault injection",
        ))
    }
}

impl AsyncRead for FaultyStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        *this
            .switch
            .reader
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(cx.waker().clone());
        // Checked again after registering the waker, so a kill in between is not lost.
        this.check()?;
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for FaultyStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

/// The fake's listener: a loopback `TcpListener` handing out [`FaultyStream`]s.
#[derive(Debug)]
pub(crate) struct FaultyListener(pub TcpListener);

impl Listener for FaultyListener {
    type Io = FaultyStream;
    type Addr = ConnHandle;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let switch = Arc::new(KillSwitch::default());
                    let io = FaultyStream {
                        inner: stream,
                        switch: Arc::clone(&switch),
                        reset_armed: false,
                    };
                    return (io, ConnHandle { peer, switch });
                }
                Err(err) => {
                    // Usually too many open files: back off instead of spinning.
                    tracing::debug!("FakeStripe accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(ConnHandle {
            peer: self.0.local_addr()?,
            switch: Arc::default(),
        })
    }
}
