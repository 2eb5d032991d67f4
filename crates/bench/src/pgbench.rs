//! Running PostgreSQL's own pgbench on one SQL script, and reading its report and its
//! per-transaction log (for latency percentiles, which its report lacks).

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use anyhow::{Context, bail};

/// What pgbench measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub transactions: u64,
    /// Without the initial connection time, as pgbench reports it.
    pub tps: f64,
    pub latency_p50: Duration,
    pub latency_p99: Duration,
    pub failed: u64,
}

/// One run: `clients` connections over `threads` threads for `duration`, every transaction
/// the statement in `sql`, as a prepared statement (`-M prepared`).
pub struct Run<'a> {
    pub pgbench: &'a Path,
    pub url: &'a str,
    pub sql: &'a str,
    pub clients: u32,
    pub threads: u32,
    pub duration: Duration,
    /// For the script and the transaction logs.
    pub dir: &'a Path,
}

impl Run<'_> {
    pub fn describe(&self) -> String {
        format!(
            "pgbench -n -M prepared -c{} -j{} -T{}",
            self.clients,
            self.threads,
            self.duration.as_secs()
        )
    }

    pub fn run(&self, name: &str) -> anyhow::Result<Stats> {
        let script = self.dir.join(format!("{name}.sql"));
        std::fs::write(&script, format!("{}\n", self.sql))
            .with_context(|| format!("writing {}", script.display()))?;
        let logs = self.dir.join(format!("{name}-log"));
        let _ = std::fs::remove_dir_all(&logs);
        std::fs::create_dir(&logs).with_context(|| format!("creating {}", logs.display()))?;
        let out = Command::new(self.pgbench)
            .args(["--no-vacuum", "--protocol=prepared", "--log"])
            .arg(format!("--log-prefix={}", logs.join("tx").display()))
            .arg(format!("--client={}", self.clients))
            .arg(format!("--jobs={}", self.threads))
            .arg(format!("--time={}", self.duration.as_secs().max(1)))
            .arg("--file")
            .arg(&script)
            .arg(self.url)
            .output()
            .context("running pgbench")?;
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            bail!(
                "pgbench failed ({}): {} {}",
                out.status,
                text.trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let mut stats =
            parse(&text).with_context(|| format!("reading pgbench's report:\n{text}"))?;
        let mut latencies = read_logs(&logs)?;
        let _ = std::fs::remove_dir_all(&logs);
        stats.latency_p50 = percentile(&mut latencies, 0.50);
        stats.latency_p99 = percentile(&mut latencies, 0.99);
        Ok(stats)
    }
}

/// The report's numbers (percentiles are filled in from the logs).
pub fn parse(text: &str) -> anyhow::Result<Stats> {
    let mut transactions = None;
    let mut tps = None;
    let mut failed = 0;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("number of transactions actually processed:") {
            transactions = Some(first_number(rest)?.round() as u64);
        } else if let Some(rest) = line.strip_prefix("number of failed transactions:") {
            failed = first_number(rest)?.round() as u64;
        } else if let Some(rest) = line.strip_prefix("tps =")
            && line.contains("without initial connection time")
        {
            tps = Some(first_number(rest)?);
        }
    }
    Ok(Stats {
        transactions: transactions.context("no `number of transactions actually processed`")?,
        tps: tps.context("no `tps = … (without initial connection time)`")?,
        latency_p50: Duration::ZERO,
        latency_p99: Duration::ZERO,
        failed,
    })
}

fn first_number(text: &str) -> anyhow::Result<f64> {
    let word = text.split_whitespace().next().unwrap_or_default();
    let word = word.split('/').next().unwrap_or_default();
    word.parse()
        .with_context(|| format!("{text:?} does not start with a number"))
}

/// Every transaction's latency from pgbench's logs (`client tx latency_us script epoch us`).
fn read_logs(dir: &Path) -> anyhow::Result<Vec<u64>> {
    let mut latencies = Vec::new();
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        for line in text.lines() {
            let micros = line
                .split_whitespace()
                .nth(2)
                .and_then(|f| f.parse().ok())
                .with_context(|| format!("{}: unexpected line {line:?}", file.display()))?;
            latencies.push(micros);
        }
    }
    if latencies.is_empty() {
        bail!("pgbench logged no transactions in {}", dir.display());
    }
    Ok(latencies)
}

fn percentile(micros: &mut [u64], q: f64) -> Duration {
    micros.sort_unstable();
    let i = ((micros.len() as f64 * q).ceil() as usize).clamp(1, micros.len()) - 1;
    Duration::from_micros(micros[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// pgbench 15's report, as printed here.
    const REPORT: &str = "\
transaction type: /tmp/list.sql
scaling factor: 1
query mode: prepared
number of clients: 32
number of threads: 2
maximum number of tries: 1
duration: 3 s
number of transactions actually processed: 117262
number of failed transactions: 0 (0.000%)
latency average = 0.817 ms
initial connection time = 27.870 ms
tps = 39165.512236 (without initial connection time)
";

    #[test]
    fn reads_the_report() {
        let s = parse(REPORT).unwrap();
        assert_eq!(s.transactions, 117_262);
        assert_eq!(s.failed, 0);
        assert!((s.tps - 39_165.512_236).abs() < 1e-6);
        assert!(parse("garbage").is_err());
    }

    #[test]
    fn percentiles() {
        let mut v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&mut v, 0.5), Duration::from_micros(50));
        assert_eq!(percentile(&mut v, 0.99), Duration::from_micros(99));
        assert_eq!(percentile(&mut [7], 0.99), Duration::from_micros(7));
    }
}
