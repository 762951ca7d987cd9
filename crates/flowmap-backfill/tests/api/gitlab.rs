//! The GitLab backfill.
