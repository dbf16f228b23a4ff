//! What a bench run reports: every run of every round, then per system the median and
//! spread (min–max over rounds) of its figures, and per pair (Baton against a baseline, or
//! one Baton deployment against another) the median and spread of the ratios taken inside
//! each round, where both met the same machine weather.

use serde::Serialize;

use super::chain::Summary;
use super::{BaselineKind, BenchArgs};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub cpus: usize,
    pub workload: Workload,
    pub rounds: u32,
    pub duration_secs: f64,
    #[serde(serialize_with = "names")]
    pub baselines: Vec<BaselineKind>,
    pub tenants: Vec<String>,
    pub setup: Vec<Setup>,
    /// One write of the payload and `fdatasync`, 200 times in a row, before the rounds.
    pub fsync_alone_p50_ms: f64,
    pub fsync_alone_p99_ms: f64,
    pub runs: Vec<Run>,
    pub systems: Vec<SystemSummary>,
    pub ratios: Vec<RatioSummary>,
    pub connections: Option<Connections>,
    pub notes: Vec<String>,
}

fn names<S: serde::Serializer>(kinds: &[BaselineKind], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(kinds.iter().map(|k| k.name()))
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct Workload {
    pub server: String,
    pub cluster_nodes: Option<u16>,
    pub agents: usize,
    pub tenants: usize,
    pub backlog: usize,
    pub messages: usize,
    pub message_bytes: usize,
    pub encrypt: bool,
    pub payload_bytes: usize,
    pub concurrency: usize,
}

#[derive(Serialize, Clone, Default)]
#[serde(rename_all = "camelCase")]
pub struct Setup {
    pub system: String,
    pub create_agents_secs: f64,
    pub logins_secs: f64,
    pub connect_secs: f64,
    /// Queuing the backlog and filling the transcripts.
    pub workload_secs: f64,
}

/// One system's run in one round.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub round: u32,
    pub system: String,
    pub summary: Summary,
    /// Server (or relay) CPU per hand-off, all processes together.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_micros_per_handoff: Option<f64>,
    pub processes: Vec<ProcessCpu>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<StoreReport>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ProcessCpu {
    pub process: String,
    pub cpu_secs: f64,
    pub cpu_micros_per_handoff: f64,
    /// In-process: the whole process (server and load generator share it).
    pub rss_bytes: u64,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct StoreReport {
    pub commits: u64,
    pub commands: u64,
    pub commands_per_commit: f64,
    pub commit_ms_mean: f64,
    pub commits_per_handoff: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Connections {
    pub count: usize,
    pub create_agents_secs: f64,
    pub logins_secs: f64,
    pub connect_secs: f64,
    pub rss_before_bytes: Option<u64>,
    pub rss_after_bytes: Option<u64>,
    pub bytes_per_connection: Option<f64>,
    pub what: String,
}

/// The median and the range of one figure over the rounds.
#[derive(Serialize, Clone, Copy, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

impl Spread {
    /// `None` when no value is a number.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Spread> {
        let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Some(Spread {
            median,
            min: v[0],
            max: v[n - 1],
            n,
        })
    }

    pub fn show(&self, digits: usize) -> String {
        if self.n == 1 {
            return format!("{:.*}", digits, self.median);
        }
        format!(
            "{:.*} ({:.*}–{:.*})",
            digits, self.median, digits, self.min, digits, self.max
        )
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemSummary {
    pub system: String,
    pub handoffs: u64,
    pub errors: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
    pub p50_ms: Option<Spread>,
    pub p90_ms: Option<Spread>,
    pub p99_ms: Option<Spread>,
    pub per_sec: Option<Spread>,
    pub cpu_micros_per_handoff: Option<Spread>,
    /// Per process, CPU per hand-off (a cluster's nodes each on their own).
    pub processes: Vec<ProcessSummary>,
    pub commands_per_commit: Option<Spread>,
    pub commit_ms_mean: Option<Spread>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessSummary {
    pub process: String,
    pub cpu_micros_per_handoff: Option<Spread>,
    pub cpu_share: Option<Spread>,
}

/// `system` divided by `baseline`, round by round: above 1 for latency means slower, below
/// 1 for throughput means fewer hand-offs per second.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RatioSummary {
    pub system: String,
    pub baseline: String,
    pub p50: Option<Spread>,
    pub p99: Option<Spread>,
    pub throughput: Option<Spread>,
}

impl Run {
    pub fn new(
        round: u32,
        system: &str,
        summary: Summary,
        processes: Vec<ProcessCpu>,
        store: Option<StoreReport>,
    ) -> Run {
        let cpu_micros_per_handoff = (!processes.is_empty()).then(|| {
            processes.iter().map(|p| p.cpu_secs).sum::<f64>() * 1e6 / summary.handoffs.max(1) as f64
        });
        Run {
            round,
            system: system.to_owned(),
            summary,
            cpu_micros_per_handoff,
            processes,
            store,
        }
    }

    /// A progress line for the terminal.
    pub fn line(&self) -> String {
        let s = &self.summary;
        let cpu = self
            .cpu_micros_per_handoff
            .map(|c| format!(", {c:.0} µs CPU each"))
            .unwrap_or_default();
        let errors = if s.errors > 0 {
            format!(
                ", {} errors ({})",
                s.errors,
                s.first_error.as_deref().unwrap_or("?")
            )
        } else {
            String::new()
        };
        format!(
            "round {} {:<14} {:>7} hand-offs {:>9.0}/s  p50 {:.3} ms  p99 {:.3} ms{cpu}{errors}",
            self.round, self.system, s.handoffs, s.per_sec, s.p50_ms, s.p99_ms
        )
    }
}

impl Report {
    pub fn new(args: &BenchArgs, cpus: usize) -> Report {
        let baselines = match &args.baselines {
            Some(list) => {
                let mut out: Vec<BaselineKind> = Vec::new();
                for k in list {
                    if *k != BaselineKind::None && !out.contains(k) {
                        out.push(*k);
                    }
                }
                out
            }
            None if args.cluster.is_some() => Vec::new(),
            None => vec![
                BaselineKind::Relay,
                BaselineKind::Floor,
                BaselineKind::Fsync,
                BaselineKind::Nats,
            ],
        };
        Report {
            cpus,
            workload: Workload {
                server: if args.url.is_some() {
                    "a running server (--url)"
                } else if args.cluster.is_some() {
                    "child processes: an embedded server, a 1-node and an n-node cluster"
                } else if args.spawn {
                    "a child-process server"
                } else {
                    "an in-process server"
                }
                .into(),
                cluster_nodes: args.cluster,
                agents: args.agents,
                tenants: args.tenants,
                backlog: args.backlog,
                messages: args.messages,
                message_bytes: args.message_bytes,
                encrypt: args.encrypt,
                payload_bytes: args.payload_bytes,
                concurrency: args.concurrency,
            },
            rounds: args.rounds,
            duration_secs: args.duration.as_secs_f64(),
            baselines,
            tenants: Vec::new(),
            setup: Vec::new(),
            fsync_alone_p50_ms: f64::NAN,
            fsync_alone_p99_ms: f64::NAN,
            runs: Vec::new(),
            systems: Vec::new(),
            ratios: Vec::new(),
            connections: None,
            notes: Vec::new(),
        }
    }

    /// Fills `systems` and `ratios` from `runs`.
    pub fn summarise(&mut self) {
        let mut order: Vec<String> = Vec::new();
        for r in &self.runs {
            if !order.contains(&r.system) {
                order.push(r.system.clone());
            }
        }
        self.systems = order.iter().map(|name| self.system(name)).collect();
        // Baton deployments against each earlier one, then each against every baseline.
        let batons: Vec<&String> = self.setup.iter().map(|s| &s.system).collect();
        let mut pairs = Vec::new();
        for (i, a) in batons.iter().enumerate() {
            for b in &batons[..i] {
                pairs.push(((*a).clone(), (*b).clone()));
            }
        }
        for a in &batons {
            for b in order.iter().filter(|o| !batons.contains(o)) {
                pairs.push(((*a).clone(), b.clone()));
            }
        }
        self.ratios = pairs.into_iter().map(|(a, b)| self.ratio(&a, &b)).collect();
    }

    fn system(&self, name: &str) -> SystemSummary {
        let runs: Vec<&Run> = self.runs.iter().filter(|r| r.system == name).collect();
        let good = || runs.iter().filter(|r| r.summary.handoffs > 0);
        let mut processes: Vec<String> = Vec::new();
        for r in &runs {
            for p in &r.processes {
                if !processes.contains(&p.process) {
                    processes.push(p.process.clone());
                }
            }
        }
        SystemSummary {
            system: name.to_owned(),
            handoffs: runs.iter().map(|r| r.summary.handoffs).sum(),
            errors: runs.iter().map(|r| r.summary.errors).sum(),
            first_error: runs.iter().find_map(|r| r.summary.first_error.clone()),
            p50_ms: Spread::of(good().map(|r| r.summary.p50_ms)),
            p90_ms: Spread::of(good().map(|r| r.summary.p90_ms)),
            p99_ms: Spread::of(good().map(|r| r.summary.p99_ms)),
            per_sec: Spread::of(runs.iter().map(|r| r.summary.per_sec)),
            cpu_micros_per_handoff: Spread::of(good().filter_map(|r| r.cpu_micros_per_handoff)),
            processes: processes
                .into_iter()
                .map(|p| {
                    let of = |r: &&&Run| r.processes.iter().find(|x| x.process == p).cloned();
                    ProcessSummary {
                        cpu_micros_per_handoff: Spread::of(
                            good()
                                .filter_map(|r| of(&r))
                                .map(|x| x.cpu_micros_per_handoff),
                        ),
                        cpu_share: Spread::of(good().filter_map(|r| {
                            let total: f64 = r.processes.iter().map(|x| x.cpu_secs).sum();
                            of(&r).map(|x| x.cpu_secs / total.max(1e-9))
                        })),
                        process: p,
                    }
                })
                .collect(),
            commands_per_commit: Spread::of(
                good().filter_map(|r| r.store.as_ref().map(|s| s.commands_per_commit)),
            ),
            commit_ms_mean: Spread::of(
                good().filter_map(|r| r.store.as_ref().map(|s| s.commit_ms_mean)),
            ),
        }
    }

    fn ratio(&self, system: &str, baseline: &str) -> RatioSummary {
        let pairs: Vec<(&Summary, &Summary)> = self
            .runs
            .iter()
            .filter(|r| r.system == system && r.summary.handoffs > 0)
            .filter_map(|a| {
                let b = self.runs.iter().find(|b| {
                    b.system == baseline && b.round == a.round && b.summary.handoffs > 0
                })?;
                Some((&a.summary, &b.summary))
            })
            .collect();
        RatioSummary {
            system: system.to_owned(),
            baseline: baseline.to_owned(),
            p50: Spread::of(pairs.iter().map(|(a, b)| a.p50_ms / b.p50_ms)),
            p99: Spread::of(pairs.iter().map(|(a, b)| a.p99_ms / b.p99_ms)),
            throughput: Spread::of(pairs.iter().map(|(a, b)| a.per_sec / b.per_sec)),
        }
    }

    pub fn print(&self) {
        let w = &self.workload;
        println!();
        println!(
            "Baton bench: {}, {} CPUs; {} agents in {} tenant(s), concurrency {}, {} B transfer data{}{}{}",
            w.server,
            self.cpus,
            w.agents,
            w.tenants,
            w.concurrency,
            w.payload_bytes,
            if w.backlog > 0 {
                format!(", backlog {} chats", w.backlog)
            } else {
                String::new()
            },
            if w.messages > 0 {
                format!(
                    ", {} × {} B chat messages per chat",
                    w.messages, w.message_bytes
                )
            } else {
                String::new()
            },
            if w.encrypt {
                ", transfer data encrypted at rest"
            } else {
                ""
            },
        );
        println!(
            "{} rounds of {:.1} s per system, interleaved; figures are the median (min–max) over rounds",
            self.rounds, self.duration_secs
        );
        for s in &self.setup {
            println!(
                "setup {}: agents created in {:.2}s, logged in in {:.2}s, connected and chains started in {:.2}s, workload in {:.2}s",
                s.system, s.create_agents_secs, s.logins_secs, s.connect_secs, s.workload_secs
            );
        }
        println!();
        println!(
            "  {:<14} {:>24} {:>24} {:>26} {:>22}",
            "system", "p50 ms", "p99 ms", "hand-offs/s", "CPU µs/hand-off"
        );
        let show = |s: &Option<Spread>, d: usize| s.map_or("n/a".to_owned(), |s| s.show(d));
        for s in &self.systems {
            println!(
                "  {:<14} {:>24} {:>24} {:>26} {:>22}",
                s.system,
                show(&s.p50_ms, 3),
                show(&s.p99_ms, 3),
                show(&s.per_sec, 0),
                show(&s.cpu_micros_per_handoff, 0),
            );
        }
        println!(
            "  {:<14} {:>24} {:>24}   (one {}-byte write + fdatasync at a time)",
            "fsync alone",
            format!("{:.3}", self.fsync_alone_p50_ms),
            format!("{:.3}", self.fsync_alone_p99_ms),
            w.payload_bytes
        );
        if !self.ratios.is_empty() {
            println!();
            println!(
                "  {:<30} {:>24} {:>24} {:>24}",
                "ratio (same round)", "p50", "p99", "throughput"
            );
            for r in &self.ratios {
                println!(
                    "  {:<30} {:>24} {:>24} {:>24}",
                    format!("{} / {}", r.system, r.baseline),
                    show(&r.p50, 2),
                    show(&r.p99, 2),
                    // A tiny throughput ratio still shows its digits (0.0021, not 0.00).
                    show(
                        &r.throughput,
                        if r.throughput.is_some_and(|t| t.max < 0.1) {
                            4
                        } else {
                            2
                        }
                    ),
                );
            }
        }
        println!();
        for s in &self.systems {
            if s.processes.len() > 1 || s.commands_per_commit.is_some() {
                let procs: Vec<String> = s
                    .processes
                    .iter()
                    .map(|p| {
                        format!(
                            "{} {} µs/hand-off ({} of the CPU)",
                            p.process,
                            show(&p.cpu_micros_per_handoff, 0),
                            p.cpu_share
                                .map_or("n/a".into(), |c| format!("{:.0}%", c.median * 100.0))
                        )
                    })
                    .collect();
                println!("{}: {}", s.system, procs.join("; "));
                if let (Some(c), Some(t)) = (s.commands_per_commit, s.commit_ms_mean) {
                    println!(
                        "  store: {} commands per commit, {} ms per commit",
                        c.show(1),
                        t.show(2)
                    );
                }
            }
            if s.errors > 0 {
                println!(
                    "{}: {} errors; first: {}",
                    s.system,
                    s.errors,
                    s.first_error.as_deref().unwrap_or("?")
                );
            }
        }
        if let Some(c) = &self.connections {
            println!(
                "connections: {} idle agents — created in {:.1}s, logged in in {:.1}s, connected in {:.1}s",
                c.count, c.create_agents_secs, c.logins_secs, c.connect_secs
            );
            match (
                c.rss_before_bytes,
                c.rss_after_bytes,
                c.bytes_per_connection,
            ) {
                (Some(b), Some(a), Some(per)) => println!(
                    "  RSS {} → {}: {:.1} KiB per connection ({})",
                    mib(b),
                    mib(a),
                    per / 1024.0,
                    c.what
                ),
                _ => println!("  RSS per connection: {}", c.what),
            }
        }
        for n in &self.notes {
            println!("note: {n}");
        }
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_is_median_and_range() {
        let s = Spread::of([3.0, 1.0, 2.0, f64::NAN]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.n), (2.0, 1.0, 3.0, 3));
        let s = Spread::of([4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!(s.median, 2.5);
        assert!(Spread::of([f64::NAN]).is_none());
    }
}
