//! The accept loop: how many connections are served at once, how long a client may take to
//! send its headers and its body, and the graceful shutdown.
//!
//! A slow client must not be able to hold the server: every connection takes one of
//! [`Limits::max_connections`] slots (further connections wait in the kernel's queue until
//! one is free), a request's headers must arrive within [`Limits::header_read_timeout`] of
//! the connection starting to read them (idle keep-alive connections included, so an idle
//! or dripping connection gives its slot back), and its body within
//! [`Limits::body_read_timeout`] of its headers. So a thousand connections that send half a
//! header and stop hold the server for at most one header timeout. A request whose body did
//! not arrive in time is answered `408 Request Timeout` (and its connection closed),
//! whatever the handler made of the cut-off body.

use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use futures_util::StreamExt as _;
use hyper::body::{Body as _, Incoming};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;

/// How much of the server one client may hold, and for how long. The defaults suit a team's
/// server; `flowmap serve` sets them from its flags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once (`--max-connections`, default 1024). Keep it below the
    /// process's open-file limit (`ulimit -n`), which also covers the database.
    pub max_connections: usize,
    /// Time allowed for a request's headers, from when the server starts reading them
    /// (`--header-timeout`, default 5 s; a browser sends its
    /// headers in milliseconds); an idle keep-alive connection is closed after it.
    pub header_read_timeout: Duration,
    /// Time allowed for a request's whole body after its headers (`--body-timeout`,
    /// default 60 s); a body still arriving then fails the request with 408.
    pub body_read_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(5),
            body_read_timeout: Duration::from_secs(60),
        }
    }
}

/// How long a shutdown waits for requests in flight before it stops anyway.
pub const SHUTDOWN_DRAIN: Duration = Duration::from_secs(10);

/// The error a request body gives when it did not arrive in time.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
struct BodyTimeout(Duration);

/// Serves `app` on `listener` within `limits` until `stop` completes; then stops
/// accepting, lets the connections finish their requests in flight for at most
/// [`SHUTDOWN_DRAIN`] (idle ones close at once), and returns.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots_total = limits.max_connections.clamp(1, u32::MAX as usize);
    let slots = Arc::new(Semaphore::new(slots_total));
    let (closing, closed) = watch::channel(false);
    let mut stop = pin!(stop);
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break, // never closed; nothing more could be served
            },
            () = &mut stop => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    accept_failed(&err).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        tokio::spawn(connection(
            stream,
            peer,
            app.clone(),
            limits.clone(),
            permit,
            closed.clone(),
        ));
    }
    drop(listener);
    let _ = closing.send(true);
    // Every connection holds a slot until it ends: all slots back means all drained.
    let all = u32::try_from(slots_total).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(SHUTDOWN_DRAIN, slots.acquire_many(all)).await;
    Ok(())
}

/// A failed accept: a client that gave up before it was accepted is nothing to wait for;
/// anything else (out of file descriptors) is logged and retried after a pause, so the
/// server keeps serving the connections it has instead of spinning or exiting.
async fn accept_failed(err: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        err.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::warn!("accepting a connection failed: {err}; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Serves one connection, holding `_slot` until it ends.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: Limits,
    _slot: OwnedSemaphorePermit,
    mut closing: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let body_timeout = limits.body_read_timeout;
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let deadline = Instant::now() + body_timeout;
        let timed_out = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&timed_out);
        let request = request.map(|body| timed(body, deadline, body_timeout, flag));
        let app = app.clone();
        async move {
            let response = tower::ServiceExt::oneshot(app, request).await?;
            Ok::<_, std::convert::Infallible>(if timed_out.load(Ordering::Relaxed) {
                request_timeout(response, body_timeout)
            } else {
                response
            })
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let mut conn = pin!(
        builder
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades()
    );
    tokio::select! {
        served = conn.as_mut() => {
            if let Err(err) = served {
                tracing::debug!("connection from {peer} ended: {err}");
            }
            return;
        }
        _ = closing.wait_for(|closing| *closing) => {}
    }
    // Shutting down: finish the request in flight (if any), then close.
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}

/// The answer to a request whose body did not arrive in time: whatever the handler made of
/// the cut-off body (most say 400) becomes `408 Request Timeout` with the API's error
/// shape, keeping the response's other headers (request id, security headers), and the
/// connection is closed since the rest of the body may still come.
fn request_timeout(
    response: axum::response::Response,
    limit: Duration,
) -> axum::response::Response {
    use axum::http::{HeaderValue, StatusCode, header};
    let (mut parts, _) = response.into_parts();
    parts.status = StatusCode::REQUEST_TIMEOUT;
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts
        .headers
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    let body = serde_json::json!({ "error": BodyTimeout(limit).to_string() }).to_string();
    axum::response::Response::from_parts(parts, Body::from(body))
}

/// The request body, failing with [`BodyTimeout`] (and setting `timed_out`) if it is not
/// complete by `deadline`.
fn timed(body: Incoming, deadline: Instant, limit: Duration, timed_out: Arc<AtomicBool>) -> Body {
    if body.is_end_stream() {
        return Body::new(body);
    }
    let chunks = Body::new(body).into_data_stream();
    let timed = futures_util::stream::unfold(Some(chunks), move |chunks| {
        let timed_out = Arc::clone(&timed_out);
        async move {
            let mut chunks = chunks?;
            match tokio::time::timeout_at(deadline, chunks.next()).await {
                Ok(Some(chunk)) => Some((chunk, Some(chunks))),
                Ok(None) => None,
                Err(_) => {
                    timed_out.store(true, Ordering::Relaxed);
                    Some((Err(axum::Error::new(BodyTimeout(limit))), None))
                }
            }
        }
    });
    Body::from_stream(timed)
}
