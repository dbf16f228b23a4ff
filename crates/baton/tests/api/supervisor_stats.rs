//! The supervisor console's charts: `GET /api/v1/supervisor/stats` counts hand-offs by outcome
//! and queue waits per minute for the supervisor's own tenant, bounded to an hour, and starts
//! empty after a restart (decision 0012).

use serde_json::{Value, json};

use crate::helpers::*;
use crate::transfers::DATA;

/// The sums over every bucket: (accepted, failed, rejected, waits, max wait of any minute).
fn totals(stats: &Value) -> (u64, u64, u64, u64, u64) {
    let buckets = stats["buckets"].as_array().expect("buckets");
    let sum = |f: &dyn Fn(&Value) -> u64| buckets.iter().map(f).sum::<u64>();
    (
        sum(&|b| b["handOffs"]["accepted"].as_u64().unwrap()),
        sum(&|b| b["handOffs"]["failed"].as_u64().unwrap()),
        sum(&|b| b["failedByReason"]["rejected"].as_u64().unwrap_or(0)),
        sum(&|b| b["waits"]["count"].as_u64().unwrap()),
        buckets
            .iter()
            .filter_map(|b| b["waits"]["maxMs"].as_u64())
            .max()
            .unwrap_or(0),
    )
}

#[tokio::test]
async fn stats_count_hand_offs_by_outcome_and_queue_waits_of_the_own_tenant() {
    let app = spawn_app().await;
    let t = app
        .tenant(
            "acme",
            &[("alice", "1001"), ("bob", "1002"), ("sam", "1003")],
        )
        .await;
    app.tenant("globex", &[("gina", "2001")]).await;
    for (tenant, name) in [("acme", "sam"), ("globex", "gina")] {
        let (s, body) = app
            .put(
                &format!("/api/v1/admin/tenants/{tenant}/agents/{name}/supervisor"),
                Some(ADMIN),
                json!({"supervisor": true}),
            )
            .await;
        assert_eq!(s, 200, "{body}");
    }
    let sam = app.login("acme", "sam").await;
    let gina = app.login("globex", "gina").await;

    // Nothing yet: an hour of empty minutes.
    let (s, empty) = app.get("/api/v1/supervisor/stats", Some(&sam)).await;
    assert_eq!(s, 200, "{empty}");
    assert_eq!(empty["buckets"].as_array().unwrap().len(), 60);
    assert_eq!(totals(&empty), (0, 0, 0, 0, 0));

    // A customer waits in Sales until alice is ready: one queue wait.
    let mut alice = app.agent("acme", "alice", Some("crm")).await;
    let mut bob = app.agent("acme", "bob", Some("crm")).await;
    let (id, _customer) = app.customer(&t, "chat", "Sales", "Wendy").await;
    alice.ready().await;
    alice.accept_next().await;

    // Alice hands it to bob, who rejects it (failed: rejected); it comes back to her and
    // she hands it again, and bob accepts (accepted).
    alice
        .client
        .blind_transfer("bob", Some(DATA), Some(&id))
        .await
        .unwrap();
    bob.expect("ON_NEW_INTERACTION").await;
    bob.client.reject_interaction(Some(&id)).await.unwrap();
    assert_eq!(alice.expect_status("failed").await["reason"], "rejected");
    alice.expect("ON_NEW_INTERACTION").await;
    alice.client.accept_interaction(Some(&id)).await.unwrap();
    alice
        .client
        .blind_transfer("bob", Some(DATA), Some(&id))
        .await
        .unwrap();
    bob.expect("ON_NEW_INTERACTION").await;
    bob.client.accept_interaction(Some(&id)).await.unwrap();
    alice.expect_status("accepted").await;

    let (s, stats) = app.get("/api/v1/supervisor/stats", Some(&sam)).await;
    assert_eq!(s, 200, "{stats}");
    let (accepted, failed, rejected, waits, _) = totals(&stats);
    assert_eq!((accepted, failed, rejected, waits), (1, 1, 1, 1), "{stats}");
    let waited = stats["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["waits"]["count"] == 1)
        .unwrap()["waits"]
        .clone();
    assert_eq!(waited["avgMs"], waited["maxMs"], "one wait: {waited}");
    assert!(!stats.to_string().contains("C-1042"), "content in {stats}");
    // Buckets are whole minutes, oldest first, the last one holding now.
    let buckets = stats["buckets"].as_array().unwrap();
    let starts: Vec<i64> = buckets
        .iter()
        .map(|b| b["start"].as_i64().unwrap())
        .collect();
    assert!(
        starts.windows(2).all(|w| w[1] - w[0] == 60_000),
        "{starts:?}"
    );
    let at = stats["at"].as_i64().unwrap();
    assert!(starts[59] <= at && at < starts[59] + 60_000);

    // A shorter window; bad windows are refused with INVALID_ARGS.
    let (s, five) = app
        .get("/api/v1/supervisor/stats?minutes=5", Some(&sam))
        .await;
    assert_eq!(s, 200, "{five}");
    assert_eq!(five["buckets"].as_array().unwrap().len(), 5);
    for bad in ["0", "61", "ten", "-1"] {
        let (s, body) = app
            .get(
                &format!("/api/v1/supervisor/stats?minutes={bad}"),
                Some(&sam),
            )
            .await;
        assert_eq!(
            (s, body["error"]["code"].clone()),
            (400, json!(3)),
            "{bad}: {body}"
        );
    }

    // Another tenant's supervisor sees none of it; no token or no role is refused.
    let (_, other) = app.get("/api/v1/supervisor/stats", Some(&gina)).await;
    assert_eq!(totals(&other), (0, 0, 0, 0, 0), "{other}");
    let (s, _) = app.get("/api/v1/supervisor/stats", None).await;
    assert_eq!(s, 401);
    let (s, _) = app.get("/api/v1/supervisor/stats", Some(&bob.token)).await;
    assert_eq!(s, 403);

    // Documented in OpenAPI with its parameter.
    let (_, spec) = app.get("/openapi.json", None).await;
    let op = &spec["paths"]["/api/v1/supervisor/stats"]["get"];
    assert_eq!(op["parameters"][0]["name"], "minutes", "{op}");

    // Kept in memory only: after a restart the charts start empty.
    drop((alice, bob));
    let app = app.restart().await;
    let sam = app.login("acme", "sam").await;
    let (s, after) = app.get("/api/v1/supervisor/stats", Some(&sam)).await;
    assert_eq!(s, 200, "{after}");
    assert_eq!(totals(&after), (0, 0, 0, 0, 0), "{after}");
}
