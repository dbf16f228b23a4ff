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
