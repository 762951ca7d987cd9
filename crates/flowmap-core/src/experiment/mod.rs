//! The statistics of an improvement experiment: did the change the team made move its
//! metric, and by how much?
//!
//! - [`hodges_lehmann`]: the shift between two samples of durations (or weekly counts) and
//!   its 95 % interval, by selection, never listing the n₁·n₂ differences;
//! - [`mann_whitney_p`]: the two-sided Mann–Whitney p-value (normal approximation with tie
//!   and continuity correction);
//! - [`newcombe_interval`] and [`fisher_exact_p`]: the same for two proportions;
//! - [`compare_samples`] / [`compare_proportions`]: the verdict and the sentence that says
//!   it.
//!
//! Every function is exact to a published definition so that any two correct
//! implementations agree; the tests compare with reference values from scipy and from
//! Newcombe's paper. Nothing here returns NaN or infinity: where a number cannot be
//! computed it is `None`.

mod mann_whitney;
mod rates;
mod shift;
mod verdict;

pub use mann_whitney::mann_whitney_p;
pub use rates::{fisher_exact_p, newcombe_interval, wilson_interval};
pub use shift::{ShiftEstimate, Z_95, hodges_lehmann, hodges_lehmann_by_sorting};
pub use verdict::{
    Better, Comparison, MINIMUM_ITEMS, MINIMUM_WEEKS, Subject, Unit, Verdict, compare_proportions,
    compare_samples,
};
