//! The tenant's directory for the agent desktop: not-ready reasons, DID numbers, teams,
//! each service's dispositions and each integration's `config`; the admin commands that
//! set them, the admin reads, and the agent methods that read them or choose from them
//! (`setService`, `setDIDNumber`).
//!
//! Everything here is configuration kept inside existing records (tenant, service,
//! integration, agent), so it is stored and restored with them.

use baton_protocol::{
    DidNumber, DispositionData, DispositionTarget, DispositionType, ErrorCode, ServiceInfo, Team,
    TeamMember,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::engine::{Core, CoreResult, err};
use crate::entity::*;

/// The built-in team of every agent of the tenant.
pub const ALL_TEAM: &str = "all";

/// A tenant's desk configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeskConfig {
    /// `setAgentState("not_ready", r)` accepts only these when the list is not empty.
    #[serde(default)]
    pub not_ready_reasons: Vec<String>,
    #[serde(default)]
    pub did_numbers: Vec<DidNumber>,
    #[serde(default)]
    pub teams: Vec<TeamRecord>,
}

/// A team of agents. Its id is its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamRecord {
    pub name: String,
    pub is_supervised: bool,
    pub members: Vec<AgentId>,
    pub supervisors: Vec<AgentId>,
}

/// A service's dispositions.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DispositionConfig {
    pub use_dispositions: bool,
    /// Completing an interaction of this service needs a disposition first (error 16).
    pub require_disposition: bool,
    pub list: Vec<DispositionData>,
}

/// A DID number as an admin gives it; the id is derived from the number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DidInput {
    pub number: String,
    pub is_sms: bool,
    pub is_voice: bool,
}

/// A disposition as an admin gives it; the id is derived from the service and the code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispositionInput {
    pub code: String,
    pub name: String,
    pub kind: DispositionType,
}

/// Admin changes to the directory (`AdminCommand::Directory`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum DirectoryCommand {
    SetNotReadyReasons {
        tenant: TenantId,
        reasons: Vec<String>,
    },
    SetDidNumbers {
        tenant: TenantId,
        numbers: Vec<DidInput>,
    },
    /// Creates or replaces a team. Members and supervisors are usernames.
    PutTeam {
        tenant: TenantId,
        name: String,
        is_supervised: Option<bool>,
        members: Vec<String>,
        supervisors: Vec<String>,
    },
    DeleteTeam {
        tenant: TenantId,
        name: String,
    },
    /// Replaces a service's dispositions. `service` is its name or id.
    SetDispositions {
        tenant: TenantId,
        service: String,
        use_dispositions: bool,
        require_disposition: bool,
        dispositions: Vec<DispositionInput>,
    },
    SetIntegrationConfig {
        tenant: TenantId,
        key: String,
        config: serde_json::Map<String, Value>,
    },
}

/// Admin reads of the directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum DirectoryRead {
    NotReadyReasons,
    DidNumbers,
    Teams,
    Dispositions { service: String },
    IntegrationConfig { key: String },
}

const MAX_TEXT: usize = 200;

fn check_text(what: &str, value: &str) -> CoreResult<()> {
    if value.trim().is_empty() || value.chars().count() > MAX_TEXT {
        return Err(err(
            ErrorCode::InvalidArgs,
            format!("{what} must be 1 to {MAX_TEXT} characters"),
        ));
    }
    Ok(())
}

/// The id of a DID: `did-` and the number's letters and digits.
pub fn did_id(number: &str) -> String {
    let digits: String = number.chars().filter(char::is_ascii_alphanumeric).collect();
    format!("did-{digits}")
}

impl Core {
    pub(crate) fn directory(&mut self, command: DirectoryCommand) -> CoreResult {
        match command {
            DirectoryCommand::SetNotReadyReasons { tenant, reasons } => {
                self.require_tenant(&tenant)?;
                let mut seen = std::collections::BTreeSet::new();
                for r in &reasons {
                    check_text("a not-ready reason", r)?;
                    if !seen.insert(r.to_lowercase()) {
                        return Err(err(
                            ErrorCode::InvalidArgs,
                            format!("not-ready reason {r:?} is listed twice"),
                        ));
                    }
                }
                self.tenant_mut(&tenant).desk.not_ready_reasons = reasons.clone();
                Ok(json!({ "notReadyReasons": reasons }))
            }
            DirectoryCommand::SetDidNumbers { tenant, numbers } => {
                self.require_tenant(&tenant)?;
                let mut list: Vec<DidNumber> = Vec::new();
                for n in numbers {
                    check_text("a DID number", &n.number)?;
                    let id = did_id(&n.number);
                    if id == "did-" {
                        return Err(err(
                            ErrorCode::InvalidArgs,
                            format!("DID number {:?} has no digits", n.number),
                        ));
                    }
                    if list.iter().any(|d| d.id == id) {
                        return Err(err(
                            ErrorCode::InvalidArgs,
                            format!("DID number {:?} is listed twice", n.number),
                        ));
                    }
                    list.push(DidNumber {
                        id,
                        number: n.number,
                        is_sms: n.is_sms,
                        is_voice: n.is_voice,
                    });
                }
                self.tenant_mut(&tenant).desk.did_numbers = list.clone();
                Ok(json!({ "didNumbers": list }))
            }
            DirectoryCommand::PutTeam {
                tenant,
                name,
                is_supervised,
                members,
                supervisors,
            } => {
                self.require_tenant(&tenant)?;
                check_text("a team name", &name)?;
                if name.eq_ignore_ascii_case(ALL_TEAM) {
                    return Err(err(
                        ErrorCode::InvalidArgs,
                        "team \"all\" is built in: it has every agent",
                    ));
                }
                let resolve = |core: &Core, names: &[String]| -> CoreResult<Vec<AgentId>> {
                    let mut ids: Vec<AgentId> = Vec::new();
                    for n in names {
                        let a = core.agent_by_username(&tenant, n).ok_or_else(|| {
                            err(ErrorCode::ObjectNotFound, format!("no agent {n:?}"))
                        })?;
                        if !ids.contains(&a.id) {
                            ids.push(a.id.clone());
                        }
                    }
                    Ok(ids)
                };
                let members = resolve(self, &members)?;
                let supervisors = resolve(self, &supervisors)?;
                let team = TeamRecord {
                    is_supervised: is_supervised.unwrap_or(!supervisors.is_empty()),
                    name: name.clone(),
                    members,
                    supervisors,
                };
                let view = self.team_admin_view(&team);
                let teams = &mut self.tenant_mut(&tenant).desk.teams;
                match teams.iter_mut().find(|t| t.name == name) {
                    Some(t) => *t = team,
                    None => teams.push(team),
                }
                Ok(view)
            }
            DirectoryCommand::DeleteTeam { tenant, name } => {
                self.require_tenant(&tenant)?;
                let teams = &mut self.tenant_mut(&tenant).desk.teams;
                let before = teams.len();
                teams.retain(|t| t.name != name);
                if teams.len() == before {
                    return Err(err(ErrorCode::ObjectNotFound, format!("no team {name:?}")));
                }
                Ok(Value::Null)
            }
            DirectoryCommand::SetDispositions {
                tenant,
                service,
                use_dispositions,
                require_disposition,
                dispositions,
            } => {
                self.require_tenant(&tenant)?;
                let service_id = self.require_service(&tenant, &service)?.id.clone();
                if require_disposition && (!use_dispositions || dispositions.is_empty()) {
                    return Err(err(
                        ErrorCode::InvalidArgs,
                        "requireDisposition needs useDispositions and at least one disposition",
                    ));
                }
                let mut list: Vec<DispositionData> = Vec::new();
                for d in dispositions {
                    check_text("a disposition code", &d.code)?;
                    check_text("a disposition name", &d.name)?;
                    if list.iter().any(|x| {
                        x.code.eq_ignore_ascii_case(&d.code) || x.name.eq_ignore_ascii_case(&d.name)
                    }) {
                        return Err(err(
                            ErrorCode::InvalidArgs,
                            format!("disposition {:?} is listed twice", d.code),
                        ));
                    }
                    list.push(DispositionData {
                        id: format!("{service_id}:{}", d.code),
                        code: d.code,
                        name: d.name,
                        kind: d.kind,
                    });
                }
                let config = DispositionConfig {
                    use_dispositions,
                    require_disposition,
                    list,
                };
                let s = self.services.get_mut(&service_id).expect("found");
                s.dispositions = config;
                let view = dispositions_admin_view(s);
                self.mark_service(&service_id);
                Ok(view)
            }
            DirectoryCommand::SetIntegrationConfig {
                tenant,
                key,
                config,
            } => {
                let k = (tenant, key);
                self.require_integration_mut(&k)?.config = config.clone();
                self.mark_integration(&k);
                Ok(Value::Object(config))
            }
        }
    }

    /// Answers an admin read of the directory.
    pub fn directory_read(&self, tenant: &TenantId, read: &DirectoryRead) -> CoreResult {
        let t = self
            .tenants
            .get(tenant)
            .ok_or_else(|| err(ErrorCode::ObjectNotFound, format!("no tenant {tenant}")))?;
        Ok(match read {
            DirectoryRead::NotReadyReasons => {
                json!({ "notReadyReasons": t.desk.not_ready_reasons })
            }
            DirectoryRead::DidNumbers => json!({ "didNumbers": t.desk.did_numbers }),
            DirectoryRead::Teams => Value::Array(
                t.desk
                    .teams
                    .iter()
                    .map(|team| self.team_admin_view(team))
                    .collect(),
            ),
            DirectoryRead::Dispositions { service } => {
                let s = self.require_service(tenant, service)?;
                dispositions_admin_view(s)
            }
            DirectoryRead::IntegrationConfig { key } => {
                let i = self.integration(tenant, key).ok_or_else(|| {
                    err(ErrorCode::ObjectNotFound, format!("no integration {key}"))
                })?;
                Value::Object(i.config.clone())
            }
        })
    }

    fn team_admin_view(&self, team: &TeamRecord) -> Value {
        let names = |ids: &[AgentId]| -> Vec<String> {
            ids.iter()
                .filter_map(|id| self.agents.get(id).map(|a| a.username.clone()))
                .collect()
        };
        json!({
            "id": team.name, "name": team.name, "isSupervised": team.is_supervised,
            "members": names(&team.members), "supervisors": names(&team.supervisors),
        })
    }

    fn tenant_mut(&mut self, tenant: &TenantId) -> &mut Tenant {
        self.mark_tenant(tenant);
        self.tenants.get_mut(tenant).expect("checked")
    }

    /// A service of the tenant by name (any case) or id.
    pub(crate) fn find_service(&self, tenant: &TenantId, name_or_id: &str) -> Option<&Service> {
        self.services
            .values()
            .find(|s| &s.tenant == tenant && s.id.0 == name_or_id)
            .or_else(|| self.service_by_name(tenant, name_or_id))
    }

    /// [`Core::find_service`], or `object_not_found`.
    pub(crate) fn require_service(
        &self,
        tenant: &TenantId,
        name_or_id: &str,
    ) -> CoreResult<&Service> {
        self.find_service(tenant, name_or_id).ok_or_else(|| {
            err(
                ErrorCode::ObjectNotFound,
                format!("no service {name_or_id:?}"),
            )
        })
    }

    pub(crate) fn service_info(s: &Service) -> ServiceInfo {
        ServiceInfo {
            id: s.id.0.clone(),
            name: s.name.clone(),
            channels: s.channels.clone(),
            use_dispositions: s.dispositions.use_dispositions,
            require_disposition: s.dispositions.require_disposition,
        }
    }

    // ----- agent methods -----------------------------------------------------------------

    /// A `setAgentState("not_ready", reason)` reason, in the tenant's spelling. Any reason
    /// goes when the tenant lists none.
    pub(crate) fn check_not_ready_reason(
        &self,
        agent: &AgentId,
        reason: Option<String>,
    ) -> CoreResult<Option<String>> {
        let Some(reason) = reason else {
            return Ok(None);
        };
        let list = &self.tenants_of(agent).desk.not_ready_reasons;
        if list.is_empty() {
            return Ok(Some(reason));
        }
        list.iter()
            .find(|r| r.eq_ignore_ascii_case(&reason))
            .cloned()
            .map(Some)
            .ok_or_else(|| {
                err(
                    ErrorCode::InvalidArgs,
                    format!("{reason:?} is not one of the tenant's not-ready reasons"),
                )
            })
    }

    fn tenants_of(&self, agent: &AgentId) -> &Tenant {
        &self.tenants[&self.agents[agent].tenant]
    }

    pub(crate) fn not_ready_reasons(&self, agent: &AgentId) -> CoreResult {
        Ok(json!(self.tenants_of(agent).desk.not_ready_reasons))
    }

    pub(crate) fn get_service(&self, agent: &AgentId) -> CoreResult {
        let selected = self.agents[agent]
            .selected_service
            .as_ref()
            .and_then(|s| self.services.get(s));
        Ok(json!(selected.map(Core::service_info)))
    }

    pub(crate) fn set_service(&mut self, agent: &AgentId, service: Option<String>) -> CoreResult {
        let id = match service.filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(
                self.require_service(&self.agents[agent].tenant, &s)?
                    .id
                    .clone(),
            ),
        };
        self.agents
            .get_mut(agent)
            .expect("connected")
            .selected_service = id;
        self.touch_agent(agent);
        Ok(Value::Null)
    }

    pub(crate) fn did_numbers(&self, agent: &AgentId) -> CoreResult {
        Ok(json!(self.tenants_of(agent).desk.did_numbers))
    }

    /// The agent's selected DID, if it is still one of the tenant's.
    pub(crate) fn selected_did(&self, agent: &AgentId) -> Option<&DidNumber> {
        let id = self.agents[agent].selected_did.as_ref()?;
        self.tenants_of(agent)
            .desk
            .did_numbers
            .iter()
            .find(|d| &d.id == id)
    }

    pub(crate) fn get_did(&self, agent: &AgentId) -> CoreResult {
        Ok(json!(self.selected_did(agent)))
    }

    pub(crate) fn set_did(&mut self, agent: &AgentId, did: Option<String>) -> CoreResult {
        let id = match did.filter(|d| !d.is_empty()) {
            None => None,
            Some(d) => Some(
                self.tenants_of(agent)
                    .desk
                    .did_numbers
                    .iter()
                    .find(|n| n.id == d || n.number == d)
                    .ok_or_else(|| err(ErrorCode::ObjectNotFound, format!("no DID number {d:?}")))?
                    .id
                    .clone(),
            ),
        };
        self.agents.get_mut(agent).expect("connected").selected_did = id;
        self.touch_agent(agent);
        Ok(Value::Null)
    }

    pub(crate) fn teams(&self, agent: &AgentId) -> CoreResult {
        let tenant = &self.agents[agent].tenant;
        let everyone = self.agents.values().filter(|a| &a.tenant == tenant).count();
        let mut teams = vec![Team {
            id: ALL_TEAM.into(),
            name: "All agents".into(),
            is_supervised: false,
            users_count: everyone,
        }];
        teams.extend(self.tenants[tenant].desk.teams.iter().map(|t| Team {
            id: t.name.clone(),
            name: t.name.clone(),
            is_supervised: t.is_supervised,
            users_count: t.members.len(),
        }));
        Ok(json!(teams))
    }

    pub(crate) fn team_members(&self, agent: &AgentId, team_id: &str) -> CoreResult {
        let tenant = &self.agents[agent].tenant;
        let members: Vec<&Agent> = if team_id == ALL_TEAM {
            self.agents
                .values()
                .filter(|a| &a.tenant == tenant)
                .collect()
        } else {
            let team = self.tenants[tenant]
                .desk
                .teams
                .iter()
                .find(|t| t.name == team_id)
                .ok_or_else(|| err(ErrorCode::ObjectNotFound, format!("no team {team_id:?}")))?;
            team.members
                .iter()
                .filter_map(|id| self.agents.get(id))
                .collect()
        };
        let members: Vec<TeamMember> = members
            .into_iter()
            .map(|a| TeamMember {
                id: a.id.0.clone(),
                username: a.username.clone(),
                display_name: a.display_name.clone(),
                extension: a.extension.clone(),
                state: if a.login.is_some() {
                    self.agent_state(a).state.as_str().to_owned()
                } else {
                    "offline".to_owned()
                },
                team_id: team_id.to_owned(),
            })
            .collect();
        Ok(json!(members))
    }

    /// `getConfig`: the config of the integration the agent's host declared, or `{}`.
    pub(crate) fn get_config(&self, agent: &AgentId) -> CoreResult {
        let a = &self.agents[agent];
        let config = a
            .integration_key()
            .and_then(|key| self.integration(&a.tenant, key))
            .map(|i| i.config.clone())
            .unwrap_or_default();
        Ok(Value::Object(config))
    }

    /// `getDispositionsList`: of the named service, the named interaction's service, the
    /// active interaction's service, or the selected service, in that order.
    pub(crate) fn dispositions_list(
        &self,
        agent: &AgentId,
        target: DispositionTarget,
    ) -> CoreResult {
        let tenant = &self.agents[agent].tenant;
        let service = if let Some(name) = target.service.filter(|s| !s.is_empty()) {
            Some(
                self.find_service(tenant, &name)
                    .ok_or_else(|| err(ErrorCode::NoService, format!("no service {name:?}")))?,
            )
        } else if let Some(id) = target.interaction_id.filter(|s| !s.is_empty()) {
            let id = self.pick(agent, Some(id), |_| true)?;
            self.services.get(&self.interactions[&id].service)
        } else {
            None
        };
        let service = service
            .or_else(|| {
                let active = self.agents[agent].active_interaction.as_ref()?;
                self.services.get(&self.interactions.get(active)?.service)
            })
            .or_else(|| {
                self.agents[agent]
                    .selected_service
                    .as_ref()
                    .and_then(|s| self.services.get(s))
            })
            .ok_or_else(|| {
                err(
                    ErrorCode::NoService,
                    "no service: name one, or select one with setService",
                )
            })?;
        let list: &[DispositionData] = if service.dispositions.use_dispositions {
            &service.dispositions.list
        } else {
            &[]
        };
        Ok(json!(list))
    }
}

fn dispositions_admin_view(s: &Service) -> Value {
    json!({
        "service": s.name,
        "useDispositions": s.dispositions.use_dispositions,
        "requireDisposition": s.dispositions.require_disposition,
        "dispositions": s.dispositions.list,
    })
}
