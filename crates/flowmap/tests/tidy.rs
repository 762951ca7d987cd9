//! The code's rules, checked on every `cargo test` (in the manner of rust-analyzer's
//! `tidy`): a rule that is only written down drifts; a failing test does not.
//!
//! - `flowmap-core` and `flowmap-render` stay pure: no I/O in their sources and no
//!   dependency that does I/O (or on the crates above them) in their manifests.
//! - Every Rust source file opens with a `//!` doc comment saying what it is.
//! - No source file grows past [`MAX_LINES`] lines: a file that long holds several jobs
//!   and should be split along its seams.
//! - Library code does not `.unwrap()`: outside tests, a failure is an error value or an
//!   `expect` that says why it cannot happen.
//! - Each crate's integration tests are one test binary (`tests/tests.rs` with a module
//!   per file), so every test file must be a module of it, or it would silently not run.

use std::fs;
use std::path::{Path, PathBuf};

/// The longest a source file may be, in lines.
const MAX_LINES: usize = 1200;

/// The crates that must not do I/O.
const PURE_CRATES: &[&str] = &["flowmap-core", "flowmap-render"];

/// Source text that means I/O (or a way to it) in a pure crate.
const IO_PATTERNS: &[&str] = &[
    "std::fs",
    "std::net",
    "std::process",
    "std::env",
    "std::io::stdin",
    "std::io::stdout",
    "std::thread::sleep",
    "println!",
    "eprintln!",
    "tokio",
    "sqlx",
    "reqwest",
    "hyper",
    "axum",
    "gix",
];

/// Dependencies a pure crate must not have.
const FORBIDDEN_DEPENDENCIES: &[&str] = &[
    "tokio",
    "sqlx",
    "reqwest",
    "hyper",
    "hyper-util",
    "axum",
    "tower",
    "gix",
    "tempfile",
    "flowmap-store",
    "flowmap-ingest",
    "flowmap-app",
    "flowmap-server",
    "flowmap",
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace root exists")
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn crate_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(workspace().join("crates"))
        .expect("crates/ exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    dirs.sort();
    dirs
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn relative(path: &Path) -> String {
    path.strip_prefix(workspace())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The dependency names of every `[dependencies]`-like table of a manifest (normal,
/// build and target-specific; dev-dependencies may do I/O, they are tests).
fn dependencies(manifest: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_dependencies = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            let header = line.trim_matches(|c| c == '[' || c == ']');
            if let Some(name) = header.strip_prefix("dependencies.") {
                // `[dependencies.name]`: the lines below are its keys, not dependencies.
                names.push(name.to_owned());
                in_dependencies = false;
            } else {
                in_dependencies = header == "dependencies"
                    || header == "build-dependencies"
                    || header.ends_with(".dependencies")
                    || header.ends_with(".build-dependencies");
            }
            continue;
        }
        if in_dependencies && let Some((name, _)) = line.split_once('=') {
            let name = name.trim().split('.').next().unwrap_or("").trim();
            if !name.is_empty() && !name.starts_with('#') {
                names.push(name.to_owned());
            }
        }
    }
    names
}

#[test]
fn pure_crates_do_no_io() {
    let mut problems = Vec::new();
    for name in PURE_CRATES {
        let dir = workspace().join("crates").join(name);
        for file in rust_files(&dir.join("src")) {
            for (number, line) in read(&file).lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for pattern in IO_PATTERNS {
                    if code.contains(pattern) {
                        problems.push(format!(
                            "{}:{}: `{pattern}` in a crate that must not do I/O",
                            relative(&file),
                            number + 1
                        ));
                    }
                }
            }
        }
        let manifest = dir.join("Cargo.toml");
        for dependency in dependencies(&read(&manifest)) {
            if FORBIDDEN_DEPENDENCIES.contains(&dependency.as_str()) {
                problems.push(format!(
                    "{}: depends on `{dependency}`, which a pure crate must not",
                    relative(&manifest)
                ));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn every_source_file_opens_with_a_doc_comment_and_stays_short() {
    let mut problems = Vec::new();
    for dir in crate_dirs() {
        for file in rust_files(&dir) {
            let text = read(&file);
            if !text.starts_with("//!") {
                problems.push(format!(
                    "{}: does not open with a `//!` doc comment saying what it is",
                    relative(&file)
                ));
            }
            let lines = text.lines().count();
            if lines > MAX_LINES {
                problems.push(format!(
                    "{}: {lines} lines, more than {MAX_LINES}: split it along its seams",
                    relative(&file)
                ));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn library_code_does_not_unwrap() {
    let mut problems = Vec::new();
    for dir in crate_dirs() {
        for file in rust_files(&dir.join("src")) {
            if file
                .file_name()
                .is_some_and(|n| n == "tests.rs" || n == "testing.rs")
            {
                continue;
            }
            let text = read(&file);
            // Unit tests sit at the end of a file, in its `#[cfg(test)]` module.
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            for (number, line) in code.lines().enumerate() {
                let trimmed = line.trim_start();
                if trimmed.starts_with("//") {
                    continue;
                }
                if line.contains(".unwrap()") {
                    problems.push(format!(
                        "{}:{}: `.unwrap()` in library code: return an error, or `expect` \
                         with the reason it cannot fail",
                        relative(&file),
                        number + 1
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn every_integration_test_file_is_part_of_the_one_test_binary() {
    let mut problems = Vec::new();
    for dir in crate_dirs() {
        let tests = dir.join("tests");
        let Ok(entries) = fs::read_dir(&tests) else {
            continue;
        };
        let root = tests.join("tests.rs");
        let root_text = fs::read_to_string(&root).unwrap_or_default();
        for entry in entries.flatten() {
            let path = entry.path();
            let module = if path.is_dir() {
                if !path.join("mod.rs").is_file() {
                    continue;
                }
                entry.file_name().to_string_lossy().into_owned()
            } else if path.extension().is_some_and(|e| e == "rs") {
                let stem = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if stem == "tests" {
                    continue;
                }
                stem
            } else {
                continue;
            };
            if !root_text.contains(&format!("mod {module};")) {
                problems.push(format!(
                    "{}: not a module of {} (add `mod {module};` there), so it would not run",
                    relative(&path),
                    relative(&root)
                ));
            }
        }
        let manifest = read(&dir.join("Cargo.toml"));
        if root.is_file() && !manifest.contains("autotests = false") {
            problems.push(format!(
                "{}: set `autotests = false` and one `[[test]]` for tests/tests.rs",
                relative(&dir.join("Cargo.toml"))
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn every_crate_inherits_the_workspace_lints() {
    let mut problems = Vec::new();
    for dir in crate_dirs() {
        let manifest = read(&dir.join("Cargo.toml"));
        if !manifest.contains("[lints]\nworkspace = true") {
            problems.push(format!(
                "{}: add `[lints]\\nworkspace = true`",
                relative(&dir.join("Cargo.toml"))
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn the_dependency_scanner_reads_every_kind_of_table() {
    let manifest = "[package]\nname = \"x\"\n[dependencies]\nfoo.workspace = true\nbar = \"1\"\n\
                    [dev-dependencies]\ntokio = \"1\"\n[target.'cfg(unix)'.dependencies]\nbaz = \"1\"\n\
                    [dependencies.qux]\nversion = \"1\"\n";
    assert_eq!(dependencies(manifest), ["foo", "bar", "baz", "qux"]);
}
