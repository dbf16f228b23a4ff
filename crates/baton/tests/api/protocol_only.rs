//! A client written only from PROTOCOL.md: raw HTTP and WebSocket frames, no baton crates.

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::*;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn recv(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("frame in time")
            .unwrap()
            .unwrap();
        if let Message::Text(t) = msg {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

async fn until(ws: &mut Ws, pred: impl Fn(&Value) -> bool) -> Value {
    loop {
        let v = recv(ws).await;
        if pred(&v) {
            return v;
        }
    }
}

#[tokio::test]
async fn a_client_from_the_contract_alone_runs_a_chat_from_login_to_completion() {
    let app = spawn_app().await;
    let t = app.tenant("acme", &[("alice", "1001")]).await;
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{}/api/v1/sessions", app.base))
        .json(&json!({"tenant": "acme", "username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap();
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws/agent", app.addr))
        .await
        .unwrap();
    ws.send(Message::text(
        json!({"op":"hello","args":{"token":token,"integrationKey":null,"protocol":1}}).to_string(),
    ))
    .await
    .unwrap();
    let hello = recv(&mut ws).await;
    assert_eq!(hello["id"], 0);
    assert_eq!(hello["result"]["status"], "success");
    assert_eq!(hello["result"]["data"]["agentId"], login["agentId"]);
    assert_eq!(recv(&mut ws).await["event"], "ON_LOGIN");
    ws.send(Message::text(
        r#"{"id":1,"op":"setAgentState","args":["ready",null]}"#,
    ))
    .await
    .unwrap();
    assert_eq!(
        until(&mut ws, |v| v["id"] == 1).await["result"]["status"],
        "success"
    );

    let created: Value = http
        .post(format!("{}/api/v1/interactions", app.base))
        .bearer_auth(&t.ingress)
        .json(&json!({"channel":"chat","service":"Sales","customer":{"name":"Pat"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let offer = until(&mut ws, |v| v["event"] == "ON_NEW_INTERACTION").await;
    assert_eq!(offer["args"][0]["id"], id);
    for key in [
        "id",
        "channel",
        "state",
        "serviceName",
        "customer",
        "parties",
        "attachedData",
        "createdAt",
    ] {
        assert!(
            offer["args"][0].get(key).is_some(),
            "InteractionData lacks {key}"
        );
    }
    ws.send(Message::text(format!(
        r#"{{"id":2,"op":"acceptInteraction","args":["{id}"]}}"#
    )))
    .await
    .unwrap();
    assert_eq!(
        until(&mut ws, |v| v["id"] == 2).await["result"]["status"],
        "success"
    );

    let customer_token = created["customerToken"].as_str().unwrap();
    let status = http
        .post(format!("{}/api/v1/interactions/{id}/messages", app.base))
        .bearer_auth(customer_token)
        .json(&json!({"text":"hi there"}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 201);
    let msg = until(&mut ws, |v| v["event"] == "ON_CHAT_MESSAGE").await;
    assert_eq!(msg["args"][1]["text"], "hi there");
    ws.send(Message::text(format!(
        r#"{{"id":3,"op":"sendChatMessage","args":["hello Pat","{id}"]}}"#
    )))
    .await
    .unwrap();
    assert_eq!(
        until(&mut ws, |v| v["id"] == 3).await["result"]["status"],
        "success"
    );
    ws.send(Message::text(format!(
        r#"{{"id":4,"op":"completeInteraction","args":["{id}"]}}"#
    )))
    .await
    .unwrap();
    assert_eq!(
        until(&mut ws, |v| v["id"] == 4).await["result"]["status"],
        "success"
    );
    let removed = until(&mut ws, |v| v["event"] == "ON_INTERACTION_REMOVED").await;
    assert_eq!(removed["args"][0], id);
}

#[tokio::test]
async fn ops_endpoints_answer() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz", None).await.0, 200);
    assert_eq!(app.get("/readyz", None).await.0, 200);
    let metrics = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("# TYPE baton_commits_total counter"));
    let (s, spec) = app.get("/openapi.json", None).await;
    assert_eq!(s, 200);
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/sessions",
        "/api/v1/interactions",
        "/api/v1/admin/tenants/{tenant}/agents",
        "/api/v1/interactions/{id}/transfers",
    ] {
        assert!(spec["paths"].get(path).is_some(), "openapi lacks {path}");
    }
    let sdk = app
        .http
        .get(format!("{}/agent/crmembedded/adapters/api.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(sdk.status().as_u16(), 200);
    assert!(
        sdk.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
}
