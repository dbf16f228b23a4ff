//! `Core::apply` cost of whole hand-off cycles, without I/O: what the engine task spends per
//! hand-off before the commit. `cargo bench -p baton-core`.
//!
//! `handoff_cycle_backlog` runs the same cycle while another tenant has a backlog of queued
//! chats and no agent ready: with routing indexed per service (decision 0015) the cycle
//! no longer visits that backlog, so its cost barely moves with it.

use std::hint::black_box;

use baton_core::{AdminCommand, Command, Core, CoreConfig, SessionId, TenantId, TenantSettings};
use baton_protocol::{Channel, Customer, Method, Millis};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const T0: Millis = 1_700_000_000_000;
const A: u64 = 1;
const B: u64 = 2;

fn ok(core: &mut Core, command: Command, now: Millis) {
    let out = core.apply(command, now);
    if let Some(Err(e)) = out.reply {
        panic!("command refused: {e}");
    }
}

fn request(core: &mut Core, conn: u64, method: Method, now: Millis) {
    ok(core, Command::Request { conn, method }, now);
}

/// Tenant `t`, chat service `s`, integration `crm`, agents `a` (ready, takes routed chats)
/// and `b` (not ready, takes transfers), both connected with the integration.
fn world() -> Core {
    let mut core = Core::new(CoreConfig::default());
    let admin = |core: &mut Core, c: AdminCommand| ok(core, Command::Admin(c), T0);
    admin(
        &mut core,
        AdminCommand::CreateTenant {
            id: TenantId("t".into()),
            settings: TenantSettings::default(),
        },
    );
    admin(
        &mut core,
        AdminCommand::CreateService {
            id: "svc-s".into(),
            tenant: "t".into(),
            name: "s".into(),
            channels: vec![Channel::Chat],
            ring_timeout_ms: 600_000,
        },
    );
    admin(
        &mut core,
        AdminCommand::CreateIntegration {
            tenant: "t".into(),
            key: "crm".into(),
            name: "CRM".into(),
            allowed_origins: vec![],
        },
    );
    for (name, conn) in [("a", A), ("b", B)] {
        admin(
            &mut core,
            AdminCommand::CreateAgent {
                id: name.into(),
                tenant: "t".into(),
                username: name.into(),
                display_name: name.to_uppercase(),
                extension: None,
                services: vec!["s".into()],
                max_chats: 50,
            },
        );
        ok(
            &mut core,
            Command::Connect {
                agent: name.into(),
                session: SessionId(format!("session-{name}")),
                conn,
                integration_key: Some("crm".into()),
            },
            T0,
        );
    }
    core.take_changes();
    core
}

/// One chat: routed to `a`, accepted, blind-transferred to `b` with `data`, accepted by
/// `b`, completed; `a` goes ready again. The change set is taken, as the engine does.
fn cycle(core: &mut Core, n: u64, data: &str, now: Millis) {
    let id = format!("int-{n}");
    request(
        core,
        A,
        Method::SetAgentState {
            state: "ready".into(),
            reason: None,
        },
        now,
    );
    ok(
        core,
        Command::NewInteraction {
            id: id.as_str().into(),
            tenant: "t".into(),
            channel: Channel::Chat,
            service: "s".into(),
            customer: Customer {
                name: "Customer".into(),
                phone: None,
                email: None,
            },
            attached_data: Default::default(),
            customer_token_hash: format!("hash-{n}"),
        },
        now,
    );
    request(
        core,
        A,
        Method::AcceptInteraction {
            id: Some(id.clone()),
        },
        now,
    );
    request(
        core,
        A,
        Method::BlindTransfer {
            target: "b".into(),
            data: Some(data.to_owned()),
            id: Some(id.clone()),
        },
        now,
    );
    request(
        core,
        B,
        Method::AcceptInteraction {
            id: Some(id.clone()),
        },
        now,
    );
    request(core, B, Method::CompleteInteraction { id: Some(id) }, now);
    black_box(core.take_changes());
}

fn payload(bytes: usize) -> String {
    let head = r#"{"caseId":"C-1042","pad":""#;
    format!(
        "{head}{}\"}}",
        "x".repeat(bytes.saturating_sub(head.len() + 2))
    )
}

fn handoff_cycle(c: &mut Criterion) {
    let mut group = c.benchmark_group("handoff_cycle");
    for bytes in [1024usize, 65536] {
        let data = payload(bytes);
        group.throughput(Throughput::Elements(1));
        group.bench_with_input(BenchmarkId::from_parameter(bytes), &data, |bench, data| {
            let mut core = world();
            let mut n = 0u64;
            bench.iter(|| {
                n += 1;
                cycle(&mut core, n, data, T0 + n as Millis);
            });
        });
    }
    group.finish();
}

/// Tenant `other` with a chat service whose `backlog` customers wait: its only agent is
/// never ready. Queue limits are off so the whole backlog fits.
fn add_backlog(core: &mut Core, backlog: usize) {
    let admin = |core: &mut Core, c: AdminCommand| ok(core, Command::Admin(c), T0);
    admin(
        core,
        AdminCommand::CreateTenant {
            id: TenantId("other".into()),
            settings: TenantSettings::default(),
        },
    );
    admin(
        core,
        AdminCommand::CreateService {
            id: "svc-other".into(),
            tenant: "other".into(),
            name: "q".into(),
            channels: vec![Channel::Chat],
            ring_timeout_ms: 600_000,
        },
    );
    admin(
        core,
        AdminCommand::SetQueueLimits {
            tenant: "other".into(),
            service: "q".into(),
            max_queue_length: Some(0),
            max_queue_wait_ms: Some(0),
        },
    );
    admin(
        core,
        AdminCommand::CreateAgent {
            id: "away".into(),
            tenant: "other".into(),
            username: "away".into(),
            display_name: "Away".into(),
            extension: None,
            services: vec!["q".into()],
            max_chats: 5,
        },
    );
    for n in 0..backlog {
        ok(
            core,
            Command::NewInteraction {
                id: format!("backlog-{n}").as_str().into(),
                tenant: "other".into(),
                channel: Channel::Chat,
                service: "q".into(),
                customer: Customer {
                    name: "Waiting".into(),
                    phone: None,
                    email: None,
                },
                attached_data: Default::default(),
                customer_token_hash: format!("backlog-hash-{n}"),
            },
            T0,
        );
    }
    core.take_changes();
}

fn handoff_cycle_backlog(c: &mut Criterion) {
    let mut group = c.benchmark_group("handoff_cycle_backlog");
    let data = payload(1024);
    for backlog in [0usize, 2000] {
        group.throughput(Throughput::Elements(1));
        group.bench_with_input(
            BenchmarkId::from_parameter(backlog),
            &backlog,
            |bench, &backlog| {
                let mut core = world();
                add_backlog(&mut core, backlog);
                let mut n = 0u64;
                bench.iter(|| {
                    n += 1;
                    cycle(&mut core, n, &data, T0 + n as Millis);
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, handoff_cycle, handoff_cycle_backlog);
criterion_main!(benches);
