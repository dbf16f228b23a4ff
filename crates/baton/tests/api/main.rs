//! Integration tests: every test starts a real server on a random port and talks to it over
//! real HTTP and WebSockets. One binary, so the 2-core CI links once.

mod helpers;

mod attachments;
mod bench;
mod call_media;
mod cluster;
mod cluster_security;
mod cluster_shards;
mod core_flow;
mod crash_loop;
mod customer_desk;
mod desk_features;
mod hardening;
mod limits;
mod offers;
mod ops_log;
mod process;
mod protocol_only;
mod public_surface;
mod recording;
mod restart;
mod security;
mod supervisor;
mod supervisor_stats;
mod tls;
mod transcripts;
mod transfers;
mod voice;
