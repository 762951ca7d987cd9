//! Comparing two proportions: Newcombe's hybrid score interval for p₂ − p₁ and Fisher's
//! exact test.
//!
//! - **Wilson score interval** for k of n (no continuity correction):
//!   (2k + z² ± z·√(z² + 4k(1 − k/n))) / (2(n + z²)), z = 1.959964.
//! - **Newcombe's hybrid score interval** (his method 10, 1998) for d = p₂ − p₁ from the two
//!   Wilson intervals [l₁, u₁], [l₂, u₂]:
//!   [d − √((p₂ − l₂)² + (u₁ − p₁)²), d + √((u₂ − p₂)² + (p₁ − l₁)²)].
//! - **Fisher's exact test**, two-sided as `scipy.stats.fisher_exact`: the probability,
//!   under the hypergeometric distribution with the table's margins, of every table at
//!   most as probable as the observed one. "At most" allows a relative tolerance of 10⁻⁷,
//!   so tables that are equally probable in exact arithmetic count however the rounding
//!   falls. (scipy itself now uses 10⁻¹⁴ on its own rounding; the two agree whenever no
//!   two distinct table probabilities lie within 10⁻⁷ of each other, which covers every
//!   table the tests compare.) Probabilities are handled as logarithms of ratios to the
//!   most likely table, so thousands of deployments neither overflow nor underflow.

use super::shift::Z_95;

/// The Wilson score interval for `k` successes in `n` trials; `None` when n = 0.
pub fn wilson_interval(k: u64, n: u64) -> Option<(f64, f64)> {
    if n == 0 || k > n {
        return None;
    }
    let (k, n) = (k as f64, n as f64);
    let z2 = Z_95 * Z_95;
    let spread = Z_95 * (z2 + 4.0 * k * (1.0 - k / n)).sqrt();
    let denominator = 2.0 * (n + z2);
    let low = ((2.0 * k + z2 - spread) / denominator).max(0.0);
    let high = ((2.0 * k + z2 + spread) / denominator).min(1.0);
    Some((low, high))
}

/// The difference of two proportions `after_k/after_n − before_k/before_n` with
/// Newcombe's hybrid score 95 % interval: `(difference, low, high)`.
///
/// `None` when either side has no trials.
///
/// ```
/// use flowmap_core::experiment::newcombe_interval;
/// // Newcombe (1998), Table II, example (a): 56/70 − 48/80 = 0.2000, method 10 gives
/// // 0.0524 to 0.3339.
/// let (d, low, high) = newcombe_interval(48, 80, 56, 70).unwrap();
/// assert!((d - 0.2).abs() < 1e-12);
/// assert_eq!((low * 1e4).round() / 1e4, 0.0524);
/// assert_eq!((high * 1e4).round() / 1e4, 0.3339);
/// ```
pub fn newcombe_interval(
    before_k: u64,
    before_n: u64,
    after_k: u64,
    after_n: u64,
) -> Option<(f64, f64, f64)> {
    let (l1, u1) = wilson_interval(before_k, before_n)?;
    let (l2, u2) = wilson_interval(after_k, after_n)?;
    let p1 = before_k as f64 / before_n as f64;
    let p2 = after_k as f64 / after_n as f64;
    let difference = p2 - p1;
    let low = difference - ((p2 - l2).powi(2) + (u1 - p1).powi(2)).sqrt();
    let high = difference + ((u2 - p2).powi(2) + (p1 - l1).powi(2)).sqrt();
    Some((difference, low.max(-1.0), high.min(1.0)))
}

/// How much more probable than the observed table another table may be, relatively, and
/// still count as "at most as probable" (see the module documentation).
const RELATIVE_TOLERANCE: f64 = 1e-7;

/// Fisher's exact test, two-sided, of `before_k` of `before_n` against `after_k` of
/// `after_n` (the table [[before_k, before_n − before_k], [after_k, after_n − after_k]]).
///
/// `None` when either side has no trials or a count exceeds its total. A table with an
/// empty column (no successes or no failures at all) gives 1, as scipy does.
///
/// ```
/// use flowmap_core::experiment::fisher_exact_p;
/// // Fisher's lady tasting tea, 3 of 4 cups right: p = 34/70.
/// let p = fisher_exact_p(3, 4, 1, 4).unwrap();
/// assert!((p - 34.0 / 70.0).abs() < 1e-15);
/// ```
pub fn fisher_exact_p(before_k: u64, before_n: u64, after_k: u64, after_n: u64) -> Option<f64> {
    if before_n == 0 || after_n == 0 || before_k > before_n || after_k > after_n {
        return None;
    }
    // Hypergeometric over the top-left cell x: row totals r1, r2, column total c.
    let (r1, r2, c) = (before_n, after_n, before_k + after_k);
    if c == 0 || c == r1 + r2 {
        return Some(1.0);
    }
    let lowest = c.saturating_sub(r2);
    let highest = c.min(r1);
    // ln P(x) up to a constant, by the ratio P(x+1)/P(x) = (r1−x)(c−x) / ((x+1)(r2−c+x+1)).
    let mut log_weights = Vec::with_capacity((highest - lowest + 1) as usize);
    let mut log_weight = 0.0;
    log_weights.push(log_weight);
    for x in lowest..highest {
        let ratio = ((r1 - x) as f64 * (c - x) as f64) / ((x + 1) as f64 * (r2 + x + 1 - c) as f64);
        log_weight += ratio.ln();
        log_weights.push(log_weight);
    }
    let top = log_weights
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    let observed = log_weights[(before_k - lowest) as usize];
    let threshold = observed + RELATIVE_TOLERANCE.ln_1p();
    let (mut extreme, mut total) = (0.0, 0.0);
    for &w in &log_weights {
        let weight = (w - top).exp();
        total += weight;
        if w <= threshold {
            extreme += weight;
        }
    }
    Some((extreme / total).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference p-values from scipy 1.17.1: `scipy.stats.fisher_exact(table).pvalue` with
    /// table = [[before_k, before_n − before_k], [after_k, after_n − after_k]].
    #[test]
    fn fisher_matches_scipy() {
        let cases: &[([u64; 4], f64)] = &[
            ([3, 1, 1, 3], 0.48571428571428565),
            ([8, 2, 1, 5], 0.034965034965034975),
            ([1, 9, 11, 3], 0.0027594561852200836),
            ([0, 5, 5, 0], 0.007936507936507938),
            ([10, 90, 25, 75], 0.008503571478623954),
            ([56, 14, 48, 32], 0.012521129749209154),
            ([3, 7, 3, 7], 1.0),
            ([120, 880, 80, 920], 0.0035648027625589684),
            ([2, 30, 9, 25], 0.04520679303148118),
            ([7, 2, 2, 7], 0.056684491978609634),
            ([0, 50, 1, 49], 1.0),
            ([500, 4500, 450, 4550], 0.09465363938598406),
        ];
        for ([a, b, c, d], expected) in cases {
            let p = fisher_exact_p(*a, a + b, *c, c + d);
            let p = p.unwrap_or_else(|| panic!("no p for {a} {b} {c} {d}"));
            assert!(
                (p - expected).abs() <= 1e-12 * expected,
                "[[{a}, {b}], [{c}, {d}]]: {p} != {expected}"
            );
        }
    }

    #[test]
    fn fisher_is_the_same_either_way_round_and_never_above_one() {
        for (a, n1, c, n2) in [(2, 10, 7, 12), (0, 3, 3, 3), (40, 400, 41, 410)] {
            let p = fisher_exact_p(a, n1, c, n2).unwrap();
            let swapped = fisher_exact_p(c, n2, a, n1).unwrap();
            assert!((p - swapped).abs() <= 1e-14 * p, "{p} vs {swapped}");
            assert!(p > 0.0 && p <= 1.0);
        }
        // A side without deployments has nothing to test (scipy answers 1 for such a
        // table; flowmap reports no p-value at all).
        assert_eq!(fisher_exact_p(0, 0, 1, 2), None);
        assert_eq!(fisher_exact_p(3, 2, 1, 2), None);
    }

    #[test]
    fn fisher_handles_large_tables_without_overflow() {
        let p = fisher_exact_p(3000, 100_000, 3500, 100_000).unwrap();
        assert!(p > 0.0 && p < 1e-8, "{p}");
    }

    /// Newcombe (1998), "Interval estimation for the difference between independent
    /// proportions: comparison of eleven methods", Statistics in Medicine 17, Table II,
    /// method 10, to the four decimals printed there (his differences are p₁ − p₂ of the
    /// first-named sample; ours is after − before, so the first-named sample is `after`).
    #[test]
    fn newcombe_matches_the_published_examples() {
        let cases = [
            ((48, 80, 56, 70), (0.0524, 0.3339)),
            ((3, 10, 9, 10), (0.1705, 0.8090)),
            ((2, 7, 6, 7), (0.0582, 0.8062)),
            ((0, 29, 5, 56), (-0.0381, 0.1926)),
        ];
        for ((k1, n1, k2, n2), (low, high)) in cases {
            let (_, l, h) = newcombe_interval(k1, n1, k2, n2).unwrap();
            assert_eq!(
                ((l * 1e4).round() / 1e4, (h * 1e4).round() / 1e4),
                (low, high)
            );
        }
    }

    #[test]
    fn newcombe_at_the_extremes() {
        // Everything failed before, nothing after. Wilson gives [0, u] for 0/10 and
        // [1 − u, 1] for 10/10 with u = z²/(10 + z²), so the interval is
        // [−1 − √(0 + 0), −1 + √(u² + u²)] = [−1, −1 + √2·u].
        let (d, low, high) = newcombe_interval(10, 10, 0, 10).unwrap();
        let u = Z_95 * Z_95 / (10.0 + Z_95 * Z_95);
        assert_eq!((d, low), (-1.0, -1.0));
        assert!((high - (-1.0 + std::f64::consts::SQRT_2 * u)).abs() < 1e-12);
        // Nothing on both sides: difference 0, an interval on both sides of it.
        let (d, low, high) = newcombe_interval(0, 10, 0, 20).unwrap();
        assert_eq!(d, 0.0);
        assert!(low < 0.0 && high > 0.0);
        assert_eq!(newcombe_interval(0, 0, 1, 2), None);
    }

    #[test]
    fn wilson_closed_form_for_zero_successes() {
        // k = 0: the interval is [0, z²/(n + z²)].
        let (low, high) = wilson_interval(0, 10).unwrap();
        assert_eq!(low, 0.0);
        assert!((high - Z_95 * Z_95 / (10.0 + Z_95 * Z_95)).abs() < 1e-15);
    }
}
