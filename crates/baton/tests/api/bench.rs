//! `baton bench` itself, run for a fraction of a second per system: every baseline, every
//! workload flag and the cluster mode go through their code paths and report every figure.
//! Structure only (fields present, counts above zero); speed is for BENCHMARKS.md.

use std::process::Command;

use serde_json::Value;

use crate::cluster::{DATABASE, NATS};

/// Runs `baton bench --json` with tiny runs and answers its report.
fn bench(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["bench", "--json", "--duration", "300ms", "--rounds", "2"])
        .args(args)
        .output()
        .expect("baton bench starts");
    assert!(
        out.status.success(),
        "baton bench {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

fn system<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["systems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["system"] == name)
        .unwrap_or_else(|| panic!("no system {name} in {report:#}"))
}

fn ratio<'a>(report: &'a Value, system: &str, baseline: &str) -> &'a Value {
    report["ratios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["system"] == system && r["baseline"] == baseline)
        .unwrap_or_else(|| panic!("no ratio {system} / {baseline} in {report:#}"))
}

/// A system that ran in both rounds, without errors, with CPU per hand-off when `cpu`.
fn assert_ran(report: &Value, name: &str, cpu: bool) {
    let s = system(report, name);
    assert!(s["handoffs"].as_u64().unwrap() > 0, "{name}: {s:#}");
    assert_eq!(s["errors"], 0, "{name}: {s:#}");
    for figure in ["p50Ms", "p99Ms", "perSec"] {
        assert_eq!(s[figure]["n"], 2, "{name} {figure}: {s:#}");
        assert!(s[figure]["median"].as_f64().unwrap() > 0.0);
        assert!(s[figure]["min"].as_f64() <= s[figure]["max"].as_f64());
    }
    if cpu {
        assert!(s["cpuMicrosPerHandoff"]["median"].as_f64().unwrap() > 0.0);
    }
}

fn assert_ratio(report: &Value, system: &str, baseline: &str) {
    let r = ratio(report, system, baseline);
    for figure in ["p50", "p99", "throughput"] {
        assert_eq!(r[figure]["n"], 2, "{system} / {baseline} {figure}: {r:#}");
        assert!(r[figure]["median"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn every_baseline_runs_interleaved_with_baton_in_rounds() {
    let report = bench(&["--agents", "4", "--concurrency", "2"]);
    // Interleaved: each round runs Baton, then every baseline, before the next round.
    let order: Vec<(u64, &str)> = report["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["round"].as_u64().unwrap(), r["system"].as_str().unwrap()))
        .collect();
    let nats = order.iter().any(|(_, s)| *s == "nats");
    let systems = ["baton", "ws relay", "group commit", "fsync each", "nats"];
    let systems = &systems[..if nats { 5 } else { 4 }];
    let expected: Vec<(u64, &str)> = (1..=2)
        .flat_map(|r| systems.iter().map(move |s| (r, *s)))
        .collect();
    assert_eq!(order, expected);
    assert_ran(&report, "baton", true);
    for baseline in &systems[1..] {
        assert_ran(&report, baseline, *baseline != "nats");
        assert_ratio(&report, "baton", baseline);
    }
    assert!(report["fsyncAloneP50Ms"].as_f64().unwrap() > 0.0);
    assert_eq!(report["durationSecs"], 0.3);
    let store = &system(&report, "baton")["commandsPerCommit"];
    assert!(store["median"].as_f64().unwrap() > 0.0, "{report:#}");
}

#[test]
fn workloads_tenants_backlog_long_transcripts_and_encryption_run() {
    let report = bench(&[
        "--agents",
        "6",
        "--concurrency",
        "3",
        "--tenants",
        "3",
        "--backlog",
        "5",
        "--messages",
        "4",
        "--message-bytes",
        "100",
        "--encrypt",
        "--spawn",
        "--baselines",
        "floor",
    ]);
    let w = &report["workload"];
    assert_eq!(
        (&w["tenants"], &w["backlog"], &w["messages"], &w["encrypt"]),
        (&3.into(), &5.into(), &4.into(), &true.into())
    );
    assert_eq!(report["tenants"].as_array().unwrap().len(), 3);
    assert!(report["setup"][0]["workloadSecs"].as_f64().unwrap() > 0.0);
    assert_ran(&report, "baton", true);
    assert_ran(&report, "group commit", true);
    assert_ratio(&report, "baton", "group commit");
    assert_eq!(report["systems"].as_array().unwrap().len(), 2);
    assert_eq!(
        system(&report, "baton")["processes"][0]["process"],
        "server process"
    );
}

#[test]
fn a_cluster_is_started_and_compared_with_one_node_and_embedded() {
    let report = bench(&[
        "--agents",
        "4",
        "--concurrency",
        "2",
        "--cluster",
        "2",
        "--database",
        DATABASE,
        "--nats",
        NATS,
    ]);
    for s in ["embedded", "1 node", "2 nodes"] {
        assert_ran(&report, s, true);
    }
    assert_ratio(&report, "2 nodes", "1 node");
    assert_ratio(&report, "1 node", "embedded");
    // No baseline unless asked for.
    assert_eq!(report["systems"].as_array().unwrap().len(), 3);
    let processes = system(&report, "2 nodes")["processes"].as_array().unwrap();
    assert_eq!(processes.len(), 2, "{processes:#?}");
    for p in processes {
        assert!(p["cpuMicrosPerHandoff"]["median"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn bad_bench_arguments_are_refused_with_a_reason() {
    for (args, says) in [
        (&["--tenants", "3", "--agents", "4"][..], "--tenants 3"),
        (&["--duration", "0s"][..], "a run lasts"),
        (&["--duration", "soon"][..], "not a duration"),
        (&["--nats", "nats://10.1.2.3:4222"][..], "loopback"),
        (&["--calls", "0"][..], "--calls must be"),
        (&["--calls", "5001"][..], "--calls must be"),
        (
            &["--calls", "2", "--connections", "5"][..],
            "cannot be used with",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_baton"))
            .arg("bench")
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

#[test]
fn calls_go_through_the_media_plane_and_the_bare_forwarder_in_rounds() {
    let report = bench(&["--calls", "2"]);
    assert_eq!(report["calls"], 2);
    let order: Vec<(u64, &str)> = report["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["round"].as_u64().unwrap(), r["system"].as_str().unwrap()))
        .collect();
    assert_eq!(
        order,
        [
            (1, "baton sfu"),
            (1, "bare udp"),
            (2, "baton sfu"),
            (2, "bare udp")
        ]
    );
    for run in report["runs"].as_array().unwrap() {
        // Frames really crossed: sent by one party's peer connection, received by the other's.
        assert!(run["sent"].as_u64().unwrap() > 0, "{run:#}");
        assert!(run["forwarded"].as_u64().unwrap() > 0, "{run:#}");
        assert!(run["forwarded"].as_u64() <= run["sent"].as_u64(), "{run:#}");
        for figure in ["p50Ms", "p99Ms", "maxMs", "perSec"] {
            assert!(run[figure].as_f64().unwrap() > 0.0, "{figure}: {run:#}");
        }
        assert!(run["p50Ms"].as_f64() <= run["p99Ms"].as_f64(), "{run:#}");
        assert!(run["cpuSecs"].is_number(), "{run:#}");
    }
    for name in ["baton sfu", "bare udp"] {
        let s = system(&report, name);
        for figure in ["p50Ms", "p99Ms", "perSec", "lossPercent"] {
            assert_eq!(s[figure]["n"], 2, "{name} {figure}: {s:#}");
        }
    }
    assert_eq!(report["ratio"]["p99"]["n"], 2, "{report:#}");
    // Two calls are no judge of the 1,000-call target.
    assert!(report.get("targetMet").is_none(), "{report:#}");
}
