//! Baton's server: the async shell around `baton-core`.
//!
//! # Layout
//! - [`settings`]: listen address, data directory, admin token, limits; the `baton.toml` file.
//! - [`engine`]: the single task that owns the [`baton_core::Core`]. It takes commands in
//!   batches, applies them, commits the batch's changes in one transaction (group commit),
//!   and only then sends the events: no client ever sees a state that is not durable.
//! - [`hub`]: the live sockets, each with a bounded send queue; a slow consumer is cut off.
//! - [`auth`]: token hashing, password hashing off the async threads, login rate limits.
//! - [`http`]: the axum router: REST (`admin`, `sessions`, `ingress`), the agent and
//!   customer WebSockets, ops endpoints, and the embedded web pages.
//! - [`metrics`]: counters exposed in Prometheus text at `/metrics`.
//! - [`app`]: [`Application`], which wires it all and runs until a shutdown future resolves.

pub mod app;
pub mod auth;
pub mod engine;
pub mod error;
pub mod http;
pub mod hub;
pub mod metrics;
pub mod settings;

pub use app::Application;
pub use settings::{ConfigFile, Limits, Settings};
