//! Scenarios driven through `Core::apply` alone: routing, the life of an interaction, and
//! every hand-off kind with every way its transfer data can come (DESIGN.md rules 1–17).

mod common;

use baton_core::{AdminCommand, Command, InteractionId};
use baton_protocol::{Channel, Method};
use common::*;
use serde_json::{Value, json};

/// Transfer data with spacing, a decimal, an escape and non-ASCII text: a receiver that gets
/// a re-serialised copy instead of the sender's bytes would not contain this substring.
const DATA: &str =
    r#"{ "caseId" : "C-1042", "amount": 1.50, "note": "caf\u00e9 é", "list":[1e2, null] }"#;
const DATA2: &str = r#"[ "forwarded" , {"by":"bob"} ]"#;

// ----- helpers ------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum Path {
    /// The sender's host answers `ON_REQUEST_TRANSFER_DATA` with [`DATA`].
    Handler,
    /// `customTransferData` given to the method.
    Explicit,
    /// The host answers `undefined`.
    Undefined,
    /// The sender has no host at all (standalone widget): nothing is asked.
    NoHost,
}

impl Path {
    fn explicit(self) -> Option<String> {
        (self == Path::Explicit).then(|| DATA.to_owned())
    }

    fn carries_data(self) -> bool {
        matches!(self, Path::Handler | Path::Explicit)
    }

    fn sender_key(self) -> Option<&'static str> {
        (self != Path::NoHost).then_some("crm")
    }
}

const ALL_PATHS: [Path; 4] = [Path::Handler, Path::Explicit, Path::Undefined, Path::NoHost];
const PATHS_WITHOUT_EXPLICIT: [Path; 3] = [Path::Handler, Path::Undefined, Path::NoHost];

fn blind(target: &str, data: Option<String>) -> Method {
    Method::BlindTransfer {
        target: target.into(),
        data,
        id: None,
    }
}

/// Sends a hand-off request from `sender` and plays its host's part for `path`.
/// Returns the transfer id.
fn hand_off(w: &mut World, sender: &str, method: Method, path: Path) -> String {
    let kind_needs_request = path == Path::Handler || path == Path::Undefined;
    let result = w.ok(sender, method);
    let transfer_id = result["transferId"]
        .as_str()
        .expect("transferId")
        .to_owned();
    let frames = w.last.clone();
    let request = find(&frames, "ON_REQUEST_TRANSFER_DATA");
    if kind_needs_request {
        let request = request.expect("the sender's host is asked for data");
        assert_eq!(request.rid(), Some(transfer_id.as_str()));
        assert_eq!(request.arg(1)["transferId"], json!(transfer_id));
        let status = last_status(&frames, &transfer_id).expect("a status");
        assert_eq!(status["phase"], "collecting");
        let value = (path == Path::Handler).then_some(DATA);
        w.reply(sender, &transfer_id, value, None);
    } else {
        assert!(
            request.is_none(),
            "explicit data or no host: the host is not asked"
        );
    }
    transfer_id
}

fn last_status(frames: &[Frame], transfer_id: &str) -> Option<Value> {
    frames
        .iter()
        .rev()
        .filter(|f| f.is("ON_TRANSFER_STATUS"))
        .map(|f| f.arg(0).clone())
        .find(|s| s["transferId"] == json!(transfer_id))
}

fn outcome(status: &Value) -> &str {
    status["outcomes"][0]["outcome"]
        .as_str()
        .unwrap_or("<none>")
}

/// What a receiver must see for one leg: `ON_NEW_INTERACTION` (when it is a new offer),
/// then, only when the leg has data, `ON_LOAD_TRANSFER_DATA` with exactly the sent bytes.
fn check_receiver(
    frames: &[Frame],
    id: &str,
    transfer_id: &str,
    kind: &str,
    from: &str,
    data: Option<&str>,
    expect_new: bool,
) {
    let new_at = frames
        .iter()
        .position(|f| f.is("ON_NEW_INTERACTION") && f.interaction_id().as_deref() == Some(id));
    if expect_new {
        assert!(new_at.is_some(), "ON_NEW_INTERACTION: {:?}", names(frames));
    }
    let loads = all(frames, "ON_LOAD_TRANSFER_DATA");
    let Some(data) = data else {
        assert!(loads.is_empty(), "no data, no ON_LOAD_TRANSFER_DATA");
        return;
    };
    assert_eq!(loads.len(), 1, "exactly one ON_LOAD_TRANSFER_DATA");
    let load = loads[0];
    let load_at = frames
        .iter()
        .position(|f| f.is("ON_LOAD_TRANSFER_DATA"))
        .unwrap();
    if let Some(new_at) = new_at {
        assert!(
            new_at < load_at,
            "ON_NEW_INTERACTION comes before ON_LOAD_TRANSFER_DATA"
        );
    }
    assert!(
        load.text.contains(data),
        "the exact bytes arrive: {}",
        load.text
    );
    assert_eq!(load.arg(0), &json!(id));
    assert_eq!(load.arg(1), &serde_json::from_str::<Value>(data).unwrap());
    let meta = load.arg(2);
    assert_eq!(meta["transferId"], json!(transfer_id));
    assert_eq!(meta["kind"], json!(kind));
    assert_eq!(meta["fromAgentId"], json!(from));
    assert_eq!(meta["fromAgentName"], json!(format!("Agent {from}")));
    assert_eq!(meta["replay"], json!(false));
    assert_eq!(
        load.rid(),
        Some(format!("{transfer_id}|{}", load.agent).as_str())
    );
}

/// alice (sales, host `key`) is connected on `i1`; bob (sales, host `crm`) is logged in
/// but not ready, so routing leaves him alone.
fn alice_on(channel: Channel, alice_key: Option<&str>) -> World {
    let mut w = World::new();
    w.add_agent_with("alice", &["sales"], 2, Some("101"));
    w.add_agent_with("bob", &["sales"], 2, Some("102"));
    w.add_agent_with("carol", &["support"], 2, Some("103"));
    w.add_agent_with("dave", &["support"], 2, Some("104"));
    w.login_ready("alice", alice_key);
    w.connect("bob", Some("crm"));
    w.new_interaction("i1", channel, "sales");
    assert_eq!(w.party("i1", "alice").as_deref(), Some("ringing"));
    w.accept("alice");
    w.clear();
    w
}

// ----- routing and the life of an interaction -------------------------------------------------

#[test]
fn a_new_interaction_goes_to_the_longest_idle_ready_agent() {
    let mut w = World::new();
    for a in ["alice", "bob", "carol"] {
        w.add_agent(a, &["sales"]);
        w.connect(a, None);
    }
    w.now += 1000;
    w.ready("bob");
    w.now += 1000;
    w.ready("alice");
    w.now += 1000;
    w.ready("carol");
    w.clear();

    w.call("i1");
    assert_eq!(w.ringing("i1"), ["bob"]);
    let frames = w.take("bob");
    let new = find(&frames, "ON_NEW_INTERACTION").expect("bob is offered i1");
    assert_eq!(new.arg(0)["id"], "i1");
    assert_eq!(new.arg(0)["state"], "ringing");
    assert_eq!(new.arg(0)["serviceName"], "sales");
    assert_eq!(w.state_of("bob"), "ringing");
    assert!(w.take("alice").is_empty() && w.take("carol").is_empty());

    w.call("i2");
    assert_eq!(
        w.ringing("i2"),
        ["alice"],
        "bob is ringing: the next longest idle"
    );
    w.call("i3");
    assert_eq!(w.ringing("i3"), ["carol"]);
    w.call("i4");
    assert_eq!(w.status("i4"), "queued", "nobody is free");
}

#[test]
fn a_ring_time_out_moves_the_offer_on_and_the_agent_who_missed_it_goes_not_ready() {
    let mut w = World::new();
    w.add_agent("alice", &["sales"]);
    w.add_agent("bob", &["sales"]);
    w.login_ready("alice", None);
    w.now += 10;
    w.login_ready("bob", None);
    w.chat("i1");
    assert_eq!(w.ringing("i1"), ["alice"]);
    w.clear();

    w.advance(RING_MS - 1);
    assert_eq!(w.ringing("i1"), ["alice"], "not yet");
    w.advance(1);
    assert_eq!(w.ringing("i1"), ["bob"]);
    let alice = w.take("alice");
    assert!(find(&alice, "ON_INTERACTION_REMOVED").is_some());
    assert_eq!(
        w.agent_state("alice"),
        ("not_ready".to_owned(), Some("missed".to_owned()))
    );
    let change = all(&alice, "ON_AGENT_STATE_CHANGE");
    assert_eq!(change.last().unwrap().arg(0)["notReadyReason"], "missed");
    assert!(find(&w.take("bob"), "ON_NEW_INTERACTION").is_some());

    // Nobody else: bob's miss puts it back in the queue and bob goes not ready too.
    w.advance(RING_MS);
    assert_eq!(w.status("i1"), "queued");
    assert_eq!(w.state_of("bob"), "not_ready");
}

#[test]
fn a_rejected_offer_goes_to_the_next_agent_and_the_rejecting_agent_stays_ready() {
    let mut w = World::new();
    w.add_agent("alice", &["sales"]);
    w.add_agent("bob", &["sales"]);
    w.login_ready("alice", None);
    w.now += 10;
    w.login_ready("bob", None);
    w.call("i1");
    assert_eq!(w.ringing("i1"), ["alice"]);
    w.ok("alice", Method::RejectInteraction { id: None });
    assert_eq!(w.ringing("i1"), ["bob"]);
    assert_eq!(w.state_of("alice"), "ready");
    w.accept("bob");
    assert_eq!(w.status("i1"), "connected");
    assert_eq!(w.state_of("bob"), "busy");
}

#[test]
fn queued_interactions_are_offered_in_arrival_order_as_agents_free_up() {
    let mut w = World::new();
    w.add_agent("alice", &["sales"]);
    w.add_agent("bob", &["sales"]);
    w.connect("alice", None);
    w.connect("bob", None);
    for id in ["i1", "i2", "i3"] {
        w.call(id);
        w.now += 1;
    }
    assert_eq!(
        [w.status("i1"), w.status("i2"), w.status("i3")],
        ["queued"; 3]
    );
    w.ready("bob");
    assert_eq!(w.ringing("i1"), ["bob"]);
    w.ready("alice");
    assert_eq!(w.ringing("i2"), ["alice"]);
    assert_eq!(w.status("i3"), "queued");
    // bob rejects: i1 keeps its place ahead of i3 and comes back to him (nobody else is free).
    w.ok("bob", Method::RejectInteraction { id: None });
    assert_eq!(w.ringing("i1"), ["bob"]);
    w.accept("bob");
    w.accept("alice");
    w.ok("alice", Method::CompleteInteraction { id: None });
    assert_eq!(w.state_of("alice"), "after_call_work");
    assert_eq!(w.status("i3"), "queued", "after-call work is not ready");
    w.ready("alice");
    assert_eq!(w.ringing("i3"), ["alice"]);
}

#[test]
fn interactions_arriving_in_the_same_millisecond_keep_their_arrival_order() {
    let mut w = World::new();
    w.add_agent("alice", &["sales"]);
    w.connect("alice", None);
    // Ids sort the other way round: only arrival may decide.
    for id in ["i9", "i5", "i1"] {
        w.call(id);
    }
    w.ready("alice");
    assert_eq!(w.ringing("i9"), ["alice"]);
    w.accept("alice");
    w.ok("alice", Method::CompleteInteraction { id: None });
    w.ready("alice");
    assert_eq!(w.ringing("i5"), ["alice"]);
}

#[test]
fn a_new_chat_goes_to_the_agent_with_the_fewest_chats_then_the_longest_idle() {
    let mut w = World::new();
    for a in ["alice", "bob", "carol"] {
        w.add_agent_with(a, &["sales"], 3, None);
    }
    // alice has been ready longest; bob and carol come later, in that order.
    w.login_ready("alice", None);
    w.now += 1000;
    w.login_ready("bob", None);
    w.now += 1000;
    w.login_ready("carol", None);

    w.chat("i1");
    assert_eq!(w.ringing("i1"), ["alice"], "all idle: the longest idle");
    w.accept("alice");
    w.chat("i2");
    assert_eq!(
        w.ringing("i2"),
        ["bob"],
        "alice has a chat: bob, although alice was idle longer"
    );
    w.accept("bob");
    w.chat("i3");
    assert_eq!(w.ringing("i3"), ["carol"]);
    w.accept("carol");
    // Everyone has one chat: back to the longest idle, alice.
    w.chat("i4");
    assert_eq!(w.ringing("i4"), ["alice"]);
    w.accept("alice");
    w.chat("i5");
    assert_eq!(w.ringing("i5"), ["bob"], "alice has two, bob one");
    w.accept("bob");
    // carol finishes hers: with none she goes first, though she became idle last.
    w.ok(
        "carol",
        Method::CompleteInteraction {
            id: Some("i3".into()),
        },
    );
    w.ready("carol");
    w.chat("i6");
    assert_eq!(w.ringing("i6"), ["carol"]);
}

#[test]
fn chat_messages_flow_from_the_customer_to_the_agent_and_back() {
    let mut w = World::new();
    w.add_agent("alice", &["sales"]);
    w.login_ready("alice", None);
    w.chat("i1");
    w.accept("alice");
    w.clear();
    w.customer.clear();

    w.apply(Command::CustomerMessage {
        interaction: "i1".into(),
        text: "Hello, my order?".into(),
    })
    .reply
    .unwrap()
    .unwrap();
    let frames = w.take("alice");
    let msg = find(&frames, "ON_CHAT_MESSAGE").expect("the agent sees it");
    assert_eq!(msg.arg(0), "i1");
    assert_eq!(msg.arg(1)["from"], "customer");
    assert_eq!(msg.arg(1)["text"], "Hello, my order?");
    assert_eq!(msg.arg(1)["name"], "Customer i1");

    w.ok(
        "alice",
        Method::SendChatMessage {
            text: "On its way.".into(),
            id: None,
        },
    );
    let to_customer: Vec<&Value> = w
        .customer
        .iter()
        .filter(|(id, f)| id == "i1" && f["event"] == "message")
        .map(|(_, f)| &f["args"][0])
        .collect();
    assert_eq!(to_customer.len(), 2);
    assert_eq!(to_customer[1]["from"], "agent");
    assert_eq!(to_customer[1]["text"], "On its way.");
    assert_eq!(to_customer[1]["name"], "Agent alice");
    let echo = w.take("alice");
    assert_eq!(
        find(&echo, "ON_CHAT_MESSAGE").unwrap().arg(1)["from"],
        "agent"
    );
    let transcript = &w.core.interaction(&"i1".into()).unwrap().messages;
    assert_eq!(transcript.len(), 2);
}

#[test]
fn a_chat_message_commits_one_row_and_state_changes_leave_the_transcript_out() {
    let mut w = World::new();
    w.add_agent("alice", &["sales"]);
    w.login_ready("alice", None);
    w.chat("i1");
    w.accept("alice");
    for n in 0..5u64 {
        w.ok(
            "alice",
            Method::SendChatMessage {
                text: format!("message {n}"),
                id: None,
            },
        );
        // One appended row; the interaction record is not written again.
        assert_eq!(w.store.last_messages, [("i1".to_owned(), n)]);
        assert!(
            w.store.last_records.is_empty(),
            "{:?}",
            w.store.last_records
        );
    }
    w.clear();
    w.ok(
        "alice",
        Method::SetVariable {
            key: "k".into(),
            value: serde_json::json!("v"),
            id: None,
        },
    );
    let frames = w.take("alice");
    let change = find(&frames, "ON_INTERACTION_STATE_CHANGE").expect("a state change");
    assert!(change.arg(0).get("messages").is_none(), "{}", change.text);
    assert!(!change.text.contains("message 4"), "{}", change.text);
    let state = w.ok("alice", Method::GetInteractionsState);
    assert_eq!(state["interactions"][0]["messages"][4]["text"], "message 4");

    // After a restart the transcript comes back from the rows, and numbering goes on.
    w.restart();
    w.connect("alice", None);
    let state = w.ok("alice", Method::GetInteractionsState);
    assert_eq!(
        state["interactions"][0]["messages"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    w.ok(
        "alice",
        Method::SendChatMessage {
            text: "after".into(),
            id: None,
        },
    );
    assert_eq!(w.store.last_messages, [("i1".to_owned(), 5)]);
}

#[test]
fn completing_moves_the_agent_to_after_call_work_and_ready_brings_the_next_call() {
    let mut w = World::new();
    w.add_agent("alice", &["sales"]);
    w.login_ready("alice", None);
    w.call("i1");
    w.accept("alice");
    assert_eq!(w.state_of("alice"), "busy");
    w.call("i2");
    assert_eq!(w.status("i2"), "queued", "one call at a time");
    w.clear();

    w.ok("alice", Method::CompleteInteraction { id: None });
    assert_eq!(w.status("i1"), "completed");
    assert_eq!(w.state_of("alice"), "after_call_work");
    let frames = w.take("alice");
    assert!(find(&frames, "ON_INTERACTION_REMOVED").is_some());
    assert_eq!(
        all(&frames, "ON_AGENT_STATE_CHANGE").last().unwrap().arg(0)["state"],
        "after_call_work"
    );
    assert!(w.last_effects.iter().any(
        |e| matches!(e, baton_core::Effect::CloseCustomer { interaction } if interaction.0 == "i1")
    ));
    assert_eq!(w.status("i2"), "queued");

    w.ready("alice");
    assert_eq!(w.ringing("i2"), ["alice"]);
}

#[test]
fn a_customer_hang_up_wraps_up_and_completes_once_the_agent_is_done() {
    let mut w = World::new();
    w.add_agent("alice", &["sales"]);
    w.add_agent("bob", &["sales"]);
    w.login_ready("alice", None);
    w.chat("i1");
    w.accept("alice");
    w.clear();

    w.hangup("i1");
    let frames = w.take("alice");
    let change = find(&frames, "ON_INTERACTION_STATE_CHANGE").unwrap();
    assert_eq!(change.arg(0)["state"], "wrap_up");
    assert!(
        find(&frames, "ON_CHAT_MESSAGE").unwrap().arg(1)["from"] == "system",
        "the agent is told in the chat"
    );
    assert_eq!(w.status("i1"), "wrap_up");
    w.ok("alice", Method::CompleteInteraction { id: None });
    assert_eq!(w.status("i1"), "completed");
    assert_eq!(w.state_of("alice"), "after_call_work");

    // While ringing: the offer is withdrawn and the agent stays ready.
    w.login_ready("bob", None);
    w.call("i2");
    assert_eq!(w.ringing("i2"), ["bob"]);
    w.hangup("i2");
    assert_eq!(w.status("i2"), "completed");
    assert_eq!(w.state_of("bob"), "ready");
    // While queued.
    w.set_state("bob", "not_ready");
    w.call("i3");
    w.hangup("i3");
    assert_eq!(w.status("i3"), "completed");
}

#[test]
fn an_agent_wrapping_up_a_call_is_not_offered_another() {
    let mut w = World::new();
    w.add_agent("alice", &["sales"]);
    w.login_ready("alice", None);
    w.call("i1");
    w.accept("alice");
    w.hangup("i1");
    assert_eq!(w.party("i1", "alice").as_deref(), Some("wrap_up"));
    w.call("i2");
    assert_eq!(
        w.status("i2"),
        "queued",
        "alice must complete i1 before the next call"
    );
    w.ok("alice", Method::CompleteInteraction { id: None });
    w.ready("alice");
    assert_eq!(w.ringing("i2"), ["alice"]);
}

// ----- every hand-off kind × every data path ------------------------------------------------------

#[test]
fn a_blind_transfer_carries_the_data_on_every_path() {
    for path in ALL_PATHS {
        for channel in [Channel::Voice, Channel::Chat] {
            let mut w = alice_on(channel, path.sender_key());
            let t = hand_off(&mut w, "alice", blind("bob", path.explicit()), path);
            let data = path.carries_data().then_some(DATA);
            check_receiver(&w.take("bob"), "i1", &t, "blind", "alice", data, true);
            assert_eq!(w.ringing("i1"), ["bob"], "{path:?}");
            assert_eq!(w.party("i1", "alice"), None, "the sender is out");
            assert_eq!(w.state_of("alice"), "after_call_work");
            let status = last_status(&w.take("alice"), &t).unwrap();
            assert_eq!(status["phase"], "offered");
            let expected = match path {
                Path::Handler | Path::Explicit => "delivered",
                Path::Undefined | Path::NoHost => "none",
            };
            assert_eq!(outcome(&status), expected, "{path:?}");
            if path == Path::NoHost {
                assert_eq!(status["outcomes"][0]["integrationKey"], Value::Null);
            } else {
                assert_eq!(status["outcomes"][0]["integrationKey"], "crm");
            }

            w.accept("bob");
            assert_eq!(w.party("i1", "bob").as_deref(), Some("connected"));
            let status = last_status(&w.take("alice"), &t).unwrap();
            assert_eq!(status["phase"], "accepted");
            let history = w.core.transfer_history(&"i1".into());
            assert_eq!(history.len(), 1);
            assert_eq!(history[0].to, "bob");
            if path.carries_data() {
                assert_eq!(history[0].outcomes[0].bytes, DATA.len());
                assert_eq!(
                    history[0].outcomes[0].sha256.as_deref(),
                    Some(
                        baton_protocol::TransferData::parse(DATA, 1 << 20)
                            .unwrap()
                            .digest(&baton_core::CoreConfig::default().digest_key)
                            .as_str()
                    )
                );
            }
        }
    }
}

#[test]
fn a_receiver_acknowledges_the_data_when_its_handlers_are_done() {
    let mut w = alice_on(Channel::Voice, Some("crm"));
    let t = hand_off(&mut w, "alice", blind("bob", None), Path::Handler);
    let frames = w.take("bob");
    let rid = find(&frames, "ON_LOAD_TRANSFER_DATA")
        .unwrap()
        .rid()
        .unwrap()
        .to_owned();
    // An acknowledgement from someone else does not count.
    w.reply("alice", &rid, None, None);
    assert_eq!(outcome(&last_status(&w.history, &t).unwrap()), "delivered");
    w.reply("bob", &rid, None, None);
    let status = last_status(&w.take("alice"), &t).unwrap();
    assert_eq!(outcome(&status), "acknowledged");
    let history = w.core.transfer_history(&"i1".into());
    assert_eq!(
        history[0].outcomes[0].outcome,
        baton_protocol::Outcome::Acknowledged
    );
}

/// alice on a call has consulted bob (with `consult_path`) and bob answered.
fn consulting(consult_path: Path) -> (World, String) {
    let mut w = alice_on(Channel::Voice, consult_path.sender_key());
    let t = hand_off(
        &mut w,
        "alice",
        Method::ConsultCall {
            target: "bob".into(),
        },
        consult_path,
    );
    assert_eq!(w.party("i1", "alice").as_deref(), Some("hold"));
    assert_eq!(w.ringing("i1"), ["bob"]);
    w.accept("bob");
    assert_eq!(w.party("i1", "bob").as_deref(), Some("connected"));
    (w, t)
}

#[test]
fn a_consult_call_gives_the_consulted_agent_the_data_while_the_customer_waits_on_hold() {
    for path in PATHS_WITHOUT_EXPLICIT {
        let mut w = alice_on(Channel::Voice, path.sender_key());
        let t = hand_off(
            &mut w,
            "alice",
            Method::ConsultCall {
                target: "bob".into(),
            },
            path,
        );
        let data = path.carries_data().then_some(DATA);
        check_receiver(&w.take("bob"), "i1", &t, "consult", "alice", data, true);
        assert_eq!(w.party("i1", "alice").as_deref(), Some("hold"));
        assert!(w.core.interaction(&"i1".into()).unwrap().customer_on_hold);
        w.accept("bob");
        let i = w.core.interaction(&"i1".into()).unwrap();
        assert!(i.customer_on_hold, "the customer waits while they talk");
        let bob = i.party(&"bob".into()).unwrap();
        assert_eq!(bob.role, baton_protocol::PartyRole::Consult);
    }
}

#[test]
fn completing_a_consultation_with_transfer_sends_fresh_data_on_every_path() {
    for path in ALL_PATHS {
        let (mut w, consult_leg) = consulting(if path == Path::NoHost {
            Path::NoHost
        } else {
            Path::Undefined
        });
        w.clear();
        let t = hand_off(
            &mut w,
            "alice",
            Method::Transfer {
                data: path.explicit(),
            },
            path,
        );
        assert_ne!(t, consult_leg);
        let data = path.carries_data().then_some(DATA);
        // bob already has the interaction: no new offer, just the fresh data.
        check_receiver(&w.take("bob"), "i1", &t, "transfer", "alice", data, false);
        let i = w.core.interaction(&"i1".into()).unwrap();
        assert!(i.party(&"alice".into()).is_none());
        let bob = i.party(&"bob".into()).unwrap();
        assert_eq!(bob.role, baton_protocol::PartyRole::Primary);
        assert_eq!(bob.via_leg.as_ref().map(|l| l.0.as_str()), Some(t.as_str()));
        assert!(!i.customer_on_hold);
        let status = last_status(&w.history, &t).unwrap();
        assert_eq!(status["phase"], "accepted");
    }
}

#[test]
fn merging_a_consultation_into_a_conference_sends_fresh_data_on_every_path() {
    for path in ALL_PATHS {
        let (mut w, _) = consulting(if path == Path::NoHost {
            Path::NoHost
        } else {
            Path::Handler
        });
        w.clear();
        let t = hand_off(
            &mut w,
            "alice",
            Method::MergeAllCallsIntoConference {
                data: path.explicit(),
            },
            path,
        );
        let data = path.carries_data().then_some(DATA);
        check_receiver(&w.take("bob"), "i1", &t, "merge", "alice", data, false);
        assert_eq!(w.party("i1", "alice").as_deref(), Some("connected"));
        assert_eq!(w.party("i1", "bob").as_deref(), Some("connected"));
        let i = w.core.interaction(&"i1".into()).unwrap();
        assert!(!i.customer_on_hold);
        assert_eq!(
            i.party(&"bob".into()).unwrap().role,
            baton_protocol::PartyRole::Conference
        );
    }
}

#[test]
fn a_conference_invitation_carries_the_data_on_every_path() {
    for path in ALL_PATHS {
        let mut w = alice_on(Channel::Voice, path.sender_key());
        let t = hand_off(
            &mut w,
            "alice",
            Method::InviteToCallConference {
                target: "102".into(), // bob's extension
                data: path.explicit(),
                id: Some("i1".into()),
            },
            path,
        );
        let data = path.carries_data().then_some(DATA);
        check_receiver(&w.take("bob"), "i1", &t, "conference", "alice", data, true);
        assert_eq!(w.party("i1", "alice").as_deref(), Some("connected"));
        w.accept("bob");
        assert_eq!(w.party("i1", "bob").as_deref(), Some("connected"));
        assert_eq!(w.status("i1"), "connected");
        // alice can drop bob again.
        w.ok(
            "alice",
            Method::RemoveFromCallConference {
                party_id: "bob".into(),
                id: None,
            },
        );
        assert_eq!(w.party("i1", "bob"), None);
    }
}

#[test]
fn a_chat_invitation_carries_the_data_and_the_inviter_can_leave() {
    for path in PATHS_WITHOUT_EXPLICIT {
        let mut w = alice_on(Channel::Chat, path.sender_key());
        let t = hand_off(
            &mut w,
            "alice",
            Method::InviteToChatConference {
                agent_id: "bob".into(),
                id: None,
            },
            path,
        );
        let data = path.carries_data().then_some(DATA);
        check_receiver(&w.take("bob"), "i1", &t, "chat_invite", "alice", data, true);
        w.accept("bob");
        w.ok("alice", Method::LeaveInteraction { id: None });
        let i = w.core.interaction(&"i1".into()).unwrap();
        assert!(i.customer_connected);
        assert_eq!(i.parties.len(), 1);
        assert_eq!(i.parties[0].role, baton_protocol::PartyRole::Primary);
        assert_eq!(w.state_of("alice"), "after_call_work");
        // The chat goes on with bob.
        w.apply(Command::CustomerMessage {
            interaction: "i1".into(),
            text: "still there?".into(),
        });
        assert!(find(&w.take("bob"), "ON_CHAT_MESSAGE").is_some());
        assert!(find(&w.take("alice"), "ON_CHAT_MESSAGE").is_none());
    }
}

#[test]
fn a_transfer_to_a_service_keeps_the_data_until_an_agent_of_that_service_is_offered_it() {
    for path in ALL_PATHS {
        let mut w = alice_on(Channel::Voice, path.sender_key());
        let t = hand_off(
            &mut w,
            "alice",
            blind("service:support", path.explicit()),
            path,
        );
        assert_eq!(w.status("i1"), "queued");
        assert_eq!(w.party("i1", "alice"), None);
        let status = last_status(&w.take("alice"), &t).unwrap();
        assert_eq!(status["phase"], "offered");
        assert_eq!(status["kind"], "queue");

        // Much later, carol of support logs in with the same integration.
        w.advance(60_000);
        w.connect("carol", Some("crm"));
        w.clear();
        w.ready("carol");
        assert_eq!(w.ringing("i1"), ["carol"]);
        let data = path.carries_data().then_some(DATA);
        check_receiver(&w.take("carol"), "i1", &t, "queue", "alice", data, true);
        w.accept("carol");
        assert_eq!(
            last_status(&w.take("alice"), &t).unwrap()["phase"],
            "accepted"
        );
        let frames = w.take("carol");
        assert_eq!(
            all(&frames, "ON_INTERACTION_STATE_CHANGE")
                .last()
                .unwrap()
                .arg(0)["serviceName"],
            "support",
            "the interaction now belongs to the service it was sent to"
        );
    }
}

#[test]
fn a_queued_transfer_is_offered_to_agent_after_agent_and_each_gets_the_data() {
    let mut w = alice_on(Channel::Chat, Some("crm"));
    w.connect("carol", Some("crm"));
    w.ready("carol");
    w.now += 10;
    w.connect("dave", Some("crm"));
    w.ready("dave");
    w.clear();
    let t = hand_off(
        &mut w,
        "alice",
        blind("service:support", Some(DATA.into())),
        Path::Explicit,
    );
    assert_eq!(w.ringing("i1"), ["carol"], "carol is the longest idle");
    check_receiver(
        &w.take("carol"),
        "i1",
        &t,
        "queue",
        "alice",
        Some(DATA),
        true,
    );
    w.advance(RING_MS);
    assert_eq!(w.ringing("i1"), ["dave"]);
    assert_eq!(
        w.agent_state("carol"),
        ("not_ready".into(), Some("missed".into()))
    );
    check_receiver(
        &w.take("dave"),
        "i1",
        &t,
        "queue",
        "alice",
        Some(DATA),
        true,
    );
    w.accept("dave");
    let leg = w.core.leg(&baton_core::TransferId(t.clone())).unwrap();
    assert_eq!(leg.receipts.len(), 2, "both receivers are recorded");
    assert_eq!(
        last_status(&w.take("alice"), &t).unwrap()["phase"],
        "accepted"
    );
}

// ----- transfer-data outcomes ------------------------------------------------------------------------

#[test]
fn data_goes_only_to_a_receiver_whose_host_has_the_senders_integration_key() {
    for receiver_key in [Some("erp"), None] {
        let mut w = alice_on(Channel::Voice, Some("crm"));
        w.disconnect("bob");
        w.connect("bob", receiver_key);
        w.clear();
        let t = hand_off(
            &mut w,
            "alice",
            blind("bob", Some(DATA.into())),
            Path::Explicit,
        );
        let frames = w.take("bob");
        assert!(find(&frames, "ON_NEW_INTERACTION").is_some());
        assert!(
            find(&frames, "ON_LOAD_TRANSFER_DATA").is_none(),
            "{receiver_key:?} must not see crm's data"
        );
        assert!(!frames.iter().any(|f| f.text.contains("C-1042")));
        let status = last_status(&w.take("alice"), &t).unwrap();
        assert_eq!(outcome(&status), "no_consumer");

        // The crm host loads later while bob still has it: the data is delivered (rule 10).
        w.connect("bob", Some("crm"));
        let frames = w.take("bob");
        let load = find(&frames, "ON_LOAD_TRANSFER_DATA").expect("delivered on load");
        assert!(load.text.contains(DATA));
        assert_eq!(load.arg(2)["replay"], true);
        assert_eq!(
            outcome(&last_status(&w.take("alice"), &t).unwrap()),
            "delivered"
        );
    }
}

#[test]
fn a_reloading_widget_gets_the_current_legs_data_again_marked_as_replay() {
    let mut w = alice_on(Channel::Chat, Some("crm"));
    let t = hand_off(&mut w, "alice", blind("bob", None), Path::Handler);
    w.accept("bob");
    w.disconnect("bob");
    w.now += 1000;
    w.clear();
    w.connect("bob", Some("crm"));
    let frames = w.take("bob");
    let order = names(&frames);
    let login = order.iter().position(|e| *e == "ON_LOGIN").unwrap();
    let new = order
        .iter()
        .position(|e| *e == "ON_NEW_INTERACTION")
        .unwrap();
    let load = order
        .iter()
        .position(|e| *e == "ON_LOAD_TRANSFER_DATA")
        .unwrap();
    assert!(login < new && new < load, "{order:?}");
    let load = find(&frames, "ON_LOAD_TRANSFER_DATA").unwrap();
    assert!(load.text.contains(DATA));
    assert_eq!(load.arg(2)["replay"], true);
    assert_eq!(load.arg(2)["transferId"], json!(t));

    // A second login elsewhere replaces the first connection and replays again.
    let old = w.conn("bob");
    w.connect_session("bob", Some("crm"), "another-session");
    assert!(w.closed.contains(&old));
    let frames = w.take("bob");
    let forced = frames
        .iter()
        .find(|f| f.conn == old && f.is("ON_SERVER_ERROR"))
        .unwrap();
    assert_eq!(forced.arg(0)["code"], 100);
    assert!(
        frames
            .iter()
            .any(|f| f.conn != old && f.is("ON_LOAD_TRANSFER_DATA") && f.text.contains(DATA))
    );
}

#[test]
fn a_host_that_does_not_answer_in_time_does_not_hold_up_the_hand_off() {
    let mut w = alice_on(Channel::Voice, Some("crm"));
    let t = w.ok("alice", blind("bob", None))["transferId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(w.ringing("i1").is_empty(), "collecting first");
    w.advance(4999);
    assert!(w.ringing("i1").is_empty());
    w.advance(1);
    assert_eq!(w.ringing("i1"), ["bob"], "the default deadline is 5000 ms");
    assert!(find(&w.take("bob"), "ON_LOAD_TRANSFER_DATA").is_none());
    assert_eq!(
        outcome(&last_status(&w.take("alice"), &t).unwrap()),
        "timeout"
    );
    // A late answer is ignored.
    w.reply("alice", &t, Some(DATA), None);
    assert!(find(&w.take("bob"), "ON_LOAD_TRANSFER_DATA").is_none());
}

#[test]
fn the_transfer_data_deadline_follows_the_tenant_setting() {
    let mut w = alice_on(Channel::Voice, Some("crm"));
    w.admin(AdminCommand::UpdateSettings {
        tenant: TENANT.into(),
        transfer_data_timeout_ms: Some(100),
        transfer_data_max_bytes: None,
        retention_secs: None,
        dtmf_log: None,
        record_calls: None,
    })
    .unwrap();
    w.ok("alice", blind("bob", None));
    w.advance(100);
    assert_eq!(w.ringing("i1"), ["bob"]);
}

#[test]
fn failing_handlers_are_reported_and_the_hand_off_goes_on_without_data() {
    let cases: [(Option<&str>, Option<&str>, &str); 5] = [
        (None, Some("error: TypeError: boom"), "error"),
        (None, Some("invalid: cyclic object value"), "invalid"),
        (Some("{ not json"), None, "invalid"),
        (None, None, "none"),
        (Some("null"), None, "delivered"),
    ];
    for (value, error, expected) in cases {
        let mut w = alice_on(Channel::Voice, Some("crm"));
        let t = w.ok("alice", blind("bob", None))["transferId"]
            .as_str()
            .unwrap()
            .to_owned();
        w.reply("alice", &t, value, error);
        assert_eq!(w.ringing("i1"), ["bob"]);
        let loads = all(&w.take("bob"), "ON_LOAD_TRANSFER_DATA")
            .into_iter()
            .cloned()
            .collect::<Vec<_>>();
        assert_eq!(
            loads.len(),
            usize::from(expected == "delivered"),
            "{expected}"
        );
        assert_eq!(
            outcome(&last_status(&w.take("alice"), &t).unwrap()),
            expected
        );
    }
}

#[test]
fn too_large_data_from_a_handler_is_dropped_but_explicit_data_is_refused() {
    let big = format!("\"{}\"", "x".repeat(200));
    let mut w = alice_on(Channel::Voice, Some("crm"));
    w.admin(AdminCommand::UpdateSettings {
        tenant: TENANT.into(),
        transfer_data_timeout_ms: None,
        transfer_data_max_bytes: Some(100),
        retention_secs: None,
        dtmf_log: None,
        record_calls: None,
    })
    .unwrap();

    // Explicit: error 21 and nothing starts.
    let e = w.req("alice", blind("bob", Some(big.clone()))).unwrap_err();
    assert_eq!(e.code, 21);
    assert_eq!(e.name, "payload_too_large");
    assert!(w.core.transfer_history(&"i1".into()).is_empty());
    assert!(w.take("bob").is_empty());
    assert!(find(&w.take("alice"), "ON_REQUEST_TRANSFER_DATA").is_none());
    assert_eq!(w.party("i1", "alice").as_deref(), Some("connected"));
    let e = w
        .req(
            "alice",
            Method::InviteToCallConference {
                target: "bob".into(),
                data: Some(big.clone()),
                id: None,
            },
        )
        .unwrap_err();
    assert_eq!(e.code, 21);

    // From a handler: dropped, the hand-off goes on.
    let t = w.ok("alice", blind("bob", None))["transferId"]
        .as_str()
        .unwrap()
        .to_owned();
    w.reply("alice", &t, Some(&big), None);
    assert_eq!(w.ringing("i1"), ["bob"]);
    assert!(find(&w.take("bob"), "ON_LOAD_TRANSFER_DATA").is_none());
    let status = last_status(&w.take("alice"), &t).unwrap();
    assert_eq!(outcome(&status), "too_large");
}

// ----- refusals ---------------------------------------------------------------------------------------

#[test]
fn hand_offs_are_refused_with_the_documented_error_codes() {
    let mut w = alice_on(Channel::Voice, Some("crm"));
    w.add_agent("erin", &["sales"]); // never logged in
    let code = |w: &mut World, m: Method| w.req("alice", m).unwrap_err().code;

    assert_eq!(code(&mut w, blind("erin", None)), 106);
    assert_eq!(code(&mut w, blind("alice", None)), 12);
    assert_eq!(code(&mut w, blind("101", None)), 12, "own extension");
    assert_eq!(code(&mut w, blind("nobody", None)), 17);
    assert_eq!(code(&mut w, blind("service:nope", None)), 17);
    assert_eq!(
        code(&mut w, Method::Transfer { data: None }),
        15,
        "no consultation"
    );
    assert_eq!(
        code(
            &mut w,
            Method::InviteToChatConference {
                agent_id: "bob".into(),
                id: None
            }
        ),
        15,
        "a call is not a chat"
    );
    assert!(w.core.transfer_history(&"i1".into()).is_empty());

    // While it is still ringing, the agent cannot hand it on.
    let mut w = World::new();
    w.add_agent("alice", &["sales"]);
    w.add_agent("bob", &["sales"]);
    w.login_ready("alice", None);
    w.connect("bob", None);
    w.call("i1");
    assert_eq!(w.req("alice", blind("bob", None)).unwrap_err().code, 15);
    assert_eq!(
        w.req(
            "alice",
            Method::BlindTransfer {
                target: "bob".into(),
                data: None,
                id: Some("i1".into())
            }
        )
        .unwrap_err()
        .code,
        15
    );
    // Another tenant's agent is unknown.
    w.admin(AdminCommand::CreateTenant {
        id: "other".into(),
        settings: Default::default(),
    })
    .unwrap();
    w.admin(AdminCommand::CreateAgent {
        id: "zed".into(),
        tenant: "other".into(),
        username: "zed".into(),
        display_name: "Zed".into(),
        extension: None,
        services: vec![],
        max_chats: 1,
    })
    .unwrap();
    w.connect("zed", Some("crm"));
    w.accept("alice");
    assert_eq!(w.req("alice", blind("zed", None)).unwrap_err().code, 17);
}

#[test]
fn one_hand_off_at_a_time() {
    let mut w = alice_on(Channel::Voice, Some("crm"));
    w.add_agent("erin", &["sales"]);
    w.connect("erin", None);
    w.ok("alice", blind("bob", None));
    let e = w.req("alice", blind("erin", None)).unwrap_err();
    assert_eq!(e.code, 15);
}

// ----- failures ----------------------------------------------------------------------------------

#[test]
fn a_rejected_blind_transfer_comes_back_to_the_sender_ringing_with_the_reason() {
    for (how, reason) in [
        ("reject", "transfer_rejected"),
        ("ring out", "transfer_timeout"),
        ("log out", "transfer_target_logged_out"),
    ] {
        let mut w = alice_on(Channel::Voice, Some("crm"));
        let t = hand_off(
            &mut w,
            "alice",
            blind("bob", Some(DATA.into())),
            Path::Explicit,
        );
        w.clear();
        match how {
            "reject" => {
                w.ok("bob", Method::RejectInteraction { id: None });
            }
            "ring out" => w.advance(RING_MS),
            _ => {
                w.ok("bob", Method::Logout);
            }
        }
        assert_eq!(w.ringing("i1"), ["alice"], "{how}");
        let frames = w.take("alice");
        let new = find(&frames, "ON_NEW_INTERACTION").unwrap();
        assert_eq!(new.arg(0)["reason"], reason, "{how}");
        assert!(
            find(&frames, "ON_LOAD_TRANSFER_DATA").is_none(),
            "a failed leg's data is not delivered"
        );
        let status = last_status(&frames, &t).unwrap();
        assert_eq!(status["phase"], "failed");
        w.accept("alice");
        assert_eq!(w.status("i1"), "connected");
        assert!(!w.core.interaction(&"i1".into()).unwrap().customer_on_hold);
        let history = w.core.transfer_history(&"i1".into());
        assert_eq!(history[0].state, baton_protocol::TransferPhase::Failed);
        assert_eq!(history[0].outcomes[0].bytes, DATA.len(), "kept in history");
    }
}

#[test]
fn a_rejected_blind_transfer_goes_back_to_the_queue_when_the_sender_has_logged_out() {
    let mut w = alice_on(Channel::Voice, Some("crm"));
    w.add_agent("erin", &["sales"]);
    w.connect("erin", Some("crm"));
    hand_off(
        &mut w,
        "alice",
        blind("bob", Some(DATA.into())),
        Path::Explicit,
    );
    w.ok("alice", Method::Logout);
    w.ok("bob", Method::RejectInteraction { id: None });
    assert_eq!(w.status("i1"), "queued");
    w.clear();
    w.ready("erin");
    assert_eq!(w.ringing("i1"), ["erin"]);
    let frames = w.take("erin");
    assert!(find(&frames, "ON_NEW_INTERACTION").is_some());
    assert!(
        find(&frames, "ON_LOAD_TRANSFER_DATA").is_none(),
        "the failed leg's data stays in history"
    );
}

#[test]
fn a_failed_consultation_leaves_the_customer_on_hold_with_the_sender() {
    for how in ["reject", "ring out", "log out"] {
        let mut w = alice_on(Channel::Voice, Some("crm"));
        let t = hand_off(
            &mut w,
            "alice",
            Method::ConsultCall {
                target: "bob".into(),
            },
            Path::Handler,
        );
        match how {
            "reject" => {
                w.ok("bob", Method::RejectInteraction { id: None });
            }
            "ring out" => w.advance(RING_MS),
            _ => {
                w.ok("bob", Method::Logout);
            }
        }
        assert_eq!(w.party("i1", "bob"), None, "{how}");
        assert_eq!(w.party("i1", "alice").as_deref(), Some("hold"));
        assert!(w.core.interaction(&"i1".into()).unwrap().customer_on_hold);
        assert_eq!(last_status(&w.history, &t).unwrap()["phase"], "failed");
        // alice takes the customer back.
        w.ok(
            "alice",
            Method::SetCallHold {
                hold: false,
                id: None,
            },
        );
        assert_eq!(w.party("i1", "alice").as_deref(), Some("connected"));
        assert!(!w.core.interaction(&"i1".into()).unwrap().customer_on_hold);
    }
}

#[test]
fn retrieving_the_customer_while_still_collecting_cancels_the_consultation() {
    let mut w = alice_on(Channel::Voice, Some("crm"));
    let t = w.ok(
        "alice",
        Method::ConsultCall {
            target: "bob".into(),
        },
    )["transferId"]
        .as_str()
        .unwrap()
        .to_owned();
    w.ok(
        "alice",
        Method::SetCallHold {
            hold: false,
            id: None,
        },
    );
    w.reply("alice", &t, Some(DATA), None);
    assert!(
        w.ringing("i1").is_empty(),
        "a cancelled consultation rings nobody"
    );
    assert!(w.take("bob").is_empty());
    assert_eq!(last_status(&w.history, &t).unwrap()["phase"], "failed");
}

#[test]
fn a_transfer_whose_consulted_agent_left_while_collecting_fails_cleanly() {
    let (mut w, _) = consulting(Path::Undefined);
    let t = w.ok("alice", Method::Transfer { data: None })["transferId"]
        .as_str()
        .unwrap()
        .to_owned();
    w.ok("bob", Method::LeaveInteraction { id: None });
    w.reply("alice", &t, Some(DATA), None);
    assert_eq!(last_status(&w.history, &t).unwrap()["phase"], "failed");
    assert_eq!(w.party("i1", "alice").as_deref(), Some("hold"));
}

#[test]
fn a_chain_of_blind_transfers_carries_what_each_host_returned() {
    let mut w = alice_on(Channel::Chat, Some("crm"));
    w.add_agent("carl", &["sales"]);
    w.connect("carl", Some("crm"));
    let t1 = hand_off(&mut w, "alice", blind("bob", None), Path::Handler);
    check_receiver(
        &w.take("bob"),
        "i1",
        &t1,
        "blind",
        "alice",
        Some(DATA),
        true,
    );
    w.accept("bob");
    w.clear();

    // bob's host forwards something of its own.
    let t2 = w.ok("bob", blind("carl", None))["transferId"]
        .as_str()
        .unwrap()
        .to_owned();
    let request = find(&w.take("bob"), "ON_REQUEST_TRANSFER_DATA")
        .unwrap()
        .clone();
    assert_eq!(request.rid(), Some(t2.as_str()));
    w.reply("bob", &t2, Some(DATA2), None);
    let frames = w.take("carl");
    check_receiver(&frames, "i1", &t2, "blind", "bob", Some(DATA2), true);
    assert!(
        !frames.iter().any(|f| f.text.contains("C-1042")),
        "carl gets bob's data, not alice's"
    );
    w.accept("carl");
    let history = w.core.transfer_history(&"i1".into());
    assert_eq!(history.len(), 2);
    assert_eq!(
        (history[0].from_agent_id.as_str(), history[0].to.as_str()),
        ("alice", "bob")
    );
    assert_eq!(
        (history[1].from_agent_id.as_str(), history[1].to.as_str()),
        ("bob", "carl")
    );
    assert_eq!(history[1].outcomes[0].bytes, DATA2.len());
    let carl = w.core.interaction(&InteractionId("i1".into())).unwrap();
    assert_eq!(
        carl.party(&"carl".into())
            .unwrap()
            .via_leg
            .as_ref()
            .unwrap()
            .0,
        t2
    );
}

#[test]
fn the_customer_leaving_during_collection_fails_the_leg_and_offers_nothing() {
    let mut w = alice_on(Channel::Voice, Some("crm"));
    let t = w.ok("alice", blind("bob", None))["transferId"]
        .as_str()
        .unwrap()
        .to_owned();
    w.hangup("i1");
    w.reply("alice", &t, Some(DATA), None);
    assert!(w.take("bob").is_empty());
    assert_eq!(last_status(&w.history, &t).unwrap()["phase"], "failed");
    assert_eq!(w.party("i1", "alice").as_deref(), Some("wrap_up"));
}

#[test]
fn a_transfer_to_a_service_is_refused_while_colleagues_are_on_the_interaction() {
    let mut w = alice_on(Channel::Chat, Some("crm"));
    hand_off(
        &mut w,
        "alice",
        Method::InviteToChatConference {
            agent_id: "bob".into(),
            id: None,
        },
        Path::Undefined,
    );
    w.accept("bob");
    let e = w.req("alice", blind("service:support", None)).unwrap_err();
    assert_eq!(e.code, 15);
    assert_eq!(w.status("i1"), "connected");
}

#[test]
fn no_hand_off_starts_while_the_interaction_is_ringing_for_someone() {
    // alice and bob in a conference; alice blind-transfers to carl, who rejects: it rings
    // alice again. bob must not start a second offer meanwhile.
    let mut w = alice_on(Channel::Voice, None);
    w.add_agent("carl", &["sales"]);
    w.add_agent("erin", &["sales"]);
    w.connect("carl", None);
    w.connect("erin", None);
    w.ok(
        "alice",
        Method::InviteToCallConference {
            target: "bob".into(),
            data: None,
            id: None,
        },
    );
    w.accept("bob");
    w.ok("alice", blind("carl", None));
    w.ok("carl", Method::RejectInteraction { id: None });
    assert_eq!(w.ringing("i1"), ["alice"]);
    let e = w
        .req(
            "bob",
            Method::InviteToCallConference {
                target: "erin".into(),
                data: None,
                id: None,
            },
        )
        .unwrap_err();
    assert_eq!(e.code, 15);
    assert_eq!(w.ringing("i1"), ["alice"]);
}

#[test]
fn when_the_primary_logs_out_during_a_consultation_the_consulted_agent_takes_over() {
    let (mut w, _) = consulting(Path::NoHost);
    w.ok("alice", Method::Logout);
    let i = w.core.interaction(&"i1".into()).unwrap();
    let bob = i.party(&"bob".into()).unwrap();
    assert_eq!(bob.role, baton_protocol::PartyRole::Primary);
    assert!(!i.customer_on_hold);
}

#[test]
fn a_consulted_agent_cannot_pass_the_customer_on_and_the_primary_cannot_be_removed() {
    let (mut w, _) = consulting(Path::NoHost);
    w.add_agent("erin", &["sales"]);
    w.connect("erin", None);
    assert_eq!(w.req("bob", blind("erin", None)).unwrap_err().code, 15);
    assert_eq!(
        w.req("bob", blind("service:support", None))
            .unwrap_err()
            .code,
        15
    );
    assert_eq!(
        w.req(
            "bob",
            Method::RemoveFromCallConference {
                party_id: "alice".into(),
                id: None
            }
        )
        .unwrap_err()
        .code,
        15
    );
    // The primary may drop the consulted agent.
    w.ok(
        "alice",
        Method::RemoveFromCallConference {
            party_id: "bob".into(),
            id: None,
        },
    );
    assert_eq!(w.party("i1", "bob"), None);
    assert_eq!(w.party("i1", "alice").as_deref(), Some("hold"));
}

#[test]
fn after_a_restart_offers_ring_again_and_the_data_is_replayed_when_the_agent_comes_back() {
    let mut w = alice_on(Channel::Chat, Some("crm"));
    let t = hand_off(&mut w, "alice", blind("bob", None), Path::Handler);
    assert_eq!(w.ringing("i1"), ["bob"]);
    // A second interaction waiting in the queue when the process dies.
    w.chat("i2");
    w.ok(
        "bob",
        Method::SetAgentState {
            state: "not_ready".into(),
            reason: None,
        },
    );
    w.now += 5_000;
    w.restart();
    assert_eq!(w.ringing("i1"), ["bob"], "the offer survives");
    assert_eq!(w.status("i2"), "queued");

    w.now += 1_000;
    w.clear();
    w.connect("bob", Some("crm"));
    let frames = w.take("bob");
    let load = find(&frames, "ON_LOAD_TRANSFER_DATA").expect("data survives the restart");
    assert!(load.text.contains(DATA));
    assert_eq!(load.arg(2)["transferId"], json!(t));
    assert_eq!(load.arg(2)["replay"], true);
    w.accept("bob");
    assert_eq!(w.status("i1"), "connected");

    // alice never comes back: her grace ends and she is logged out.
    w.advance(baton_core::CoreConfig::default().disconnect_grace_ms as i64);
    assert!(!w.core.agent(&"alice".into()).unwrap().is_logged_in());
}

// ----- desk methods (docs/protocol.md, "Agent methods for Bright Pattern's API") -------------

fn require_dispositions(w: &mut World) {
    use baton_core::directory::{DirectoryCommand, DispositionInput};
    w.admin(AdminCommand::Directory(DirectoryCommand::SetDispositions {
        tenant: "acme".into(),
        service: "support".into(),
        use_dispositions: true,
        require_disposition: true,
        dispositions: vec![DispositionInput {
            code: "ok".into(),
            name: "Resolved".into(),
            kind: baton_protocol::DispositionType::Success,
        }],
    }))
    .unwrap();
}

#[test]
fn completion_waits_for_a_required_disposition_and_a_restart_keeps_it() {
    let mut w = World::new();
    require_dispositions(&mut w);
    w.add_agent("alice", &["support"]);
    w.login_ready("alice", None);
    w.new_interaction("i1", Channel::Chat, "support");
    w.accept("alice");
    let refused = w
        .req("alice", Method::CompleteInteraction { id: None })
        .unwrap_err();
    assert_eq!(refused.code, 16);
    assert_eq!(w.party("i1", "alice").as_deref(), Some("connected"));
    w.ok(
        "alice",
        Method::SetDisposition {
            disposition: "ok".into(),
            id: None,
        },
    );
    w.restart();
    w.connect("alice", None);
    w.ok("alice", Method::CompleteInteraction { id: None });
    assert_eq!(w.status("i1"), "completed");
}

#[test]
fn an_internal_call_that_rings_out_ends_for_the_caller() {
    let mut w = World::new();
    w.add_agent_with("alice", &["sales"], 2, Some("1001"));
    w.add_agent_with("bob", &["sales"], 2, Some("1002"));
    w.connect("alice", None);
    w.connect("bob", None);
    let id = w.ok(
        "alice",
        Method::StartCall {
            phone: "1002".into(),
            objects: Vec::new(),
        },
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(w.ringing(&id), ["bob"]);
    assert_eq!(w.party(&id, "alice").as_deref(), Some("connected"));
    // No service selected: the default ring time-out of 20 s.
    w.advance(19_999);
    assert_eq!(w.party(&id, "bob").as_deref(), Some("ringing"));
    w.advance(1);
    assert_eq!(w.party(&id, "bob"), None);
    assert_eq!(w.party(&id, "alice").as_deref(), Some("wrap_up"));
    // A direct call that rings out does not make the callee not-ready for routing reasons.
    assert_eq!(w.agent_state("bob").1, None);
    w.ok("alice", Method::CompleteInteraction { id: None });
    assert_eq!(w.status(&id), "completed");
}

#[test]
fn an_outbound_call_is_an_ordinary_call_the_agent_is_connected_to() {
    let mut w = World::new();
    w.add_agent("alice", &["sales"]);
    w.connect("alice", None);
    let id = w.ok(
        "alice",
        Method::StartCall {
            phone: "+1 212 555 0000".into(),
            objects: Vec::new(),
        },
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(w.status(&id), "connected");
    w.ok("alice", Method::LeaveInteraction { id: None });
    w.ok("alice", Method::CompleteInteraction { id: None });
    assert_eq!(w.status(&id), "completed");
    let e = w
        .req(
            "alice",
            Method::StartEmail {
                email: "a@b.c".into(),
                objects: Vec::new(),
            },
        )
        .unwrap_err();
    assert_eq!(e.code, 14);
}

// ----- ring-out and a late accept -------------------------------------------------------------

/// Bob lets a blind transfer ring out and clicks Accept after the deadline, before any
/// tick of the clock: the offer has one outcome (rung out) in the history, for alice and
/// for bob, and bob's accept answers `no_interaction` and changes nothing.
#[test]
fn a_late_accept_after_a_ring_out_changes_nothing() {
    for sender_there in [true, false] {
        let mut w = alice_on(Channel::Chat, Some("crm"));
        w.ready("bob");
        let t = hand_off(
            &mut w,
            "alice",
            blind("bob", Some(DATA.into())),
            Path::Explicit,
        );
        assert_eq!(w.ringing("i1"), ["bob"]);
        if !sender_there {
            // Alice cannot take it back: it goes to the queue, where bob, still "ready"
            // before this fix, was offered it again at once.
            w.ok("alice", Method::Logout);
        }
        w.clear();

        w.now += RING_MS;
        let late = w
            .req(
                "bob",
                Method::AcceptInteraction {
                    id: Some("i1".into()),
                },
            )
            .unwrap_err();
        assert_eq!(late.code, 13, "{sender_there}: {late:?}");

        let history = w.core.transfer_history(&"i1".into());
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].state, baton_protocol::TransferPhase::Failed);
        assert_eq!(history[0].reason.as_deref(), Some("ring_timeout"));
        assert_eq!(w.party("i1", "bob"), None, "bob is no party");
        assert_eq!(
            w.agent_state("bob"),
            ("not_ready".to_owned(), Some("missed".to_owned()))
        );
        let bob = w.take("bob");
        assert!(find(&bob, "ON_INTERACTION_REMOVED").is_some());
        assert!(
            find(&bob, "ON_NEW_INTERACTION").is_none(),
            "not offered again to the agent who missed it"
        );
        if sender_there {
            assert_eq!(w.ringing("i1"), ["alice"]);
            let alice = w.take("alice");
            assert_eq!(last_status(&alice, &t).unwrap()["phase"], "failed");
        } else {
            assert_eq!(w.status("i1"), "queued");
        }
        // Bob comes back: only now is the queued chat offered to him, as a new offer.
        if !sender_there {
            w.ready("bob");
            assert_eq!(w.ringing("i1"), ["bob"]);
            w.accept("bob");
            assert_eq!(w.status("i1"), "connected");
            let history = w.core.transfer_history(&"i1".into());
            assert_eq!(history[0].state, baton_protocol::TransferPhase::Failed);
        }
    }
}

/// A ringing offer tells the agent when it rings out, so the widget can count down; once
/// answered, the deadline is gone.
#[test]
fn a_ringing_offer_carries_its_deadline() {
    let mut w = World::new();
    w.add_agent("alice", &["sales"]);
    w.login_ready("alice", None);
    w.take("alice");
    let offered_at = w.now;
    w.new_interaction("i1", Channel::Chat, "sales");
    let alice = w.take("alice");
    let offer = find(&alice, "ON_NEW_INTERACTION").expect("offered");
    assert_eq!(offer.json["args"][0]["ringDeadline"], offered_at + RING_MS);
    w.accept("alice");
    let alice = w.take("alice");
    let connected = find(&alice, "ON_INTERACTION_STATE_CHANGE").expect("state change");
    assert!(connected.json["args"][0].get("ringDeadline").is_none());
}

// ----- replay after a reload, on every path that delivered data (rule 9) -------------------------

/// `agent`'s widget reloads (same integration key): it gets `ON_LOAD_TRANSFER_DATA` for leg
/// `t` again, exactly the sent bytes, marked as a replay.
fn reload_replays(w: &mut World, agent: &str, t: &str) {
    w.disconnect(agent);
    w.now += 1000;
    w.clear();
    w.connect(agent, Some("crm"));
    let frames = w.take(agent);
    let loads = all(&frames, "ON_LOAD_TRANSFER_DATA");
    assert_eq!(loads.len(), 1, "{agent}: one replay: {:?}", names(&frames));
    assert!(
        loads[0].text.contains(DATA),
        "the exact bytes: {}",
        loads[0].text
    );
    assert_eq!(loads[0].arg(2)["replay"], true);
    assert_eq!(loads[0].arg(2)["transferId"], json!(t));
}

/// alice (host `crm`) on a chat; carol and dave of support are ready with the same host,
/// carol the longest idle.
fn support_ready() -> World {
    let mut w = alice_on(Channel::Chat, Some("crm"));
    w.connect("carol", Some("crm"));
    w.ready("carol");
    w.now += 10;
    w.connect("dave", Some("crm"));
    w.ready("dave");
    w.clear();
    w
}

#[test]
fn a_reload_after_a_queue_offer_was_accepted_replays_the_queue_legs_data() {
    let mut w = support_ready();
    let t = hand_off(
        &mut w,
        "alice",
        blind("service:support", None),
        Path::Handler,
    );
    assert_eq!(w.ringing("i1"), ["carol"]);
    w.accept("carol");
    reload_replays(&mut w, "carol", &t);
    // And again, after a second reload.
    reload_replays(&mut w, "carol", &t);
}

#[test]
fn a_reload_after_a_queue_offer_rang_out_or_was_rejected_replays_to_the_next_agent() {
    for how in ["ring out", "reject"] {
        let mut w = support_ready();
        let t = hand_off(
            &mut w,
            "alice",
            blind("service:support", None),
            Path::Handler,
        );
        assert_eq!(w.ringing("i1"), ["carol"]);
        match how {
            "ring out" => w.advance(RING_MS),
            _ => {
                w.ok("carol", Method::RejectInteraction { id: None });
            }
        }
        assert_eq!(w.ringing("i1"), ["dave"], "{how}");
        w.accept("dave");
        reload_replays(&mut w, "dave", &t);
    }
}

#[test]
fn a_reload_after_a_queue_offer_rang_out_everywhere_and_came_back_replays() {
    // Nobody answers at first: carol and dave both ring out; carol comes back and accepts.
    let mut w = support_ready();
    let t = hand_off(
        &mut w,
        "alice",
        blind("service:support", None),
        Path::Handler,
    );
    w.advance(RING_MS);
    w.advance(RING_MS);
    assert_eq!(w.status("i1"), "queued");
    w.ready("carol");
    assert_eq!(w.ringing("i1"), ["carol"]);
    w.accept("carol");
    reload_replays(&mut w, "carol", &t);
}

#[test]
fn a_reload_while_a_queue_offer_is_still_ringing_replays_it() {
    let mut w = support_ready();
    let t = hand_off(
        &mut w,
        "alice",
        blind("service:support", None),
        Path::Handler,
    );
    assert_eq!(w.ringing("i1"), ["carol"]);
    reload_replays(&mut w, "carol", &t);
    w.accept("carol");
    reload_replays(&mut w, "carol", &t);
}

#[test]
fn a_reload_after_a_blind_transfer_rejected_by_one_agent_replays_the_next_legs_data() {
    // alice sends to bob, who rejects: the leg fails and comes back to alice (rule 12, its
    // data is not delivered); alice sends again to carol with data, carol accepts and reloads.
    let mut w = support_ready();
    hand_off(&mut w, "alice", blind("bob", None), Path::Handler);
    w.ok("bob", Method::RejectInteraction { id: None });
    assert_eq!(w.ringing("i1"), ["alice"]);
    w.accept("alice");
    w.clear();
    let t = hand_off(&mut w, "alice", blind("carol", None), Path::Handler);
    w.accept("carol");
    reload_replays(&mut w, "carol", &t);
}

#[test]
fn a_reload_after_a_blind_transfer_was_accepted_replays_for_a_chat_and_a_call() {
    for channel in [Channel::Chat, Channel::Voice] {
        let mut w = alice_on(channel, Some("crm"));
        let t = hand_off(&mut w, "alice", blind("bob", None), Path::Handler);
        reload_replays(&mut w, "bob", &t);
        w.accept("bob");
        reload_replays(&mut w, "bob", &t);
    }
}

#[test]
fn a_reload_during_and_after_a_consultation_replays_the_current_leg() {
    let (mut w, consult) = consulting(Path::Handler);
    reload_replays(&mut w, "bob", &consult);
    w.clear();
    let t = hand_off(
        &mut w,
        "alice",
        Method::Transfer { data: None },
        Path::Handler,
    );
    reload_replays(&mut w, "bob", &t);
}

#[test]
fn a_reload_after_a_merge_or_a_conference_invite_replays_to_the_invited_agent() {
    let (mut w, _) = consulting(Path::Handler);
    w.clear();
    let t = hand_off(
        &mut w,
        "alice",
        Method::MergeAllCallsIntoConference { data: None },
        Path::Handler,
    );
    reload_replays(&mut w, "bob", &t);

    let mut w = alice_on(Channel::Voice, Some("crm"));
    let t = hand_off(
        &mut w,
        "alice",
        Method::InviteToCallConference {
            target: "bob".into(),
            data: None,
            id: None,
        },
        Path::Handler,
    );
    w.accept("bob");
    reload_replays(&mut w, "bob", &t);
}

#[test]
fn a_reload_after_a_chat_invite_replays_to_the_invited_agent() {
    let mut w = alice_on(Channel::Chat, Some("crm"));
    let t = hand_off(
        &mut w,
        "alice",
        Method::InviteToChatConference {
            agent_id: "bob".into(),
            id: None,
        },
        Path::Handler,
    );
    w.accept("bob");
    reload_replays(&mut w, "bob", &t);
}

#[test]
fn a_chat_sent_back_to_the_queue_by_a_logout_keeps_its_queue_data_for_the_next_agent() {
    // carol took a queued chat with data, then logged out with it live: it goes back to the
    // queue, and the next agent offered it gets the same leg's data (rule 11), then a replay.
    let mut w = support_ready();
    let t = hand_off(
        &mut w,
        "alice",
        blind("service:support", None),
        Path::Handler,
    );
    w.accept("carol");
    w.clear();
    w.ok("carol", Method::Logout);
    assert_eq!(w.ringing("i1"), ["dave"]);
    check_receiver(
        &w.take("dave"),
        "i1",
        &t,
        "queue",
        "alice",
        Some(DATA),
        true,
    );
    w.accept("dave");
    reload_replays(&mut w, "dave", &t);
}

#[test]
fn a_reload_after_a_blind_transfer_came_back_replays_the_leg_that_brought_it_to_the_sender() {
    // alice hands the chat to bob with data (t1); bob passes it on to alice, who rejects or
    // lets it ring out: it comes back to bob. His current leg is t1 again (t2 failed, its
    // data is never delivered, rule 12), so his reloaded CRM gets t1's data back.
    for how in ["reject", "ring out"] {
        let mut w = alice_on(Channel::Chat, Some("crm"));
        let t1 = hand_off(&mut w, "alice", blind("bob", None), Path::Handler);
        w.accept("bob");
        w.clear();
        let t2 = hand_off(&mut w, "bob", blind("alice", None), Path::Handler);
        assert_eq!(w.ringing("i1"), ["alice"]);
        match how {
            "reject" => {
                w.ok("alice", Method::RejectInteraction { id: None });
            }
            _ => w.advance(RING_MS),
        }
        assert_eq!(w.ringing("i1"), ["bob"], "{how}");
        let frames = w.take("bob");
        assert!(
            find(&frames, "ON_LOAD_TRANSFER_DATA").is_none(),
            "{how}: nothing is delivered on the way back"
        );
        w.accept("bob");
        reload_replays(&mut w, "bob", &t1);
        let history = w.core.transfer_history(&"i1".into());
        assert_eq!(history[1].transfer_id, t2);
        assert_eq!(history[1].state, baton_protocol::TransferPhase::Failed);
    }
}
