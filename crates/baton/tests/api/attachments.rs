//! Chat attachments (decision 0014): upload and download both ways over REST, the size
//! limit, the type allow-list by content, who may download, retention and encryption.

use futures_util::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::*;

/// The 8-byte PNG signature and a little more: enough for the sniffer.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR-baton-attachment-test";
/// The start of a Windows executable.
const EXE: &[u8] = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0";

async fn upload(
    app: &TestApp,
    interaction: &str,
    token: &str,
    name: &str,
    declared: &str,
    body: &[u8],
) -> (u16, Value) {
    let resp = app
        .http
        .post(format!(
            "{}/api/v1/interactions/{interaction}/attachments",
            app.base
        ))
        .query(&[("filename", name)])
        .bearer_auth(token)
        .header("content-type", declared)
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn download(
    app: &TestApp,
    interaction: &str,
    attachment: &str,
    token: &str,
) -> reqwest::Response {
    app.http
        .get(format!(
            "{}/api/v1/interactions/{interaction}/attachments/{attachment}",
            app.base
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// The customer's socket, read until a message (live or replayed) carries attachment `id`.
async fn customer_sees_attachment(app: &TestApp, token: &str, id: &Value) -> Value {
    let url = format!("ws://{}/ws/customer?token={token}", app.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    loop {
        let frame = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a frame within WAIT");
        let Some(Ok(Message::Text(t))) = frame else {
            continue;
        };
        let v: Value = serde_json::from_str(&t).unwrap();
        if v["event"] == "message" && v["args"][0]["attachment"]["id"] == *id {
            return v["args"][0].clone();
        }
        // A state frame replays the transcript for a customer who connects late.
        if let Some(m) = v["args"][0]["messages"]
            .as_array()
            .and_then(|ms| ms.iter().find(|m| m["attachment"]["id"] == *id).cloned())
        {
            return m;
        }
    }
}

#[tokio::test]
async fn a_customer_and_an_agent_send_files_to_each_other() {
    let app = spawn_app().await;
    let t = app.tenant("acme", &[("alice", "1001")]).await;
    let mut alice = app.agent("acme", "alice", None).await;
    alice.ready().await;
    let (id, token) = app.customer(&t, "chat", "Sales", "Carl").await;
    alice.accept_next().await;

    // Customer → agent: the declared type is ignored, the sniffed one is kept.
    let (s, body) = upload(&app, &id, &token, "scan.png", "application/x-anything", PNG).await;
    assert_eq!(s, 201, "{body}");
    let att = &body["attachment"];
    assert_eq!(att["contentType"], "image/png");
    assert_eq!(att["size"], PNG.len());
    assert_eq!(att["name"], "scan.png");
    let msg = alice.expect("ON_CHAT_MESSAGE").await.arg(1);
    assert_eq!(msg["attachment"], *att, "{msg}");
    assert_eq!(msg["from"], "customer");
    let att_id = att["id"].as_str().unwrap();
    let resp = download(&app, &id, att_id, &alice.token).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/png");
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"scan.png\""),
    );
    assert_eq!(&resp.bytes().await.unwrap()[..], PNG);

    // Agent → customer, with the agent's session token.
    let text = b"Your case number is C-1042.\n";
    let (s, body) = upload(&app, &id, &alice.token, "case.txt", "text/plain", text).await;
    assert_eq!(s, 201, "{body}");
    let att = body["attachment"].clone();
    assert_eq!(att["contentType"], "text/plain");
    let seen = customer_sees_attachment(&app, &token, &att["id"]).await;
    assert_eq!(seen["attachment"]["id"], att["id"], "{seen}");
    let resp = download(&app, &id, att["id"].as_str().unwrap(), &token).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(&resp.bytes().await.unwrap()[..], text);
}

#[tokio::test]
async fn size_type_and_name_limits_are_enforced_and_nothing_is_half_sent() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    s.attachments.max_bytes = 1024;
    s.attachments.types = vec!["image/png".into()];
    let app = spawn_with(dir, s).await;
    let t = app.tenant("acme", &[("alice", "1001")]).await;
    let mut alice = app.agent("acme", "alice", None).await;
    alice.ready().await;
    let (id, token) = app.customer(&t, "chat", "Sales", "Carl").await;
    alice.accept_next().await;

    let mut big = PNG.to_vec();
    big.resize(1025, 0);
    let (s, body) = upload(&app, &id, &token, "big.png", "image/png", &big).await;
    assert_eq!(
        (s, body["error"]["code"].as_u64()),
        (413, Some(21)),
        "{body}"
    );
    assert!(body["error"]["message"].as_str().unwrap().contains("1024"));

    // A .png name with executable bytes: refused by content.
    let (s, body) = upload(&app, &id, &token, "photo.png", "image/png", EXE).await;
    assert_eq!(
        (s, body["error"]["code"].as_u64()),
        (400, Some(3)),
        "{body}"
    );
    // Text is a known type, but not on this server's list.
    let (s, body) = upload(&app, &id, &token, "a.txt", "text/plain", b"hello").await;
    assert_eq!(
        (s, body["error"]["code"].as_u64()),
        (400, Some(3)),
        "{body}"
    );
    let (s, body) = upload(&app, &id, &token, "", "image/png", PNG).await;
    assert_eq!(
        (s, body["error"]["code"].as_u64()),
        (400, Some(3)),
        "{body}"
    );
    let (s, body) = upload(&app, &id, &token, &"n".repeat(201), "image/png", PNG).await;
    assert_eq!(
        (s, body["error"]["code"].as_u64()),
        (400, Some(3)),
        "{body}"
    );

    // The exact limit passes; the refused uploads reached nobody.
    let mut exact = PNG.to_vec();
    exact.resize(1024, 0);
    let (s, body) = upload(&app, &id, &token, "ok.png", "image/png", &exact).await;
    assert_eq!(s, 201, "{body}");
    let msg = alice.expect("ON_CHAT_MESSAGE").await.arg(1);
    assert_eq!(msg["attachment"]["name"], "ok.png", "{msg}");
    assert!(
        !alice
            .seen
            .iter()
            .any(|e| e.name == "ON_CHAT_MESSAGE" && e.arg(1)["attachment"]["name"] != "ok.png"),
        "a refused upload was announced"
    );

    // Once the chat ended, an upload is refused and its content does not stay.
    alice.client.complete_interaction(Some(&id)).await.unwrap();
    let (s, body) = upload(&app, &id, &token, "late.png", "image/png", PNG).await;
    assert!(s >= 400, "{s} {body}");
    let db = rusqlite::Connection::open(app.data_dir.path().join("baton.db")).unwrap();
    let rows: i64 = db
        .query_row("SELECT COUNT(*) FROM attachments", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1, "only the announced file is stored");
}

#[tokio::test]
async fn only_the_parties_of_an_interaction_can_download_its_files() {
    let app = spawn_app().await;
    let t = app
        .tenant("acme", &[("alice", "1001"), ("bob", "1002")])
        .await;
    let mut alice = app.agent("acme", "alice", None).await;
    alice.ready().await;
    let (id, token) = app.customer(&t, "chat", "Sales", "Carl").await;
    alice.accept_next().await;
    let (s, body) = upload(&app, &id, &token, "scan.png", "image/png", PNG).await;
    assert_eq!(s, 201, "{body}");
    let att = body["attachment"]["id"].as_str().unwrap().to_owned();

    // Another interaction's customer, an agent who never took part, a bad id: all 404.
    let (other, other_token) = app.customer(&t, "chat", "Sales", "Dora").await;
    assert_eq!(download(&app, &id, &att, &other_token).await.status(), 404);
    assert_eq!(
        download(&app, &other, &att, &other_token).await.status(),
        404
    );
    let bob = app.login("acme", "bob").await;
    let resp = download(&app, &id, &att, &bob).await;
    assert_eq!(resp.status(), 404);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"]["name"],
        "object_not_found"
    );
    assert_eq!(download(&app, &id, "att-nope", &token).await.status(), 404);
    assert_eq!(download(&app, &id, &att, "not-a-token").await.status(), 401);
    // Another customer cannot post into this chat either.
    let (s, _) = upload(&app, &id, &other_token, "x.png", "image/png", PNG).await;
    assert_eq!(s, 403);

    // Alice, a past party, still can after the chat ended.
    alice.client.complete_interaction(Some(&id)).await.unwrap();
    assert_eq!(download(&app, &id, &att, &alice.token).await.status(), 200);
}

#[tokio::test]
async fn retention_deletes_attachments_with_the_transfer_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    s.purge_interval_secs = 1;
    let app = spawn_with(dir, s).await;
    let t = app.tenant("acme", &[("alice", "1001")]).await;
    app.settings("acme", serde_json::json!({"retentionSecs": 0}))
        .await;
    let mut alice = app.agent("acme", "alice", None).await;
    alice.ready().await;
    let (id, token) = app.customer(&t, "chat", "Sales", "Carl").await;
    alice.accept_next().await;
    let (s, body) = upload(&app, &id, &token, "scan.png", "image/png", PNG).await;
    assert_eq!(s, 201, "{body}");
    let att = body["attachment"]["id"].as_str().unwrap().to_owned();
    let store = baton_store::SqliteStore::open(app.data_dir.path()).unwrap();
    use baton_store::Store;
    assert!(store.attachment_stored(&att).unwrap().is_some());
    alice.client.complete_interaction(Some(&id)).await.unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while store.attachment_stored(&att).unwrap().is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "attachment still stored after retention"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(download(&app, &id, &att, &token).await.status(), 404);
}

#[tokio::test]
async fn attachments_are_encrypted_at_rest_under_a_data_key() {
    const KEY: &str = "k1:4242424242424242424242424242424242424242424242424242424242424242";
    let dir = tempfile::tempdir().unwrap();
    let s = baton_server::Settings {
        data_cipher: Some(baton_store::DataCipher::parse(KEY).unwrap()),
        ..settings(dir.path())
    };
    let app = spawn_with(dir, s).await;
    let t = app.tenant("acme", &[("alice", "1001")]).await;
    let mut alice = app.agent("acme", "alice", None).await;
    alice.ready().await;
    let (id, token) = app.customer(&t, "chat", "Sales", "Carl").await;
    alice.accept_next().await;
    let secret = b"account 4242-SECRET-PAYLOAD\n";
    let (s, body) = upload(&app, &id, &token, "note.txt", "text/plain", secret).await;
    assert_eq!(s, 201, "{body}");
    let att = body["attachment"]["id"].as_str().unwrap().to_owned();
    // Neither the raw bytes nor their base64 are in any file of the data directory.
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
    for entry in std::fs::read_dir(app.data_dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes.windows(17).any(|w| w == b"4242-SECRET-PAYLO"),
            "plaintext in {}",
            path.display()
        );
        assert!(
            !bytes.windows(20).any(|w| w == &b64.as_bytes()[..20]),
            "unencrypted base64 in {}",
            path.display()
        );
    }
    let db = rusqlite::Connection::open(app.data_dir.path().join("baton.db")).unwrap();
    let stored: String = db
        .query_row("SELECT data FROM attachments WHERE id = ?1", [&att], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(stored.starts_with("v1:k1:"), "{stored}");
    let resp = download(&app, &id, &att, &alice.token).await;
    assert_eq!(&resp.bytes().await.unwrap()[..], secret);
}

#[tokio::test]
async fn uploads_per_chat_are_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    s.attachments.uploads_per_minute = 2;
    let app = spawn_with(dir, s).await;
    let t = app.tenant("acme", &[("alice", "1001")]).await;
    let mut alice = app.agent("acme", "alice", None).await;
    alice.ready().await;
    let (id, token) = app.customer(&t, "chat", "Sales", "Carl").await;
    alice.accept_next().await;
    for name in ["1.png", "2.png"] {
        let (s, body) = upload(&app, &id, &token, name, "image/png", PNG).await;
        assert_eq!(s, 201, "{body}");
    }
    // The agent's upload counts against the same chat.
    let (s, body) = upload(&app, &id, &alice.token, "3.png", "image/png", PNG).await;
    assert_eq!(s, 429, "{body}");
    assert_eq!(body["error"]["name"], "rate_limited", "{body}");
    // Another chat has its own allowance.
    // Another chat has its own allowance (Dora waits in the queue, so hers is refused by the
    // core, not by the limiter).
    let (other, other_token) = app.customer(&t, "chat", "Sales", "Dora").await;
    let (s, body) = upload(&app, &other, &other_token, "x.png", "image/png", PNG).await;
    assert_ne!(body["error"]["name"], "rate_limited", "{s} {body}");
}

#[tokio::test]
async fn the_openapi_document_lists_the_attachment_routes() {
    let app = spawn_app().await;
    let (_, spec) = app.get("/openapi.json", None).await;
    for path in [
        "/api/v1/interactions/{id}/attachments",
        "/api/v1/interactions/{id}/attachments/{attachment}",
    ] {
        assert!(spec["paths"].get(path).is_some(), "openapi lacks {path}");
    }
}
