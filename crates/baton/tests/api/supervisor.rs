//! The supervisor feed: only agents with the supervisor role, only their tenant, queues and
//! agents by state, live interactions, and hand-off chains without transfer-data content.

use serde_json::json;

use crate::helpers::*;
use crate::transfers::DATA;

#[tokio::test]
async fn a_supervisor_sees_queues_agents_and_hand_off_chains_of_their_tenant_only() {
    let app = spawn_app().await;
    let t = app
        .tenant(
            "acme",
            &[("alice", "1001"), ("bob", "1002"), ("sam", "1003")],
        )
        .await;
    app.tenant("globex", &[("gina", "2001")]).await;
    let sam = app.login("acme", "sam").await;
    // Without the role: refused.
    let (s, body) = app.get("/api/v1/supervisor/overview", Some(&sam)).await;
    assert_eq!(
        (s, body["error"]["code"].clone()),
        (403, json!(1)),
        "{body}"
    );
    let (s, body) = app
        .put(
            "/api/v1/admin/tenants/acme/agents/sam/supervisor",
            Some(ADMIN),
            json!({"supervisor": true}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let (s, _) = app
        .put(
            "/api/v1/admin/tenants/acme/agents/sam/supervisor",
            Some(&sam),
            json!({"supervisor": true}),
        )
        .await;
    assert_eq!(s, 401, "granting needs the admin token");

    // A customer waits: Sales shows one waiting, nobody ready.
    let (queued, wendy) = app.customer(&t, "chat", "Sales", "Wendy").await;
    let (s, o) = app.get("/api/v1/supervisor/overview", Some(&sam)).await;
    assert_eq!(s, 200, "{o}");
    let sales = o["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Sales")
        .unwrap()
        .clone();
    assert_eq!(sales["waiting"], 1, "{o}");
    assert!(
        sales["longestWaitMs"].is_u64() || sales["longestWaitMs"].is_i64(),
        "{o}"
    );
    assert_eq!(
        sales["agentsByState"]["offline"].as_array().unwrap().len(),
        3
    );
    assert!(
        !o.to_string().contains("GINA"),
        "another tenant's agent: {o}"
    );

    let (s, _) = app
        .post(
            &format!("/api/v1/interactions/{queued}/hangup"),
            Some(&wendy),
            json!({}),
        )
        .await;
    assert_eq!(s, 200);

    // A chat reaches alice, she hands it to bob with data: the chain shows size, never content.
    let handed = hand_a_chat_from_alice_to_bob(&app, &t, DATA).await;
    let bob = handed.bob;
    bob.client
        .accept_interaction(Some(&handed.interaction))
        .await
        .unwrap();
    let (_, o) = app.get("/api/v1/supervisor/overview", Some(&sam)).await;
    let live = o["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == handed.interaction.as_str())
        .cloned()
        .unwrap();
    assert_eq!(live["parties"][0]["name"], "BOB", "{o}");
    assert_eq!(live["handOffs"], 1);
    let path = format!(
        "/api/v1/supervisor/interactions/{}/handoffs",
        handed.interaction
    );
    let (s, chain) = app.get(&path, Some(&sam)).await;
    assert_eq!(s, 200, "{chain}");
    let first = &chain["chain"][0];
    assert_eq!(first["kind"], "blind");
    assert_eq!(first["from"], "ALICE");
    assert_eq!(first["to"], "BOB");
    assert_eq!(first["bytes"], DATA.len());
    assert!(!chain.to_string().contains("C-1042"), "content in {chain}");

    // The supervisor sets alice (free again) not ready; she is told, and a plain agent may
    // not do it.
    let (s, body) = app
        .put(
            "/api/v1/supervisor/agents/alice/state",
            Some(&sam),
            json!({"state": "not_ready", "notReadyReason": "Coaching"}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let mut alice = handed.alice;
    loop {
        let e = alice.expect("ON_AGENT_STATE_CHANGE").await;
        if e.arg(0)["notReadyReason"] == "Coaching" {
            break;
        }
    }
    let (s, body) = app
        .put(
            "/api/v1/supervisor/agents/bob/state",
            Some(&sam),
            json!({"state": "busy"}),
        )
        .await;
    assert_eq!(
        (s, body["error"]["code"].clone()),
        (400, json!(3)),
        "{body}"
    );
    let (s, _) = app
        .put(
            "/api/v1/supervisor/agents/alice/state",
            Some(&bob.token),
            json!({"state": "ready"}),
        )
        .await;
    assert_eq!(s, 403);

    // Another tenant's supervisor cannot read it.
    app.put(
        "/api/v1/admin/tenants/globex/agents/gina/supervisor",
        Some(ADMIN),
        json!({"supervisor": true}),
    )
    .await;
    let gina = app.login("globex", "gina").await;
    let (s, _) = app.get(&path, Some(&gina)).await;
    assert_eq!(s, 404);
}

/// The console has sessions of its own: logging in there leaves the supervisor's widget
/// logged in, the console's token opens no agent socket, and logging out ends it.
#[tokio::test]
async fn a_console_login_leaves_the_supervisors_widget_logged_in() {
    let app = spawn_app().await;
    app.tenant("acme", &[("sam", "1003"), ("bob", "1002")])
        .await;
    app.put(
        "/api/v1/admin/tenants/acme/agents/sam/supervisor",
        Some(ADMIN),
        json!({"supervisor": true}),
    )
    .await;
    let mut widget = app.agent("acme", "sam", None).await;
    let login =
        |username: &str| json!({"tenant": "acme", "username": username, "password": PASSWORD});

    let (s, body) = app
        .post("/api/v1/supervisor/sessions", None, login("sam"))
        .await;
    assert_eq!(s, 201, "{body}");
    let console = body["token"].as_str().unwrap().to_owned();
    let (s, _) = app.get("/api/v1/supervisor/overview", Some(&console)).await;
    assert_eq!(s, 200);
    // The widget was not forced off: it still answers as sam.
    widget
        .expect_none("ON_SERVER_ERROR", std::time::Duration::from_millis(300))
        .await;
    let state = widget.client.get_agent_state().await.unwrap();
    assert_eq!(state.state, baton_protocol::AgentStateName::NotReady);
    // Both sessions are listed, each with its scope.
    let (_, sessions) = app
        .get("/api/v1/admin/tenants/acme/sessions", Some(ADMIN))
        .await;
    let mut scopes: Vec<String> = sessions
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["scope"].as_str().unwrap().to_owned())
        .collect();
    scopes.sort();
    assert_eq!(scopes, ["agent", "supervisor"], "{sessions}");

    // The console's token opens no agent socket.
    let refused =
        baton_client::connect(&app.ws_url(), baton_client::ConnectOptions::new(&console)).await;
    assert_eq!(
        refused.err().and_then(|e| e.api().map(|a| a.code)),
        Some(111)
    );
    // An agent without the role gets no console session.
    let (s, body) = app
        .post("/api/v1/supervisor/sessions", None, login("bob"))
        .await;
    assert_eq!(
        (s, body["error"]["code"].clone()),
        (403, json!(1)),
        "{body}"
    );
    let (s, body) = app
        .post(
            "/api/v1/supervisor/sessions",
            None,
            json!({"tenant": "acme", "username": "sam", "password": "wrong"}),
        )
        .await;
    assert_eq!((s, body["error"]["code"].clone()), (401, json!(109)));

    // Logging out of the console ends its token only.
    let (s, _) = app.delete("/api/v1/sessions/current", Some(&console)).await;
    assert_eq!(s, 204);
    let (s, _) = app.get("/api/v1/supervisor/overview", Some(&console)).await;
    assert_eq!(s, 401);
    let (s, _) = app.delete("/api/v1/sessions/current", Some(&console)).await;
    assert_eq!(s, 401, "a dead token cannot log out again");
    widget.client.get_agent_state().await.unwrap();
}
