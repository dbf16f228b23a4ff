//! Tests against the real `baton` binary: SIGKILL and restart, and what it writes to its logs.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use baton_client::ConnectOptions;
use serde_json::json;

use crate::helpers::*;
use crate::transfers::DATA;
use crate::voice::TURN_SECRET;

pub const INGRESS: &str = "ingress-token-for-tests";

pub fn write_config(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("baton.toml");
    let agents: String = [("alice", "1001"), ("bob", "1002"), ("carol", "1003")]
        .iter()
        .map(|(u, e)| {
            format!(
                "[[tenants.agents]]\nusername = \"{u}\"\npassword = \"{PASSWORD}\"\nextension = \"{e}\"\nservices = [\"Sales\"]\nmax_chats = 2\n"
            )
        })
        .collect();
    let text = format!(
        // These processes bring many customers in from one address; the public limits have
        // their own tests (public_surface.rs).
        "admin_token = \"{ADMIN}\"\n\n[public_limits]\ninteractions_per_minute_per_address = 100000\n\
         interactions_per_minute_per_token = 100000\n\n\
         [media]\nice_servers = [\"turn:turn.example.com:3478\"]\nturn_secret = \"{TURN_SECRET}\"\n\n[[tenants]]\nname = \"acme\"\ningress_tokens = [\"{INGRESS}\"]\n\
         [[tenants.services]]\nname = \"Sales\"\nchannels = [\"chat\", \"voice\"]\n\
         [[tenants.integrations]]\nkey = \"crm\"\nname = \"CRM\"\nallowed_origins = [\"https://crm.example.com\"]\n{agents}"
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// A `baton serve` child process and the address it bound.
pub struct Server {
    pub child: Child,
    pub app: TestApp,
}

/// Starts the binary on `dir` (stderr to `log` when given) and waits for its listening line.
pub async fn start(dir: &tempfile::TempDir, log: Option<&Path>) -> Server {
    start_with(dir, log, &[]).await
}

/// [`start`] with extra environment variables for the child.
pub async fn start_with(
    dir: &tempfile::TempDir,
    log: Option<&Path>,
    envs: &[(&str, &str)],
) -> Server {
    let config = write_config(dir.path());
    let stderr = match log {
        Some(path) => Stdio::from(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .unwrap(),
        ),
        None => Stdio::null(),
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args([
            "--log",
            "debug",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--config",
        ])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("baton binary runs");
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap() == 0 {
                panic!("baton exited before listening");
            }
            if let Some(addr) = line.trim().strip_prefix("Baton listening on http://") {
                return addr.to_owned();
            }
        }
    })
    .await
    .unwrap();
    let addr = line.parse().unwrap();
    let app = TestApp::external(addr);
    Server { child, app }
}

#[tokio::test]
async fn an_offer_committed_before_a_sigkill_still_brings_its_data_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(&dir, None).await;
    let app = &server.app;
    let mut alice = app.agent("acme", "alice", Some("crm")).await;
    let bob_token = app.login("acme", "bob").await;
    let bob = app
        .connect(bob_token.clone(), Some("crm"), ConnectOptions::new(""))
        .await;
    alice.ready().await;
    let tenant = Tenant {
        name: "acme".into(),
        ingress: INGRESS.into(),
    };
    let (id, _) = app.customer(&tenant, "voice", "Sales", "Carl").await;
    alice.accept_next().await;
    bob.client.close();
    let transfer = alice
        .client
        .blind_transfer("bob", Some(DATA), Some(&id))
        .await
        .unwrap();
    // The answer comes after the commit: kill at once.
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    let mut server = start(&dir, None).await;
    let app = &server.app;
    let mut bob = app
        .connect(bob_token, Some("crm"), ConnectOptions::new(""))
        .await;
    let offer = bob.expect("ON_NEW_INTERACTION").await;
    assert_eq!(offer.arg(0)["id"], id.as_str());
    assert_eq!(offer.arg(0)["state"], "ringing");
    let load = bob.expect("ON_LOAD_TRANSFER_DATA").await;
    assert_eq!(load.raw(1), Some(DATA));
    assert_eq!(load.arg(2)["transferId"], transfer.as_str());
    assert_eq!(load.arg(2)["replay"], true);
    bob.client.accept_interaction(Some(&id)).await.unwrap();
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}

#[tokio::test]
async fn sigterm_mid_chat_stops_the_engine_cleanly_and_a_restart_keeps_the_chat() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr.log");
    let mut server = start(&dir, Some(&log)).await;
    let app = &server.app;
    let mut alice = app.agent("acme", "alice", None).await;
    alice.ready().await;
    let tenant = Tenant {
        name: "acme".into(),
        ingress: INGRESS.into(),
    };
    let (id, customer) = app.customer(&tenant, "chat", "Sales", "Carl").await;
    alice.accept_next().await;
    alice
        .client
        .send_chat_message("before the restart", Some(&id))
        .await
        .unwrap();

    // SAFETY: a plain kill(2) of our own child.
    assert_eq!(
        unsafe { libc::kill(server.child.id() as i32, libc::SIGTERM) },
        0
    );
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status}");
    let text = std::fs::read_to_string(&log).unwrap();
    // The media plane once held the engine open until a 5 s timeout gave up on it.
    assert!(text.contains("engine stopped"), "{text}");
    assert!(!text.contains("did not stop"), "{text}");

    let mut server = start(&dir, None).await;
    let (status, body) = server
        .app
        .get(
            &format!("/api/v1/interactions/{id}/customer-state"),
            Some(&customer),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        customer_sees(&server.app, &customer, "before the restart").await,
        "the transcript lost the agent's message"
    );
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}

/// Opens the customer's socket and reads until a frame contains `text`; `false` if none
/// does within `WAIT`.
async fn customer_sees(app: &TestApp, token: &str, text: &str) -> bool {
    use futures_util::StreamExt;
    let url = format!("ws://{}/ws/customer?token={token}", app.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let until = tokio::time::Instant::now() + WAIT;
    while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(until, ws.next()).await {
        if msg.to_text().is_ok_and(|t| t.contains(text)) {
            return true;
        }
    }
    false
}

#[tokio::test]
async fn logs_never_contain_passwords_tokens_or_transfer_data() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("baton.log");
    let mut server = start(&dir, Some(&log)).await;
    let app = &server.app;
    let mut alice = app.agent("acme", "alice", Some("crm")).await;
    let mut bob = app.agent("acme", "bob", Some("crm")).await;
    alice.ready().await;
    let tenant = Tenant {
        name: "acme".into(),
        ingress: INGRESS.into(),
    };
    let (id, customer_token) = app.customer(&tenant, "chat", "Sales", "Carl").await;
    alice.accept_next().await;
    alice
        .client
        .blind_transfer("bob", Some(DATA), Some(&id))
        .await
        .unwrap();
    bob.expect("ON_LOAD_TRANSFER_DATA").await;
    let voice = alice.client.call("voiceConfig", vec![]).await.unwrap();
    let turn_credential = voice["iceServers"][0]["credential"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, _) = app
        .post(
            "/api/v1/sessions",
            None,
            json!({"tenant": "acme", "username": "alice", "password": "wrong-password-xyz"}),
        )
        .await;
    assert_eq!(s, 401);
    let _ = app.get("/metrics", None).await;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("agent logged in"),
        "the log was captured: {}",
        &text[..text.len().min(500)]
    );
    for secret in [
        PASSWORD,
        "wrong-password-xyz",
        ADMIN,
        INGRESS,
        &alice.token,
        &bob.token,
        &customer_token,
        "C-1042",
        TURN_SECRET,
        &turn_credential,
    ] {
        assert!(
            !text.contains(secret),
            "log contains a secret or transfer data: {secret}"
        );
    }
}

/// Starts `baton demo` on a random port and returns it with its address.
async fn demo(data_dir: &Path) -> (Child, std::net::SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let addr = tokio::task::spawn_blocking(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        loop {
            line.clear();
            assert!(
                reader.read_line(&mut line).unwrap() > 0,
                "demo exited before listening"
            );
            if let Some(addr) = line.trim().strip_prefix("Baton listening on http://") {
                let addr = addr.parse().unwrap();
                // Keep draining so later prints never block the demo.
                std::thread::spawn(
                    move || while reader.read_line(&mut line).is_ok_and(|n| n > 0) {},
                );
                return addr;
            }
        }
    })
    .await
    .unwrap();
    (child, addr)
}

#[tokio::test]
async fn the_demo_crm_is_allowed_on_whatever_port_the_demo_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (mut first, _) = demo(dir.path()).await;
    first.kill().unwrap();
    first.wait().unwrap();
    // Same data directory, another port: the CRM's new origin must be accepted.
    let (mut second, addr) = demo(dir.path()).await;
    let app = TestApp::external(addr);
    let (s, body) = app
        .post(
            "/api/v1/sessions",
            None,
            json!({"tenant": "demo", "username": "alice", "password": "demo"}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let token = body["token"].as_str().unwrap();
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let origin = format!("http://127.0.0.1:{}", addr.port());
    let mut req = app.ws_url().into_client_request().unwrap();
    req.headers_mut().insert("Origin", origin.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let hello = json!({"op":"hello","args":{"token":token,"integrationKey":"demo-crm","hostOrigin":origin,"protocol":1}});
    ws.send(tokio_tungstenite::tungstenite::Message::text(
        hello.to_string(),
    ))
    .await
    .unwrap();
    let answer = tokio::time::timeout(WAIT, ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let answer: serde_json::Value = serde_json::from_str(answer.to_text().unwrap()).unwrap();
    assert_eq!(answer["result"]["status"], "success", "{answer}");
    // The demo seeds what the widget's desk features show.
    let mut ask = async |id: u64, op: &str| -> serde_json::Value {
        let frame = json!({"id": id, "op": op, "args": []}).to_string();
        ws.send(tokio_tungstenite::tungstenite::Message::text(frame))
            .await
            .unwrap();
        loop {
            let next = tokio::time::timeout(WAIT, ws.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            let v: serde_json::Value = serde_json::from_str(next.to_text().unwrap()).unwrap();
            if v["id"] == id {
                return v["result"]["data"].clone();
            }
        }
    };
    assert_eq!(ask(1, "getAgentNotReadyReasons").await[0], "Lunch");
    assert_eq!(
        ask(2, "getDIDNumbersList").await.as_array().unwrap().len(),
        2
    );
    assert_eq!(ask(3, "getTeams").await[1]["id"], "Tier 1");
    let services = ask(4, "getServicesList").await;
    let support = services
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Support");
    assert_eq!(support.unwrap()["requireDisposition"], true);
    assert_eq!(
        ask(5, "getConfig").await["recordUrl"],
        "/demo-crm/?case={id}"
    );
    second.kill().unwrap();
    second.wait().unwrap();
}
