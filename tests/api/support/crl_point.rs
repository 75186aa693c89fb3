//! A CRL distribution point on loopback that a test controls: plain HTTP/1.1, one answer at a
//! time (a CRL with its `ETag`, a status, garbage, or a stall), switched while the handler runs.
//! It answers `304` when the request's `If-None-Match` carries the current `ETag`, counts the
//! answers it gave, and can be stopped (connections refused) and started again on its port.
//!
//! Self-contained (tokio only): `src/crl_source` includes it with `#[path]` for its unit tests.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// What the point answers now.
#[derive(Debug, Clone)]
pub enum Answer {
    /// `200` with the CRL (PEM or DER) and this `ETag`, or `304` to a request that has it.
    Crl { body: Vec<u8>, etag: String },
    /// This status, empty body.
    Status(u16),
    /// `200` with a body that is no CRL.
    Garbage,
    /// Accepts and reads the request, then never answers (until the answer changes).
    Stall,
}

#[derive(Debug, Default)]
struct Counts {
    ok: usize,
    not_modified: usize,
    other: usize,
}

/// A running distribution point; stops when dropped.
pub struct CrlPoint {
    pub addr: SocketAddr,
    answer: Arc<Mutex<Answer>>,
    changed: Arc<Notify>,
    counts: Arc<Mutex<Counts>>,
    task: Option<JoinHandle<()>>,
}

impl CrlPoint {
    /// Starts on a free loopback port.
    pub async fn start(answer: Answer) -> Self {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), answer).await
    }

    /// Starts on `addr` (a port it had before [`CrlPoint::stop`]).
    pub async fn start_on(addr: SocketAddr, answer: Answer) -> Self {
        let listener = TcpListener::bind(addr).await.expect("bind loopback");
        let mut point = Self {
            addr: listener.local_addr().expect("bound address"),
            answer: Arc::new(Mutex::new(answer)),
            changed: Arc::new(Notify::new()),
            counts: Arc::new(Mutex::new(Counts::default())),
            task: None,
        };
        let (answer, changed, counts) = (
            point.answer.clone(),
            point.changed.clone(),
            point.counts.clone(),
        );
        point.task = Some(tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (answer, changed, counts) = (answer.clone(), changed.clone(), counts.clone());
                tokio::spawn(serve(stream, answer, changed, counts));
            }
        }));
        point
    }

    /// `http://127.0.0.1:<port>/root.crl`.
    pub fn url(&self) -> String {
        format!("http://{}/root.crl", self.addr)
    }

    /// Switches the answer; a stalled request is dropped (its connection closes).
    pub fn set(&self, answer: Answer) {
        *self.answer.lock().expect("answer lock") = answer;
        self.changed.notify_waiters();
    }

    /// `304` answers given so far.
    pub fn not_modified(&self) -> usize {
        self.counts.lock().expect("counts lock").not_modified
    }

    /// Stops listening: connections to the port are refused until [`CrlPoint::start_on`].
    pub async fn stop(mut self) -> SocketAddr {
        if let Some(task) = self.task.take() {
            task.abort();
            // Done once the task is dropped, and its listener with it.
            task.await.ok();
        }
        self.changed.notify_waiters();
        self.addr
    }
}

impl Drop for CrlPoint {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        self.changed.notify_waiters();
    }
}

async fn serve(
    mut stream: tokio::net::TcpStream,
    answer: Arc<Mutex<Answer>>,
    changed: Arc<Notify>,
    counts: Arc<Mutex<Counts>>,
) {
    let mut head = Vec::new();
    let mut chunk = [0u8; 4096];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(read) => head.extend_from_slice(&chunk[..read]),
        }
        if head.len() > 64 * 1024 {
            return;
        }
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let current = answer.lock().expect("answer lock").clone();
    let (status, etag, body) = match current {
        Answer::Crl { body, etag } => {
            if head.contains(&format!("if-none-match: {}", etag.to_ascii_lowercase())) {
                (304, None, Vec::new())
            } else {
                (200, Some(etag), body)
            }
        }
        Answer::Status(status) => (status, None, Vec::new()),
        Answer::Garbage => (200, None, b"<html>this is not a crl</html>".to_vec()),
        Answer::Stall => {
            changed.notified().await;
            return;
        }
    };
    {
        let mut counts = counts.lock().expect("counts lock");
        match status {
            200 => counts.ok += 1,
            304 => counts.not_modified += 1,
            _ => counts.other += 1,
        }
    }
    let mut response = format!(
        "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    if let Some(etag) = etag {
        response.push_str(&format!("etag: {etag}\r\n"));
    }
    response.push_str("\r\n");
    let mut bytes = response.into_bytes();
    bytes.extend_from_slice(&body);
    stream.write_all(&bytes).await.ok();
    stream.shutdown().await.ok();
}
