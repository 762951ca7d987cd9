//! The PagerDuty backfill.
