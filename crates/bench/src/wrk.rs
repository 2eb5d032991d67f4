//! Running wrk and reading its report. wrk has no machine-readable output (short of a Lua
//! script), so its text is parsed; the fixtures in `testdata/` are real wrk 4.1 output.

use std::{process::Command, time::Duration};

use anyhow::{Context, bail};

/// One load: wrk's settings.
#[derive(Clone, Copy)]
pub struct Load {
    pub threads: u32,
    pub connections: u32,
    pub duration: Duration,
}

impl Load {
    /// The command line, for the report.
    pub fn describe(&self) -> String {
        format!(
            "wrk -t{} -c{} -d{}s --latency",
            self.threads,
            self.connections,
            self.duration.as_secs()
        )
    }
}

/// What wrk measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub requests: u64,
    pub seconds: f64,
    pub requests_per_sec: f64,
    pub transfer_per_sec: f64,
    pub latency_p50: Duration,
    pub latency_p99: Duration,
    pub non_2xx_3xx: u64,
    pub socket: SocketErrors,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SocketErrors {
    pub connect: u64,
    pub read: u64,
    pub write: u64,
    pub timeout: u64,
}

impl Stats {
    /// Every failed request or socket error: a run with any is not a result.
    pub fn errors(&self) -> u64 {
        let s = self.socket;
        self.non_2xx_3xx + s.connect + s.read + s.write + s.timeout
    }

    /// Runs of the same load as one: their requests over their time, the mean of their
    /// percentiles (wrk does not report enough to merge them exactly), every error; none
    /// for no runs.
    pub fn merged(runs: &[Stats]) -> Option<Stats> {
        let count = u32::try_from(runs.len()).ok().filter(|&n| n > 0)?;
        let sum = |f: fn(&Stats) -> f64| runs.iter().map(f).sum::<f64>();
        let mean = |f: fn(&Stats) -> Duration| runs.iter().map(f).sum::<Duration>() / count;
        let requests = runs.iter().map(|s| s.requests).sum::<u64>();
        let seconds = sum(|s| s.seconds).max(f64::MIN_POSITIVE);
        let errors = |f: fn(&SocketErrors) -> u64| runs.iter().map(|s| f(&s.socket)).sum();
        Some(Stats {
            requests,
            seconds,
            requests_per_sec: requests as f64 / seconds,
            transfer_per_sec: sum(|s| s.transfer_per_sec * s.seconds) / seconds,
            latency_p50: mean(|s| s.latency_p50),
            latency_p99: mean(|s| s.latency_p99),
            non_2xx_3xx: runs.iter().map(|s| s.non_2xx_3xx).sum(),
            socket: SocketErrors {
                connect: errors(|e| e.connect),
                read: errors(|e| e.read),
                write: errors(|e| e.write),
                timeout: errors(|e| e.timeout),
            },
        })
    }
}

/// Runs wrk against `url` with an optional `Accept-Encoding`.
pub fn run(load: &Load, url: &str, accept_encoding: Option<&str>) -> anyhow::Result<Stats> {
    run_with(load, url, accept_encoding, None)
}

/// Runs wrk with a Lua script (e.g. one that makes every request a POST).
pub fn run_with(
    load: &Load,
    url: &str,
    accept_encoding: Option<&str>,
    script: Option<&std::path::Path>,
) -> anyhow::Result<Stats> {
    let mut cmd = Command::new("wrk");
    cmd.arg(format!("-t{}", load.threads))
        .arg(format!("-c{}", load.connections))
        .arg(format!("-d{}s", load.duration.as_secs().max(1)))
        .arg("--latency");
    if let Some(encoding) = accept_encoding {
        cmd.arg("-H").arg(format!("Accept-Encoding: {encoding}"));
    }
    if let Some(script) = script {
        cmd.arg("--script").arg(script);
    }
    cmd.arg(url);
    let out = cmd.output().context("running wrk")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "wrk {url} failed ({}): {} {}",
            out.status,
            text.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    parse(&text).with_context(|| format!("reading wrk's report for {url}:\n{text}"))
}

/// Parses wrk's text report (`--latency` required for the percentiles).
pub fn parse(text: &str) -> anyhow::Result<Stats> {
    let mut requests = None;
    let mut rps = None;
    let mut transfer = None;
    let mut p50 = None;
    let mut p99 = None;
    let mut non_2xx_3xx = 0;
    let mut socket = SocketErrors::default();
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("Requests/sec:") {
            rps = Some(number(rest)?);
        } else if let Some(rest) = line.strip_prefix("Transfer/sec:") {
            transfer = Some(bytes(rest)?);
        } else if let Some(rest) = line.strip_prefix("50%") {
            p50 = Some(latency(rest)?);
        } else if let Some(rest) = line.strip_prefix("99%") {
            p99 = Some(latency(rest)?);
        } else if let Some(rest) = line.strip_prefix("Non-2xx or 3xx responses:") {
            non_2xx_3xx = count(rest)?;
        } else if let Some(rest) = line.strip_prefix("Socket errors:") {
            socket = socket_errors(rest)?;
        } else if line.contains(" requests in ") {
            // "230905 requests in 2.01s, 239.37MB read"
            let (n, rest) = line
                .split_once(" requests in ")
                .context("the requests line")?;
            let secs = rest.split(',').next().context("the test duration")?;
            requests = Some((count(n)?, latency(secs)?.as_secs_f64()));
        }
    }
    let (requests, seconds) = requests.context("no \"N requests in T\" line")?;
    Ok(Stats {
        requests,
        seconds,
        requests_per_sec: rps.context("no Requests/sec line")?,
        transfer_per_sec: transfer.context("no Transfer/sec line")?,
        latency_p50: p50.context("no 50% latency line (was --latency passed?)")?,
        latency_p99: p99.context("no 99% latency line (was --latency passed?)")?,
        non_2xx_3xx,
        socket,
    })
}

fn number(s: &str) -> anyhow::Result<f64> {
    let s = s.trim();
    s.parse().with_context(|| format!("not a number: {s:?}"))
}

fn count(s: &str) -> anyhow::Result<u64> {
    let s = s.trim();
    s.parse().with_context(|| format!("not a count: {s:?}"))
}

/// wrk's durations: `456.00us`, `1.13ms`, `2.01s`, `1.00m`, `1.00h`.
fn latency(s: &str) -> anyhow::Result<Duration> {
    let s = s.trim();
    let split = s
        .find(|c: char| c.is_ascii_alphabetic())
        .with_context(|| format!("no unit in {s:?}"))?;
    let (value, unit) = s.split_at(split);
    let scale = match unit {
        "us" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => bail!("unknown time unit in {s:?}"),
    };
    let secs = number(value)? * scale;
    Duration::try_from_secs_f64(secs).with_context(|| format!("not a duration: {s:?}"))
}

/// wrk's sizes, in powers of 1024: `512.00B`, `42.34MB`, `3.50GB`.
fn bytes(s: &str) -> anyhow::Result<f64> {
    let s = s.trim();
    let value = s
        .strip_suffix('B')
        .with_context(|| format!("not a size: {s:?}"))?;
    let (value, power) = match value.chars().last() {
        Some('K') => (&value[..value.len() - 1], 1),
        Some('M') => (&value[..value.len() - 1], 2),
        Some('G') => (&value[..value.len() - 1], 3),
        Some('T') => (&value[..value.len() - 1], 4),
        _ => (value, 0),
    };
    Ok(number(value)? * 1024f64.powi(power))
}

/// `connect 0, read 100, write 158674, timeout 0`
fn socket_errors(s: &str) -> anyhow::Result<SocketErrors> {
    let mut errors = SocketErrors::default();
    for part in s.split(',') {
        let (kind, n) = part
            .trim()
            .split_once(' ')
            .with_context(|| format!("socket errors: {s:?}"))?;
        let n = count(n)?;
        match kind {
            "connect" => errors.connect = n,
            "read" => errors.read = n,
            "write" => errors.write = n,
            "timeout" => errors.timeout = n,
            _ => bail!("unknown socket error kind {kind:?}"),
        }
    }
    Ok(errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: f64 = 1024.0 * 1024.0;

    fn ms(v: f64) -> Duration {
        Duration::from_secs_f64(v / 1000.0)
    }

    fn close(a: Duration, b: Duration) -> bool {
        a.abs_diff(b) < Duration::from_nanos(10)
    }

    #[test]
    fn a_clean_run() {
        let s = parse(include_str!("testdata/wrk_index.txt")).unwrap();
        assert_eq!(s.requests, 230_905);
        assert!((s.seconds - 2.01).abs() < 1e-9);
        assert!((s.requests_per_sec - 114_714.94).abs() < 1e-6);
        assert!((s.transfer_per_sec - 118.92 * MIB).abs() < 1.0);
        assert!(close(s.latency_p50, ms(0.456)));
        assert!(close(s.latency_p99, ms(4.28)));
        assert_eq!(s.errors(), 0);
    }

    #[test]
    fn gigabytes_and_fractional_milliseconds() {
        let s = parse(include_str!("testdata/wrk_wasm_gzip.txt")).unwrap();
        assert_eq!(s.requests, 89_609);
        assert!((s.transfer_per_sec - 3.5 * 1024.0 * MIB).abs() < 1.0);
        assert!(close(s.latency_p50, ms(0.91)));
        assert!(close(s.latency_p99, ms(10.92)));
        assert_eq!(s.errors(), 0);
    }

    #[test]
    fn non_2xx_responses_are_errors() {
        let s = parse(include_str!("testdata/wrk_non2xx.txt")).unwrap();
        assert_eq!(s.non_2xx_3xx, 171_057);
        assert_eq!(s.socket, SocketErrors::default());
        assert_eq!(s.errors(), 171_057);
        assert!((s.requests_per_sec - 84_733.28).abs() < 1e-6);
    }

    #[test]
    fn socket_errors_are_errors() {
        let s = parse(include_str!("testdata/wrk_socket_errors.txt")).unwrap();
        let expected = SocketErrors {
            connect: 0,
            read: 100,
            write: 158_674,
            timeout: 0,
        };
        assert_eq!(s.socket, expected);
        assert_eq!(s.errors(), 158_774);
    }

    #[test]
    fn runs_merge_into_their_requests_over_their_time() {
        let clean = parse(include_str!("testdata/wrk_index.txt")).unwrap();
        let failed = parse(include_str!("testdata/wrk_socket_errors.txt")).unwrap();
        let runs = [clean.clone(), clean.clone(), failed.clone()];
        let all = Stats::merged(&runs).unwrap();
        assert_eq!(all.requests, 2 * clean.requests + failed.requests);
        assert!((all.seconds - (2.0 * clean.seconds + failed.seconds)).abs() < 1e-9);
        let rate = all.requests as f64 / all.seconds;
        assert!((all.requests_per_sec - rate).abs() < 1e-6);
        // Each run's percentile weighs the same.
        assert!(close(
            all.latency_p99,
            (2 * clean.latency_p99 + failed.latency_p99) / 3
        ));
        assert_eq!(all.errors(), failed.errors());
        assert!(Stats::merged(&[]).is_none());
    }

    #[test]
    fn without_latency_distribution_it_says_so() {
        let text = include_str!("testdata/wrk_index.txt")
            .lines()
            .filter(|l| !l.trim_start().starts_with("99%"))
            .collect::<Vec<_>>()
            .join("\n");
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("--latency"), "{err}");
    }

    #[test]
    fn units() {
        assert_eq!(latency("1.00s").unwrap(), Duration::from_secs(1));
        assert_eq!(latency("2.00m").unwrap(), Duration::from_secs(120));
        assert!(latency("3.00parsecs").is_err());
        assert_eq!(bytes("512.00B").unwrap(), 512.0);
        assert_eq!(bytes("2.00KB").unwrap(), 2048.0);
        assert!(bytes("12").is_err());
    }
}
