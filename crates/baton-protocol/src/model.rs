//! Payloads carried by events, responses and REST bodies. Field names are camelCase on the wire.

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch (docs/protocol.md).
pub type Millis = i64;

macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }

        // Written by hand: the derive does not see `rename` through this macro and would
        // document the Rust names (`Chat`) instead of the wire names (`chat`).
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum!(
    /// A customer interaction's medium.
    Channel { Chat = "chat", Voice = "voice" }
);

wire_enum!(
    /// An agent's state as the widget shows it. `ringing` and `busy` are set by the server.
    AgentStateName {
        Ready = "ready",
        NotReady = "not_ready",
        AfterCallWork = "after_call_work",
        Ringing = "ringing",
        Busy = "busy",
    }
);

wire_enum!(
    /// An interaction's state from one agent's point of view.
    InteractionState {
        Ringing = "ringing",
        Connected = "connected",
        Hold = "hold",
        WrapUp = "wrap_up",
        Completed = "completed",
    }
);

wire_enum!(
    /// How an agent party joined: as the main handler, a consulted agent or a conference member.
    PartyRole { Primary = "primary", Consult = "consult", Conference = "conference" }
);

wire_enum!(
    /// Who wrote a chat message.
    MessageFrom { Customer = "customer", Agent = "agent", System = "system" }
);

wire_enum!(
    /// The kinds of hand-off (PROTOCOL.md, `ON_REQUEST_TRANSFER_DATA`).
    TransferKind {
        Blind = "blind",
        Consult = "consult",
        Transfer = "transfer",
        Conference = "conference",
        Merge = "merge",
        ChatInvite = "chat_invite",
        Queue = "queue",
    }
);

wire_enum!(
    /// Phases reported to the sender by `ON_TRANSFER_STATUS`.
    TransferPhase {
        Collecting = "collecting",
        Offered = "offered",
        Accepted = "accepted",
        Failed = "failed",
    }
);

wire_enum!(
    /// What happened to one integration's transfer data (DESIGN.md rule 14).
    Outcome {
        Provided = "provided",
        NoData = "none",
        Timeout = "timeout",
        Error = "error",
        Invalid = "invalid",
        TooLarge = "too_large",
        NoConsumer = "no_consumer",
        Delivered = "delivered",
        Acknowledged = "acknowledged",
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

wire_enum!(
    /// Whether a party is the customer or an agent.
    PartyType { Agent = "agent", Customer = "customer" }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PartyData {
    pub id: String,
    #[serde(rename = "type")]
    pub party_type: PartyType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    pub name: String,
    pub state: InteractionState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<PartyRole>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ChatMessage {
    pub from: MessageFrom,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party_id: Option<String>,
    pub name: String,
    pub text: String,
    pub at: Millis,
    /// A file sent with this message (decision 0014); the bytes are fetched by REST.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<AttachmentRef>,
}

/// What a chat message says about an attached file: enough to show a download link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AttachmentRef {
    pub id: String,
    pub name: String,
    /// The type found by sniffing the content, not the one the uploader declared.
    pub content_type: String,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Note {
    pub agent_id: String,
    pub text: String,
    pub at: Millis,
}

/// An interaction as one agent sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InteractionData {
    pub id: String,
    pub channel: Channel,
    pub state: InteractionState,
    pub service_name: String,
    pub customer: Customer,
    pub parties: Vec<PartyData>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub attached_data: serde_json::Map<String, serde_json::Value>,
    pub created_at: Millis,
    pub notes: Vec<Note>,
    /// The chat transcript, oldest first. Only where a party needs it whole:
    /// `ON_NEW_INTERACTION` (also on replay) and `getInteractionsState`. Absent from
    /// `ON_INTERACTION_STATE_CHANGE`: new messages travel as `ON_CHAT_MESSAGE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<ChatMessage>>,
    pub reason: Option<String>,
    /// `inbound` (ingress) or `outbound` (`startCall`, `startChat`).
    #[serde(default)]
    pub direction: Direction,
    /// A call between two agents of the tenant (`startCall` to a username or extension).
    #[serde(default)]
    pub internal: bool,
    /// The disposition's name, once `setDisposition` chose one.
    #[serde(default)]
    pub disposition: Option<String>,
    #[serde(default)]
    pub disposition_id: Option<String>,
    #[serde(default)]
    pub associated_objects: AssociatedObjects,
    /// The screen an integration last showed for this interaction.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub active_screen: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    pub reschedule: Option<RescheduleData>,
    #[serde(default)]
    pub completed_at: Option<Millis>,
    /// Calling number of a voice interaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ani: Option<String>,
    /// Called number of a voice interaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dnis: Option<String>,
    /// While it rings for this agent: when the offer rings out (ms since the epoch), so a
    /// widget can count down. Project addition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ring_deadline: Option<Millis>,
    /// This agent's microphone is muted on the call (`setCallMute`).
    #[serde(default)]
    pub call_muted: bool,
    /// The call is being recorded (`setCallRecording`, or the recording policy of its
    /// service, tenant or server).
    #[serde(default)]
    pub call_recording: bool,
}

/// A DTMF digit keyed on a call, as the interaction logs it (docs/voice.md, "DTMF"). The
/// digit itself only where the tenant's `dtmfLog` is `digits`: callers key in PINs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DtmfRecord {
    /// Who keyed it: `customer` or the agent's id (as in `parties`).
    pub party_id: String,
    pub at: Millis,
    /// The digit (`0`-`9`, `*`, `#`, `A`-`D`). Stored sealed with the data key when the
    /// server has one; absent when the tenant logs only that digits were keyed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digit: Option<String>,
}

wire_enum!(
    /// Which way an interaction started.
    Direction { Inbound = "inbound", Outbound = "outbound" }
);

// `wire_enum!` has no place for `#[default]` on a variant.
#[allow(clippy::derivable_impls)]
impl Default for Direction {
    fn default() -> Self {
        Self::Inbound
    }
}

wire_enum!(
    /// What a disposition says about the interaction (Bright Pattern's `DispositionType`).
    DispositionType {
        Success = "SUCCESS",
        Failure = "FAILURE",
        Continue = "CONTINUE",
        Spam = "SPAM",
        DoNotCall = "DO_NOT_CALL",
    }
);

/// One disposition of a service, as `getDispositionsList` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DispositionData {
    pub id: String,
    pub code: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: DispositionType,
}

/// A DID number of the tenant (`getDIDNumbersList`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DidNumber {
    pub id: String,
    pub number: String,
    #[serde(rename = "isSMS")]
    pub is_sms: bool,
    #[serde(rename = "isVoice")]
    pub is_voice: bool,
}

/// A CRM record tied to an interaction (`addInteractionAssociatedObject`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AssociatedObject {
    pub id: String,
    #[serde(rename = "type")]
    pub object_type: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub display_type: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub custom_fields: serde_json::Map<String, serde_json::Value>,
    /// The integration key of the host that added it (set by the server, never by the client).
    #[serde(default)]
    pub source: String,
}

/// An interaction's CRM records and which of them are selected.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssociatedObjects {
    pub list: Vec<AssociatedObject>,
    pub selected: Vec<String>,
}

/// A callback window (`setRescheduleWindow`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RescheduleData {
    pub number_to_dial: String,
    pub from_time: String,
    pub until_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone_code: Option<String>,
}

/// Which dispositions `getDispositionsList` lists.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DispositionTarget {
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub interaction_id: Option<String>,
}

/// An interaction as an admin sees it: every party, its overall status and queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InteractionSummary {
    pub id: String,
    pub tenant: String,
    pub channel: Channel,
    /// `queued`, `offered`, `connected`, `wrap_up` or `completed`.
    pub status: String,
    pub service_name: String,
    pub customer: Customer,
    pub parties: Vec<PartyData>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub attached_data: serde_json::Map<String, serde_json::Value>,
    pub created_at: Millis,
    pub completed_at: Option<Millis>,
    pub messages: Vec<ChatMessage>,
    #[serde(default)]
    pub direction: Direction,
    #[serde(default)]
    pub internal: bool,
    #[serde(default)]
    pub disposition: Option<String>,
    #[serde(default)]
    pub disposition_id: Option<String>,
    #[serde(default)]
    pub notes: Vec<Note>,
    /// DTMF keyed on the call, oldest first (docs/voice.md, "DTMF").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dtmf: Vec<DtmfRecord>,
}

/// Meta of `ON_REQUEST_TRANSFER_DATA`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestTransferMeta {
    pub transfer_id: String,
    pub kind: TransferKind,
    pub target: String,
}

/// Meta of `ON_LOAD_TRANSFER_DATA`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadTransferMeta {
    pub transfer_id: String,
    pub kind: TransferKind,
    pub from_agent_id: String,
    pub from_agent_name: String,
    pub created_at: Millis,
    pub replay: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct OutcomeData {
    pub integration_key: Option<String>,
    pub outcome: Outcome,
    pub bytes: usize,
}

/// Payload of `ON_TRANSFER_STATUS`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferStatus {
    pub transfer_id: String,
    pub interaction_id: String,
    pub kind: TransferKind,
    pub target: String,
    pub phase: TransferPhase,
    pub outcomes: Vec<OutcomeData>,
    /// Why a leg failed (`rejected`, `ring_timeout`, `target_logged_out`, …); project addition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct OutcomeRecord {
    pub integration_key: Option<String>,
    pub outcome: Outcome,
    pub bytes: usize,
    pub sha256: Option<String>,
}

/// One leg of an interaction's transfer history. Never holds the data itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TransferRecord {
    pub transfer_id: String,
    pub kind: TransferKind,
    pub from_agent_id: String,
    pub to: String,
    pub state: TransferPhase,
    pub created_at: Millis,
    pub outcomes: Vec<OutcomeRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentStateData {
    pub state: AgentStateName,
    pub not_ready_reason: Option<String>,
    /// True while an offer rings for the agent.
    #[serde(default)]
    pub reserved_for_incoming_interaction: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamMember {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub extension: Option<String>,
    /// The agent's state, or `offline`.
    pub state: String,
    /// The team this list was asked for.
    #[serde(default)]
    pub team_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Team {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub is_supervised: bool,
    #[serde(default)]
    pub users_count: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ServiceInfo {
    pub id: String,
    pub name: String,
    pub channels: Vec<Channel>,
    #[serde(default)]
    pub use_dispositions: bool,
    #[serde(default)]
    pub require_disposition: bool,
}

/// Answer of `getInteractionsState`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InteractionsState {
    pub active_interaction_id: Option<String>,
    pub interactions: Vec<InteractionData>,
}

/// Payload of the customer socket's `state` event (docs/protocol.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerState {
    /// `queued`, `ringing`, `connected`, `hold`, `transferring` or `completed`.
    pub state: String,
    pub service_name: String,
    pub agent_names: Vec<String>,
    pub reason: Option<String>,
    /// While queued: 1 for the next customer to be offered.
    pub position: Option<u32>,
    /// While queued: the recent average wait of this service's customers, when known.
    pub expected_wait_ms: Option<u64>,
    /// While queued: whether any agent of the service is logged in and ready.
    pub agents_available: bool,
}
