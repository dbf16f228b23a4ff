//! Call recordings on disk (docs/voice.md, "Recording"): one Ogg Opus file per party and
//! recording, under `<data dir>/recordings/<interaction>/`, each with a small JSON record
//! beside it (party, duration, size). With a data key the file is sealed with the data
//! cipher like attachments (base64 sealed text, its path as associated data), so a copy of
//! the disk reveals no audio. Retention removes them with the interaction's tenant's
//! transfer data.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use baton_media::{Party, Recording};
use baton_store::{DataCipher, cipher};
use serde::{Deserialize, Serialize};

/// What the listing shows of one recording.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RecordingInfo {
    pub id: String,
    /// `customer` or `agent`.
    pub party: String,
    /// The agent's id when `party` is `agent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    pub duration_ms: u64,
    /// The audio's size (before sealing).
    pub bytes: u64,
    pub packets: u64,
    /// When the file was closed, milliseconds since the epoch.
    pub created_at: i64,
    /// Sealed with the data cipher.
    pub sealed: bool,
}

/// The recordings folder and the key files are sealed with.
pub struct RecordingStore {
    dir: PathBuf,
    cipher: Option<DataCipher>,
    next: AtomicU64,
}

/// An id that is safe as one path segment (interaction ids are server-made; anything else
/// is refused rather than cleaned).
pub fn safe_segment(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && !s.starts_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

impl RecordingStore {
    pub fn new(data_dir: &Path, cipher: Option<DataCipher>) -> Self {
        Self {
            dir: data_dir.join("recordings"),
            cipher,
            next: AtomicU64::new(0),
        }
    }

    fn aad(call: &str, id: &str) -> Vec<u8> {
        format!("recording/{call}/{id}").into_bytes()
    }

    /// Writes a closed recording; `now` names it. Blocking (file I/O).
    pub fn save(&self, rec: &Recording, now: i64) -> std::io::Result<RecordingInfo> {
        let call = &rec.peer.call;
        if !safe_segment(call) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "interaction id unfit for a path",
            ));
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let id = format!("{now}-{n}");
        let dir = self.dir.join(call);
        std::fs::create_dir_all(&dir)?;
        let content = match &self.cipher {
            Some(c) => {
                use base64::Engine as _;
                let text = base64::engine::general_purpose::STANDARD.encode(&rec.ogg);
                cipher::seal(Some(c), &text, &Self::aad(call, &id)).into_bytes()
            }
            None => rec.ogg.clone(),
        };
        let (party, agent) = match &rec.peer.party {
            Party::Customer => ("customer".to_owned(), None),
            Party::Agent(a) => ("agent".to_owned(), Some(a.clone())),
        };
        let info = RecordingInfo {
            id: id.clone(),
            party,
            agent,
            duration_ms: rec.duration_ms,
            bytes: rec.ogg.len() as u64,
            packets: rec.packets,
            created_at: now,
            sealed: self.cipher.is_some(),
        };
        std::fs::write(dir.join(format!("{id}.ogg")), content)?;
        // The record last: a listing shows only complete files.
        let json = serde_json::to_vec(&info).map_err(std::io::Error::other)?;
        std::fs::write(dir.join(format!("{id}.json")), json)?;
        Ok(info)
    }

    /// The interaction's recordings, oldest first. Blocking.
    pub fn list(&self, call: &str) -> Vec<RecordingInfo> {
        if !safe_segment(call) {
            return Vec::new();
        }
        let Ok(entries) = std::fs::read_dir(self.dir.join(call)) else {
            return Vec::new();
        };
        let mut out: Vec<RecordingInfo> = entries
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| std::fs::read(e.path()).ok())
            .filter_map(|b| serde_json::from_slice(&b).ok())
            .collect();
        out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        out
    }

    /// One recording's Ogg Opus bytes, opened if sealed; `None` if there is none. Blocking.
    pub fn read(&self, call: &str, id: &str) -> Option<Result<Vec<u8>, String>> {
        if !safe_segment(call) || !safe_segment(id) {
            return None;
        }
        let info = self.list(call).into_iter().find(|r| r.id == id)?;
        let stored = std::fs::read(self.dir.join(call).join(format!("{id}.ogg"))).ok()?;
        if !info.sealed {
            return Some(Ok(stored));
        }
        Some((|| {
            use base64::Engine as _;
            let text = String::from_utf8(stored).map_err(|e| e.to_string())?;
            let plain = cipher::open_stored(self.cipher.as_ref(), text, &Self::aad(call, id))
                .map_err(|e| e.to_string())?;
            base64::engine::general_purpose::STANDARD
                .decode(plain)
                .map_err(|e| e.to_string())
        })())
    }

    /// The interactions that have recordings.
    pub fn calls(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| safe_segment(n))
            .collect()
    }

    /// Deletes the interaction's recordings closed before `cutoff` (`i64::MAX`: all).
    /// Returns how many. Blocking.
    pub fn purge(&self, call: &str, cutoff: i64) -> usize {
        let dir = self.dir.join(call);
        let mut n = 0;
        for r in self.list(call) {
            if r.created_at < cutoff {
                // The record first: a half-deleted recording is never listed.
                let _ = std::fs::remove_file(dir.join(format!("{}.json", r.id)));
                let _ = std::fs::remove_file(dir.join(format!("{}.ogg", r.id)));
                n += 1;
            }
        }
        // Gone when empty (fails, harmlessly, when not).
        let _ = std::fs::remove_dir(&dir);
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_media::PeerKey;

    fn recording(call: &str) -> Recording {
        Recording {
            peer: PeerKey {
                call: call.into(),
                party: Party::Agent("ann".into()),
            },
            ogg: b"OggS and the rest".to_vec(),
            packets: 1,
            duration_ms: 20,
        }
    }

    #[test]
    fn ids_that_could_leave_the_folder_are_refused() {
        assert!(safe_segment("int-9a99_1.2"));
        for bad in ["", "..", ".hidden", "a/b", "a\\b", "x\0", &"a".repeat(129)] {
            assert!(!safe_segment(bad), "{bad:?}");
        }
        let dir = tempfile::tempdir().unwrap();
        let store = RecordingStore::new(dir.path(), None);
        assert!(store.save(&recording("../escape"), 1).is_err());
        assert!(store.read("int-1", "../../server.key").is_none());
        assert!(store.list("..").is_empty());
    }

    #[test]
    fn a_sealed_recording_reads_back_and_is_purged_by_age() {
        let dir = tempfile::tempdir().unwrap();
        let cipher = DataCipher::single("k1", [7; 32]).unwrap();
        let store = RecordingStore::new(dir.path(), Some(cipher));
        let info = store.save(&recording("int-1"), 1000).unwrap();
        assert!(info.sealed);
        let on_disk = std::fs::read(
            dir.path()
                .join("recordings/int-1")
                .join(format!("{}.ogg", info.id)),
        )
        .unwrap();
        assert!(!on_disk.starts_with(b"OggS"), "sealed at rest");
        let back = store.read("int-1", &info.id).unwrap().unwrap();
        assert_eq!(back, b"OggS and the rest");
        assert_eq!(store.list("int-1"), vec![info.clone()]);
        // Another key cannot open it.
        let other =
            RecordingStore::new(dir.path(), Some(DataCipher::single("k1", [8; 32]).unwrap()));
        assert!(other.read("int-1", &info.id).unwrap().is_err());
        assert_eq!(store.purge("int-1", 1000), 0, "not older than the cutoff");
        assert_eq!(store.purge("int-1", 1001), 1);
        assert!(store.list("int-1").is_empty());
        assert!(!dir.path().join("recordings/int-1").exists());
    }
}
