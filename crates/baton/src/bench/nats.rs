//! Baseline 3: NATS request-reply, over the text protocol on a raw TCP stream (CONNECT,
//! SUB, PUB, MSG, PING/PONG), so the bench needs no NATS client crate.
//!
//! Participant `i` subscribes to `<prefix>.<i>`. A hop publishes `D <key>\n<payload>` to the
//! receiver's subject with the sender's subject as reply-to; the receiver answers
//! `A <key>\n` on that reply subject.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::mpsc;

use super::chain::{Arrival, Rendezvous, Transport, within};
use super::relay::receive;

/// Whether something answers on `addr` within a second.
pub async fn reachable(addr: SocketAddr) -> bool {
    matches!(
        tokio::time::timeout(Duration::from_secs(1), TcpStream::connect(addr)).await,
        Ok(Ok(_))
    )
}

pub struct NatsClients {
    prefix: String,
    out: Vec<mpsc::UnboundedSender<Vec<u8>>>,
    arrivals: Arc<Rendezvous<Arrival>>,
    answers: Arc<Rendezvous<usize>>,
}

async fn read_line(r: &mut BufReader<OwnedReadHalf>, line: &mut String) -> Result<(), String> {
    line.clear();
    let n = r.read_line(line).await.map_err(|e| e.to_string())?;
    if n == 0 {
        return Err("NATS closed the connection".into());
    }
    Ok(())
}

impl NatsClients {
    pub async fn connect(addr: SocketAddr, n: usize) -> Result<Self, String> {
        let prefix = format!("baton-bench.{}", baton_server::auth::new_id("run"));
        let arrivals: Arc<Rendezvous<Arrival>> = Arc::default();
        let answers: Arc<Rendezvous<usize>> = Arc::default();
        let mut out = Vec::new();
        for i in 0..n {
            let stream = TcpStream::connect(addr)
                .await
                .map_err(|e| format!("NATS at {addr}: {e}"))?;
            let _ = stream.set_nodelay(true);
            let (read, mut write) = stream.into_split();
            let mut read = BufReader::with_capacity(256 * 1024, read);
            let mut line = String::new();
            read_line(&mut read, &mut line).await?;
            if !line.starts_with("INFO") {
                return Err(format!("NATS said {line:?} instead of INFO"));
            }
            let hello = format!(
                "CONNECT {{\"verbose\":false,\"pedantic\":false,\"echo\":true,\"name\":\"baton-bench\",\"protocol\":1}}\r\nSUB {prefix}.{i} 1\r\nPING\r\n"
            );
            write
                .write_all(hello.as_bytes())
                .await
                .map_err(|e| e.to_string())?;
            // PONG means CONNECT and SUB were processed.
            loop {
                read_line(&mut read, &mut line).await?;
                if line.starts_with("PONG") {
                    break;
                }
                if line.starts_with("-ERR") {
                    return Err(format!("NATS: {}", line.trim_end()));
                }
            }
            let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
            let pongs = tx.clone();
            tokio::spawn(async move {
                while let Some(bytes) = rx.recv().await {
                    if write.write_all(&bytes).await.is_err() {
                        break;
                    }
                }
            });
            let (arrivals, answers) = (arrivals.clone(), answers.clone());
            tokio::spawn(async move {
                if let Err(e) = read_loop(i, read, pongs, &arrivals, &answers).await {
                    tracing::debug!(error = %e, "NATS reader stopped");
                }
            });
            out.push(tx);
        }
        Ok(Self {
            prefix,
            out,
            arrivals,
            answers,
        })
    }

    fn publish(
        &self,
        from: usize,
        subject: &str,
        reply: Option<&str>,
        body: &str,
    ) -> Result<(), String> {
        let mut frame = Vec::with_capacity(body.len() + 128);
        match reply {
            Some(r) => {
                frame.extend_from_slice(format!("PUB {subject} {r} {}\r\n", body.len()).as_bytes())
            }
            None => frame.extend_from_slice(format!("PUB {subject} {}\r\n", body.len()).as_bytes()),
        }
        frame.extend_from_slice(body.as_bytes());
        frame.extend_from_slice(b"\r\n");
        self.out[from]
            .send(frame)
            .map_err(|_| "NATS connection closed".to_owned())
    }
}

async fn read_loop(
    me: usize,
    mut read: BufReader<OwnedReadHalf>,
    pongs: mpsc::UnboundedSender<Vec<u8>>,
    arrivals: &Rendezvous<Arrival>,
    answers: &Rendezvous<usize>,
) -> Result<(), String> {
    let mut line = String::new();
    let mut body = Vec::new();
    loop {
        read_line(&mut read, &mut line).await?;
        let at = Instant::now();
        if let Some(rest) = line.strip_prefix("MSG ") {
            // MSG <subject> <sid> [reply-to] <#bytes>
            let len: usize = rest
                .split_whitespace()
                .last()
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| format!("bad MSG line {line:?}"))?;
            body.resize(len + 2, 0);
            read.read_exact(&mut body)
                .await
                .map_err(|e| e.to_string())?;
            let text = std::str::from_utf8(&body[..len]).map_err(|e| e.to_string())?;
            receive(me, at, text, arrivals, answers);
        } else if line.starts_with("PING") {
            let _ = pongs.send(b"PONG\r\n".to_vec());
        } else if line.starts_with("-ERR") {
            return Err(format!("NATS: {}", line.trim_end()));
        }
        // INFO, PONG and +OK need nothing.
    }
}

impl Transport for NatsClients {
    async fn hop(
        &self,
        key: &str,
        from: usize,
        to: usize,
        payload: &str,
    ) -> Result<Duration, String> {
        let arrived = self.arrivals.expect(key);
        let answered = self.answers.expect(key);
        let (to_subject, reply) = (
            format!("{}.{to}", self.prefix),
            format!("{}.{from}", self.prefix),
        );
        let sent = Instant::now();
        self.publish(
            from,
            &to_subject,
            Some(&reply),
            &format!("D {key}\n{payload}"),
        )?;
        let arrival = within("NATS request", arrived).await?;
        if arrival.participant != to || arrival.data != payload {
            return Err(format!("NATS delivered the wrong payload for {key}"));
        }
        self.publish(to, &reply, None, &format!("A {key}\n"))?;
        let by = within("NATS reply", answered).await?;
        if by != from {
            return Err(format!("NATS delivered the reply for {key} to {by}"));
        }
        Ok(arrival.at.saturating_duration_since(sent))
    }
}
