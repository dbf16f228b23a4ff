//! Everything that can happen to the domain. Ids of new things are chosen by the shell.

use baton_protocol::{Channel, Customer, Method};
use serde::{Deserialize, Serialize};

use crate::entity::*;

/// Serialisable: in a cluster, nodes forward commands to the engine over NATS.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Command {
    /// A WebSocket said hello with a valid token.
    Connect {
        agent: AgentId,
        session: SessionId,
        conn: u64,
        integration_key: Option<String>,
    },
    /// A WebSocket closed.
    Disconnect {
        conn: u64,
    },
    /// A request on an agent connection.
    Request {
        conn: u64,
        method: Method,
    },
    /// `{"reply":rid,…}` on an agent connection. `value` is raw JSON text; `None` is `undefined`.
    Reply {
        conn: u64,
        rid: String,
        value: Option<String>,
        error: Option<String>,
    },
    /// Ingress created an interaction.
    NewInteraction {
        id: InteractionId,
        tenant: TenantId,
        channel: Channel,
        service: String,
        customer: Customer,
        attached_data: serde_json::Map<String, serde_json::Value>,
        customer_token_hash: String,
    },
    CustomerMessage {
        interaction: InteractionId,
        text: String,
    },
    CustomerHangup {
        interaction: InteractionId,
    },
    /// A file was stored for this chat (decision 0014): post the message that names it.
    /// `agent` is the uploading agent, `None` for the customer.
    PostAttachment {
        interaction: InteractionId,
        agent: Option<AgentId>,
        attachment: baton_protocol::AttachmentRef,
    },
    /// A supervisor sets an agent of their tenant `ready` or `not_ready` (supervisor console).
    SupervisorSetAgentState {
        supervisor: AgentId,
        username: String,
        state: String,
        reason: Option<String>,
    },
    /// The customer started or stopped typing; nothing is stored.
    CustomerTyping {
        interaction: InteractionId,
        typing: bool,
    },
    /// The media plane changed a call's media state; the interaction carries it (see
    /// [`crate::call_media`]).
    CallMedia {
        interaction: InteractionId,
        change: crate::call_media::CallMediaChange,
    },
    /// Configuration changes from the admin API or the config file.
    Admin(AdminCommand),
    /// Time passed: fire every timer that is due.
    Tick,
    /// A cluster node died: every connection it held is gone. Connection ids carry their
    /// node in the top 16 bits (see `node_of`).
    NodeDown {
        node: u16,
    },
    /// A socket that stayed open announces itself to a new cluster engine. As `Connect`, but
    /// the page already saw its login and interactions: no `ON_LOGIN`, and every interaction
    /// comes again marked `{"replay": true}` (docs/cluster.md).
    Resync {
        agent: AgentId,
        session: SessionId,
        conn: u64,
        integration_key: Option<String>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum AdminCommand {
    /// Grants or withdraws the supervisor role of an agent (see `supervisor`).
    SetSupervisor {
        tenant: TenantId,
        username: String,
        supervisor: bool,
    },
    CreateTenant {
        id: TenantId,
        settings: TenantSettings,
    },
    CreateService {
        id: ServiceId,
        tenant: TenantId,
        name: String,
        channels: Vec<Channel>,
        ring_timeout_ms: u64,
    },
    CreateAgent {
        id: AgentId,
        tenant: TenantId,
        username: String,
        display_name: String,
        extension: Option<String>,
        services: Vec<String>,
        max_chats: u32,
    },
    CreateIntegration {
        tenant: TenantId,
        key: String,
        name: String,
        allowed_origins: Vec<String>,
    },
    /// Replaces an integration's allowed origins (the demo's port may change between runs).
    SetIntegrationOrigins {
        tenant: TenantId,
        key: String,
        allowed_origins: Vec<String>,
    },
    /// Sets a service's queue limits (`None` = the server's default, 0 = no limit).
    SetQueueLimits {
        tenant: TenantId,
        service: String,
        max_queue_length: Option<u32>,
        max_queue_wait_ms: Option<u64>,
    },
    /// Changes an agent's profile; `None` leaves a field as it is. (A new password travels
    /// beside the command, as a credential the shell commits with it.)
    UpdateAgent {
        tenant: TenantId,
        agent: AgentId,
        display_name: Option<String>,
        services: Option<Vec<String>>,
    },
    /// Disables an agent (its socket is told 107 `user_disabled_or_deleted` and closed, and
    /// it is logged out) or enables it again.
    SetAgentDisabled {
        tenant: TenantId,
        agent: AgentId,
        disabled: bool,
    },
    /// Deletes an agent: logged out like a disabled one, then gone. Its history stays.
    DeleteAgent { tenant: TenantId, agent: AgentId },
    /// Ends a session: if its agent is logged in with it, the socket is told 111
    /// `invalid_token` and the agent is logged out.
    EndSession {
        tenant: TenantId,
        session: SessionId,
    },
    UpdateSettings {
        tenant: TenantId,
        transfer_data_timeout_ms: Option<u64>,
        transfer_data_max_bytes: Option<usize>,
        retention_secs: Option<u64>,
        /// What interactions keep of DTMF (`None` leaves it as it is).
        dtmf_log: Option<DtmfLog>,
        /// The tenant's recording policy (`None` leaves it as it is).
        record_calls: Option<bool>,
    },
    /// Sets a service's recording policy (`None` = the tenant's).
    SetServiceRecording {
        tenant: TenantId,
        service: String,
        record_calls: Option<bool>,
    },
    /// Not-ready reasons, DIDs, teams, dispositions, integration config.
    Directory(crate::directory::DirectoryCommand),
}

/// The node a connection id belongs to: its top 16 bits.
pub fn node_of(conn: u64) -> u16 {
    (conn >> 48) as u16
}
