//! Baton as a [`Transport`]: agents logged in with `baton-client` hand interactions to each
//! other with `blindTransfer(target, data, id)`; the receiver gets `ON_LOAD_TRANSFER_DATA`
//! (auto-acknowledged by the client) and accepts.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use baton_client::{Client, ConnectOptions, Events, connect};
use baton_protocol::events;
use serde_json::json;

use super::chain::{Arrival, Rendezvous, Transport, within};
use super::target::{self, Rest, Tenant};

pub struct BatonAgents {
    clients: Vec<Client>,
    usernames: Vec<String>,
    arrivals: Arc<Rendezvous<Arrival>>,
    routed: Arc<Rendezvous<usize>>,
    /// While set, `ON_NEW_INTERACTION` is reported to `routed` (setup only).
    routing: Arc<AtomicBool>,
}

/// Connects one agent declaring the bench integration.
pub async fn connect_agent(ws_url: &str, token: String) -> Result<(Client, Events), String> {
    connect(
        ws_url,
        ConnectOptions::new(token).integration_key(target::INTEGRATION),
    )
    .await
    .map_err(|e| format!("agent socket: {e}"))
}

impl BatonAgents {
    /// Connects every agent, starts its event pump, and sets it ready.
    pub async fn connect(
        ws_url: &str,
        usernames: Vec<String>,
        tokens: Vec<String>,
    ) -> Result<Self, String> {
        let arrivals = Arc::new(Rendezvous::default());
        let routed = Arc::new(Rendezvous::default());
        let routing = Arc::new(AtomicBool::new(true));
        let mut clients = Vec::new();
        for (i, token) in tokens.into_iter().enumerate() {
            let (client, events) = connect_agent(ws_url, token).await?;
            tokio::spawn(pump(
                i,
                events,
                arrivals.clone(),
                routed.clone(),
                routing.clone(),
            ));
            client
                .set_agent_state("ready", None)
                .await
                .map_err(|e| format!("setAgentState(ready): {e}"))?;
            clients.push(client);
        }
        Ok(Self {
            clients,
            usernames,
            arrivals,
            routed,
            routing,
        })
    }

    /// Creates `n` chats through ingress and has whoever they are routed to accept them.
    /// Answers (interaction id, holder) and the customer tokens.
    pub async fn start_chains(
        &self,
        rest: &Rest,
        tenant: &Tenant,
        n: usize,
    ) -> Result<(Vec<(String, usize)>, Vec<(String, String)>), String> {
        let mut starts = Vec::with_capacity(n);
        let mut customers = Vec::with_capacity(n);
        for k in 0..n {
            let created = rest
                .send(
                    reqwest::Method::POST,
                    "/api/v1/interactions",
                    Some(&tenant.ingress),
                    Some(json!({"channel": "chat", "service": target::SERVICE,
                                "customer": {"name": format!("Bench customer {k}")}})),
                )
                .await?;
            let id = created["id"].as_str().ok_or("ingress answer without id")?;
            let token = created["customerToken"].as_str().unwrap_or_default();
            let holder = within("routing", self.routed.expect(id)).await?;
            self.clients[holder]
                .accept_interaction(Some(id))
                .await
                .map_err(|e| format!("acceptInteraction: {e}"))?;
            starts.push((id.to_owned(), holder));
            customers.push((id.to_owned(), token.to_owned()));
        }
        self.routing.store(false, Ordering::Relaxed);
        self.routed.clear();
        Ok((starts, customers))
    }

    /// Ends the chains' chats: the customers hang up (best effort).
    pub async fn finish(&self, rest: &Rest, customers: &[(String, String)]) {
        for (id, token) in customers {
            let _ = rest
                .send(
                    reqwest::Method::POST,
                    &format!("/api/v1/interactions/{id}/hangup"),
                    Some(token),
                    None,
                )
                .await;
        }
        self.arrivals.clear();
    }

    pub fn close(&self) {
        for c in &self.clients {
            c.close();
        }
    }
}

async fn pump(
    me: usize,
    mut events: Events,
    arrivals: Arc<Rendezvous<Arrival>>,
    routed: Arc<Rendezvous<usize>>,
    routing: Arc<AtomicBool>,
) {
    while let Some(e) = events.next().await {
        if e.name == events::ON_LOAD_TRANSFER_DATA {
            let at = Instant::now();
            let Some(id) = e
                .raw(0)
                .and_then(|r| serde_json::from_str::<String>(r).ok())
            else {
                continue;
            };
            let data = e.raw(1).unwrap_or_default().to_owned();
            arrivals.deliver(
                &id,
                Arrival {
                    at,
                    participant: me,
                    data,
                },
            );
        } else if e.name == events::ON_NEW_INTERACTION
            && routing.load(Ordering::Relaxed)
            && let Some(id) = e.arg(0)["id"].as_str()
        {
            routed.deliver(id, me);
        }
    }
}

impl Transport for BatonAgents {
    async fn hop(
        &self,
        key: &str,
        from: usize,
        to: usize,
        payload: &str,
    ) -> Result<Duration, String> {
        let arrived = self.arrivals.expect(key);
        let sent = Instant::now();
        self.clients[from]
            .blind_transfer(&self.usernames[to], Some(payload), Some(key))
            .await
            .map_err(|e| format!("blindTransfer: {e}"))?;
        let arrival = within("ON_LOAD_TRANSFER_DATA", arrived).await?;
        if arrival.participant != to {
            return Err(format!(
                "transfer data for {key} reached agent {} instead of {to}",
                arrival.participant
            ));
        }
        if arrival.data != payload {
            return Err(format!(
                "transfer data for {key} changed on the way ({} bytes sent, {} received)",
                payload.len(),
                arrival.data.len()
            ));
        }
        self.clients[to]
            .accept_interaction(Some(key))
            .await
            .map_err(|e| format!("acceptInteraction: {e}"))?;
        Ok(arrival.at.saturating_duration_since(sent))
    }
}
