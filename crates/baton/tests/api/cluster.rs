//! Cluster mode against the PostgreSQL and NATS of this machine: several nodes, one schema
//! and one NATS subject prefix per test.

use std::time::Duration;

use baton_client::{ConnectOptions, DataAnswer};
use baton_protocol::ErrorCode;
use baton_server::cluster::ClusterSettings;

use crate::helpers::*;
use crate::transfers::DATA;

pub const DATABASE: &str = "postgres://postgres@127.0.0.1:5432/test";
pub const NATS: &str = "nats://127.0.0.1:4222";

pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}",
        baton_server::auth::new_token()[..12].to_owned()
    )
}

pub fn cluster_settings(name: &str) -> ClusterSettings {
    let mut c = ClusterSettings::new(DATABASE, NATS);
    c.schema = Some(name.to_owned());
    c.name = name.to_owned();
    c.lease_ttl_ms = 2_000;
    c.node_timeout_ms = 3_000;
    c
}

/// Waits until the node answers `/readyz` (an engine runs somewhere in the cluster).
pub async fn wait_ready(app: &TestApp) {
    for _ in 0..100 {
        if app.get("/readyz", None).await.0 == 200 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the cluster never became ready");
}

/// `n` in-process nodes of one new cluster.
pub async fn nodes(n: usize) -> Vec<TestApp> {
    let name = unique("t");
    let mut out = Vec::new();
    for _ in 0..n {
        let dir = tempfile::tempdir().unwrap();
        let mut s = settings(dir.path());
        s.cluster = Some(cluster_settings(&name));
        out.push(spawn_with(dir, s).await);
    }
    wait_ready(&out[0]).await;
    out
}

#[tokio::test]
async fn every_hand_off_kind_crosses_nodes_with_its_data() {
    let nodes = nodes(3).await;
    let t = nodes[0]
        .tenant(
            "acme",
            &[("alice", "1001"), ("bob", "1002"), ("carol", "1003")],
        )
        .await;
    let token = nodes[0].login("acme", "alice").await;
    let handler = |_, _| async { DataAnswer::Value(r#"{"from":"alice's crm"}"#.into()) };
    let mut alice = nodes[0]
        .connect_with(
            token.clone(),
            ConnectOptions::new(token)
                .integration_key("crm")
                .on_request_transfer_data(handler),
        )
        .await;
    let mut bob = nodes[1].agent("acme", "bob", Some("crm")).await;
    let mut carol = nodes[2].agent("acme", "carol", Some("crm")).await;
    alice.ready().await;

    // Blind, explicit data: node 0 → node 1.
    let (id, _) = nodes[2].customer(&t, "voice", "Sales", "Carl").await;
    alice.accept_next().await;
    alice
        .client
        .blind_transfer("bob", Some(DATA), Some(&id))
        .await
        .unwrap();
    assert_eq!(
        bob.expect("ON_NEW_INTERACTION").await.arg(0)["id"],
        id.as_str()
    );
    assert_eq!(bob.expect("ON_LOAD_TRANSFER_DATA").await.raw(1), Some(DATA));
    alice.expect_outcome("acknowledged").await;
    bob.client.accept_interaction(Some(&id)).await.unwrap();

    // Consult then transfer: node 1 → node 2, bob's host gives no data, then explicit.
    bob.client.consult_call("carol").await.unwrap();
    carol.expect("ON_NEW_INTERACTION").await;
    carol.client.accept_interaction(Some(&id)).await.unwrap();
    bob.client
        .transfer(Some(r#"{"step":"transfer"}"#))
        .await
        .unwrap();
    assert_eq!(
        carol.expect("ON_LOAD_TRANSFER_DATA").await.raw(1),
        Some(r#"{"step":"transfer"}"#)
    );

    // Conference with handler data: node 2 invites alice on node 0, data from carol's
    // side is none (no handler), so invite from alice's side instead: queue a chat.
    let (chat, _) = nodes[1].customer(&t, "chat", "Sales", "Dana").await;
    alice.client.set_agent_state("ready", None).await.unwrap();
    let offered = alice.expect("ON_NEW_INTERACTION").await;
    assert_eq!(offered.arg(0)["id"], chat.as_str());
    alice.client.accept_interaction(Some(&chat)).await.unwrap();
    alice
        .client
        .invite_to_chat_conference("bob", Some(&chat))
        .await
        .unwrap();
    let invite = loop {
        let e = bob.expect("ON_LOAD_TRANSFER_DATA").await;
        if e.arg(0) == chat.as_str() {
            break e;
        }
    };
    assert_eq!(invite.raw(1), Some(r#"{"from":"alice's crm"}"#));
    assert_eq!(invite.arg(2)["kind"], "chat_invite");
    bob.client.accept_interaction(Some(&chat)).await.unwrap();
    alice.client.leave_interaction(Some(&chat)).await.unwrap();

    // Transfer to a queue from node 1; an agent on node 0 picks it up with the data.
    bob.client
        .blind_transfer("service:Support", Some(DATA), Some(&chat))
        .await
        .unwrap();
    alice.client.set_agent_state("ready", None).await.unwrap();
    let queued = loop {
        let e = alice.expect("ON_LOAD_TRANSFER_DATA").await;
        if e.arg(0) == chat.as_str() {
            break e;
        }
    };
    assert_eq!(queued.raw(1), Some(DATA));
    assert_eq!(queued.arg(2)["kind"], "queue");

    let history = nodes[2].transfers(&chat).await;
    assert_eq!(history.len(), 2);
}

#[tokio::test]
async fn two_nodes_racing_on_one_interaction_have_exactly_one_winner() {
    let nodes = nodes(2).await;
    let t = nodes[0]
        .tenant(
            "acme",
            &[("alice", "1001"), ("bob", "1002"), ("carol", "1003")],
        )
        .await;
    let mut alice = nodes[0].agent("acme", "alice", None).await;
    let mut bob = nodes[1].agent("acme", "bob", None).await;
    let _carol = nodes[1].agent("acme", "carol", None).await;
    alice.ready().await;
    let (id, _) = nodes[0].customer(&t, "voice", "Sales", "Carl").await;
    alice.accept_next().await;
    alice
        .client
        .invite_to_call_conference("bob", None, Some(&id))
        .await
        .unwrap();
    bob.expect("ON_NEW_INTERACTION").await;
    bob.client.accept_interaction(Some(&id)).await.unwrap();
    // Both conference members hand the call to carol at the same moment, from two nodes.
    let (a, b) = tokio::join!(
        alice.client.blind_transfer("carol", Some(DATA), Some(&id)),
        bob.client.blind_transfer("carol", Some(DATA), Some(&id)),
    );
    let wins = [&a, &b].iter().filter(|r| r.is_ok()).count();
    assert_eq!(wins, 1, "{a:?} {b:?}");
    let loser = if a.is_err() { a } else { b };
    assert_eq!(loser.unwrap_err().kind(), Some(ErrorCode::NotSuitableState));
    assert_eq!(
        nodes[1].transfers(&id).await.len(),
        2,
        "the invite and one blind transfer"
    );
}

/// The answers a loser of each race gets, with the winner's command and the loser's on
/// `a` and `b` (two nodes of a cluster, or the same embedded server twice). The engine puts
/// racing commands in an order; the loser's answer is that of the command coming second.
async fn race_losers(a: &TestApp, b: &TestApp) -> (ErrorCode, ErrorCode) {
    let t = a
        .tenant(
            "acme",
            &[("alice", "1001"), ("bob", "1002"), ("carol", "1003")],
        )
        .await;
    let mut alice = a.agent("acme", "alice", None).await;
    let mut bob = b.agent("acme", "bob", None).await;
    let _carol = b.agent("acme", "carol", None).await;

    // Accept race: the customer hangs up (node b) and alice accepts (node a) the ringing
    // call; the hang-up wins.
    alice.ready().await;
    let (call, customer) = b.customer(&t, "voice", "Sales", "Carl").await;
    alice.expect("ON_NEW_INTERACTION").await;
    let (s, body) = b
        .post(
            &format!("/api/v1/interactions/{call}/hangup"),
            Some(&customer),
            serde_json::json!({}),
        )
        .await;
    assert!(s < 300, "{s} {body}");
    let accept = alice
        .client
        .accept_interaction(Some(&call))
        .await
        .unwrap_err();

    // Transfer race: the two agents on a conference both hand the call on; alice wins.
    alice.ready().await;
    let (id, _) = a.customer(&t, "voice", "Sales", "Dana").await;
    loop {
        let e = alice.expect("ON_NEW_INTERACTION").await;
        if e.arg(0)["id"] == id.as_str() {
            break;
        }
    }
    alice.client.accept_interaction(Some(&id)).await.unwrap();
    alice
        .client
        .invite_to_call_conference("bob", None, Some(&id))
        .await
        .unwrap();
    bob.expect("ON_NEW_INTERACTION").await;
    bob.client.accept_interaction(Some(&id)).await.unwrap();
    alice
        .client
        .blind_transfer("carol", Some(DATA), Some(&id))
        .await
        .unwrap();
    let transfer = bob
        .client
        .blind_transfer("carol", Some(DATA), Some(&id))
        .await
        .unwrap_err();
    (accept.kind().unwrap(), transfer.kind().unwrap())
}

#[tokio::test]
async fn a_race_loser_gets_the_same_answer_in_a_cluster_as_on_one_node() {
    let embedded = spawn_app().await;
    let one = race_losers(&embedded, &embedded).await;
    let cluster = nodes(2).await;
    let many = race_losers(&cluster[0], &cluster[1]).await;
    assert_eq!(one, many);
    // As docs/cluster.md says: the offer is gone (13); the interaction is still yours but
    // in another hand-off (15).
    assert_eq!(
        many,
        (ErrorCode::NoInteraction, ErrorCode::NotSuitableState)
    );
}

/// `name{node="…"} value` of a gauge in a `/metrics` text.
pub fn gauge(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find(|l| l.starts_with(&format!("{name}{{")))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {metrics}"))
}

pub async fn metrics_text(app: &TestApp) -> String {
    app.http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

pub async fn readyz_text(app: &TestApp) -> (u16, String) {
    let r = app
        .http
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn every_node_tells_which_node_runs_the_engine() {
    let single = spawn_app().await;
    let m = metrics_text(&single).await;
    assert_eq!(gauge(&m, "baton_engine_running"), 1);
    assert_eq!(readyz_text(&single).await, (200, "ready".to_owned()));

    let nodes = nodes(3).await;
    let mut running = Vec::new();
    let mut named = Vec::new();
    for node in &nodes {
        // Every node has heard the engine's announcement within a lease quarter.
        let mut m = metrics_text(node).await;
        for _ in 0..50 {
            if gauge(&m, "baton_engine_node") != 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            m = metrics_text(node).await;
        }
        running.push(gauge(&m, "baton_engine_running"));
        named.push(gauge(&m, "baton_engine_node"));
        let (status, body) = readyz_text(node).await;
        assert_eq!(status, 200);
        assert_eq!(
            body,
            format!("ready: engine on node {}", named.last().unwrap())
        );
    }
    assert_eq!(
        running.iter().sum::<u64>(),
        1,
        "exactly one engine: {running:?}"
    );
    assert!(named.iter().all(|n| *n == named[0] && *n != 0), "{named:?}");
    // The running node names itself.
    let here = running.iter().position(|r| *r == 1).unwrap();
    let m = metrics_text(&nodes[here]).await;
    assert!(
        m.contains(&format!("baton_engine_node{{node=\"{}\"}}", named[0])),
        "{m}"
    );
}

#[tokio::test]
async fn nodes_report_readiness_and_label_their_metrics() {
    let nodes = nodes(2).await;
    for node in &nodes {
        assert_eq!(node.get("/readyz", None).await.0, 200);
        let metrics = node
            .http
            .get(format!("{}/metrics", node.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with("baton_commits_total{node=\"")),
            "{metrics}"
        );
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
}

#[tokio::test]
async fn transfer_data_is_encrypted_at_rest_in_postgres_too() {
    const KEY: &str = "k1:0202020202020202020202020202020202020202020202020202020202020202";
    let name = unique("e");
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    s.cluster = Some(cluster_settings(&name));
    s.data_cipher = Some(baton_store::DataCipher::parse(KEY).unwrap());
    let app = spawn_with(dir, s).await;
    wait_ready(&app).await;
    let t = app
        .tenant("acme", &[("alice", "1001"), ("bob", "1002")])
        .await;
    let leg = hand_a_chat_from_alice_to_bob(&app, &t, DATA).await.transfer;
    let leg = baton_core::TransferId(leg);
    // The blocking PostgreSQL client runs its own runtime: off the async threads.
    let (without_key, with_key) = tokio::task::spawn_blocking(move || {
        use baton_store::Store;
        let plain = baton_store::PostgresStore::open(DATABASE, Some(&name)).unwrap();
        let keyed = baton_store::PostgresStore::open_with(
            DATABASE,
            Some(&name),
            Some(baton_store::DataCipher::parse(KEY).unwrap()),
        )
        .unwrap();
        (
            plain.transfer_data(&leg).is_err(),
            keyed.transfer_data(&leg).unwrap(),
        )
    })
    .await
    .unwrap();
    assert!(
        without_key,
        "stored as ciphertext: unreadable without the key"
    );
    assert_eq!(with_key.as_deref(), Some(DATA));
}

pub mod killed_node {
    //! Three `baton serve` processes; the one running the engine (and holding alice's socket)
    //! is killed with SIGKILL while hand-offs are in flight.

    use std::collections::HashMap;
    use std::io::{BufRead, BufReader};
    use std::process::{Child, Command, Stdio};
    use std::time::Duration;

    use baton_client::{ConnectOptions, Event};
    use baton_protocol::TransferData;

    use super::*;
    use crate::cluster::{gauge, metrics_text, readyz_text};
    use crate::process::{INGRESS, write_config};

    pub struct Node {
        pub child: Child,
        pub app: TestApp,
    }

    async fn spawn_node(dir: &std::path::Path, name: &str) -> Node {
        spawn_node_with(dir, name, &[]).await
    }

    pub async fn spawn_node_with(dir: &std::path::Path, name: &str, extra: &[&str]) -> Node {
        let config = write_config(dir);
        let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database",
                DATABASE,
                "--nats",
                NATS,
            ])
            .args([
                "--database-schema",
                name,
                "--cluster-name",
                name,
                "--disconnect-grace-ms",
                "60000",
            ])
            .args(extra)
            .arg("--config")
            .arg(&config)
            // One key for every node, so each engine writes the same digests.
            .env("BATON_SERVER_KEY", CLUSTER_KEY)
            .stdout(Stdio::piped())
            .stderr(match std::env::var("BATON_NODE_LOG_DIR") {
                Ok(d) => Stdio::from(
                    std::fs::File::create(format!("{d}/node-{}.log", rand_suffix())).unwrap(),
                ),
                Err(_) => Stdio::null(),
            })
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let addr = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            let mut reader = BufReader::new(stdout);
            loop {
                line.clear();
                assert!(
                    reader.read_line(&mut line).unwrap() > 0,
                    "node exited before listening"
                );
                if let Some(addr) = line.trim().strip_prefix("Baton listening on http://") {
                    return addr.parse().unwrap();
                }
            }
        })
        .await
        .unwrap();
        Node {
            child,
            app: TestApp::external(addr),
        }
    }

    const CLUSTER_KEY: &str = "4242424242424242424242424242424242424242424242424242424242424242";

    fn rand_suffix() -> String {
        baton_server::auth::new_id("n")
    }

    /// Connects (retrying while the cluster chooses a new engine).
    pub async fn connect_retry(app: &TestApp, token: &str) -> Agent {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
        loop {
            let options = ConnectOptions::new(token).integration_key("crm");
            match baton_client::connect(&app.ws_url(), options).await {
                Ok((client, events)) => {
                    return Agent {
                        client,
                        events,
                        token: token.to_owned(),
                        seen: Vec::new(),
                    };
                }
                Err(e) => {
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "cannot reconnect: {e}"
                    );
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
            }
        }
    }

    fn data_for(i: usize) -> String {
        format!(r#"{{"case":"K-{i}", "pad":"{}"}}"#, "z".repeat(i * 7))
    }

    #[tokio::test]
    async fn a_killed_engine_node_loses_no_interaction_and_no_committed_transfer_data() {
        let name = unique("k");
        let dir = tempfile::tempdir().unwrap();
        // The first node takes the engine lease; alice's socket is there too.
        let mut first = spawn_node(dir.path(), &name).await;
        let mut engine_ready = false;
        for _ in 0..50 {
            if first.app.get("/readyz", None).await.0 == 200 {
                engine_ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(engine_ready);
        let second = spawn_node(dir.path(), &name).await;
        let third = spawn_node(dir.path(), &name).await;
        let tenant = Tenant {
            name: "acme".into(),
            ingress: INGRESS.into(),
        };

        let alice_token = first.app.login("acme", "alice").await;
        let bob_token = second.app.login("acme", "bob").await;
        let mut alice = connect_retry(&first.app, &alice_token).await;
        let mut bob = connect_retry(&second.app, &bob_token).await;
        alice.client.set_agent_state("ready", None).await.unwrap();

        // Bob takes whatever comes and keeps every transfer data he is given.
        let (got_tx, mut got_rx) = tokio::sync::mpsc::unbounded_channel::<(String, String)>();
        let bob_client = bob.client.clone();
        let bob_task = tokio::spawn(async move {
            while let Some(e) = bob.events.next().await {
                record(&bob_client, &e, &got_tx).await;
            }
        });

        let mut created = Vec::new();
        let mut killed = false;
        for i in 0..10 {
            let (id, _) = loop {
                let body = serde_json::json!({"channel": "chat", "service": "Sales", "customer": {"name": format!("C{i}")}});
                let (s, v) = third
                    .app
                    .post("/api/v1/interactions", Some(&tenant.ingress), body)
                    .await;
                if s == 201 {
                    break (v["id"].as_str().unwrap().to_owned(), ());
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            };
            created.push(id.clone());
            wait_offer(&mut alice, &id).await;
            accept_retry(&alice, &id).await;
            let data = data_for(i);
            if i == 4 && !killed {
                // Kill the engine's node while this hand-off is on its way.
                let client = alice.client.clone();
                let (d, iid) = (data.clone(), id.clone());
                let inflight = tokio::spawn(async move {
                    client.blind_transfer("bob", Some(&d), Some(&iid)).await
                });
                tokio::time::sleep(Duration::from_millis(5)).await;
                first.child.kill().unwrap();
                first.child.wait().unwrap();
                killed = true;
                let _ = inflight.await;
                alice = connect_retry(&third.app, &alice_token).await;
                // Whatever is still alice's goes on to bob now.
                let mine = alice.client.get_interactions_state().await.unwrap();
                for interaction in mine.interactions {
                    if interaction.state.as_str() == "connected" {
                        let n = created.iter().position(|c| *c == interaction.id).unwrap();
                        transfer_retry(&alice, &interaction.id, &data_for(n)).await;
                    }
                }
                alice.client.set_agent_state("ready", None).await.unwrap();
                continue;
            }
            transfer_retry(&alice, &id, &data).await;
            // Handing off her last interaction puts alice in after-call work.
            alice.client.set_agent_state("ready", None).await.unwrap();
        }

        // Every committed leg's data reached bob, byte for byte; nothing else did.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let mut received: HashMap<String, String> = HashMap::new();
        while let Ok((id, data)) = got_rx.try_recv() {
            received.insert(id, data);
        }
        let mut committed = 0;
        for (n, id) in created.iter().enumerate() {
            let (s, interaction) = second
                .app
                .get(&format!("/api/v1/interactions/{id}"), Some(ADMIN))
                .await;
            assert_eq!(s, 200, "interaction {id} lost");
            assert!(
                ["queued", "offered", "connected", "wrap_up", "completed"]
                    .contains(&interaction["status"].as_str().unwrap())
            );
            for leg in second.app.transfers(id).await {
                let Some(sha) = leg["outcomes"][0]["sha256"].as_str().map(str::to_owned) else {
                    continue;
                };
                committed += 1;
                let got = received
                    .get(id)
                    .unwrap_or_else(|| panic!("committed data of {id} never reached bob"));
                assert_eq!(got, &data_for(n));
                let key = baton_server::guard::ServerKey::from_hex(CLUSTER_KEY, "test")
                    .unwrap()
                    .derive(baton_server::guard::DIGEST_PURPOSE);
                assert_eq!(
                    TransferData::parse(got, usize::MAX).unwrap().digest(&key),
                    sha
                );
            }
        }
        for id in received.keys() {
            assert!(
                created.contains(id),
                "bob got data for an interaction nobody sent him"
            );
        }
        assert!(committed >= 9, "only {committed} hand-offs committed");
        println!(
            "cluster kill: {} interactions, {committed} committed hand-offs, all delivered",
            created.len()
        );
        bob_task.abort();
        let (mut second, mut third) = (second, third);
        let _ = second.child.kill();
        let _ = third.child.kill();
    }

    /// Polls a node's `/metrics` until `baton_engine_node` names `want` (a new engine's
    /// announcement reached it).
    async fn engine_node_becomes(app: &TestApp, want: impl Fn(u64) -> bool) -> String {
        for _ in 0..150 {
            let m = metrics_text(app).await;
            if want(gauge(&m, "baton_engine_node")) {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the node never named the expected engine");
    }

    /// SIGSTOP: the process keeps its sockets but answers nothing.
    fn freeze(child: &Child) {
        let status = Command::new("kill")
            .args(["-STOP", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    #[tokio::test]
    async fn commands_wait_out_a_failover_and_one_caught_in_it_fails_with_timeout() {
        let name = unique("f");
        let dir = tempfile::tempdir().unwrap();
        let mut first = spawn_node_with(dir.path(), &name, &["--node-id", "101"]).await;
        let mut engine_ready = false;
        for _ in 0..50 {
            if first.app.get("/readyz", None).await.0 == 200 {
                engine_ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(engine_ready);
        let second = spawn_node_with(dir.path(), &name, &["--node-id", "102"]).await;
        let third = spawn_node_with(dir.path(), &name, &["--node-id", "103"]).await;
        // Every node names node 101 as the engine; only 101 runs it.
        for (node, running) in [(&first, 1), (&second, 0), (&third, 0)] {
            let m = engine_node_becomes(&node.app, |n| n == 101).await;
            assert_eq!(gauge(&m, "baton_engine_running"), running);
            assert_eq!(
                readyz_text(&node.app).await,
                (200, "ready: engine on node 101".to_owned())
            );
        }
        let tenant = Tenant {
            name: "acme".into(),
            ingress: INGRESS.into(),
        };
        // Alice's socket is on node 102, which survives; she has a chat.
        let token = second.app.login("acme", "alice").await;
        let mut alice = connect_retry(&second.app, &token).await;
        alice.client.set_agent_state("ready", None).await.unwrap();
        let (s, v) = third
            .app
            .post(
                "/api/v1/interactions",
                Some(&tenant.ingress),
                serde_json::json!({"channel": "chat", "service": "Sales", "customer": {"name": "Carl"}}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        let chat = v["id"].as_str().unwrap().to_owned();
        wait_offer(&mut alice, &chat).await;
        alice.client.accept_interaction(Some(&chat)).await.unwrap();

        // The engine's node stops answering with a command in flight, then dies.
        freeze(&first.child);
        let client = alice.client.clone();
        let in_flight =
            tokio::spawn(async move { client.set_agent_state("not_ready", None).await });
        tokio::time::sleep(Duration::from_millis(300)).await;
        first.child.kill().unwrap();
        first.child.wait().unwrap();
        // Until NATS has seen the dead node's connection close, a command still goes to the
        // dead engine: that one would be in flight, not waiting.
        tokio::time::sleep(Duration::from_millis(500)).await;
        alice.seen.clear();
        // Sent while no engine runs: it waits for the new one and is answered.
        let during = alice.client.get_interactions_state().await;
        // Caught in the failover: answered with `timeout` once the new engine is announced
        // (lease 5 s + a poll + the grace), well before the 15 s request time-out.
        let caught = tokio::time::timeout(Duration::from_secs(12), in_flight)
            .await
            .expect("the command caught in the failover hung")
            .unwrap();
        assert_eq!(caught.unwrap_err().kind(), Some(ErrorCode::Timeout));
        let during = during.expect("a command sent during the failover waits for the engine");
        assert_eq!(during.interactions.len(), 1);

        // The live socket gets its chat again, marked as a replay, and no second login.
        let again = loop {
            let e = alice.expect("ON_NEW_INTERACTION").await;
            if e.arg(0)["id"] == chat.as_str() {
                break e;
            }
        };
        assert_eq!(again.arg(1)["replay"], true, "{:?}", again.args);
        assert!(
            !alice.names().contains(&"ON_LOGIN".to_owned()),
            "{:?}",
            alice.names()
        );
        alice.client.set_agent_state("ready", None).await.unwrap();

        // The survivors agree on the new engine, and exactly one of them runs it.
        let m2 = engine_node_becomes(&second.app, |n| n == 102 || n == 103).await;
        let m3 = engine_node_becomes(&third.app, |n| n == 102 || n == 103).await;
        let engine = gauge(&m2, "baton_engine_node");
        assert_eq!(gauge(&m3, "baton_engine_node"), engine);
        assert_eq!(
            gauge(&m2, "baton_engine_running") + gauge(&m3, "baton_engine_running"),
            1
        );
        assert_eq!(
            readyz_text(&third.app).await,
            (200, format!("ready: engine on node {engine}"))
        );
        let (mut second, mut third) = (second, third);
        let _ = second.child.kill();
        let _ = third.child.kill();
    }

    async fn record(
        bob: &baton_client::Client,
        e: &Event,
        got: &tokio::sync::mpsc::UnboundedSender<(String, String)>,
    ) {
        match e.name.as_str() {
            "ON_LOAD_TRANSFER_DATA" => {
                let _ = got.send((
                    e.arg(0).as_str().unwrap().to_owned(),
                    e.raw(1).unwrap().to_owned(),
                ));
            }
            "ON_NEW_INTERACTION" if e.arg(0)["state"] == "ringing" => {
                let id = e.arg(0)["id"].as_str().unwrap().to_owned();
                let bob = bob.clone();
                tokio::spawn(async move {
                    // After the transfer data event has been recorded.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    let _ = bob.accept_interaction(Some(&id)).await;
                    let _ = bob.complete_interaction(Some(&id)).await;
                });
            }
            _ => {}
        }
    }

    pub async fn wait_offer(alice: &mut Agent, id: &str) {
        loop {
            let e = alice.expect("ON_NEW_INTERACTION").await;
            if e.arg(0)["id"] == id {
                return;
            }
        }
    }

    async fn accept_retry(alice: &Agent, id: &str) {
        for _ in 0..30 {
            if alice.client.accept_interaction(Some(id)).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        panic!("alice could not accept {id}");
    }

    async fn transfer_retry(alice: &Agent, id: &str, data: &str) {
        for _ in 0..30 {
            match alice
                .client
                .blind_transfer("bob", Some(data), Some(id))
                .await
            {
                Ok(_) => return,
                // Handed off already (the answer was lost with the killed node).
                Err(e) if e.kind() == Some(ErrorCode::NoInteraction) => return,
                // Bob is still busy with earlier chats: wait for a free slot.
                Err(_) => tokio::time::sleep(Duration::from_millis(300)).await,
            }
        }
        panic!("alice could not hand {id} to bob");
    }
}

#[tokio::test]
async fn a_command_that_finds_no_engine_fails_after_the_failover_wait_having_done_nothing() {
    let name = unique("w");
    // Someone else holds the engine lease for a minute: no engine will answer.
    let schema = name.clone();
    tokio::task::spawn_blocking(move || {
        let store = baton_store::PostgresStore::open(DATABASE, Some(&schema)).unwrap();
        assert!(store.try_acquire_lease("ghost", 60_000).unwrap().is_some());
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    let mut c = cluster_settings(&name);
    c.failover_wait_ms = Some(700);
    s.cluster = Some(c);
    let app = spawn_with(dir, s).await;
    let (status, body) = app
        .post(
            "/api/v1/admin/tenants",
            Some(ADMIN),
            serde_json::json!({"name": "acme"}),
        )
        .await;
    assert!(status >= 500, "{status} {body}");
    assert_eq!(body["error"]["code"], 6, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nothing was done"),
        "{body}"
    );
}
