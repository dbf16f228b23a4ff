//! Bright Pattern's desk methods against a real server: dispositions, not-ready reasons,
//! DIDs, the selected service, teams, outbound calls and chats, notes, conferences,
//! callback windows, integration config, CRM records and screens; their admin routes,
//! `baton.toml` keys, and that a restart keeps them.

use baton_client::{ClientError, ConnectOptions};
use baton_protocol::{AssociatedObject, DispositionTarget, ErrorCode, RescheduleData};
use serde_json::{Value, json};

use crate::helpers::*;

fn code(e: ClientError) -> u32 {
    e.api().map(|a| a.code).unwrap_or_else(|| panic!("{e}"))
}

async fn put_ok(app: &TestApp, path: &str, body: Value) -> Value {
    let (s, b) = app.put(path, Some(ADMIN), body).await;
    assert_eq!(s, 200, "{path}: {b}");
    b
}

/// Support requires a disposition: resolved, callback, spam.
async fn support_dispositions(app: &TestApp, tenant: &str) {
    put_ok(
        app,
        &format!("/api/v1/admin/tenants/{tenant}/services/Support/dispositions"),
        json!({"requireDisposition": true, "dispositions": [
            {"code": "resolved", "name": "Resolved", "type": "SUCCESS"},
            {"code": "callback", "name": "Call back", "type": "CONTINUE"},
            {"code": "spam", "name": "Spam", "type": "SPAM"},
        ]}),
    )
    .await;
}

#[tokio::test]
async fn dispositions_read_from_the_api_can_be_put_back_as_they_are() {
    let app = spawn_app().await;
    app.tenant("acme", &[("alice", "1001")]).await;
    support_dispositions(&app, "acme").await;
    let path = "/api/v1/admin/tenants/acme/services/Support/dispositions";
    let (s, listed) = app.get(path, Some(ADMIN)).await;
    assert_eq!(s, 200, "{listed}");
    assert!(listed["dispositions"][0]["id"].is_string(), "{listed}");
    put_ok(&app, path, listed.clone()).await;
    let (_, again) = app.get(path, Some(ADMIN)).await;
    assert_eq!(again, listed);
}

/// Alice (ready, no integration) gets a chat of `service`; answers its id.
async fn chat_with_alice(app: &TestApp, t: &Tenant, alice: &mut Agent, service: &str) -> String {
    alice.ready().await;
    app.customer(t, "chat", service, "Carl").await;
    alice.accept_next().await
}

async fn mine(agent: &Agent, id: &str) -> baton_protocol::InteractionData {
    let state = agent.client.get_interactions_state().await.unwrap();
    state
        .interactions
        .into_iter()
        .find(|i| i.id == id)
        .unwrap_or_else(|| panic!("{id} is not the agent's"))
}

#[tokio::test]
async fn a_service_that_requires_a_disposition_completes_only_after_one_is_set() {
    let app = spawn_app().await;
    let t = app.tenant("acme", &[("alice", "1001")]).await;
    support_dispositions(&app, "acme").await;
    let mut alice = app.agent("acme", "alice", None).await;

    let services = alice.client.get_services_list().await.unwrap();
    let support = services.iter().find(|s| s.name == "Support").unwrap();
    assert!(support.use_dispositions && support.require_disposition);
    let sales = services.iter().find(|s| s.name == "Sales").unwrap();
    assert!(!sales.use_dispositions && !sales.require_disposition);

    let id = chat_with_alice(&app, &t, &mut alice, "Support").await;
    let list = alice
        .client
        .get_dispositions_list(&DispositionTarget::default())
        .await
        .unwrap();
    let codes: Vec<&str> = list.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(codes, ["resolved", "callback", "spam"]);
    assert_eq!(list[2].kind, baton_protocol::DispositionType::Spam);
    let by_service = alice
        .client
        .get_dispositions_list(&DispositionTarget {
            service: Some("Sales".into()),
            interaction_id: None,
        })
        .await
        .unwrap();
    assert!(by_service.is_empty(), "Sales uses no dispositions");
    let unknown = alice
        .client
        .get_dispositions_list(&DispositionTarget {
            service: Some("Nope".into()),
            interaction_id: None,
        })
        .await
        .unwrap_err();
    assert_eq!(code(unknown), ErrorCode::NoService.code());

    let refused = alice
        .client
        .complete_interaction(Some(&id))
        .await
        .unwrap_err();
    assert_eq!(code(refused), ErrorCode::NoDisposition.code());
    assert_eq!(mine(&alice, &id).await.state.as_str(), "connected");
    let unknown = alice
        .client
        .set_disposition("bogus", Some(&id))
        .await
        .unwrap_err();
    assert_eq!(code(unknown), ErrorCode::ObjectNotFound.code());

    alice
        .client
        .set_disposition("Resolved", Some(&id))
        .await
        .unwrap();
    let view = mine(&alice, &id).await;
    assert_eq!(view.disposition.as_deref(), Some("Resolved"));
    assert_eq!(view.disposition_id.as_deref(), Some(list[0].id.as_str()));
    alice.client.complete_interaction(Some(&id)).await.unwrap();
    alice.expect("ON_INTERACTION_REMOVED").await;
    let (_, stored) = app
        .get(&format!("/api/v1/interactions/{id}"), Some(ADMIN))
        .await;
    assert_eq!(stored["status"], "completed");
    assert_eq!(stored["disposition"], "Resolved");
    assert_eq!(stored["direction"], "inbound");
}

#[tokio::test]
async fn not_ready_reasons_are_listed_and_only_they_are_accepted() {
    let app = spawn_app().await;
    app.tenant("acme", &[("alice", "1001")]).await;
    let alice = app.agent("acme", "alice", None).await;
    // No list: any reason goes.
    alice
        .client
        .set_agent_state("not_ready", Some("Dentist"))
        .await
        .unwrap();
    put_ok(
        &app,
        "/api/v1/admin/tenants/acme/not-ready-reasons",
        json!({"notReadyReasons": ["Lunch", "Meeting"]}),
    )
    .await;
    assert_eq!(
        alice.client.get_agent_not_ready_reasons().await.unwrap(),
        ["Lunch", "Meeting"]
    );
    let refused = alice
        .client
        .set_agent_state("not_ready", Some("Dentist"))
        .await
        .unwrap_err();
    assert_eq!(code(refused), ErrorCode::InvalidArgs.code());
    alice
        .client
        .set_agent_state("not_ready", Some("lunch"))
        .await
        .unwrap();
    let state = alice.client.get_agent_state().await.unwrap();
    assert_eq!(state.not_ready_reason.as_deref(), Some("Lunch"));
    assert!(!state.reserved_for_incoming_interaction);
    alice
        .client
        .set_agent_state("not_ready", None)
        .await
        .unwrap();

    let (_, read) = app
        .get("/api/v1/admin/tenants/acme/not-ready-reasons", Some(ADMIN))
        .await;
    assert_eq!(read, json!({"notReadyReasons": ["Lunch", "Meeting"]}));
    // A bare list is the same.
    let bare = put_ok(
        &app,
        "/api/v1/admin/tenants/acme/not-ready-reasons",
        json!(["Lunch", "Meeting"]),
    )
    .await;
    assert_eq!(bare, read);
    let (s, _) = app
        .put(
            "/api/v1/admin/tenants/acme/not-ready-reasons",
            Some(ADMIN),
            json!({"notReadyReasons": ["Lunch", "lunch"]}),
        )
        .await;
    assert_eq!(s, 400);
    let (s, _) = app
        .put(
            "/api/v1/admin/tenants/nope/not-ready-reasons",
            Some(ADMIN),
            json!({"notReadyReasons": []}),
        )
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn dids_selections_teams_dispositions_and_notes_survive_a_restart() {
    let app = spawn_app().await;
    let t = app
        .tenant("acme", &[("alice", "1001"), ("bob", "1002")])
        .await;
    support_dispositions(&app, "acme").await;
    let dids = put_ok(
        &app,
        "/api/v1/admin/tenants/acme/did-numbers",
        json!({"didNumbers": [{"number": "+1 555 0100", "isSMS": true}, {"number": "+1 555 0199"}]}),
    )
    .await;
    assert_eq!(dids["didNumbers"][0]["id"], "did-15550100");
    put_ok(
        &app,
        "/api/v1/admin/tenants/acme/teams/Tier%201",
        json!({"members": ["alice"], "supervisors": ["bob"]}),
    )
    .await;
    put_ok(
        &app,
        "/api/v1/admin/tenants/acme/integrations/crm/config",
        json!({"theme": "dark"}),
    )
    .await;

    let mut alice = app.agent("acme", "alice", None).await;
    let list = alice.client.get_did_numbers_list().await.unwrap();
    assert_eq!(list.len(), 2);
    assert!(list[0].is_sms && list[0].is_voice && !list[1].is_sms);
    assert_eq!(alice.client.get_did_number().await.unwrap(), None);
    let unknown = alice.client.set_did_number(Some("+999")).await.unwrap_err();
    assert_eq!(code(unknown), ErrorCode::ObjectNotFound.code());
    alice
        .client
        .set_did_number(Some("+1 555 0199"))
        .await
        .unwrap();
    assert_eq!(
        alice.client.get_did_number().await.unwrap().unwrap().id,
        "did-15550199"
    );
    assert_eq!(alice.client.get_service().await.unwrap(), None);
    let unknown = alice.client.set_service(Some("Nope")).await.unwrap_err();
    assert_eq!(code(unknown), ErrorCode::ObjectNotFound.code());
    alice.client.set_service(Some("support")).await.unwrap();
    assert_eq!(
        alice.client.get_service().await.unwrap().unwrap().name,
        "Support"
    );

    let id = chat_with_alice(&app, &t, &mut alice, "Support").await;
    alice
        .client
        .set_disposition("callback", None)
        .await
        .unwrap();
    alice.client.update_note("first", None).await.unwrap();
    alice
        .client
        .set_dial_candidates(vec![
            json!({"id": "c1", "displayName": "Ann", "phones": []}),
        ])
        .await
        .unwrap();
    let token = alice.token.clone();
    drop(alice);

    let app = app.restart().await;
    let alice = app.connect(token, None, ConnectOptions::new("")).await;
    let login = alice.seen.last().unwrap().arg(0);
    assert_eq!(login["dialCandidates"][0]["id"], "c1");
    assert_eq!(
        alice.client.get_did_number().await.unwrap().unwrap().number,
        "+1 555 0199"
    );
    assert_eq!(
        alice.client.get_service().await.unwrap().unwrap().name,
        "Support"
    );
    let view = mine(&alice, &id).await;
    assert_eq!(view.disposition.as_deref(), Some("Call back"));
    assert_eq!(view.notes[0].text, "first");
    let teams = alice.client.get_teams().await.unwrap();
    assert!(teams.iter().any(|t| t.id == "Tier 1" && t.is_supervised));
    let (_, d) = app
        .get(
            "/api/v1/admin/tenants/acme/services/Support/dispositions",
            Some(ADMIN),
        )
        .await;
    assert_eq!(d["requireDisposition"], true);
    assert_eq!(d["dispositions"].as_array().unwrap().len(), 3);
    let (_, c) = app
        .get(
            "/api/v1/admin/tenants/acme/integrations/crm/config",
            Some(ADMIN),
        )
        .await;
    assert_eq!(c, json!({"theme": "dark"}));
    alice.client.set_service(None).await.unwrap();
    alice.client.set_did_number(None).await.unwrap();
    assert_eq!(alice.client.get_service().await.unwrap(), None);
    assert_eq!(alice.client.get_did_number().await.unwrap(), None);
}

#[tokio::test]
async fn teams_have_members_supervision_and_show_who_is_offline() {
    let app = spawn_app().await;
    app.tenant(
        "acme",
        &[("alice", "1001"), ("bob", "1002"), ("carol", "1003")],
    )
    .await;
    let team = put_ok(
        &app,
        "/api/v1/admin/tenants/acme/teams/Tier%201",
        json!({"members": ["alice", "bob"], "supervisors": ["carol"]}),
    )
    .await;
    assert_eq!(team["isSupervised"], true);
    put_ok(
        &app,
        "/api/v1/admin/tenants/acme/teams/Night",
        json!({"isSupervised": false, "members": ["carol"]}),
    )
    .await;
    let alice = app.agent("acme", "alice", None).await;

    let teams = alice.client.get_teams().await.unwrap();
    let summary: Vec<(String, bool, usize)> = teams
        .iter()
        .map(|t| (t.id.clone(), t.is_supervised, t.users_count))
        .collect();
    assert_eq!(
        summary,
        [
            ("all".into(), false, 3),
            ("Tier 1".into(), true, 2),
            ("Night".into(), false, 1)
        ]
    );
    let members = alice.client.get_team_members("Tier 1").await.unwrap();
    let states: Vec<(&str, &str, &str)> = members
        .iter()
        .map(|m| (m.username.as_str(), m.state.as_str(), m.team_id.as_str()))
        .collect();
    assert_eq!(
        states,
        [
            ("alice", "not_ready", "Tier 1"),
            ("bob", "offline", "Tier 1")
        ]
    );
    let all = alice.client.get_team_members("all").await.unwrap();
    assert_eq!(all.len(), 3);
    let unknown = alice.client.get_team_members("Tier 9").await.unwrap_err();
    assert_eq!(code(unknown), ErrorCode::ObjectNotFound.code());

    let (s, _) = app
        .put(
            "/api/v1/admin/tenants/acme/teams/Tier%201",
            Some(ADMIN),
            json!({"members": ["zed"]}),
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = app
        .put(
            "/api/v1/admin/tenants/acme/teams/all",
            Some(ADMIN),
            json!({"members": []}),
        )
        .await;
    assert_eq!(s, 400);
    let deleted = app
        .http
        .delete(format!(
            "{}/api/v1/admin/tenants/acme/teams/Night",
            app.base
        ))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 204);
    let (_, listed) = app
        .get("/api/v1/admin/tenants/acme/teams", Some(ADMIN))
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["members"], json!(["alice", "bob"]));
}

#[tokio::test]
async fn start_call_to_an_extension_rings_that_agent() {
    let app = spawn_app().await;
    app.tenant("acme", &[("alice", "1001"), ("bob", "1002")])
        .await;
    let mut alice = app.agent("acme", "alice", None).await;
    let mut bob = app.agent("acme", "bob", None).await;
    let self_call = alice.client.start_call("1001").await.unwrap_err();
    assert_eq!(code(self_call), ErrorCode::SelfCall.code());

    let id = alice.client.start_call("1002").await.unwrap();
    let mine_view = alice.expect("ON_NEW_INTERACTION").await.arg(0);
    assert_eq!(mine_view["id"], id.as_str());
    assert_eq!(mine_view["state"], "connected");
    assert_eq!(mine_view["internal"], true);
    let offer = bob.expect("ON_NEW_INTERACTION").await.arg(0);
    assert_eq!(offer["id"], id.as_str());
    assert_eq!(offer["state"], "ringing");
    assert_eq!(offer["internal"], true);
    assert_eq!(
        (offer["ani"].as_str(), offer["dnis"].as_str()),
        (Some("1001"), Some("1002"))
    );
    assert!(
        offer["parties"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["type"] == "agent"),
        "an internal call has no customer: {offer}"
    );
    let state = bob.client.get_agent_state().await.unwrap();
    assert!(state.reserved_for_incoming_interaction);
    assert_eq!(state.state.as_str(), "ringing");

    bob.client.accept_interaction(Some(&id)).await.unwrap();
    assert!(
        !bob.client
            .get_agent_state()
            .await
            .unwrap()
            .reserved_for_incoming_interaction
    );
    let transfer = alice
        .client
        .blind_transfer("bob", None, Some(&id))
        .await
        .unwrap_err();
    assert_eq!(code(transfer), ErrorCode::NotSuitableState.code());
    alice.client.leave_interaction(Some(&id)).await.unwrap();
    loop {
        let e = bob.expect("ON_INTERACTION_STATE_CHANGE").await.arg(0);
        if e["state"] == "wrap_up" {
            break;
        }
    }
    bob.client.complete_interaction(Some(&id)).await.unwrap();
    alice.client.complete_interaction(Some(&id)).await.unwrap();
    let (_, stored) = app
        .get(&format!("/api/v1/interactions/{id}"), Some(ADMIN))
        .await;
    assert_eq!(stored["status"], "completed");
}

#[tokio::test]
async fn a_rejected_internal_call_ends_for_the_caller() {
    let app = spawn_app().await;
    app.tenant("acme", &[("alice", "1001"), ("bob", "1002")])
        .await;
    let mut alice = app.agent("acme", "alice", None).await;
    let mut bob = app.agent("acme", "bob", None).await;
    let id = alice.client.start_call("bob").await.unwrap();
    bob.expect("ON_NEW_INTERACTION").await;
    bob.client.reject_interaction(Some(&id)).await.unwrap();
    loop {
        let e = alice.expect("ON_INTERACTION_STATE_CHANGE").await.arg(0);
        if e["state"] == "wrap_up" {
            break;
        }
    }
    alice.client.complete_interaction(Some(&id)).await.unwrap();
}

#[tokio::test]
async fn start_call_to_an_outside_number_makes_an_outbound_call() {
    let app = spawn_app().await;
    app.tenant("acme", &[("alice", "1001"), ("bob", "1002")])
        .await;
    put_ok(
        &app,
        "/api/v1/admin/tenants/acme/did-numbers",
        json!({"didNumbers": [{"number": "+1 555 0100", "isVoice": true}, {"number": "+1 555 0111", "isSMS": true, "isVoice": false}]}),
    )
    .await;
    let mut alice = app.agent("acme", "alice", Some("crm")).await;
    let empty = alice.client.start_call("  ").await.unwrap_err();
    assert_eq!(code(empty), ErrorCode::EmptyNumber.code());
    alice
        .client
        .set_did_number(Some("did-15550111"))
        .await
        .unwrap();
    let sms_only = alice
        .client
        .start_call("+1 212 555 0000")
        .await
        .unwrap_err();
    assert_eq!(code(sms_only), ErrorCode::NoPermissionsDidCall.code());
    alice
        .client
        .set_did_number(Some("did-15550100"))
        .await
        .unwrap();

    let contact = json!({"id": "CT-7", "type": "contact", "displayName": "Dana", "displayType": "Contact", "customFields": {}});
    let answer = alice
        .client
        .call("startCall", vec!["+1 212 555 0000".into(), contact])
        .await
        .unwrap();
    let id = answer["id"].as_str().unwrap().to_owned();
    let view = alice.expect("ON_NEW_INTERACTION").await.arg(0);
    assert_eq!(view["associatedObjects"]["list"][0]["source"], "crm");
    assert_eq!(view["associatedObjects"]["selected"], json!(["CT-7"]));
    assert_eq!(view["id"], id.as_str());
    assert_eq!(view["channel"], "voice");
    assert_eq!(view["direction"], "outbound");
    assert_eq!(view["internal"], false);
    assert_eq!(view["state"], "connected");
    assert_eq!(view["customer"]["phone"], "+1 212 555 0000");
    assert_eq!(view["ani"], "+1 555 0100");
    assert_eq!(view["dnis"], "+1 212 555 0000");
    assert_eq!(view["serviceName"], "Sales", "the first voice service");
    let switched = alice.expect("ON_ACTIVE_INTERACTION_SWITCHED").await;
    assert_eq!(
        switched.arg(0),
        id.as_str(),
        "announced first, then made active"
    );
    let state = alice.client.get_interactions_state().await.unwrap();
    assert_eq!(state.active_interaction_id.as_deref(), Some(id.as_str()));
    assert_eq!(
        alice.client.get_agent_state().await.unwrap().state.as_str(),
        "busy"
    );
    let busy = alice
        .client
        .start_call("+1 212 555 0001")
        .await
        .unwrap_err();
    assert_eq!(code(busy), ErrorCode::NotSuitableState.code());
    // Modelled like every other call: it can be held and handed off.
    alice.client.set_call_hold(true, Some(&id)).await.unwrap();
    alice.client.set_call_hold(false, Some(&id)).await.unwrap();
    alice.client.leave_interaction(Some(&id)).await.unwrap();
    alice.client.complete_interaction(Some(&id)).await.unwrap();
}

#[tokio::test]
async fn start_chat_opens_an_outbound_chat_and_start_email_is_not_there_yet() {
    let app = spawn_app().await;
    app.tenant("acme", &[("alice", "1001")]).await;
    let (s, _) = app
        .post(
            "/api/v1/admin/tenants/acme/services",
            Some(ADMIN),
            json!({"name": "Phones", "channels": ["voice"]}),
        )
        .await;
    assert_eq!(s, 201);
    let mut alice = app.agent("acme", "alice", None).await;
    let unknown = alice.client.start_chat("pigeon", "x").await.unwrap_err();
    assert_eq!(code(unknown), ErrorCode::InvalidArgs.code());
    alice.client.set_service(Some("Phones")).await.unwrap();
    let no_chat = alice
        .client
        .start_chat("web", "ann@example.com")
        .await
        .unwrap_err();
    assert_eq!(code(no_chat), ErrorCode::NoChatInService.code());
    alice.client.set_service(Some("Support")).await.unwrap();

    let id = alice
        .client
        .start_chat("sms", "+1 212 555 0000")
        .await
        .unwrap();
    let view = alice.expect("ON_NEW_INTERACTION").await.arg(0);
    assert_eq!(view["id"], id.as_str());
    assert_eq!(view["channel"], "chat");
    assert_eq!(view["direction"], "outbound");
    assert_eq!(view["serviceName"], "Support");
    assert_eq!(view["customer"]["phone"], "+1 212 555 0000");
    alice
        .client
        .send_chat_message("Hello from Baton", Some(&id))
        .await
        .unwrap();
    assert_eq!(
        mine(&alice, &id).await.messages.unwrap()[0].text,
        "Hello from Baton"
    );

    let email = alice
        .client
        .start_email("ann@example.com")
        .await
        .unwrap_err();
    assert_eq!(
        email.api().unwrap().message,
        "Baton has no email channel yet"
    );
    assert_eq!(code(email), 14);
}

#[tokio::test]
async fn leave_and_complete_leaves_when_colleagues_stay_and_completes_when_last() {
    let app = spawn_app().await;
    let t = app
        .tenant("acme", &[("alice", "1001"), ("bob", "1002")])
        .await;
    support_dispositions(&app, "acme").await;
    let mut alice = app.agent("acme", "alice", None).await;
    let mut bob = app.agent("acme", "bob", None).await;
    let id = chat_with_alice(&app, &t, &mut alice, "Support").await;
    alice
        .client
        .invite_to_chat_conference("bob", Some(&id))
        .await
        .unwrap();
    bob.accept_next().await;

    alice
        .client
        .leave_and_complete_interaction(None, Some("handed to bob"), Some(&id))
        .await
        .unwrap();
    alice.expect("ON_INTERACTION_REMOVED").await;
    let refused = bob
        .client
        .leave_and_complete_interaction(None, None, Some(&id))
        .await
        .unwrap_err();
    assert_eq!(code(refused), ErrorCode::NoDisposition.code());
    let unknown = bob
        .client
        .leave_and_complete_interaction(Some("bogus"), Some("x"), Some(&id))
        .await
        .unwrap_err();
    assert_eq!(code(unknown), ErrorCode::ObjectNotFound.code());
    let view = mine(&bob, &id).await;
    assert_eq!(view.notes.len(), 1, "a refused call changes nothing");
    assert_eq!(view.notes[0].text, "handed to bob");

    bob.client
        .leave_and_complete_interaction(Some("resolved"), Some("fixed"), Some(&id))
        .await
        .unwrap();
    bob.expect("ON_INTERACTION_REMOVED").await;
    let (_, stored) = app
        .get(&format!("/api/v1/interactions/{id}"), Some(ADMIN))
        .await;
    assert_eq!(stored["status"], "completed");
    assert_eq!(stored["disposition"], "Resolved");
    let notes: Vec<&str> = stored["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["text"].as_str().unwrap())
        .collect();
    assert_eq!(notes, ["handed to bob", "fixed"]);
}

#[tokio::test]
async fn destroy_call_conference_keeps_the_customer_with_the_caller() {
    let app = spawn_app().await;
    let t = app
        .tenant("acme", &[("alice", "1001"), ("bob", "1002")])
        .await;
    let mut alice = app.agent("acme", "alice", None).await;
    let mut bob = app.agent("acme", "bob", None).await;
    alice.ready().await;
    let (id, _) = app.customer(&t, "voice", "Sales", "Carl").await;
    alice.accept_next().await;
    let alone = alice
        .client
        .destroy_call_conference(Some(&id))
        .await
        .unwrap_err();
    assert_eq!(code(alone), ErrorCode::NotSuitableState.code());
    alice
        .client
        .invite_to_call_conference("bob", None, Some(&id))
        .await
        .unwrap();
    bob.accept_next().await;
    assert_eq!(mine(&alice, &id).await.parties.len(), 3);

    alice.client.destroy_call_conference(None).await.unwrap();
    let removed = bob.expect("ON_INTERACTION_REMOVED").await;
    assert_eq!(removed.arg(0), id.as_str());
    let view = mine(&alice, &id).await;
    let parties: Vec<(String, String)> = view
        .parties
        .iter()
        .map(|p| (p.id.clone(), p.state.as_str().to_owned()))
        .collect();
    assert_eq!(
        parties,
        [
            ("customer".into(), "connected".into()),
            (alice.client.agent_id().to_owned(), "connected".into())
        ]
    );
}

#[tokio::test]
async fn update_note_appends_and_replace_note_replaces_this_agents_latest_note() {
    let app = spawn_app().await;
    let t = app.tenant("acme", &[("alice", "1001")]).await;
    let mut alice = app.agent("acme", "alice", None).await;
    let id = chat_with_alice(&app, &t, &mut alice, "Sales").await;
    alice.client.update_note("Called ", None).await.unwrap();
    alice
        .client
        .update_note("about the bill", Some(&id))
        .await
        .unwrap();
    assert_eq!(
        mine(&alice, &id).await.notes[0].text,
        "Called about the bill"
    );
    alice.client.add_note("second note", None).await.unwrap();
    alice
        .client
        .replace_note("Refund agreed", None)
        .await
        .unwrap();
    let notes: Vec<String> = mine(&alice, &id)
        .await
        .notes
        .into_iter()
        .map(|n| n.text)
        .collect();
    assert_eq!(notes, ["Called about the bill", "Refund agreed"]);
    let wrong = alice
        .client
        .update_note("x", Some("nope"))
        .await
        .unwrap_err();
    assert_eq!(code(wrong), ErrorCode::NoInteraction.code());
}

#[tokio::test]
async fn reschedule_window_config_and_associated_objects_are_stored() {
    let app = spawn_app().await;
    let t = app
        .tenant("acme", &[("alice", "1001"), ("bob", "1002")])
        .await;
    put_ok(
        &app,
        "/api/v1/admin/tenants/acme/integrations/crm/config",
        json!({"recordUrl": "https://crm.example.com/case/{id}", "pages": 3}),
    )
    .await;
    let mut alice = app.agent("acme", "alice", Some("crm")).await;
    assert_eq!(
        alice.client.get_config().await.unwrap(),
        json!({"recordUrl": "https://crm.example.com/case/{id}", "pages": 3})
    );
    let id = chat_with_alice(&app, &t, &mut alice, "Sales").await;

    let window = RescheduleData {
        number_to_dial: "+1 212 555 0000".into(),
        from_time: "2026-12-01T09:00:00".into(),
        until_time: "2026-12-01T12:00:00".into(),
        timezone_code: Some("America/New_York".into()),
    };
    alice
        .client
        .set_reschedule_window(&window, None)
        .await
        .unwrap();
    assert_eq!(mine(&alice, &id).await.reschedule, Some(window));
    let bad = alice
        .client
        .call("setRescheduleWindow", vec![json!({"numberToDial": "1"})])
        .await
        .unwrap_err();
    assert_eq!(code(bad), ErrorCode::InvalidArgs.code());

    let object = AssociatedObject {
        id: "C-1042".into(),
        object_type: "case".into(),
        display_name: "Broken router".into(),
        display_type: "Case".into(),
        custom_fields: serde_json::Map::from_iter([("priority".into(), json!("high"))]),
        source: "ignored".into(),
    };
    alice
        .client
        .add_interaction_associated_object(&object, Some(&id))
        .await
        .unwrap();
    alice
        .client
        .add_interaction_associated_object(&object, Some(&id))
        .await
        .unwrap();
    let objects = mine(&alice, &id).await.associated_objects;
    assert_eq!(objects.list.len(), 1, "the same record is not listed twice");
    assert_eq!(objects.list[0].source, "crm");
    assert_eq!(objects.list[0].custom_fields["priority"], "high");
    assert_eq!(objects.selected, ["C-1042"]);
    let plain = app.agent("acme", "bob", None).await;
    assert_eq!(plain.client.get_config().await.unwrap(), json!({}));
}

#[tokio::test]
async fn too_many_associated_objects_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    s.limits.max_associated_objects = 2;
    let app = spawn_with(dir, s).await;
    let t = app.tenant("acme", &[("alice", "1001")]).await;
    let mut alice = app.agent("acme", "alice", None).await;
    let id = chat_with_alice(&app, &t, &mut alice, "Sales").await;
    for n in 0..3 {
        let object = json!({"id": format!("R-{n}"), "type": "case", "displayName": "", "displayType": "", "customFields": {}});
        let answer = alice
            .client
            .call(
                "addInteractionAssociatedObject",
                vec![object, id.clone().into()],
            )
            .await;
        match n {
            0 | 1 => drop(answer.unwrap()),
            _ => assert_eq!(code(answer.unwrap_err()), ErrorCode::PayloadTooLarge.code()),
        }
    }
    assert_eq!(mine(&alice, &id).await.associated_objects.list.len(), 2);
}

#[tokio::test]
async fn an_active_screen_is_shown_to_the_other_agent_parties() {
    let app = spawn_app().await;
    let t = app
        .tenant("acme", &[("alice", "1001"), ("bob", "1002")])
        .await;
    let mut alice = app.agent("acme", "alice", None).await;
    let mut bob = app.agent("acme", "bob", None).await;
    let id = chat_with_alice(&app, &t, &mut alice, "Sales").await;
    alice
        .client
        .invite_to_chat_conference("bob", Some(&id))
        .await
        .unwrap();
    bob.accept_next().await;

    let screen = json!({"caseId": "C-1042", "tab": "billing", "open": true});
    alice
        .client
        .set_interaction_active_screen(screen.clone(), None)
        .await
        .unwrap();
    let shown = bob.expect("ON_SHOW_SCREEN").await;
    assert_eq!(shown.arg(0), screen);
    assert_eq!(shown.arg(1), id.as_str());
    assert_eq!(
        mine(&bob, &id).await.active_screen,
        screen.as_object().cloned()
    );
    alice
        .expect_none("ON_SHOW_SCREEN", std::time::Duration::from_millis(200))
        .await;
    let bad = alice
        .client
        .set_interaction_active_screen(json!("not an object"), None)
        .await
        .unwrap_err();
    assert_eq!(code(bad), ErrorCode::InvalidArgs.code());
}

#[tokio::test]
async fn dial_candidates_need_an_id() {
    let app = spawn_app().await;
    app.tenant("acme", &[("alice", "1001")]).await;
    let alice = app.agent("acme", "alice", None).await;
    let bad = alice
        .client
        .set_dial_candidates(vec![json!({"displayName": "no id"})])
        .await
        .unwrap_err();
    assert_eq!(code(bad), ErrorCode::InvalidArgs.code());
    alice.client.set_dial_candidates(vec![]).await.unwrap();
}

#[tokio::test]
async fn baton_toml_configures_the_desk_and_names_the_key_of_a_mistake() {
    let text = r#"
[[tenants]]
name = "acme"
not_ready_reasons = ["Lunch", "Training"]
did_numbers = [{ number = "+1 555 0100", is_sms = true }]

[[tenants.services]]
name = "Support"
channels = ["chat", "voice"]
require_disposition = true
dispositions = [{ code = "ok", name = "Resolved", type = "SUCCESS" }]

[[tenants.agents]]
username = "alice"
password = "pw-1234"
services = ["Support"]

[[tenants.teams]]
name = "Tier 1"
members = ["alice"]
supervisors = ["alice"]

[[tenants.integrations]]
key = "crm"
name = "CRM"
config = { theme = "dark" }
"#;
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path());
    s.seed = baton_server::ConfigFile::parse(text, "baton.toml").unwrap();
    let app = spawn_with(dir, s).await;
    let alice = app.agent("acme", "alice", Some("crm")).await;
    assert_eq!(
        alice.client.get_agent_not_ready_reasons().await.unwrap(),
        ["Lunch", "Training"]
    );
    assert_eq!(alice.client.get_did_numbers_list().await.unwrap().len(), 1);
    assert_eq!(
        alice.client.get_config().await.unwrap(),
        json!({"theme": "dark"})
    );
    let services = alice.client.get_services_list().await.unwrap();
    assert!(services[0].require_disposition);
    let teams = alice.client.get_teams().await.unwrap();
    assert!(teams.iter().any(|t| t.id == "Tier 1" && t.is_supervised));
    drop(alice);

    let bad = text.replace("members = [\"alice\"]", "members = [\"zed\"]");
    let app_dir = app.shut_down().await;
    let mut s = settings(app_dir.path());
    s.seed = baton_server::ConfigFile::parse(&bad, "baton.toml").unwrap();
    let err = baton_server::Application::build(s)
        .await
        .err()
        .expect("an unknown member stops the start")
        .to_string();
    assert!(
        err.contains("config file baton.toml: tenants.acme.teams.Tier 1: no agent \"zed\""),
        "{err}"
    );
}

#[tokio::test]
async fn the_openapi_document_lists_the_desk_admin_routes() {
    let app = spawn_app().await;
    let (_, spec) = app.get("/openapi.json", None).await;
    for path in [
        "/api/v1/admin/tenants/{tenant}/not-ready-reasons",
        "/api/v1/admin/tenants/{tenant}/did-numbers",
        "/api/v1/admin/tenants/{tenant}/teams",
        "/api/v1/admin/tenants/{tenant}/teams/{team}",
        "/api/v1/admin/tenants/{tenant}/services/{service}/dispositions",
        "/api/v1/admin/tenants/{tenant}/integrations/{key}/config",
    ] {
        assert!(spec["paths"].get(path).is_some(), "openapi lacks {path}");
    }
}

#[tokio::test]
async fn the_desk_works_across_cluster_nodes_on_postgres() {
    let nodes = crate::cluster::nodes(2).await;
    nodes[0]
        .tenant("acme", &[("alice", "1001"), ("bob", "1002")])
        .await;
    // Written through one node, read through the other (the engine may be on either).
    support_dispositions(&nodes[1], "acme").await;
    put_ok(
        &nodes[1],
        "/api/v1/admin/tenants/acme/teams/Tier%201",
        json!({"members": ["alice", "bob"]}),
    )
    .await;
    put_ok(
        &nodes[1],
        "/api/v1/admin/tenants/acme/integrations/crm/config",
        json!({"theme": "dark"}),
    )
    .await;
    for node in &nodes {
        let (s, d) = node
            .get(
                "/api/v1/admin/tenants/acme/services/Support/dispositions",
                Some(ADMIN),
            )
            .await;
        assert_eq!((s, d["requireDisposition"].clone()), (200, json!(true)));
    }

    let alice = nodes[0].agent("acme", "alice", None).await;
    let mut bob = nodes[1].agent("acme", "bob", Some("crm")).await;
    assert_eq!(
        bob.client.get_config().await.unwrap(),
        json!({"theme": "dark"})
    );
    let members = alice.client.get_team_members("Tier 1").await.unwrap();
    assert_eq!(members.len(), 2);

    let id = alice.client.start_call("1002").await.unwrap();
    let offer = bob.expect("ON_NEW_INTERACTION").await.arg(0);
    assert_eq!(offer["id"], id.as_str());
    bob.client.accept_interaction(Some(&id)).await.unwrap();
    let screen = json!({"caseId": "C-9"});
    alice
        .client
        .set_interaction_active_screen(screen.clone(), Some(&id))
        .await
        .unwrap();
    let shown = bob.expect("ON_SHOW_SCREEN").await;
    assert_eq!((shown.arg(0), shown.arg(1)), (screen, json!(id)));
    alice.client.leave_interaction(Some(&id)).await.unwrap();
    alice.client.complete_interaction(Some(&id)).await.unwrap();
}

#[tokio::test]
async fn an_agent_whose_active_interaction_leaves_is_told_nothing_is_active() {
    let app = spawn_app().await;
    let t = app
        .tenant("acme", &[("alice", "1001"), ("bob", "1002")])
        .await;
    let mut h = hand_a_chat_from_alice_to_bob(&app, &t, r#"{"caseId":"C-1"}"#).await;
    let removed = h.alice.expect("ON_INTERACTION_REMOVED").await;
    assert_eq!(removed.arg(0), h.interaction.as_str());
    let switched = h.alice.expect("ON_ACTIVE_INTERACTION_SWITCHED").await;
    assert_eq!(
        switched.raw(0),
        Some("null"),
        "after the removal, as Bright Pattern's (interactionId | null)"
    );
    let state = h.alice.client.get_interactions_state().await.unwrap();
    assert_eq!(state.active_interaction_id, None);
    assert!(state.interactions.is_empty());
}

#[tokio::test]
async fn switching_back_to_an_interaction_shows_its_saved_screen_to_the_agent() {
    let app = spawn_app().await;
    let t = app.tenant("acme", &[("alice", "1001")]).await;
    let mut alice = app.agent("acme", "alice", None).await;
    let first = chat_with_alice(&app, &t, &mut alice, "Sales").await;
    let screen = json!({"caseId": "C-7", "tab": "orders"});
    alice
        .client
        .set_interaction_active_screen(screen.clone(), Some(&first))
        .await
        .unwrap();
    let second = chat_with_alice(&app, &t, &mut alice, "Sales").await;
    let switch = |id: &str| {
        let id = id.to_owned();
        let client = alice.client.clone();
        async move {
            client
                .call("switchActiveInteraction", vec![json!(id)])
                .await
                .unwrap()
        }
    };
    switch(&second).await;
    switch(&first).await;
    let switched = alice.expect("ON_ACTIVE_INTERACTION_SWITCHED").await;
    let shown = alice.expect("ON_SHOW_SCREEN").await;
    assert_eq!(
        switched.arg(0),
        second.as_str(),
        "no screen was saved for it"
    );
    assert_eq!((shown.arg(0), shown.arg(1)), (screen, json!(first)));
    assert_eq!(
        alice
            .seen
            .iter()
            .filter(|e| e.name == "ON_SHOW_SCREEN")
            .count(),
        1
    );
}
