//! The import page: upload one file of deployments, changes, incidents or CDEvents and
//! see what was imported, or every problem as `FILE:LINE: field: problem`.

use askama::Template;
use axum::Extension;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use flowmap_app::Actor;
use flowmap_app::import::{ImportFile, Imported};
use flowmap_ingest::import::{
    CHANGE_FIELDS, DEPLOYMENT_FIELDS, FileKind, Format, INCIDENT_FIELDS, Options,
};

use super::{PageError, PageResult, page, with_status};
use crate::AppState;
use crate::error::ApiError;

struct ImportReport {
    file: String,
    imported: bool,
    summary: String,
    counts: Vec<String>,
    problems: Vec<String>,
    /// How many rows the problems are in (a row can have several).
    rows_with_problems: u64,
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    title: String,
    nav: &'static str,
    report: Option<ImportReport>,
    /// The source name the form is filled with: the last one used, or `import`.
    source: String,
}

/// The source records imported from this page are stored under unless another is named.
const DEFAULT_SOURCE: &str = "import";

pub async fn import_form() -> PageResult {
    Ok(page(&ImportPage {
        title: "Import".into(),
        nav: "import",
        report: None,
        source: DEFAULT_SOURCE.into(),
    }))
}

/// `GET /import/templates/{kind}.csv`: an empty CSV file with the header row of one
/// record kind (required columns first), to fill in and upload.
pub async fn import_template(Path(file): Path<String>) -> Result<Response, PageError> {
    let (kind, fields) = match file.as_str() {
        "deployments.csv" => ("deployments", DEPLOYMENT_FIELDS),
        "changes.csv" => ("changes", CHANGE_FIELDS),
        "incidents.csv" => ("incidents", INCIDENT_FIELDS),
        _ => {
            return Err(ApiError::not_found(format!(
                "no template {file:?}: there are deployments.csv, changes.csv and incidents.csv"
            ))
            .into());
        }
    };
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{kind}.csv\""),
            ),
        ],
        format!("{}\n", fields.join(",")),
    )
        .into_response())
}

/// Imports one uploaded file as `flowmap import` would (source `import`), and shows
/// the per-row report: every bad row as `FILE:LINE: field: problem`.
pub async fn import_upload(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    mut form: Multipart,
) -> PageResult {
    let mut file_name = String::new();
    let mut body: Vec<u8> = Vec::new();
    let mut kind: Option<FileKind> = None;
    let mut skip_invalid = false;
    let mut source = DEFAULT_SOURCE.to_owned();
    while let Some(field) = form.next_field().await.map_err(ApiError::from)? {
        let name = field.name().unwrap_or("").to_owned();
        if name == "file" {
            file_name = field.file_name().unwrap_or("upload").to_owned();
        }
        let bytes = field.bytes().await.map_err(ApiError::from)?;
        match name.as_str() {
            "file" => body = bytes.to_vec(),
            "kind" => {
                kind = match &bytes[..] {
                    b"deployments" => Some(FileKind::Deployments),
                    b"changes" => Some(FileKind::Changes),
                    b"incidents" => Some(FileKind::Incidents),
                    b"cdevents" => Some(FileKind::CdEvents),
                    _ => None,
                }
            }
            "skip_invalid" => skip_invalid = !bytes.is_empty(),
            "source" => {
                let named = String::from_utf8_lossy(&bytes).trim().to_owned();
                if !named.is_empty() {
                    source = named;
                }
            }
            _ => {}
        }
    }
    let report = import_file(&state, &actor, file_name, body, kind, skip_invalid, &source).await?;
    let status = if report.imported {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let response = page(&ImportPage {
        title: "Import".into(),
        nav: "import",
        report: Some(report),
        source,
    });
    Ok(with_status(response, status))
}

async fn import_file(
    state: &AppState,
    actor: &Actor,
    file_name: String,
    body: Vec<u8>,
    kind: Option<FileKind>,
    skip_invalid: bool,
    source: &str,
) -> Result<ImportReport, ApiError> {
    let failed = |file: String, summary: String, problems: Vec<String>, rows: u64| ImportReport {
        file,
        imported: false,
        summary,
        counts: Vec::new(),
        problems,
        rows_with_problems: rows,
    };
    let path = std::path::Path::new(&file_name);
    let Some(kind) = kind.or_else(|| FileKind::from_path(path)) else {
        return Ok(failed(
            file_name,
            "cannot tell what the file holds from its name: choose what it holds".into(),
            Vec::new(),
            0,
        ));
    };
    let Some(format) = Format::from_path(path) else {
        return Ok(failed(
            file_name,
            "unknown file type: use .csv, .json, .ndjson or .jsonl".into(),
            Vec::new(),
            0,
        ));
    };
    let file = ImportFile {
        kind,
        format,
        source: source.to_owned(),
        options: Options::default(),
        skip_invalid,
    };
    let mut problems = Vec::new();
    let outcome = state
        .app()
        .import(actor, &file, std::io::Cursor::new(body), &mut |p| {
            problems.push(p.in_file(&file_name))
        })
        .await?;
    Ok(match outcome {
        Imported::Unreadable => failed(
            file_name,
            "nothing imported: the file could not be read to the end".into(),
            problems,
            0,
        ),
        Imported::InvalidRows { invalid } => failed(
            file_name,
            format!(
                "nothing imported: {invalid} invalid {} (fix them, or import the good rows only)",
                rows_word(invalid)
            ),
            problems,
            invalid,
        ),
        Imported::Written { summary, skipped } => {
            let counts = [
                ("deployments", summary.deployments),
                ("changes", summary.changes),
                ("incidents", summary.incidents),
            ]
            .into_iter()
            .filter(|(_, c)| c.total() > 0)
            .map(|(label, c)| {
                format!(
                    "{label}: {} inserted, {} updated, {} unchanged",
                    c.inserted, c.updated, c.unchanged
                )
            })
            .collect();
            let skipped_text = if skipped > 0 {
                format!(", {skipped} invalid {} skipped", rows_word(skipped))
            } else {
                String::new()
            };
            ImportReport {
                file: file_name,
                imported: true,
                summary: format!("imported into source {source:?}{skipped_text}"),
                counts,
                problems,
                rows_with_problems: skipped,
            }
        }
    })
}

fn rows_word(n: u64) -> &'static str {
    if n == 1 { "row" } else { "rows" }
}
