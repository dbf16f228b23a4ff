//! Counters for `/metrics`. Labels are method names, kinds and outcomes — never ids,
//! tokens or transfer-data content.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

#[derive(Default)]
pub struct Metrics {
    /// `node="<n>"`, on every sample: which node of a cluster said it (0 on a single node).
    node_label: String,
    pub agent_connections: AtomicU64,
    pub customer_connections: AtomicU64,
    pub frames_in: AtomicU64,
    pub invalid_frames: AtomicU64,
    pub slow_consumers: AtomicU64,
    pub refused_connections: AtomicU64,
    pub logins_ok: AtomicU64,
    pub logins_failed: AtomicU64,
    pub logins_rate_limited: AtomicU64,
    pub commits: AtomicU64,
    pub commit_commands: AtomicU64,
    pub commit_micros: AtomicU64,
    pub purged_transfer_data: AtomicU64,
    /// Cluster messages (any subject) without a valid signature.
    pub rejected_cluster_messages: AtomicU64,
    /// The engine task panicked or failed a commit (`/healthz` answers 503).
    pub engine_dead: AtomicBool,
    /// How many engines this node runs now: 1 on a single node; in a cluster, the shards
    /// whose lease it holds (`baton_engine_shards`, `baton_engine_running`).
    pub engine_shards: AtomicU64,
    /// In a cluster: the node that last announced itself as the engine, 0 before any
    /// (`baton_engine_node`).
    pub engine_node: AtomicU64,
    requests: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
}

impl Metrics {
    pub fn with_node(node: u16) -> Self {
        Self {
            node_label: format!("node=\"{node}\""),
            ..Self::default()
        }
    }

    /// Counts one answered agent request by method and result (`success` or the error name).
    pub fn request(&self, method: &'static str, result: &'static str) {
        *self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((method, result))
            .or_default() += 1;
    }

    /// Renders Prometheus text; `extra` holds gauges computed at scrape time.
    pub fn render(&self, extra: &[(&str, &str, u64)]) -> String {
        let mut out = String::new();
        let counters: [(&str, &str, &AtomicU64); 14] = [
            (
                "baton_agent_connections_total",
                "Agent WebSockets accepted",
                &self.agent_connections,
            ),
            (
                "baton_customer_connections_total",
                "Customer WebSockets accepted",
                &self.customer_connections,
            ),
            (
                "baton_frames_in_total",
                "Client frames received",
                &self.frames_in,
            ),
            (
                "baton_invalid_frames_total",
                "Client frames answered with invalid_request",
                &self.invalid_frames,
            ),
            (
                "baton_slow_consumers_total",
                "Sockets cut off for not reading",
                &self.slow_consumers,
            ),
            (
                "baton_refused_connections_total",
                "WebSockets refused (origin, limit)",
                &self.refused_connections,
            ),
            ("baton_logins_total", "Successful logins", &self.logins_ok),
            (
                "baton_login_failures_total",
                "Failed logins",
                &self.logins_failed,
            ),
            (
                "baton_login_rate_limited_total",
                "Logins refused by the rate limit",
                &self.logins_rate_limited,
            ),
            (
                "baton_commits_total",
                "Store transactions committed",
                &self.commits,
            ),
            (
                "baton_committed_commands_total",
                "Commands committed (group commit batches many)",
                &self.commit_commands,
            ),
            (
                "baton_commit_microseconds_total",
                "Time spent committing",
                &self.commit_micros,
            ),
            (
                "baton_purged_transfer_data_total",
                "Transfer data deleted by retention",
                &self.purged_transfer_data,
            ),
            (
                "baton_rejected_cluster_messages_total",
                "Cluster messages refused for a missing or wrong signature",
                &self.rejected_cluster_messages,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name}{{{}}} {}",
                self.node_label,
                value.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP baton_requests_total Agent requests by method and result\n# TYPE baton_requests_total counter"
        );
        for ((method, result), n) in self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "baton_requests_total{{{},method=\"{method}\",result=\"{result}\"}} {n}",
                self.node_label
            );
        }
        for (name, help, value) in extra {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name}{{{}}} {value}",
                self.node_label
            );
        }
        out
    }
}
