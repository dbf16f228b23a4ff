//! What the customer's socket tells them: the end whoever ends the chat, who they are
//! chatting with, their place in the queue, typing, limits and answers to their sends.

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::*;

/// A customer's socket and every frame it received.
struct Customer {
    ws: CustomerSocket,
    seen: Vec<Value>,
}

impl Customer {
    async fn connect(app: &TestApp, token: &str) -> Customer {
        let url = format!("ws://{}/ws/customer?token={token}", app.addr);
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        Customer {
            ws,
            seen: Vec::new(),
        }
    }

    /// The next frame, or `None` once the server closed the socket.
    async fn next(&mut self) -> Option<Value> {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a frame within WAIT")
            {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    self.seen.push(v.clone());
                    return Some(v);
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Waits for a frame that satisfies `test`.
    async fn until(&mut self, what: &str, test: impl Fn(&Value) -> bool) -> Value {
        loop {
            match self.next().await {
                Some(v) if test(&v) => return v,
                Some(_) => continue,
                None => panic!("closed while waiting for {what}; saw {:?}", self.seen),
            }
        }
    }

    async fn state(&mut self, state: &str) -> Value {
        self.until(state, |v| {
            v["event"] == "state" && v["args"][0]["state"] == state
        })
        .await["args"][0]
            .clone()
    }

    async fn send(&mut self, frame: Value) {
        self.ws
            .send(Message::text(frame.to_string()))
            .await
            .unwrap();
    }

    /// Reads until the server closes; returns the frames of that stretch.
    async fn until_closed(&mut self) -> Vec<Value> {
        let mut frames = Vec::new();
        while let Some(v) = self.next().await {
            frames.push(v);
        }
        frames
    }
}

#[tokio::test]
async fn the_customer_is_told_the_chat_ended_before_the_socket_closes() {
    let app = spawn_app().await;
    let t = app.tenant("acme", &[("alice", "1001")]).await;
    let mut alice = app.agent("acme", "alice", None).await;
    alice.ready().await;
    let (id, token) = app.customer(&t, "chat", "Sales", "Carl").await;
    alice.accept_next().await;
    let mut carl = Customer::connect(&app, &token).await;
    let limits = carl.next().await.unwrap();
    assert_eq!(limits["event"], "limits");
    assert_eq!(limits["args"][0]["maxMessageChars"], 8000);
    carl.state("connected").await;
    let path = format!("/api/v1/interactions/{id}/customer-state");
    let (s, page) = app.get(&path, Some(&token)).await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(
        (
            page["state"]["state"].clone(),
            page["maxMessageChars"].clone()
        ),
        (json!("connected"), json!(8000))
    );

    alice.client.complete_interaction(Some(&id)).await.unwrap();
    let last = carl.until_closed().await;
    let end = last
        .iter()
        .find(|v| v["event"] == "state")
        .expect("a state frame before the close");
    assert_eq!(end["args"][0]["state"], "completed", "{last:?}");

    // A new socket is refused: the page must not reconnect into a loop.
    let url = format!("ws://{}/ws/customer?token={token}", app.addr);
    assert!(tokio_tungstenite::connect_async(url).await.is_err());
    // The page asks by REST why, and learns the chat has ended.
    let (s, page) = app.get(&path, Some(&token)).await;
    assert_eq!(
        (s, page["state"]["state"].clone()),
        (200, json!("completed"))
    );
}

#[tokio::test]
async fn the_customer_sees_who_they_are_chatting_with_as_agents_join_and_leave() {
    let app = spawn_app().await;
    let t = app
        .tenant("acme", &[("alice", "1001"), ("bob", "1002")])
        .await;
    let mut alice = app.agent("acme", "alice", None).await;
    let mut bob = app.agent("acme", "bob", None).await;
    alice.ready().await;
    let (id, token) = app.customer(&t, "chat", "Sales", "Carl").await;
    alice.accept_next().await;
    let mut carl = Customer::connect(&app, &token).await;
    let s = carl.state("connected").await;
    assert_eq!(s["agentNames"], json!(["ALICE"]));

    let bob_id = bob.client.agent_id().to_owned();
    alice
        .client
        .invite_to_chat_conference(&bob_id, Some(&id))
        .await
        .unwrap();
    bob.accept_next().await;
    let s = carl
        .until("both names", |v| {
            v["event"] == "state" && v["args"][0]["agentNames"].as_array().map(Vec::len) == Some(2)
        })
        .await;
    assert_eq!(s["args"][0]["agentNames"], json!(["ALICE", "BOB"]));

    alice.client.leave_interaction(Some(&id)).await.unwrap();
    let s = carl
        .until("bob alone", |v| {
            v["event"] == "state" && v["args"][0]["agentNames"] == json!(["BOB"])
        })
        .await;
    assert_eq!(s["args"][0]["state"], "connected");
}

#[tokio::test]
async fn a_queued_customer_learns_their_place_and_that_no_agent_is_ready() {
    let app = spawn_app().await;
    let t = app.tenant("acme", &[("alice", "1001")]).await;
    let mut alice = app.agent("acme", "alice", None).await;
    let (_first, first_token) = app.customer(&t, "chat", "Sales", "Ann").await;
    let (_second, second_token) = app.customer(&t, "chat", "Sales", "Ben").await;
    let mut ann = Customer::connect(&app, &first_token).await;
    let mut ben = Customer::connect(&app, &second_token).await;
    let a = ann.state("queued").await;
    let b = ben.state("queued").await;
    assert_eq!(
        (a["position"].clone(), b["position"].clone()),
        (json!(1), json!(2))
    );
    assert_eq!(b["agentsAvailable"], false);
    assert_eq!(b["expectedWaitMs"], Value::Null);

    // Ann is offered to alice: Ben moves up without his own interaction changing.
    alice.ready().await;
    ann.state("ringing").await;
    let b = ben
        .until("position 1", |v| {
            v["event"] == "state" && v["args"][0]["position"] == 1
        })
        .await;
    assert_eq!(b["args"][0]["state"], "queued");
    assert!(b["args"][0]["expectedWaitMs"].is_u64(), "{b}");
}

#[tokio::test]
async fn typing_goes_both_ways_and_is_never_stored() {
    let app = spawn_app().await;
    let t = app.tenant("acme", &[("alice", "1001")]).await;
    let mut alice = app.agent("acme", "alice", None).await;
    alice.ready().await;
    let (id, token) = app.customer(&t, "chat", "Sales", "Carl").await;
    alice.accept_next().await;
    let mut carl = Customer::connect(&app, &token).await;
    carl.state("connected").await;

    carl.send(json!({"op": "typing", "args": [true]})).await;
    let e = alice.expect("ON_TYPING").await;
    assert_eq!(e.arg(0), id.as_str());
    assert_eq!(
        e.arg(1),
        json!({"partyId": "customer", "name": "Carl", "typing": true})
    );

    alice
        .client
        .call("setTyping", vec![json!(true), json!(id)])
        .await
        .unwrap();
    let t = carl.until("typing", |v| v["event"] == "typing").await;
    assert_eq!(t["args"][0], json!({"name": "ALICE", "typing": true}));

    let e = alice
        .client
        .call("setTyping", vec![json!("yes")])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("typing"), "{e}");
    carl.send(json!({"op": "typing", "args": ["yes"], "id": 9}))
        .await;
    let r = carl.until("answer 9", |v| v["id"] == 9).await;
    assert_eq!(r["result"]["error"]["code"], 3, "{r}");
}

#[tokio::test]
async fn a_send_with_an_id_is_answered_both_when_it_is_taken_and_when_it_is_refused() {
    let app = spawn_app().await;
    let t = app.tenant("acme", &[("alice", "1001")]).await;
    let mut alice = app.agent("acme", "alice", None).await;
    alice.ready().await;
    let (_id, token) = app.customer(&t, "chat", "Sales", "Carl").await;
    alice.accept_next().await;
    let mut carl = Customer::connect(&app, &token).await;
    carl.state("connected").await;

    carl.send(json!({"op": "message", "args": ["hello"], "id": 1}))
        .await;
    let ok = carl.until("answer 1", |v| v["id"] == 1).await;
    assert!(ok["result"].get("error").is_none(), "{ok}");

    carl.send(json!({"op": "message", "args": ["x".repeat(8001)], "id": 2}))
        .await;
    let refused = carl.until("answer 2", |v| v["id"] == 2).await;
    assert_eq!(refused["result"]["error"]["code"], 3, "{refused}");
    assert!(
        refused["result"]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("8000"),
        "{refused}"
    );
}

#[tokio::test]
async fn the_end_reaches_the_customer_when_the_last_agent_leaves_or_they_hang_up() {
    for how in ["leave", "hangup"] {
        let app = spawn_app().await;
        let t = app.tenant("acme", &[("alice", "1001")]).await;
        let mut alice = app.agent("acme", "alice", None).await;
        alice.ready().await;
        let (id, token) = app.customer(&t, "chat", "Sales", "Carl").await;
        alice.accept_next().await;
        let mut carl = Customer::connect(&app, &token).await;
        carl.state("connected").await;
        if how == "leave" {
            alice.client.leave_interaction(Some(&id)).await.unwrap();
        } else {
            let (s, _) = app
                .post(
                    &format!("/api/v1/interactions/{id}/hangup"),
                    Some(&token),
                    json!({}),
                )
                .await;
            assert_eq!(s, 200);
        }
        let last = carl.until_closed().await;
        let end = last.iter().rev().find(|v| v["event"] == "state");
        assert_eq!(
            end.map(|v| v["args"][0]["state"].clone()),
            Some(json!("completed")),
            "{how}: {last:?}"
        );
    }
}
