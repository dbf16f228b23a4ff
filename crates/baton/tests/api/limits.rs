//! Bad input and limits: each answered with the protocol's error, the server keeps serving.

use std::time::Duration;

use baton_client::ConnectOptions;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::*;

async fn raw_socket(
    app: &TestApp,
    token: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let (mut ws, _) = tokio_tungstenite::connect_async(app.ws_url())
        .await
        .unwrap();
    ws.send(Message::text(
        json!({"op":"hello","args":{"token":token,"integrationKey":null,"protocol":1}}).to_string(),
    ))
    .await
    .unwrap();
    let first = next_json(&mut ws).await;
    assert_eq!(first["id"], 0);
    assert_eq!(first["result"]["status"], "success");
    ws
}

async fn next_json(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> Value {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("frame in time")
            .expect("open")
            .expect("ok");
        if let Message::Text(t) = msg {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

async fn response(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> Value {
    loop {
        let v = next_json(ws).await;
        if v.get("result").is_some() {
            return v;
        }
    }
}

#[tokio::test]
async fn malformed_json_and_unknown_ops_get_invalid_request_and_the_socket_stays_open() {
    let app = spawn_app().await;
    app.tenant("acme", &[("alice", "1001")]).await;
    let token = app.login("acme", "alice").await;
    let mut ws = raw_socket(&app, &token).await;
    ws.send(Message::text("{not json")).await.unwrap();
    let v = response(&mut ws).await;
    assert_eq!(v["id"], Value::Null);
    assert_eq!(v["result"]["error"]["code"], 7);
    ws.send(Message::text(r#"{"id":5,"op":"fly","args":[]}"#))
        .await
        .unwrap();
    let v = response(&mut ws).await;
    assert_eq!(
        (v["id"].clone(), v["result"]["error"]["code"].clone()),
        (json!(5), json!(7))
    );
    ws.send(Message::text(
        r#"{"id":6,"op":"setCallHold","args":["maybe"]}"#,
    ))
    .await
    .unwrap();
    let v = response(&mut ws).await;
    assert_eq!(v["result"]["error"]["code"], 3);
    ws.send(Message::text(r#"{"id":7,"op":"getAgentState","args":[]}"#))
        .await
        .unwrap();
    let v = response(&mut ws).await;
    assert_eq!(v["id"], 7);
    assert_eq!(v["result"]["data"]["state"], "not_ready");
}

#[tokio::test]
async fn an_oversize_frame_gets_payload_too_large_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    s.limits.max_frame_bytes = 1024;
    let app = spawn_with(dir, s).await;
    app.tenant("acme", &[("alice", "1001")]).await;
    let token = app.login("acme", "alice").await;
    let mut ws = raw_socket(&app, &token).await;
    let big = format!(
        r#"{{"id":1,"op":"addNote","args":["{}"]}}"#,
        "x".repeat(1500)
    );
    ws.send(Message::text(big)).await.unwrap();
    let v = response(&mut ws).await;
    assert_eq!(v["result"]["error"]["code"], 21);
    ws.send(Message::text(r#"{"id":2,"op":"getAgentState","args":[]}"#))
        .await
        .unwrap();
    assert_eq!(response(&mut ws).await["id"], 2);
    // Far over the limit: the transport closes this socket, the server lives on.
    let huge = format!(
        r#"{{"id":3,"op":"addNote","args":["{}"]}}"#,
        "x".repeat(5000)
    );
    let _ = ws.send(Message::text(huge)).await;
    let closed = tokio::time::timeout(WAIT, async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                _ => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok());
    let (status, _) = app.get("/healthz", None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn too_many_pending_requests_get_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    s.limits.max_pending_requests = 2;
    let app = spawn_with(dir, s).await;
    app.tenant("acme", &[("alice", "1001")]).await;
    let token = app.login("acme", "alice").await;
    let mut ws = raw_socket(&app, &token).await;
    let burst: String = (1..=50)
        .map(|i| format!(r#"{{"id":{i},"op":"getAgentState","args":[]}}"#))
        .collect::<Vec<_>>()
        .join("\n");
    for line in burst.lines() {
        ws.send(Message::text(line.to_owned())).await.unwrap();
    }
    let mut limited = 0;
    for _ in 0..50 {
        let v = response(&mut ws).await;
        if v["result"]["error"]["code"] == 22 {
            limited += 1;
        }
    }
    assert!(
        limited > 0,
        "a burst of 50 with a limit of 2 pending must hit the limit"
    );
}

#[tokio::test]
async fn a_rest_body_over_the_limit_gets_413_payload_too_large() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    s.limits.max_body_bytes = 2048;
    let app = spawn_with(dir, s).await;
    let (status, body) = app
        .post(
            "/api/v1/sessions",
            None,
            json!({"tenant": "x".repeat(4096), "username": "a", "password": "b"}),
        )
        .await;
    assert_eq!(status, 413);
    assert_eq!(body["error"]["code"], 21);
    let resp = app
        .http
        .post(format!("{}/api/v1/sessions", app.base))
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], 7);
}

#[tokio::test]
async fn login_attempts_are_rate_limited_per_user() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    s.limits.login_attempts_per_minute = 3;
    let app = spawn_with(dir, s).await;
    app.tenant("acme", &[("alice", "1001"), ("bob", "1002")])
        .await;
    for _ in 0..3 {
        let (s, _) = app
            .post(
                "/api/v1/sessions",
                None,
                json!({"tenant": "acme", "username": "alice", "password": "bad"}),
            )
            .await;
        assert_eq!(s, 401);
    }
    let (s, body) = app
        .post(
            "/api/v1/sessions",
            None,
            json!({"tenant": "acme", "username": "alice", "password": PASSWORD}),
        )
        .await;
    assert_eq!((s, body["error"]["code"].clone()), (429, json!(22)));
    app.login("acme", "bob").await;
}

#[tokio::test]
async fn a_slow_consumer_is_disconnected_instead_of_buffered() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    s.limits.send_queue_frames = 4;
    let app = spawn_with(dir, s).await;
    app.tenant("acme", &[("alice", "1001")]).await;
    let token = app.login("acme", "alice").await;
    // A raw socket that sends a burst of requests and never reads its answers.
    let (mut ws, _) = tokio_tungstenite::connect_async(app.ws_url())
        .await
        .unwrap();
    ws.send(Message::text(
        json!({"op":"hello","args":{"token":token,"protocol":1}}).to_string(),
    ))
    .await
    .unwrap();
    for i in 1..=60 {
        let big_note = format!(r#"{{"id":{i},"op":"getTeamMembers","args":["all"]}}"#);
        if ws.send(Message::text(big_note)).await.is_err() {
            break;
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, metrics) = (
        0,
        app.http
            .get(format!("{}/metrics", app.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let line = metrics
        .lines()
        .find(|l| l.starts_with("baton_slow_consumers_total"))
        .unwrap()
        .to_owned();
    assert_ne!(line, "baton_slow_consumers_total 0", "{metrics}");
    // The agent can come back with a fresh socket.
    app.connect(token, None, ConnectOptions::new("")).await;
}

#[tokio::test]
async fn connections_over_the_node_limit_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    s.limits.max_connections = 1;
    let app = spawn_with(dir, s).await;
    app.tenant("acme", &[("alice", "1001"), ("bob", "1002")])
        .await;
    let _alice = app.agent("acme", "alice", None).await;
    let token = app.login("acme", "bob").await;
    let err = tokio_tungstenite::connect_async(app.ws_url())
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("503"), "{err}");
    let _ = token;
}

#[tokio::test]
async fn a_browser_socket_from_a_foreign_origin_is_refused() {
    let app = spawn_app().await;
    app.tenant("acme", &[("alice", "1001")]).await;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = app.ws_url().into_client_request().unwrap();
    req.headers_mut()
        .insert("Origin", "https://evil.example".parse().unwrap());
    let err = tokio_tungstenite::connect_async(req)
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("403"), "{err}");
    for allowed in [
        format!("http://{}", app.addr),
        "https://crm.example.com".to_owned(),
    ] {
        let mut req = app.ws_url().into_client_request().unwrap();
        req.headers_mut().insert("Origin", allowed.parse().unwrap());
        assert!(
            tokio_tungstenite::connect_async(req).await.is_ok(),
            "{allowed}"
        );
    }
}

#[tokio::test]
async fn a_browser_hello_for_an_integration_from_a_foreign_host_page_is_refused() {
    let app = spawn_app().await;
    app.tenant("acme", &[("alice", "1001")]).await;
    let token = app.login("acme", "alice").await;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = app.ws_url().into_client_request().unwrap();
    req.headers_mut()
        .insert("Origin", format!("http://{}", app.addr).parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let hello = json!({"op":"hello","args":{"token":token,"integrationKey":"crm","hostOrigin":"https://evil.example","protocol":1}});
    ws.send(Message::text(hello.to_string())).await.unwrap();
    let v = next_json(&mut ws).await;
    assert_eq!(v["result"]["error"]["code"], 1);
}

#[tokio::test]
async fn a_customer_socket_without_a_token_gets_the_protocol_error() {
    let app = spawn_app().await;
    let url = format!("ws://{}/ws/customer", app.addr);
    let err = tokio_tungstenite::connect_async(url)
        .await
        .expect_err("refused");
    let tokio_tungstenite::tungstenite::Error::Http(resp) = err else {
        panic!("{err}")
    };
    assert_eq!(resp.status().as_u16(), 401);
    let body: Value = serde_json::from_slice(resp.body().as_deref().unwrap()).unwrap();
    assert_eq!(body["error"]["code"], 111);
}

/// The hello answer tells the widget the configured limits, so it can refuse over-long text
/// before sending it instead of losing it to a refused frame or a closed socket.
#[tokio::test]
async fn the_hello_answer_carries_the_message_and_frame_limits() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    s.limits.max_frame_bytes = 4096;
    s.interaction_limits.max_message_chars = 1234;
    let app = spawn_with(dir, s).await;
    app.tenant("acme", &[("alice", "1001")]).await;
    let token = app.login("acme", "alice").await;
    let (mut ws, _) = tokio_tungstenite::connect_async(app.ws_url())
        .await
        .unwrap();
    ws.send(Message::text(
        json!({"op":"hello","args":{"token":token,"protocol":1}}).to_string(),
    ))
    .await
    .unwrap();
    let hello = response(&mut ws).await;
    assert_eq!(hello["id"], 0);
    assert_eq!(
        hello["result"]["data"]["limits"],
        json!({"maxMessageChars": 1234, "maxFrameBytes": 4096})
    );
}

/// Reads from a raw TCP connection until the server closes it; `false` if it stays open
/// longer than `WAIT`.
async fn closed_by_server(tcp: &mut tokio::net::TcpStream) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 1024];
    let until = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(until, tcp.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn connections_that_are_not_served_in_time_are_closed_but_websockets_stay() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    // Longer than a login's password check takes here: a request's handling counts too.
    s.limits.http_idle_timeout_ms = 2_000;
    let app = spawn_with(dir, s).await;
    app.tenant("acme", &[("alice", "1001")]).await;
    let alice = app.agent("acme", "alice", None).await;

    // Slowloris: headers a line at a time, never finished.
    let mut trickle = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    trickle
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let trickling = tokio::spawn(async move {
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if trickle.write_all(b"X-Slow: 1\r\n").await.is_err() {
                return true;
            }
        }
        false
    });
    // Connected and silent.
    let mut silent = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    assert!(
        closed_by_server(&mut silent).await,
        "a silent connection stays open"
    );
    assert!(
        trickling.await.unwrap(),
        "a trickling request is never cut off"
    );

    // A keep-alive connection quiet between requests is kept: a client reusing it must
    // not race a close.
    let mut kept = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    for _ in 0..2 {
        kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut answer = [0u8; 512];
        let n = tokio::time::timeout(WAIT, tokio::io::AsyncReadExt::read(&mut kept, &mut answer))
            .await
            .unwrap()
            .unwrap();
        assert!(
            answer[..n].starts_with(b"HTTP/1.1 200"),
            "{:?}",
            &answer[..n]
        );
        tokio::time::sleep(Duration::from_millis(2_500)).await;
    }

    // A WebSocket idle for longer than the timeout is still served.
    alice.client.get_agent_state().await.unwrap();
    let r = app
        .http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// Sends `GET /healthz` on `tcp` and says whether the answer came within `within`.
async fn served(tcp: &mut tokio::net::TcpStream, within: Duration) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    if tcp
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .is_err()
    {
        return false;
    }
    let mut answer = [0u8; 512];
    matches!(
        tokio::time::timeout(within, tcp.read(&mut answer)).await,
        Ok(Ok(n)) if answer[..n].starts_with(b"HTTP/1.1 200")
    )
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    s.limits.max_http_connections = 4;
    let app = spawn_with(dir, s).await;

    // Keep-alive connections, each served once and held open, until one is not served:
    // the test client's own pooled connection may hold a place too.
    let mut held = Vec::new();
    let mut waiting = None;
    for _ in 0..6 {
        let mut tcp = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        if served(&mut tcp, Duration::from_millis(1_500)).await {
            held.push(tcp);
        } else {
            waiting = Some(tcp);
            break;
        }
    }
    let mut waiting = waiting.expect("a fifth connection is not served while four are open");
    assert!(!held.is_empty() && held.len() <= 4, "{} served", held.len());

    // One closes: the waiting connection is accepted and its request answered.
    drop(held.pop());
    use tokio::io::AsyncReadExt;
    let mut answer = [0u8; 512];
    let n = tokio::time::timeout(WAIT, waiting.read(&mut answer))
        .await
        .expect("served once a place is free")
        .unwrap();
    assert!(
        answer[..n].starts_with(b"HTTP/1.1 200"),
        "{:?}",
        &answer[..n]
    );
}
