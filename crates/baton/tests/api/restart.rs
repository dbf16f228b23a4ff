//! The server restarts on the same data directory and carries on.

use std::time::Duration;

use baton_client::ConnectOptions;

use crate::helpers::*;

#[tokio::test]
async fn a_restart_keeps_queued_and_connected_interactions() {
    let app = spawn_app().await;
    let t = app
        .tenant("acme", &[("alice", "1001"), ("bob", "1002")])
        .await;
    let mut alice = app.agent("acme", "alice", None).await;
    alice.ready().await;
    let (connected, _) = app.customer(&t, "chat", "Sales", "Connie").await;
    alice.accept_next().await;
    alice
        .client
        .send_chat_message("before the restart", Some(&connected))
        .await
        .unwrap();
    let (queued, _) = app.customer(&t, "voice", "Support", "Quincy").await;
    let alice_token = alice.token.clone();
    let bob_token = app.login("acme", "bob").await;
    drop(alice);

    let app = app.restart().await;
    let mut alice = app
        .connect(alice_token, None, ConnectOptions::new(""))
        .await;
    let state = alice.client.get_interactions_state().await.unwrap();
    assert_eq!(state.interactions.len(), 1);
    assert_eq!(state.interactions[0].id, connected);
    let transcript = state.interactions[0]
        .messages
        .as_deref()
        .unwrap_or_default();
    assert_eq!(transcript[0].text, "before the restart");
    let mut bob = app.connect(bob_token, None, ConnectOptions::new("")).await;
    bob.ready().await;
    let offer = bob.expect("ON_NEW_INTERACTION").await;
    assert_eq!(offer.arg(0)["id"], queued.as_str());
    // Alice, on a chat, has no room for a call: the queued call is bob's alone.
    tokio::time::sleep(Duration::from_millis(200)).await;
    while let Some(e) = alice.events.try_next() {
        if e.name == "ON_NEW_INTERACTION" {
            assert_ne!(e.arg(0)["id"], queued.as_str());
        }
    }
}
