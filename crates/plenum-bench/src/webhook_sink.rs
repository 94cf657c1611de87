//! A fast webhook receiver for `live-join-storm --webhooks N`: answers every POST 204 at once
//! and counts them, with the instants of the first and the last. It checks nothing (the
//! tests check signatures); it only has to be faster than the server delivering to it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result};
use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

/// What the sink received.
#[derive(Debug, Default)]
pub struct Received {
    pub count: AtomicU64,
    pub first: Mutex<Option<Instant>>,
    pub last: Mutex<Option<Instant>>,
}

/// The sink: its address and its counts; the listener stops when the runtime does.
#[derive(Debug)]
pub struct Sink {
    pub addr: SocketAddr,
    pub received: Arc<Received>,
}

impl Sink {
    /// Starts the receiver on a thread of its own, with its own runtime: it stands for a
    /// system elsewhere, so its work must not queue behind the participants on the harness's
    /// runtime (there, its 11,000 requests delayed the joins it was meant to watch). It still
    /// shares the machine's CPUs with the server and the harness. The thread ends with the
    /// harness.
    pub async fn start() -> Result<Self> {
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").context("binding the webhook sink")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let received = Arc::new(Received::default());
        let counts = received.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("the webhook sink's runtime")?;
        std::thread::Builder::new()
            .name("webhook-sink".into())
            .spawn(move || runtime.block_on(serve(listener, counts)))
            .context("the webhook sink's thread")?;
        Ok(Self { addr, received })
    }

    pub fn url(&self, n: u32) -> String {
        format!("http://{}/hook/{n}", self.addr)
    }

    pub fn count(&self) -> u64 {
        self.received.count.load(Ordering::Relaxed)
    }
}

/// Answers every connection's requests 204 and counts them, until the process ends.
async fn serve(listener: std::net::TcpListener, counts: Arc<Received>) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    while let Ok((stream, _)) = listener.accept().await {
        let counts = counts.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let counts = counts.clone();
                async move {
                    // The whole body, as a receiver reads it.
                    let _ = request.into_body().collect().await;
                    let now = Instant::now();
                    counts.count.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut first) = counts.first.lock() {
                        first.get_or_insert(now);
                    }
                    if let Ok(mut last) = counts.last.lock() {
                        *last = Some(now);
                    }
                    Response::builder()
                        .status(StatusCode::NO_CONTENT)
                        .body(Empty::<Bytes>::new())
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
