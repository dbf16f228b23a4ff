//! HTTPS and WSS on the listen address: the SDK over https, an agent hello over wss with
//! the browser origin checks, graceful shutdown with a socket open, and `baton demo --tls`.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use baton_server::settings::{AgentConfig, IntegrationConfig, ServiceConfig, TenantConfig};
use baton_server::{Application, ConfigFile};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::{PASSWORD, WAIT, settings};

const CRM: &str = "https://crm.example.com";

fn tenant() -> TenantConfig {
    TenantConfig {
        name: "acme".into(),
        services: vec![ServiceConfig {
            name: "Sales".into(),
            channels: vec![baton_protocol::Channel::Chat],
            ring_timeout_ms: None,
            ..ServiceConfig::default()
        }],
        agents: vec![AgentConfig {
            username: "alice".into(),
            password: PASSWORD.into(),
            display_name: None,
            extension: None,
            services: vec!["Sales".into()],
            max_chats: None,
        }],
        integrations: vec![IntegrationConfig {
            key: "crm".into(),
            name: "CRM".into(),
            allowed_origins: vec![CRM.into()],
            ..IntegrationConfig::default()
        }],
        ..TenantConfig::default()
    }
}

/// An HTTPS client that trusts only `cert_pem`.
fn https_client(cert_pem: &[u8]) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem).unwrap())
        .https_only(true)
        .timeout(WAIT)
        .build()
        .unwrap()
}

type Wss =
    tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>;

/// Opens `wss://localhost:{port}/ws/agent` as a browser page at `origin` would.
async fn wss(
    addr: SocketAddr,
    cert_pem: &[u8],
    origin: &str,
) -> Result<Wss, tokio_tungstenite::tungstenite::Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(cert_pem).unwrap())
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("the TLS handshake succeeds with the server's certificate");
    let mut request = format!("wss://localhost:{}/ws/agent", addr.port())
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("origin", origin.parse().unwrap());
    tokio_tungstenite::client_async(request, tls)
        .await
        .map(|(ws, _)| ws)
}

async fn recv(ws: &mut Wss) -> Value {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a frame in time")
            .expect("the socket is open")
            .unwrap();
        if let Message::Text(t) = msg {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

#[tokio::test]
async fn sdk_and_agent_socket_are_served_over_https_and_wss() {
    let dir = tempfile::tempdir().unwrap();
    let tls = baton_server::tls::self_signed(&dir.path().join("tls"), &["localhost", "127.0.0.1"])
        .unwrap();
    let cert_pem = std::fs::read(tls.cert_path()).unwrap();
    let mut s = settings(dir.path());
    s.tls = Some(tls);
    s.seed = ConfigFile {
        tenants: vec![tenant()],
        ..ConfigFile::default()
    };
    let app = Application::build(s).await.expect("server starts");
    let addr = app.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let http = https_client(&cert_pem);
    let base = format!("https://localhost:{}", addr.port());

    // The SDK at Bright Pattern's path, by name and by IP address (both are in the certificate).
    for host in [base.clone(), format!("https://{addr}")] {
        let resp = http
            .get(format!("{host}/agent/crmembedded/adapters/api.js"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        // Served over TLS, every answer asks browsers to stay on https.
        assert_eq!(
            resp.headers()["strict-transport-security"],
            "max-age=31536000"
        );
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/javascript")
        );
        assert!(resp.text().await.unwrap().contains("AdApi"));
    }
    // Plain HTTP is not answered on the TLS port.
    assert!(
        reqwest::Client::new()
            .get(format!("http://{addr}/healthz"))
            .timeout(WAIT)
            .send()
            .await
            .map(|r| !r.status().is_success())
            .unwrap_or(true)
    );

    let login: Value = http
        .post(format!("{base}/api/v1/sessions"))
        .json(&json!({"tenant": "acme", "username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().expect("logged in");

    // A page of another site may not open the agent socket, over wss as over ws.
    let refused = wss(addr, &cert_pem, "https://evil.example").await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), 403)
        }
        other => panic!("a foreign origin was not refused: {other:?}"),
    }

    // The widget's own page (same https origin) in a CRM at an allowed origin says hello.
    let mut ws = wss(addr, &cert_pem, &base).await.expect("wss upgrade");
    ws.send(Message::text(
        json!({"op": "hello", "args": {"token": token, "integrationKey": "crm",
               "hostOrigin": CRM, "protocol": 1}})
        .to_string(),
    ))
    .await
    .unwrap();
    let hello = recv(&mut ws).await;
    assert_eq!(hello["id"], 0, "{hello}");
    assert_eq!(hello["result"]["status"], "success", "{hello}");
    assert_eq!(hello["result"]["data"]["agentId"], login["agentId"]);
    assert_eq!(recv(&mut ws).await["event"], "ON_LOGIN");
    ws.send(Message::text(
        r#"{"id":1,"op":"setAgentState","args":["ready",null]}"#,
    ))
    .await
    .unwrap();
    loop {
        let v = recv(&mut ws).await;
        if v["id"] == 1 {
            assert_eq!(v["result"]["status"], "success", "{v}");
            break;
        }
    }

    // Graceful shutdown finishes with the wss socket still open.
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(15), server)
        .await
        .expect("the server stops in time")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn serve_names_the_bad_tls_file() {
    let dir = tempfile::tempdir().unwrap();
    let tls = baton_server::tls::self_signed(&dir.path().join("tls"), &["localhost"]).unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--tls-cert")
        .arg(tls.cert_path())
        .arg("--tls-key")
        .arg(&empty)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("TLS key file") && stderr.contains("empty.pem"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("data").exists(),
        "it failed before opening the store"
    );
}

/// Runs `baton demo --tls` on `data`, returns the https URL printed for Alice's CRM.
fn run_demo(data: &std::path::Path) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["demo", "--tls", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("baton binary runs");
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let (mut listening, mut alice) = (false, None);
    while alice.is_none() {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            let _ = child.kill();
            panic!("baton demo exited early");
        }
        listening |= line.starts_with("Baton listening on https://");
        if let Some(url) = line.trim().strip_prefix("Alice's CRM:") {
            alice = Some(url.trim().to_owned());
        }
    }
    assert!(listening, "the listening line names https");
    // Keep reading: the demo prints more, and a closed pipe would make its println! fail.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    (child, alice.unwrap())
}

#[tokio::test]
async fn demo_tls_makes_a_certificate_once_and_prints_https_urls() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cert = data.join("tls").join("cert.pem");
    let mut first_pem = None;
    for _ in 0..2 {
        let (mut child, alice) = tokio::task::spawn_blocking({
            let data = data.clone();
            move || run_demo(&data)
        })
        .await
        .unwrap();
        assert!(alice.starts_with("https://127.0.0.1:"), "{alice}");
        let pem = std::fs::read(&cert).unwrap();
        let resp = https_client(&pem).get(&alice).send().await;
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(resp.unwrap().status(), 200);
        match &first_pem {
            None => first_pem = Some(pem),
            Some(first) => assert_eq!(first, &pem, "the certificate is kept across runs"),
        }
    }
}
