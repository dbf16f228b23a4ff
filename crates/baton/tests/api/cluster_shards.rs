//! Engines sharded by tenant (decision 0018), against the PostgreSQL and NATS of this
//! machine: one schema and one NATS subject prefix per test.

use std::collections::BTreeMap;
use std::time::Duration;

use baton_core::TenantId;
use baton_protocol::TransferData;
use baton_server::shards::shard_of;

use crate::cluster::killed_node::{Node, connect_retry, spawn_node_with, wait_offer};
use crate::cluster::{cluster_settings, gauge, metrics_text, readyz_text, unique, wait_ready};
use crate::helpers::*;
use crate::transfers::DATA;

/// A tenant name for each shard `0..shards`, found by trying names in order.
fn tenant_per_shard(prefix: &str, shards: u16) -> Vec<String> {
    (0..shards)
        .map(|shard| {
            (0..)
                .map(|i| format!("{prefix}{i}"))
                .find(|name| shard_of(&TenantId(name.clone()), shards) == shard)
                .unwrap()
        })
        .collect()
}

/// Which node runs each shard's engine, from a node's `/readyz` (`0:101 1:102 …`); `None`
/// until every shard has an engine.
async fn owners(app: &TestApp) -> Option<BTreeMap<u16, u16>> {
    let (status, body) = readyz_text(app).await;
    if status != 200 {
        return None;
    }
    let list = body.strip_prefix("ready: shard engines on nodes ")?;
    let mut out = BTreeMap::new();
    for pair in list.split(' ') {
        let (shard, node) = pair.split_once(':')?;
        out.insert(shard.parse().ok()?, node.parse().ok()?);
    }
    Some(out)
}

/// Waits until `app` sees every shard run by a node that `accept` allows.
async fn owners_until(
    app: &TestApp,
    accept: impl Fn(&BTreeMap<u16, u16>) -> bool,
) -> BTreeMap<u16, u16> {
    for _ in 0..300 {
        if let Some(o) = owners(app).await
            && accept(&o)
        {
            return o;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the shards never settled as expected: {:?}",
        owners(app).await
    );
}

/// A chat of `tenant` from ingress on `app`, offered to `alice`, accepted, and handed to
/// bob with `data`; returns the interaction id once bob has the data.
async fn hand_off(
    app: &TestApp,
    tenant: &Tenant,
    alice: &mut Agent,
    bob: &mut Agent,
    data: &str,
) -> String {
    let (id, _) = app.customer(tenant, "chat", "Sales", "Carl").await;
    wait_offer(alice, &id).await;
    alice.client.accept_interaction(Some(&id)).await.unwrap();
    alice
        .client
        .blind_transfer("bob", Some(data), Some(&id))
        .await
        .unwrap();
    loop {
        let e = bob.expect("ON_LOAD_TRANSFER_DATA").await;
        if e.arg(0) == id.as_str() {
            assert_eq!(e.raw(1), Some(data));
            break;
        }
    }
    bob.client.accept_interaction(Some(&id)).await.unwrap();
    bob.client.complete_interaction(Some(&id)).await.unwrap();
    alice.client.set_agent_state("ready", None).await.unwrap();
    id
}

#[tokio::test]
async fn shards_spread_over_in_process_nodes_and_each_tenant_works_on_its_own() {
    let name = unique("s");
    let mut nodes = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let mut s = settings(dir.path());
        let mut c = cluster_settings(&name);
        c.shards = 4;
        s.cluster = Some(c);
        nodes.push(spawn_with(dir, s).await);
    }
    wait_ready(&nodes[0]).await;
    // Both nodes run shard engines: two each.
    owners_until(&nodes[0], |o| {
        let mut per_node = BTreeMap::new();
        for n in o.values() {
            *per_node.entry(*n).or_insert(0) += 1;
        }
        per_node.len() == 2 && per_node.values().all(|c| *c == 2)
    })
    .await;
    let mut engines = 0;
    for node in &nodes {
        let shards = gauge(&metrics_text(node).await, "baton_engine_shards");
        assert_eq!(shards, 2);
        engines += shards;
    }
    assert_eq!(engines, 4);

    // A tenant in every shard: each hands a chat over with its data, across the nodes.
    for (i, tenant) in tenant_per_shard("acme", 4).into_iter().enumerate() {
        let t = nodes[i % 2]
            .tenant(&tenant, &[("alice", "1001"), ("bob", "1002")])
            .await;
        let mut alice = nodes[0].agent(&tenant, "alice", Some("crm")).await;
        let mut bob = nodes[1].agent(&tenant, "bob", Some("crm")).await;
        alice.ready().await;
        let id = hand_off(&nodes[1], &t, &mut alice, &mut bob, DATA).await;
        assert_eq!(nodes[0].transfers(&id).await.len(), 1);
        // The tenant's agents are its own: another shard's tenant does not see them.
        let (s, _) = nodes[0]
            .get(
                &format!("/api/v1/admin/tenants/{tenant}/agents/alice"),
                Some(ADMIN),
            )
            .await;
        assert_eq!(s, 200);
    }
    // Questions about every tenant merge the shards' answers.
    let m = metrics_text(&nodes[0]).await;
    assert_eq!(gauge(&m, "baton_interactions_queued"), 0);
}

/// The server key `spawn_node_with` gives every node.
const CLUSTER_KEY: &str = "4242424242424242424242424242424242424242424242424242424242424242";

async fn start_three(name: &str, dir: &std::path::Path) -> Vec<Node> {
    let mut out = Vec::new();
    for id in ["101", "102", "103"] {
        out.push(spawn_node_with(dir, name, &["--node-id", id, "--shards", "3"]).await);
    }
    out
}

/// A tenant of the sharded process cluster, with alice and bob logged in on given nodes.
struct Desk {
    tenant: Tenant,
    alice: Agent,
    bob: Agent,
}

async fn desk(name: &str, admin: &TestApp, alice_on: &TestApp, bob_on: &TestApp) -> Desk {
    let tenant = admin
        .tenant(name, &[("alice", "1001"), ("bob", "1002")])
        .await;
    let token = alice_on.login(name, "alice").await;
    let mut alice = connect_retry(alice_on, &token).await;
    let token = bob_on.login(name, "bob").await;
    let bob = connect_retry(bob_on, &token).await;
    alice.client.set_agent_state("ready", None).await.unwrap();
    alice.seen.clear();
    Desk { tenant, alice, bob }
}

#[tokio::test]
async fn a_shard_moves_when_its_owner_dies_and_the_other_shards_keep_going() {
    let name = unique("sk");
    let dir = tempfile::tempdir().unwrap();
    let mut nodes = start_three(&name, dir.path()).await;
    // One shard per node once they have all heard each other.
    let spread = owners_until(&nodes[0].app, |o| {
        o.len() == 3 && o.values().collect::<std::collections::BTreeSet<_>>().len() == 3
    })
    .await;
    let index = |node: u16| (node - 101) as usize;
    let tenants = tenant_per_shard("co", 3);
    // The victim runs shard 0; the two others run shards 1 and 2.
    let victim = index(spread[&0]);
    let (a, b) = (index(spread[&1]), index(spread[&2]));
    let (na, nb) = (&nodes[a].app, &nodes[b].app);

    // Shard 0's tenant: a committed hand-off in flight to bob (ringing, data delivered),
    // its agents on the surviving nodes.
    let mut moving = desk(&tenants[0], na, na, nb).await;
    let (pending, _) = na.customer(&moving.tenant, "chat", "Sales", "Pat").await;
    wait_offer(&mut moving.alice, &pending).await;
    moving
        .alice
        .client
        .accept_interaction(Some(&pending))
        .await
        .unwrap();
    moving
        .alice
        .client
        .blind_transfer("bob", Some(DATA), Some(&pending))
        .await
        .unwrap();
    loop {
        let e = moving.bob.expect("ON_LOAD_TRANSFER_DATA").await;
        if e.arg(0) == pending.as_str() {
            assert_eq!(e.raw(1), Some(DATA));
            break;
        }
    }
    let mut one = desk(&tenants[1], na, na, nb).await;
    let mut two = desk(&tenants[2], nb, nb, na).await;

    // Shards 1 and 2 hand chats over while shard 0's node is killed.
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &nodes[victim].child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut handed = Vec::new();
    for i in 0..4 {
        let data = format!(r#"{{"round":{i}}}"#);
        handed.push(hand_off(nb, &one.tenant, &mut one.alice, &mut one.bob, &data).await);
        handed.push(hand_off(na, &two.tenant, &mut two.alice, &mut two.bob, &data).await);
    }
    assert_eq!(handed.len(), 8);

    // Shard 0 moves to a survivor, with its interaction and the committed leg's data.
    let survivors = [spread[&1], spread[&2]];
    let moved = owners_until(na, |o| o.len() == 3 && survivors.contains(&o[&0])).await;
    assert!(survivors.contains(&moved[&0]));
    let (s, interaction) = nb
        .get(&format!("/api/v1/interactions/{pending}"), Some(ADMIN))
        .await;
    assert_eq!(s, 200, "{interaction}");
    assert_eq!(interaction["status"], "offered", "{interaction}");
    let legs = nb.transfers(&pending).await;
    assert_eq!(legs.len(), 1);
    let key = baton_server::guard::ServerKey::from_hex(CLUSTER_KEY, "test")
        .unwrap()
        .derive(baton_server::guard::DIGEST_PURPOSE);
    assert_eq!(
        legs[0]["outcomes"][0]["sha256"].as_str(),
        Some(
            TransferData::parse(DATA, usize::MAX)
                .unwrap()
                .digest(&key)
                .as_str()
        )
    );
    // Bob's open socket gets the offer again from the shard's new engine, marked as a
    // replay, with its data; he accepts it there.
    let again = loop {
        let e = moving.bob.expect("ON_NEW_INTERACTION").await;
        if e.arg(0)["id"] == pending.as_str() {
            break e;
        }
    };
    assert_eq!(again.arg(1)["replay"], true);
    let replayed = loop {
        let e = moving.bob.expect("ON_LOAD_TRANSFER_DATA").await;
        if e.arg(0) == pending.as_str() {
            break e;
        }
    };
    assert_eq!(replayed.raw(1), Some(DATA));
    assert_eq!(replayed.arg(2)["replay"], true);
    moving
        .bob
        .client
        .accept_interaction(Some(&pending))
        .await
        .unwrap();
    // And the moved shard takes new work.
    moving
        .alice
        .client
        .set_agent_state("ready", None)
        .await
        .unwrap();
    let Desk {
        tenant,
        mut alice,
        mut bob,
    } = moving;
    hand_off(nb, &tenant, &mut alice, &mut bob, DATA).await;

    for node in nodes.iter_mut() {
        let _ = node.child.kill();
        let _ = node.child.wait();
    }
}
