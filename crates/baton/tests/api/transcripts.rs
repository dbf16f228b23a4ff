//! Chat transcripts are appended rows (decision 0016): a message writes one row and leaves
//! the interaction record alone; state changes do not carry the transcript; whoever opens
//! the interaction again (a reloaded widget, a reconnecting customer, a restart) gets it whole.

use baton_client::ConnectOptions;
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::helpers::*;

const MESSAGES: usize = 60;

/// `(length of the interaction's record, message rows)` in the SQLite file, read beside the
/// running server (WAL readers do not block it).
fn stored(app: &TestApp, id: &str) -> (i64, i64) {
    let db = rusqlite::Connection::open_with_flags(
        app.data_dir.path().join("baton.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let record = db
        .query_row(
            "SELECT length(body) FROM interactions WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    let rows = db
        .query_row(
            "SELECT count(*) FROM messages WHERE interaction_id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    (record, rows)
}

fn text(n: usize) -> String {
    format!("message {n:03} {}", "x".repeat(200))
}

/// The customer socket's greeting: the `message` texts before the first `state`, and that
/// `state` frame.
async fn customer_greeting(app: &TestApp, token: &str) -> (Vec<String>, Value) {
    let url = format!("ws://{}/ws/customer?token={token}", app.addr);
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let mut texts = Vec::new();
    loop {
        let frame = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("the greeting")
            .unwrap()
            .unwrap();
        let v: Value = serde_json::from_str(frame.to_text().unwrap()).unwrap();
        match v["event"].as_str() {
            Some("message") => texts.push(v["args"][0]["text"].as_str().unwrap().to_owned()),
            Some("state") => return (texts, v),
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_long_chat_is_appended_row_by_row_and_state_changes_leave_the_transcript_out() {
    let app = spawn_app().await;
    let t = app.tenant("acme", &[("alice", "1001")]).await;
    let mut alice = app.agent("acme", "alice", None).await;
    alice.ready().await;
    let (id, customer_token) = app.customer(&t, "chat", "Sales", "Carl").await;
    alice.accept_next().await;

    alice
        .client
        .send_chat_message(&text(0), Some(&id))
        .await
        .unwrap();
    let (record, rows) = stored(&app, &id);
    assert_eq!(rows, 1);
    for n in 1..MESSAGES {
        if n % 2 == 0 {
            alice
                .client
                .send_chat_message(&text(n), Some(&id))
                .await
                .unwrap();
        } else {
            let (s, body) = app
                .post(
                    &format!("/api/v1/interactions/{id}/messages"),
                    Some(&customer_token),
                    json!({"text": text(n)}),
                )
                .await;
            assert_eq!(s, 201, "{body}");
        }
    }
    // One row per message; the record is the same size as after the first message.
    assert_eq!(stored(&app, &id), (record, MESSAGES as i64));

    // A state change after all those messages does not carry them.
    alice
        .client
        .set_variable("caseId", json!("C-7"), Some(&id))
        .await
        .unwrap();
    let change = loop {
        let e = alice.expect("ON_INTERACTION_STATE_CHANGE").await;
        if e.arg(0)["attachedData"]["caseId"] == "C-7" {
            break e.arg(0);
        }
    };
    let frame = change.to_string();
    assert!(change.get("messages").is_none(), "{frame}");
    assert!(!frame.contains("message 000"), "{frame}");

    // A reloaded widget gets the whole transcript, in order, when the chat is announced.
    alice.client.close();
    let mut again = app
        .connect(alice.token.clone(), None, ConnectOptions::new(""))
        .await;
    let announced = again.expect("ON_NEW_INTERACTION").await;
    let texts: Vec<String> = announced.arg(0)["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = (0..MESSAGES).map(text).collect();
    assert_eq!(texts, expected);
    let state = again.client.get_interactions_state().await.unwrap();
    assert_eq!(
        state.interactions[0].messages.as_ref().map(Vec::len),
        Some(MESSAGES)
    );

    // So does a reconnecting customer, and its `state` frame carries no transcript.
    let (greeting, customer_state) = customer_greeting(&app, &customer_token).await;
    assert_eq!(greeting, expected);
    assert!(
        !customer_state.to_string().contains("message 000"),
        "{customer_state}"
    );
}

#[tokio::test]
async fn a_transcript_survives_restarts_and_goes_on_where_it_stopped() {
    let app = spawn_app().await;
    let t = app.tenant("acme", &[("alice", "1001")]).await;
    let mut alice = app.agent("acme", "alice", None).await;
    alice.ready().await;
    let (id, customer_token) = app.customer(&t, "chat", "Sales", "Carl").await;
    alice.accept_next().await;
    for n in 0..3 {
        alice
            .client
            .send_chat_message(&text(n), Some(&id))
            .await
            .unwrap();
    }
    let token = alice.token.clone();
    drop(alice);

    let app = app.restart().await;
    let alice = app
        .connect(token.clone(), None, ConnectOptions::new(""))
        .await;
    alice
        .client
        .send_chat_message(&text(3), Some(&id))
        .await
        .unwrap();
    drop(alice);

    let app = app.restart().await;
    let mut alice = app.connect(token, None, ConnectOptions::new("")).await;
    let announced = alice.expect("ON_NEW_INTERACTION").await;
    let texts: Vec<String> = announced.arg(0)["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = (0..4).map(text).collect();
    assert_eq!(texts, expected);
    assert_eq!(stored(&app, &id).1, 4);
    let (greeting, _) = customer_greeting(&app, &customer_token).await;
    assert_eq!(greeting, expected);
}
