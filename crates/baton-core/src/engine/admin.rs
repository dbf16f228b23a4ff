//! Admin commands: tenants, services, agents, integrations, settings, sessions.

use baton_protocol::{ApiError, Channel, ErrorCode};

use crate::command::AdminCommand;
use crate::entity::*;

use super::{Core, CoreResult, err};

impl Core {
    /// The agent of `tenant` with this id, or `object_not_found`.
    fn tenant_agent(&self, tenant: &TenantId, agent: &AgentId) -> CoreResult<()> {
        match self.agents.get(agent) {
            Some(a) if &a.tenant == tenant => Ok(()),
            _ => Err(err(ErrorCode::ObjectNotFound, format!("no agent {agent}"))),
        }
    }

    pub(super) fn admin(&mut self, command: AdminCommand) -> CoreResult {
        match command {
            AdminCommand::Directory(command) => self.directory(command),
            AdminCommand::UpdateAgent {
                tenant,
                agent,
                display_name,
                services,
            } => self.update_agent(tenant, agent, display_name, services),
            AdminCommand::SetAgentDisabled {
                tenant,
                agent,
                disabled,
            } => self.set_agent_disabled(tenant, agent, disabled),
            AdminCommand::DeleteAgent { tenant, agent } => self.delete_agent(tenant, agent),
            AdminCommand::EndSession { tenant, session } => self.end_session(tenant, session),
            AdminCommand::CreateTenant { id, settings } => self.create_tenant(id, settings),
            AdminCommand::CreateService {
                id,
                tenant,
                name,
                channels,
                ring_timeout_ms,
            } => self.create_service(id, tenant, name, channels, ring_timeout_ms),
            AdminCommand::SetQueueLimits {
                tenant,
                service,
                max_queue_length,
                max_queue_wait_ms,
            } => self.set_queue_limits(tenant, service, max_queue_length, max_queue_wait_ms),
            AdminCommand::CreateAgent {
                id,
                tenant,
                username,
                display_name,
                extension,
                services,
                max_chats,
            } => self.create_agent(
                id,
                tenant,
                username,
                display_name,
                extension,
                services,
                max_chats,
            ),
            AdminCommand::SetIntegrationOrigins {
                tenant,
                key,
                allowed_origins,
            } => self.set_integration_origins(tenant, key, allowed_origins),
            AdminCommand::CreateIntegration {
                tenant,
                key,
                name,
                allowed_origins,
            } => self.create_integration(tenant, key, name, allowed_origins),
            AdminCommand::SetSupervisor {
                tenant,
                username,
                supervisor,
            } => self.set_supervisor(&tenant, &username, supervisor),
            AdminCommand::SetServiceRecording {
                tenant,
                service,
                record_calls,
            } => self.set_service_recording(&tenant, &service, record_calls),
            AdminCommand::UpdateSettings {
                tenant,
                transfer_data_timeout_ms,
                transfer_data_max_bytes,
                retention_secs,
                dtmf_log,
                record_calls,
            } => self.update_settings(
                tenant,
                transfer_data_timeout_ms,
                transfer_data_max_bytes,
                retention_secs,
                dtmf_log,
                record_calls,
            ),
        }
    }

    /// Changes an agent's display name or services.
    fn update_agent(
        &mut self,
        tenant: TenantId,
        agent: AgentId,
        display_name: Option<String>,
        services: Option<Vec<String>>,
    ) -> CoreResult {
        self.tenant_agent(&tenant, &agent)?;
        let service_ids = match &services {
            None => None,
            Some(names) => Some(self.service_ids(&tenant, names)?),
        };
        let a = self.agents.get_mut(&agent).expect("checked");
        if let Some(name) = display_name {
            a.display_name = name;
        }
        if let Some(ids) = service_ids {
            a.services = ids;
        }
        self.touch_agent(&agent);
        Ok(self.agent_admin_view(&agent))
    }

    /// Disables an agent, logging it out, or enables it again.
    fn set_agent_disabled(
        &mut self,
        tenant: TenantId,
        agent: AgentId,
        disabled: bool,
    ) -> CoreResult {
        self.tenant_agent(&tenant, &agent)?;
        if disabled {
            let e = ApiError::new(
                ErrorCode::UserDisabledOrDeleted,
                "this agent was disabled by an administrator",
            );
            self.end_login(&agent, e, "disabled");
        }
        self.agents.get_mut(&agent).expect("checked").disabled = disabled;
        self.touch_agent(&agent);
        Ok(self.agent_admin_view(&agent))
    }

    /// Logs an agent out and forgets it; its history stays in the store.
    fn delete_agent(&mut self, tenant: TenantId, agent: AgentId) -> CoreResult {
        self.tenant_agent(&tenant, &agent)?;
        let e = ApiError::new(
            ErrorCode::UserDisabledOrDeleted,
            "this agent was deleted by an administrator",
        );
        self.end_login(&agent, e, "deleted");
        if let Some(a) = self.agents.remove(&agent) {
            self.names.remove(&a);
        }
        self.touch_agent(&agent);
        self.views.forget_agent(&agent);
        Ok(serde_json::Value::Null)
    }

    /// Ends a session; its agent, if logged in with it, is logged out.
    fn end_session(&mut self, tenant: TenantId, session: SessionId) -> CoreResult {
        let holder = self
            .agents
            .values()
            .find(|a| a.tenant == tenant && a.login.as_ref().is_some_and(|l| l.session == session))
            .map(|a| a.id.clone());
        if let Some(agent) = holder {
            let e = ApiError::new(
                ErrorCode::InvalidToken,
                "this session was revoked by an administrator",
            );
            self.end_login(&agent, e, "revoked");
        }
        Ok(serde_json::Value::Null)
    }

    /// Creates a tenant; an existing id is a conflict.
    fn create_tenant(&mut self, id: TenantId, settings: TenantSettings) -> CoreResult {
        if self.tenants.contains_key(&id) {
            return Err(conflict(format!("tenant {id}")));
        }
        self.tenants.insert(
            id.clone(),
            Tenant {
                id: id.clone(),
                settings,
                desk: Default::default(),
            },
        );
        self.mark_tenant(&id);
        Ok(serde_json::json!({"name": id}))
    }

    /// Creates a service; a name already in the tenant is a conflict.
    fn create_service(
        &mut self,
        id: ServiceId,
        tenant: TenantId,
        name: String,
        channels: Vec<Channel>,
        ring_timeout_ms: u64,
    ) -> CoreResult {
        self.require_tenant(&tenant)?;
        if self.service_by_name(&tenant, &name).is_some() {
            return Err(conflict(format!("service {name}")));
        }
        if channels.is_empty() {
            return Err(err(
                ErrorCode::InvalidArgs,
                "a service needs at least one channel",
            ));
        }
        self.services.insert(
            id.clone(),
            Service {
                id: id.clone(),
                tenant,
                name: name.clone(),
                channels,
                ring_timeout_ms,
                dispositions: Default::default(),
                max_queue_length: None,
                max_queue_wait_ms: None,
                record_calls: None,
            },
        );
        self.mark_service(&id);
        Ok(serde_json::json!({"id": id, "name": name}))
    }

    /// Sets a service's queue limits (`None`: the server's default).
    fn set_queue_limits(
        &mut self,
        tenant: TenantId,
        service: String,
        max_queue_length: Option<u32>,
        max_queue_wait_ms: Option<u64>,
    ) -> CoreResult {
        self.require_tenant(&tenant)?;
        let id = self
            .service_by_name(&tenant, &service)
            .map(|s| s.id.clone())
            .ok_or_else(|| err(ErrorCode::NoService, format!("no service {service:?}")))?;
        let s = self.services.get_mut(&id).expect("found");
        s.max_queue_length = max_queue_length;
        s.max_queue_wait_ms = max_queue_wait_ms;
        self.mark_service(&id);
        Ok(serde_json::json!({
            "maxQueueLength": max_queue_length,
            "maxQueueWaitMs": max_queue_wait_ms,
        }))
    }

    /// Creates an agent, not ready and logged out; a taken username or extension is a conflict.
    #[allow(clippy::too_many_arguments)]
    fn create_agent(
        &mut self,
        id: AgentId,
        tenant: TenantId,
        username: String,
        display_name: String,
        extension: Option<String>,
        services: Vec<String>,
        max_chats: u32,
    ) -> CoreResult {
        self.require_tenant(&tenant)?;
        if self.names.by_username(&tenant, &username).is_some() {
            return Err(conflict(format!("agent {username}")));
        }
        if let Some(ext) = &extension
            && self.names.by_extension(&tenant, ext).is_some()
        {
            return Err(conflict(format!("extension {ext}")));
        }
        let service_ids = self.service_ids(&tenant, &services)?;
        let agent = Agent {
            id: id.clone(),
            tenant,
            username: username.clone(),
            display_name,
            extension,
            services: service_ids,
            max_chats: max_chats.max(1),
            chosen: ChosenState::NotReady { reason: None },
            login: None,
            idle_since: self.now,
            active_interaction: None,
            selected_service: None,
            selected_did: None,
            supervisor: false,
            disabled: false,
        };
        self.names.insert(&agent);
        self.agents.insert(id.clone(), agent);
        self.touch_agent(&id);
        Ok(serde_json::json!({"id": id, "username": username}))
    }

    /// Replaces an integration's allowed origins.
    fn set_integration_origins(
        &mut self,
        tenant: TenantId,
        key: String,
        allowed_origins: Vec<String>,
    ) -> CoreResult {
        let k = (tenant, key);
        self.require_integration_mut(&k)?.allowed_origins = allowed_origins.clone();
        self.mark_integration(&k);
        Ok(serde_json::json!({"integrationKey": k.1, "allowedOrigins": allowed_origins}))
    }

    /// Creates an integration; a key already in the tenant is a conflict.
    fn create_integration(
        &mut self,
        tenant: TenantId,
        key: String,
        name: String,
        allowed_origins: Vec<String>,
    ) -> CoreResult {
        self.require_tenant(&tenant)?;
        let k = (tenant.clone(), key.clone());
        if self.integrations.contains_key(&k) {
            return Err(conflict(format!("integration {key}")));
        }
        self.integrations.insert(
            k.clone(),
            Integration {
                tenant,
                key: key.clone(),
                name: name.clone(),
                allowed_origins: allowed_origins.clone(),
                config: Default::default(),
            },
        );
        self.mark_integration(&k);
        Ok(
            serde_json::json!({"integrationKey": key, "name": name, "allowedOrigins": allowed_origins}),
        )
    }

    /// Changes a tenant's transfer-data and retention settings, each checked against its range.
    fn update_settings(
        &mut self,
        tenant: TenantId,
        transfer_data_timeout_ms: Option<u64>,
        transfer_data_max_bytes: Option<usize>,
        retention_secs: Option<u64>,
        dtmf_log: Option<DtmfLog>,
        record_calls: Option<bool>,
    ) -> CoreResult {
        self.require_tenant(&tenant)?;
        if let Some(t) = transfer_data_timeout_ms
            && !TenantSettings::TIMEOUT_RANGE.contains(&t)
        {
            return Err(err(
                ErrorCode::InvalidArgs,
                "transferDataTimeoutMs must be 100..=30000",
            ));
        }
        if let Some(b) = transfer_data_max_bytes
            && !(1..=TenantSettings::MAX_BYTES_LIMIT).contains(&b)
        {
            return Err(err(
                ErrorCode::InvalidArgs,
                "transferDataMaxBytes must be 1..=1048576",
            ));
        }
        let t = self.tenants.get_mut(&tenant).expect("checked");
        if let Some(v) = transfer_data_timeout_ms {
            t.settings.transfer_data_timeout_ms = v;
        }
        if let Some(v) = transfer_data_max_bytes {
            t.settings.transfer_data_max_bytes = v;
        }
        if let Some(v) = retention_secs {
            t.settings.retention_secs = v;
        }
        if let Some(v) = dtmf_log {
            t.settings.dtmf_log = v;
        }
        if record_calls.is_some() {
            t.settings.record_calls = record_calls;
        }
        let settings = t.settings;
        self.mark_tenant(&tenant);
        Ok(serde_json::to_value(settings).expect("json"))
    }

    /// The integration with this key, to change, or `object_not_found`.
    pub(crate) fn require_integration_mut(
        &mut self,
        key: &(TenantId, String),
    ) -> CoreResult<&mut Integration> {
        self.integrations.get_mut(key).ok_or_else(|| {
            err(
                ErrorCode::ObjectNotFound,
                format!("no integration {}", key.1),
            )
        })
    }

    /// The ids of a tenant's services named in an admin request; `object_not_found` names
    /// the first that does not exist.
    fn service_ids(&self, tenant: &TenantId, names: &[String]) -> CoreResult<Vec<ServiceId>> {
        names
            .iter()
            .map(|name| Ok(self.require_service_named(tenant, name)?.id.clone()))
            .collect()
    }

    pub(crate) fn require_tenant(&self, tenant: &TenantId) -> CoreResult<()> {
        if self.tenants.contains_key(tenant) {
            Ok(())
        } else {
            Err(err(
                ErrorCode::ObjectNotFound,
                format!("no tenant {tenant}"),
            ))
        }
    }
}

/// Marks an admin error as a conflict with something that exists (HTTP 409).
pub fn conflict(what: String) -> ApiError {
    ApiError::new(ErrorCode::InvalidArgs, format!("{what} already exists"))
}

/// Whether an error from [`Core::apply`] is a [`conflict`].
pub fn is_conflict(e: &ApiError) -> bool {
    e.code == ErrorCode::InvalidArgs.code() && e.message.ends_with(" already exists")
}
