//! The real binary SIGKILLed at random moments while agents hand interactions to each other
//! with transfer data, restarted on the same data directory each time (with transfer data
//! encrypted at rest). After every restart:
//! - no interaction is lost: each one created is queued, has a party, or is completed;
//! - no interaction is offered to two agents at once;
//! - every committed transfer (a `blindTransfer` that answered with a transfer id) has
//!   reached its receiver with the exact bytes, replayed after the restart if need be;
//! - nothing else reached anyone: every `ON_LOAD_TRANSFER_DATA` is data some sender gave
//!   for that interaction and that receiver.
//!
//! CI runs 8 kills; `BATON_CRASH_LOOPS=200` makes a long run, `BATON_CRASH_SEED` repeats one.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use baton_client::{Client, ConnectOptions, connect};
use serde_json::Value;

use crate::helpers::*;
use crate::process::{INGRESS, Server, start_with};

const AGENTS: [&str; 3] = ["alice", "bob", "carol"];
const MARKER: &str = "crash-loop-marker";
const DATA_KEY: &str = "k1:3131313131313131313131313131313131313131313131313131313131313131";

/// A small deterministic generator, so a failing run can be repeated from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A transfer some sender asked for: which interaction and which receiver.
#[derive(Clone, Debug)]
struct Attempt {
    interaction: String,
    target: usize,
    transfer_id: Option<String>,
}

/// One `ON_LOAD_TRANSFER_DATA` as a receiver saw it.
#[derive(Clone, Debug)]
struct Receipt {
    agent: usize,
    interaction: String,
    data: String,
    transfer_id: String,
    replay: bool,
}

#[derive(Default)]
struct Ledger {
    /// By data text (unique per attempt).
    attempts: BTreeMap<String, Attempt>,
    receipts: Vec<Receipt>,
    interactions: BTreeSet<String>,
}

type Shared = Arc<Mutex<Ledger>>;

async fn connect_agent(app: &TestApp, i: usize, token: &str, ledger: &Shared) -> Option<Client> {
    let options = ConnectOptions::new(token).integration_key("crm");
    let (client, mut events) = connect(&app.ws_url(), options).await.ok()?;
    let ledger = ledger.clone();
    tokio::spawn(async move {
        while let Some(e) = events.next().await {
            if e.name == "ON_LOAD_TRANSFER_DATA" {
                let meta = e.arg(2);
                ledger.lock().unwrap().receipts.push(Receipt {
                    agent: i,
                    interaction: e.arg(0).as_str().unwrap_or_default().to_owned(),
                    data: e.raw(1).unwrap_or_default().to_owned(),
                    transfer_id: meta["transferId"].as_str().unwrap_or_default().to_owned(),
                    replay: meta["replay"] == true,
                });
            }
        }
    });
    Some(client)
}

/// Hands interactions around until a call fails (the server died) or `deadline`.
async fn drive(
    app: TestApp,
    clients: Vec<Client>,
    ledger: Shared,
    mut rng: Rng,
    round: usize,
    deadline: tokio::time::Instant,
) {
    let tenant = Tenant {
        name: "acme".into(),
        ingress: INGRESS.into(),
    };
    let mut n = 0;
    let mut iteration = 0u64;
    while tokio::time::Instant::now() < deadline {
        iteration += 1;
        if iteration == 1 || rng.below(4) == 0 {
            let channel = if rng.below(3) == 0 { "voice" } else { "chat" };
            let resp = app
                .http
                .post(format!("{}/api/v1/interactions", app.base))
                .bearer_auth(&tenant.ingress)
                .json(&serde_json::json!({"channel": channel, "service": "Sales", "customer": {"name": "Carl"}}))
                .send()
                .await;
            let Ok(resp) = resp else { return };
            if resp.status().as_u16() == 201 {
                let Ok(body) = resp.json::<Value>().await else {
                    return;
                };
                let id = body["id"].as_str().unwrap().to_owned();
                ledger.lock().unwrap().interactions.insert(id);
            }
        }
        let me = rng.below(AGENTS.len() as u64) as usize;
        let client = &clients[me];
        let Ok(state) = client.get_interactions_state().await else {
            return;
        };
        for i in &state.interactions {
            let result = match i.state.as_str() {
                "ringing" => client.accept_interaction(Some(&i.id)).await.map(drop),
                "connected" if rng.below(10) < 7 => {
                    let target = (me + 1 + rng.below(2) as usize) % AGENTS.len();
                    n += 1;
                    let data = format!(
                        r#"{{"marker": "{MARKER}", "round": {round},  "n": {n}, "amount": 1.50, "é": [1e2]}}"#
                    );
                    ledger.lock().unwrap().attempts.insert(
                        data.clone(),
                        Attempt {
                            interaction: i.id.clone(),
                            target,
                            transfer_id: None,
                        },
                    );
                    let r = client
                        .blind_transfer(AGENTS[target], Some(&data), Some(&i.id))
                        .await;
                    if let Ok(transfer_id) = &r {
                        ledger
                            .lock()
                            .unwrap()
                            .attempts
                            .get_mut(&data)
                            .unwrap()
                            .transfer_id = Some(transfer_id.clone());
                    }
                    r.map(drop)
                }
                "connected" | "hold" => client.leave_interaction(Some(&i.id)).await,
                "wrap_up" => client.complete_interaction(Some(&i.id)).await,
                _ => Ok(()),
            };
            if let Err(e) = result
                && e.api().is_none()
            {
                return;
            }
        }
        if state.interactions.is_empty() && client.set_agent_state("ready", None).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[derive(Default, Debug)]
struct Counts {
    kills: usize,
    interactions: usize,
    committed: usize,
    delivered: usize,
    replayed: usize,
    checks: usize,
}

/// Every check of the module docs, against the server now running.
async fn check(app: &TestApp, ledger: &Shared, counts: &mut Counts) {
    let interactions: Vec<String> = ledger
        .lock()
        .unwrap()
        .interactions
        .iter()
        .cloned()
        .collect();
    for id in &interactions {
        let (s, body) = app
            .get(&format!("/api/v1/interactions/{id}"), Some(ADMIN))
            .await;
        assert_eq!(s, 200, "interaction {id} is gone: {body}");
        let parties = body["parties"].as_array().unwrap();
        let status = body["status"].as_str().unwrap();
        assert!(
            status == "completed" || status == "queued" || !parties.is_empty(),
            "interaction {id} is lost: {body}"
        );
        let ringing = parties
            .iter()
            .filter(|p| p["type"] == "agent" && p["state"] == "ringing")
            .count();
        assert!(ringing <= 1, "{id} is offered to {ringing} agents: {body}");
        counts.checks += 1;
    }
    // Committed data reaches its receiver; replays after a restart may take a moment.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let missing: Vec<(String, Attempt)> = {
            let l = ledger.lock().unwrap();
            l.attempts
                .iter()
                .filter(|(_, a)| a.transfer_id.is_some())
                .filter(|(data, a)| {
                    !l.receipts.iter().any(|r| {
                        r.agent == a.target
                            && &r.data == *data
                            && Some(&r.transfer_id) == a.transfer_id.as_ref()
                    })
                })
                .map(|(d, a)| (d.clone(), a.clone()))
                .collect()
        };
        if missing.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "committed transfer data never reached its receiver: {missing:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let l = ledger.lock().unwrap();
    for r in &l.receipts {
        let attempt = l
            .attempts
            .get(&r.data)
            .unwrap_or_else(|| panic!("{} got data nobody sent: {r:?}", AGENTS[r.agent]));
        assert_eq!(attempt.interaction, r.interaction, "{r:?}");
        assert_eq!(
            attempt.target, r.agent,
            "data reached the wrong agent: {r:?}"
        );
        if let Some(id) = &attempt.transfer_id {
            assert_eq!(id, &r.transfer_id, "{r:?}");
        }
        counts.checks += 1;
    }
    counts.interactions = l.interactions.len();
    counts.committed = l
        .attempts
        .values()
        .filter(|a| a.transfer_id.is_some())
        .count();
    let delivered: BTreeSet<&str> = l.receipts.iter().map(|r| r.data.as_str()).collect();
    counts.delivered = delivered.len();
    counts.replayed = l.receipts.iter().filter(|r| r.replay).count();
}

#[tokio::test]
async fn sigkill_at_random_moments_loses_no_interaction_and_no_committed_data() {
    let loops: usize = std::env::var("BATON_CRASH_LOOPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let seed: u64 = std::env::var("BATON_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    println!("crash loop: {loops} kills, BATON_CRASH_SEED={seed}");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let envs = [("BATON_DATA_KEY", DATA_KEY)];
    let ledger: Shared = Arc::default();
    let mut counts = Counts::default();
    let mut tokens: Vec<String> = Vec::new();
    for round in 0..=loops {
        let mut server: Server = start_with(&dir, None, &envs).await;
        let app = TestApp::external(server.app.addr);
        if tokens.is_empty() {
            for name in AGENTS {
                tokens.push(app.login("acme", name).await);
            }
        }
        let mut clients = Vec::new();
        for (i, token) in tokens.iter().enumerate() {
            clients.push(
                connect_agent(&app, i, token, &ledger)
                    .await
                    .expect("a session survives restarts"),
            );
        }
        eprintln!("crash loop: round {round} started on {}", app.addr);
        check(&app, &ledger, &mut counts).await;
        eprintln!("crash loop: round {round} checked: {counts:?}");
        if round == loops {
            server.child.kill().unwrap();
            server.child.wait().unwrap();
            break;
        }
        let kill_after = Duration::from_millis(200 + rng.below(1800));
        let driver = tokio::spawn(drive(
            TestApp::external(server.app.addr),
            clients.clone(),
            ledger.clone(),
            Rng(rng.next() | 1),
            round,
            tokio::time::Instant::now() + Duration::from_secs(30),
        ));
        tokio::time::sleep(kill_after).await;
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        counts.kills += 1;
        eprintln!("crash loop: round {round} killed after {kill_after:?}");
        tokio::time::timeout(WAIT, driver)
            .await
            .expect("the driver stops when the server dies")
            .unwrap();
        for c in &clients {
            c.close();
        }
    }
    // Encrypted at rest: the data never appears in the database or its WAL.
    for entry in std::fs::read_dir(dir.path().join("data")).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        if let Some(at) = bytes
            .windows(MARKER.len())
            .position(|w| w == MARKER.as_bytes())
        {
            let around = &bytes[at.saturating_sub(300)..(at + 100).min(bytes.len())];
            panic!(
                "{} holds transfer data in plaintext: …{}…",
                path.display(),
                String::from_utf8_lossy(around)
            );
        }
    }
    println!("crash loop: {counts:?}");
    assert_eq!(counts.kills, loops);
    assert!(counts.interactions > 0 && counts.checks > 0);
}
