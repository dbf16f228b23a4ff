//! `spawn_app()`: a real server on a random port with its own data directory, plus typed
//! helpers to set up a tenant and drive agents and customers over real HTTP and WebSockets.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use baton_client::{Client, ConnectOptions, Event, Events, connect};
use baton_server::settings::Secret;
use baton_server::{Application, Settings};
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub const ADMIN: &str = "test-admin-token";
pub const PASSWORD: &str = "pw-1234";
/// Long enough for a slow CI machine, short enough that a missing event fails fast.
pub const WAIT: Duration = Duration::from_secs(10);

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub http: reqwest::Client,
    pub data_dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

pub fn settings(dir: &std::path::Path) -> Settings {
    Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_path_buf(),
        admin_token: Some(Secret::new(ADMIN)),
        ..Settings::default()
    }
}

pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path());
    spawn_with(dir, s).await
}

pub async fn spawn_with(dir: tempfile::TempDir, settings: Settings) -> TestApp {
    let app = Application::build(settings).await.expect("server starts");
    let addr = app.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        app.run_until(async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    TestApp {
        addr,
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
        data_dir: dir,
        stop: Some(stop),
        task: Some(task),
    }
}

impl TestApp {
    /// A handle on a server this test did not start in-process (a child process).
    pub fn external(addr: SocketAddr) -> TestApp {
        TestApp {
            addr,
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            data_dir: tempfile::tempdir().unwrap(),
            stop: None,
            task: None,
        }
    }

    /// Stops the server gracefully and starts a new one on the same data directory.
    pub async fn restart(self) -> TestApp {
        self.restart_with(settings).await
    }

    /// [`restart`](Self::restart) with settings made for the data directory by `make`.
    pub async fn restart_with(self, make: impl FnOnce(&std::path::Path) -> Settings) -> TestApp {
        let dir = self.shut_down().await;
        let s = make(dir.path());
        spawn_with(dir, s).await
    }

    /// Stops the server gracefully and hands back its data directory.
    pub async fn shut_down(mut self) -> tempfile::TempDir {
        self.stop.take().unwrap().send(()).ok();
        self.task.take().unwrap().await.unwrap();
        std::mem::replace(&mut self.data_dir, tempfile::tempdir().unwrap())
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws/agent", self.addr)
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::PUT, path, token, Some(body))
            .await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, token, None).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.send(reqwest::Method::DELETE, path, token, None).await
    }

    /// One HTTP request with an optional bearer token and JSON body; the status and the
    /// JSON answer (`null` when there is none).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            req = req.json(&body);
        }
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// A tenant with services Sales and Support, the given agents (username, extension),
    /// integration `crm`, and an ingress token.
    pub async fn tenant(&self, name: &str, agents: &[(&str, &str)]) -> Tenant {
        assert_eq!(
            self.post("/api/v1/admin/tenants", Some(ADMIN), json!({"name": name}))
                .await
                .0,
            201
        );
        for service in ["Sales", "Support"] {
            let (s, body) = self
                .post(
                    &format!("/api/v1/admin/tenants/{name}/services"),
                    Some(ADMIN),
                    json!({"name": service, "channels": ["chat", "voice"], "ringTimeoutMs": 20000}),
                )
                .await;
            assert_eq!(s, 201, "{body}");
        }
        for (username, ext) in agents {
            let (s, body) = self
                .post(
                    &format!("/api/v1/admin/tenants/{name}/agents"),
                    Some(ADMIN),
                    json!({"username": username, "password": PASSWORD, "displayName": username.to_uppercase(),
                           "extension": ext, "services": ["Sales", "Support"], "maxChats": 2}),
                )
                .await;
            assert_eq!(s, 201, "{body}");
        }
        for key in ["crm", "other-crm"] {
            let (s, _) = self
                .post(
                    &format!("/api/v1/admin/tenants/{name}/integrations"),
                    Some(ADMIN),
                    json!({"integrationKey": key, "name": key, "allowedOrigins": ["https://crm.example.com"]}),
                )
                .await;
            assert_eq!(s, 201);
        }
        let (s, body) = self
            .post(
                &format!("/api/v1/admin/tenants/{name}/ingress-tokens"),
                Some(ADMIN),
                json!({}),
            )
            .await;
        assert_eq!(s, 201);
        Tenant {
            name: name.to_owned(),
            ingress: body["token"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn settings(&self, tenant: &str, body: Value) {
        let (s, b) = self
            .put(
                &format!("/api/v1/admin/tenants/{tenant}/settings"),
                Some(ADMIN),
                body,
            )
            .await;
        assert_eq!(s, 200, "{b}");
    }

    pub async fn login(&self, tenant: &str, username: &str) -> String {
        let (s, body) = self
            .post(
                "/api/v1/sessions",
                None,
                json!({"tenant": tenant, "username": username, "password": PASSWORD}),
            )
            .await;
        assert_eq!(s, 201, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// Logs in and connects an agent declaring `integration` (or none).
    pub async fn agent(&self, tenant: &str, username: &str, integration: Option<&str>) -> Agent {
        let token = self.login(tenant, username).await;
        self.connect(token, integration, ConnectOptions::new(""))
            .await
    }

    pub async fn connect(
        &self,
        token: String,
        integration: Option<&str>,
        base: ConnectOptions,
    ) -> Agent {
        let _ = base;
        let mut options = ConnectOptions::new(token.clone());
        if let Some(key) = integration {
            options = options.integration_key(key);
        }
        self.connect_with(token, options).await
    }

    pub async fn connect_with(&self, token: String, options: ConnectOptions) -> Agent {
        let (client, events) = connect(&self.ws_url(), options)
            .await
            .expect("hello accepted");
        let mut agent = Agent {
            client,
            events,
            token,
            seen: Vec::new(),
        };
        agent.expect("ON_LOGIN").await;
        agent
    }

    /// Creates an interaction through ingress; returns (id, customer token).
    pub async fn customer(
        &self,
        tenant: &Tenant,
        channel: &str,
        service: &str,
        name: &str,
    ) -> (String, String) {
        let (s, body) = self
            .post(
                "/api/v1/interactions",
                Some(&tenant.ingress),
                json!({"channel": channel, "service": service, "customer": {"name": name, "phone": "+100"},
                       "attachedData": {"caseHint": "C-1"}}),
            )
            .await;
        assert_eq!(s, 201, "{body}");
        (
            body["id"].as_str().unwrap().to_owned(),
            body["customerToken"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn transfers(&self, interaction: &str) -> Vec<Value> {
        let (s, body) = self
            .get(
                &format!("/api/v1/interactions/{interaction}/transfers"),
                Some(ADMIN),
            )
            .await;
        assert_eq!(s, 200, "{body}");
        body.as_array().unwrap().clone()
    }
}

/// A blind transfer that has reached its receiver: what the transfer-data tests start from.
pub struct HandedOff {
    pub alice: Agent,
    pub bob: Agent,
    pub interaction: String,
    pub transfer: String,
}

/// In a tenant with alice and bob (both hosts of integration `crm`), a chat reaches alice,
/// she blind-transfers it to bob with `data`, and bob receives exactly those bytes.
pub async fn hand_a_chat_from_alice_to_bob(
    app: &TestApp,
    tenant: &Tenant,
    data: &str,
) -> HandedOff {
    let mut alice = app.agent(&tenant.name, "alice", Some("crm")).await;
    let mut bob = app.agent(&tenant.name, "bob", Some("crm")).await;
    alice.ready().await;
    let (interaction, _) = app.customer(tenant, "chat", "Sales", "Carl").await;
    alice.accept_next().await;
    let transfer = alice
        .client
        .blind_transfer("bob", Some(data), Some(&interaction))
        .await
        .unwrap();
    assert_eq!(bob.expect("ON_LOAD_TRANSFER_DATA").await.raw(1), Some(data));
    HandedOff {
        alice,
        bob,
        interaction,
        transfer,
    }
}

pub struct Tenant {
    pub name: String,
    pub ingress: String,
}

/// A connected agent: the client, its events, and every event seen so far (for order checks).
pub struct Agent {
    pub client: Client,
    pub events: Events,
    pub token: String,
    pub seen: Vec<Event>,
}

impl Agent {
    /// Waits for the next event named `name`, keeping the ones passed over in `seen`.
    pub async fn expect(&mut self, name: &str) -> Event {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let next = tokio::time::timeout_at(deadline, self.events.next())
                .await
                .unwrap_or_else(|_| panic!("no {name} within {WAIT:?}; saw {:?}", self.names()))
                .unwrap_or_else(|| panic!("connection closed while waiting for {name}"));
            self.seen.push(next.clone());
            if next.name == name {
                return next;
            }
        }
    }

    /// Waits for `ON_TRANSFER_STATUS` with this phase.
    pub async fn expect_status(&mut self, phase: &str) -> Value {
        loop {
            let e = self.expect("ON_TRANSFER_STATUS").await;
            if e.arg(0)["phase"] == phase {
                return e.arg(0);
            }
        }
    }

    /// Waits for an `ON_TRANSFER_STATUS` whose first outcome is `outcome`.
    pub async fn expect_outcome(&mut self, outcome: &str) -> Value {
        loop {
            let e = self.expect("ON_TRANSFER_STATUS").await;
            if e.arg(0)["outcomes"][0]["outcome"] == outcome {
                return e.arg(0);
            }
        }
    }

    /// Asserts no event named `name` arrives within a short while.
    pub async fn expect_none(&mut self, name: &str, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        while let Ok(Some(e)) = tokio::time::timeout_at(deadline, self.events.next()).await {
            assert_ne!(e.name, name, "unexpected {name}: {:?}", e.args);
            self.seen.push(e);
        }
    }

    pub fn names(&self) -> Vec<String> {
        self.seen.iter().map(|e| e.name.clone()).collect()
    }

    pub async fn ready(&mut self) {
        self.client.set_agent_state("ready", None).await.unwrap();
    }

    /// Waits for a ringing offer and accepts it; returns the interaction id.
    pub async fn accept_next(&mut self) -> String {
        let e = self.expect("ON_NEW_INTERACTION").await;
        let id = e.arg(0)["id"].as_str().unwrap().to_owned();
        self.client.accept_interaction(Some(&id)).await.unwrap();
        id
    }
}

/// A raw customer WebSocket, as the chat page opens it.
pub type CustomerSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A customer socket's answer to one op, and the socket: whatever the op started (a call's
/// audio, say) lasts as long as the socket is open.
pub async fn customer_op(
    app: &TestApp,
    token: &str,
    op: &str,
    args: Value,
) -> (Value, CustomerSocket) {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    const OP_ID: u64 = 5;
    let url = format!("ws://{}/ws/customer?token={token}", app.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let frame = json!({"op": op, "args": args, "id": OP_ID}).to_string();
    ws.send(Message::text(frame)).await.unwrap();
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["id"] == OP_ID {
                return (v["result"].clone(), ws);
            }
        }
    }
}
