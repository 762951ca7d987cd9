//! The Hodges–Lehmann shift between two samples and its 95 % interval.
//!
//! The shift is the median of all n₁·n₂ differences yⱼ − xᵢ; the interval is
//! [d_{C+1}, d_{N−C}] of those differences sorted, with
//! C = ⌊N/2 − 1.959964·√(n₁n₂(n₁+n₂+1)/12)⌋ (the normal approximation to the Mann–Whitney
//! distribution). With 100 000 items on each side there are 10¹⁰ differences, far too many
//! to list, so [`hodges_lehmann`] finds the order statistics it needs by selection in the
//! implicit sorted matrix of differences and never stores more than a few per row.
//!
//! **Why the answer is bit-identical to sorting.** Sort x and y ascending. Floating-point
//! subtraction is correctly rounded and therefore monotone, so the computed difference
//! `y[j] - x[i]` never decreases along a row (growing j) and never increases down a column
//! (growing i). Counting how many computed differences lie below a value therefore takes
//! one pass with two pointers, and every candidate the selection keeps is itself a computed
//! difference. The order statistics found are the very `f64`s a full sort would put at
//! those ranks, and the median of an even count is formed with the same formula as
//! [`crate::stats::median`].

use crate::stats;

/// The two-sided 95 % normal quantile the interval uses.
pub const Z_95: f64 = 1.959964;

/// A shift estimate with its 95 % interval. The bounds are `None` when the samples are too
/// small for a 95 % interval (C < 0).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ShiftEstimate {
    pub shift: f64,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

/// The Hodges–Lehmann shift of `after` against `before` (median of `after[j] - before[i]`)
/// and its 95 % interval, without materialising the differences: time
/// O((n₁ + n₂)·log(n₁n₂)) expected, memory O(n₁ + n₂).
///
/// `None` when either sample is empty. Values must be finite (durations and counts are);
/// a non-finite value is a caller bug and gives an unspecified, but not panicking, result.
///
/// ```
/// use flowmap_core::experiment::hodges_lehmann;
/// let before = [10.0, 12.0, 14.0];
/// let after = [7.0, 9.0, 11.0];
/// let estimate = hodges_lehmann(&before, &after).unwrap();
/// assert_eq!(estimate.shift, -3.0);
/// // With 3 against 3 the 95 % interval is the full range of the 9 differences.
/// assert_eq!((estimate.ci_low, estimate.ci_high), (Some(-7.0), Some(1.0)));
/// // 2 against 3 is too few for one.
/// assert_eq!(hodges_lehmann(&[10.0, 12.0], &after).unwrap().ci_low, None);
/// ```
pub fn hodges_lehmann(before: &[f64], after: &[f64]) -> Option<ShiftEstimate> {
    if before.is_empty() || after.is_empty() {
        return None;
    }
    let mut x = before.to_vec();
    let mut y = after.to_vec();
    x.sort_by(f64::total_cmp);
    y.sort_by(f64::total_cmp);
    let matrix = Differences { x: &x, y: &y };
    let total = matrix.len();
    let (lower, upper) = median_ranks(total);
    let low = matrix.select(lower);
    let shift = if upper == lower {
        low
    } else {
        stats::percentile_of_sorted(&[low, matrix.select(upper)], 50.0)
    };
    let (ci_low, ci_high) = match interval_ranks(before.len(), after.len()) {
        Some((first, last)) => (Some(matrix.select(first)), Some(matrix.select(last))),
        None => (None, None),
    };
    Some(ShiftEstimate {
        shift,
        ci_low,
        ci_high,
    })
}

/// [`hodges_lehmann`] by its definition: every difference listed and sorted. O(n₁n₂)
/// memory; the reference the fast version is tested and benchmarked against.
pub fn hodges_lehmann_by_sorting(before: &[f64], after: &[f64]) -> Option<ShiftEstimate> {
    if before.is_empty() || after.is_empty() {
        return None;
    }
    let mut differences: Vec<f64> = after
        .iter()
        .flat_map(|y| before.iter().map(move |x| y - x))
        .collect();
    differences.sort_by(f64::total_cmp);
    let shift = stats::percentile_of_sorted(&differences, 50.0);
    let (ci_low, ci_high) = match interval_ranks(before.len(), after.len()) {
        Some((first, last)) => (
            Some(differences[first as usize]),
            Some(differences[last as usize]),
        ),
        None => (None, None),
    };
    Some(ShiftEstimate {
        shift,
        ci_low,
        ci_high,
    })
}

/// The 0-based ranks the median of `total` values interpolates between (equal when odd).
fn median_ranks(total: u64) -> (u64, u64) {
    ((total - 1) / 2, total / 2)
}

/// The 0-based ranks of the interval's bounds d_{C+1} and d_{N−C}, or `None` when C < 0.
fn interval_ranks(n1: usize, n2: usize) -> Option<(u64, u64)> {
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let total = n1f * n2f;
    let c = (total / 2.0 - Z_95 * (n1f * n2f * (n1f + n2f + 1.0) / 12.0).sqrt()).floor();
    if c < 0.0 {
        return None;
    }
    let c = c as u64;
    let total = n1 as u64 * n2 as u64;
    Some((c, total - c - 1))
}

/// The n₁×n₂ matrix of differences `y[j] - x[i]` of two ascending samples, never stored.
struct Differences<'a> {
    x: &'a [f64],
    y: &'a [f64],
}

impl Differences<'_> {
    fn len(&self) -> u64 {
        self.x.len() as u64 * self.y.len() as u64
    }

    fn at(&self, row: usize, column: usize) -> f64 {
        self.y[column] - self.x[row]
    }

    /// For every row, how many of its differences are below `pivot` (`strict`) or at most
    /// `pivot`, written to `counts`; returns their sum. Rows only decrease going down, so
    /// each row's count is at least the previous row's and the pointer only moves right.
    fn count_below(&self, pivot: f64, strict: bool, counts: &mut [usize]) -> u64 {
        let mut column = 0;
        let mut sum = 0u64;
        for (row, count) in counts.iter_mut().enumerate() {
            while column < self.y.len() && {
                let d = self.at(row, column);
                if strict { d < pivot } else { d <= pivot }
            } {
                column += 1;
            }
            *count = column;
            sum += column as u64;
        }
        sum
    }

    /// The difference of 0-based rank `rank` in sorted order (Monahan's selection: a random
    /// pivot among the candidates left, counted against every row, narrows each row's
    /// range of candidates until the pivot has the rank or few candidates remain).
    fn select(&self, rank: u64) -> f64 {
        let rows = self.x.len();
        let mut first = vec![0usize; rows];
        let mut end = vec![self.y.len(); rows];
        let mut below = vec![0usize; rows];
        let mut at_most = vec![0usize; rows];
        let mut random = SplitMix64(0x9E37_79B9_7F4A_7C15 ^ rank);
        // Below this many candidates, listing and selecting them is cheaper than a pass.
        let small = (rows + self.y.len()).max(64) as u64;
        loop {
            let excluded_below: u64 = first.iter().map(|&f| f as u64).sum();
            let candidates: u64 = first.iter().zip(&end).map(|(f, e)| (e - f) as u64).sum();
            let wanted = rank - excluded_below;
            if candidates <= small {
                let mut left: Vec<f64> = (0..rows)
                    .flat_map(|row| (first[row]..end[row]).map(move |col| (row, col)))
                    .map(|(row, col)| self.at(row, col))
                    .collect();
                let (_, value, _) = left.select_nth_unstable_by(wanted as usize, f64::total_cmp);
                return *value;
            }
            let pivot = self.candidate(random.below(candidates), &first, &end);
            let less = self.count_below(pivot, true, &mut below);
            let less_or_equal = self.count_below(pivot, false, &mut at_most);
            if rank < less {
                for (e, &b) in end.iter_mut().zip(&below) {
                    *e = (*e).min(b);
                }
            } else if rank >= less_or_equal {
                for (f, &a) in first.iter_mut().zip(&at_most) {
                    *f = (*f).max(a);
                }
            } else {
                return pivot;
            }
            for (f, e) in first.iter_mut().zip(end.iter_mut()) {
                *e = (*e).max(*f);
            }
        }
    }

    /// The `index`-th candidate left, counting row by row.
    fn candidate(&self, mut index: u64, first: &[usize], end: &[usize]) -> f64 {
        for row in 0..first.len() {
            let width = (end[row] - first[row]) as u64;
            if index < width {
                return self.at(row, first[row] + index as usize);
            }
            index -= width;
        }
        // Unreachable while `index` < the number of candidates; the last candidate keeps
        // this total without a panic path.
        let row = (0..first.len())
            .rev()
            .find(|&r| end[r] > first[r])
            .unwrap_or(0);
        self.at(row, end[row].saturating_sub(1))
    }
}

/// A small, fast pseudo-random generator for pivots (SplitMix64); the selection is exact
/// whatever it draws, the randomness only keeps the expected number of passes logarithmic.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in [0, bound), bound > 0 (the multiply-shift range reduction).
    fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(bound)) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn interval_ranks_follow_the_formula() {
        // 10 against 10: N = 100, √(100·21/12) = 13.2288, C = ⌊50 − 25.928⌋ = 24,
        // so the interval is [d25, d76], 0-based ranks 24 and 75.
        assert_eq!(interval_ranks(10, 10), Some((24, 75)));
        // 3 against 3: N/2 = 4.5, 1.959964·√(9·7/12) = 4.49 → C = 0: [d1, d9].
        assert_eq!(interval_ranks(3, 3), Some((0, 8)));
        // 2 against 3: 3 − 1.959964·√(6·6/12) = −0.39 → no interval.
        assert_eq!(interval_ranks(2, 3), None);
    }

    #[test]
    fn a_pure_shift_is_recovered_exactly() {
        let before: Vec<f64> = (0..20).map(f64::from).collect();
        let after: Vec<f64> = before.iter().map(|v| v + 5.0).collect();
        let estimate = hodges_lehmann(&before, &after).unwrap();
        assert_eq!(estimate.shift, 5.0);
        let (low, high) = (estimate.ci_low.unwrap(), estimate.ci_high.unwrap());
        assert!(low < 5.0 && 5.0 < high);
        // Symmetric around the shift: the differences are symmetric around it.
        assert_eq!(5.0 - low, high - 5.0);
    }

    #[test]
    fn identical_and_all_tied_samples_give_zero() {
        let same = [3.0; 12];
        let estimate = hodges_lehmann(&same, &same).unwrap();
        assert_eq!(estimate.shift, 0.0);
        assert_eq!((estimate.ci_low, estimate.ci_high), (Some(0.0), Some(0.0)));
        assert_eq!(hodges_lehmann(&[], &same), None);
        assert_eq!(hodges_lehmann(&same, &[]), None);
    }

    #[test]
    fn one_against_one_is_the_difference() {
        let estimate = hodges_lehmann(&[2.5], &[4.0]).unwrap();
        assert_eq!(estimate.shift, 1.5);
        assert_eq!(estimate.ci_low, None);
    }

    #[test]
    fn large_samples_match_sorting_where_sorting_is_still_affordable() {
        let mut random = SplitMix64(7);
        let before: Vec<f64> = (0..700)
            .map(|_| (random.next() % 5000) as f64 / 7.0)
            .collect();
        let after: Vec<f64> = (0..900)
            .map(|_| (random.next() % 4000) as f64 / 3.0 - 10.0)
            .collect();
        assert_eq!(
            hodges_lehmann(&before, &after),
            hodges_lehmann_by_sorting(&before, &after)
        );
    }

    fn bits(estimate: Option<ShiftEstimate>) -> Option<(u64, Option<u64>, Option<u64>)> {
        estimate.map(|e| {
            (
                e.shift.to_bits(),
                e.ci_low.map(f64::to_bits),
                e.ci_high.map(f64::to_bits),
            )
        })
    }

    proptest! {
        #[test]
        fn equals_sorting_to_the_bit(
            before in proptest::collection::vec(-1e4f64..1e4, 0..40),
            after in proptest::collection::vec(-1e4f64..1e4, 0..40),
        ) {
            prop_assert_eq!(
                bits(hodges_lehmann(&before, &after)),
                bits(hodges_lehmann_by_sorting(&before, &after))
            );
        }

        #[test]
        fn equals_sorting_to_the_bit_with_many_ties(
            before in proptest::collection::vec(0u8..6, 0..60),
            after in proptest::collection::vec(0u8..6, 0..60),
            scale in prop_oneof![Just(1.0f64), Just(0.1), Just(24.0), Just(1e-3)],
        ) {
            let before: Vec<f64> = before.iter().map(|&v| f64::from(v) * scale).collect();
            let after: Vec<f64> = after.iter().map(|&v| f64::from(v) * scale).collect();
            prop_assert_eq!(
                bits(hodges_lehmann(&before, &after)),
                bits(hodges_lehmann_by_sorting(&before, &after))
            );
        }
    }
}
