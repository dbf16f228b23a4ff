//! Locking a cluster down (docs/cluster.md): the engine takes commands only from nodes
//! that can read the cluster's database, and the TLS options are honoured, never skipped.

use baton_server::engine::{Envelope, Extra};
use baton_server::{Application, Settings};

use crate::cluster::{NATS, cluster_settings, unique, wait_ready};
use crate::helpers::*;

fn rejected(metrics: &str) -> u64 {
    metrics
        .lines()
        .find(|l| l.starts_with("baton_rejected_cluster_messages_total"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

async fn metrics(app: &TestApp) -> String {
    app.http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_command_from_a_stranger_on_nats_is_refused() {
    let name = unique("sec");
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    s.cluster = Some(cluster_settings(&name));
    let app = spawn_with(dir, s).await;
    wait_ready(&app).await;

    // Any client of the NATS server may publish on the engine subject.
    let stranger = async_nats::connect(NATS).await.unwrap();
    let forged = Envelope::Command {
        command: baton_core::Command::Admin(baton_core::AdminCommand::CreateTenant {
            id: baton_core::TenantId("evil".into()),
            settings: Default::default(),
        }),
        extra: Extra::default(),
    };
    let body = serde_json::to_vec(&forged).unwrap();
    let subject = format!("{name}.engine");
    // Unsigned, and signed with a key that is not the cluster's.
    let wrong = baton_server::cluster_auth::Signer::from_hex(&"ab".repeat(32)).unwrap();
    for payload in [body.clone(), wrong.seal(&body)] {
        stranger
            .publish(subject.clone(), payload.into())
            .await
            .unwrap();
    }
    // The other subjects are signed too: forged socket frames, customer frames, a forged
    // new engine and a forged heartbeat are all dropped.
    for (suffix, payload) in [
        (
            "customers",
            r#"{"origin":9,"items":[{"interaction":"x","text":"phish"}]}"#,
        ),
        ("leader", r#"{"node":9,"epoch":999999}"#),
        ("alive", "9"),
    ] {
        stranger
            .publish(
                format!("{name}.{suffix}"),
                payload.as_bytes().to_vec().into(),
            )
            .await
            .unwrap();
    }
    stranger.flush().await.unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while rejected(&metrics(&app).await) < 5 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the engine never refused the forged commands"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Neither created the tenant; the node's own (signed) command does.
    let (s, body) = app
        .post(
            "/api/v1/admin/tenants",
            Some(ADMIN),
            serde_json::json!({"name": "evil"}),
        )
        .await;
    assert_eq!(s, 201, "the forged command created the tenant: {body}");
}

#[tokio::test]
async fn required_tls_is_never_skipped() {
    // NATS on this machine speaks no TLS: requiring it is an error at start, not a
    // connection in the clear.
    let name = unique("tls");
    let dir = tempfile::tempdir().unwrap();
    let mut s: Settings = settings(dir.path());
    let mut c = cluster_settings(&name);
    c.nats_tls = true;
    s.cluster = Some(c);
    let err = Application::build(s)
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("NATS"), "{err}");
    // PostgreSQL with sslmode=require and a certificate the given CA did not sign: refused.
    let mut s: Settings = settings(dir.path());
    let mut c = cluster_settings(&name);
    c.database_url = "postgres://postgres@localhost:5432/test?sslmode=require".into();
    c.database_ca_file = Some("/etc/ssl/certs/ISRG_Root_X1.pem".into());
    s.cluster = Some(c);
    let err = Application::build(s)
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(err.to_lowercase().contains("certificate"), "{err}");
}
