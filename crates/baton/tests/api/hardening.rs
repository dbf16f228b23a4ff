//! Running for real (issue 12): one process per data directory, bounded logins, a dead
//! engine noticed, sessions that end, oversized input answered on its own id.

use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::process::{start, write_config};
use crate::transfers::DATA;

#[tokio::test]
async fn a_second_server_on_the_same_data_directory_refuses_to_start_naming_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = start(&dir, None).await;
    let config = write_config(dir.path());
    let second = tokio::task::spawn_blocking({
        let data = dir.path().join("data");
        move || {
            Command::new(env!("CARGO_BIN_EXE_baton"))
                .args(["serve", "--listen", "127.0.0.1:0", "--config"])
                .arg(&config)
                .arg("--data-dir")
                .arg(&data)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "the second server started");
    assert!(
        !String::from_utf8_lossy(&second.stdout).contains("Baton listening"),
        "the second server listened"
    );
    assert!(
        stderr.contains(&format!(
            "in use by another Baton process (pid {})",
            first.child.id()
        )),
        "{stderr}"
    );
    // The owner goes on serving.
    let (status, _) = first.app.get("/healthz", None).await;
    assert_eq!(status, 200);
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    // Once the owner is gone (even by SIGKILL), the directory can be taken again.
    let mut again = start(&dir, None).await;
    assert_eq!(again.app.get("/healthz", None).await.0, 200);
    again.child.kill().unwrap();
    again.child.wait().unwrap();
}

/// `VmRSS` in KiB and `Threads` of a process, from `/proc/<pid>/status`.
fn rss_and_threads(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
    };
    (field("VmRSS:"), field("Threads:"))
}

/// 300 concurrent failed logins, each from its own loopback address with a random username,
/// while alice hands a chat to bob. Memory stays under 40 MiB plus 24 MiB per password
/// thread (argon2id needs 19 MiB each), threads under twice the cores plus 24, every flood
/// answer is 401 or 429, and the hand-off completes with its data.
#[tokio::test]
async fn a_login_flood_from_many_names_and_addresses_stays_bounded_while_a_handoff_completes() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(&dir, None).await;
    let pid = server.child.id();
    let app = &server.app;
    let tenant = crate::helpers::Tenant {
        name: "acme".into(),
        ingress: crate::process::INGRESS.into(),
    };
    let mut alice = app.agent("acme", "alice", Some("crm")).await;
    let mut bob = app.agent("acme", "bob", Some("crm")).await;
    alice.ready().await;
    let (interaction, _) = app.customer(&tenant, "chat", "Sales", "Carl").await;
    alice.accept_next().await;
    let (rss_before, threads_before) = rss_and_threads(pid);

    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = tokio::spawn({
        let done = done.clone();
        async move {
            let mut max = (0, 0);
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let (rss, threads) = rss_and_threads(pid);
                max = (max.0.max(rss), max.1.max(threads));
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            max
        }
    });
    let url = format!("{}/api/v1/sessions", app.base);
    let flood = (0..300u32).map(|i| {
        let url = url.clone();
        async move {
            let [_, _, hi, lo] = (i + 2).to_be_bytes();
            let client = reqwest::Client::builder()
                .local_address(std::net::IpAddr::from([127, 0, 1 + hi, lo]))
                .build()
                .unwrap();
            let name: String = format!("nobody-{i}-{}", baton_server::auth::new_token());
            let resp = client
                .post(&url)
                .json(&json!({"tenant": "acme", "username": name, "password": "wrong"}))
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap();
            (status, body["error"]["code"].clone())
        }
    });
    let handoff = async {
        let transfer = alice
            .client
            .blind_transfer("bob", Some(DATA), Some(&interaction))
            .await
            .unwrap();
        assert_eq!(bob.expect("ON_LOAD_TRANSFER_DATA").await.raw(1), Some(DATA));
        transfer
    };
    let (answers, transfer) = tokio::join!(futures_util::future::join_all(flood), handoff);
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let (max_rss, max_threads) = sampler.await.unwrap();
    assert!(!transfer.is_empty());

    let refused = answers.iter().filter(|a| a.0 == 429).count();
    for (status, code) in &answers {
        assert!(
            (*status == 401 && *code == json!(109)) || (*status == 429 && *code == json!(22)),
            "flood answer {status} {code}"
        );
    }
    let cores = std::thread::available_parallelism().unwrap().get() as u64;
    let rss_bound = 40 * 1024 + cores * 24 * 1024;
    let threads_bound = 2 * cores + 24;
    eprintln!(
        "before: {rss_before} KiB, {threads_before} threads; flood max: {max_rss} KiB, {max_threads} threads; {refused} of 300 answered 429"
    );
    assert!(
        max_rss < rss_bound,
        "RSS {max_rss} KiB over {rss_bound} KiB"
    );
    assert!(
        max_threads <= threads_bound,
        "{max_threads} threads over {threads_bound}"
    );
    // Logins still work after the flood.
    app.login("acme", "carol").await;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}

#[tokio::test]
async fn login_names_and_passwords_longer_than_creation_allows_are_refused_before_any_work() {
    let app = crate::helpers::spawn_app().await;
    app.tenant("acme", &[("alice", "1001")]).await;
    let long = "u".repeat(201);
    let huge = "p".repeat(512 * 1024);
    for body in [
        json!({"tenant": "acme", "username": long, "password": "x"}),
        json!({"tenant": long, "username": "alice", "password": "x"}),
        json!({"tenant": "acme", "username": "alice", "password": huge}),
    ] {
        let (s, b) = app.post("/api/v1/sessions", None, body).await;
        assert_eq!((s, b["error"]["code"].clone()), (400, json!(3)), "{b}");
    }
    // 200 characters (not bytes) is still a name: it is checked, and simply unknown.
    let (s, b) = app
        .post(
            "/api/v1/sessions",
            None,
            json!({"tenant": "acme", "username": "é".repeat(200), "password": "x"}),
        )
        .await;
    assert_eq!((s, b["error"]["code"].clone()), (401, json!(109)), "{b}");
    app.login("acme", "alice").await;
}

#[tokio::test]
async fn failed_logins_lock_out_the_guessing_address_but_successes_never_count() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = crate::helpers::settings(dir.path());
    s.limits.login_attempts_per_minute = 3;
    let app = crate::helpers::spawn_with(dir, s).await;
    app.tenant("acme", &[("alice", "1001"), ("bob", "1002")])
        .await;
    // Many successful logins do not lock anyone out.
    for _ in 0..12 {
        app.login("acme", "bob").await;
    }
    let wrong = json!({"tenant": "acme", "username": "alice", "password": "bad"});
    for _ in 0..3 {
        assert_eq!(
            app.post("/api/v1/sessions", None, wrong.clone()).await.0,
            401
        );
    }
    let (s, b) = app.post("/api/v1/sessions", None, wrong).await;
    assert_eq!((s, b["error"]["code"].clone()), (429, json!(22)));
    // From another address alice still logs in: one guesser cannot lock her out.
    let other = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let resp = other
        .post(format!("{}/api/v1/sessions", app.base))
        .json(&json!({"tenant": "acme", "username": "alice", "password": crate::helpers::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
}

/// The test is the supervisor: it started the process and sees it end, non-zero, with the
/// reason in the log.
#[tokio::test]
async fn a_panic_in_the_engine_ends_the_process_with_status_70_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("baton.log");
    let mut server =
        crate::process::start_with(&dir, Some(&log), &[("BATON_TEST_FAULTS", "1")]).await;
    let (s, _) = server
        .app
        .post(
            "/api/v1/admin/debug/engine-panic",
            Some(crate::helpers::ADMIN),
            json!({}),
        )
        .await;
    assert_eq!(s, 202);
    let status = tokio::task::spawn_blocking(move || server.child.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(70), "{status:?}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("the engine panicked: injected fault") && text.contains("the engine stopped"),
        "{text}"
    );
}

#[tokio::test]
async fn without_test_faults_there_is_no_fault_route() {
    let app = crate::helpers::spawn_app().await;
    let resp = app
        .http
        .post(format!("{}/api/v1/admin/debug/engine-panic", app.base))
        .bearer_auth(crate::helpers::ADMIN)
        .send()
        .await
        .unwrap();
    // No such route (the static pages' fallback answers 405 to a POST).
    assert!(
        matches!(resp.status().as_u16(), 404 | 405),
        "{}",
        resp.status()
    );
    assert_eq!(app.get("/healthz", None).await.0, 200);
}

/// Embedded without the exit (a library user's choice), a dead engine shows on `/healthz`.
#[tokio::test]
async fn healthz_reports_a_dead_engine() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = crate::helpers::settings(dir.path());
    s.exit_on_engine_failure = false;
    s.test_faults = true;
    let app = crate::helpers::spawn_with(dir, s).await;
    assert_eq!(app.get("/healthz", None).await.0, 200);
    let (s, _) = app
        .post(
            "/api/v1/admin/debug/engine-panic",
            Some(crate::helpers::ADMIN),
            json!({}),
        )
        .await;
    assert_eq!(s, 202);
    let deadline = tokio::time::Instant::now() + crate::helpers::WAIT;
    loop {
        let resp = app
            .http
            .get(format!("{}/healthz", app.base))
            .send()
            .await
            .unwrap();
        if resp.status().as_u16() == 503 {
            assert_eq!(resp.text().await.unwrap(), "engine dead");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "healthz still ok");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn hello_error(app: &crate::helpers::TestApp, token: &str) -> Option<u32> {
    match baton_client::connect(&app.ws_url(), baton_client::ConnectOptions::new(token)).await {
        Ok(_) => None,
        Err(e) => Some(e.api().map_or(0, |a| a.code)),
    }
}

/// A second login replaces the first in the same transaction: SIGKILL right after it, and
/// after the restart only the new token opens a socket.
#[tokio::test]
async fn a_crash_right_after_a_second_login_leaves_no_old_token_valid() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(&dir, None).await;
    let first = server.app.login("acme", "alice").await;
    let _socket = server
        .app
        .connect(first.clone(), None, baton_client::ConnectOptions::new(""))
        .await;
    let second = server.app.login("acme", "alice").await;
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    let mut server = start(&dir, None).await;
    assert_eq!(hello_error(&server.app, &first).await, Some(111));
    server
        .app
        .connect(second, None, baton_client::ConnectOptions::new(""))
        .await;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}

/// A socket whose session expires is told (`ON_SERVER_ERROR` 111), logged out and closed;
/// the token opens nothing afterwards, and the purge deletes its row.
#[tokio::test]
async fn an_open_socket_is_closed_when_its_session_expires_and_the_session_is_purged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let mut s = crate::helpers::settings(dir.path());
    s.session_ttl_secs = 2;
    s.purge_interval_secs = 1;
    let app = crate::helpers::spawn_with(dir, s).await;
    app.tenant("acme", &[("alice", "1001")]).await;
    let mut alice = app.agent("acme", "alice", None).await;
    let error = alice.expect("ON_SERVER_ERROR").await;
    assert_eq!(error.arg(0)["code"], 111, "{:?}", error.args);
    assert_eq!(error.arg(0)["name"], "invalid_token");
    alice.expect("ON_LOGOUT").await;
    let deadline = tokio::time::Instant::now() + crate::helpers::WAIT;
    loop {
        match tokio::time::timeout_at(deadline, alice.events.next()).await {
            Ok(None) => break,
            Ok(Some(_)) => continue,
            Err(_) => panic!("the socket stayed open after its session expired"),
        }
    }
    assert_eq!(hello_error(&app, &alice.token).await, Some(111));
    let store = baton_store::SqliteStore::open(&path).unwrap();
    let hash = baton_server::auth::token_hash(&alice.token);
    loop {
        use baton_store::Store;
        if store.session(&hash).unwrap().is_none() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "expired session never purged"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// A tenant whose frames may be 4 KiB and transfer data 1000 bytes.
async fn small_frames() -> (crate::helpers::TestApp, crate::helpers::Tenant) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = crate::helpers::settings(dir.path());
    s.limits.max_frame_bytes = 4096;
    let app = crate::helpers::spawn_with(dir, s).await;
    let t = app
        .tenant("acme", &[("alice", "1001"), ("bob", "1002")])
        .await;
    app.settings(
        "acme",
        json!({"transferDataMaxBytes": 1000, "transferDataTimeoutMs": 30000}),
    )
    .await;
    (app, t)
}

#[tokio::test]
async fn an_oversized_request_is_answered_on_its_own_id() {
    let (app, t) = small_frames().await;
    let mut alice = app.agent("acme", "alice", Some("crm")).await;
    let _bob = app.agent("acme", "bob", Some("crm")).await;
    alice.ready().await;
    let (id, _) = app.customer(&t, "chat", "Sales", "Carl").await;
    alice.accept_next().await;
    let big = format!("{{\"note\":\"{}\"}}", "z".repeat(6000));
    let err = alice
        .client
        .blind_transfer("bob", Some(&big), Some(&id))
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        Some(baton_protocol::ErrorCode::PayloadTooLarge),
        "{err}"
    );
    // The socket goes on.
    alice.client.get_agent_state().await.unwrap();
}

#[tokio::test]
async fn an_oversized_handler_answer_is_recorded_as_too_large_at_once() {
    let (app, t) = small_frames().await;
    let token = app.login("acme", "alice").await;
    let big = format!("\"{}\"", "y".repeat(6000));
    let options = baton_client::ConnectOptions::new(token.clone())
        .integration_key("crm")
        .on_request_transfer_data(move |_, _| {
            let big = big.clone();
            async move { baton_client::DataAnswer::Value(big) }
        });
    let mut alice = app.connect_with(token, options).await;
    let mut bob = app.agent("acme", "bob", Some("crm")).await;
    alice.ready().await;
    let (id, _) = app.customer(&t, "chat", "Sales", "Carl").await;
    alice.accept_next().await;
    alice
        .client
        .blind_transfer("bob", None, Some(&id))
        .await
        .unwrap();
    // The collection deadline is 30 s, beyond the 10 s this waits: only an answer at once
    // passes.
    let offered = alice.expect_status("offered").await;
    assert_eq!(offered["outcomes"][0]["outcome"], "too_large", "{offered}");
    bob.expect("ON_NEW_INTERACTION").await;
}

#[tokio::test]
async fn a_frame_over_twice_the_limit_closes_the_socket_with_1009() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let (app, _) = small_frames().await;
    let token = app.login("acme", "alice").await;
    let (mut ws, _) = tokio_tungstenite::connect_async(app.ws_url())
        .await
        .unwrap();
    ws.send(Message::text(
        json!({"op": "hello", "args": {"token": token}}).to_string(),
    ))
    .await
    .unwrap();
    let huge = format!(
        r#"{{"id":3,"op":"addNote","args":["{}"]}}"#,
        "n".repeat(20_000)
    );
    ws.send(Message::text(huge)).await.unwrap();
    let code = loop {
        match tokio::time::timeout(crate::helpers::WAIT, ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => break frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
            other => panic!("no close frame: {other:?}"),
        }
    };
    assert_eq!(code, Some(1009));
}

// ----- admin: agents, sessions, ingress tokens -------------------------------------------

use crate::helpers::{ADMIN, PASSWORD};

async fn patch(app: &crate::helpers::TestApp, path: &str, body: Value) -> (u16, Value) {
    let resp = app
        .http
        .patch(format!("{}{path}", app.base))
        .bearer_auth(ADMIN)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn delete(app: &crate::helpers::TestApp, path: &str) -> (u16, Value) {
    let resp = app
        .http
        .delete(format!("{}{path}", app.base))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn try_login(app: &crate::helpers::TestApp, username: &str, password: &str) -> (u16, Value) {
    app.post(
        "/api/v1/sessions",
        None,
        json!({"tenant": "acme", "username": username, "password": password}),
    )
    .await
}

/// Waits for the socket to close (the event stream ends).
async fn expect_closed(agent: &mut crate::helpers::Agent) {
    let deadline = tokio::time::Instant::now() + crate::helpers::WAIT;
    loop {
        match tokio::time::timeout_at(deadline, agent.events.next()).await {
            Ok(None) => return,
            Ok(Some(_)) => continue,
            Err(_) => panic!("the socket stayed open"),
        }
    }
}

#[tokio::test]
async fn admin_lists_updates_disables_and_deletes_agents() {
    let app = crate::helpers::spawn_app().await;
    app.tenant("acme", &[("alice", "1001"), ("bob", "1002")])
        .await;
    let (s, list) = app
        .get("/api/v1/admin/tenants/acme/agents", Some(ADMIN))
        .await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["username"], "alice");
    assert_eq!(list[0]["displayName"], "ALICE");
    assert_eq!(list[0]["services"], json!(["Sales", "Support"]));
    assert_eq!(list[0]["disabled"], false);

    // Update: password, display name, services.
    let (s, view) = patch(
        &app,
        "/api/v1/admin/tenants/acme/agents/alice",
        json!({"password": "new-pass", "displayName": "Alice A", "services": ["Sales"]}),
    )
    .await;
    assert_eq!(s, 200, "{view}");
    assert_eq!(
        (view["displayName"].clone(), view["services"].clone()),
        (json!("Alice A"), json!(["Sales"]))
    );
    assert_eq!(try_login(&app, "alice", PASSWORD).await.0, 401);
    let (s, body) = try_login(&app, "alice", "new-pass").await;
    assert_eq!(s, 201, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();

    // Disable: the socket hears 107 and closes; logins and hellos are refused.
    let mut alice = app
        .connect(token.clone(), None, baton_client::ConnectOptions::new(""))
        .await;
    let (s, view) = patch(
        &app,
        "/api/v1/admin/tenants/acme/agents/alice",
        json!({"disabled": true}),
    )
    .await;
    assert_eq!((s, view["disabled"].clone()), (200, json!(true)), "{view}");
    let e = alice.expect("ON_SERVER_ERROR").await;
    assert_eq!(
        (e.arg(0)["code"].clone(), e.arg(0)["name"].clone()),
        (json!(107), json!("user_disabled_or_deleted"))
    );
    expect_closed(&mut alice).await;
    let (s, body) = try_login(&app, "alice", "new-pass").await;
    assert_eq!(
        (s, body["error"]["code"].clone()),
        (403, json!(107)),
        "{body}"
    );
    assert_eq!(hello_error(&app, &token).await, Some(111));
    // Enabled again, alice logs in.
    patch(
        &app,
        "/api/v1/admin/tenants/acme/agents/alice",
        json!({"disabled": false}),
    )
    .await;
    assert_eq!(try_login(&app, "alice", "new-pass").await.0, 201);

    // Delete bob while he is connected.
    let mut bob = app.agent("acme", "bob", None).await;
    let (s, body) = delete(&app, "/api/v1/admin/tenants/acme/agents/bob").await;
    assert_eq!(s, 204, "{body}");
    assert_eq!(bob.expect("ON_SERVER_ERROR").await.arg(0)["code"], 107);
    expect_closed(&mut bob).await;
    assert_eq!(try_login(&app, "bob", PASSWORD).await.0, 401);
    assert_eq!(hello_error(&app, &bob.token).await, Some(111));
    let (s, list) = app
        .get("/api/v1/admin/tenants/acme/agents", Some(ADMIN))
        .await;
    assert_eq!((s, list.as_array().unwrap().len()), (200, 1));
    let (s, body) = app
        .get("/api/v1/admin/tenants/acme/agents/bob", Some(ADMIN))
        .await;
    assert_eq!(
        (s, body["error"]["code"].clone()),
        (404, json!(17)),
        "{body}"
    );
    // The username is free again.
    let (s, body) = app
        .post(
            "/api/v1/admin/tenants/acme/agents",
            Some(ADMIN),
            json!({"username": "bob", "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, 201, "{body}");

    // Errors speak the REST error shape.
    for (path, body, status, code) in [
        (
            "/api/v1/admin/tenants/acme/agents/nobody",
            json!({"displayName": "x"}),
            404,
            17,
        ),
        (
            "/api/v1/admin/tenants/nope/agents/alice",
            json!({"displayName": "x"}),
            404,
            17,
        ),
        (
            "/api/v1/admin/tenants/acme/agents/alice",
            json!({"displayName": "x".repeat(201)}),
            400,
            3,
        ),
        (
            "/api/v1/admin/tenants/acme/agents/alice",
            json!({"password": "abc"}),
            400,
            3,
        ),
        (
            "/api/v1/admin/tenants/acme/agents/alice",
            json!({"services": ["Nope"]}),
            404,
            17,
        ),
        (
            "/api/v1/admin/tenants/acme/agents/alice",
            json!({"bogus": 1}),
            400,
            7,
        ),
    ] {
        let (s, b) = patch(&app, path, body).await;
        assert_eq!(
            (s, b["error"]["code"].clone()),
            (status, json!(code)),
            "{path}: {b}"
        );
        assert!(b["error"]["name"].is_string() && b["error"]["message"].is_string());
    }
    let resp = app
        .http
        .delete(format!(
            "{}/api/v1/admin/tenants/acme/agents/alice",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
}

#[tokio::test]
async fn admin_lists_and_revokes_sessions() {
    let app = crate::helpers::spawn_app().await;
    app.tenant("acme", &[("alice", "1001")]).await;
    let mut alice = app.agent("acme", "alice", None).await;
    let (s, list) = app
        .get("/api/v1/admin/tenants/acme/sessions", Some(ADMIN))
        .await;
    assert_eq!(s, 200, "{list}");
    let sessions = list.as_array().unwrap();
    assert_eq!(sessions.len(), 1);
    assert!(
        sessions[0]["agentId"]
            .as_str()
            .unwrap()
            .starts_with("agent-")
    );
    assert!(!list.to_string().contains(&alice.token), "a token leaked");
    let path = format!(
        "/api/v1/admin/tenants/acme/sessions/{}",
        sessions[0]["sessionId"].as_str().unwrap()
    );
    assert_eq!(delete(&app, &path).await.0, 204);
    let e = alice.expect("ON_SERVER_ERROR").await;
    assert_eq!(e.arg(0)["code"], 111);
    alice.expect("ON_LOGOUT").await;
    expect_closed(&mut alice).await;
    assert_eq!(hello_error(&app, &alice.token).await, Some(111));
    let (s, b) = delete(&app, &path).await;
    assert_eq!((s, b["error"]["code"].clone()), (404, json!(17)));
    let (s, list) = app
        .get("/api/v1/admin/tenants/acme/sessions", Some(ADMIN))
        .await;
    assert_eq!((s, list), (200, json!([])));
}

#[tokio::test]
async fn admin_lists_and_revokes_ingress_tokens() {
    let app = crate::helpers::spawn_app().await;
    let t = app.tenant("acme", &[("alice", "1001")]).await;
    let (s, list) = app
        .get("/api/v1/admin/tenants/acme/ingress-tokens", Some(ADMIN))
        .await;
    assert_eq!(s, 200, "{list}");
    let id = list[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 16);
    assert!(!list.to_string().contains(&t.ingress));
    app.customer(&t, "chat", "Sales", "Carl").await;
    let path = format!("/api/v1/admin/tenants/acme/ingress-tokens/{id}");
    assert_eq!(delete(&app, &path).await.0, 204);
    let (s, b) = app
        .post(
            "/api/v1/interactions",
            Some(&t.ingress),
            json!({"channel": "chat", "service": "Sales", "customer": {"name": "Carl"}}),
        )
        .await;
    assert_eq!((s, b["error"]["code"].clone()), (401, json!(111)));
    assert_eq!(delete(&app, &path).await.0, 404);
    let (s, b) = delete(&app, "/api/v1/admin/tenants/acme/ingress-tokens/zz").await;
    assert_eq!((s, b["error"]["code"].clone()), (400, json!(3)));
}

fn config_with(alice: &str) -> baton_server::ConfigFile {
    let text = format!(
        "[[tenants]]\nname = \"acme\"\n[[tenants.services]]\nname = \"Sales\"\nchannels = [\"chat\"]\n\
         [[tenants.services]]\nname = \"Support\"\nchannels = [\"chat\"]\n[[tenants.agents]]\n{alice}\n"
    );
    baton_server::ConfigFile::parse(&text, "baton.toml").unwrap()
}

#[tokio::test]
async fn agent_changes_in_the_config_file_apply_on_restart_or_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = crate::helpers::settings(dir.path());
    s.seed = config_with(
        "username = \"alice\"\npassword = \"first-pw\"\ndisplay_name = \"Alice\"\nextension = \"1001\"\nservices = [\"Sales\"]",
    );
    let app = crate::helpers::spawn_with(dir, s).await;
    assert_eq!(try_login(&app, "alice", "first-pw").await.0, 201);

    let app = app
        .restart_with(|dir| {
            let mut s = crate::helpers::settings(dir);
            s.seed = config_with(
                "username = \"alice\"\npassword = \"second-pw\"\ndisplay_name = \"Alice Adams\"\nextension = \"1001\"\nservices = [\"Sales\", \"Support\"]",
            );
            s
        })
        .await;
    assert_eq!(try_login(&app, "alice", "first-pw").await.0, 401);
    assert_eq!(try_login(&app, "alice", "second-pw").await.0, 201);
    let (_, view) = app
        .get("/api/v1/admin/tenants/acme/agents/alice", Some(ADMIN))
        .await;
    assert_eq!(view["displayName"], "Alice Adams");
    assert_eq!(view["services"], json!(["Sales", "Support"]));

    // An extension change has no update path: the start is refused, saying so.
    let dir = app.shut_down().await;
    let mut s = crate::helpers::settings(dir.path());
    s.seed = config_with("username = \"alice\"\npassword = \"second-pw\"\nextension = \"2002\"");
    let err = baton_server::Application::build(s)
        .await
        .err()
        .expect("the start is refused")
        .to_string();
    assert!(
        err.contains("agent \"alice\"") && err.contains("extension") && err.contains("2002"),
        "{err}"
    );
}
