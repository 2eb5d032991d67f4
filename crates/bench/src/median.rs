//! The median of paired measurements and how sure it is: a distribution-free confidence
//! interval from the sample's own order statistics (the binomial method), so that a
//! verdict near its target can ask for more rounds instead of reading noise.
//!
//! The rounds' ratios on two shared cores spread by ±10–15%, with outliers both ways.
//! Past a handful of values the interval, like the median, is set by the middle of the
//! sample, not by its outliers; it assumes nothing of the spread's shape, only that the
//! rounds are independent of each other.

/// A sample's median and the [`CONFIDENCE`] interval around it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Median {
    pub value: f64,
    /// The interval's bounds. Up to 10 values they are the lowest and highest (below 8 the
    /// interval falls short of its confidence: no narrower one reaches it).
    pub low: f64,
    pub high: f64,
}

/// Confidence of [`Median`]'s interval: 99%, because a caller may look again after more
/// rounds (the API bench up to seven times); looked at that often, the last interval
/// still holds the true median at least 95% of the time (simulated with spreads like this
/// machine's), where 95% at each look would leave about 88%.
pub const CONFIDENCE: f64 = 0.99;

impl Median {
    /// The median of `values` (the mean of the two middles for an even count); None when
    /// empty.
    pub fn of(values: &[f64]) -> Option<Self> {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let value = match n {
            0 => return None,
            n if n % 2 == 0 => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
            n => sorted[n / 2],
        };
        // The k-th lowest and k-th highest bound the median with the confidence that a
        // fair coin tossed n times lands heads k times or more and n - k times or fewer.
        let k = lower_rank(n);
        Some(Self {
            value,
            low: sorted[k - 1],
            high: sorted[n - k],
        })
    }

    /// Whether the interval leaves `value ≥ target` undecided: more rounds would tell.
    /// (A low bound at the target decides it.)
    pub fn undecided(&self, target: f64) -> bool {
        self.low < target && target <= self.high
    }
}

/// The largest k (1-based, at least 1) whose order statistics x(k) and x(n + 1 - k)
/// bound the median of n values with [`CONFIDENCE`]: the greatest k with
/// P(Binomial(n, ½) ≤ k − 1) ≤ (1 − confidence) / 2.
fn lower_rank(n: usize) -> usize {
    let tail = (1.0 - CONFIDENCE) / 2.0;
    // ln P(X = 0) = −n ln 2, then P(X = i + 1) = P(X = i) · (n − i) / (i + 1): in logs,
    // so that 2^−n, which underflows past a thousand values, does not stop the sum.
    let mut ln_pmf = -(n as f64) * std::f64::consts::LN_2;
    // P(X ≤ i): the rank i + 1 is good enough while it is at most the tail.
    let mut at_most = 0.0;
    let mut k = 1;
    for i in 0..n {
        at_most += ln_pmf.exp();
        if at_most > tail {
            break;
        }
        k = i + 1;
        ln_pmf += ((n - i) as f64 / (i + 1) as f64).ln();
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ranks the binomial distribution gives at 99% (worked out apart, with exact
    /// sums of binomial coefficients).
    #[test]
    fn ranks_match_exact_binomial_sums() {
        for (n, k) in [
            (1, 1),
            (8, 1),
            (10, 1),
            (20, 4),
            (30, 8),
            (40, 12),
            (60, 20),
            (80, 29),
            (2000, 942),
        ] {
            assert_eq!(lower_rank(n), k, "n = {n}");
        }
    }

    #[test]
    fn median_and_interval_of_a_sample() {
        let values: Vec<f64> = (1..=20).rev().map(f64::from).collect();
        let median = Median::of(&values).expect("a median");
        assert_eq!(
            median,
            Median {
                value: 10.5,
                low: 4.0,
                high: 17.0
            }
        );
        assert!(median.undecided(10.0));
        assert!(median.undecided(17.0));
        assert!(!median.undecided(4.0), "a low bound at the target decides");
        assert!(!median.undecided(18.0));
        assert_eq!(Median::of(&[]), None);
        assert_eq!(
            Median::of(&[0.9, 0.7, 1.2]),
            Some(Median {
                value: 0.9,
                low: 0.7,
                high: 1.2
            })
        );
    }
}
