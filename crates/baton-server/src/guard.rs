//! What keeps anonymous customers from exhausting the server (SECURITY.md, "Customers"):
//! short-lived signed chat grants instead of the ingress token in a public URL, rate limits
//! on new interactions per credential and per source address, and the server key they and
//! the transfer-data digest are derived from.
//!
//! The customer socket caps live in [`crate::hub`]; the per-interaction content caps and the
//! per-service queue limits in [`baton_core::limits`].

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use baton_core::TenantId;

/// Limits on the public (customer-facing) side. `[public_limits]` in `baton.toml`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct PublicLimits {
    /// Interactions one ingress token (or the grants of one tenant) may create per minute;
    /// more get HTTP 429 `rate_limited`. A ceiling on what a leaked credential can do.
    pub interactions_per_minute_per_token: u32,
    /// Interactions one source address (an IPv6 /64) may create per minute; more get 429.
    pub interactions_per_minute_per_address: u32,
    /// Open customer sockets per customer token (one interaction); more get HTTP 429.
    pub sockets_per_customer: usize,
    /// Open customer sockets per node, a pool apart from the agents' `max_connections`;
    /// more get HTTP 503. Customers can never take the agents' places.
    pub max_customer_connections: usize,
    /// Longest lifetime of a chat grant (`POST /api/v1/chat-grants`), in seconds.
    pub chat_grant_max_ttl_secs: u64,
    /// Keys (tokens, addresses) each rate limiter remembers; past this, new keys are
    /// refused until a minute passes, so a flood of addresses cannot grow memory.
    pub max_limiter_keys: usize,
}

impl Default for PublicLimits {
    fn default() -> Self {
        Self {
            interactions_per_minute_per_token: 600,
            interactions_per_minute_per_address: 20,
            sockets_per_customer: 4,
            max_customer_connections: 10_000,
            chat_grant_max_ttl_secs: 24 * 3600,
            max_limiter_keys: 100_000,
        }
    }
}

/// A fixed one-minute window per key, with a bounded number of keys.
pub struct RateLimiter {
    per_minute: u32,
    max_keys: usize,
    window: Duration,
    state: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(per_minute: u32, max_keys: usize) -> Self {
        Self {
            per_minute,
            max_keys: max_keys.max(1),
            window: Duration::from_secs(60),
            state: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one event for `key`; false when the key is over its limit (or the limiter is
    /// full of keys that are all still in their window).
    pub fn allow(&self, key: &str) -> bool {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if !state.contains_key(key) && state.len() >= self.max_keys {
            state.retain(|_, (start, _)| now.duration_since(*start) < self.window);
            if state.len() >= self.max_keys {
                return false;
            }
        }
        let entry = state.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.per_minute {
            return false;
        }
        entry.1 += 1;
        true
    }

    /// Keys held now (for tests of the memory bound).
    pub fn keys(&self) -> usize {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// The rate-limit key of a source address: the address, or its /64 for IPv6 (one host
/// usually holds a whole /64).
pub fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// The server's secret: 32 random bytes from `server_key_file` (or `BATON_SERVER_KEY`), else
/// `<data dir>/server.key`, created on first start. Every key the server uses for a MAC is
/// derived from it for one purpose, so one leaked derived key reveals nothing of the others.
#[derive(Clone)]
pub struct ServerKey([u8; 32]);

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKey(****)")
    }
}

/// What the transfer-data digest key is derived for (see [`ServerKey::derive`]).
pub const DIGEST_PURPOSE: &str = "baton transfer digest v1";

/// Why the server key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read the server key {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot create the server key {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the server key {0} is not 64 hex characters (make one with: head -c32 /dev/urandom | xxd -p -c64)"
    )]
    Malformed(String),
}

impl ServerKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Parses 64 hex characters (surrounding whitespace ignored).
    pub fn from_hex(text: &str, what: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(KeyError::Malformed(what.to_owned()));
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[i * 2..i * 2 + 2], 16)
                .map_err(|_| KeyError::Malformed(what.to_owned()))?;
        }
        Ok(Self(out))
    }

    /// Reads `path`, or creates it with a fresh random key (mode 0600) when it is missing.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        let shown = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_hex(&text, &shown),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                write_private(path, &hex).map_err(|source| KeyError::Write {
                    path: shown,
                    source,
                })?;
                Ok(Self(bytes))
            }
            Err(source) => Err(KeyError::Read {
                path: shown,
                source,
            }),
        }
    }

    /// The key for one purpose: HMAC-SHA256(server key, purpose).
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("any key length");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// What a chat grant allows: new interactions for `tenant` (in `service` only, when set)
/// until `expires_at` (ms since the epoch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    #[serde(rename = "t")]
    pub tenant: TenantId,
    #[serde(rename = "s")]
    pub service: Option<String>,
    #[serde(rename = "e")]
    pub expires_at: i64,
}

/// Why a grant was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    #[error("this chat link is not valid")]
    Invalid,
    #[error("this chat link has expired; open the chat again from the site")]
    Expired,
}

/// Signs and checks chat grants: `g1.<base64url(JSON)>.<base64url(HMAC-SHA256)>`.
pub struct Grants {
    key: [u8; 32],
}

/// Every grant starts with this, so a bearer value is told apart from an ingress token.
pub const GRANT_PREFIX: &str = "g1.";

impl Grants {
    pub fn new(server: &ServerKey) -> Self {
        Self {
            key: server.derive("baton chat grant v1"),
        }
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length")
    }

    pub fn sign(&self, grant: &Grant) -> String {
        let body = B64.encode(serde_json::to_vec(grant).expect("json"));
        let mut mac = self.mac();
        mac.update(body.as_bytes());
        let tag = B64.encode(mac.finalize().into_bytes());
        format!("{GRANT_PREFIX}{body}.{tag}")
    }

    /// The grant `text` carries, if this server signed it and it has not expired at `now`.
    pub fn verify(&self, text: &str, now: i64) -> Result<Grant, GrantError> {
        let rest = text.strip_prefix(GRANT_PREFIX).ok_or(GrantError::Invalid)?;
        let (body, tag) = rest.split_once('.').ok_or(GrantError::Invalid)?;
        let tag = B64.decode(tag).map_err(|_| GrantError::Invalid)?;
        let mut mac = self.mac();
        mac.update(body.as_bytes());
        mac.verify_slice(&tag).map_err(|_| GrantError::Invalid)?;
        let bytes = B64.decode(body).map_err(|_| GrantError::Invalid)?;
        let grant: Grant = serde_json::from_slice(&bytes).map_err(|_| GrantError::Invalid)?;
        if grant.expires_at <= now {
            return Err(GrantError::Expired);
        }
        Ok(grant)
    }
}

/// The public side's limiters and grant signer, shared by every handler.
pub struct Guard {
    pub limits: PublicLimits,
    pub grants: Grants,
    pub per_token: RateLimiter,
    pub per_address: RateLimiter,
}

impl Guard {
    pub fn new(limits: PublicLimits, key: &ServerKey) -> Self {
        Self {
            limits,
            grants: Grants::new(key),
            per_token: RateLimiter::new(
                limits.interactions_per_minute_per_token,
                limits.max_limiter_keys,
            ),
            per_address: RateLimiter::new(
                limits.interactions_per_minute_per_address,
                limits.max_limiter_keys,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ServerKey {
        ServerKey::from_bytes([7; 32])
    }

    #[test]
    fn a_grant_round_trips_and_any_change_breaks_it() {
        let grants = Grants::new(&key());
        let grant = Grant {
            tenant: TenantId("acme".into()),
            service: Some("Sales".into()),
            expires_at: 2_000,
        };
        let text = grants.sign(&grant);
        assert_eq!(grants.verify(&text, 1_000), Ok(grant.clone()));
        assert_eq!(grants.verify(&text, 2_000), Err(GrantError::Expired));
        // Another server's key, a changed body, a cut tag, garbage: all invalid.
        let other = Grants::new(&ServerKey::from_bytes([8; 32]));
        assert_eq!(other.verify(&text, 1_000), Err(GrantError::Invalid));
        let forged = Grant {
            tenant: TenantId("globex".into()),
            ..grant
        };
        let (_, tag) = text.rsplit_once('.').unwrap();
        let forged_body = B64.encode(serde_json::to_vec(&forged).unwrap());
        let forged = format!("{GRANT_PREFIX}{forged_body}.{tag}");
        assert_eq!(grants.verify(&forged, 1_000), Err(GrantError::Invalid));
        assert_eq!(
            grants.verify(&text[..text.len() - 2], 1_000),
            Err(GrantError::Invalid)
        );
        for junk in ["", "g1.", "g1..", "g1.a.b", "ingress-token"] {
            assert_eq!(
                grants.verify(junk, 1_000),
                Err(GrantError::Invalid),
                "{junk}"
            );
        }
    }

    #[test]
    fn derived_keys_differ_by_purpose() {
        let k = key();
        assert_ne!(k.derive("a"), k.derive("b"));
        assert_eq!(k.derive("a"), key().derive("a"));
    }

    #[test]
    fn the_key_file_is_created_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.key");
        let a = ServerKey::load_or_create(&path).unwrap();
        let b = ServerKey::load_or_create(&path).unwrap();
        assert_eq!(a.0, b.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "short").unwrap();
        assert!(matches!(
            ServerKey::load_or_create(&path),
            Err(KeyError::Malformed(_))
        ));
    }

    #[test]
    fn limiter_counts_per_key_and_bounds_its_memory() {
        let limiter = RateLimiter::new(2, 3);
        assert!(limiter.allow("a"));
        assert!(limiter.allow("a"));
        assert!(!limiter.allow("a"));
        assert!(limiter.allow("b"));
        assert!(limiter.allow("c"));
        // Three keys in their window: a fourth is refused rather than remembered.
        assert!(!limiter.allow("d"));
        assert_eq!(limiter.keys(), 3);
    }

    #[test]
    fn ipv6_addresses_share_their_64() {
        let a: IpAddr = "2001:db8:1:2:3:4:5:6".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        let v4: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(address_key(v4), "10.0.0.1");
    }
}
