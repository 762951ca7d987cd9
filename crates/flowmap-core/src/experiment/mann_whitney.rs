//! The two-sided Mann–Whitney U test, normal approximation with tie and continuity
//! correction — the number `scipy.stats.mannwhitneyu(x, y, method="asymptotic",
//! use_continuity=True)` returns.
//!
//! U₁ = R₁ − n₁(n₁+1)/2 from the average ranks of the pooled sample, U = max(U₁, n₁n₂ − U₁),
//! σ = √(n₁n₂/12 · ((n+1) − Σ(t³ − t)/(n(n−1)))) over the tie groups t,
//! z = (U − n₁n₂/2 − ½)/σ and p = 2·(1 − Φ(z)), at most 1.

/// The two-sided Mann–Whitney p-value of `before` against `after`.
///
/// `None` when either sample is empty (there is nothing to test). When every value is tied
/// σ is 0 and scipy's arithmetic gives z = −∞ and p = 1; so does this.
///
/// ```
/// use flowmap_core::experiment::mann_whitney_p;
/// // scipy 1.17.1: mannwhitneyu([1,2,3,4,5], [6,7,8,9,10], method="asymptotic").pvalue
/// let p = mann_whitney_p(&[1.0, 2.0, 3.0, 4.0, 5.0], &[6.0, 7.0, 8.0, 9.0, 10.0]).unwrap();
/// assert!((p - 0.012185780355344813).abs() < 1e-15);
/// ```
pub fn mann_whitney_p(before: &[f64], after: &[f64]) -> Option<f64> {
    if before.is_empty() || after.is_empty() {
        return None;
    }
    let (n1, n2) = (before.len() as f64, after.len() as f64);
    let mut pooled: Vec<(f64, bool)> = before
        .iter()
        .map(|&v| (v, true))
        .chain(after.iter().map(|&v| (v, false)))
        .collect();
    pooled.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum_before = 0.0;
    let mut tie_term = 0.0;
    let mut start = 0;
    while start < pooled.len() {
        let end = start
            + pooled[start..]
                .iter()
                .take_while(|(v, _)| *v == pooled[start].0)
                .count();
        // Ranks start..end (1-based start+1..=end) share their average.
        let average_rank = (start + 1 + end) as f64 / 2.0;
        let from_before = pooled[start..end].iter().filter(|(_, b)| *b).count();
        rank_sum_before += average_rank * from_before as f64;
        let t = (end - start) as f64;
        tie_term += t * t * t - t;
        start = end;
    }
    let u1 = rank_sum_before - n1 * (n1 + 1.0) / 2.0;
    let u = u1.max(n1 * n2 - u1);
    let n = n1 + n2;
    let sigma = (n1 * n2 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)))).sqrt();
    let numerator = u - n1 * n2 / 2.0 - 0.5;
    let p = if sigma > 0.0 {
        2.0 * normal_upper_tail(numerator / sigma)
    } else {
        // All values tied (or n = 1 on both sides with a tie): z = −½/0 = −∞.
        2.0 * normal_upper_tail(f64::NEG_INFINITY)
    };
    Some(p.min(1.0))
}

/// 1 − Φ(z), the standard normal upper tail, accurate in the far tail too.
pub(crate) fn normal_upper_tail(z: f64) -> f64 {
    0.5 * libm::erfc(z / std::f64::consts::SQRT_2)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values from scipy 1.17.1, each computed as
    /// `scipy.stats.mannwhitneyu(x, y, method="asymptotic", use_continuity=True,
    /// alternative="two-sided").pvalue` with the x and y written here.
    #[test]
    fn matches_scipy() {
        let cases: &[(&[f64], &[f64], f64)] = &[
            (
                &[1.0, 2.0, 3.0, 4.0, 5.0],
                &[6.0, 7.0, 8.0, 9.0, 10.0],
                0.012185780355344813,
            ),
            (
                &[1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0],
                &[2.0, 3.0, 4.0, 4.0, 5.0, 5.0],
                0.07826242947714618,
            ),
            (
                &[19.0, 22.0, 16.0, 29.0, 24.0],
                &[20.0, 11.0, 17.0, 12.0],
                0.11134688653314041,
            ),
            (
                &[0.5, 1.5, 2.5, 10.0, 12.0, 40.0, 3.0, 3.0],
                &[0.25, 0.5, 1.0, 1.0, 2.0, 2.0, 8.0, 0.1, 0.3],
                0.020608430199281894,
            ),
            (&[1.0], &[2.0], 1.0),
            (&[5.0, 5.0, 5.0], &[5.0, 5.0], 1.0),
        ];
        for (before, after, expected) in cases {
            let p = mann_whitney_p(before, after).unwrap();
            assert!(
                (p - expected).abs() <= 1e-13 * expected.max(1e-300),
                "{before:?} vs {after:?}: {p} != {expected}"
            );
        }
    }

    #[test]
    fn far_apart_samples_underflow_to_zero_like_scipy() {
        let before: Vec<f64> = (0..2000).map(f64::from).collect();
        let after: Vec<f64> = (0..2000).map(|v| f64::from(v) + 5000.0).collect();
        let p = mann_whitney_p(&before, &after).unwrap();
        // scipy 1.17.1 gives exactly 0.0 here too: the tail underflows.
        assert_eq!(p, 0.0);
    }

    #[test]
    fn symmetric_in_its_samples_and_empty_is_none() {
        let a = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0];
        let b = [2.0, 7.0, 1.0, 8.0, 2.0, 8.0];
        assert_eq!(mann_whitney_p(&a, &b), mann_whitney_p(&b, &a));
        assert_eq!(mann_whitney_p(&[], &b), None);
        assert_eq!(mann_whitney_p(&a, &[]), None);
    }

    #[test]
    fn identical_samples_give_one() {
        let a = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(mann_whitney_p(&a, &a), Some(1.0));
    }
}
