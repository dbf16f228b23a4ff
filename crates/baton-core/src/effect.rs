//! What the shell must do after a command. Effects run only after the change set is committed.

use baton_protocol::{ApiError, ServerFrame};

use crate::entity::{InteractionId, SessionId};

/// A WebSocket connection, numbered by the server.
pub type ConnId = u64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    Agent(ConnId),
    /// Every customer socket of the interaction.
    Customer(InteractionId),
}

#[derive(Debug, Clone)]
pub enum Effect {
    Send {
        to: Recipient,
        frame: ServerFrame,
    },
    /// Close an agent connection after its pending frames are sent.
    Close {
        conn: ConnId,
    },
    /// Close the customer's sockets: the interaction is over for them.
    CloseCustomer {
        interaction: InteractionId,
    },
    /// The session's token stops being valid (logout, or replaced by another login).
    RevokeSession {
        session: SessionId,
    },
}

/// The answer to one command.
#[derive(Debug, Default)]
pub struct Output {
    /// For requests: the method's result. For other commands: whether it was accepted.
    pub reply: Option<Result<serde_json::Value, ApiError>>,
    pub effects: Vec<Effect>,
}
