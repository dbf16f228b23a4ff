//! What stands between `POST /sessions` and the CPU: bounded password hashing and login
//! rate limits that an anonymous flood cannot grow.
//!
//! - [`PasswordWorkers`]: argon2id (19 MiB and tens of milliseconds per hash) runs on a
//!   few dedicated threads (one per core by default) fed by a bounded queue. When the queue
//!   is full the login is answered `rate_limited` at once. The hashing never touches tokio's
//!   blocking pool, which store commits use: a login flood cannot delay a commit, and
//!   cannot grow the thread count or the memory beyond `threads × 19 MiB`.
//! - [`LoginGuard`]: attempts per minute for the whole server, and failures per minute per
//!   source address, per account, and per account from one address. Every attempt is
//!   counted before its password is checked (so a burst of concurrent attempts is bounded
//!   too) and handed back if it succeeds, so only failures count against an address or an
//!   account. Each table holds at most `login_limiter_max_keys` keys; when full, expired
//!   windows go first, then the oldest.
//!
//! See SECURITY.md ("Logins") for the trade-offs, and decision 0008.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::settings::Limits;

/// Longest tenant name or username, in characters: the same bound creation enforces, so a
/// longer one can never log in and is refused before any work.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest password accepted (creation enforces the same).
pub const MAX_PASSWORD_BYTES: usize = 1024;

type Job = Box<dyn FnOnce() + Send>;

/// The password-hashing queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// Dedicated threads for argon2id, behind a bounded queue.
pub struct PasswordWorkers {
    tx: SyncSender<Job>,
    threads: usize,
}

impl PasswordWorkers {
    /// `threads` workers (0: one per core) and at most `queue` jobs waiting for one.
    /// The threads end when the last handle is dropped.
    pub fn new(threads: usize, queue: usize) -> Self {
        let threads = if threads == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            threads
        };
        let (tx, rx) = sync_channel::<Job>(queue);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("baton-password-{i}"))
                .spawn(move || {
                    loop {
                        let job = match rx.lock().unwrap_or_else(|p| p.into_inner()).recv() {
                            Ok(job) => job,
                            Err(_) => return,
                        };
                        // A panicking job must not take a worker with it.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                    }
                })
                .expect("spawn a password thread");
        }
        Self { tx, threads }
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `f` on a worker and waits for it; [`Busy`] at once when the queue is full.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        match self.tx.try_send(job) {
            Ok(()) => rx.await.map_err(|_| Busy),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => Err(Busy),
        }
    }
}

/// A fixed one-minute window per key, in a table of bounded size.
struct Windows<K> {
    per_minute: u32,
    max_keys: usize,
    map: Mutex<HashMap<K, (Instant, u32)>>,
}

const WINDOW: Duration = Duration::from_secs(60);

impl<K: Hash + Eq + Clone> Windows<K> {
    fn new(per_minute: u32, max_keys: usize) -> Self {
        Self {
            per_minute,
            max_keys: max_keys.max(1),
            map: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one for `key`; `false` (and nothing counted) when it is at its limit.
    fn take(&self, key: &K, now: Instant) -> bool {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if !map.contains_key(key) && map.len() >= self.max_keys {
            map.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
            if map.len() >= self.max_keys
                && let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, (s, _))| *s)
                    .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        let entry = map.entry(key.clone()).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        if entry.1 >= self.per_minute {
            return false;
        }
        entry.1 += 1;
        true
    }

    /// Hands back one counted by [`take`](Self::take) (the attempt succeeded).
    fn give_back(&self, key: &K) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = map.get_mut(key) {
            entry.1 = entry.1.saturating_sub(1);
        }
    }

    fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// A source address as the limiter sees it: IPv6 by its /64, which one host usually owns
/// whole (so rotating addresses inside it gains nothing).
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Why a login is refused before its password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Global,
    Address,
    Account,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::Global => "the server is taking too many logins; try again in a minute",
            Refusal::Address => "too many failed logins from this address; wait a minute",
            Refusal::Account => "too many failed logins for this user; wait a minute",
        }
    }
}

/// The login rate limits (see the module documentation).
pub struct LoginGuard {
    global: Windows<()>,
    address: Windows<IpAddr>,
    account: Windows<String>,
    account_address: Windows<(String, IpAddr)>,
}

/// What an admitted attempt counted, to hand back if it succeeds.
pub struct Ticket {
    address: IpAddr,
    account: String,
}

impl LoginGuard {
    pub fn new(limits: &Limits) -> Self {
        let keys = limits.login_limiter_max_keys;
        Self {
            global: Windows::new(limits.login_attempts_global_per_minute, 1),
            address: Windows::new(limits.login_failures_per_address_per_minute, keys),
            account: Windows::new(limits.login_failures_per_account_per_minute, keys),
            account_address: Windows::new(limits.login_attempts_per_minute, keys),
        }
    }

    /// Admits an attempt or says which limit refuses it. `tenant` and `username` must
    /// already be length-checked.
    pub fn admit(&self, tenant: &str, username: &str, ip: IpAddr) -> Result<Ticket, Refusal> {
        let now = Instant::now();
        let address = address_key(ip);
        let account = format!("{tenant}\u{0}{}", username.to_lowercase());
        let pair = (account.clone(), address);
        // Narrowest first, so a single noisy source spends its own budget, not everyone's.
        if !self.account_address.take(&pair, now) {
            return Err(Refusal::Account);
        }
        if !self.address.take(&address, now) {
            self.account_address.give_back(&pair);
            return Err(Refusal::Address);
        }
        if !self.account.take(&account, now) {
            self.account_address.give_back(&pair);
            self.address.give_back(&address);
            return Err(Refusal::Account);
        }
        if !self.global.take(&(), now) {
            self.account_address.give_back(&pair);
            self.address.give_back(&address);
            self.account.give_back(&account);
            return Err(Refusal::Global);
        }
        Ok(Ticket { address, account })
    }

    /// The attempt succeeded (or was never judged): it does not count against the address
    /// or the account. The global count stays: it bounds work, not guesses.
    pub fn succeeded(&self, ticket: Ticket) {
        self.address.give_back(&ticket.address);
        self.account.give_back(&ticket.account);
        self.account_address
            .give_back(&(ticket.account, ticket.address));
    }

    /// Keys held, for tests and metrics.
    pub fn keys(&self) -> usize {
        self.address.len() + self.account.len() + self.account_address.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            login_attempts_per_minute: 3,
            login_failures_per_address_per_minute: 5,
            login_failures_per_account_per_minute: 4,
            login_attempts_global_per_minute: 100,
            login_limiter_max_keys: 50,
            ..Limits::default()
        }
    }

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, n])
    }

    #[test]
    fn failures_count_per_account_and_address_and_successes_are_handed_back() {
        let g = LoginGuard::new(&limits());
        // Successes never lock anyone out.
        for _ in 0..20 {
            let t = g.admit("t", "alice", ip(1)).unwrap();
            g.succeeded(t);
        }
        // Three failures from one address lock alice out from there only.
        for _ in 0..3 {
            g.admit("t", "Alice", ip(1)).unwrap();
        }
        assert_eq!(g.admit("t", "alice", ip(1)).err(), Some(Refusal::Account));
        g.admit("t", "alice", ip(2)).unwrap();
        // The fourth failure from anywhere locks the account from everywhere.
        assert_eq!(g.admit("t", "alice", ip(3)).err(), Some(Refusal::Account));
        // Another user from the first address still gets in up to its address limit.
        g.admit("t", "bob", ip(1)).unwrap();
        g.admit("t", "carol", ip(1)).unwrap();
        assert_eq!(g.admit("t", "dave", ip(1)).err(), Some(Refusal::Address));
    }

    #[test]
    fn tables_stay_bounded_under_many_names_and_addresses() {
        let mut l = limits();
        l.login_failures_per_address_per_minute = 1_000_000;
        l.login_attempts_global_per_minute = 1_000_000;
        let g = LoginGuard::new(&l);
        for i in 0..5_000u32 {
            let ip = IpAddr::from(i.to_be_bytes());
            let _ = g.admit("t", &format!("user{i}"), ip);
        }
        assert!(g.keys() <= 3 * 50, "{} keys", g.keys());
    }

    #[test]
    fn the_global_limit_counts_every_attempt() {
        let mut l = limits();
        l.login_attempts_global_per_minute = 2;
        let g = LoginGuard::new(&l);
        let t = g.admit("t", "a", ip(1)).unwrap();
        g.succeeded(t);
        g.admit("t", "b", ip(2)).unwrap();
        assert_eq!(g.admit("t", "c", ip(3)).err(), Some(Refusal::Global));
    }

    #[test]
    fn ipv6_addresses_are_limited_by_their_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(address_key(mapped), ip(1));
    }

    #[tokio::test]
    async fn a_full_queue_answers_busy_at_once() {
        let w = PasswordWorkers::new(1, 1);
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        // The only worker is busy until released...
        w.tx.try_send(Box::new(move || {
            started_tx.send(()).unwrap();
            release_rx.recv().unwrap();
        }))
        .unwrap_or_else(|_| panic!("a worker is free"));
        started_rx.recv().unwrap();
        // ...and one job fills the queue.
        let (done_tx, done_rx) = std::sync::mpsc::channel::<u32>();
        w.tx.try_send(Box::new(move || done_tx.send(7).unwrap()))
            .unwrap_or_else(|_| panic!("the queue has room for one"));
        assert_eq!(w.run(|| 0).await, Err(Busy));
        release_tx.send(()).unwrap();
        assert_eq!(done_rx.recv().unwrap(), 7);
        assert_eq!(w.run(|| 5).await, Ok(5));
    }
}
