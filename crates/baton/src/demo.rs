//! `baton demo`: the server with tenant `demo` seeded, and the URLs to try a transfer.

use baton_server::settings::{
    AgentConfig, DidNumberConfig, DispositionEntry, IntegrationConfig, Secret, ServiceConfig,
    TeamConfig, TenantConfig,
};
use baton_server::{Application, ConfigFile, Settings};

use crate::cli::DemoArgs;

pub const DEMO_PASSWORD: &str = "demo";
pub const DEMO_INGRESS: &str = "demo-ingress";
/// The integration key Bright Pattern's example integration uses by default.
pub const EXAMPLE_INTEGRATION: &str = "test-adapter";
/// Where Bright Pattern's example integration runs with `npx vite` / `npx vite preview`.
const EXAMPLE_ORIGINS: [&str; 4] = [
    "http://localhost:5173",
    "http://127.0.0.1:5173",
    "http://localhost:4173",
    "http://127.0.0.1:4173",
];

/// Tenant `demo`: Sales and Support for chat and voice, alice, bob and carol, the demo CRM;
/// not-ready reasons, dispositions (Support requires one), two DIDs and a supervised team.
pub fn demo_tenant(origins: Vec<String>) -> TenantConfig {
    use baton_protocol::Channel::{Chat, Voice};
    use baton_protocol::DispositionType as T;
    let disposition = |code: &str, name: &str, kind| DispositionEntry {
        code: code.into(),
        name: name.into(),
        kind,
    };
    let agent = |username: &str, name: &str, ext: &str| AgentConfig {
        username: username.into(),
        password: DEMO_PASSWORD.into(),
        display_name: Some(name.into()),
        extension: Some(ext.into()),
        services: vec!["Sales".into(), "Support".into()],
        max_chats: Some(3),
    };
    TenantConfig {
        name: "demo".into(),
        settings: None,
        services: ["Sales", "Support"]
            .into_iter()
            .map(|name| ServiceConfig {
                name: name.into(),
                channels: vec![Chat, Voice],
                ring_timeout_ms: None,
                use_dispositions: Some(true),
                require_disposition: Some(name == "Support"),
                dispositions: Some(vec![
                    disposition("resolved", "Resolved", T::Success),
                    disposition("callback", "Call back later", T::Continue),
                    disposition("not-resolved", "Not resolved", T::Failure),
                    disposition("spam", "Spam", T::Spam),
                ]),
                max_queue_length: None,
                max_queue_wait_ms: None,
            })
            .collect(),
        agents: vec![
            agent("alice", "Alice Adams", "1001"),
            agent("bob", "Bob Brown", "1002"),
            agent("carol", "Carol Clark", "1003"),
        ],
        integrations: vec![
            IntegrationConfig {
                key: "demo-crm".into(),
                name: "Demo CRM".into(),
                allowed_origins: origins.clone(),
                config: Some(serde_json::Map::from_iter([(
                    "recordUrl".to_owned(),
                    serde_json::Value::from("/demo-crm/?case={id}"),
                )])),
            },
            IntegrationConfig {
                key: EXAMPLE_INTEGRATION.into(),
                name: "Bright Pattern example integration".into(),
                allowed_origins: example_origins(&origins, &[]),
                config: None,
            },
        ],
        ingress_tokens: vec![DEMO_INGRESS.into()],
        not_ready_reasons: Some(vec![
            "Lunch".into(),
            "Meeting".into(),
            "Training".into(),
            "Break".into(),
        ]),
        did_numbers: Some(vec![
            DidNumberConfig {
                number: "+1 555 0100".into(),
                is_sms: true,
                is_voice: true,
            },
            DidNumberConfig {
                number: "+1 555 0199".into(),
                is_sms: false,
                is_voice: true,
            },
        ]),
        teams: vec![TeamConfig {
            name: "Tier 1".into(),
            is_supervised: Some(true),
            members: vec!["alice".into(), "bob".into()],
            supervisors: vec!["carol".into()],
        }],
    }
}

/// The origins `test-adapter` accepts: the demo's own, the example's dev ports, and the
/// ones given with `--allow-origin`.
fn example_origins(own: &[String], extra: &[String]) -> Vec<String> {
    own.iter()
        .cloned()
        .chain(EXAMPLE_ORIGINS.map(String::from))
        .chain(extra.iter().cloned())
        .collect()
}

pub async fn run(args: DemoArgs) -> Result<(), String> {
    let admin_token = baton_server::auth::new_token();
    let tls = if args.tls {
        // Kept in the data directory, so a browser told to trust it once keeps trusting it.
        let dir = args.data_dir.join("tls");
        Some(
            baton_server::tls::self_signed(&dir, &["localhost", "127.0.0.1", "::1"])
                .map_err(|e| e.to_string())?,
        )
    } else {
        None
    };
    let settings = Settings {
        listen: args.listen,
        data_dir: args.data_dir,
        admin_token: Some(Secret::new(admin_token.clone())),
        tls: tls.clone(),
        ..Settings::default()
    };
    let app = Application::build(settings)
        .await
        .map_err(|e| e.to_string())?;
    let addr = app.local_addr();
    // Both schemes, so the same data directory works with and without --tls.
    let origins = ["http", "https"]
        .into_iter()
        .flat_map(|scheme| {
            ["127.0.0.1", "localhost"].map(|host| format!("{scheme}://{host}:{}", addr.port()))
        })
        .collect::<Vec<String>>();
    app.seed(&ConfigFile {
        tenants: vec![demo_tenant(origins.clone())],
        ..ConfigFile::default()
    })
    .await
    .map_err(|e| e.to_string())?;
    // A data directory from an earlier run on another port: this run's origins count.
    let example = example_origins(&origins, &args.allow_origin);
    for (key, allowed_origins) in [("demo-crm", origins), (EXAMPLE_INTEGRATION, example)] {
        let set_origins = baton_core::AdminCommand::SetIntegrationOrigins {
            tenant: baton_core::TenantId("demo".into()),
            key: key.into(),
            allowed_origins,
        };
        app.state()
            .engine
            .call(baton_core::Command::Admin(set_origins), Default::default())
            .await
            .map_err(|e| e.to_string())?;
    }
    crate::cli::announce(&app);
    let scheme = if tls.is_some() { "https" } else { "http" };
    let base = format!("{scheme}://{addr}");
    println!();
    println!(
        "Baton demo — tenant \"demo\", agents alice, bob and carol, password \"{DEMO_PASSWORD}\""
    );
    println!("  Alice's CRM:    {base}/demo-crm/?agent=alice");
    println!("  Bob's CRM:      {base}/demo-crm/?agent=bob");
    // A signed grant, not the ingress token: the link is meant to be shared (see SECURITY.md).
    let state = app.state();
    let grant = state.guard.grants.sign(&baton_server::guard::Grant {
        tenant: baton_core::TenantId("demo".into()),
        service: None,
        expires_at: state.clock.now() + state.guard.limits.chat_grant_max_ttl_secs as i64 * 1000,
    });
    println!("  Customer chat:  {base}/chat/?grant={grant}");
    println!("  Agent widget:   {base}/widget/");
    println!(
        "  Bright Pattern integrations: integrationKey \"{EXAMPLE_INTEGRATION}\", bpatternDomain={addr}, tenant \"demo\" (more origins with --allow-origin)"
    );
    println!("  Admin API:      Authorization: Bearer {admin_token}");
    if let Some(tls) = &tls {
        println!();
        println!(
            "The certificate is self-signed ({}): the browser warns once per profile; accept it, or trust the file.",
            tls.cert_path().display()
        );
    }
    println!();
    println!(
        "Log in as alice and bob, set both Ready, start a chat as a customer, then blind-transfer it from alice to bob."
    );
    app.run_until(crate::cli::shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}
