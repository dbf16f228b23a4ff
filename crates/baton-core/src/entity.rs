//! The domain's records. They are what the store persists (as JSON) and what `restore` reads.

use baton_protocol::{
    AssociatedObjects, Channel, ChatMessage, Customer, Direction, Millis, Note, Outcome, PartyRole,
    RescheduleData, TransferData, TransferKind, TransferPhase,
};
use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($($(#[$m:meta])* $name:ident),+ $(,)?) => {$(
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
    )+};
}

id_type!(
    /// A tenant's name, which is also its id.
    TenantId,
    AgentId,
    ServiceId,
    InteractionId,
    /// A transfer leg; also the `rid` of its `ON_REQUEST_TRANSFER_DATA`.
    TransferId,
    /// A login session (one bearer token). It outlives WebSocket connections and restarts.
    SessionId,
);

/// Per-tenant transfer-data settings (DESIGN.md rules 3, 6, 16).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantSettings {
    pub transfer_data_timeout_ms: u64,
    pub transfer_data_max_bytes: usize,
    pub retention_secs: u64,
    /// What the interaction keeps of DTMF keyed on a call (docs/voice.md, "DTMF").
    #[serde(default)]
    pub dtmf_log: DtmfLog,
    /// The tenant's calls are recorded from their start (`false`: not, unless an agent
    /// starts it); `None` = the server's `[media] record_calls`. A service may override it.
    #[serde(default)]
    pub record_calls: Option<bool>,
}

/// What an interaction's DTMF log keeps (decision 0023): callers key in PINs and card
/// numbers, so by default only who keyed a digit and when.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DtmfLog {
    /// Who and when, not the digit.
    #[default]
    Count,
    /// The digits too, sealed with the data key when the server has one.
    Digits,
}

impl TenantSettings {
    pub const TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 100..=30_000;
    pub const MAX_BYTES_LIMIT: usize = 1024 * 1024;
}

impl Default for TenantSettings {
    fn default() -> Self {
        Self {
            transfer_data_timeout_ms: 5000,
            transfer_data_max_bytes: 65536,
            retention_secs: 86400,
            dtmf_log: DtmfLog::Count,
            record_calls: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    pub settings: TenantSettings,
    /// Not-ready reasons, DID numbers and teams (see [`crate::directory`]).
    #[serde(default)]
    pub desk: crate::directory::DeskConfig,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub id: ServiceId,
    pub tenant: TenantId,
    pub name: String,
    pub channels: Vec<Channel>,
    pub ring_timeout_ms: u64,
    #[serde(default)]
    pub dispositions: crate::directory::DispositionConfig,
    /// Waiting interactions this service takes; `None` = the server's default
    /// ([`crate::InteractionLimits::default_max_queue_length`]), 0 = no limit.
    #[serde(default)]
    pub max_queue_length: Option<u32>,
    /// How long a customer may wait unanswered; `None` = the server's default, 0 = no limit.
    #[serde(default)]
    pub max_queue_wait_ms: Option<u64>,
    /// The service's calls are recorded from their start, or not; `None` = the tenant's
    /// policy (docs/voice.md, "Recording").
    #[serde(default)]
    pub record_calls: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Integration {
    pub tenant: TenantId,
    pub key: String,
    pub name: String,
    pub allowed_origins: Vec<String>,
    /// Answered by `getConfig` to hosts of this integration.
    #[serde(default)]
    pub config: serde_json::Map<String, serde_json::Value>,
}

/// The state an agent chose. `ringing` and `busy` are derived from their interactions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ChosenState {
    Ready,
    NotReady { reason: Option<String> },
    AfterCallWork,
}

/// An agent's login: present from the first hello until logout or the disconnect grace ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Login {
    pub session: SessionId,
    pub integration_key: Option<String>,
    /// The live WebSocket, if any. Never persisted: after a restart nobody is connected.
    #[serde(skip)]
    pub conn: Option<u64>,
    /// When the last connection dropped; the grace timer runs from here.
    pub disconnected_since: Option<Millis>,
    /// `setDialCandidates`: kept for the session, shown by the widget as dial suggestions.
    #[serde(default)]
    pub dial_candidates: Vec<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    pub id: AgentId,
    pub tenant: TenantId,
    pub username: String,
    pub display_name: String,
    pub extension: Option<String>,
    pub services: Vec<ServiceId>,
    pub max_chats: u32,
    pub chosen: ChosenState,
    pub login: Option<Login>,
    /// Since when the agent has been free; the longest-idle agent is offered first.
    pub idle_since: Millis,
    pub active_interaction: Option<InteractionId>,
    /// `setService`: the service outbound interactions start in.
    #[serde(default)]
    pub selected_service: Option<ServiceId>,
    /// `setDIDNumber`: the id of the DID outbound calls show.
    #[serde(default)]
    pub selected_did: Option<String>,
    /// May use the supervisor console (queues, agents, hand-off chains of the tenant).
    #[serde(default)]
    pub supervisor: bool,
    /// Disabled by an admin: logged out, and refused at hello until enabled again.
    #[serde(default)]
    pub disabled: bool,
}

impl Agent {
    /// Online now, with a live connection.
    pub fn is_connected(&self) -> bool {
        self.login.as_ref().is_some_and(|l| l.conn.is_some())
    }

    pub fn is_logged_in(&self) -> bool {
        self.login.is_some()
    }

    pub fn conn(&self) -> Option<u64> {
        self.login.as_ref().and_then(|l| l.conn)
    }

    pub fn integration_key(&self) -> Option<&str> {
        self.login
            .as_ref()
            .and_then(|l| l.integration_key.as_deref())
    }
}

/// One agent's part in an interaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentParty {
    pub agent: AgentId,
    pub role: PartyRole,
    pub state: PartyState,
    pub joined_at: Millis,
    /// The transfer leg that brought this agent in; its data is theirs to receive.
    pub via_leg: Option<TransferId>,
    /// Why it rings when this is not a first offer (`transfer_rejected`, …).
    pub reason: Option<String>,
    /// While ringing: when the offer expires. Re-armed from `now` after a restart.
    pub ring_expires_at: Option<Millis>,
    /// For an offer made by routing: the queue place to go back to if it fails.
    pub routed_from: Option<QueueEntry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyState {
    Ringing,
    Connected,
    Hold,
    WrapUp,
}

/// Where an interaction waits for an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueEntry {
    pub service: ServiceId,
    /// Queue order: earliest first.
    pub since: Millis,
    /// Breaks ties of `since` in arrival order (two customers in the same millisecond).
    #[serde(default)]
    pub seq: u64,
    /// A transfer-to-service leg whose data every offered agent gets (DESIGN.md rule 11).
    pub leg: Option<TransferId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    pub id: InteractionId,
    pub tenant: TenantId,
    pub channel: Channel,
    pub service: ServiceId,
    pub customer: Customer,
    pub attached_data: serde_json::Map<String, serde_json::Value>,
    /// Notes are edited in place (`updateNote`, `replaceNote`), so they stay in the record.
    pub notes: Vec<Note>,
    /// The chat transcript. Stored as rows of its own, one per message, never inside the
    /// record (decision 0016); records written before that carried it here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<ChatMessage>,
    pub created_at: Millis,
    pub completed_at: Option<Millis>,
    pub customer_connected: bool,
    pub customer_on_hold: bool,
    /// SHA-256 of the customer's bearer token.
    pub customer_token_hash: String,
    pub queue: Option<QueueEntry>,
    pub parties: Vec<AgentParty>,
    /// Agents who rejected the current routed offer round; skipped while others are free.
    pub skipped: Vec<AgentId>,
    /// Every leg, oldest first.
    pub legs: Vec<TransferId>,
    /// The leg being collected or offered; one hand-off at a time.
    pub pending_leg: Option<TransferId>,
    pub version: u64,
    #[serde(default)]
    pub direction: Direction,
    /// A call between two agents: no customer, no service queue, no hand-offs.
    #[serde(default)]
    pub internal: bool,
    /// `setDisposition`: the chosen disposition's id and name.
    #[serde(default)]
    pub disposition: Option<ChosenDisposition>,
    #[serde(default)]
    pub associated_objects: AssociatedObjects,
    #[serde(default)]
    pub active_screen: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    pub reschedule: Option<RescheduleData>,
    /// Calling and called numbers of an outbound or internal call (inbound ones are derived).
    #[serde(default)]
    pub ani: Option<String>,
    #[serde(default)]
    pub dnis: Option<String>,
    /// Agents who answered and have since left: they may still download the chat's
    /// attachments (decision 0014).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub past_parties: Vec<AgentId>,
    /// Agents whose microphone is muted on the call (`callMuted`), as the media plane
    /// reported (`Command::CallMedia`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub call_muted: Vec<AgentId>,
    /// The call is being recorded (`callRecording`), as the media plane reported.
    #[serde(default)]
    pub call_recording: bool,
    /// DTMF keyed on the call, oldest first, kept as the tenant's `dtmf_log` says.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dtmf: Vec<baton_protocol::DtmfRecord>,
}

/// A chat message as the store appends it: a row keyed by the interaction and the
/// message's place in the transcript, so posting costs one insert whatever the chat's length.
#[derive(Debug, Clone, PartialEq)]
pub struct AppendedMessage {
    pub interaction: InteractionId,
    /// Its index in the transcript, from 0.
    pub seq: u64,
    pub message: ChatMessage,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChosenDisposition {
    pub id: String,
    pub name: String,
}

impl Interaction {
    /// A new interaction whose customer is there and that nothing has happened to yet: no
    /// agent, no queue entry, no data. Whoever creates it queues it or adds its agent.
    pub(crate) fn new(
        id: InteractionId,
        tenant: TenantId,
        channel: Channel,
        service: ServiceId,
        customer: Customer,
        direction: Direction,
        now: Millis,
    ) -> Self {
        Self {
            id,
            tenant,
            channel,
            service,
            customer,
            attached_data: serde_json::Map::new(),
            notes: Vec::new(),
            messages: Vec::new(),
            created_at: now,
            completed_at: None,
            customer_connected: true,
            customer_on_hold: false,
            customer_token_hash: String::new(),
            queue: None,
            parties: Vec::new(),
            skipped: Vec::new(),
            legs: Vec::new(),
            pending_leg: None,
            version: 0,
            direction,
            internal: false,
            disposition: None,
            associated_objects: AssociatedObjects::default(),
            active_screen: None,
            reschedule: None,
            ani: None,
            dnis: None,
            past_parties: Vec::new(),
            call_muted: Vec::new(),
            call_recording: false,
            dtmf: Vec::new(),
        }
    }

    pub fn party(&self, agent: &AgentId) -> Option<&AgentParty> {
        self.parties.iter().find(|p| &p.agent == agent)
    }

    pub fn party_mut(&mut self, agent: &AgentId) -> Option<&mut AgentParty> {
        self.parties.iter_mut().find(|p| &p.agent == agent)
    }

    /// Where the interaction is in its life; each live interaction is in exactly one.
    pub fn status(&self) -> InteractionStatus {
        if self.completed_at.is_some() {
            InteractionStatus::Completed
        } else if self.queue.is_some() {
            InteractionStatus::Queued
        } else if self
            .parties
            .iter()
            .any(|p| matches!(p.state, PartyState::Connected | PartyState::Hold))
        {
            InteractionStatus::Connected
        } else if self.parties.iter().any(|p| p.state == PartyState::Ringing) {
            InteractionStatus::Offered
        } else {
            InteractionStatus::WrapUp
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InteractionStatus {
    Queued,
    Offered,
    Connected,
    WrapUp,
    Completed,
}

impl InteractionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Offered => "offered",
            Self::Connected => "connected",
            Self::WrapUp => "wrap_up",
            Self::Completed => "completed",
        }
    }
}

/// Where a leg sends the interaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegTarget {
    Agent(AgentId),
    Service(ServiceId),
}

/// One receiver's copy of a leg's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub agent: AgentId,
    pub outcome: Outcome,
}

/// One hand-off: who gave the interaction to whom, and the transfer data it carried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leg {
    pub id: TransferId,
    pub interaction: InteractionId,
    pub tenant: TenantId,
    pub kind: TransferKind,
    pub from_agent: AgentId,
    pub from_name: String,
    pub target: LegTarget,
    /// The target as the sender named it, for status and history.
    pub target_label: String,
    pub phase: TransferPhase,
    pub reason: Option<String>,
    pub created_at: Millis,
    /// While collecting: the deadline for the sender's handlers.
    pub collect_deadline: Option<Millis>,
    /// The sender's integration: only receivers with the same key get the data.
    pub integration_key: Option<String>,
    /// How collection ended (`provided`, `none`, `timeout`, …); `None` while collecting.
    pub collected: Option<Outcome>,
    pub bytes: usize,
    pub sha256: Option<String>,
    pub receipts: Vec<Receipt>,
    /// The content. Stored apart from the leg so retention can delete it and keep history.
    #[serde(skip)]
    pub data: Option<TransferData>,
}

impl Leg {
    /// The outcome reported for the sender's integration: the furthest the data got.
    pub fn outcome(&self) -> Option<Outcome> {
        let collected = self.collected?;
        if collected != Outcome::Provided {
            return Some(collected);
        }
        let best = self
            .receipts
            .iter()
            .map(|r| r.outcome)
            .max_by_key(|o| match o {
                Outcome::Acknowledged => 3,
                Outcome::Delivered => 2,
                Outcome::NoConsumer => 1,
                _ => 0,
            });
        Some(best.unwrap_or(Outcome::Provided))
    }
}
