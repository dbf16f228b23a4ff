//! Baton's domain as a pure state machine (sans-I/O).
//!
//! The server feeds [`Command`]s into [`Core::apply`] together with the current time and
//! carries out the [`Effect`]s it returns; nothing in this crate touches a socket, a disk
//! or a clock. That makes every rule — routing, ring time-outs, transfer legs and their
//! data — testable deterministically, and property-tested in `tests/`.
//!
//! # Layout
//! - [`entity`]: tenants, services, agents, interactions, parties and transfer legs, as stored.
//! - [`command`]: everything that can happen: agent requests, customer actions, admin changes, time.
//! - [`effect`]: what the shell must do afterwards: send frames, close connections, revoke sessions.
//! - [`engine`]: [`Core`] itself: `apply`, the one door, and restore after restart; one module
//!   per concept inside it (requests, sessions, interactions, admin, timers, queries, the
//!   change set to persist, the views flushed after each apply).
//! - `routing`: queues and offers: the least-loaded, then longest-idle agent with capacity.
//! - `queues`: the routing index: per service queues and eligible agents, kept per command.
//! - `names`: agents by username and extension per tenant.
//! - `handoff`: blind, consult, transfer, conference, merge, chat invite, queue; transfer data.
//! - [`directory`]: not-ready reasons, DIDs, teams, dispositions, integration config; selections.
//! - `desk`: dispositions, notes, callback windows, CRM records and screens on an interaction.
//! - `outbound`: interactions agents start (`startCall`, `startChat`).
//! - `attachment`: the chat message that names an uploaded file; who may download it.
//! - `customer`: what the customer is told: queue position, expected wait, typing.
//! - `supervisor`: the supervisor console's picture of a tenant.
//! - [`stats`]: the supervisor's charts: an hour of per-minute hand-off outcomes and queue waits.
//! - `view`: how an interaction looks to one agent, to the customer, to an admin.
//! - `ops_log`: structured log lines for operators (never content).
//! - [`limits`]: caps on message, note and variable sizes per request and per interaction;
//!   default queue limits of a service.
//! - [`invariants`]: checks the property tests (and debug builds) run after every command.

mod attachment;
pub mod call_media;
pub mod command;
mod customer;
mod desk;
pub mod directory;
pub mod effect;
pub mod engine;
pub mod entity;
mod handoff;
pub mod invariants;
pub mod limits;
mod names;
mod ops_log;
mod outbound;
mod queues;
mod routing;
pub mod stats;
mod supervisor;
mod view;

pub use call_media::{CallMediaChange, Digit};
pub use command::{AdminCommand, Command};
pub use directory::{DirectoryCommand, DirectoryRead};
pub use effect::{ConnId, Effect, Output, Recipient};
pub use engine::{Changes, Core, CoreConfig, Snapshot};
pub use entity::*;
pub use handoff::REPLY_TOO_LARGE;
pub use limits::InteractionLimits;
pub use view::transfer_record;
