//! Merged pull requests (GitHub) and merge requests (GitLab) into changes: the walk over
//! their list that both services share.

use flowmap_core::events::Change;
use jiff::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::Client;
use crate::pages::{PageCache, Paging, Shape, fetch};
use crate::run::Run;
use crate::{BackfillError, PageEtag, Records, Sink};

/// A pull or merge request as its list shows it.
pub(crate) trait Request: DeserializeOwned + Serialize {
    /// When it last changed: the lists are read newest change first.
    fn updated_at(&self) -> Timestamp;
    /// Whether it was merged.
    fn merged(&self) -> bool;
}

/// Reads list `resource` of requests, newest change first, from `first` (or from where
/// this run stopped) into changes, one checkpoint per page: `change` reads each merged
/// request inside the window in detail, as many at once as the client's concurrency.
///
/// Paging stops at the first page that reaches back before the window, or when the first
/// page is unchanged since a run read it (nothing was updated since) and this run does not
/// reach further back than earlier ones.
pub(crate) async fn read_merged<S: Sink, T: Request>(
    run: &mut Run<'_, S>,
    resource: &str,
    first: &str,
    paging: Paging,
    change: impl AsyncFn(
        &Client,
        &PageCache,
        &T,
    ) -> Result<(Option<Change>, Vec<PageEtag>), BackfillError>,
) -> Result<(), BackfillError> {
    let mut next = run.resume_list(resource, first);
    while let Some(url) = next {
        let page = fetch::<T>(run.client, &run.etags, &url, Shape::Array, paging).await?;
        let reaches_back = page
            .items
            .iter()
            .any(|request| run.window.before(request.updated_at()));
        let stop = reaches_back || (page.unchanged && url == first && !run.window.extends);
        let mut etags: Vec<PageEtag> = page.etag.into_iter().collect();
        let mut changes = Vec::new();
        // An unchanged page was written when first read, but only its items inside that
        // run's window: a run reaching further back reads them all.
        if !page.unchanged || run.window.extends {
            let merged: Vec<&T> = page
                .items
                .iter()
                .filter(|request| request.merged() && !run.window.before(request.updated_at()))
                .collect();
            let client = run.client;
            let cache = &run.etags;
            let change = &change;
            let read = client
                .read_each(merged, |request| change(client, cache, request))
                .await?;
            for (change, saved) in read {
                changes.extend(change);
                etags.extend(saved);
            }
        }
        next = if stop { None } else { page.next };
        let records = Records {
            changes,
            ..Records::default()
        };
        run.save_list_page(resource, records, etags, next.clone())
            .await?;
    }
    Ok(())
}
