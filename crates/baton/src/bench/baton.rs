//! Baton as a [`Transport`]: agents logged in with `baton-client` hand interactions to each
//! other with `blindTransfer(target, data, id)`; the receiver gets `ON_LOAD_TRANSFER_DATA`
//! (auto-acknowledged by the client) and accepts.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use baton_client::{Client, ConnectOptions, Events, connect};
use baton_protocol::events;
use serde_json::json;

use super::chain::{Arrival, Chain, Rendezvous, Transport, within};
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
    /// Connects every agent, agent `i` to `ws_urls[i % ws_urls.len()]` (the nodes of a
    /// cluster), starts its event pump, and sets it ready.
    pub async fn connect(
        ws_urls: &[String],
        usernames: Vec<String>,
        tokens: Vec<String>,
    ) -> Result<Self, String> {
        let arrivals = Arc::new(Rendezvous::default());
        let routed = Arc::new(Rendezvous::default());
        let routing = Arc::new(AtomicBool::new(true));
        let mut clients = Vec::new();
        for (i, token) in tokens.into_iter().enumerate() {
            let (client, events) = connect_agent(&ws_urls[i % ws_urls.len()], token).await?;
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

    /// Creates `n` chats through ingress, chat `k` in `tenants[k % tenants.len()]`, and has
    /// whoever they are routed to accept them. Answers (interaction id, holder) and the
    /// customers (interaction id, customer token).
    pub async fn start_chains(
        &self,
        rest: &Rest,
        tenants: &[Tenant],
        n: usize,
    ) -> Result<(Vec<Chain>, Vec<(String, String)>), String> {
        let mut starts = Vec::with_capacity(n);
        let mut customers = Vec::with_capacity(n);
        for k in 0..n {
            let tenant = &tenants[k % tenants.len()];
            let answered = self.answer(rest, tenant, "chat", k).await?;
            starts.push((answered.id.clone(), answered.holder));
            customers.push((answered.id, answered.customer_token));
        }
        self.stop_routing();
        Ok((starts, customers))
    }

    /// Brings one customer in through the tenant's ingress on `channel` (service
    /// [`target::SERVICE`]) and has the agent it is routed to accept it. Several may run at
    /// once: each waits for its own interaction.
    pub async fn answer(
        &self,
        rest: &Rest,
        tenant: &Tenant,
        channel: &str,
        k: usize,
    ) -> Result<Answered, String> {
        let (id, customer_token) =
            new_interaction(rest, tenant, channel, target::SERVICE, k).await?;
        let holder = within("routing", self.routed.expect(&id)).await?;
        self.clients[holder]
            .accept_interaction(Some(&id))
            .await
            .map_err(|e| format!("acceptInteraction: {e}"))?;
        Ok(Answered {
            id,
            customer_token,
            holder,
        })
    }

    /// Setup is over: `ON_NEW_INTERACTION` is no longer waited for.
    pub fn stop_routing(&self) {
        self.routing.store(false, Ordering::Relaxed);
        self.routed.clear();
    }

    /// Agent `i`'s connection.
    pub fn client(&self, i: usize) -> &Client {
        &self.clients[i]
    }

    /// Has each chain's holder send `messages` chat messages of `bytes` bytes into it, so
    /// every hand-off carries a long transcript (the chains run at once, each in order).
    pub async fn fill_transcripts(
        &self,
        chains: &[Chain],
        messages: usize,
        bytes: usize,
    ) -> Result<(), String> {
        let sends = chains.iter().map(|(id, holder)| async move {
            for m in 0..messages {
                let mut text = format!("message {m} of {id}: ");
                text.extend((text.len()..bytes).map(|i| (b'a' + (i % 26) as u8) as char));
                self.clients[*holder]
                    .send_chat_message(&text, Some(id))
                    .await
                    .map_err(|e| format!("sendChatMessage: {e}"))?;
            }
            Ok::<(), String>(())
        });
        futures_util::future::try_join_all(sends).await?;
        Ok(())
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
        // A replay (a socket announced again, e.g. after a cluster node was taken for dead
        // under load) repeats data the agent already had: it is no hop's arrival.
        if e.name == events::ON_LOAD_TRANSFER_DATA && e.arg(2)["replay"] != true {
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
            && e.arg(1)["replay"] != true
            && let Some(id) = e.arg(0)["id"].as_str()
        {
            routed.deliver(id, me);
        }
    }
}

/// An interaction answered by an agent.
pub struct Answered {
    pub id: String,
    pub customer_token: String,
    /// The agent who accepted it.
    pub holder: usize,
}

/// Creates one interaction on `channel` (`chat`, `voice`) through the tenant's ingress;
/// answers its id and customer token.
pub async fn new_interaction(
    rest: &Rest,
    tenant: &Tenant,
    channel: &str,
    service: &str,
    k: usize,
) -> Result<(String, String), String> {
    let created = rest
        .send(
            reqwest::Method::POST,
            "/api/v1/interactions",
            Some(&tenant.ingress),
            Some(json!({"channel": channel, "service": service,
                        "customer": {"name": format!("Bench customer {k}")}})),
        )
        .await?;
    let id = created["id"].as_str().ok_or("ingress answer without id")?;
    let token = created["customerToken"].as_str().unwrap_or_default();
    Ok((id.to_owned(), token.to_owned()))
}

/// `n` chats waiting in the tenant's backlog service, where no agent will take them, so
/// routing has them in front of it on every command. Answers the customers.
pub async fn queue_backlog(
    rest: &Rest,
    tenant: &Tenant,
    n: usize,
) -> Result<Vec<(String, String)>, String> {
    let tenant = Arc::new(Tenant {
        name: tenant.name.clone(),
        ingress: tenant.ingress.clone(),
    });
    target::parallel(n, 8, |k| {
        let (rest, tenant) = (rest.clone(), tenant.clone());
        async move { new_interaction(&rest, &tenant, "chat", target::BACKLOG_SERVICE, k).await }
    })
    .await
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
