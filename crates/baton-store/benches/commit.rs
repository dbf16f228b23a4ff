//! `SqliteStore::commit` of real change sets (WAL, `synchronous=FULL`, so each commit is
//! durable): one hand-off per transaction, and 16 sharing one (group commit). The figure
//! is mostly the disk's fsync; run it on the disk you deploy on. `cargo bench -p baton-store`.

use baton_core::{
    AdminCommand, Changes, Command, Core, CoreConfig, SessionId, TenantId, TenantSettings,
};
use baton_protocol::{Channel, Customer, Method, Millis};
use baton_store::{Batch, SqliteStore, Store};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const T0: Millis = 1_700_000_000_000;

fn ok(core: &mut Core, command: Command) {
    if let Some(Err(e)) = core.apply(command, T0).reply {
        panic!("command refused: {e}");
    }
}

fn request(core: &mut Core, conn: u64, method: Method) {
    ok(core, Command::Request { conn, method });
}

/// Agents `a` (ready) and `b`, both connected with integration `crm`, on chat service `s`.
fn world() -> Core {
    let mut core = Core::new(CoreConfig::default());
    ok(
        &mut core,
        Command::Admin(AdminCommand::CreateTenant {
            id: TenantId("t".into()),
            settings: TenantSettings::default(),
        }),
    );
    ok(
        &mut core,
        Command::Admin(AdminCommand::CreateService {
            id: "svc-s".into(),
            tenant: "t".into(),
            name: "s".into(),
            channels: vec![Channel::Chat],
            ring_timeout_ms: 600_000,
        }),
    );
    ok(
        &mut core,
        Command::Admin(AdminCommand::CreateIntegration {
            tenant: "t".into(),
            key: "crm".into(),
            name: "CRM".into(),
            allowed_origins: vec![],
        }),
    );
    for (name, conn) in [("a", 1), ("b", 2)] {
        ok(
            &mut core,
            Command::Admin(AdminCommand::CreateAgent {
                id: name.into(),
                tenant: "t".into(),
                username: name.into(),
                display_name: name.into(),
                extension: None,
                services: vec!["s".into()],
                max_chats: 50,
            }),
        );
        ok(
            &mut core,
            Command::Connect {
                agent: name.into(),
                session: SessionId(format!("s-{name}")),
                conn,
                integration_key: Some("crm".into()),
            },
        );
    }
    core
}

/// Route → accept → blind transfer with 1 KiB of data → accept, `n` times; the change set.
fn handoffs(core: &mut Core, next: &mut u64, n: usize, data: &str) -> Changes {
    for _ in 0..n {
        *next += 1;
        let id = format!("int-{next}");
        request(
            core,
            1,
            Method::SetAgentState {
                state: "ready".into(),
                reason: None,
            },
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
                customer_token_hash: format!("hash-{next}"),
            },
        );
        request(
            core,
            1,
            Method::AcceptInteraction {
                id: Some(id.clone()),
            },
        );
        request(
            core,
            1,
            Method::BlindTransfer {
                target: "b".into(),
                data: Some(data.to_owned()),
                id: Some(id.clone()),
            },
        );
        request(
            core,
            2,
            Method::AcceptInteraction {
                id: Some(id.clone()),
            },
        );
        request(core, 2, Method::CompleteInteraction { id: Some(id) });
    }
    core.take_changes()
}

fn commit(c: &mut Criterion) {
    let dir = tempfile::tempdir_in(
        std::env::var_os("BATON_BENCH_DIR").unwrap_or_else(|| std::env::temp_dir().into()),
    )
    .expect("temp dir");
    let store = SqliteStore::open(dir.path()).expect("store opens");
    let mut core = world();
    store
        .commit(&Batch {
            changes: core.take_changes(),
            ..Batch::default()
        })
        .expect("setup commits");
    let data = format!(r#"{{"caseId":"C-1042","pad":"{}"}}"#, "x".repeat(990));
    let mut next = 0u64;
    let mut group = c.benchmark_group("sqlite_commit");
    group.sample_size(30);
    for per_commit in [1usize, 16] {
        group.throughput(Throughput::Elements(per_commit as u64));
        group.bench_function(BenchmarkId::new("handoffs", per_commit), |b| {
            b.iter_batched(
                || Batch {
                    changes: handoffs(&mut core, &mut next, per_commit, &data),
                    ..Batch::default()
                },
                |batch| store.commit(&batch).expect("commit"),
                BatchSize::PerIteration,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, commit);
criterion_main!(benches);
