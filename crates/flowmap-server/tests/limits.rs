//! The accept loop's limits over real sockets: slow clients cannot hold the server, a body
//! that stops arriving fails its request with 408, and the connection limit is kept.

use std::time::{Duration, Instant};

use flowmap_server::{AppState, Limits, ServerConfig};
use flowmap_store::Store;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::common::TestDb;

/// A server within `limits` on a free local port; returns its address and a handle that
/// stops it when sent.
async fn start(
    limits: Limits,
) -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
    TestDb,
) {
    let db = TestDb::sqlite();
    let store = Store::open(&db.location()).await.expect("open store");
    let config = ServerConfig {
        limits,
        ..ServerConfig::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(flowmap_server::serve_until(
        listener,
        AppState::new(store, config),
        async move {
            let _ = stopped.await;
        },
    ));
    (addr, stop, server, db)
}

/// Sends a plain request on a new connection and returns the whole response.
async fn request(addr: std::net::SocketAddr, text: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(text.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    String::from_utf8_lossy(&response).into_owned()
}

async fn healthz(addr: std::net::SocketAddr) -> String {
    request(
        addr,
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eleven_hundred_slow_clients_do_not_stop_healthz() {
    let header_timeout = Duration::from_millis(1500);
    let (addr, stop, server, _db) = start(Limits {
        header_read_timeout: header_timeout,
        ..Limits::default()
    })
    .await;

    // 1 100 connections that send half a request line and then nothing: more than the
    // default limit of 1 024 connections, so the rest wait in the kernel's queue.
    let mut slow = Vec::new();
    for _ in 0..1100 {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.")
            .await
            .expect("write");
        slow.push(stream);
    }

    // The server frees the slots when the header timeout passes, so /healthz answers
    // after about one header timeout, not never.
    let started = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(10), healthz(addr))
        .await
        .expect("/healthz answers while 1 100 slow clients are connected");
    let took = started.elapsed();
    eprintln!("/healthz answered in {took:?} with 1 100 slow clients connected");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        took < 4 * header_timeout,
        "/healthz took {took:?} with slow clients connected"
    );

    // The slow clients were disconnected: their reads end instead of hanging.
    let mut first = slow.swap_remove(0);
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), first.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "a slow client was never disconnected");

    drop(slow);
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stops_arriving_fails_its_request_in_time() {
    let body_timeout = Duration::from_millis(800);
    let (addr, stop, server, _db) = start(Limits {
        body_read_timeout: body_timeout,
        ..Limits::default()
    })
    .await;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    // Announces 100 bytes of a map, sends 10, then waits.
    stream
        .write_all(
            b"POST /api/v1/maps HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"id\": \"a",
        )
        .await
        .unwrap();
    let started = Instant::now();
    let mut response = Vec::new();
    let mut buffer = [0u8; 4096];
    // The server answers (and the response is complete) once the body timeout passes.
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let n = stream.read(&mut buffer).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            response.extend_from_slice(&buffer[..n]);
            if response.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server waited for the body forever");
    let took = started.elapsed();
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 408 "), "{response}");
    assert!(
        response.to_ascii_lowercase().contains("connection: close"),
        "{response}"
    );
    assert!(
        took >= body_timeout && took < body_timeout * 4,
        "answered after {took:?}"
    );

    // A complete request on the same server is unaffected.
    assert!(healthz(addr).await.starts_with("HTTP/1.1 200"));
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_wait_for_a_free_slot() {
    let (addr, stop, server, _db) = start(Limits {
        max_connections: 2,
        header_read_timeout: Duration::from_secs(30),
        ..Limits::default()
    })
    .await;
    // Two idle connections take both slots.
    let first = TcpStream::connect(addr).await.unwrap();
    let second = TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let waiting = tokio::time::timeout(Duration::from_millis(700), healthz(addr)).await;
    assert!(
        waiting.is_err(),
        "a third connection was served beyond the limit of 2"
    );
    // One closes: the next is served.
    drop(first);
    let answer = tokio::time::timeout(Duration::from_secs(5), healthz(addr))
        .await
        .expect("served once a slot is free");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(second);
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_get_413_over_a_real_connection() {
    let (addr, stop, server, _db) = start(Limits::default()).await;
    let too_big = flowmap_server::MAX_BODY_BYTES + 1;
    for (uri, content_type) in [
        ("/api/v1/maps", "application/json"),
        ("/import", "multipart/form-data; boundary=b"),
    ] {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let head = format!(
            "POST {uri} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n\
             Content-Length: {too_big}\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let (mut reader, mut writer) = stream.into_split();
        // The body is sent while the answer is read; the server may stop reading early.
        let sending = tokio::spawn(async move {
            let mut body = b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"changes.csv\"\r\n\r\n".to_vec();
            body.resize(too_big, b'x');
            let _ = writer.write_all(&body).await;
            writer
        });
        let mut response = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(30), reader.read_to_end(&mut response))
            .await
            .expect("answered");
        let response = String::from_utf8_lossy(&response);
        assert!(response.starts_with("HTTP/1.1 413"), "{uri}: {response}");
        drop(sending.await);
    }
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
