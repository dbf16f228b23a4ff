//! One outcome per offer: a ring-out and a late accept give the same answer in the history,
//! to the sender and to the receiver.

use serde_json::json;

use crate::helpers::*;

/// A tenant `quick` whose service `Help` rings for one second, with alice and bob.
async fn quick_tenant(app: &TestApp) -> Tenant {
    let post = |path: &'static str, body: serde_json::Value| async move {
        let (s, b) = app.post(path, Some(ADMIN), body).await;
        assert_eq!(s, 201, "{path}: {b}");
        b
    };
    post("/api/v1/admin/tenants", json!({"name": "quick"})).await;
    post(
        "/api/v1/admin/tenants/quick/services",
        json!({"name": "Help", "channels": ["chat"], "ringTimeoutMs": 1000}),
    )
    .await;
    for name in ["alice", "bob"] {
        post(
            "/api/v1/admin/tenants/quick/agents",
            json!({"username": name, "password": PASSWORD, "displayName": name.to_uppercase(), "services": ["Help"]}),
        )
        .await;
    }
    let token = post("/api/v1/admin/tenants/quick/ingress-tokens", json!({})).await;
    Tenant {
        name: "quick".into(),
        ingress: token["token"].as_str().unwrap().to_owned(),
    }
}

#[tokio::test]
async fn a_transfer_that_rang_out_cannot_be_accepted_late() {
    let app = spawn_app().await;
    let t = quick_tenant(&app).await;
    let mut alice = app.agent("quick", "alice", None).await;
    let mut bob = app.agent("quick", "bob", None).await;
    alice.ready().await;
    let (id, _) = app.customer(&t, "chat", "Help", "Carl").await;
    alice.accept_next().await;
    bob.ready().await;
    alice
        .client
        .blind_transfer("bob", None, Some(&id))
        .await
        .unwrap();
    assert_eq!(bob.expect("ON_NEW_INTERACTION").await.arg(0)["id"], id);

    // Bob does not answer: the offer rings out and is taken from him.
    assert_eq!(bob.expect("ON_INTERACTION_REMOVED").await.arg(0), id);
    // His Accept arrives late: refused, and nothing changes.
    let late = bob.client.accept_interaction(Some(&id)).await.unwrap_err();
    assert!(
        late.to_string().contains("13")
            || late.to_string().contains("no_interaction")
            || late.to_string().contains("no such"),
        "{late}"
    );

    let history = app.transfers(&id).await;
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(
        (history[0]["state"].clone(), history[0]["reason"].clone()),
        (json!("failed"), json!("ring_timeout"))
    );
    // The sender's view says the same and the chat rings back at alice.
    alice.expect_status("failed").await;
    let back = alice.expect("ON_NEW_INTERACTION").await;
    assert_eq!(back.arg(0)["reason"], "transfer_timeout");
    // The receiver's view: bob is no party, and was set not ready so it is not offered again.
    let state = bob.client.get_interactions_state().await.unwrap();
    assert!(state.interactions.iter().all(|i| i.id != id), "{state:?}");
    let agent = bob.client.get_agent_state().await.unwrap();
    assert_eq!(
        agent.not_ready_reason.as_deref(),
        Some("missed"),
        "{agent:?}"
    );
    let (_, admin) = app
        .get(&format!("/api/v1/interactions/{id}"), Some(ADMIN))
        .await;
    assert!(
        !admin.to_string().contains("\"BOB\""),
        "bob is no party: {admin}"
    );
}
