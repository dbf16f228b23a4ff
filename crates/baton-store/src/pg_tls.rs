//! TLS to PostgreSQL with rustls (the `ring` provider, as everywhere in Baton).
//!
//! `sslmode=require` in the database URL makes every connection TLS, with the server's
//! certificate verified — chain and host name — against the system's roots or the PEM file
//! `database_ca_file`. A server that does not offer TLS, or whose certificate does not
//! verify, is refused. `sslmode=disable`, `prefer` or no `sslmode` connect without TLS:
//! Baton never uses TLS it has not verified (see docs/cluster.md).

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

/// How to verify the database server: the system's roots, or a CA file.
#[derive(Debug, Clone, Default)]
pub struct PgTlsOptions {
    /// PEM certificates to trust instead of the system's roots.
    pub ca_file: Option<PathBuf>,
}

/// Why a TLS configuration for PostgreSQL could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PgTlsError {
    #[error("database CA file {path}: {message}")]
    CaFile { path: String, message: String },
    #[error("no trusted root certificates for the database (set database_ca_file)")]
    NoRoots,
}

/// A rustls connector for the `postgres` crate.
#[derive(Clone)]
pub struct RustlsConnect {
    config: Arc<rustls::ClientConfig>,
}

impl RustlsConnect {
    pub fn new(options: &PgTlsOptions) -> Result<Self, PgTlsError> {
        let mut roots = rustls::RootCertStore::empty();
        match &options.ca_file {
            Some(path) => {
                for cert in read_pem(path)? {
                    roots.add(cert).map_err(|e| PgTlsError::CaFile {
                        path: path.display().to_string(),
                        message: e.to_string(),
                    })?;
                }
            }
            None => {
                let (added, _) = roots.add_parsable_certificates(
                    rustls_native_certs::load_native_certs().unwrap_or_default(),
                );
                if added == 0 {
                    return Err(PgTlsError::NoRoots);
                }
            }
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(Self {
            config: Arc::new(config),
        })
    }
}

fn read_pem(path: &Path) -> Result<Vec<CertificateDer<'static>>, PgTlsError> {
    let shown = path.display().to_string();
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| PgTlsError::CaFile {
            path: shown.clone(),
            message: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(PgTlsError::CaFile {
            path: shown,
            message: "no certificate in the file".into(),
        });
    }
    Ok(certs)
}

impl<S> MakeTlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnector;
    type Error = rustls::pki_types::InvalidDnsNameError;

    fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsConnector, Self::Error> {
        Ok(RustlsConnector {
            config: self.config.clone(),
            name: ServerName::try_from(domain.to_owned())?,
        })
    }
}

/// One connection's handshake.
pub struct RustlsConnector {
    config: Arc<rustls::ClientConfig>,
    name: ServerName<'static>,
}

impl<S> TlsConnect<S> for RustlsConnector
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let tls = tokio_rustls::TlsConnector::from(self.config)
                .connect(self.name, stream)
                .await?;
            Ok(RustlsStream(tls))
        })
    }
}

/// A TLS session to the database.
pub struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        // SCRAM channel binding is optional; without it the password exchange is still
        // inside the verified TLS session.
        ChannelBinding::none()
    }
}
