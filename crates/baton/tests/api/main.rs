//! Integration tests: every test starts a real server on a random port and talks to it over
//! real HTTP and WebSockets. One binary, so the 2-core CI links once.

mod helpers;

mod cluster;
mod core_flow;
mod crash_loop;
mod hardening;
mod limits;
mod process;
mod protocol_only;
mod restart;
mod security;
mod tls;
mod transfers;
