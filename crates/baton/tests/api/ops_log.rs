//! The operations log of the real binary, written to a pipe (not a terminal): plain text
//! without colour codes, or JSON lines with `--log-format json`; the interaction and
//! hand-off events appear with their fields, failed logins by username, never content.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::helpers::*;
use crate::process::{INGRESS, write_config};
use crate::transfers::DATA;

/// `baton serve` with stderr on a pipe that a thread collects.
struct Logged {
    child: Child,
    app: TestApp,
    log: Arc<Mutex<String>>,
}

async fn start(dir: &tempfile::TempDir, format: &str) -> Logged {
    let config = write_config(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args([
            "--log-format",
            format,
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--config",
        ])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("baton binary runs");
    let log = Arc::new(Mutex::new(String::new()));
    let mut stderr = child.stderr.take().unwrap();
    let sink = log.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let stdout = child.stdout.take().unwrap();
    let addr = tokio::task::spawn_blocking(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        loop {
            line.clear();
            assert!(reader.read_line(&mut line).unwrap() > 0, "baton exited");
            if let Some(addr) = line.trim().strip_prefix("Baton listening on http://") {
                return addr.to_owned();
            }
        }
    })
    .await
    .unwrap();
    Logged {
        child,
        app: TestApp::external(addr.parse().unwrap()),
        log,
    }
}

/// A chat handed from alice to bob with [`DATA`], completed by bob, and a failed login.
async fn a_day(app: &TestApp) {
    let tenant = Tenant {
        name: "acme".into(),
        ingress: INGRESS.into(),
    };
    let mut alice = app.agent("acme", "alice", Some("crm")).await;
    let mut bob = app.agent("acme", "bob", Some("crm")).await;
    alice.ready().await;
    let (id, _) = app.customer(&tenant, "chat", "Sales", "Carl").await;
    alice.accept_next().await;
    alice
        .client
        .blind_transfer("bob", Some(DATA), Some(&id))
        .await
        .unwrap();
    bob.expect("ON_LOAD_TRANSFER_DATA").await;
    bob.client.accept_interaction(Some(&id)).await.unwrap();
    bob.client.complete_interaction(Some(&id)).await.unwrap();
    let (s, _) = app
        .post(
            "/api/v1/sessions",
            None,
            json!({"tenant": "acme", "username": "mallory", "password": "guess-1234"}),
        )
        .await;
    assert_eq!(s, 401);
}

/// Waits until the log holds `needle` (the writer thread may lag the requests).
async fn wait_for(log: &Arc<Mutex<String>>, needle: &str) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let text = log.lock().unwrap().clone();
        if text.contains(needle) {
            return text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {needle:?} in the log:\n{text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

fn stop(mut server: Logged) {
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}

#[tokio::test]
async fn text_logs_on_a_pipe_have_no_colour_and_name_every_step() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir, "text").await;
    a_day(&server.app).await;
    let text = wait_for(&server.log, "login_failed").await;
    let text = wait_for(&server.log, "interaction_completed")
        .await
        .max(text);
    stop(server);
    assert!(
        !text.contains('\u{1b}'),
        "ANSI escapes in a piped log:\n{text}"
    );
    for needle in [
        "event=\"interaction_created\"",
        "event=\"offered\"",
        "event=\"accepted\"",
        "kind=\"blind\"",
        "bytes=",
        "event=\"interaction_completed\"",
        "username=mallory",
    ] {
        assert!(text.contains(needle), "no {needle} in:\n{text}");
    }
    assert!(!text.contains("C-1042"), "transfer data in the log");
    assert!(!text.contains("guess-1234"), "a password in the log");
}

#[tokio::test]
async fn json_logs_are_one_object_per_line_with_the_events_and_no_content() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir, "json").await;
    a_day(&server.app).await;
    wait_for(&server.log, "login_failed").await;
    let text = wait_for(&server.log, "interaction_completed").await;
    stop(server);
    let lines: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let event =
        |name: &str| -> Vec<&Value> { lines.iter().filter(|l| l["event"] == name).collect() };
    let created = event("interaction_created");
    assert_eq!(created.len(), 1, "{text}");
    assert_eq!(created[0]["service"], "Sales");
    assert_eq!(created[0]["channel"], "chat");
    assert!(event("offered").iter().any(|l| l["agent"] == "alice"));
    assert!(
        event("offered")
            .iter()
            .any(|l| l["agent"] == "bob" && l["via"] == "blind")
    );
    assert_eq!(event("accepted").len(), 2, "{text}");
    let transfer = event("transfer");
    let done = transfer
        .iter()
        .find(|l| l["phase"] == "accepted")
        .unwrap_or_else(|| panic!("no accepted transfer in {transfer:?}"));
    assert_eq!(done["kind"], "blind");
    assert_eq!(done["bytes"], DATA.len());
    assert_eq!(done["from"], "alice");
    assert_eq!(event("interaction_completed").len(), 1);
    let failed = event("login_failed");
    assert_eq!(failed[0]["username"], "mallory");
    assert!(!text.contains("C-1042"), "transfer data in the log");
    assert!(!text.contains("guess-1234"), "a password in the log");
}
