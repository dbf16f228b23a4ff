//! Only nodes of the cluster may command the engine or speak for it: every message a node
//! publishes carries an HMAC-SHA256 of its body under a secret the nodes read from the
//! cluster's PostgreSQL (`cluster_secrets`). Another NATS client — which NATS itself may let
//! publish anywhere — cannot forge one; receivers drop unsigned messages and count them
//! (`baton_rejected_cluster_messages_total`). Signing does not hide the content or stop
//! replays: NATS accounts do that (docs/cluster.md).
//!
//! Wire form: 64 lower-case hex digits of the MAC, then the JSON body.

use hmac::{Hmac, Mac};
use sha2::Sha256;

const MAC_HEX: usize = 64;

pub struct Signer {
    key: [u8; 32],
}

impl Signer {
    /// From the shared secret's 64 hex digits; the MAC key is derived from it.
    pub fn from_hex(secret: &str) -> Option<Self> {
        let key = crate::guard::ServerKey::from_hex(secret, "cluster secret").ok()?;
        Some(Self {
            key: key.derive("baton engine commands v1"),
        })
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length")
    }

    /// `body` with its MAC in front.
    pub fn seal(&self, body: &[u8]) -> Vec<u8> {
        let mut mac = self.mac();
        mac.update(body);
        let tag = mac.finalize().into_bytes();
        let mut out = Vec::with_capacity(MAC_HEX + body.len());
        for b in tag {
            out.extend_from_slice(format!("{b:02x}").as_bytes());
        }
        out.extend_from_slice(body);
        out
    }

    /// The body of a sealed message, if its MAC is right (checked in constant time).
    pub fn open<'a>(&self, sealed: &'a [u8]) -> Option<&'a [u8]> {
        if sealed.len() < MAC_HEX {
            return None;
        }
        let (hex, body) = sealed.split_at(MAC_HEX);
        let mut tag = [0u8; 32];
        for (i, byte) in tag.iter_mut().enumerate() {
            let pair = std::str::from_utf8(&hex[i * 2..i * 2 + 2]).ok()?;
            *byte = u8::from_str_radix(pair, 16).ok()?;
        }
        let mut mac = self.mac();
        mac.update(body);
        mac.verify_slice(&tag).ok()?;
        Some(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0101010101010101010101010101010101010101010101010101010101010101";
    const B: &str = "0202020202020202020202020202020202020202020202020202020202020202";

    #[test]
    fn only_the_same_secret_opens_a_sealed_message() {
        let a = Signer::from_hex(A).unwrap();
        let sealed = a.seal(br#"{"Query":"Ping"}"#);
        assert_eq!(a.open(&sealed), Some(&br#"{"Query":"Ping"}"#[..]));
        assert_eq!(Signer::from_hex(B).unwrap().open(&sealed), None);
        assert_eq!(a.open(br#"{"Query":"Ping"}"#), None, "unsigned");
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() = b'!';
        assert_eq!(a.open(&altered), None, "altered body");
        assert_eq!(a.open(b""), None);
        assert!(Signer::from_hex("short").is_none());
    }
}
