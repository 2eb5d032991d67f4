//! The outcome as a Markdown table and as JSON, with the targets' verdicts.

use serde_json::{Value, json};

use super::{Measured, Outcome, Row};
use crate::{
    Settings, nginx,
    report::{self, Verdict},
};

use web_bundle::FIRST_LOAD_TARGET;

impl Outcome {
    fn first_load(&self) -> u64 {
        self.assets.iter().filter_map(|a| a.brotli).sum()
    }

    /// The table, the first load, and how it was measured.
    pub fn markdown(&self, settings: &Settings, date: &str) -> String {
        let headers = [
            "scenario",
            "web-server req/s",
            "nginx req/s",
            "ratio (target ≥ 1.0×)",
            "web-server p99",
            "nginx p99",
            "web-server peak RSS (PSS)",
            "nginx peak RSS (PSS)",
            "less peak RSS",
        ];
        let rows: Vec<Vec<String>> = self.rows.iter().map(Row::cells).collect();
        let first_load = self.first_load();
        let nginx = self.nginx_version.as_deref().unwrap_or("nginx");
        let mut out = report::table(&headers, &rows);
        out.push_str(&format!(
            "\nFirst load (brotli: index.html, boot js, web js, wasm, css): {} \
             (target ≤ {}): {}\n",
            report::kb(first_load),
            report::kb(FIRST_LOAD_TARGET),
            Verdict::from_bool(first_load <= FIRST_LOAD_TARGET).label()
        ));
        out.push_str(&format!(
            "\nMeasured {date}: `{}` after a {} s warm-up, on {} cores shared by wrk and the \
             server; web-server with {} workers, {nginx} with {} workers{}; access \
             logs on for both. Peak RSS: sum of VmHWM (nginx: master + workers, so pages they \
             share count once per process); PSS: after the load, shared pages split.{}\n",
            settings.load.describe(),
            settings.warmup.as_secs(),
            self.threads,
            self.threads,
            self.threads,
            match self.nginx_brotli {
                nginx::Brotli::No => " and no brotli module",
                _ => " and brotli_static",
            },
            if settings.quick {
                " Quick run (--quick): indicative only."
            } else {
                ""
            }
        ));
        out
    }

    pub fn json(&self, settings: &Settings) -> Value {
        let first_load = self.first_load();
        let assets: Vec<Value> = self
            .assets
            .iter()
            .map(|a| json!({"name": a.name, "raw": a.raw, "gzip": a.gzip, "brotli": a.brotli}))
            .collect();
        json!({
            "benchmark": "static",
            "quick": settings.quick,
            "load": {
                "tool": "wrk",
                "threads": settings.load.threads,
                "connections": settings.load.connections,
                "duration_s": settings.load.duration.as_secs(),
                "warmup_s": settings.warmup.as_secs(),
            },
            "servers": {
                "web_server": {"runtime_threads": self.threads, "access_log": true},
                "nginx": {
                    "version": self.nginx_version,
                    "worker_processes": self.threads,
                    "access_log": true,
                    "brotli_static": match &self.nginx_brotli {
                        nginx::Brotli::No => Value::Null,
                        nginx::Brotli::Builtin => "built in".into(),
                        nginx::Brotli::Module(path) => path.display().to_string().into(),
                    },
                },
            },
            "first_load": {
                "brotli_bytes": first_load,
                "target_bytes": FIRST_LOAD_TARGET,
                "pass": first_load <= FIRST_LOAD_TARGET,
                "assets": assets,
            },
            "scenarios": self.rows.iter().map(Row::json).collect::<Vec<_>>(),
        })
    }
}

impl Row {
    fn valid(&self) -> bool {
        self.web.stats.errors() == 0 && self.nginx.as_ref().is_none_or(|n| n.stats.errors() == 0)
    }

    /// web-server's req/s over nginx's.
    fn ratio(&self) -> Option<f64> {
        let nginx = self.nginx.as_ref()?.stats.requests_per_sec;
        (nginx > 0.0).then(|| self.web.stats.requests_per_sec / nginx)
    }

    fn verdicts(&self) -> (Verdict, Verdict) {
        match (&self.nginx, self.valid()) {
            (None, _) => (Verdict::NotApplicable, Verdict::NotApplicable),
            (Some(_), false) => (Verdict::Invalid, Verdict::Invalid),
            (Some(n), true) => (
                Verdict::from_bool(self.ratio().is_some_and(|r| r >= 1.0)),
                Verdict::from_bool(self.web.peak_rss < n.peak_rss),
            ),
        }
    }

    fn cells(&self) -> Vec<String> {
        let (speed, memory) = self.verdicts();
        let rps = |m: &Measured| match m.stats.errors() {
            0 => report::rate(m.stats.requests_per_sec),
            n => format!("{} ⚠ {n} errors", report::rate(m.stats.requests_per_sec)),
        };
        let na = || "n/a".to_owned();
        let nginx = self.nginx.as_ref();
        let ratio = match (self.ratio(), speed) {
            (Some(r), v) => format!("{r:.2}× {}", v.label()),
            (None, Verdict::NotApplicable) => "n/a (no brotli in nginx)".to_owned(),
            (None, v) => v.label().to_owned(),
        };
        vec![
            self.scenario.name.to_owned(),
            rps(&self.web),
            nginx.map_or_else(na, rps),
            ratio,
            report::millis(self.web.stats.latency_p99),
            nginx.map_or_else(na, |n| report::millis(n.stats.latency_p99)),
            self.web.memory(),
            nginx.map_or_else(na, Measured::memory),
            memory.label().to_owned(),
        ]
    }

    fn json(&self) -> Value {
        let s = &self.scenario;
        let (speed, memory) = self.verdicts();
        json!({
            "name": s.name,
            "path": s.path,
            "accept_encoding": s.accept_encoding,
            "content_encoding": s.content_encoding,
            "body_bytes": s.body_bytes,
            "web_server": self.web.json(),
            "nginx": self.nginx.as_ref().map(Measured::json),
            "ratio": self.ratio(),
            "valid": self.valid(),
            "targets": {"req_per_sec": speed.key(), "memory": memory.key()},
        })
    }
}

impl Measured {
    fn memory(&self) -> String {
        format!(
            "{} (PSS {})",
            report::mib(self.peak_rss),
            report::mib(self.pss)
        )
    }

    fn json(&self) -> Value {
        let s = &self.stats;
        json!({
            "requests_per_sec": s.requests_per_sec,
            "requests": s.requests,
            "seconds": s.seconds,
            "transfer_bytes_per_sec": s.transfer_per_sec,
            "latency_p50_ms": s.latency_p50.as_secs_f64() * 1000.0,
            "latency_p99_ms": s.latency_p99.as_secs_f64() * 1000.0,
            "errors": {
                "non_2xx_3xx": s.non_2xx_3xx,
                "connect": s.socket.connect,
                "read": s.socket.read,
                "write": s.socket.write,
                "timeout": s.socket.timeout,
            },
            "peak_rss_bytes": self.peak_rss,
            "pss_bytes": self.pss,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{static_server::Scenario, wrk};

    fn measured(fixture: &str, peak_rss: u64) -> Measured {
        Measured {
            stats: wrk::parse(fixture).expect("a wrk report"),
            peak_rss,
            pss: peak_rss / 2,
        }
    }

    fn row(web: Measured, nginx: Option<Measured>) -> Row {
        Row {
            scenario: Scenario {
                name: "index.html (identity)",
                path: "/".to_owned(),
                accept_encoding: None,
                content_encoding: None,
                body_bytes: 541,
                nginx: nginx.is_some(),
            },
            web,
            nginx,
        }
    }

    const CLEAN: &str = include_str!("../testdata/wrk_index.txt");
    const SLOWER: &str = include_str!("../testdata/wrk_wasm_gzip.txt");
    const NON_2XX: &str = include_str!("../testdata/wrk_non2xx.txt");

    #[test]
    fn faster_and_smaller_passes() {
        let r = row(measured(CLEAN, 10), Some(measured(SLOWER, 20)));
        assert_eq!(r.verdicts(), (Verdict::Pass, Verdict::Pass));
        assert!(r.cells()[3].starts_with("2.58× pass"), "{:?}", r.cells());
    }

    #[test]
    fn slower_and_bigger_fails() {
        let r = row(measured(SLOWER, 20), Some(measured(CLEAN, 10)));
        assert_eq!(r.verdicts(), (Verdict::Fail, Verdict::Fail));
    }

    /// A server answering 404s fast must not win.
    #[test]
    fn a_run_with_errors_is_invalid_not_a_win() {
        let r = row(measured(NON_2XX, 10), Some(measured(SLOWER, 20)));
        assert!(!r.valid());
        assert_eq!(r.verdicts(), (Verdict::Invalid, Verdict::Invalid));
        let cells = r.cells();
        assert!(cells[1].contains("171057 errors"), "{cells:?}");
        assert!(cells[3].contains("invalid"), "{cells:?}");
        assert_eq!(r.json()["targets"]["req_per_sec"], "invalid");
    }

    #[test]
    fn without_nginx_there_is_nothing_to_compare() {
        let r = row(measured(CLEAN, 10), None);
        assert_eq!(r.ratio(), None);
        assert_eq!(
            r.verdicts(),
            (Verdict::NotApplicable, Verdict::NotApplicable)
        );
        assert_eq!(r.cells()[2], "n/a");
    }
}
