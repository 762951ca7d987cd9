//! The import page: upload one file of deployments, changes, incidents or CDEvents and
//! see what was imported, or every problem as `FILE:LINE: field: problem`.

use askama::Template;
use axum::Extension;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use flowmap_app::Actor;
use flowmap_app::import::{ImportFile, Imported};
use flowmap_ingest::import::{FileKind, Format, Options};

use super::{PageResult, page, with_status};
use crate::AppState;
use crate::error::ApiError;

struct ImportReport {
    file: String,
    imported: bool,
    summary: String,
    counts: Vec<String>,
    problems: Vec<String>,
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    title: String,
    nav: &'static str,
    report: Option<ImportReport>,
}

pub async fn import_form() -> PageResult {
    Ok(page(&ImportPage {
        title: "Import".into(),
        nav: "import",
        report: None,
    }))
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
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|err| ApiError::bad_request(err.body_text()))?
    {
        let name = field.name().unwrap_or("").to_owned();
        if name == "file" {
            file_name = field.file_name().unwrap_or("upload").to_owned();
        }
        let bytes = field
            .bytes()
            .await
            .map_err(|err| ApiError::bad_request(err.body_text()))?;
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
            _ => {}
        }
    }
    let report = import_file(&state, &actor, file_name, body, kind, skip_invalid).await?;
    let status = if report.imported {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let response = page(&ImportPage {
        title: "Import".into(),
        nav: "import",
        report: Some(report),
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
) -> Result<ImportReport, ApiError> {
    let failed = |file: String, summary: String, problems: Vec<String>| ImportReport {
        file,
        imported: false,
        summary,
        counts: Vec::new(),
        problems,
    };
    let path = std::path::Path::new(&file_name);
    let Some(kind) = kind.or_else(|| FileKind::from_path(path)) else {
        return Ok(failed(
            file_name,
            "cannot tell what the file holds from its name: choose what it holds".into(),
            Vec::new(),
        ));
    };
    let Some(format) = Format::from_path(path) else {
        return Ok(failed(
            file_name,
            "unknown file type: use .csv, .json, .ndjson or .jsonl".into(),
            Vec::new(),
        ));
    };
    let file = ImportFile {
        kind,
        format,
        source: "import".into(),
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
        ),
        Imported::InvalidRows { invalid } => failed(
            file_name,
            format!(
                "nothing imported: {invalid} invalid {} (fix them, or import the good rows only)",
                rows_word(invalid)
            ),
            problems,
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
            let skipped = if skipped > 0 {
                format!(", {skipped} invalid {} skipped", rows_word(skipped))
            } else {
                String::new()
            };
            ImportReport {
                file: file_name,
                imported: true,
                summary: format!("imported{skipped}"),
                counts,
                problems,
            }
        }
    })
}

fn rows_word(n: u64) -> &'static str {
    if n == 1 { "row" } else { "rows" }
}
