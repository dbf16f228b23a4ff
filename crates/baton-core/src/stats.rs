//! The supervisor console's charts (decision 0012, "Charts"): per tenant, the last hour in
//! one-minute buckets of hand-offs by outcome and of how long customers waited in a queue
//! before an agent was offered them. Fed from what the core already does (a leg accepted or
//! failed, a queued customer offered); bounded to [`STATS_MINUTES`] buckets per tenant and
//! [`MAX_REASONS`] failure reasons per bucket. Kept in memory only: it starts empty after a
//! restart. Carries counts and durations, never content.

use std::collections::{BTreeMap, VecDeque};

use baton_protocol::Millis;
use serde_json::{Value, json};

use crate::engine::Core;
use crate::entity::{InteractionId, TenantId, TransferId};

/// How many one-minute buckets are kept per tenant: one hour.
pub const STATS_MINUTES: u32 = 60;
/// Distinct failure reasons kept per bucket; more are counted under `other`.
pub const MAX_REASONS: usize = 16;
const MINUTE: Millis = 60_000;

/// One minute of one tenant.
#[derive(Debug, Clone, Default)]
struct Bucket {
    /// Minutes since the epoch.
    minute: i64,
    accepted: u32,
    failed: u32,
    failed_by_reason: BTreeMap<String, u32>,
    waits: u32,
    wait_total_ms: u64,
    wait_max_ms: u64,
}

/// Every tenant's last hour. Buckets are appended in time order and dropped once older than
/// an hour, so a tenant holds at most [`STATS_MINUTES`] of them.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    tenants: BTreeMap<TenantId, VecDeque<Bucket>>,
}

impl Stats {
    fn bucket(&mut self, tenant: &TenantId, now: Millis) -> &mut Bucket {
        let minute = now.div_euclid(MINUTE);
        let buckets = self.tenants.entry(tenant.clone()).or_default();
        while buckets
            .front()
            .is_some_and(|b| b.minute <= minute - i64::from(STATS_MINUTES))
        {
            buckets.pop_front();
        }
        // The clock only goes forward in the core; a late sample joins the newest bucket.
        if buckets.back().is_none_or(|b| b.minute < minute) {
            buckets.push_back(Bucket {
                minute,
                ..Bucket::default()
            });
        }
        buckets.back_mut().expect("just ensured")
    }

    fn handoff(&mut self, tenant: &TenantId, now: Millis, failed: Option<&str>) {
        let b = self.bucket(tenant, now);
        match failed {
            None => b.accepted += 1,
            Some(reason) => {
                b.failed += 1;
                let key = if b.failed_by_reason.contains_key(reason)
                    || b.failed_by_reason.len() < MAX_REASONS
                {
                    reason
                } else {
                    "other"
                };
                *b.failed_by_reason.entry(key.to_owned()).or_default() += 1;
            }
        }
    }

    fn wait(&mut self, tenant: &TenantId, now: Millis, waited: Millis) {
        let waited = waited.max(0) as u64;
        let b = self.bucket(tenant, now);
        b.waits += 1;
        b.wait_total_ms += waited;
        b.wait_max_ms = b.wait_max_ms.max(waited);
    }

    /// The last `minutes` minutes up to `now`, oldest first, one entry per minute (empty
    /// minutes included, so a chart's x axis is the index).
    fn report(&self, tenant: &TenantId, now: Millis, minutes: u32) -> Value {
        let minutes = minutes.clamp(1, STATS_MINUTES);
        let last = now.div_euclid(MINUTE);
        let first = last - i64::from(minutes) + 1;
        let empty = VecDeque::new();
        let buckets = self.tenants.get(tenant).unwrap_or(&empty);
        let rows: Vec<Value> = (first..=last)
            .map(|minute| {
                let b = buckets.iter().find(|b| b.minute == minute);
                let b = b.cloned().unwrap_or(Bucket {
                    minute,
                    ..Bucket::default()
                });
                json!({
                    "start": minute * MINUTE,
                    "handOffs": {"accepted": b.accepted, "failed": b.failed},
                    "failedByReason": b.failed_by_reason,
                    "waits": {
                        "count": b.waits,
                        "avgMs": (b.waits > 0).then(|| b.wait_total_ms / u64::from(b.waits)),
                        "maxMs": (b.waits > 0).then_some(b.wait_max_ms),
                    },
                })
            })
            .collect();
        json!({"at": now, "minutes": minutes, "bucketMs": MINUTE, "buckets": rows})
    }
}

impl Core {
    /// A hand-off ended: accepted (`failed` is `None`) or failed for a reason.
    pub(crate) fn record_handoff(&mut self, leg: &TransferId, failed: Option<&str>) {
        if let Some(tenant) = self.legs.get(leg).map(|l| l.tenant.clone()) {
            let now = self.now;
            self.stats.handoff(&tenant, now, failed);
        }
    }

    /// A queued customer was offered to an agent after waiting `waited` ms.
    pub(crate) fn record_wait_for_stats(&mut self, id: &InteractionId, waited: Millis) {
        if let Some(tenant) = self.interactions.get(id).map(|i| i.tenant.clone()) {
            let now = self.now;
            self.stats.wait(&tenant, now, waited);
        }
    }

    /// The supervisor console's charts of one tenant: `minutes` (1 to 60) one-minute buckets
    /// up to `now`, oldest first.
    pub fn supervisor_stats(&self, tenant: &TenantId, now: Millis, minutes: u32) -> Value {
        self.stats.report(tenant, now, minutes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> TenantId {
        TenantId("t".into())
    }

    #[test]
    fn keeps_an_hour_of_buckets_and_no_more() {
        let mut s = Stats::default();
        for m in 0..200 {
            s.handoff(&t(), m * MINUTE, None);
        }
        assert_eq!(s.tenants[&t()].len(), STATS_MINUTES as usize);
        let r = s.report(&t(), 199 * MINUTE, 60);
        assert_eq!(r["buckets"].as_array().unwrap().len(), 60);
        assert_eq!(r["buckets"][0]["handOffs"]["accepted"], 1);
    }

    #[test]
    fn counts_outcomes_and_waits_per_minute() {
        let mut s = Stats::default();
        s.handoff(&t(), 1_000, None);
        s.handoff(&t(), 2_000, Some("ring_timeout"));
        s.wait(&t(), 3_000, 4_000);
        s.wait(&t(), 4_000, 2_000);
        s.handoff(&t(), MINUTE + 1, Some("target_busy"));
        let r = s.report(&t(), MINUTE + 5, 2);
        let b = &r["buckets"];
        assert_eq!(b[0]["handOffs"], json!({"accepted": 1, "failed": 1}));
        assert_eq!(b[0]["failedByReason"], json!({"ring_timeout": 1}));
        assert_eq!(
            b[0]["waits"],
            json!({"count": 2, "avgMs": 3000, "maxMs": 4000})
        );
        assert_eq!(b[1]["handOffs"], json!({"accepted": 0, "failed": 1}));
        assert_eq!(
            b[1]["waits"],
            json!({"count": 0, "avgMs": null, "maxMs": null})
        );
    }

    #[test]
    fn failure_reasons_per_bucket_are_bounded() {
        let mut s = Stats::default();
        for n in 0..(MAX_REASONS + 5) {
            s.handoff(&t(), 0, Some(&format!("r{n}")));
        }
        let r = s.report(&t(), 0, 1);
        let reasons = r["buckets"][0]["failedByReason"].as_object().unwrap();
        assert_eq!(reasons.len(), MAX_REASONS + 1);
        assert_eq!(reasons["other"], 5);
    }
}
