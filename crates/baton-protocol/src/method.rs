//! A request's `op` and positional `args`, checked and typed.
//!
//! `args` are exactly those of the AdApi method. `null` (or a missing trailing argument)
//! means "not given". Transfer data arguments are kept as raw JSON text.

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::error::{ApiError, ErrorCode};
use crate::model::{AssociatedObject, DispositionTarget, RescheduleData};

/// Every method of protocol v1. Serialisable so a cluster node can forward it to the engine.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Method {
    GetLoginState,
    Logout,
    GetAgentState,
    SetAgentState {
        state: String,
        reason: Option<String>,
    },
    GetTeams,
    GetTeamMembers {
        team_id: String,
    },
    GetServicesList,
    GetInteractionsState,
    AcceptInteraction {
        id: Option<String>,
    },
    RejectInteraction {
        id: Option<String>,
    },
    SwitchActiveInteraction {
        id: String,
    },
    SendChatMessage {
        text: String,
        id: Option<String>,
    },
    SetCallHold {
        hold: bool,
        id: Option<String>,
    },
    LeaveInteraction {
        id: Option<String>,
    },
    CompleteInteraction {
        id: Option<String>,
    },
    AddNote {
        text: String,
        id: Option<String>,
    },
    GetVariables {
        keys: Option<Vec<String>>,
        id: Option<String>,
    },
    SetVariable {
        key: String,
        value: serde_json::Value,
        id: Option<String>,
    },
    BlindTransfer {
        target: String,
        data: Option<String>,
        id: Option<String>,
    },
    ConsultCall {
        target: String,
    },
    Transfer {
        data: Option<String>,
    },
    InviteToCallConference {
        target: String,
        data: Option<String>,
        id: Option<String>,
    },
    MergeAllCallsIntoConference {
        data: Option<String>,
    },
    RemoveFromCallConference {
        party_id: String,
        id: Option<String>,
    },
    InviteToChatConference {
        agent_id: String,
        id: Option<String>,
    },
    RemoveFromChatConference {
        party_id: String,
        id: Option<String>,
    },
    GetTransferHistory {
        id: Option<String>,
    },
    // Bright Pattern's desk methods (docs/protocol.md, "Agent methods for Bright Pattern's API").
    GetAgentNotReadyReasons,
    GetService,
    SetService {
        service: Option<String>,
    },
    GetDidNumbersList,
    GetDidNumber,
    SetDidNumber {
        did: Option<String>,
    },
    GetDispositionsList {
        target: DispositionTarget,
    },
    SetDisposition {
        disposition: String,
        id: Option<String>,
    },
    LeaveAndCompleteInteraction {
        disposition: Option<String>,
        note: Option<String>,
        id: Option<String>,
    },
    DestroyCallConference {
        id: Option<String>,
    },
    UpdateNote {
        text: String,
        id: Option<String>,
    },
    ReplaceNote {
        text: String,
        id: Option<String>,
    },
    SetRescheduleWindow {
        window: RescheduleData,
        id: Option<String>,
    },
    /// Kept as given: objects, each with at least a string `id`.
    SetDialCandidates {
        candidates: Vec<serde_json::Map<String, serde_json::Value>>,
    },
    GetConfig,
    AddInteractionAssociatedObject {
        object: AssociatedObject,
        id: Option<String>,
    },
    SetInteractionActiveScreen {
        screen: serde_json::Map<String, serde_json::Value>,
        id: Option<String>,
    },
    StartCall {
        phone: String,
        objects: Vec<AssociatedObject>,
    },
    StartChat {
        channel: String,
        address: String,
        objects: Vec<AssociatedObject>,
    },
    StartEmail {
        email: String,
        objects: Vec<AssociatedObject>,
    },
    /// Baton addition: the agent starts or stops typing in a chat; the customer and the
    /// other agent parties are told.
    SetTyping {
        typing: bool,
        id: Option<String>,
    },
}

/// The names of every method, as sent in `op`.
pub const METHOD_NAMES: &[&str] = &[
    "getLoginState",
    "logout",
    "getAgentState",
    "setAgentState",
    "getTeams",
    "getTeamMembers",
    "getServicesList",
    "getInteractionsState",
    "acceptInteraction",
    "rejectInteraction",
    "switchActiveInteraction",
    "sendChatMessage",
    "setCallHold",
    "leaveInteraction",
    "completeInteraction",
    "addNote",
    "getVariables",
    "setVariable",
    "blindTransfer",
    "consultCall",
    "transfer",
    "inviteToCallConference",
    "mergeAllCallsIntoConference",
    "removeFromCallConference",
    "inviteToChatConference",
    "removeFromChatConference",
    "getTransferHistory",
    "getAgentNotReadyReasons",
    "getService",
    "setService",
    "getDIDNumbersList",
    "getDIDNumber",
    "setDIDNumber",
    "getDispositionsList",
    "setDisposition",
    "leaveAndCompleteInteraction",
    "destroyCallConference",
    "updateNote",
    "replaceNote",
    "setRescheduleWindow",
    "setDialCandidates",
    "getConfig",
    "addInteractionAssociatedObject",
    "setInteractionActiveScreen",
    "startCall",
    "startChat",
    "startEmail",
    "setTyping",
];

struct Args<'a> {
    op: &'a str,
    args: &'a [Box<RawValue>],
}

impl Args<'_> {
    fn raw(&self, i: usize) -> Option<&RawValue> {
        self.args
            .get(i)
            .map(|b| &**b)
            .filter(|r| r.get().trim() != "null")
    }

    fn opt<T: DeserializeOwned>(&self, i: usize, what: &str) -> Result<Option<T>, ApiError> {
        match self.raw(i) {
            None => Ok(None),
            Some(r) => serde_json::from_str(r.get()).map(Some).map_err(|_| {
                ApiError::new(
                    ErrorCode::InvalidArgs,
                    format!(
                        "{}: argument {} ({what}) has the wrong type",
                        self.op,
                        i + 1
                    ),
                )
            }),
        }
    }

    fn req<T: DeserializeOwned>(&self, i: usize, what: &str) -> Result<T, ApiError> {
        self.opt(i, what)?.ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidArgs,
                format!("{}: argument {} ({what}) is required", self.op, i + 1),
            )
        })
    }

    fn data(&self, i: usize) -> Option<String> {
        self.raw(i).map(|r| r.get().to_owned())
    }

    /// Bright Pattern's `InitialObjects`: one associated object or an array of them.
    fn objects(&self, i: usize) -> Result<Vec<AssociatedObject>, ApiError> {
        let Some(r) = self.raw(i) else {
            return Ok(Vec::new());
        };
        if let Ok(one) = serde_json::from_str::<AssociatedObject>(r.get()) {
            return Ok(vec![one]);
        }
        self.req(i, "associatedObjects")
    }
}

impl Method {
    /// Types a request. Unknown ops are `invalid_request`; wrong arguments `invalid_args`.
    pub fn parse(op: &str, args: &[Box<RawValue>]) -> Result<Self, ApiError> {
        let a = Args { op, args };
        Ok(match op {
            "getLoginState" => Method::GetLoginState,
            "logout" => Method::Logout,
            "getAgentState" => Method::GetAgentState,
            "setAgentState" => Method::SetAgentState {
                state: a.req(0, "state")?,
                // Integrations pass an empty text field as "no reason".
                reason: a
                    .opt::<String>(1, "notReadyReason")?
                    .filter(|reason| !reason.trim().is_empty()),
            },
            "getTeams" => Method::GetTeams,
            "getTeamMembers" => Method::GetTeamMembers {
                team_id: a.req(0, "teamId")?,
            },
            "getServicesList" => Method::GetServicesList,
            "getInteractionsState" => Method::GetInteractionsState,
            "acceptInteraction" => Method::AcceptInteraction {
                id: a.opt(0, "interactionId")?,
            },
            "rejectInteraction" => Method::RejectInteraction {
                id: a.opt(0, "interactionId")?,
            },
            "switchActiveInteraction" => Method::SwitchActiveInteraction {
                id: a.req(0, "interactionId")?,
            },
            "sendChatMessage" => Method::SendChatMessage {
                text: a.req(0, "text")?,
                id: a.opt(1, "interactionId")?,
            },
            "setCallHold" => Method::SetCallHold {
                hold: a.req(0, "hold")?,
                id: a.opt(1, "interactionId")?,
            },
            "leaveInteraction" => Method::LeaveInteraction {
                id: a.opt(0, "interactionId")?,
            },
            "completeInteraction" => Method::CompleteInteraction {
                id: a.opt(0, "interactionId")?,
            },
            "addNote" => Method::AddNote {
                text: a.req(0, "text")?,
                id: a.opt(1, "interactionId")?,
            },
            "getVariables" => {
                let keys = match a.raw(0) {
                    None => None,
                    Some(r) => Some(match serde_json::from_str::<Vec<String>>(r.get()) {
                        Ok(keys) => keys,
                        Err(_) => vec![a.req::<String>(0, "keys")?],
                    }),
                };
                Method::GetVariables {
                    keys,
                    id: a.opt(1, "interactionId")?,
                }
            }
            "setVariable" => Method::SetVariable {
                key: a.req(0, "key")?,
                value: a.opt(1, "value")?.unwrap_or(serde_json::Value::Null),
                id: a.opt(2, "interactionId")?,
            },
            "blindTransfer" => Method::BlindTransfer {
                target: a.req(0, "target")?,
                data: a.data(1),
                id: a.opt(2, "interactionId")?,
            },
            "consultCall" => Method::ConsultCall {
                target: a.req(0, "target")?,
            },
            "transfer" => Method::Transfer { data: a.data(0) },
            "inviteToCallConference" => Method::InviteToCallConference {
                target: a.req(0, "target")?,
                data: a.data(1),
                id: a.opt(2, "interactionId")?,
            },
            "mergeAllCallsIntoConference" => {
                Method::MergeAllCallsIntoConference { data: a.data(0) }
            }
            "removeFromCallConference" => Method::RemoveFromCallConference {
                party_id: a.req(0, "partyId")?,
                id: a.opt(1, "interactionId")?,
            },
            "inviteToChatConference" => Method::InviteToChatConference {
                agent_id: a.req(0, "agentId")?,
                id: a.opt(1, "interactionId")?,
            },
            "removeFromChatConference" => Method::RemoveFromChatConference {
                party_id: a.req(0, "partyId")?,
                id: a.opt(1, "interactionId")?,
            },
            "getTransferHistory" => Method::GetTransferHistory {
                id: a.opt(0, "interactionId")?,
            },
            "getAgentNotReadyReasons" => Method::GetAgentNotReadyReasons,
            "getService" => Method::GetService,
            "setService" => Method::SetService {
                service: a.opt(0, "service")?,
            },
            "getDIDNumbersList" => Method::GetDidNumbersList,
            "getDIDNumber" => Method::GetDidNumber,
            "setDIDNumber" => Method::SetDidNumber {
                did: a.opt(0, "did")?,
            },
            "getDispositionsList" => Method::GetDispositionsList {
                target: a.opt(0, "target")?.unwrap_or_default(),
            },
            "setDisposition" => Method::SetDisposition {
                disposition: a.req(0, "disposition")?,
                id: a.opt(1, "interactionId")?,
            },
            "leaveAndCompleteInteraction" => Method::LeaveAndCompleteInteraction {
                disposition: a.opt(0, "disposition")?,
                note: a.opt(1, "note")?,
                id: a.opt(2, "interactionId")?,
            },
            "destroyCallConference" => Method::DestroyCallConference {
                id: a.opt(0, "interactionId")?,
            },
            "updateNote" => Method::UpdateNote {
                text: a.req(0, "note")?,
                id: a.opt(1, "interactionId")?,
            },
            "replaceNote" => Method::ReplaceNote {
                text: a.req(0, "note")?,
                id: a.opt(1, "interactionId")?,
            },
            "setRescheduleWindow" => Method::SetRescheduleWindow {
                window: a.req(0, "rescheduleData")?,
                id: a.opt(1, "interactionId")?,
            },
            "setDialCandidates" => Method::SetDialCandidates {
                candidates: a.req(0, "candidates")?,
            },
            "getConfig" => Method::GetConfig,
            "addInteractionAssociatedObject" => Method::AddInteractionAssociatedObject {
                object: a.req(0, "object")?,
                id: a.opt(1, "interactionId")?,
            },
            "setInteractionActiveScreen" => Method::SetInteractionActiveScreen {
                screen: a.req(0, "screenData")?,
                id: a.opt(1, "interactionId")?,
            },
            "startCall" => Method::StartCall {
                phone: a.req(0, "phonenumber")?,
                objects: a.objects(1)?,
            },
            "startChat" => Method::StartChat {
                channel: a.req(0, "channel")?,
                address: a.req(1, "address")?,
                objects: a.objects(2)?,
            },
            "startEmail" => Method::StartEmail {
                email: a.req(0, "email")?,
                objects: a.objects(1)?,
            },
            "setTyping" => Method::SetTyping {
                typing: a.req(0, "typing")?,
                id: a.opt(1, "interactionId")?,
            },
            other => {
                return Err(ApiError::new(
                    ErrorCode::InvalidRequest,
                    format!("unknown op {other:?}"),
                ));
            }
        })
    }

    /// The method's wire name, for metrics and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Method::GetLoginState => "getLoginState",
            Method::Logout => "logout",
            Method::GetAgentState => "getAgentState",
            Method::SetAgentState { .. } => "setAgentState",
            Method::GetTeams => "getTeams",
            Method::GetTeamMembers { .. } => "getTeamMembers",
            Method::GetServicesList => "getServicesList",
            Method::GetInteractionsState => "getInteractionsState",
            Method::AcceptInteraction { .. } => "acceptInteraction",
            Method::RejectInteraction { .. } => "rejectInteraction",
            Method::SwitchActiveInteraction { .. } => "switchActiveInteraction",
            Method::SendChatMessage { .. } => "sendChatMessage",
            Method::SetCallHold { .. } => "setCallHold",
            Method::LeaveInteraction { .. } => "leaveInteraction",
            Method::CompleteInteraction { .. } => "completeInteraction",
            Method::AddNote { .. } => "addNote",
            Method::GetVariables { .. } => "getVariables",
            Method::SetVariable { .. } => "setVariable",
            Method::BlindTransfer { .. } => "blindTransfer",
            Method::ConsultCall { .. } => "consultCall",
            Method::Transfer { .. } => "transfer",
            Method::InviteToCallConference { .. } => "inviteToCallConference",
            Method::MergeAllCallsIntoConference { .. } => "mergeAllCallsIntoConference",
            Method::RemoveFromCallConference { .. } => "removeFromCallConference",
            Method::InviteToChatConference { .. } => "inviteToChatConference",
            Method::RemoveFromChatConference { .. } => "removeFromChatConference",
            Method::GetTransferHistory { .. } => "getTransferHistory",
            Method::GetAgentNotReadyReasons => "getAgentNotReadyReasons",
            Method::GetService => "getService",
            Method::SetService { .. } => "setService",
            Method::GetDidNumbersList => "getDIDNumbersList",
            Method::GetDidNumber => "getDIDNumber",
            Method::SetDidNumber { .. } => "setDIDNumber",
            Method::GetDispositionsList { .. } => "getDispositionsList",
            Method::SetDisposition { .. } => "setDisposition",
            Method::LeaveAndCompleteInteraction { .. } => "leaveAndCompleteInteraction",
            Method::DestroyCallConference { .. } => "destroyCallConference",
            Method::UpdateNote { .. } => "updateNote",
            Method::ReplaceNote { .. } => "replaceNote",
            Method::SetRescheduleWindow { .. } => "setRescheduleWindow",
            Method::SetDialCandidates { .. } => "setDialCandidates",
            Method::GetConfig => "getConfig",
            Method::AddInteractionAssociatedObject { .. } => "addInteractionAssociatedObject",
            Method::SetInteractionActiveScreen { .. } => "setInteractionActiveScreen",
            Method::StartCall { .. } => "startCall",
            Method::StartChat { .. } => "startChat",
            Method::StartEmail { .. } => "startEmail",
            Method::SetTyping { .. } => "setTyping",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(json: &str) -> Vec<Box<RawValue>> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn an_empty_not_ready_reason_is_no_reason() {
        let m = Method::parse("setAgentState", &args(r#"["not_ready",""]"#)).unwrap();
        assert_eq!(
            m,
            Method::SetAgentState {
                state: "not_ready".into(),
                reason: None
            }
        );
    }

    #[test]
    fn null_means_not_given() {
        let m = Method::parse("blindTransfer", &args(r#"["bob",null,"i1"]"#)).unwrap();
        assert_eq!(
            m,
            Method::BlindTransfer {
                target: "bob".into(),
                data: None,
                id: Some("i1".into())
            }
        );
    }

    #[test]
    fn transfer_data_keeps_its_bytes() {
        let m = Method::parse("transfer", &args(r#"[{"b":1, "a":2.50}]"#)).unwrap();
        assert_eq!(
            m,
            Method::Transfer {
                data: Some(r#"{"b":1, "a":2.50}"#.into())
            }
        );
    }

    #[test]
    fn errors_are_typed() {
        let e = Method::parse("nope", &[]).unwrap_err();
        assert_eq!(e.code, 7);
        let e = Method::parse("setCallHold", &args(r#"["yes"]"#)).unwrap_err();
        assert_eq!(e.code, 3);
        let e = Method::parse("consultCall", &[]).unwrap_err();
        assert_eq!(e.code, 3);
    }

    #[test]
    fn initial_objects_are_one_object_or_an_array() {
        let one = r#"{"id":"c1","type":"contact","displayName":"Ann","displayType":"Contact","customFields":{}}"#;
        let m = Method::parse("startCall", &args(&format!(r#"["+1555",{one}]"#))).unwrap();
        let Method::StartCall { objects, .. } = m else {
            panic!("{m:?}")
        };
        assert_eq!(objects.len(), 1);
        let m = Method::parse("startCall", &args(&format!(r#"["+1555",[{one},{one}]]"#))).unwrap();
        let Method::StartCall { objects, .. } = m else {
            panic!("{m:?}")
        };
        assert_eq!(objects.len(), 2);
        let e = Method::parse("startCall", &args(r#"["+1555",{"nope":1}]"#)).unwrap_err();
        assert_eq!(e.code, 3);
        let e = Method::parse("setInteractionActiveScreen", &args(r#"[[1,2]]"#)).unwrap_err();
        assert_eq!(e.code, 3);
    }

    #[test]
    fn every_name_parses_or_asks_for_args() {
        for name in METHOD_NAMES {
            match Method::parse(name, &[]) {
                Ok(m) => assert_eq!(m.name(), *name),
                Err(e) => assert_eq!(e.code, 3, "{name}"),
            }
        }
    }
}
