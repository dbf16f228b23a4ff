//! Who can reach what: every token type on every REST route and method and on both
//! WebSockets, tenant isolation on every route and every agent method, origins, and
//! customer tokens bound to their own interaction.
//!
//! `limits.rs` and `core_flow.rs` hold the first cases of several of these (admin routes
//! refuse other tokens, a foreign origin is refused); this file is the complete matrix.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::*;
use baton_server::Settings;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The kinds of credential a caller may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Agent,
    Admin,
    Ingress,
    Customer,
    None,
    Garbage,
}

const KINDS: [Kind; 6] = [
    Kind::Agent,
    Kind::Admin,
    Kind::Ingress,
    Kind::Customer,
    Kind::None,
    Kind::Garbage,
];

/// Who a route is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Audience {
    Admin,
    Ingress,
    /// The customer token of the interaction in the path.
    Customer,
    /// No credential needed (the body may carry one, as login does).
    Anyone,
    /// An agent's session token.
    Agent,
}

struct Tokens {
    agent: String,
    ingress: String,
    customer: String,
    garbage: String,
}

impl Tokens {
    fn get(&self, kind: Kind) -> Option<&str> {
        match kind {
            Kind::Agent => Some(&self.agent),
            Kind::Admin => Some(ADMIN),
            Kind::Ingress => Some(&self.ingress),
            Kind::Customer => Some(&self.customer),
            Kind::None => None,
            Kind::Garbage => Some(&self.garbage),
        }
    }
}

fn allowed(audience: Audience, kind: Kind) -> bool {
    match audience {
        Audience::Anyone => true,
        Audience::Admin => kind == Kind::Admin,
        Audience::Ingress => kind == Kind::Ingress,
        Audience::Customer => kind == Kind::Customer,
        Audience::Agent => kind == Kind::Agent,
    }
}

async fn request(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, String) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = app.http.request(method, format!("{}{path}", app.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

async fn next_json(ws: &mut Ws) -> Option<Value> {
    loop {
        match tokio::time::timeout(WAIT, ws.next()).await.ok()?? {
            Ok(Message::Text(t)) => return serde_json::from_str(&t).ok(),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// True when the socket ends (close frame, error or EOF) within the wait.
async fn closes(ws: &mut Ws) -> bool {
    tokio::time::timeout(WAIT, async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return true,
                Some(Ok(_)) => {}
            }
        }
    })
    .await
    .unwrap_or(false)
}

/// Says hello with `token` (or none) and returns the answer to it.
async fn hello(app: &TestApp, token: Option<&str>) -> (Value, Ws) {
    let (mut ws, _) = tokio_tungstenite::connect_async(app.ws_url())
        .await
        .unwrap();
    let args = match token {
        Some(t) => json!({"token": t, "integrationKey": null, "protocol": 1}),
        None => json!({"integrationKey": null, "protocol": 1}),
    };
    ws.send(Message::text(
        json!({"op": "hello", "args": args}).to_string(),
    ))
    .await
    .unwrap();
    let answer = next_json(&mut ws).await.expect("hello is answered");
    (answer, ws)
}

#[tokio::test]
async fn every_token_reaches_only_the_routes_meant_for_it() {
    let app = spawn_app().await;
    let t = app
        .tenant("acme", &[("alice", "1001"), ("mat", "1009")])
        .await;
    let (x, customer) = app.customer(&t, "chat", "Sales", "Carl").await;
    let tokens = Tokens {
        agent: app.login("acme", "alice").await,
        ingress: t.ingress.clone(),
        customer,
        garbage: "0".repeat(64),
    };
    let mut cells = 0usize;

    // The agent WebSocket: only a session token says hello.
    for kind in KINDS {
        let (answer, mut ws) = hello(&app, tokens.get(kind)).await;
        assert_eq!(answer["id"], 0, "{kind:?}: {answer}");
        if kind == Kind::Agent {
            assert_eq!(answer["result"]["status"], "success", "{answer}");
        } else {
            let code = &answer["result"]["error"]["code"];
            let expected = if kind == Kind::None { 7 } else { 111 };
            assert_eq!(code, expected, "{kind:?}: {answer}");
            assert!(closes(&mut ws).await, "{kind:?}: socket stays open");
        }
        cells += 1;
    }

    // The customer WebSocket: only the interaction's customer token opens it.
    for kind in KINDS {
        let url = match tokens.get(kind) {
            Some(tok) => format!("ws://{}/ws/customer?token={tok}", app.addr),
            None => format!("ws://{}/ws/customer", app.addr),
        };
        let result = tokio_tungstenite::connect_async(url).await;
        if kind == Kind::Customer {
            assert!(result.is_ok(), "{result:?}");
        } else {
            // No token and a wrong token alike: 401 with the protocol's invalid_token.
            let err = result.expect_err("refused").to_string();
            assert!(err.contains("401"), "{kind:?}: {err}");
        }
        cells += 1;
    }

    // Every REST route of PROTOCOL.md and docs/protocol.md. Hang-up is last: it ends `x`.
    let routes: Vec<(&str, String, Audience, Value, u16)> = vec![
        ("GET", "/healthz".into(), Audience::Anyone, Value::Null, 200),
        ("GET", "/readyz".into(), Audience::Anyone, Value::Null, 200),
        ("GET", "/metrics".into(), Audience::Anyone, Value::Null, 200),
        (
            "GET",
            "/openapi.json".into(),
            Audience::Anyone,
            Value::Null,
            200,
        ),
        (
            "POST",
            "/api/v1/sessions".into(),
            Audience::Anyone,
            json!({"tenant": "acme", "username": "mat", "password": PASSWORD}),
            201,
        ),
        (
            "POST",
            "/api/v1/admin/tenants".into(),
            Audience::Admin,
            json!({"name": "matrix"}),
            201,
        ),
        (
            "POST",
            "/api/v1/admin/tenants/acme/services".into(),
            Audience::Admin,
            json!({"name": "Matrix", "channels": ["chat"]}),
            201,
        ),
        (
            "POST",
            "/api/v1/admin/tenants/acme/agents".into(),
            Audience::Admin,
            json!({"username": "matrix", "password": PASSWORD, "services": ["Matrix"]}),
            201,
        ),
        (
            "POST",
            "/api/v1/admin/tenants/acme/integrations".into(),
            Audience::Admin,
            json!({"integrationKey": "matrix", "name": "M", "allowedOrigins": []}),
            201,
        ),
        (
            "PUT",
            "/api/v1/admin/tenants/acme/settings".into(),
            Audience::Admin,
            json!({"retentionSecs": 3600}),
            200,
        ),
        (
            "POST",
            "/api/v1/admin/tenants/acme/ingress-tokens".into(),
            Audience::Admin,
            json!({}),
            201,
        ),
        (
            "GET",
            format!("/api/v1/interactions/{x}"),
            Audience::Admin,
            Value::Null,
            200,
        ),
        (
            "GET",
            format!("/api/v1/interactions/{x}/transfers"),
            Audience::Admin,
            Value::Null,
            200,
        ),
        // Admin routes of issue 12: agents, sessions, ingress tokens.
        (
            "GET",
            "/api/v1/admin/tenants/acme/agents".into(),
            Audience::Admin,
            Value::Null,
            200,
        ),
        (
            "GET",
            "/api/v1/admin/tenants/acme/agents/matrix".into(),
            Audience::Admin,
            Value::Null,
            200,
        ),
        (
            "PATCH",
            "/api/v1/admin/tenants/acme/agents/matrix".into(),
            Audience::Admin,
            json!({"displayName": "Matrix"}),
            200,
        ),
        (
            "DELETE",
            "/api/v1/admin/tenants/acme/agents/matrix".into(),
            Audience::Admin,
            Value::Null,
            204,
        ),
        (
            "GET",
            "/api/v1/admin/tenants/acme/sessions".into(),
            Audience::Admin,
            Value::Null,
            200,
        ),
        (
            "DELETE",
            "/api/v1/admin/tenants/acme/sessions/no-such-session".into(),
            Audience::Admin,
            Value::Null,
            404,
        ),
        (
            "GET",
            "/api/v1/admin/tenants/acme/ingress-tokens".into(),
            Audience::Admin,
            Value::Null,
            200,
        ),
        (
            "DELETE",
            "/api/v1/admin/tenants/acme/ingress-tokens/0000000000000000".into(),
            Audience::Admin,
            Value::Null,
            404,
        ),
        (
            "PUT",
            "/api/v1/admin/tenants/acme/services/Sales/queue-limits".into(),
            Audience::Admin,
            json!({"maxQueueLength": 500}),
            200,
        ),
        (
            "POST",
            "/api/v1/chat-grants".into(),
            Audience::Ingress,
            json!({"service": "Sales"}),
            201,
        ),
        (
            "GET",
            "/api/v1/services".into(),
            Audience::Ingress,
            Value::Null,
            200,
        ),
        (
            "POST",
            "/api/v1/interactions".into(),
            Audience::Ingress,
            json!({"channel": "chat", "service": "Sales", "customer": {"name": "Matrix"}}),
            201,
        ),
        (
            "POST",
            format!("/api/v1/interactions/{x}/messages"),
            Audience::Customer,
            json!({"text": "hello"}),
            201,
        ),
        // Ends the agent token: after every route that an agent token is refused on.
        (
            "DELETE",
            "/api/v1/sessions/current".into(),
            Audience::Agent,
            Value::Null,
            204,
        ),
        (
            "POST",
            format!("/api/v1/interactions/{x}/hangup"),
            Audience::Customer,
            json!({}),
            200,
        ),
    ];
    for (method, path, audience, body, ok) in &routes {
        // Refused callers first, so the one allowed call meets untouched state.
        let mut order: Vec<Kind> = KINDS
            .into_iter()
            .filter(|k| !allowed(*audience, *k))
            .collect();
        order.extend(KINDS.into_iter().filter(|k| allowed(*audience, *k)));
        for kind in order {
            let body = (!body.is_null()).then_some(body);
            let (status, text) = request(&app, method, path, tokens.get(kind), body).await;
            let what = format!("{method} {path} with {kind:?}: {status} {text}");
            if allowed(*audience, kind) {
                assert_eq!(status, *ok, "{what}");
            } else {
                assert_eq!(status, 401, "{what}");
                let v: Value = serde_json::from_str(&text).unwrap_or_default();
                assert_eq!(v["error"]["code"], 111, "{what}");
            }
            cells += 1;
        }
    }

    // Methods no route has: never served, never a server error, whoever asks.
    let mut paths: Vec<&str> = routes.iter().map(|r| r.1.as_str()).collect();
    paths.dedup();
    for path in paths {
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            if routes.iter().any(|r| r.0 == method && r.1 == path) {
                continue;
            }
            for kind in KINDS {
                let (status, text) = request(&app, method, path, tokens.get(kind), None).await;
                assert!(
                    status == 404 || status == 405,
                    "{method} {path} with {kind:?}: {status} {text}"
                );
                cells += 1;
            }
        }
    }
    println!("security matrix: {cells} cells checked");
    assert!(cells >= 6 + 6 + 19 * 6, "the matrix shrank: {cells}");
}

/// Two tenants with the same service names; `acme` also has `AcmeOnly`.
async fn two_tenants(app: &TestApp) -> (Tenant, Tenant) {
    let acme = app
        .tenant("acme", &[("alice", "1001"), ("bob", "1002")])
        .await;
    let globex = app
        .tenant("globex", &[("gina", "2001"), ("gus", "2002")])
        .await;
    let (s, body) = app
        .post(
            "/api/v1/admin/tenants/acme/services",
            Some(ADMIN),
            json!({"name": "AcmeOnly", "channels": ["chat", "voice"]}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    (acme, globex)
}

/// Any event of `agent` that mentions `needle` anywhere in its arguments.
fn mentions(events: &[baton_client::Event], needle: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.args.iter().any(|a| a.get().contains(needle)))
        .map(|e| format!("{} {:?}", e.name, e.args))
        .collect()
}

async fn drain(agent: &mut Agent, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    while let Ok(Some(e)) = tokio::time::timeout_at(deadline, agent.events.next()).await {
        agent.seen.push(e);
    }
}

#[tokio::test]
async fn an_agent_of_another_tenant_reaches_nothing_of_this_tenant_with_any_method() {
    let app = spawn_app().await;
    let (acme, globex) = two_tenants(&app).await;
    let mut alice = app.agent("acme", "alice", Some("crm")).await;
    let mut bob = app.agent("acme", "bob", Some("crm")).await;
    let mut gina = app.agent("globex", "gina", Some("crm")).await;
    let mut gus = app.agent("globex", "gus", Some("crm")).await;
    let alice_id = alice.client.agent_id().to_owned();
    let bob_id = bob.client.agent_id().to_owned();

    // acme: alice on a chat X with a note, a variable and a customer socket.
    alice.ready().await;
    let (x, x_customer) = app.customer(&acme, "chat", "Sales", "Carl").await;
    alice.accept_next().await;
    alice.client.add_note("acme note", Some(&x)).await.unwrap();
    let (mut customer_ws, _) = tokio_tungstenite::connect_async(format!(
        "ws://{}/ws/customer?token={x_customer}",
        app.addr
    ))
    .await
    .unwrap();
    // globex: gina on a call G, gus on a chat H.
    gina.ready().await;
    let (g, _) = app.customer(&globex, "voice", "Sales", "Gail").await;
    gina.accept_next().await;
    gus.ready().await;
    let (h, _) = app.customer(&globex, "chat", "Support", "Hal").await;
    gus.accept_next().await;
    drain(&mut alice, Duration::from_millis(200)).await;
    drain(&mut bob, Duration::from_millis(200)).await;
    let (alice_before, bob_before) = (alice.seen.len(), bob.seen.len());
    let before = app
        .get(&format!("/api/v1/interactions/{x}"), Some(ADMIN))
        .await
        .1;

    // Every method that takes an interaction id, given acme's X.
    let on_x: Vec<(&str, Value)> = vec![
        ("acceptInteraction", json!([x])),
        ("rejectInteraction", json!([x])),
        ("switchActiveInteraction", json!([x])),
        ("sendChatMessage", json!(["from globex", x])),
        ("setCallHold", json!([true, x])),
        ("leaveInteraction", json!([x])),
        ("completeInteraction", json!([x])),
        ("addNote", json!(["globex note", x])),
        ("getVariables", json!([null, x])),
        ("setVariable", json!(["leak", "yes", x])),
        ("blindTransfer", json!(["gus", {"caseId": "G"}, x])),
        ("inviteToCallConference", json!(["gus", null, x])),
        ("removeFromCallConference", json!([alice_id, x])),
        ("inviteToChatConference", json!([gus.client.agent_id(), x])),
        ("removeFromChatConference", json!([alice_id, x])),
        ("getTransferHistory", json!([x])),
    ];
    let mut cells = 0;
    for (op, args) in &on_x {
        for caller in [&gina, &gus] {
            let args = args.as_array().unwrap().clone();
            let err = caller.client.call(op, args).await.unwrap_err();
            assert_eq!(err.api().map(|e| e.code), Some(13), "{op}: {err:?}");
            cells += 1;
        }
    }
    // Every method that names an agent, a party or a service, given acme's, on globex's own
    // interaction: the name does not exist in globex.
    let acme_targets = [
        "alice".to_owned(),
        "1001".to_owned(),
        alice_id.clone(),
        bob_id.clone(),
    ];
    for target in &acme_targets {
        let calls: Vec<(&Agent, &str, Value)> = vec![
            (&gina, "blindTransfer", json!([target, {"caseId": "G"}, g])),
            (&gina, "inviteToCallConference", json!([target, null, g])),
            (&gina, "consultCall", json!([target])),
            (&gina, "removeFromCallConference", json!([target, g])),
            (&gus, "blindTransfer", json!([target, null, h])),
            (&gus, "inviteToChatConference", json!([target, h])),
            (&gus, "removeFromChatConference", json!([target, h])),
        ];
        for (caller, op, args) in calls {
            let err = caller
                .client
                .call(op, args.as_array().unwrap().clone())
                .await
                .unwrap_err();
            assert_eq!(
                err.api().map(|e| e.code),
                Some(17),
                "{op} {target}: {err:?}"
            );
            cells += 1;
        }
    }
    for (caller, op, args) in [
        (&gina, "blindTransfer", json!(["service:AcmeOnly", null, g])),
        (
            &gus,
            "blindTransfer",
            json!(["service:AcmeOnly", {"a": 1}, h]),
        ),
    ] {
        let err = caller
            .client
            .call(op, args.as_array().unwrap().clone())
            .await
            .unwrap_err();
        assert_eq!(err.api().map(|e| e.code), Some(17), "{op}: {err:?}");
        cells += 1;
    }
    // The lists an agent reads hold only its own tenant.
    let members = gina.client.get_team_members("all").await.unwrap();
    let mut names: Vec<&str> = members.iter().map(|m| m.username.as_str()).collect();
    names.sort();
    assert_eq!(names, ["gina", "gus"]);
    let services = gina.client.get_services_list().await.unwrap();
    let mut names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["Sales", "Support"]);
    let acme_services = app.get("/api/v1/services", Some(&acme.ingress)).await.1;
    for s in acme_services.as_array().unwrap() {
        assert!(
            services
                .iter()
                .all(|mine| mine.id != s["id"].as_str().unwrap())
        );
    }
    let state = gina.client.get_interactions_state().await.unwrap();
    assert_eq!(
        state
            .interactions
            .iter()
            .map(|i| i.id.as_str())
            .collect::<Vec<_>>(),
        [g.as_str()]
    );
    cells += 3;

    // Nothing reached acme: no event, no change, no chat line for the customer.
    drain(&mut alice, Duration::from_millis(300)).await;
    drain(&mut bob, Duration::from_millis(50)).await;
    assert_eq!(
        alice.seen[alice_before..]
            .iter()
            .map(|e| e.name.clone())
            .collect::<Vec<_>>(),
        Vec::<String>::new(),
        "alice heard of globex's calls"
    );
    assert_eq!(bob.seen.len(), bob_before, "bob heard of globex's calls");
    let after = app
        .get(&format!("/api/v1/interactions/{x}"), Some(ADMIN))
        .await
        .1;
    assert_eq!(before, after, "acme's interaction changed");
    let mine = alice.client.get_interactions_state().await.unwrap();
    let view = &mine.interactions[0];
    assert_eq!(view.notes.len(), 1, "{:?}", view.notes);
    assert!(!view.attached_data.contains_key("leak"));
    assert!(app.transfers(&x).await.is_empty());
    while let Ok(Some(Ok(Message::Text(t)))) =
        tokio::time::timeout(Duration::from_millis(200), customer_ws.next()).await
    {
        assert!(!t.contains("from globex"), "the customer got {t}");
    }
    // And globex heard nothing of acme's interaction.
    drain(&mut gina, Duration::from_millis(50)).await;
    drain(&mut gus, Duration::from_millis(50)).await;
    for agent in [&gina, &gus] {
        assert_eq!(mentions(&agent.seen, &x), Vec::<String>::new());
        assert_eq!(mentions(&agent.seen, &alice_id), Vec::<String>::new());
    }
    println!("tenant isolation: {cells} agent-method cells checked");
}

#[tokio::test]
async fn rest_routes_keep_tenants_apart() {
    let app = spawn_app().await;
    let (acme, globex) = two_tenants(&app).await;
    let mut alice = app.agent("acme", "alice", None).await;
    alice.ready().await;

    // Ingress of globex: its own services only, and acme's service names do not exist.
    let (s, list) = app.get("/api/v1/services", Some(&globex.ingress)).await;
    assert_eq!(s, 200);
    let mut names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["Sales", "Support"]);
    let (s, body) = app
        .post(
            "/api/v1/interactions",
            Some(&globex.ingress),
            json!({"channel": "chat", "service": "AcmeOnly", "customer": {"name": "Eve"}}),
        )
        .await;
    assert_eq!(
        (s, body["error"]["code"].clone()),
        (404, json!(11)),
        "{body}"
    );
    // A globex customer on "Sales" is globex's, never offered to acme's ready agent.
    let (y, y_token) = app.customer(&globex, "chat", "Sales", "Yan").await;
    alice
        .expect_none("ON_NEW_INTERACTION", Duration::from_millis(300))
        .await;
    // acme's interaction, with globex's customer token: refused, and nothing changes.
    let (x, _) = app.customer(&acme, "chat", "Sales", "Xi").await;
    alice.accept_next().await;
    let before = app
        .get(&format!("/api/v1/interactions/{x}"), Some(ADMIN))
        .await
        .1;
    for route in ["messages", "hangup"] {
        let (s, body) = app
            .post(
                &format!("/api/v1/interactions/{x}/{route}"),
                Some(&y_token),
                json!({"text": "from globex"}),
            )
            .await;
        assert_eq!(
            (s, body["error"]["code"].clone()),
            (403, json!(1)),
            "{route}: {body}"
        );
    }
    alice
        .expect_none("ON_CHAT_MESSAGE", Duration::from_millis(200))
        .await;
    let after = app
        .get(&format!("/api/v1/interactions/{x}"), Some(ADMIN))
        .await
        .1;
    assert_eq!(before, after);
    // Admin writes are scoped by the tenant in the path: acme's service names mean nothing
    // in globex, and a missing tenant is not created on the side.
    let (s, body) = app
        .post(
            "/api/v1/admin/tenants/globex/agents",
            Some(ADMIN),
            json!({"username": "mallory", "password": PASSWORD, "services": ["AcmeOnly"]}),
        )
        .await;
    assert!(s == 404 || s == 400, "{s} {body}");
    for path in ["services", "agents", "integrations", "ingress-tokens"] {
        let (s, body) = app
            .post(
                &format!("/api/v1/admin/tenants/nobody/{path}"),
                Some(ADMIN),
                json!({"name": "n", "channels": ["chat"], "username": "n", "password": PASSWORD,
                       "integrationKey": "k"}),
            )
            .await;
        assert_eq!(
            (s, body["error"]["code"].clone()),
            (404, json!(17)),
            "{path}: {body}"
        );
    }
    let (s, body) = app
        .put(
            "/api/v1/admin/tenants/nobody/settings",
            Some(ADMIN),
            json!({}),
        )
        .await;
    assert_eq!(
        (s, body["error"]["code"].clone()),
        (404, json!(17)),
        "{body}"
    );
    let _ = y;
}

#[tokio::test]
async fn a_customer_token_acts_on_its_own_interaction_only() {
    let app = spawn_app().await;
    let t = app.tenant("acme", &[("alice", "1001")]).await;
    let mut alice = app.agent("acme", "alice", None).await;
    alice.ready().await;
    let (x, x_token) = app.customer(&t, "chat", "Sales", "Xi").await;
    alice.accept_next().await;
    let (y, y_token) = app.customer(&t, "chat", "Sales", "Yan").await;
    alice.accept_next().await;

    let (mut x_ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/ws/customer?token={x_token}", app.addr))
            .await
            .unwrap();
    for route in ["messages", "hangup"] {
        let (s, body) = app
            .post(
                &format!("/api/v1/interactions/{y}/{route}"),
                Some(&x_token),
                json!({"text": "not mine"}),
            )
            .await;
        assert_eq!(
            (s, body["error"]["code"].clone()),
            (403, json!(1)),
            "{route}: {body}"
        );
    }
    let (s, _) = app
        .post(
            &format!("/api/v1/interactions/{y}/messages"),
            Some(&y_token),
            json!({"text": "for y only"}),
        )
        .await;
    assert_eq!(s, 201);
    alice
        .client
        .send_chat_message("agent to y", Some(&y))
        .await
        .unwrap();
    let (_, y_state) = app
        .get(&format!("/api/v1/interactions/{y}"), Some(ADMIN))
        .await;
    assert!(!y_state.to_string().contains("not mine"));
    assert_ne!(y_state["status"], "completed");
    // X's socket hears nothing of Y.
    while let Ok(Some(Ok(Message::Text(t)))) =
        tokio::time::timeout(Duration::from_millis(300), x_ws.next()).await
    {
        assert!(
            !t.contains("for y only") && !t.contains("agent to y"),
            "x got {t}"
        );
    }
    // Another interaction's id in the query string does not change whose socket it is.
    let url = format!("ws://{}/ws/customer?token={x_token}&id={y}", app.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    ws.send(Message::text(r#"{"op":"message","args":["via x"]}"#))
        .await
        .unwrap();
    loop {
        let e = alice.expect("ON_CHAT_MESSAGE").await;
        if e.arg(1)["text"] == "via x" {
            assert_eq!(e.arg(0), x.as_str());
            break;
        }
    }
}

#[tokio::test]
async fn browser_sockets_need_an_allowed_origin_and_host_page() {
    let app = spawn_app().await;
    app.tenant("acme", &[("alice", "1001")]).await;
    let (s, _) = app
        .post(
            "/api/v1/admin/tenants",
            Some(ADMIN),
            json!({"name": "globex"}),
        )
        .await;
    assert_eq!(s, 201);
    let (s, _) = app
        .post(
            "/api/v1/admin/tenants/globex/integrations",
            Some(ADMIN),
            json!({"integrationKey": "gcrm", "name": "G", "allowedOrigins": ["https://globex.example"]}),
        )
        .await;
    assert_eq!(s, 201);
    let token = app.login("acme", "alice").await;
    let mut cells = 0;
    let rebound = format!("http://{}.evil.example", app.addr.ip());
    // Near misses of allowed origins are foreign origins.
    for origin in [
        "https://evil.example",
        "https://crm.example.com.evil.example",
        "https://evil.crm.example.com",
        "http://crm.example.com",
        "https://crm.example.com:8443",
        "https://crm.example.com/",
        "null",
        "https://CRM.example.com",
        rebound.as_str(),
    ] {
        let mut req = app.ws_url().into_client_request().unwrap();
        req.headers_mut().insert("Origin", origin.parse().unwrap());
        let err = tokio_tungstenite::connect_async(req)
            .await
            .err()
            .unwrap_or_else(|| panic!("{origin} was let in"));
        assert!(err.to_string().contains("403"), "{origin}: {err}");
        cells += 1;
    }
    // From an allowed page, a hello for an integration needs a host page that integration
    // allows: none, a foreign one, or another tenant's integration's page are refused.
    let page = format!("http://{}", app.addr);
    for (key, host) in [
        (Some("crm"), None),
        (Some("crm"), Some("https://evil.example")),
        (Some("crm"), Some("https://globex.example")),
        (Some("gcrm"), Some("https://globex.example")),
    ] {
        let mut req = app.ws_url().into_client_request().unwrap();
        req.headers_mut().insert("Origin", page.parse().unwrap());
        let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
        let hello = json!({"op":"hello","args":{"token":token,"integrationKey":key,"hostOrigin":host,"protocol":1}});
        ws.send(Message::text(hello.to_string())).await.unwrap();
        let v = next_json(&mut ws).await.unwrap();
        let expected = if key == Some("gcrm") { 17 } else { 1 };
        assert_eq!(
            v["result"]["error"]["code"], expected,
            "{key:?} {host:?}: {v}"
        );
        assert!(closes(&mut ws).await);
        cells += 1;
    }
    // The right host page is let in.
    let mut req = app.ws_url().into_client_request().unwrap();
    req.headers_mut()
        .insert("Origin", "https://crm.example.com".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let hello = json!({"op":"hello","args":{"token":token,"integrationKey":"crm","hostOrigin":"https://crm.example.com","protocol":1}});
    ws.send(Message::text(hello.to_string())).await.unwrap();
    let v = next_json(&mut ws).await.unwrap();
    assert_eq!(v["result"]["status"], "success", "{v}");
    cells += 1;
    println!("origin checks: {cells} cells");
}

/// Transfer data under `--data-key-file`: never on disk in plaintext (database and WAL),
/// byte-exact for the receiver, readable again after a restart with the key, and the
/// server refuses to start without it rather than lose it.
#[tokio::test]
async fn transfer_data_is_encrypted_at_rest_and_still_arrives_byte_exact() {
    use crate::transfers::DATA;
    const KEY: &str = "k1:4242424242424242424242424242424242424242424242424242424242424242";
    let with_key = |dir: &std::path::Path| Settings {
        data_cipher: Some(baton_store::DataCipher::parse(KEY).unwrap()),
        ..settings(dir)
    };
    let dir = tempfile::tempdir().unwrap();
    let s = with_key(dir.path());
    let app = spawn_with(dir, s).await;
    let t = app
        .tenant("acme", &[("alice", "1001"), ("bob", "1002")])
        .await;
    let HandedOff {
        alice,
        bob,
        interaction: id,
        transfer,
    } = hand_a_chat_from_alice_to_bob(&app, &t, DATA).await;
    let on_disk = |dir: &std::path::Path| -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let bytes = std::fs::read(p).unwrap();
                bytes.windows(6).any(|w| w == b"C-1042")
            })
            .map(|p| p.display().to_string())
            .collect()
    };
    let files: Vec<String> = std::fs::read_dir(app.data_dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(files.iter().any(|f| f.ends_with("-wal")), "{files:?}");
    assert_eq!(on_disk(app.data_dir.path()), Vec::<String>::new());
    // The admin history shows size and hash, computed from the plaintext.
    let history = app.transfers(&id).await;
    assert_eq!(history[0]["outcomes"][0]["bytes"], DATA.len());
    drop((alice, bob));

    // Restarted with the key: the offer and its data come back, byte-exact.
    let app = app.restart_with(with_key).await;
    let bob_token = app.login("acme", "bob").await;
    let mut bob = app
        .connect(
            bob_token,
            Some("crm"),
            baton_client::ConnectOptions::new(""),
        )
        .await;
    let load = bob.expect("ON_LOAD_TRANSFER_DATA").await;
    assert_eq!(load.raw(1), Some(DATA));
    assert_eq!(load.arg(2)["transferId"], transfer.as_str());
    assert_eq!(on_disk(app.data_dir.path()), Vec::<String>::new());
    drop(bob);

    // Without the key the server does not start (it would otherwise lose the data).
    let dir = app.shut_down().await;
    let err = baton_server::Application::build(settings(dir.path()))
        .await
        .err()
        .expect("refuses to start without the key");
    assert!(err.to_string().contains("no data key"), "{err}");
}
