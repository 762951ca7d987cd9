//! Reading one page of a list: following the service's way of naming the next page, and
//! answering from the saved extract when the server says the page has not changed.

use std::collections::HashMap;

use reqwest::Url;
use reqwest::header::{self, HeaderMap};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::client::{Answer, Client};
use crate::{BackfillError, PageEtag};

/// The saved pages a run reads through: URL → (ETag, extract).
pub(crate) type PageCache = HashMap<String, (String, String)>;

/// How a service names the next page.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Paging {
    /// GitHub: `Link: <…>; rel="next"`.
    Link,
    /// GitLab: `X-Next-Page: N` (empty on the last page).
    NextPageHeader,
}

/// Where a page's items are in its body.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Shape {
    /// The body is the array of items.
    Array,
    /// The items are the array under this field (`{"workflow_runs": […]}`).
    Field(&'static str),
}

/// One page of items, and the next page's URL.
#[derive(Debug)]
pub(crate) struct Fetched<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
    /// The server answered `304`: `items` are the saved extract.
    pub unchanged: bool,
    /// The page's new ETag and extract, to save with the checkpoint that uses the page.
    pub etag: Option<PageEtag>,
}

/// What is kept of a page: the read fields of its items, and where the list goes on.
#[derive(Serialize, Deserialize)]
struct Extract<T> {
    items: Vec<T>,
    next: Option<String>,
}

/// [`Extract`] borrowed, for saving.
#[derive(Serialize)]
struct ExtractRef<'a, T> {
    items: &'a [T],
    next: Option<&'a str>,
}

/// `GET url` as one page of `T`s. With a saved ETag for `url`, asks `If-None-Match` and,
/// on `304`, returns the saved extract.
pub(crate) async fn fetch<T: DeserializeOwned + Serialize>(
    client: &Client,
    etags: &PageCache,
    url: &str,
    shape: Shape,
    paging: Paging,
) -> Result<Fetched<T>, BackfillError> {
    let saved = etags.get(url);
    let answer = client
        .get(url, saved.map(|(etag, _)| etag.as_str()))
        .await?;
    let (headers, body) = match answer {
        Answer::Fresh { headers, body } => (headers, body),
        Answer::NotModified => {
            if let Some(extract) =
                saved.and_then(|(_, extract)| serde_json::from_str::<Extract<T>>(extract).ok())
            {
                return Ok(Fetched {
                    items: extract.items,
                    next: extract.next,
                    unchanged: true,
                    etag: None,
                });
            }
            // A 304 without a usable extract (kept by an older version): ask afresh.
            match client.get(url, None).await? {
                Answer::Fresh { headers, body } => (headers, body),
                Answer::NotModified => {
                    return Err(BackfillError::Payload {
                        url: url.to_owned(),
                        problem: "304 Not Modified to a request without If-None-Match".into(),
                    });
                }
            }
        }
    };
    let items: Vec<T> = parse_items(url, &body, shape)?;
    let next = next_page(url, &headers, paging)?;
    let etag = headers
        .get(header::ETAG)
        .and_then(|value| value.to_str().ok())
        .map(|etag| {
            let extract = ExtractRef {
                items: &items,
                next: next.as_deref(),
            };
            PageEtag {
                url: url.to_owned(),
                etag: etag.to_owned(),
                extract: serde_json::to_string(&extract).unwrap_or_else(|_| String::from("null")),
            }
        });
    Ok(Fetched {
        items,
        next,
        unchanged: false,
        etag,
    })
}

/// Every page of a list from `url` on: the items in order, and the pages' ETags.
pub(crate) async fn fetch_all<T: DeserializeOwned + Serialize>(
    client: &Client,
    etags: &PageCache,
    url: &str,
    shape: Shape,
    paging: Paging,
) -> Result<(Vec<T>, Vec<PageEtag>), BackfillError> {
    let mut items = Vec::new();
    let mut saved = Vec::new();
    let mut next = Some(url.to_owned());
    while let Some(url) = next {
        let page = fetch::<T>(client, etags, &url, shape, paging).await?;
        items.extend(page.items);
        saved.extend(page.etag);
        next = page.next;
    }
    Ok((items, saved))
}

/// Deserializes a JSON body, naming the place of a problem.
pub(crate) fn parse_body<T: DeserializeOwned>(url: &str, body: &[u8]) -> Result<T, BackfillError> {
    serde_json::from_slice(body).map_err(|err| BackfillError::Payload {
        url: url.to_owned(),
        problem: format!("line {}, column {}: {err}", err.line(), err.column()),
    })
}

fn parse_items<T: DeserializeOwned>(
    url: &str,
    body: &[u8],
    shape: Shape,
) -> Result<Vec<T>, BackfillError> {
    match shape {
        Shape::Array => parse_body(url, body),
        Shape::Field(field) => {
            let mut object: serde_json::Map<String, serde_json::Value> = parse_body(url, body)?;
            let value = object.remove(field).ok_or_else(|| BackfillError::Payload {
                url: url.to_owned(),
                problem: format!("no `{field}` field"),
            })?;
            serde_json::from_value(value).map_err(|err| BackfillError::Payload {
                url: url.to_owned(),
                problem: format!("`{field}`: {err}"),
            })
        }
    }
}

/// The next page's URL, if any.
fn next_page(
    url: &str,
    headers: &HeaderMap,
    paging: Paging,
) -> Result<Option<String>, BackfillError> {
    match paging {
        Paging::Link => Ok(headers
            .get(header::LINK)
            .and_then(|value| value.to_str().ok())
            .and_then(link_next)),
        Paging::NextPageHeader => {
            let page = headers
                .get("x-next-page")
                .and_then(|value| value.to_str().ok())
                .map(str::trim)
                .unwrap_or("");
            if page.is_empty() {
                return Ok(None);
            }
            if page.parse::<u64>().is_err() {
                return Err(BackfillError::Payload {
                    url: url.to_owned(),
                    problem: format!("X-Next-Page header {page:?} is not a page number"),
                });
            }
            Ok(Some(with_query(url, &[("page", page)])?))
        }
    }
}

/// The `rel="next"` target of a `Link` header.
pub(crate) fn link_next(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        params
            .split(';')
            .any(|param| {
                let param = param.trim().replace(' ', "");
                param == "rel=\"next\"" || param == "rel=next"
            })
            .then(|| target.to_owned())
    })
}

/// `url` with each `(name, value)` query parameter set, replacing any of the same name.
pub(crate) fn with_query(url: &str, params: &[(&str, &str)]) -> Result<String, BackfillError> {
    let mut parsed = Url::parse(url).map_err(|err| BackfillError::Invalid {
        what: "URL".into(),
        problem: format!("{url}: {err}"),
    })?;
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(name, _)| params.iter().all(|(set, _)| set != name))
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    {
        let mut query = parsed.query_pairs_mut();
        query.clear();
        for (name, value) in &kept {
            query.append_pair(name, value);
        }
        for (name, value) in params {
            query.append_pair(name, value);
        }
    }
    Ok(parsed.into())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn link_headers_never_panic(link in ".{0,200}") {
            let _ = link_next(&link);
        }

        #[test]
        fn bodies_are_parsed_or_refused_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_items::<serde_json::Value>("http://x.test/p", &body, Shape::Array);
            let _ = parse_items::<serde_json::Value>("http://x.test/p", &body, Shape::Field("commits"));
        }

        #[test]
        fn next_page_headers_never_panic(page in ".{0,20}") {
            let mut headers = HeaderMap::new();
            if let Ok(value) = reqwest::header::HeaderValue::from_str(&page) {
                headers.insert("x-next-page", value);
            }
            let _ = next_page("http://x.test/p?page=1", &headers, Paging::NextPageHeader);
        }
    }

    #[test]
    fn link_headers_name_the_next_page() {
        let link = "<https://api.github.com/repositories/1300192/issues?page=2>; rel=\"prev\", \
                    <https://api.github.com/repositories/1300192/issues?page=4>; rel=\"next\", \
                    <https://api.github.com/repositories/1300192/issues?page=515>; rel=\"last\"";
        assert_eq!(
            link_next(link).as_deref(),
            Some("https://api.github.com/repositories/1300192/issues?page=4")
        );
        assert_eq!(link_next("<https://x.test/a?page=1>; rel=\"first\""), None);
        assert_eq!(link_next(""), None);
        assert_eq!(link_next("garbage; rel=\"next\""), None);
    }

    #[test]
    fn query_parameters_are_replaced_not_repeated() {
        assert_eq!(
            with_query(
                "https://gitlab.test/api/v4/projects/1/pipelines?per_page=100&page=1",
                &[("page", "2")]
            )
            .unwrap(),
            "https://gitlab.test/api/v4/projects/1/pipelines?per_page=100&page=2"
        );
    }
}
