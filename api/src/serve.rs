//! The front door: the accept loop and HTTP/1.1 connections of `soku serve`/`soku api`, served with hyper
//! directly so that slow clients cannot hold the server (see docs/http.md):
//!
//! - at most `SOKU_MAX_CONNECTIONS` connections are open; further ones wait in the listen backlog;
//! - a request head (request line and headers) must arrive within `SOKU_HEADER_READ_TIMEOUT_SECS`, counted from
//!   the connection's start or from the first byte of a later request; else `408 request_timeout` and close;
//! - a kept-alive connection with no request under way is closed after `SOKU_IDLE_TIMEOUT_SECS`;
//! - a request body must be complete within `SOKU_BODY_READ_TIMEOUT_SECS` of its head (`408`, from `body.rs`),
//!   but for a media upload (`POST /v1/media`), which has `SOKU_UPLOAD_TIMEOUT_SECS`.
//!
//! hyper answers a head it cannot parse (a control character in a header value, too many headers, a head too
//! large) itself, with an empty 400/414/431. [`Guarded`] sees that answer go out and writes one in the API's error
//! shape instead, with a request id and a message saying what was wrong: hyper still decides, we only word it.

use std::{
    convert::Infallible,
    future::Future,
    io,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll, Waker, ready},
    time::Duration,
};

use axum::{
    Router,
    body::{Body, Bytes},
    http::{Request, Response, StatusCode},
};
use http_body::{Frame, SizeHint};
use hyper::{body::Incoming, server::conn::http1};
use hyper_util::{rt::TokioIo, server::graceful::GracefulShutdown};
use soku_shared::config::HttpSettings;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::Semaphore,
    time::{Instant, Sleep},
};
use tower::ServiceExt;

use crate::error::ApiError;

mod refusal;
use refusal::{bare_parse_error, diagnose, rejection};

/// Most header fields a request may have (hyper's limit, kept).
pub const MAX_HEADERS: usize = 100;
/// Largest request head (request line and headers), in bytes.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Serves `app` on `listener` until `shutdown` resolves; then stops accepting, lets every connection finish the
/// request it is in (idle ones are closed at once) and returns when the last one is done.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    http: &HttpSettings,
    upload_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let limits = Limits {
        header_read: Duration::from_secs(http.header_read_timeout_secs),
        idle: Duration::from_secs(http.idle_timeout_secs),
        body_read: Duration::from_secs(http.body_read_timeout_secs),
        upload: upload_timeout,
    };
    let mut builder = http1::Builder::new();
    // Our own head timeout (hyper's would also count the idle time between requests).
    builder
        .header_read_timeout(None)
        .max_headers(MAX_HEADERS)
        .max_header_size(MAX_HEAD_BYTES)
        .max_buf_size(MAX_HEAD_BYTES);
    let slots = Arc::new(Semaphore::new(http.max_connections));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => (stream, peer),
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = stream;
        let _ = stream.set_nodelay(true);
        let conn = Arc::new(ConnState::default());
        let io = TokioIo::new(Guarded::new(stream, conn.clone(), limits));
        let service = Front {
            app: app.clone(),
            peer,
            conn,
            body_read: limits.body_read,
            upload: limits.upload,
        };
        let connection = graceful.watch(builder.serve_connection(io, service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Errors of one connection (reset before it was taken) are nothing; others (out of file descriptors) get a
/// pause so the loop does not spin.
async fn accept_failed(e: io::Error) {
    use io::ErrorKind::*;
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed; pausing for a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[derive(Debug, Clone, Copy)]
struct Limits {
    header_read: Duration,
    idle: Duration,
    body_read: Duration,
    upload: Duration,
}

/// What the service tells the connection's I/O: how many requests were handed to the app and how many answered,
/// and the waker of the last read that waited (woken when a request is answered, so the idle timer starts even
/// if hyper would not read again before the client sends something).
#[derive(Default)]
struct ConnState {
    started: AtomicU64,
    finished: AtomicU64,
    reader: Mutex<Option<Waker>>,
}

/// The app, behind the timer of request bodies and the bookkeeping of [`ConnState`].
struct Front {
    app: Router,
    /// The client's address, put into every request as `ConnectInfo` (login throttling per address).
    peer: std::net::SocketAddr,
    conn: Arc<ConnState>,
    body_read: Duration,
    /// The body time limit of a media upload.
    upload: Duration,
}

impl hyper::service::Service<Request<Incoming>> for Front {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        self.conn.started.fetch_add(1, Ordering::AcqRel);
        let answered = Answered(self.conn.clone());
        let upload = req.method() == axum::http::Method::POST && req.uri().path() == "/v1/media";
        let limit = if upload { self.upload } else { self.body_read };
        let deadline = Instant::now() + limit;
        let secs = limit.as_secs();
        let mut req = req;
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(self.peer));
        let req = req.map(|body| {
            if http_body::Body::is_end_stream(&body) {
                Body::new(body)
            } else {
                Body::new(DeadlineBody {
                    inner: body,
                    deadline,
                    sleep: None,
                    secs,
                })
            }
        });
        let response = self.app.clone().oneshot(req);
        Box::pin(async move {
            let response = response.await;
            drop(answered);
            response
        })
    }
}

/// Counts the request as answered when dropped (also when the connection goes away mid-request).
struct Answered(Arc<ConnState>);

impl Drop for Answered {
    fn drop(&mut self) {
        self.0.finished.fetch_add(1, Ordering::AcqRel);
        let reader = self.0.reader.lock().map(|mut w| w.take());
        if let Ok(Some(waker)) = reader {
            waker.wake();
        }
    }
}

/// The error a request body yields once its time is up.
#[derive(Debug)]
pub struct BodyTimeout {
    pub secs: u64,
}

impl std::fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the request body did not arrive within {} seconds",
            self.secs
        )
    }
}

impl std::error::Error for BodyTimeout {}

/// A request body that must be complete by `deadline`. The timer is only armed when the body makes a reader wait.
struct DeadlineBody {
    inner: Incoming,
    deadline: Instant,
    sleep: Option<Pin<Box<Sleep>>>,
    secs: u64,
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let deadline = this.deadline;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        ready!(sleep.as_mut().poll(cx));
        Poll::Ready(Some(Err(Box::new(BodyTimeout { secs: this.secs }))))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Where a connection is, as its I/O sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// Waiting for (the rest of) a request head, since this instant.
    Head(Instant),
    /// Between requests, since this instant: nothing of the next one has arrived.
    Idle(Instant),
    /// A request is with the app (its body, if any, is on the body's own timer).
    Busy,
}

/// After a refused head, how long and how much of what the client still sends is read and dropped before the
/// socket closes: closing with unread bytes would make the kernel reset the connection, which can destroy the
/// error response before the client reads it.
const LINGER: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 2 * 1024 * 1024;

/// A rejection being written in place of hyper's bare one, or of a timed-out head.
struct Outgoing {
    bytes: Vec<u8>,
    written: usize,
}

/// The TCP stream of one connection, with the head and idle timers, a copy of the head being read (to say what
/// was wrong with it), and the rewriting of hyper's bare parse-error answers.
struct Guarded {
    inner: TcpStream,
    conn: Arc<ConnState>,
    limits: Limits,
    phase: Phase,
    seen_finished: u64,
    timer: Pin<Box<Sleep>>,
    timer_at: Instant,
    head: Vec<u8>,
    outgoing: Option<Outgoing>,
    /// Set once a refused head's answer went out: the socket lingers on shutdown.
    linger: Option<Linger>,
}

struct Linger {
    fin_sent: bool,
    until: Instant,
    dropped: usize,
}

impl Guarded {
    fn new(inner: TcpStream, conn: Arc<ConnState>, limits: Limits) -> Guarded {
        let now = Instant::now();
        let timer_at = now + limits.header_read;
        Guarded {
            inner,
            conn,
            limits,
            phase: Phase::Head(now),
            seen_finished: 0,
            timer: Box::pin(tokio::time::sleep_until(timer_at)),
            timer_at,
            head: Vec::new(),
            outgoing: None,
            linger: None,
        }
    }

    fn update_phase(&mut self) {
        let finished = self.conn.finished.load(Ordering::Acquire);
        let started = self.conn.started.load(Ordering::Acquire);
        if started != finished {
            self.phase = Phase::Busy;
        } else if finished != self.seen_finished || self.phase == Phase::Busy {
            self.seen_finished = finished;
            self.phase = Phase::Idle(Instant::now());
            self.head.clear();
        }
    }

    fn on_read(&mut self, bytes: &[u8]) {
        if let Phase::Idle(_) = self.phase {
            self.phase = Phase::Head(Instant::now());
        }
        if let Phase::Head(_) = self.phase {
            let room = (MAX_HEAD_BYTES + 1).saturating_sub(self.head.len());
            self.head.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
    }

    fn deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Head(since) => Some(since + self.limits.header_read),
            Phase::Idle(since) => Some(since + self.limits.idle),
            Phase::Busy => None,
        }
    }

    /// Writes what is left of `outgoing`; ready once all of it is in the socket.
    fn poll_outgoing(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some(out) = &mut self.outgoing {
            if out.written == out.bytes.len() {
                self.outgoing = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &out.bytes[out.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            out.written += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.outgoing.is_some() {
            // A timed-out head's 408 is going out; then the connection ends.
            ready!(this.poll_outgoing(cx))?;
            return Poll::Ready(Err(io::ErrorKind::TimedOut.into()));
        }
        this.update_phase();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let fresh = &buf.filled()[before..];
                if !fresh.is_empty() {
                    this.on_read(fresh);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                if let Ok(mut reader) = this.conn.reader.lock()
                    && !reader.as_ref().is_some_and(|w| w.will_wake(cx.waker()))
                {
                    *reader = Some(cx.waker().clone());
                }
                let Some(deadline) = this.deadline() else {
                    return Poll::Pending;
                };
                if this.timer_at != deadline {
                    this.timer.as_mut().reset(deadline);
                    this.timer_at = deadline;
                }
                ready!(this.timer.as_mut().poll(cx));
                if matches!(this.phase, Phase::Head(_)) && !this.head.is_empty() {
                    let secs = this.limits.header_read.as_secs();
                    tracing::debug!("request head not complete in time");
                    this.outgoing = Some(Outgoing {
                        bytes: rejection(
                            StatusCode::REQUEST_TIMEOUT,
                            "request_timeout",
                            format!(
                                "The request's headers did not arrive within {secs} seconds; the connection is closed."
                            ),
                        ),
                        written: 0,
                    });
                    ready!(this.poll_outgoing(cx))?;
                }
                Poll::Ready(Err(io::ErrorKind::TimedOut.into()))
            }
        }
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.outgoing.is_none()
            && let Some(status) = bare_parse_error(buf)
        {
            let (status, code, message) = diagnose(status, &this.head);
            tracing::debug!(status = status.as_u16(), code, "request head refused");
            this.outgoing = Some(Outgoing {
                bytes: rejection(status, code, message),
                written: 0,
            });
            this.linger = Some(Linger {
                fin_sent: false,
                until: Instant::now() + LINGER,
                dropped: 0,
            });
        }
        if this.outgoing.is_some() {
            ready!(this.poll_outgoing(cx))?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let Some(linger) = &mut this.linger else {
            return Pin::new(&mut this.inner).poll_shutdown(cx);
        };
        if !linger.fin_sent {
            ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
            linger.fin_sent = true;
            this.timer.as_mut().reset(linger.until);
            this.timer_at = linger.until;
        }
        let mut scratch = [0u8; 8192];
        while linger.dropped < LINGER_BYTES {
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut this.inner).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if !buf.filled().is_empty() => {
                    linger.dropped += buf.filled().len();
                }
                Poll::Ready(_) => break,
                Poll::Pending => {
                    ready!(this.timer.as_mut().poll(cx));
                    break;
                }
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// Headers that are read once: a request with two of them is refused rather than read one way here and maybe
/// another way by a proxy in front.
const SINGLE_HEADERS: [&str; 5] = [
    "content-type",
    "idempotency-key",
    "soku-api-key",
    "authorization",
    "x-request-id",
];

/// Middleware: `400 invalid_header` for a request that repeats one of [`SINGLE_HEADERS`].
pub async fn single_headers(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response<Body> {
    use axum::response::IntoResponse;
    for name in SINGLE_HEADERS {
        if req.headers().get_all(name).iter().nth(1).is_some() {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_header",
                format!("The {name} header is given more than once; send it once."),
            )
            .into_response();
        }
    }
    next.run(req).await
}
