//! Baton's server: the async shell around `baton-core`.
//!
//! # Layout
//! - [`settings`]: listen address, data directory, admin token, limits; the `baton.toml` file.
//! - [`datadir`]: the data directory's lock: one process owns it.
//! - [`engine`]: the single task that owns the [`baton_core::Core`]. It takes commands in
//!   batches, applies them, commits the batch's changes in one transaction (group commit),
//!   and only then sends the events: no client ever sees a state that is not durable.
//! - [`hub`]: the live sockets, each with a bounded send queue; a slow consumer is cut off.
//! - [`guard`]: the public side's limits: chat grants, rate limits on new interactions, the
//!   server key.
//! - [`auth`]: token and password hashing.
//! - [`login_guard`]: password threads behind a bounded queue; login rate limits.
//! - [`http`]: the axum router: REST (`admin`, `sessions`, `ingress`), the agent and
//!   customer WebSockets, ops endpoints, and the embedded web pages.
//! - [`query`]: reads of the engine's state, as data (so they can cross nodes).
//! - [`cluster`]: cluster mode: the engine lease in PostgreSQL, NATS between nodes.
//! - [`cluster_auth`]: signatures on what nodes send the engine.
//! - [`metrics`]: counters exposed in Prometheus text at `/metrics`.
//! - [`ice`]: the `voiceConfig` pages get: STUN/TURN servers (TURN credentials minted from
//!   coturn's shared secret) and the call-quality thresholds.
//! - [`idle`]: closes HTTP connections that go `http_idle_timeout_ms` without being served.
//! - [`tls`]: HTTPS and WSS on the listen address; PEM loading; the demo's self-signed certificate.
//! - [`app`]: [`Application`], which wires it all and runs until a shutdown future resolves.

pub mod app;
pub mod auth;
pub mod cluster;
pub mod cluster_auth;
pub mod datadir;
pub mod engine;
pub mod error;
pub mod guard;
pub mod http;
pub mod hub;
pub mod ice;
pub mod idle;
pub mod login_guard;
pub mod media;
pub mod metrics;
pub mod query;
pub mod recordings;
pub mod settings;
pub mod shards;
pub mod tls;

pub use app::Application;
pub use settings::{ConfigFile, Limits, Settings};
