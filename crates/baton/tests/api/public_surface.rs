//! What the public can reach without an account (issue 12): the security headers on every
//! page and response, the host page a widget's hello may claim, and (further down) the
//! limits that keep anonymous customers from exhausting the server.

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::*;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn first_json(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a frame in time")
            .expect("open")
            .expect("ok");
        if let Message::Text(t) = msg {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

/// An agent socket with this `Origin` (none = not a browser) and this hello.
async fn hello_from(app: &TestApp, origin: Option<&str>, hello: Value) -> Value {
    let mut req = app.ws_url().into_client_request().unwrap();
    if let Some(origin) = origin {
        req.headers_mut().insert("Origin", origin.parse().unwrap());
    }
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    ws.send(Message::text(hello.to_string())).await.unwrap();
    first_json(&mut ws).await
}

fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Every page, file and API answer carries the headers; only `/widget/` may be framed,
/// and only by Baton itself and the origins an integration lists.
#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    // Each answer as it is, redirects included (`/` redirects to the widget).
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    app.tenant("acme", &[("alice", "1001")]).await;
    for path in [
        "/widget/",
        "/widget/widget.js",
        "/demo-crm/",
        "/chat/",
        "/sdk/adapi.js",
        "/agent/crmembedded/adapters/api.js",
        "/healthz",
        "/api/v1/services",
        "/no-such-page",
        "/",
    ] {
        let res = http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(header(&res, "x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header(&res, "referrer-policy"), "no-referrer", "{path}");
        assert_eq!(header(&res, "strict-transport-security"), "", "{path}");
        let csp = header(&res, "content-security-policy");
        assert!(csp.contains("script-src 'self';"), "{path}: {csp}");
        assert!(csp.contains("object-src 'none'"), "{path}: {csp}");
        let ancestors = csp.split("frame-ancestors ").nth(1).unwrap_or_default();
        if path.starts_with("/widget/") {
            assert_eq!(ancestors, "'self' https://crm.example.com", "{path}");
            assert_eq!(header(&res, "x-frame-options"), "", "{path}");
        } else {
            assert_eq!(ancestors, "'none'", "{path}");
            assert_eq!(header(&res, "x-frame-options"), "DENY", "{path}");
        }
    }
    // A new integration's origin may frame the widget at once.
    let (s, _) = app
        .post(
            "/api/v1/admin/tenants/acme/integrations",
            Some(ADMIN),
            json!({"integrationKey": "k2", "name": "K2", "allowedOrigins": ["http://crm2.example:8080", "https://x.example; script-src *"]}),
        )
        .await;
    assert_eq!(s, 201);
    let res = app
        .http
        .get(format!("{}/widget/", app.base))
        .send()
        .await
        .unwrap();
    let csp = header(&res, "content-security-policy");
    assert!(
        csp.ends_with("frame-ancestors 'self' http://crm2.example:8080 https://crm.example.com"),
        "{csp}"
    );
}

/// No page of Baton's has an inline script or style the policy would block.
#[test]
fn pages_have_no_inline_script_or_style() {
    let web = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web");
    for page in ["widget", "demo-crm", "chat"] {
        let html = std::fs::read_to_string(web.join(page).join("index.html")).unwrap();
        for (i, part) in html.split("<script").enumerate().skip(1) {
            let tag = part.split('>').next().unwrap();
            assert!(tag.contains("src="), "{page}: inline script #{i}");
            let body = part.split_once('>').unwrap().1;
            assert!(
                body.starts_with("</script"),
                "{page}: script #{i} has a body"
            );
        }
        assert!(!html.contains("<style"), "{page}: inline <style>");
        assert!(!html.contains(" style="), "{page}: style attribute");
        let handler = html.split(" on").skip(1).find(|rest| {
            let name: String = rest.chars().take_while(char::is_ascii_lowercase).collect();
            !name.is_empty() && rest[name.len()..].starts_with('=')
        });
        assert!(
            handler.is_none(),
            "{page}: inline event handler on{handler:?}"
        );
    }
}

/// The nested-frame takeover of issue 12 starts with a hello that names a stranger's page
/// as its host and no integration key; the hello is refused, whoever sends it, because
/// without a key the host page must still be one the tenant's integrations list. A CRM
/// page's own socket speaks for its own origin only; Baton's widget (own origin) still
/// reports its host page.
#[tokio::test]
async fn a_hello_claiming_a_host_page_needs_an_allowed_origin_and_the_right_socket() {
    let app = spawn_app().await;
    app.tenant("acme", &[("alice", "1001"), ("bob", "1002")])
        .await;
    let (s, _) = app
        .post(
            "/api/v1/admin/tenants/acme/integrations",
            Some(ADMIN),
            json!({"integrationKey": "solo", "name": "Solo", "allowedOrigins": ["https://solo.example"]}),
        )
        .await;
    assert_eq!(s, 201);
    let token = app.login("acme", "alice").await;
    let own = format!("http://{}", app.addr);
    let hello = |key: Option<&str>, host: Option<&str>| json!({"op":"hello","args":{"token":token,"integrationKey":key,"hostOrigin":host,"protocol":1}});
    for (origin, key, host, why) in [
        (
            Some(own.as_str()),
            None,
            Some("https://evil.example"),
            "foreign frame without a key",
        ),
        (
            Some(own.as_str()),
            None,
            Some("https://crm.example.com"),
            "widget without a key, two integrations list the host",
        ),
        (
            None,
            None,
            Some("https://evil.example"),
            "not a browser, no key, unlisted host",
        ),
        (
            Some("https://crm.example.com"),
            Some("crm"),
            Some(own.as_str()),
            "CRM page claiming Baton as host",
        ),
        (
            Some("https://crm.example.com"),
            None,
            Some(own.as_str()),
            "CRM page claiming Baton as host, no key",
        ),
    ] {
        let v = hello_from(&app, origin, hello(key, host)).await;
        assert_eq!(v["id"], 0, "{why}: {v}");
        assert_eq!(v["result"]["error"]["code"], 1, "{why}: {v}");
    }
    // The legitimate shapes still pass: the widget in an allowed CRM, the CRM's own script
    // (with or without Bright Pattern's optional key), a standalone widget (no host page at
    // all) and a server-side client.
    for (origin, key, host, why) in [
        (
            Some(own.as_str()),
            Some("crm"),
            Some("https://crm.example.com"),
            "widget in the CRM",
        ),
        (
            Some(own.as_str()),
            None,
            Some("https://solo.example"),
            "widget in the CRM, no key",
        ),
        (
            Some("https://crm.example.com"),
            Some("crm"),
            Some("https://crm.example.com"),
            "CRM page",
        ),
        (
            Some("https://solo.example"),
            None,
            Some("https://solo.example"),
            "CRM page, no key",
        ),
        (
            None,
            None,
            Some("https://solo.example"),
            "not a browser, no key",
        ),
        (Some(own.as_str()), None, None, "standalone widget"),
        (None, None, None, "server-side client"),
    ] {
        let v = hello_from(&app, origin, hello(key, host)).await;
        assert_eq!(v["result"]["status"], "success", "{why}: {v}");
    }
}

/// Bright Pattern's `integrationKey` is optional: a host page without one speaks for the one
/// integration of the agent's tenant that lists its origin (its `getConfig` is that
/// integration's), and is refused when several do, naming them (decision 0025).
#[tokio::test]
async fn a_hello_without_a_key_speaks_for_the_one_integration_listing_its_page() {
    let app = spawn_app().await;
    app.tenant("acme", &[("alice", "1001")]).await;
    let crm = "https://solo.example";
    let (s, _) = app
        .post(
            "/api/v1/admin/tenants/acme/integrations",
            Some(ADMIN),
            json!({"integrationKey": "solo", "name": "Solo", "allowedOrigins": [crm]}),
        )
        .await;
    assert_eq!(s, 201);
    let (s, body) = app
        .put(
            "/api/v1/admin/tenants/acme/integrations/solo/config",
            Some(ADMIN),
            json!({"recordUrl": "/crm/{id}"}),
        )
        .await;
    assert!(s == 200 || s == 204, "{s} {body}");
    let token = app.login("acme", "alice").await;
    let own = format!("http://{}", app.addr);
    let open = async || {
        let mut req = app.ws_url().into_client_request().unwrap();
        req.headers_mut().insert("Origin", own.parse().unwrap());
        let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
        let hello = json!({"op":"hello","args":{"token":token,"hostOrigin":crm,"protocol":1}});
        ws.send(Message::text(hello.to_string())).await.unwrap();
        let v = first_json(&mut ws).await;
        (ws, v)
    };
    let (mut ws, v) = open().await;
    assert_eq!(v["result"]["status"], "success", "{v}");
    ws.send(Message::text(
        json!({"id": 1, "op": "getConfig", "args": []}).to_string(),
    ))
    .await
    .unwrap();
    let config = loop {
        let v = first_json(&mut ws).await;
        if v["id"] == 1 {
            break v;
        }
    };
    assert_eq!(
        config["result"]["data"]["recordUrl"], "/crm/{id}",
        "{config}"
    );
    drop(ws);
    // A second integration for the same page makes "no key" ambiguous: refused, named.
    let (s, body) = app
        .post(
            "/api/v1/admin/tenants/acme/integrations",
            Some(ADMIN),
            json!({"integrationKey": "solo2", "name": "Solo 2", "allowedOrigins": [crm]}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let (_ws, v) = open().await;
    assert_eq!(v["result"]["error"]["code"], 1, "{v}");
    let message = v["result"]["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("solo, solo2"), "{message}");
}

// ----- customers: grants and limits --------------------------------------------------------

use baton_server::guard::{Grant, Grants, ServerKey};

/// The app's own server key, as `baton serve` made it in the data directory.
fn server_key(app: &TestApp) -> ServerKey {
    ServerKey::load_or_create(&app.data_dir.path().join("server.key")).unwrap()
}

async fn grant(app: &TestApp, ingress: &str, body: Value) -> (u16, Value) {
    app.post("/api/v1/chat-grants", Some(ingress), body).await
}

fn new_chat(service: &str, name: &str) -> Value {
    json!({"channel": "chat", "service": service, "customer": {"name": name}})
}

#[tokio::test]
async fn chat_grants_replace_the_ingress_token_in_public_links() {
    let app = spawn_app().await;
    let t = app.tenant("acme", &[("alice", "1001")]).await;
    let (s, body) = grant(&app, &t.ingress, json!({"service": "Sales"})).await;
    assert_eq!(s, 201, "{body}");
    let g = body["grant"].as_str().unwrap().to_owned();
    assert!(g.starts_with("g1."), "{g}");
    assert_eq!(body["chatPath"], format!("/chat/?grant={g}"));
    assert!(
        !g.contains(&t.ingress),
        "the grant must not carry the ingress token"
    );
    // The grant lists and creates in its service only.
    let (s, services) = app.get("/api/v1/services", Some(&g)).await;
    assert_eq!(s, 200);
    assert_eq!(services.as_array().unwrap().len(), 1, "{services}");
    assert_eq!(services[0]["name"], "Sales");
    let (s, body) = app
        .post("/api/v1/interactions", Some(&g), new_chat("Sales", "Carl"))
        .await;
    assert_eq!(s, 201, "{body}");
    let (s, body) = app
        .post(
            "/api/v1/interactions",
            Some(&g),
            new_chat("Support", "Carl"),
        )
        .await;
    assert_eq!(
        (s, body["error"]["code"].clone()),
        (403, json!(1)),
        "{body}"
    );
    // A grant signs no grants, and reaches no admin route.
    let (s, _) = grant(&app, &g, json!({})).await;
    assert_eq!(s, 401);
    let (s, _) = app
        .post("/api/v1/admin/tenants", Some(&g), json!({"name": "x"}))
        .await;
    assert_eq!(s, 401);
    // Altered, foreign-key and expired grants are refused with invalid_token.
    let mut altered = g.clone().into_bytes();
    let i = altered.len() - 3;
    altered[i] = if altered[i] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    let foreign = Grants::new(&ServerKey::from_bytes([9; 32])).sign(&Grant {
        tenant: baton_core::TenantId("acme".into()),
        service: None,
        expires_at: i64::MAX,
    });
    let expired = Grants::new(&server_key(&app)).sign(&Grant {
        tenant: baton_core::TenantId("acme".into()),
        service: None,
        expires_at: 1,
    });
    for (bad, why) in [
        (&altered, "altered"),
        (&foreign, "foreign key"),
        (&expired, "expired"),
    ] {
        let (s, body) = app
            .post("/api/v1/interactions", Some(bad), new_chat("Sales", "X"))
            .await;
        assert_eq!(
            (s, body["error"]["code"].clone()),
            (401, json!(111)),
            "{why}: {body}"
        );
    }
    let (_, body) = app.get("/api/v1/services", Some(&expired)).await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{body}"
    );
    // Bad requests for a grant.
    let (s, _) = grant(&app, &t.ingress, json!({"ttlSecs": 0})).await;
    assert_eq!(s, 400);
    let (s, _) = grant(&app, &t.ingress, json!({"ttlSecs": 10_000_000})).await;
    assert_eq!(s, 400);
    let (s, _) = grant(&app, &t.ingress, json!({"service": "Nope"})).await;
    assert_eq!(s, 404);
    // No body at all: a grant for any service; the ingress token keeps working.
    let res = app
        .http
        .post(format!("{}/api/v1/chat-grants", app.base))
        .bearer_auth(&t.ingress)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    app.customer(&t, "chat", "Support", "Dora").await;
}

/// A service no agent serves, so what is created in it stays queued.
async fn web_service(app: &TestApp, tenant: &str) {
    let (s, body) = app
        .post(
            &format!("/api/v1/admin/tenants/{tenant}/services"),
            Some(ADMIN),
            json!({"name": "Web", "channels": ["chat"], "ringTimeoutMs": 20000}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
}

async fn customer_socket(app: &TestApp, token: &str) -> Result<Ws, String> {
    let url = format!("ws://{}/ws/customer?token={token}", app.addr);
    tokio_tungstenite::connect_async(url)
        .await
        .map(|(ws, _)| ws)
        .map_err(|e| e.to_string())
}

async fn say(app: &TestApp, id: &str, token: &str, text: &str) -> (u16, Value) {
    app.post(
        &format!("/api/v1/interactions/{id}/messages"),
        Some(token),
        json!({"text": text}),
    )
    .await
}

#[tokio::test]
async fn a_customer_flood_is_bounded_and_a_hand_off_still_completes() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    s.public_limits.interactions_per_minute_per_token = 10;
    // Everything here comes from 127.0.0.1: the per-address limit has its own test.
    s.public_limits.interactions_per_minute_per_address = 1000;
    s.public_limits.sockets_per_customer = 2;
    s.public_limits.max_customer_connections = 5;
    s.limits.max_connections = 2; // alice and bob: customers cannot take their places
    s.interaction_limits.max_message_chars = 100;
    s.interaction_limits.max_messages_per_interaction = 4;
    s.interaction_limits.max_transcript_bytes = 250;
    let app = spawn_with(dir, s).await;
    let t = app
        .tenant("acme", &[("alice", "1001"), ("bob", "1002")])
        .await;
    web_service(&app, "acme").await;
    let (s, body) = app
        .put(
            "/api/v1/admin/tenants/acme/services/Web/queue-limits",
            Some(ADMIN),
            json!({"maxQueueLength": 3}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body, json!({"maxQueueLength": 3, "maxQueueWaitMs": null}));
    let (_, body) = grant(&app, &t.ingress, json!({"service": "Web"})).await;
    let g = body["grant"].as_str().unwrap().to_owned();

    // Interactions: 3 fit in the queue, 7 more are refused as queue-full, then the
    // grant's rate limit refuses the rest.
    let (mut created, mut queue_full, mut limited) = (Vec::new(), 0, 0);
    for n in 0..20 {
        let (s, body) = app
            .post(
                "/api/v1/interactions",
                Some(&g),
                new_chat("Web", &format!("Bot {n}")),
            )
            .await;
        let message = body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        match s {
            201 => created.push((
                body["id"].as_str().unwrap().to_owned(),
                body["customerToken"].as_str().unwrap().to_owned(),
            )),
            429 if message.contains("customers waiting") => queue_full += 1,
            429 if message.contains("too many new conversations") => limited += 1,
            _ => panic!("{s} {body}"),
        }
        if s == 429 {
            assert_eq!(body["error"]["code"], 22, "{body}");
        }
    }
    assert_eq!((created.len(), queue_full, limited), (3, 7, 10));

    // Sockets: two per customer token, five in the customers' pool.
    let (id0, tok0) = &created[0];
    let (id1, tok1) = &created[1];
    let (_, tok2) = &created[2];
    let mut open = Vec::new();
    for token in [tok0, tok0] {
        open.push(customer_socket(&app, token).await.expect("within the caps"));
    }
    let third = customer_socket(&app, tok0).await.unwrap_err();
    assert!(
        third.contains("429"),
        "a third socket for one token: {third}"
    );
    for token in [tok1, tok1, tok2] {
        open.push(customer_socket(&app, token).await.expect("within the caps"));
    }
    let sixth = customer_socket(&app, tok2).await.unwrap_err();
    assert!(
        sixth.contains("503"),
        "a sixth customer socket on the node: {sixth}"
    );
    // A closed socket gives its place back.
    let mut first = open.remove(0);
    first.close(None).await.unwrap();
    drop(first);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match customer_socket(&app, tok2).await {
            Ok(ws) => break open.push(ws),
            Err(e) if tokio::time::Instant::now() < deadline => {
                assert!(e.contains("503"), "{e}");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(e) => panic!("the closed socket's place was never given back: {e}"),
        }
    }

    // Messages: at most 4 per chat, at most 250 bytes of text per chat, 100 characters each.
    for n in 0..4 {
        assert_eq!(say(&app, id0, tok0, &format!("hi {n}")).await.0, 201);
    }
    let (s, body) = say(&app, id0, tok0, "one more").await;
    assert_eq!(
        (s, body["error"]["code"].clone()),
        (413, json!(21)),
        "{body}"
    );
    let (s, body) = say(&app, id1, tok1, &"x".repeat(101)).await;
    assert_eq!(
        (s, body["error"]["code"].clone()),
        (400, json!(3)),
        "{body}"
    );
    for _ in 0..2 {
        assert_eq!(say(&app, id1, tok1, &"y".repeat(100)).await.0, 201);
    }
    let (s, body) = say(&app, id1, tok1, &"z".repeat(100)).await;
    assert_eq!(
        (s, body["error"]["code"].clone()),
        (413, json!(21)),
        "{body}"
    );
    // Over the socket too: the same cap, answered on the socket.
    let ws0 = &mut open[0]; // tok0's second socket
    ws0.send(Message::text(
        json!({"op": "message", "args": ["more"]}).to_string(),
    ))
    .await
    .unwrap();
    let answer = loop {
        let v = first_json(ws0).await;
        if v["result"]["status"] == "error" {
            break v;
        }
    };
    assert_eq!(answer["result"]["error"]["code"], 21, "{answer}");

    // Meanwhile agents log in (their own pool) and hand a chat over with its data.
    let data = r#"{"caseId":"C-77"}"#;
    let mut h = hand_a_chat_from_alice_to_bob(&app, &t, data).await;
    h.bob
        .client
        .accept_interaction(Some(&h.interaction))
        .await
        .unwrap();
    h.alice.expect_status("accepted").await;
    drop(open);
}

#[tokio::test]
async fn new_interactions_are_limited_per_source_address() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    s.public_limits.interactions_per_minute_per_address = 3;
    let app = spawn_with(dir, s).await;
    let acme = app.tenant("acme", &[]).await;
    let globex = app.tenant("globex", &[]).await;
    let (_, body) = grant(&app, &acme.ingress, json!({})).await;
    let g = body["grant"].as_str().unwrap().to_owned();
    // Three from this address, whichever credential and tenant; the fourth is refused.
    for token in [&acme.ingress, &g, &globex.ingress] {
        let (s, body) = app
            .post("/api/v1/interactions", Some(token), new_chat("Sales", "A"))
            .await;
        assert_eq!(s, 201, "{body}");
    }
    for token in [&acme.ingress, &g, &globex.ingress] {
        let (s, body) = app
            .post("/api/v1/interactions", Some(token), new_chat("Sales", "A"))
            .await;
        assert_eq!(
            (s, body["error"]["code"].clone()),
            (429, json!(22)),
            "{body}"
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("this address")
        );
    }
}

#[tokio::test]
async fn a_customer_who_waits_too_long_is_told_and_the_chat_ends() {
    let app = spawn_app().await;
    let t = app.tenant("acme", &[("alice", "1001")]).await;
    web_service(&app, "acme").await;
    let (s, body) = app
        .put(
            "/api/v1/admin/tenants/acme/services/Web/queue-limits",
            Some(ADMIN),
            json!({"maxQueueWaitMs": 300}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = app
        .put(
            "/api/v1/admin/tenants/acme/services/Nope/queue-limits",
            Some(ADMIN),
            json!({"maxQueueWaitMs": 300}),
        )
        .await;
    assert_eq!(
        (s, body["error"]["code"].clone()),
        (404, json!(11)),
        "{body}"
    );
    let (s, body) = app
        .post(
            "/api/v1/interactions",
            Some(&t.ingress),
            new_chat("Web", "Wendy"),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let (id, token) = (
        body["id"].as_str().unwrap().to_owned(),
        body["customerToken"].as_str().unwrap().to_owned(),
    );
    let mut ws = customer_socket(&app, &token).await.unwrap();
    // No agent serves Web: the customer reads why the chat ended, then it is completed.
    let text = loop {
        let v = first_json(&mut ws).await;
        if v["event"] == "message" && v["args"][0]["from"] == "system" {
            break v["args"][0]["text"].as_str().unwrap().to_owned();
        }
    };
    assert_eq!(text, baton_core::engine::QUEUE_WAIT_TEXT);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (_, i) = app
            .get(&format!("/api/v1/interactions/{id}"), Some(ADMIN))
            .await;
        if i["status"] == "completed" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "not completed: {i}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn agent_content_is_capped_like_the_customers() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    let l = &mut s.interaction_limits;
    l.max_message_chars = 10;
    l.max_messages_per_interaction = 3;
    l.max_note_chars = 10;
    l.max_notes_per_interaction = 2;
    l.max_variable_key_chars = 5;
    l.max_variable_bytes = 20;
    l.max_variables_per_interaction = 2; // the ingress brings one (caseHint)
    l.max_reason_chars = 5;
    let app = spawn_with(dir, s).await;
    let t = app.tenant("acme", &[("alice", "1001")]).await;
    let alice = app.agent("acme", "alice", None).await;
    let mut alice = alice;
    alice.ready().await;
    let (id, _) = app.customer(&t, "chat", "Sales", "Carl").await;
    alice.accept_next().await;
    let c = &alice.client;
    let code =
        |r: Result<(), baton_client::ClientError>| r.err().and_then(|e| e.api().map(|a| a.code));
    let id = Some(id.as_str());
    assert_eq!(
        code(c.send_chat_message(&"m".repeat(11), id).await),
        Some(3)
    );
    for _ in 0..3 {
        assert_eq!(code(c.send_chat_message(&"m".repeat(10), id).await), None);
    }
    assert_eq!(code(c.send_chat_message("m", id).await), Some(21));
    assert_eq!(code(c.add_note(&"n".repeat(11), id).await), Some(3));
    for _ in 0..2 {
        assert_eq!(code(c.add_note("note", id).await), None);
    }
    assert_eq!(code(c.add_note("note", id).await), Some(21));
    assert_eq!(code(c.set_variable("sixsix", json!(1), id).await), Some(3));
    assert_eq!(
        code(c.set_variable("k", json!("x".repeat(30)), id).await),
        Some(21)
    );
    assert_eq!(code(c.set_variable("k", json!(1), id).await), None);
    assert_eq!(code(c.set_variable("k2", json!(1), id).await), Some(21));
    assert_eq!(
        code(c.set_variable("k", json!(2), id).await),
        None,
        "overwrite"
    );
    assert_eq!(
        code(c.set_agent_state("not_ready", Some("Lunch!")).await),
        Some(3)
    );
    assert_eq!(
        code(c.set_agent_state("not_ready", Some("Lunch")).await),
        None
    );
}
