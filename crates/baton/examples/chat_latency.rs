//! How long one agent waits for `sendChatMessage` as a chat grows: a real server (SQLite,
//! `synchronous=FULL`) in this process, one chat, 500-byte messages sent one after another.
//! Prints the median and mean round trip of the 50 messages before each mark (100, 1,000,
//! 3,000): the median because one fsync stalled by a busy disk would swing a mean.
//!
//! `cargo run --release -p baton --example chat_latency [-- MESSAGES]`
//!
//! A measurement, not a test: compare runs on the same machine (see BENCHMARKS.md).

use std::time::Instant;

use baton_client::{ConnectOptions, connect};
use baton_server::settings::Secret;
use baton_server::{Application, Settings};
use serde_json::{Value, json};

const ADMIN: &str = "latency-admin";
const MARKS: [usize; 3] = [100, 1_000, 3_000];
const WINDOW: usize = 50;

#[tokio::main]
async fn main() {
    let total: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(3_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        admin_token: Some(Secret::new(ADMIN)),
        ..Settings::default()
    };
    settings.interaction_limits.max_messages_per_interaction = total + 10;
    settings.interaction_limits.max_transcript_bytes = (total + 10) * 600;
    let app = Application::build(settings).await.expect("server starts");
    let base = format!("http://{}", app.local_addr());
    let ws = format!("ws://{}/ws/agent", app.local_addr());
    let server = tokio::spawn(app.run_until(std::future::pending()));

    let http = reqwest::Client::new();
    let post = |path: &str, token: Option<&str>, body: Value| {
        let mut req = http.post(format!("{base}{path}")).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let path = path.to_owned();
        async move {
            let resp = req.send().await.expect("request");
            assert!(resp.status().is_success(), "{path}: {}", resp.status());
            resp.json::<Value>().await.unwrap_or(Value::Null)
        }
    };
    post("/api/v1/admin/tenants", Some(ADMIN), json!({"name": "t"})).await;
    post(
        "/api/v1/admin/tenants/t/services",
        Some(ADMIN),
        json!({"name": "Sales", "channels": ["chat"], "ringTimeoutMs": 60000}),
    )
    .await;
    post(
        "/api/v1/admin/tenants/t/agents",
        Some(ADMIN),
        json!({"username": "alice", "password": "pw-1234", "displayName": "Alice",
               "services": ["Sales"], "maxChats": 1}),
    )
    .await;
    let ingress = post(
        "/api/v1/admin/tenants/t/ingress-tokens",
        Some(ADMIN),
        json!({}),
    )
    .await["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let token = post(
        "/api/v1/sessions",
        None,
        json!({"tenant": "t", "username": "alice", "password": "pw-1234"}),
    )
    .await["token"]
        .as_str()
        .expect("session")
        .to_owned();
    let (client, mut events) = connect(&ws, ConnectOptions::new(token))
        .await
        .expect("hello");
    client.set_agent_state("ready", None).await.expect("ready");
    post(
        "/api/v1/interactions",
        Some(&ingress),
        json!({"channel": "chat", "service": "Sales", "customer": {"name": "Carl"}}),
    )
    .await;
    let offer = events.wait_for("ON_NEW_INTERACTION").await.expect("offer");
    let id = offer.arg(0)["id"].as_str().expect("id").to_owned();
    client.accept_interaction(Some(&id)).await.expect("accept");
    // Events are drained so the socket's queue never fills.
    tokio::spawn(async move { while events.next().await.is_some() {} });

    let text = "x".repeat(500);
    let mut waits = Vec::with_capacity(total);
    for _ in 0..total {
        let started = Instant::now();
        client
            .send_chat_message(&text, Some(&id))
            .await
            .expect("sent");
        waits.push(started.elapsed());
    }
    println!("messages  wait of the {WINDOW} before: median, mean");
    for mark in MARKS.into_iter().filter(|m| *m <= total) {
        let mut window = waits[mark - WINDOW..mark].to_vec();
        window.sort();
        let mean = window.iter().sum::<std::time::Duration>() / WINDOW as u32;
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{mark:>8}  {:.2} ms, {:.2} ms",
            ms(window[WINDOW / 2]),
            ms(mean)
        );
    }
    server.abort();
}
