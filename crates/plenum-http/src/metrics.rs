//! The request metrics: every answer counted in `plenum_http_request_duration_seconds` by its
//! route template (axum's [`MatchedPath`], never the path itself: no ids, no tokens), method
//! and status class, with the time to its head.
//!
//! The layer is applied with `Router::layer`, which wraps each route's endpoint (one per path
//! and method) and the fallback separately, after routing: each endpoint's [`Measured`] keeps
//! the histograms of its own route, looked up in the recorder the first time a method and
//! status class is answered. A request then costs two clock readings, a comparison of its
//! template with the endpoint's, and the histogram's lock-free push: no allocation, no lookup
//! in the recorder. An endpoint that answers under several templates (a nested router) looks
//! up the others each time.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{Method, Response};
use plenum_metrics::Histogram;
use plenum_metrics::http::{STATUS_CLASSES, UNMATCHED_ROUTE, requests, status_class};
use tower::{Layer, Service};

/// Methods with a label of their own; any other is `other`.
const METHODS: [&str; 8] = [
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "other",
];

fn method_index(method: &Method) -> usize {
    match *method {
        Method::GET => 0,
        Method::POST => 1,
        Method::PUT => 2,
        Method::DELETE => 3,
        Method::PATCH => 4,
        Method::HEAD => 5,
        Method::OPTIONS => 6,
        _ => 7,
    }
}

/// Counts every request of the routes it wraps (see the module's documentation).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RequestMetrics;

impl<S> Layer<S> for RequestMetrics {
    type Service = Measured<S>;

    fn layer(&self, inner: S) -> Measured<S> {
        Measured {
            inner,
            route: Arc::default(),
        }
    }
}

/// One endpoint, measured.
#[derive(Debug, Clone)]
pub(crate) struct Measured<S> {
    inner: S,
    route: Arc<RouteHistograms>,
}

/// The histograms of one endpoint's route, by method and status class.
#[derive(Debug, Default)]
struct RouteHistograms {
    /// The template of the first request answered (every later one has it too, unless the
    /// endpoint is a nested router's).
    template: OnceLock<Box<str>>,
    histograms: [[OnceLock<Histogram>; STATUS_CLASSES.len()]; METHODS.len()],
}

impl RouteHistograms {
    fn record(&self, template: &str, method: usize, status: u16, started: Instant) {
        let seconds = started.elapsed().as_secs_f64();
        let class = status_class(status);
        if **self.template.get_or_init(|| template.into()) == *template {
            self.histograms[method][class]
                .get_or_init(|| requests(template.to_owned(), METHODS[method], class))
                .record(seconds);
        } else {
            requests(template.to_owned(), METHODS[method], class).record(seconds);
        }
    }
}

impl<S, ResBody> Service<Request> for Measured<S>
where
    S: Service<Request, Response = Response<ResBody>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = MeasuredFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let started = Instant::now();
        let method = method_index(request.method());
        let template = request.extensions().get::<MatchedPath>().cloned();
        MeasuredFuture {
            inner: self.inner.call(request),
            started,
            method,
            template,
            route: Arc::clone(&self.route),
        }
    }
}

pin_project_lite::pin_project! {
    /// A measured endpoint's answer: recorded when its head is ready.
    pub(crate) struct MeasuredFuture<F> {
        #[pin]
        inner: F,
        started: Instant,
        method: usize,
        template: Option<MatchedPath>,
        route: Arc<RouteHistograms>,
    }
}

impl<F, ResBody, E> Future for MeasuredFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let answered = ready!(this.inner.poll(cx));
        if let Ok(response) = &answered {
            let template = this
                .template
                .as_ref()
                .map_or(UNMATCHED_ROUTE, MatchedPath::as_str);
            this.route.record(
                template,
                *this.method,
                response.status().as_u16(),
                *this.started,
            );
        }
        Poll::Ready(answered)
    }
}
