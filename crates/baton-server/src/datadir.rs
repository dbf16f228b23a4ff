//! One owner per data directory: an exclusive lock on `<data_dir>/baton.lock`, held for the
//! life of the process, with the holder's pid written in it.
//!
//! Two engines writing one SQLite file would each believe their memory is the truth (split
//! brain); the second `baton serve` must refuse to start instead. The lock is an OS file lock
//! (`flock` on Unix), so it goes away with the process however it ends, SIGKILL included:
//! a stale lock file never blocks a restart.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The file that carries the lock, inside the data directory.
pub const LOCK_FILE: &str = "baton.lock";

/// Why the data directory could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "the data directory {dir} is in use by another Baton process{holder}: stop it, or pass --data-dir with another directory"
    )]
    Held { dir: PathBuf, holder: String },
    #[error("cannot lock the data directory {dir}: {source}")]
    Io {
        dir: PathBuf,
        source: std::io::Error,
    },
}

/// Holds the data directory until dropped (the process ends, or the server stops).
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
    path: PathBuf,
}

impl DataDirLock {
    /// Creates `dir` if needed and takes its lock, or says which process holds it.
    pub fn acquire(dir: &Path) -> Result<Self, LockError> {
        let io = |source| LockError::Io {
            dir: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let path = dir.join(LOCK_FILE);
        // Not truncated on open: the holder's pid must stay readable for the loser.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let holder = match text.trim().parse::<u32>() {
                    Ok(pid) => format!(" (pid {pid})"),
                    Err(_) => String::new(),
                };
                return Err(LockError::Held {
                    dir: dir.to_path_buf(),
                    holder,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(Self { _file: file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_one_directory_is_refused_with_the_pid_until_the_first_is_dropped() {
        let dir = std::env::temp_dir().join(format!("baton-lock-{}", std::process::id()));
        let first = DataDirLock::acquire(&dir).unwrap();
        // flock conflicts between two open files even within one process.
        let err = DataDirLock::acquire(&dir).unwrap_err().to_string();
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        assert!(err.contains("in use by another Baton process"), "{err}");
        drop(first);
        let again = DataDirLock::acquire(&dir).unwrap();
        drop(again);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
