//! `GET /metrics`: the Prometheus exporter of the metrics `plenum-metrics` defines, on the main
//! listener or on `metrics.listen`, with an optional bearer token (docs/operations.md).
//!
//! The `metrics` facade has one recorder per process: the first server started with metrics
//! enabled installs it, and every server of the process (the tests start many) records into
//! and renders the same one. The gauges of running meetings are read from the scraped
//! server's live registry at each scrape.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use plenum_service::Plenum;
use subtle::ConstantTimeEq as _;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::MetricsSettings;

/// How often histograms' new samples are folded into their buckets: without a scrape they
/// would otherwise pile up in memory.
const UPKEEP: Duration = Duration::from_secs(5);

/// The process's Prometheus recorder, installed by the first call (`None` if another recorder
/// was installed first).
pub fn exporter() -> Option<&'static PrometheusHandle> {
    static EXPORTER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    EXPORTER.get_or_init(install).as_ref()
}

fn install() -> Option<PrometheusHandle> {
    let mut builder = PrometheusBuilder::new();
    for metric in plenum_metrics::ALL {
        if metric.buckets.is_empty() {
            continue;
        }
        builder = match builder
            .set_buckets_for_metric(Matcher::Full(metric.name.to_owned()), metric.buckets)
        {
            Ok(builder) => builder,
            Err(e) => unreachable!("{}'s buckets are not empty: {e}", metric.name),
        };
    }
    let handle = match builder.install_recorder() {
        Ok(handle) => handle,
        Err(e) => {
            tracing::warn!(error = %e, "another metrics recorder is installed: /metrics is not served");
            return None;
        }
    };
    plenum_metrics::describe();
    let upkeep = handle.clone();
    let started = std::thread::Builder::new()
        .name("plenum-metrics".into())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP);
                upkeep.run_upkeep();
            }
        });
    if let Err(e) = started {
        tracing::warn!(error = %e, "no metrics upkeep thread: histograms are folded at scrapes only");
    }
    Some(handle)
}

/// A listener of its own for `/metrics` (`metrics.listen`).
#[derive(Debug)]
pub struct MetricsListener {
    pub addr: SocketAddr,
    pub task: JoinHandle<()>,
}

/// `app` with `/metrics` (when it is served on the main listener), and the listener of its
/// own (when `metrics.listen` is set). Call [`exporter`] first, before anything records.
pub async fn mount(
    app: Router,
    settings: &MetricsSettings,
    plenum: &Plenum,
) -> anyhow::Result<(Router, Option<MetricsListener>)> {
    let exporter = match exporter() {
        Some(exporter) if settings.enabled => exporter,
        _ => return Ok((app, None)),
    };
    let routes = Router::new()
        .route("/metrics", get(scrape))
        .with_state(Scrape {
            exporter,
            plenum: plenum.clone(),
            token: settings.token.as_deref().map(Arc::from),
        });
    let Some(listen) = settings.listen else {
        return Ok((app.merge(routes), None));
    };
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on metrics.listen {listen}"))?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, routes).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    });
    tracing::info!(%addr, "metrics listening");
    Ok((app, Some(MetricsListener { addr, task })))
}

#[derive(Clone)]
struct Scrape {
    exporter: &'static PrometheusHandle,
    plenum: Plenum,
    token: Option<Arc<str>>,
}

/// The Prometheus text format of every metric, if the request carries the token.
async fn scrape(State(scrape): State<Scrape>, headers: HeaderMap) -> Response {
    if let Some(token) = &scrape.token
        && !bearer_is(&headers, token)
    {
        return (
            StatusCode::UNAUTHORIZED,
            [(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"metrics\""),
            )],
            "metrics need the bearer token of metrics.token\n",
        )
            .into_response();
    }
    scrape.plenum.live().report_gauges();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        scrape.exporter.render(),
    )
        .into_response()
}

/// Whether `Authorization` is `Bearer <token>` (compared in constant time).
fn bearer_is(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .is_some_and(|(_, given)| bool::from(given.trim().as_bytes().ct_eq(token.as_bytes())))
}
