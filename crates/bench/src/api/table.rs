//! The outcome as a Markdown table and as JSON, with the targets' verdicts.

use std::time::Duration;

use serde_json::{Value, json};

use super::{CONNECTIONS, Outcome, RATIO_TARGET, RSS_TARGET, Row, START_TARGET, TRACED_TARGET};
use crate::{
    Settings,
    median::{CONFIDENCE, Median},
    report::{self, Verdict},
};

/// The middle value (the upper of the two middles for an even count); zero when empty.
fn median(values: &[Duration]) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

impl Row {
    fn ratio(&self) -> f64 {
        self.api.requests_per_sec / self.pgbench.tps.max(f64::MIN_POSITIVE)
    }

    fn verdict(&self) -> Verdict {
        if self.api.errors() > 0 || self.pgbench.failed > 0 {
            Verdict::Invalid
        } else {
            Verdict::from_bool(self.ratio() >= RATIO_TARGET)
        }
    }

    /// The throughput with tracing `n` (of [`super::Tracing::all`]) over the throughput
    /// without: the median of the rounds' ratios and its confidence interval.
    fn traced_ratio(&self, n: usize) -> Median {
        self.round_ratios
            .get(n)
            .and_then(|ratios| Median::of(ratios))
            .unwrap_or_default()
    }

    fn traced_verdict(&self, n: usize) -> Verdict {
        super::invalid(
            self.untraced.errors(),
            self.traced[n].errors(),
            self.dropped.get(n).copied().unwrap_or_default(),
        )
        .unwrap_or_else(|| Verdict::from_bool(self.traced_ratio(n).value >= TRACED_TARGET))
    }
}

impl Outcome {
    pub fn markdown(&self, settings: &Settings, date: &str) -> String {
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.scenario.name.to_owned(),
                    report::rate(r.api.requests_per_sec),
                    report::rate(r.pgbench.tps),
                    format!("{:.2}× {}", r.ratio(), r.verdict().label()),
                    report::millis(r.api.latency_p50),
                    report::millis(r.api.latency_p99),
                    report::millis(r.pgbench.latency_p50),
                    report::millis(r.pgbench.latency_p99),
                ]
            })
            .collect();
        let mut out = report::table(
            &[
                "scenario",
                "API req/s",
                "pgbench tx/s",
                &format!("ratio (target ≥ {RATIO_TARGET}×)"),
                "API p50",
                "API p99",
                "pgbench p50",
                "pgbench p99",
            ],
            &rows,
        );
        let traced: Vec<Vec<String>> = self
            .rows
            .iter()
            .flat_map(|r| {
                self.tracings
                    .iter()
                    .enumerate()
                    .map(move |(n, (tracing, _))| {
                        vec![
                            r.scenario.name.to_owned(),
                            tracing.name.clone(),
                            report::rate(r.untraced.requests_per_sec),
                            report::rate(r.traced[n].requests_per_sec),
                            {
                                let Median { value, low, high } = r.traced_ratio(n);
                                format!(
                                    "{value:.2}× {} ({low:.2}–{high:.2})",
                                    r.traced_verdict(n).label()
                                )
                            },
                            r.rounds.to_string(),
                            report::millis(r.traced[n].latency_p99),
                        ]
                    })
            })
            .collect();
        out.push('\n');
        out.push_str(&report::table(
            &[
                "scenario",
                "spans exported",
                "tracing off req/s",
                "tracing on req/s",
                &format!(
                    "ratio (target ≥ {TRACED_TARGET}×): median round ({}% interval)",
                    CONFIDENCE * 100.0
                ),
                "rounds",
                "traced p99",
            ],
            &traced,
        ));
        let spans: Vec<String> = self
            .tracings
            .iter()
            .map(|(tracing, spans)| {
                format!(
                    "{}: {} exported, {} dropped",
                    tracing.name, spans.exported, spans.dropped
                )
            })
            .collect();
        out.push_str(&format!(
            "\nTraced: OTLP/HTTP to a stand-in collector on this machine (`otlp-discard`, a \
             release process of its own) that answers without decoding, {} export requests in \
             all; {}. Tracing off and each way on took turns in rounds of one {} s slice each; a \
             round's ratio is its traced slice's throughput over its slice with tracing off. \
             The verdict is on the median round (invalid if its API dropped spans under that \
             load: it would have done less than export them all). The interval holds the true \
             median with {}% confidence (from the rounds' order statistics, assuming nothing \
             of their spread but that rounds are independent); a scenario whose interval left a verdict undecided took more \
             rounds, {} at most.\n",
            self.export_requests,
            spans.join("; "),
            super::SLICE.as_secs_f64(),
            CONFIDENCE * 100.0,
            self.most_rounds,
        ));
        let start = median(&self.starts);
        out.push_str(&format!(
            "\nAPI peak RSS under this load: {} (target ≤ {}): {}\n\
             API start to `/ready` 200, database up: median {} of {} starts (target < {}): {}\n",
            report::mib(self.peak_rss),
            report::mib(RSS_TARGET),
            Verdict::from_bool(self.peak_rss <= RSS_TARGET).label(),
            report::millis(start),
            self.starts.len(),
            report::millis(START_TARGET),
            Verdict::from_bool(start < START_TARGET).label(),
        ));
        out.push_str(&format!(
            "\nMeasured {date}: the API (release, pool of {CONNECTIONS}, JSON access log on) under \
             `{}` after a {} s warm-up, against `{}` running the same statement on the same \
             server ({}, started by local-pg with fsync off, so neither side waits for the disk), \
             one after the other, on {} cores shared by everything.{}\n",
            self.wrk,
            settings.warmup.as_secs(),
            self.pgbench,
            self.postgres,
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            if settings.quick {
                " Quick run (--quick): indicative only."
            } else {
                ""
            }
        ));
        out
    }

    pub fn json(&self, settings: &Settings) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                json!({
                    "scenario": r.scenario.name,
                    "sql": r.scenario.sql,
                    "api": {
                        "requests_per_sec": r.api.requests_per_sec,
                        "requests": r.api.requests,
                        "latency_p50_ms": r.api.latency_p50.as_secs_f64() * 1e3,
                        "latency_p99_ms": r.api.latency_p99.as_secs_f64() * 1e3,
                        "errors": r.api.errors(),
                    },
                    "pgbench": {
                        "tps": r.pgbench.tps,
                        "transactions": r.pgbench.transactions,
                        "latency_p50_ms": r.pgbench.latency_p50.as_secs_f64() * 1e3,
                        "latency_p99_ms": r.pgbench.latency_p99.as_secs_f64() * 1e3,
                        "failed": r.pgbench.failed,
                    },
                    "ratio": r.ratio(),
                    "target": RATIO_TARGET,
                    "verdict": r.verdict().key(),
                    "traced": self.tracings.iter().enumerate().map(|(n, (tracing, _))| {
                        let median = r.traced_ratio(n);
                        json!({
                        "tracing": tracing.name,
                        "sampler": tracing.sampler,
                        "sampler_arg": tracing.ratio,
                        "untraced_requests_per_sec": r.untraced.requests_per_sec,
                        "requests_per_sec": r.traced[n].requests_per_sec,
                        "latency_p99_ms": r.traced[n].latency_p99.as_secs_f64() * 1e3,
                        "errors": r.traced[n].errors(),
                        "ratio": median.value,
                        "ratio_interval": [median.low, median.high],
                        "ratio_interval_confidence": CONFIDENCE,
                        "rounds": r.rounds,
                        "round_ratios": r.round_ratios.get(n),
                        "target": TRACED_TARGET,
                        "spans_dropped": r.dropped.get(n),
                        "verdict": r.traced_verdict(n).key(),
                        })
                    }).collect::<Vec<_>>(),
                })
            })
            .collect();
        let start = median(&self.starts);
        json!({
            "comparison": "api vs pgbench",
            "quick": settings.quick,
            "traced_rounds_at_most": self.most_rounds,
            "traced_slice_seconds": super::SLICE.as_secs_f64(),
            "connections": CONNECTIONS,
            "wrk": self.wrk,
            "pgbench": self.pgbench,
            "postgres": self.postgres,
            "rows": rows,
            "spans": self.tracings.iter().map(|(tracing, spans)| json!({
                "tracing": tracing.name,
                "exported": spans.exported,
                "dropped": spans.dropped,
            })).collect::<Vec<_>>(),
            "export_requests": self.export_requests,
            "peak_rss_bytes": self.peak_rss,
            "peak_rss_target_bytes": RSS_TARGET,
            "peak_rss_verdict": Verdict::from_bool(self.peak_rss <= RSS_TARGET).key(),
            "start_to_ready_ms": self.starts.iter().map(|d| d.as_secs_f64() * 1e3).collect::<Vec<_>>(),
            "start_to_ready_median_ms": start.as_secs_f64() * 1e3,
            "start_to_ready_target_ms": START_TARGET.as_secs_f64() * 1e3,
            "start_to_ready_verdict": Verdict::from_bool(start < START_TARGET).key(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{pgbench, wrk};

    fn served(errors: u64) -> wrk::Stats {
        wrk::Stats {
            requests: 1000,
            seconds: 1.0,
            requests_per_sec: 1000.0,
            transfer_per_sec: 0.0,
            latency_p50: Duration::from_millis(1),
            latency_p99: Duration::from_millis(2),
            non_2xx_3xx: errors,
            socket: wrk::SocketErrors::default(),
        }
    }

    fn row(ratios: Vec<f64>, traced_errors: u64, dropped: f64) -> Row {
        Row {
            scenario: &super::super::SCENARIOS[0],
            api: served(0),
            pgbench: pgbench::Stats {
                transactions: 1000,
                tps: 1000.0,
                latency_p50: Duration::from_millis(1),
                latency_p99: Duration::from_millis(2),
                failed: 0,
            },
            untraced: served(0),
            round_ratios: vec![ratios],
            rounds: 5,
            traced: vec![served(traced_errors)],
            dropped: vec![dropped],
        }
    }

    /// On the median round; invalid when requests failed or spans were dropped, whatever
    /// the ratio: a traced API that dropped spans did less than it should have.
    #[test]
    fn traced_verdicts() {
        let rounds = vec![0.7, 0.95, 0.92, 1.2, 0.91];
        assert_eq!(
            row(rounds.clone(), 0, 0.0).traced_ratio(0),
            Median {
                value: 0.92,
                low: 0.7,
                high: 1.2
            }
        );
        assert_eq!(row(rounds.clone(), 0, 0.0).traced_verdict(0), Verdict::Pass);
        assert_eq!(
            row(vec![0.7, 0.89, 0.95, 0.8], 0, 0.0).traced_verdict(0),
            Verdict::Fail
        );
        assert_eq!(
            row(rounds.clone(), 0, 3.0).traced_verdict(0),
            Verdict::SpansDropped
        );
        assert_eq!(row(rounds, 2, 3.0).traced_verdict(0), Verdict::Invalid);
    }
}
