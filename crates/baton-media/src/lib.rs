//! Baton's media plane: a selective forwarding unit (SFU) for calls between browsers.
//!
//! Sans-I/O like `baton-core` (docs/decisions/0019-voice-through-an-sfu.md): the server owns
//! the UDP sockets and the clock and feeds [`Sfu`] datagrams and time; the SFU keeps one
//! str0m `Rtc` per party connection and forwards Opus frames between the parties of each
//! call as the call's state in the core says ([`plan`]). No transcoding, no mixing.
//!
//! - [`plan`]: who hears whom, from the call's state (connected, hold, consult, transfer,
//!   conference, mute). A pure function.
//! - [`sfu`]: the peer connections, their audio slots, the hold music's pacing.
//! - [`ogg`]: the Opus packets of the hold music file.
//! - [`ogg_writer`]: call recordings as Ogg Opus files, one per party.

pub mod ogg;
pub mod ogg_writer;
pub mod plan;
pub mod sfu;

/// The WebRTC library, for callers that play a browser (tests).
pub use str0m;

pub use plan::{AgentParty, AgentRole, AgentState, CallState, Party, Plan, Source};
pub use sfu::{MediaEvent, PeerKey, Recording, Sfu, SfuConfig, Transmit};

/// The hold music that ships with Baton: a four-second synthesised figure (660–990 Hz sine
/// notes), Ogg Opus, 20 ms packets. Made for Baton; no rights attached.
pub const HOLD_MUSIC: &[u8] = include_bytes!("../assets/hold-music.opus");

/// Why the media plane refused something. Each maps to one protocol error code.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MediaError {
    #[error("this party is not on a call with audio")]
    NotInCall,
    #[error("no peer connection for this party; send an offer first")]
    NoPeer,
    #[error("bad SDP: {0}")]
    BadSdp(String),
    #[error("bad ICE candidate: {0}")]
    BadCandidate(String),
    #[error("at most {0} peer connections")]
    TooManyPeers(usize),
    #[error("no host candidate address configured")]
    NoCandidates,
    #[error("this call is not being recorded")]
    NotRecording,
    #[error("bad hold music file: {0}")]
    BadHoldMusic(String),
}
