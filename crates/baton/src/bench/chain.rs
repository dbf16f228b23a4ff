//! The load shape every system under test gets: `concurrency` chains, each an item (an
//! interaction, for Baton) handed from one participant to the next, one hop at a time.
//! A hop sends the payload, waits until the receiver has it (that is the latency), then
//! waits for the hop's acknowledgement (Baton: the receiver accepts; relays and NATS: the
//! receiver answers the sender), and the receiver becomes the next sender.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// How long one hop may take before it counts as failed.
pub const HOP_TIMEOUT: Duration = Duration::from_secs(30);

/// What a receiver got, and when.
#[derive(Debug)]
pub struct Arrival {
    pub at: Instant,
    pub participant: usize,
    pub data: String,
}

/// Meets a value with whoever waits for it, in either order.
pub struct Rendezvous<V> {
    slots: Mutex<HashMap<String, Slot<V>>>,
}

enum Slot<V> {
    Waiting(oneshot::Sender<V>),
    Arrived(V),
}

impl<V> Default for Rendezvous<V> {
    fn default() -> Self {
        Self {
            slots: Mutex::new(HashMap::new()),
        }
    }
}

impl<V> Rendezvous<V> {
    pub fn expect(&self, key: &str) -> oneshot::Receiver<V> {
        let (tx, rx) = oneshot::channel();
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        match slots.remove(key) {
            Some(Slot::Arrived(v)) => {
                let _ = tx.send(v);
            }
            _ => {
                slots.insert(key.to_owned(), Slot::Waiting(tx));
            }
        }
        rx
    }

    pub fn deliver(&self, key: &str, value: V) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        match slots.remove(key) {
            Some(Slot::Waiting(tx)) => {
                let _ = tx.send(value);
            }
            _ => {
                slots.insert(key.to_owned(), Slot::Arrived(value));
            }
        }
    }

    pub fn clear(&self) {
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// Waits for a rendezvous within [`HOP_TIMEOUT`].
pub async fn within<V>(what: &str, rx: oneshot::Receiver<V>) -> Result<V, String> {
    match tokio::time::timeout(HOP_TIMEOUT, rx).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(_)) => Err(format!("{what}: the waiter was dropped")),
        Err(_) => Err(format!("{what}: nothing within {HOP_TIMEOUT:?}")),
    }
}

/// A system that can carry one hop.
pub trait Transport: Send + Sync + 'static {
    /// Hands item `key` from participant `from` to `to` with `payload`; answers the time
    /// from just before the send to the receiver having the payload (checked byte for byte).
    fn hop(
        &self,
        key: &str,
        from: usize,
        to: usize,
        payload: &str,
    ) -> impl Future<Output = Result<Duration, String>> + Send;
}

/// JSON of exactly `bytes` bytes when `bytes` is at least the skeleton's size (about 40),
/// different for every chain and hop, and the same for every system under test.
pub fn payload(bytes: usize, chain: usize, hop: u64) -> String {
    let head = format!(r#"{{"chain":{chain},"hop":{hop},"pad":""#);
    let pad = bytes.saturating_sub(head.len() + 2);
    let mut s = String::with_capacity(head.len() + pad + 2);
    s.push_str(&head);
    // Printable and varied, so compression or dedup in a path would not flatter it.
    s.extend((0..pad).map(|i| (b'a' + ((i as u64 + hop) % 26) as u8) as char));
    s.push_str("\"}");
    s
}

#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub participants: usize,
    /// Participants fall into this many groups (Baton: tenants), participant `p` in group
    /// `p % groups`; a hop stays inside its chain's group.
    pub groups: usize,
    pub payload_bytes: usize,
    /// How long the run lasts: no hop starts after it.
    pub duration: Duration,
    /// Most items one participant may hold (Baton: the agents' `maxChats`); a hop only
    /// goes to a participant with room, counting what is on its way to them.
    pub capacity: u32,
}

impl Load {
    /// How many participants group `g` has.
    fn members(&self, g: usize) -> usize {
        (self.participants - g).div_ceil(self.groups)
    }
}

/// Where a chain stands: its item and who holds it. Runs hand these on to the next round.
pub type Chain = (String, usize);

#[derive(Debug, Default)]
pub struct Outcome {
    pub latencies: Vec<Duration>,
    pub errors: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    /// The chains that ended the run in a known state, for the next round.
    pub chains: Vec<Chain>,
}

/// Runs `starts.len()` chains (item key, first holder) until `load.duration` passed;
/// answers where each chain that did not fail stands, so the next round goes on from there.
pub async fn drive<T: Transport>(
    transport: Arc<T>,
    starts: Vec<Chain>,
    load: Load,
    progress: indicatif::ProgressBar,
) -> Outcome {
    let next_target: Arc<Vec<AtomicUsize>> =
        Arc::new((0..load.groups).map(|_| AtomicUsize::new(0)).collect());
    let held: Arc<Vec<AtomicU32>> =
        Arc::new((0..load.participants).map(|_| AtomicU32::new(0)).collect());
    for (_, first) in &starts {
        held[*first].fetch_add(1, Ordering::Relaxed);
    }
    let started = Instant::now();
    let deadline = started + load.duration;
    let hops = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for (chain, (key, first)) in starts.into_iter().enumerate() {
        let (transport, next_target, progress, held, hops) = (
            transport.clone(),
            next_target.clone(),
            progress.clone(),
            held.clone(),
            hops.clone(),
        );
        tasks.spawn(async move {
            let mut out = Outcome::default();
            let mut holder = first;
            let group = first % load.groups;
            let members = load.members(group);
            loop {
                if Instant::now() >= deadline {
                    out.chains.push((key, holder));
                    break;
                }
                if members < 2 {
                    out.errors += 1;
                    out.first_error = Some(format!("group {group} has fewer than 2 members"));
                    break;
                }
                // Round robin over the group's participants with room; the slot is
                // reserved here.
                let to = loop {
                    let n = next_target[group].fetch_add(1, Ordering::Relaxed) % members;
                    let t = group + n * load.groups;
                    if t == holder {
                        continue;
                    }
                    if held[t].fetch_add(1, Ordering::Relaxed) < load.capacity {
                        break t;
                    }
                    held[t].fetch_sub(1, Ordering::Relaxed);
                    tokio::task::yield_now().await;
                };
                let hop = hops.fetch_add(1, Ordering::Relaxed);
                let data = payload(load.payload_bytes, chain, hop);
                match transport.hop(&key, holder, to, &data).await {
                    Ok(latency) => {
                        out.latencies.push(latency);
                        held[holder].fetch_sub(1, Ordering::Relaxed);
                        holder = to;
                        progress.inc(1);
                    }
                    Err(e) => {
                        held[to].fetch_sub(1, Ordering::Relaxed);
                        out.errors += 1;
                        out.first_error.get_or_insert(e);
                        // The chain's item is in an unknown state: stop this chain.
                        break;
                    }
                }
            }
            out
        });
    }
    let mut total = Outcome::default();
    while let Some(joined) = tasks.join_next().await {
        let out = joined.unwrap_or_else(|e| Outcome {
            errors: 1,
            first_error: Some(format!("chain task failed: {e}")),
            ..Outcome::default()
        });
        total.latencies.extend(out.latencies);
        total.errors += out.errors;
        total.chains.extend(out.chains);
        if total.first_error.is_none() {
            total.first_error = out.first_error;
        }
    }
    total.elapsed = started.elapsed();
    total
}

/// Latency percentiles and throughput of one run.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub handoffs: u64,
    pub errors: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
    pub elapsed_secs: f64,
    pub per_sec: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl Summary {
    pub fn of(mut out: Outcome) -> Self {
        out.latencies.sort_unstable();
        let l = &out.latencies;
        let pct = |p: f64| -> f64 {
            if l.is_empty() {
                return f64::NAN;
            }
            // Nearest rank.
            let rank = ((p / 100.0) * l.len() as f64).ceil() as usize;
            ms(l[rank.clamp(1, l.len()) - 1])
        };
        let n = l.len() as u64;
        let elapsed = out.elapsed.as_secs_f64();
        Summary {
            handoffs: n,
            errors: out.errors,
            first_error: out.first_error,
            elapsed_secs: elapsed,
            per_sec: if elapsed > 0.0 {
                n as f64 / elapsed
            } else {
                0.0
            },
            p50_ms: pct(50.0),
            p90_ms: pct(90.0),
            p99_ms: pct(99.0),
            max_ms: l.last().map_or(f64::NAN, |d| ms(*d)),
            mean_ms: if n == 0 {
                f64::NAN
            } else {
                ms(l.iter().sum::<Duration>()) / n as f64
            },
        }
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_json_of_the_asked_size() {
        for bytes in [64, 100, 1024, 65536] {
            let p = payload(bytes, 3, 17);
            assert_eq!(p.len(), bytes);
            serde_json::from_str::<serde_json::Value>(&p).unwrap();
        }
        assert_ne!(payload(1024, 0, 1), payload(1024, 0, 2));
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let out = Outcome {
            latencies: (1..=100).map(Duration::from_millis).collect(),
            elapsed: Duration::from_secs(1),
            ..Outcome::default()
        };
        let s = Summary::of(out);
        assert_eq!(s.p50_ms, 50.0);
        assert_eq!(s.p99_ms, 99.0);
        assert_eq!(s.max_ms, 100.0);
        assert_eq!(s.per_sec, 100.0);
    }

    /// Records every hop; each takes a millisecond.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<(usize, usize)>>);

    impl Transport for Recorder {
        async fn hop(&self, _: &str, from: usize, to: usize, _: &str) -> Result<Duration, String> {
            self.0.lock().unwrap().push((from, to));
            tokio::time::sleep(Duration::from_millis(1)).await;
            Ok(Duration::from_millis(1))
        }
    }

    #[tokio::test]
    async fn hops_stay_in_their_group_and_chains_carry_on() {
        let load = Load {
            participants: 7,
            groups: 3,
            payload_bytes: 64,
            duration: Duration::from_millis(50),
            capacity: 50,
        };
        let recorder = Arc::new(Recorder::default());
        let starts = vec![
            ("a".to_owned(), 0),
            ("b".to_owned(), 1),
            ("c".to_owned(), 5),
        ];
        let out = drive(
            recorder.clone(),
            starts,
            load,
            indicatif::ProgressBar::hidden(),
        )
        .await;
        assert_eq!(out.errors, 0);
        let hops = recorder.0.lock().unwrap().clone();
        assert!(hops.len() >= 6, "{hops:?}");
        for (from, to) in &hops {
            assert_ne!(from, to);
            assert_eq!(from % 3, to % 3, "{from} → {to} left its group");
        }
        let mut chains = out.chains;
        chains.sort();
        assert_eq!(chains.len(), 3);
        for ((key, holder), group) in chains.iter().zip([0, 1, 2]) {
            assert_eq!(holder % 3, group, "{key}");
        }
    }

    #[tokio::test]
    async fn rendezvous_meets_in_either_order() {
        let r = Rendezvous::<u32>::default();
        r.deliver("a", 1);
        assert_eq!(r.expect("a").await.unwrap(), 1);
        let rx = r.expect("b");
        r.deliver("b", 2);
        assert_eq!(rx.await.unwrap(), 2);
    }
}
