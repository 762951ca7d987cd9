//! The one path from the store to a DORA report.
//!
//! Every page, endpoint and `flowmap dora` asks [`Reports::dora`]; a cache of reports
//! keyed by their options goes here, and nowhere else, when one is needed.

use flowmap_core::dora::{DoraInput, DoraOptions, DoraReport, compute};
use flowmap_store::{LoadQuery, Store};

use crate::AppError;

/// Produces DORA reports. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Reports {
    pub(crate) store: Store,
}

impl Reports {
    pub(crate) fn new(store: Store) -> Reports {
        Reports { store }
    }

    /// Loads what `options` needs (`LoadQuery::for_dora`) and computes the report on the
    /// blocking pool, so a large report never stalls the threads serving requests.
    pub async fn dora(&self, options: &DoraOptions) -> Result<DoraReport, AppError> {
        let data = self.store.load(&LoadQuery::for_dora(options)).await?;
        let options = options.clone();
        tokio::task::spawn_blocking(move || {
            let input = DoraInput {
                deployments: &data.deployments,
                changes: &data.changes,
                incidents: &data.incidents,
            };
            compute(&input, &options)
        })
        .await
        .map_err(|_| AppError::Background("the DORA computation"))?
        .map_err(AppError::from)
    }
}
