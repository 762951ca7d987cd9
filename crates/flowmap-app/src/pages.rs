//! Where numbered pages of a list start: counted from the nearest record whose place in
//! the list is already known.
//!
//! A page asked for by its number alone (`?page=9999`) must skip every record before it,
//! which costs time in proportion to the offset (over a million changes, 20–30 ms on
//! SQLite and 120–220 ms on PostgreSQL, where an index scan costs more per entry). But the
//! end of each numbered page served is a record whose place is then known exactly, so the
//! next page by number — or the same page asked again — is counted from there: a hop of
//! one page instead of a skip from the start. A client that walks the pages in order, as
//! most scripts do, pays for the skip once.
//!
//! Places are only ever learned from pages this process counted itself, never from a
//! client's cursor (a client could pair any cursor with any page number), and they are
//! kept per data version beside the reports ([`crate::reports::Reports::page_start`]), so a
//! write makes them all unreachable at once.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use flowmap_store::{Cursor, ListStart, Position};

/// At most this many places are known per list; when full, every other one is forgotten,
/// so the known places stay spread over the list and a hop is at most a few pages.
const MOST_PLACES: usize = 4096;

/// Where one numbered page starts, from [`crate::reports::Reports::page_start`].
#[derive(Debug)]
pub struct PageStart {
    /// Hand this to the store's list query.
    pub start: ListStart,
    version: i64,
    skip: u64,
    places: Places,
}

impl PageStart {
    /// The data version the start was chosen under.
    pub fn version(&self) -> i64 {
        self.version
    }

    /// Remembers where the page read from [`PageStart::start`] ended: after `items` records
    /// at the cursor `next` (the page's `next`), so the next page by number starts there.
    pub fn read(&self, items: usize, next: Option<&Cursor>) {
        if let (Some(last), Some(next)) = ((items as u64).checked_sub(1), next) {
            self.places.learn(self.skip + last, next.clone());
        }
    }
}

/// The known places of one list under one data version: record index to key.
#[derive(Clone, Debug, Default)]
pub(crate) struct Places(Arc<Mutex<BTreeMap<u64, Cursor>>>);

impl Places {
    /// The start of a page that skips `skip` records under data `version`, able to
    /// remember where it ends; with the list's `total`, pages nearer its end are counted
    /// back from there.
    pub(crate) fn page(&self, version: i64, skip: u64, total: Option<u64>) -> PageStart {
        PageStart {
            start: self.start(skip, total).1,
            version,
            skip,
            places: self.clone(),
        }
    }

    /// How many records a page that skips `skip` passes on its way, counted from the
    /// start or the nearest known place.
    pub(crate) fn distance(&self, skip: u64) -> u64 {
        self.start(skip, None).0
    }

    /// Where a page that skips `skip` records starts — from the start of the list, the
    /// known place nearest to the record just before it, or the end of a list of `total`
    /// records, whichever is nearest — and how many records lie between.
    fn start(&self, skip: u64, total: Option<u64>) -> (u64, ListStart) {
        let Some(target) = skip.checked_sub(1) else {
            return (0, ListStart::First);
        };
        let mut best = (target, ListStart::Offset(skip));
        if let Some((index, key)) = self.nearest(target)
            && index.abs_diff(target) < best.0
        {
            best = (
                index.abs_diff(target),
                ListStart::OffsetFrom {
                    skip,
                    known: Position { index, key },
                },
            );
        }
        if let Some(total) = total {
            // Past the end the page is empty, found without a query.
            let from_end = total.saturating_sub(1).saturating_sub(target);
            if from_end < best.0 || target >= total {
                best = (from_end, ListStart::OffsetFromEnd { skip, total });
            }
        }
        best
    }

    /// The known place nearest to record `target`.
    fn nearest(&self, target: u64) -> Option<(u64, Cursor)> {
        let places = self.0.lock().ok()?;
        let before = places.range(..=target).next_back();
        let after = places.range(target..).next();
        let (index, key) = match (before, after) {
            (Some(b), Some(a)) if a.0 - target < target - b.0 => a,
            (Some(b), _) => b,
            (None, a) => a?,
        };
        Some((*index, key.clone()))
    }

    /// Remembers that record `index` of the list has `key`.
    fn learn(&self, index: u64, key: Cursor) {
        let Ok(mut places) = self.0.lock() else {
            return;
        };
        if places.len() >= MOST_PLACES && !places.contains_key(&index) {
            let mut every_other = false;
            places.retain(|_, _| {
                every_other = !every_other;
                every_other
            });
        }
        places.insert(index, key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u64) -> Cursor {
        Cursor {
            time: n as i64,
            source: "s".into(),
            id: format!("r{n}"),
        }
    }

    fn from(start: ListStart) -> Option<u64> {
        match start {
            ListStart::OffsetFrom { known, .. } => Some(known.index),
            _ => None,
        }
    }

    #[test]
    fn pages_count_from_the_nearest_known_place_or_the_start() {
        let places = Places::default();
        let start = |skip| places.start(skip, None).1;
        assert_eq!(start(0), ListStart::First);
        assert_eq!(start(500), ListStart::Offset(500));
        places.learn(999, key(999));
        places.learn(4999, key(4999));
        let start = |skip| places.start(skip, None).1;
        // The page after a known record starts right after it.
        assert_eq!(from(start(1000)), Some(999));
        // The same page again, or one a little before, counts back from the nearest place.
        assert_eq!(from(start(900)), Some(999));
        assert_eq!(from(start(4000)), Some(4999));
        assert_eq!(from(start(2900)), Some(999));
        assert_eq!(from(start(9000)), Some(4999));
        // Near the start, the start is nearer than any place.
        assert_eq!(start(300), ListStart::Offset(300));
        assert_eq!(places.distance(300), 299);
        assert_eq!(places.distance(1000), 0);
    }

    #[test]
    fn pages_near_the_end_count_back_from_it() {
        let places = Places::default();
        places.learn(999, key(999));
        let end = |skip, total| ListStart::OffsetFromEnd { skip, total };
        assert_eq!(places.start(9000, Some(10_000)), (1000, end(9000, 10_000)));
        assert_eq!(from(places.start(1200, Some(10_000)).1), Some(999));
        assert_eq!(places.start(7000, Some(10_000)), (3000, end(7000, 10_000)));
        assert_eq!(places.start(3000, Some(10_000)).0, 2000);
        // Past the end, or in an empty list: nothing to count.
        assert_eq!(places.start(20_000, Some(10_000)), (0, end(20_000, 10_000)));
        assert_eq!(places.start(5, Some(0)), (0, end(5, 0)));
        assert_eq!(places.start(0, Some(0)).1, ListStart::First);
    }

    #[test]
    fn a_full_list_of_places_thins_out_and_keeps_the_newest() {
        let places = Places::default();
        for n in 0..MOST_PLACES as u64 {
            places.learn(n * 100 + 99, key(n));
        }
        places.learn(10_000_000, key(1));
        let known = places.0.lock().unwrap();
        assert!(known.len() <= MOST_PLACES / 2 + 1, "{}", known.len());
        assert!(known.contains_key(&10_000_000));
        // Still spread over the whole list.
        assert!(known.keys().any(|&i| i < 1000));
        assert!(known.keys().any(|&i| i > 400_000 && i < 10_000_000));
    }
}
