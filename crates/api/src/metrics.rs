//! Prometheus metrics at `/metrics`: request counts and latency histograms by route pattern,
//! method and status (actix-web-prom), and the connection pool's gauges, read at scrape time.

use actix_web::{HttpResponse, web};
use actix_web_prom::{
    ActixMetricsConfiguration, LabelsConfiguration, PrometheusMetrics, PrometheusMetricsBuilder,
};
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
        // The route pattern's label is `route`, not the default `endpoint`: Prometheus'
        // operator gives every target an `endpoint` label (the port's name), which would
        // rename ours to `exported_endpoint` and leave alerts on `endpoint` matching nothing.
        .metrics_configuration(
            ActixMetricsConfiguration::default()
                .labels(LabelsConfiguration::default().endpoint("route")),
        )
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
    for counter in [
        Total::new(
            "log_lines_dropped_total",
            "Log lines dropped because stdout did not keep up or was broken",
            telemetry::dropped_lines,
        )?,
        Total::new(
            "trace_spans_dropped_total",
            "Spans not exported: the export queue was full, or the collector failed or \
             timed out",
            telemetry::traces::dropped_spans,
        )?,
        Total::new(
            "trace_spans_exported_total",
            "Spans the OTLP collector accepted",
            telemetry::traces::exported_spans,
        )?,
    ] {
        metrics.registry.register(Box::new(counter))?;
    }
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
        .map_err(|e| ApiError::internal("encoding the metrics failed", e))?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}

/// A total that `telemetry` keeps (log lines dropped, spans dropped or exported), read at
/// scrape time.
struct Total {
    counter: IntCounter,
    read: fn() -> u64,
}

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

impl Total {
    fn new(name: &str, help: &str, read: fn() -> u64) -> prometheus::Result<Self> {
        let counter = IntCounter::with_opts(Opts::new(name, help).namespace("api"))?;
        Ok(Self { counter, read })
    }
}

impl Collector for Total {
    fn desc(&self) -> Vec<&Desc> {
        self.counter.desc()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        // Both only ever grow; the counter catches up with the total.
        let behind = (self.read)().saturating_sub(self.counter.get());
        self.counter.inc_by(behind);
        self.counter.collect()
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
