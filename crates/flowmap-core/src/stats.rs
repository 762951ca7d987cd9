//! The statistics every number in flowmap uses (SPEC §5).
//!
//! One definition each, so a median on the dashboard, in `flowmap dora` and in a map's
//! simulation always mean the same thing.

/// The median: the middle value, or the mean of the two middle values.
///
/// `None` for an empty slice: no data is not a zero. NaN values are a caller bug and
/// sort last.
pub fn median(values: &[f64]) -> Option<f64> {
    percentile(values, 50.0)
}

/// The `p`-th percentile (0–100) by linear interpolation between closest ranks, as numpy's
/// default (`method="linear"`): rank `h = (n − 1)·p/100`, then interpolate between the
/// values at `⌊h⌋` and `⌈h⌉`.
///
/// `None` for an empty slice. `p` is clamped to [0, 100].
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    percentile_in_place(&mut values.to_vec(), p)
}

/// The ranks [`percentile`] interpolates between, and how far between them it lies.
fn ranks(n: usize, p: f64) -> (usize, usize, f64) {
    let rank = (n - 1) as f64 * p.clamp(0.0, 100.0) / 100.0;
    let lower = rank.floor() as usize;
    (lower, rank.ceil() as usize, rank - lower as f64)
}

/// [`percentile`] on a slice already sorted ascending and not empty; lets callers that need
/// several percentiles of one sample sort it once.
pub fn percentile_of_sorted(sorted: &[f64], p: f64) -> f64 {
    debug_assert!(!sorted.is_empty());
    let (lower, upper, fraction) = ranks(sorted.len(), p);
    sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
}

/// [`percentile`] without sorting: the two ranks are found by selection, in time linear in
/// the length, leaving `values` reordered. Gives exactly the same number as sorting would;
/// taking several percentiles of one sample in turn is fine.
pub fn percentile_in_place(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let (lower, upper, fraction) = ranks(values.len(), p);
    let (_, low, above) = values.select_nth_unstable_by(lower, f64::total_cmp);
    let low = *low;
    let high = if upper > lower {
        above.iter().copied().min_by(f64::total_cmp).unwrap_or(low)
    } else {
        low
    };
    Some(low + (high - low) * fraction)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn percentiles_match_numpy_linear() {
        // numpy.percentile([1, 2, 3, 4, 10], [90, 85, 95]) == [7.6, 6.4, 8.8]
        let v = [1.0, 2.0, 3.0, 4.0, 10.0];
        assert!((percentile(&v, 90.0).unwrap() - 7.6).abs() < 1e-12);
        assert!((percentile(&v, 85.0).unwrap() - 6.4).abs() < 1e-12);
        assert!((percentile(&v, 95.0).unwrap() - 8.8).abs() < 1e-12);
        assert_eq!(percentile(&[5.0], 90.0), Some(5.0));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&v, 100.0), Some(10.0));
    }

    proptest! {
        #[test]
        fn selection_gives_the_sorted_answer_to_the_bit(
            values in proptest::collection::vec(-1e6f64..1e6, 1..200),
            p in 0.0f64..=100.0,
        ) {
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let mut scratch = values.clone();
            let got = percentile_in_place(&mut scratch, p).unwrap();
            prop_assert_eq!(got.to_bits(), percentile_of_sorted(&sorted, p).to_bits());
            // A second percentile of the reordered sample is still right.
            let again = percentile_in_place(&mut scratch, 90.0).unwrap();
            prop_assert_eq!(again.to_bits(), percentile_of_sorted(&sorted, 90.0).to_bits());
        }

        #[test]
        fn percentiles_stay_within_min_and_max(
            values in proptest::collection::vec(-1e9f64..1e9, 1..50),
            p in 0.0f64..=100.0,
        ) {
            let got = percentile(&values, p).unwrap();
            let min = values.iter().copied().fold(f64::INFINITY, f64::min);
            let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            prop_assert!(got >= min && got <= max);
        }
    }
}
