//! HTTPS and WSS on the listen address.
//!
//! [`TlsConfig::load`] reads the certificate chain and private key (PEM) and checks that they
//! belong together when the settings are built, so a bad file stops the server before it
//! binds, naming the file and what is wrong with it. [`listener`] wraps the bound socket for
//! axum's own `serve`: HTTP/1.1, WebSocket upgrades, connect info and graceful shutdown work
//! exactly as on the plain path. Handshakes run in their own tasks, each bounded by
//! [`HANDSHAKE_TIMEOUT`], so a slow or silent client never holds up accepting others.
//!
//! The crypto provider is *ring*, passed explicitly rather than installed process-wide.
//! [`self_signed`] makes the certificate `baton demo --tls` uses.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::serve::{Listener, ListenerExt, TapIo};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::server::TlsStream;

/// How long a client may take to complete the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A certificate chain and its private key, read and checked, ready to serve.
#[derive(Clone)]
pub struct TlsConfig {
    cert: PathBuf,
    key: PathBuf,
    server: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// A certificate or key that cannot be used: which file, and what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read TLS {what} file {path}: {source}")]
    Read {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("TLS certificate file {path}: {problem}")]
    Cert { path: String, problem: String },
    #[error("TLS key file {path}: {problem}")]
    Key { path: String, problem: String },
    #[error("TLS certificate {cert} and key {key} cannot be used together: {problem}")]
    Pair {
        cert: String,
        key: String,
        problem: String,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot generate a self-signed certificate: {0}")]
    Generate(String),
}

impl TlsConfig {
    /// Reads a PEM certificate chain (leaf first) and a PEM private key (PKCS#8, PKCS#1 or
    /// SEC1), and checks that the key belongs to the certificate.
    pub fn load(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let read = |what, path: &Path| {
            std::fs::read(path).map_err(|source| TlsError::Read {
                what,
                path: path.display().to_string(),
                source,
            })
        };
        let cert_pem = read("certificate", cert)?;
        let key_pem = read("key", key)?;
        let chain = parse_chain(&cert_pem).map_err(|problem| TlsError::Cert {
            path: cert.display().to_string(),
            problem,
        })?;
        let private_key = parse_key(&key_pem).map_err(|problem| TlsError::Key {
            path: key.display().to_string(),
            problem,
        })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|b| b.with_no_client_auth().with_single_cert(chain, private_key))
            .map_err(|e| TlsError::Pair {
                cert: cert.display().to_string(),
                key: key.display().to_string(),
                problem: e.to_string(),
            })?;
        // The router speaks HTTP/1.1 (WebSockets upgrade from it); say so to clients.
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            server: Arc::new(server),
        })
    }

    pub fn cert_path(&self) -> &Path {
        &self.cert
    }

    pub fn key_path(&self) -> &Path {
        &self.key
    }
}

fn parse_chain(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("malformed PEM: {e}"))?;
    if !chain.is_empty() {
        return Ok(chain);
    }
    Err(if PrivateKeyDer::from_pem_slice(pem).is_ok() {
        "it holds a private key, not a certificate: are the certificate and key files swapped?"
            .into()
    } else if !pem.starts_with(b"-----") && !pem.is_ascii() {
        "it is not PEM (binary DER?); convert it with `openssl x509 -inform der -in FILE -out cert.pem`".into()
    } else {
        "no `-----BEGIN CERTIFICATE-----` block found".into()
    })
}

fn parse_key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, String> {
    match PrivateKeyDer::from_pem_slice(pem) {
        Ok(key) => Ok(key),
        Err(rustls::pki_types::pem::Error::NoItemsFound) => {
            Err(if pem.windows(21).any(|w| w == b"ENCRYPTED PRIVATE KEY") {
                "the private key is encrypted; Baton needs it unencrypted (`openssl pkey -in FILE -out key.pem`) and readable only by its user".into()
            } else if CertificateDer::from_pem_slice(pem).is_ok() {
                "it holds a certificate, not a private key: are the certificate and key files swapped?".into()
            } else if !pem.starts_with(b"-----") && !pem.is_ascii() {
                "it is not PEM (binary DER?); convert it with `openssl pkey -inform der -in FILE -out key.pem`".into()
            } else {
                "no `-----BEGIN PRIVATE KEY-----` (or RSA / EC PRIVATE KEY) block found".into()
            })
        }
        Err(e) => Err(format!("malformed PEM: {e}")),
    }
}

/// Makes a self-signed certificate for `names` (DNS names or IP addresses) in `dir`, as
/// `cert.pem` and `key.pem`, unless both already exist; then loads them. Keeping them makes
/// the certificate stable across runs, so a browser told to trust it once keeps trusting it.
pub fn self_signed(dir: &Path, names: &[&str]) -> Result<TlsConfig, TlsError> {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    if !(cert.exists() && key.exists()) {
        let write_err = |path: &Path| {
            let path = path.display().to_string();
            move |source| TlsError::Write { path, source }
        };
        std::fs::create_dir_all(dir).map_err(write_err(dir))?;
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params =
            rcgen::CertificateParams::new(names).map_err(|e| TlsError::Generate(e.to_string()))?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Baton (self-signed)");
        let signing_key =
            rcgen::KeyPair::generate().map_err(|e| TlsError::Generate(e.to_string()))?;
        let certificate = params
            .self_signed(&signing_key)
            .map_err(|e| TlsError::Generate(e.to_string()))?;
        write_private(&key, signing_key.serialize_pem().as_bytes()).map_err(write_err(&key))?;
        std::fs::write(&cert, certificate.pem()).map_err(write_err(&cert))?;
    }
    TlsConfig::load(&cert, &key)
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents)
}

/// Accepts TCP connections and hands out those that completed the TLS handshake.
pub struct TlsListener {
    ready: tokio::sync::mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local_addr: SocketAddr,
    acceptor: tokio::task::JoinHandle<()>,
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        // Stops accepting (and closes the socket) when `serve` lets go of the listener.
        self.acceptor.abort();
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The acceptor only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local_addr)
    }
}

/// What [`listener`] returns. The no-op `tap_io` is there because axum provides
/// `ConnectInfo<SocketAddr>` for `TapIo` listeners, so handlers see the peer address under
/// TLS just as they do on the plain path.
pub type ServeListener = TapIo<TlsListener, fn(&mut TlsStream<TcpStream>)>;

/// Serves TLS on an already bound socket: `axum::serve(tls::listener(tcp, &config), …)`.
pub fn listener(tcp: TcpListener, config: &TlsConfig) -> ServeListener {
    let local_addr = tcp
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    let acceptor = tokio_rustls::TlsAcceptor::from(config.server.clone());
    let (tx, ready) = tokio::sync::mpsc::channel(64);
    let acceptor = tokio::spawn(accept_loop(tcp, acceptor, tx));
    let tap: fn(&mut TlsStream<TcpStream>) = |_| {};
    TlsListener {
        ready,
        local_addr,
        acceptor,
    }
    .tap_io(tap)
}

async fn accept_loop(
    tcp: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    tx: tokio::sync::mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    loop {
        let (stream, peer) = match tcp.accept().await {
            Ok(conn) => {
                let _ = conn.0.set_nodelay(true);
                conn
            }
            Err(e) => {
                if !matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionRefused
                        | std::io::ErrorKind::ConnectionAborted
                        | std::io::ErrorKind::ConnectionReset
                ) {
                    // Most likely out of file descriptors: wait for some to close.
                    tracing::error!(error = %e, "accept error");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                continue;
            }
        };
        let (acceptor, tx) = (acceptor.clone(), tx.clone());
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = tx.send((tls, peer)).await;
                }
                // Expected whenever a browser does not trust the certificate yet, or a
                // client speaks plain HTTP to the HTTPS port.
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(dir: &Path) -> (PathBuf, PathBuf) {
        let c = self_signed(&dir.join("a"), &["localhost"]).unwrap();
        (c.cert_path().to_path_buf(), c.key_path().to_path_buf())
    }

    #[test]
    fn self_signed_is_kept_and_reused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let first = self_signed(dir, &["localhost", "127.0.0.1"]).unwrap();
        let pem = std::fs::read(first.cert_path()).unwrap();
        self_signed(dir, &["localhost", "127.0.0.1"]).unwrap();
        assert_eq!(std::fs::read(first.cert_path()).unwrap(), pem);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(first.key_path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "the key is readable by others: {mode:o}");
        }
    }

    #[test]
    fn errors_name_the_file_and_the_problem() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let (cert, key) = pair(dir);
        let err = |c: &Path, k: &Path| TlsConfig::load(c, k).unwrap_err().to_string();

        let missing = dir.join("nope.pem");
        let e = err(&missing, &key);
        assert!(
            e.starts_with("cannot read TLS certificate file ") && e.contains("nope.pem"),
            "{e}"
        );

        let e = err(&key, &cert);
        assert!(
            e.contains(&key.display().to_string()) && e.contains("swapped"),
            "{e}"
        );

        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "hello\n").unwrap();
        let e = err(&cert, &empty);
        assert!(
            e.starts_with("TLS key file ")
                && e.contains("empty.pem")
                && e.contains("BEGIN PRIVATE KEY"),
            "{e}"
        );

        let cut = dir.join("cut.pem");
        let text = std::fs::read_to_string(&cert).unwrap();
        std::fs::write(&cut, &text[..text.len() - 30]).unwrap();
        let e = err(&cut, &key);
        assert!(e.contains("cut.pem") && e.contains("malformed PEM"), "{e}");

        let other = self_signed(&dir.join("b"), &["localhost"]).unwrap();
        let e = err(&cert, other.key_path());
        assert!(e.contains("cannot be used together"), "{e}");
    }
}
