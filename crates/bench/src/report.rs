//! What every comparison's report is made of: Markdown tables, target verdicts, units, and
//! the files under `target/bench/`.

use std::{
    fs,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context;

/// How a measurement compares with its target. Reported, never enforced: the numbers come
/// from shared machines.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Verdict {
    Pass,
    Fail,
    /// The run had errors: its numbers mean nothing.
    Invalid,
    /// A traced run dropped spans: it did less than exporting them all, so its numbers
    /// flatter it.
    SpansDropped,
    /// Nothing to compare with.
    NotApplicable,
}

impl Verdict {
    pub fn from_bool(pass: bool) -> Self {
        if pass { Self::Pass } else { Self::Fail }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "FAIL",
            Self::Invalid => "invalid (errors)",
            Self::SpansDropped => "invalid (spans dropped)",
            Self::NotApplicable => "n/a",
        }
    }

    /// For the JSON.
    pub fn key(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Invalid | Self::SpansDropped => "invalid",
            Self::NotApplicable => "n/a",
        }
    }
}

/// A Markdown table; columns after the first are right-aligned (they hold numbers).
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!("| {} |\n|", headers.join(" | "));
    for i in 0..headers.len() {
        out.push_str(if i == 0 { " --- |" } else { " ---: |" });
    }
    out.push('\n');
    for row in rows {
        out.push_str(&format!("| {} |\n", row.join(" | ")));
    }
    out
}

/// `114715` → `114,715`.
pub fn rate(per_sec: f64) -> String {
    let digits = format!("{:.0}", per_sec.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn millis(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Memory, in MiB as `ps` and `/proc` count it.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Download sizes, in KB of 1000 bytes as `cargo xtask web` reports them.
pub fn kb(bytes: u64) -> String {
    format!("{:.1} KB", bytes as f64 / 1000.0)
}

/// Seconds since the epoch, and the same as `YYYY-MM-DD HH:MM UTC`.
pub fn now() -> (u64, String) {
    let now = chrono::Utc::now();
    let secs = u64::try_from(now.timestamp()).unwrap_or_default();
    (secs, now.format("%Y-%m-%d %H:%M UTC").to_string())
}

/// Writes `<dir>/<stem>.md` and `<dir>/<stem>.json`; returns their paths.
pub fn save(
    dir: &Path,
    stem: &str,
    markdown: &str,
    json: &serde_json::Value,
) -> anyhow::Result<[PathBuf; 2]> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let md = dir.join(format!("{stem}.md"));
    fs::write(&md, markdown).with_context(|| format!("writing {}", md.display()))?;
    let js = dir.join(format!("{stem}.json"));
    let text = serde_json::to_string_pretty(json).context("serializing the report")?;
    fs::write(&js, text + "\n").with_context(|| format!("writing {}", js.display()))?;
    Ok([md, js])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(rate(0.4), "0");
        assert_eq!(rate(999.0), "999");
        assert_eq!(rate(1000.0), "1,000");
        assert_eq!(rate(114_714.94), "114,715");
        assert_eq!(rate(1_234_567.0), "1,234,567");
    }

    #[test]
    fn tables() {
        let t = table(&["a", "b"], &[vec!["x".into(), "1".into()]]);
        assert_eq!(t, "| a | b |\n| --- | ---: |\n| x | 1 |\n");
    }
}
