//! What every command that touches the database starts with: a runtime to run the store
//! on, and the store, opened with an error that names the database exactly once.

use anyhow::Context as _;
use flowmap_store::{Store, StoreError, redact_password};

/// A runtime on the calling thread: a command does one thing at a time, and the store
/// sends its blocking work to the runtime's blocking pool.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Opens the database at `location`, creating or migrating it as needed.
///
/// The store's errors about the location itself already name it (without a password);
/// any other (a migration that failed, say) is told which database it came from.
pub(crate) async fn open(location: &str) -> anyhow::Result<Store> {
    Store::open(location).await.map_err(|err| match err {
        StoreError::Location { .. }
        | StoreError::Unreachable { .. }
        | StoreError::Missing { .. } => anyhow::Error::new(err),
        err => anyhow::Error::new(err).context(format!(
            "opening the database {}",
            redact_password(location)
        )),
    })
}
