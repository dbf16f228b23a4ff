//! Wire types of Baton protocol v1, shared by the server and the Rust client.
//!
//! # Layout
//! - [`error`]: the AdApi `ResultErrorCodes` and [`ApiError`], the one error shape on the wire.
//! - [`frame`]: client frames (hello, request, reply) with a cheap parse that never panics,
//!   and server frames (response, event).
//! - [`method`]: a request's `op` + positional `args` turned into a typed [`Method`].
//! - [`model`]: payloads — `InteractionData`, transfer meta and status, agent states.
//! - [`peek`]: the `id` or `reply` of a frame too large to parse, from a bounded prefix.
//! - [`transfer_data`]: [`TransferData`], JSON that is known to be valid and under a size limit.
//!
//! Nothing here does I/O; everything is `serde` over `serde_json`.

pub mod error;
pub mod frame;
pub mod method;
pub mod model;
pub mod peek;
pub mod transfer_data;

pub use error::{ApiError, ErrorCode};
pub use frame::{ClientFrame, HelloArgs, OperationResult, ServerFrame};
pub use method::Method;
pub use model::*;
pub use transfer_data::{TransferData, TransferDataError};

/// The protocol version spoken by this crate.
pub const PROTOCOL_VERSION: u32 = 1;

/// Event names sent to agent sessions.
pub mod events {
    pub const ON_LOGIN: &str = "ON_LOGIN";
    pub const ON_LOGOUT: &str = "ON_LOGOUT";
    pub const ON_AGENT_STATE_CHANGE: &str = "ON_AGENT_STATE_CHANGE";
    pub const ON_NEW_INTERACTION: &str = "ON_NEW_INTERACTION";
    pub const ON_INTERACTION_STATE_CHANGE: &str = "ON_INTERACTION_STATE_CHANGE";
    pub const ON_INTERACTION_REMOVED: &str = "ON_INTERACTION_REMOVED";
    pub const ON_ACTIVE_INTERACTION_SWITCHED: &str = "ON_ACTIVE_INTERACTION_SWITCHED";
    pub const ON_CHAT_MESSAGE: &str = "ON_CHAT_MESSAGE";
    pub const ON_REQUEST_TRANSFER_DATA: &str = "ON_REQUEST_TRANSFER_DATA";
    pub const ON_LOAD_TRANSFER_DATA: &str = "ON_LOAD_TRANSFER_DATA";
    pub const ON_TRANSFER_STATUS: &str = "ON_TRANSFER_STATUS";
    pub const ON_SERVER_ERROR: &str = "ON_SERVER_ERROR";
    pub const ON_SHOW_SCREEN: &str = "ON_SHOW_SCREEN";
    /// Baton addition: `[interactionId, {partyId, name, typing}]`, `partyId` `customer`
    /// for the customer.
    pub const ON_TYPING: &str = "ON_TYPING";
    /// `[interactionId, {partyId, digit}]`: a digit keyed by a party this agent hears on
    /// the call. Baton addition: a browser cannot surface received DTMF.
    pub const ON_DTMF: &str = "ON_DTMF";
}
