//! `flowmap import …` end to end: the real binary writing a real SQLite file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use flowmap_store::{Dataset, LoadQuery, RecordKind, Store};

struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path(name), text).unwrap();
    }

    fn db(&self) -> String {
        self.path("flowmap.db").display().to_string()
    }

    /// Creates the database with one imported deployment: `serve` only reads an existing
    /// database, never creates one.
    fn with_data(self) -> Workspace {
        self.write(
            "deployments.csv",
            "id,service,status,finished_at\nd1,shop,success,2026-03-01T12:00:00Z\n",
        );
        let out = self.import(&["deployments.csv"]);
        assert!(out.status.success(), "{out:?}");
        self
    }

    /// Runs `flowmap --db <db> import ARGS` in the workspace directory.
    fn import(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_flowmap"));
        command
            .args(["--db", &self.db(), "import"])
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("FLOWMAP_DB");
        command
    }

    fn load(&self) -> Dataset {
        self.with_store(|store| async move { store.load(&LoadQuery::default()).await.unwrap() })
    }

    fn with_store<T, F: Future<Output = T>>(&self, f: impl FnOnce(Store) -> F) -> T {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let store = Store::open(&self.db()).await.unwrap();
            f(store).await
        })
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const DEPLOYMENTS: &str = "\
id,service,status,finished_at,changes
d1,checkout,success,2026-03-01T12:00:00Z,c1;c2
d2,checkout,failure,2026-03-02T12:00:00Z,
";

const CHANGES: &str = r#"{"id":"c1","service":"checkout","committed_at":"2026-02-28T12:00:00Z"}
{"id":"c2","service":"checkout","committed_at":"2026-02-28T13:00:00+01:00","title":"Faster"}
"#;

#[test]
fn imports_report_what_they_did_and_are_idempotent() {
    let ws = Workspace::new();
    ws.write("deployments.csv", DEPLOYMENTS);
    ws.write("changes.ndjson", CHANGES);

    let out = ws.import(&["deployments.csv", "changes.ndjson"]);
    assert_eq!(stderr(&out), "");
    assert!(out.status.success());
    assert_eq!(
        stdout(&out),
        "deployments.csv: deployments: 2 inserted, 0 updated, 0 unchanged\n\
         changes.ndjson: changes: 2 inserted, 0 updated, 0 unchanged\n"
    );

    ws.write("changes.ndjson", &CHANGES.replace("Faster", "Much faster"));
    let out = ws.import(&["deployments.csv", "changes.ndjson"]);
    assert!(out.status.success());
    assert_eq!(
        stdout(&out),
        "deployments.csv: deployments: 0 inserted, 0 updated, 2 unchanged\n\
         changes.ndjson: changes: 0 inserted, 1 updated, 1 unchanged\n"
    );

    let data = ws.load();
    assert_eq!(data.deployments.len(), 2);
    assert_eq!(data.deployments[0].changes, vec!["c1", "c2"]);
    assert_eq!(data.changes[1].title.as_deref(), Some("Much faster"));
}

#[test]
fn a_file_with_a_bad_row_imports_nothing_and_exits_1() {
    let ws = Workspace::new();
    ws.write(
        "deployments.csv",
        &format!("{DEPLOYMENTS}d3,checkout,done,2026-03-03T12:00:00,\n"),
    );
    ws.write("changes.ndjson", CHANGES);
    let out = ws.import(&["deployments.csv", "changes.ndjson"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "deployments.csv:4: status: \"done\" is not one of success, failure\n\
         deployments.csv:4: finished_at: \"2026-03-03T12:00:00\" has no UTC offset; add one, e.g. 2026-03-01T12:00:00Z or +01:00\n\
         deployments.csv: nothing imported: 1 invalid row (fix the file, or pass --skip-invalid)\n"
    );
    // The other file is its own transaction and is imported.
    assert_eq!(
        stdout(&out),
        "changes.ndjson: changes: 2 inserted, 0 updated, 0 unchanged\n"
    );
    let data = ws.load();
    assert_eq!((data.deployments.len(), data.changes.len()), (0, 2));

    let out = ws.import(&["--skip-invalid", "deployments.csv"]);
    assert!(out.status.success());
    assert_eq!(
        stdout(&out),
        "deployments.csv: deployments: 2 inserted, 0 updated, 0 unchanged\n"
    );
    assert!(stderr(&out).ends_with("deployments.csv: skipped 1 invalid row\n"));
    assert_eq!(ws.load().deployments.len(), 2);
}

#[test]
fn unknown_columns_need_ignore_unknown_and_kind_can_be_given() {
    let ws = Workspace::new();
    ws.write(
        "export.csv",
        "id,service,started_at,team\ni1,checkout,2026-03-01T12:00:00Z,web\n",
    );
    let out = ws.import(&["export.csv"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("export.csv: cannot tell what the file holds"));

    let out = ws.import(&["--kind", "incidents", "export.csv"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with("export.csv:1: team: unknown column (expected: id, service, started_at,"),
        "{err}"
    );
    assert!(err.ends_with("export.csv: nothing imported\n"), "{err}");

    let out = ws.import(&[
        "--kind",
        "incidents",
        "--ignore-unknown",
        "--source",
        "pagerduty",
        "export.csv",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "export.csv: incidents: 1 inserted, 0 updated, 0 unchanged\n"
    );
    assert_eq!(ws.load().incidents[0].id, "i1");
}

#[test]
fn cdevents_build_one_record_per_subject_and_keep_the_events() {
    let ws = Workspace::new();
    let fixtures =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../flowmap-ingest/tests/fixtures/cdevents");
    let mut ndjson = String::new();
    for name in [
        "incident_detected.json",
        "incident_reported.json",
        "incident_resolved.json",
    ] {
        let event: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(fixtures.join(name)).unwrap()).unwrap();
        ndjson.push_str(&serde_json::to_string(&event).unwrap());
        ndjson.push('\n');
    }
    ws.write("cdevents.ndjson", &ndjson);
    let out = ws.import(&["--source", "monitoring", "cdevents.ndjson"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "cdevents.ndjson: incidents: 1 inserted, 2 updated, 0 unchanged\n"
    );
    let data = ws.load();
    assert_eq!(data.incidents.len(), 1);
    let incident = &data.incidents[0];
    assert_eq!(incident.severity.as_deref(), Some("medium"));
    assert_eq!(
        incident.title.as_deref(),
        Some("Response time above threshold of 100ms")
    );
    assert_eq!(
        incident.resolved_at,
        Some("2022-11-11T13:52:20.079Z".parse().unwrap())
    );

    let raw = ws.with_store(|store| async move {
        store
            .raw_records("monitoring", RecordKind::Incident, "incident-123")
            .await
            .unwrap()
    });
    let mut bodies: Vec<&str> = raw.iter().map(|r| r.body.as_str()).collect();
    bodies.sort();
    let mut expected: Vec<&str> = ndjson.lines().collect();
    expected.sort();
    assert_eq!(bodies, expected);

    // Importing the same events again changes nothing and keeps no second copy.
    let out = ws.import(&["--source", "monitoring", "cdevents.ndjson"]);
    assert_eq!(
        stdout(&out),
        "cdevents.ndjson: incidents: 0 inserted, 0 updated, 3 unchanged\n"
    );
}

/// Kills an import while it is writing a large file, then shows the database holds
/// all or nothing of that file and still works.
#[test]
fn a_killed_import_leaves_all_or_nothing_of_its_file() {
    let ws = Workspace::new();
    const ROWS: usize = 200_000;
    {
        let mut file =
            std::io::BufWriter::new(std::fs::File::create(ws.path("changes.ndjson")).unwrap());
        for i in 0..ROWS {
            writeln!(
                file,
                r#"{{"id":"c{i:07}","service":"svc-{}","committed_at":"2026-01-01T00:00:00Z","title":"change number {i}"}}"#,
                i % 7
            )
            .unwrap();
        }
    }
    ws.with_store(|store| async move { store.close().await });

    let mut child = ws
        .command(&["changes.ndjson"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1_500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the import finished before it could be killed; make the file larger"
    );
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();

    // The summary is printed only after the file's transaction commits, so it tells
    // which of "all" or "nothing" the database must hold.
    let committed = stdout(&output).contains("changes: 200000 inserted");
    let stored = ws.load().changes.len();
    assert_eq!(stored, if committed { ROWS } else { 0 });

    ws.write("changes.ndjson", CHANGES);
    let out = ws.import(&["changes.ndjson"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "changes.ndjson: changes: 2 inserted, 0 updated, 0 unchanged\n"
    );
    assert_eq!(ws.load().changes.len(), stored + 2);
}

#[test]
fn terminal_escapes_in_data_are_printed_escaped() {
    let ws = Workspace::new();
    // A service name carrying "clear screen" and a duplicate id: the error line quotes it.
    ws.write(
        "changes.csv",
        "id,service,committed_at\nc1,\u{1b}[2Jshop,2026-03-01T10:00:00Z\nc1,\u{1b}[2Jshop,2026-03-01T10:00:00Z\n",
    );
    let out = ws.import(&["changes.csv"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!stderr(&out).contains('\u{1b}'), "{:?}", stderr(&out));
    ws.write(
        "changes.csv",
        "id,service,committed_at\nc1,\u{1b}[2Jshop,2026-03-01T10:00:00Z\n",
    );
    // A header naming an unknown column with an escape sequence is quoted escaped.
    ws.write(
        "changes.csv",
        "id,service,committed_at,\u{1b}]8;;x\u{7}note\nc1,shop,2026-03-01T10:00:00Z,a\n",
    );
    let out = ws.import(&["changes.csv"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!stderr(&out).contains('\u{1b}'), "{:?}", stderr(&out));
    assert!(
        stderr(&out).contains("\\u{1b}]8;;x\\u{7}note"),
        "{}",
        stderr(&out)
    );
    ws.write(
        "changes.csv",
        "id,service,committed_at\nc1,\u{1b}[2Jshop,2026-03-01T10:00:00Z\n",
    );
    assert_eq!(ws.import(&["changes.csv"]).status.code(), Some(0));
    let dora = Command::new(env!("CARGO_BIN_EXE_flowmap"))
        .args([
            "--db",
            &ws.db(),
            "dora",
            "--since",
            "2026-02-01",
            "--until",
            "2026-04-01",
        ])
        .output()
        .unwrap();
    let text = stdout(&dora);
    assert!(
        !text.contains('\u{1b}') && text.contains("\\u{1b}[2Jshop"),
        "{text}"
    );
}

#[test]
fn two_first_time_imports_on_a_new_file_both_succeed() {
    // Their migrations raced (6 of 20 pairs failed with "table … already exists").
    for round in 0..5 {
        let ws = Workspace::new();
        ws.write(
            "changes.csv",
            "id,service,committed_at\nc1,shop,2026-03-01T10:00:00Z\n",
        );
        let children: Vec<_> = (0..2)
            .map(|_| {
                ws.command(&["changes.csv"])
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "round {round}: {}", stderr(&out));
        }
    }
}

fn token(ws: &Workspace, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flowmap"))
        .args(["--db", &ws.db(), "token"])
        .args(args)
        .env_remove("FLOWMAP_DB")
        .output()
        .unwrap()
}

#[test]
fn tokens_are_created_once_listed_and_revoked() {
    let ws = Workspace::new();
    let out = token(
        &ws,
        &["create", "ci-bot", "--role", "editor", "--expires", "90d"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let secret = stdout(&out).trim().to_owned();
    assert!(secret.starts_with("fm_") && secret.len() == 67, "{secret}");
    // Only the digest is stored.
    let raw = std::fs::read(ws.path("flowmap.db")).unwrap();
    assert!(!raw.windows(secret.len()).any(|w| w == secret.as_bytes()));

    let list = stdout(&token(&ws, &["list"]));
    assert!(
        list.contains("ci-bot") && list.contains("editor") && list.contains("active"),
        "{list}"
    );
    assert!(!list.contains(&secret));
    // Names are unique, roles are checked.
    assert_eq!(
        token(&ws, &["create", "ci-bot", "--role", "viewer"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        token(&ws, &["create", "x", "--role", "owner"])
            .status
            .code(),
        Some(2)
    );

    assert!(token(&ws, &["revoke", "ci-bot"]).status.success());
    assert!(stdout(&token(&ws, &["list"])).contains("revoked"));
    assert_eq!(token(&ws, &["revoke", "ci-bot"]).status.code(), Some(1));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn healthz(port: u16) -> bool {
    use std::io::Read;
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ =
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    reply.starts_with("HTTP/1.1 200")
}

#[test]
fn serving_beyond_loopback_needs_authentication() {
    let ws = Workspace::new().with_data();
    let out = Command::new(env!("CARGO_BIN_EXE_flowmap"))
        .args(["--db", &ws.db(), "serve", "--addr", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("refusing to serve on 0.0.0.0:0 without authentication"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn sigterm_and_sigint_stop_the_server_cleanly_despite_idle_connections() {
    for signal in ["-TERM", "-INT"] {
        let ws = Workspace::new().with_data();
        let port = free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_flowmap"))
            .args([
                "--db",
                &ws.db(),
                "serve",
                "--addr",
                &format!("127.0.0.1:{port}"),
            ])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while !healthz(port) {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // An idle keep-alive connection used to hold SIGINT forever.
        let _idle = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let stopped_at = std::time::Instant::now();
        let killed = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(
                stopped_at.elapsed() < Duration::from_secs(20),
                "{signal}: still running"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_eq!(status.code(), Some(0), "{signal}");
        eprintln!("{signal}: stopped in {:?}", stopped_at.elapsed());
    }
}

#[test]
fn serve_closes_a_stalled_connection_after_the_header_timeout() {
    use std::io::{Read as _, Write as _};
    let ws = Workspace::new().with_data();
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_flowmap"))
        .args([
            "--db",
            &ws.db(),
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--header-timeout",
            "1",
            "--max-connections",
            "8",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !healthz(port) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Half a request line, then nothing: the server closes the connection after 1 s.
    let mut stalled = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stalled.write_all(b"GET /healthz HT").unwrap();
    stalled
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let sent = std::time::Instant::now();
    let mut rest = Vec::new();
    let read = stalled.read_to_end(&mut rest);
    let waited = sent.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    assert!(read.is_ok(), "not closed within 10 s: {read:?}");
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(4),
        "closed after {waited:?}"
    );

    // Limits that make no sense are usage errors.
    for (flag, value) in [("--header-timeout", "0"), ("--max-connections", "0")] {
        let out = Command::new(env!("CARGO_BIN_EXE_flowmap"))
            .args(["--db", &ws.db(), "serve", flag, value])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
    }
}

#[test]
fn a_database_that_cannot_be_opened_is_named_once_without_its_password() {
    let work = Workspace::new();
    work.write(
        "deployments.csv",
        "id,service,status,finished_at\nd1,shop,success,2026-03-01T12:00:00Z\n",
    );
    let missing_dir = work.path("no-such-dir/flowmap.db").display().to_string();
    for (db, named) in [
        (missing_dir.as_str(), missing_dir.as_str()),
        (
            "postgres://flowmap:hunter2@127.0.0.1:1/flowmap",
            "postgres://flowmap:***@127.0.0.1:1/flowmap",
        ),
    ] {
        for args in [&["import", "deployments.csv"][..], &["token", "list"][..]] {
            let out = Command::new(env!("CARGO_BIN_EXE_flowmap"))
                .args(["--db", db])
                .args(args)
                .current_dir(work.dir.path())
                .env_remove("FLOWMAP_DB")
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{args:?} {stderr}");
            assert!(
                stderr.starts_with(&format!("error: cannot open the database at {named}: ")),
                "{args:?} {stderr}"
            );
            assert_eq!(stderr.matches(named).count(), 1, "{args:?} {stderr}");
            assert!(!stderr.contains("hunter2"), "{args:?} {stderr}");
        }
    }
}
