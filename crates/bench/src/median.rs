//! The median of paired measurements and how sure it is: a distribution-free 95%
//! confidence interval from the sample's own order statistics (the binomial method), so
//! that a verdict near its target can ask for more rounds instead of reading noise.
//!
//! The rounds' ratios on two shared cores spread by ±15%, with outliers both ways; the
//! median ignores those, and the interval assumes nothing about their shape.

/// A sample's median and the 95% confidence interval around it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Median {
    pub value: f64,
    /// The interval's bounds: the median is inside with 95% confidence. With fewer than 6
    /// values no interval reaches 95%; the bounds are then the lowest and highest value.
    pub low: f64,
    pub high: f64,
}

/// Confidence of [`Median`]'s interval.
const CONFIDENCE: f64 = 0.95;

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

    /// Whether `target` lies inside the interval: more values would tell on which side.
    pub fn straddles(&self, target: f64) -> bool {
        self.low < target && target <= self.high
    }
}

/// The largest k (1-based, at least 1) whose order statistics x(k) and x(n + 1 - k)
/// bound the median of n values with [`CONFIDENCE`]: the greatest k with
/// P(Binomial(n, ½) < k) ≤ (1 − confidence) / 2.
fn lower_rank(n: usize) -> usize {
    let tail = (1.0 - CONFIDENCE) / 2.0;
    // P(X = 0) = 2^-n, then P(X = i + 1) = P(X = i) · (n − i) / (i + 1).
    let mut pmf = 0.5f64.powi(i32::try_from(n).unwrap_or(i32::MAX));
    // P(X ≤ i): the rank i + 1 is good enough while it is at most the tail.
    let mut at_most = 0.0;
    let mut k = 1;
    for i in 0..n {
        at_most += pmf;
        if at_most > tail {
            break;
        }
        k = i + 1;
        pmf *= (n - i) as f64 / (i + 1) as f64;
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ranks the binomial distribution gives (worked out apart, with exact sums of
    /// binomial coefficients).
    #[test]
    fn ranks_match_the_binomial_tables() {
        for (n, k) in [
            (1, 1),
            (5, 1),
            (6, 1),
            (10, 2),
            (20, 6),
            (30, 10),
            (40, 14),
            (60, 22),
            (80, 31),
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
                low: 6.0,
                high: 15.0
            }
        );
        assert!(median.straddles(10.0));
        assert!(!median.straddles(5.0));
        assert!(!median.straddles(16.0));
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
