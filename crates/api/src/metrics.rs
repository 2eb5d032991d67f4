//! Prometheus metrics at `/metrics`: request counts and latency histograms by route pattern,
//! method and status (actix-web-prom), and the connection pool's gauges, read at scrape time.

use actix_web::{HttpResponse, web};
use actix_web_prom::{PrometheusMetrics, PrometheusMetricsBuilder};
use deadpool_postgres::Pool;
use prometheus::{
    IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
    core::{Collector, Desc},
    proto::MetricFamily,
};

use crate::{error::ApiError, latest::LatestCache, state::AppState};

/// The middleware that records every request into `registry`. `/metrics` itself is an
/// ordinary route ([`serve`]), not the middleware's built-in endpoint: that one answered
/// only GET and let every other method fall through to a 404 "no route", where every
/// other route answers 405 with `Allow`.
pub fn build(pool: Pool, state: &AppState) -> anyhow::Result<PrometheusMetrics> {
    let metrics = PrometheusMetricsBuilder::new("api")
        // Unknown paths share one label, so scanners cannot blow up the series count.
        .mask_unmatched_patterns("UNMATCHED")
        .build()
        .map_err(|e| anyhow::anyhow!("building the metrics registry: {e}"))?;
    metrics
        .registry
        .register(Box::new(PoolCollector::new(pool)?))?;
    let cache = IntCounterVec::new(
        Opts::new(
            "latest_cache_total",
            "GET /randoms answered from this replica's copy (hit) or from the database (miss)",
        )
        .namespace("api"),
        &["result"],
    )?;
    metrics.registry.register(Box::new(cache.clone()))?;
    metrics.registry.register(Box::new(DroppedLines::new()?))?;
    metrics
        .registry
        .register(Box::new(Listening::new(state.latest.clone())?))?;
    state.latest.count_into(
        cache.with_label_values(&["hit"]),
        cache.with_label_values(&["miss"]),
    );
    let streams = IntGauge::with_opts(
        Opts::new(
            "event_streams",
            "GET /randoms/events streams open on this replica",
        )
        .namespace("api"),
    )?;
    metrics.registry.register(Box::new(streams.clone()))?;
    state.streams.count_into(streams);
    Ok(metrics)
}

/// Prometheus text format: requests by route, method and status (count and latency
/// histogram), and the connection pool's size, idle connections and waiting requests.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain"))
)]
pub async fn serve(registry: web::Data<Registry>) -> Result<HttpResponse, ApiError> {
    let text = TextEncoder::new()
        .encode_to_string(&registry.gather())
        .map_err(|e| {
            tracing::error!(error = %e, "encoding the metrics failed");
            ApiError::Internal
        })?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}

/// Log lines dropped rather than waited for (stdout not keeping up, or broken), read at
/// scrape time from `telemetry`.
struct DroppedLines(IntCounter);

/// 1 while this replica's cache listener is connected, 0 while it reconnects (every GET
/// then reads the database), read at scrape time.
struct Listening(LatestCache, IntGauge);

impl Listening {
    fn new(cache: LatestCache) -> prometheus::Result<Self> {
        let help = "1 while the listener that keeps this replica's copy of the latest items \
                    fresh is connected, else 0";
        let gauge =
            IntGauge::with_opts(Opts::new("latest_cache_listening", help).namespace("api"))?;
        Ok(Self(cache, gauge))
    }
}

impl Collector for Listening {
    fn desc(&self) -> Vec<&Desc> {
        self.1.desc()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        self.1.set(i64::from(self.0.is_listening()));
        self.1.collect()
    }
}

impl DroppedLines {
    fn new() -> prometheus::Result<Self> {
        IntCounter::with_opts(
            Opts::new(
                "log_lines_dropped_total",
                "Log lines dropped because stdout did not keep up or was broken",
            )
            .namespace("api"),
        )
        .map(Self)
    }
}

impl Collector for DroppedLines {
    fn desc(&self) -> Vec<&Desc> {
        self.0.desc()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        // Both only ever grow; the counter catches up with the total.
        let behind = telemetry::dropped_lines().saturating_sub(self.0.get());
        self.0.inc_by(behind);
        self.0.collect()
    }
}

/// Reads the pool's status each time Prometheus scrapes.
struct PoolCollector {
    pool: Pool,
    max_size: IntGauge,
    size: IntGauge,
    available: IntGauge,
    waiting: IntGauge,
}

impl PoolCollector {
    fn new(pool: Pool) -> prometheus::Result<Self> {
        let gauge =
            |name: &str, help: &str| IntGauge::with_opts(Opts::new(name, help).namespace("api"));
        Ok(Self {
            pool,
            max_size: gauge("db_pool_max_size", "Most connections the pool may hold")?,
            size: gauge("db_pool_size", "Connections currently open")?,
            available: gauge("db_pool_available", "Open connections idle in the pool")?,
            waiting: gauge("db_pool_waiting", "Requests waiting for a connection")?,
        })
    }

    fn gauges(&self) -> [&IntGauge; 4] {
        [&self.max_size, &self.size, &self.available, &self.waiting]
    }
}

impl Collector for PoolCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.gauges().into_iter().flat_map(|g| g.desc()).collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let status = self.pool.status();
        let as_i64 = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.max_size.set(as_i64(status.max_size));
        self.size.set(as_i64(status.size));
        self.available.set(as_i64(status.available));
        self.waiting.set(as_i64(status.waiting));
        self.gauges()
            .into_iter()
            .flat_map(|g| g.collect())
            .collect()
    }
}
