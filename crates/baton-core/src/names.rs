//! Agents by username and by extension within a tenant, so hand-off targets and admin
//! lookups do not scan every agent of every tenant. Usernames match without regard to
//! ASCII case, as they always have; the lowest id wins should two ever match (as a scan
//! in id order would find). Kept where agents are created and deleted, and on restore:
//! neither a username nor an extension changes after creation.

use std::collections::BTreeSet;

use crate::entity::{Agent, AgentId, TenantId};

/// `(tenant, name, agent)`: the agent is in the key so that a name never hides another.
pub(crate) type NameKey = (TenantId, String, AgentId);

#[derive(Debug, Default)]
pub(crate) struct AgentNames {
    usernames: BTreeSet<NameKey>,
    extensions: BTreeSet<NameKey>,
}

impl AgentNames {
    pub(crate) fn insert(&mut self, a: &Agent) {
        self.usernames.insert(username_key(a));
        if let Some(key) = extension_key(a) {
            self.extensions.insert(key);
        }
    }

    pub(crate) fn remove(&mut self, a: &Agent) {
        self.usernames.remove(&username_key(a));
        if let Some(key) = extension_key(a) {
            self.extensions.remove(&key);
        }
    }

    pub(crate) fn by_username(&self, tenant: &TenantId, username: &str) -> Option<&AgentId> {
        first(&self.usernames, tenant, username.to_ascii_lowercase())
    }

    pub(crate) fn by_extension(&self, tenant: &TenantId, extension: &str) -> Option<&AgentId> {
        first(&self.extensions, tenant, extension.to_owned())
    }

    /// Every entry, to compare with a scan (debug invariants).
    #[cfg(any(debug_assertions, test))]
    pub(crate) fn entries(&self) -> (&BTreeSet<NameKey>, &BTreeSet<NameKey>) {
        (&self.usernames, &self.extensions)
    }
}

pub(crate) fn username_key(a: &Agent) -> NameKey {
    (
        a.tenant.clone(),
        a.username.to_ascii_lowercase(),
        a.id.clone(),
    )
}

pub(crate) fn extension_key(a: &Agent) -> Option<NameKey> {
    a.extension
        .as_ref()
        .map(|e| (a.tenant.clone(), e.clone(), a.id.clone()))
}

fn first<'a>(set: &'a BTreeSet<NameKey>, tenant: &TenantId, name: String) -> Option<&'a AgentId> {
    let from = (tenant.clone(), name, AgentId(String::new()));
    set.range(&from..)
        .next()
        .filter(|(t, n, _)| *t == from.0 && *n == from.1)
        .map(|(_, _, id)| id)
}
