//! HTTPS: the server's certificate and key (`tls.cert_file`, `tls.key_file`), and a listener
//! that hands `axum::serve` connections whose TLS handshake is done.
//!
//! rustls with the aws-lc-rs provider, chosen explicitly rather than through rustls' process
//! default (which refuses to guess once a second provider is linked in, as reqwest's can be).

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use anyhow::{anyhow, bail};
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::{self, PemObject as _};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::config::TlsSettings;

/// How long a client may take over its handshake; a connection that has not finished by then
/// is closed (it holds a socket and a task until it does).
pub const HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);

/// Handshaken connections waiting for `axum::serve` to take them.
const READY_QUEUE: usize = 256;

/// Reads the certificate chain and key named by `tls` and builds the server's TLS
/// configuration; every error names the file (and the key) at fault. The returned
/// [`Certificate`] is the one the configuration serves: [`Certificate::reload`] replaces it.
pub fn server_config(tls: &TlsSettings) -> anyhow::Result<(Arc<ServerConfig>, Arc<Certificate>)> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let certificate = Arc::new(Certificate {
        current: RwLock::new(load(tls, &provider)?),
        files: tls.clone(),
        provider: provider.clone(),
    });
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| anyhow!("TLS protocol versions: {e}"))?
        .with_no_client_auth()
        .with_cert_resolver(certificate.clone());
    // The server speaks HTTP/1.1 only (axum without `http2`); WebSocket upgrades need it.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((Arc::new(config), certificate))
}

/// The certificate and key the server presents, re-read from their files on
/// [`Certificate::reload`] (SIGHUP): a renewed certificate without a restart, which would end
/// every running meeting.
#[derive(Debug)]
pub struct Certificate {
    current: RwLock<Arc<CertifiedKey>>,
    files: TlsSettings,
    provider: Arc<CryptoProvider>,
}

impl Certificate {
    /// Reads the files again and serves them to the handshakes that follow; connections
    /// already open keep theirs. On any error the certificate served stays as it was.
    pub fn reload(&self) -> anyhow::Result<()> {
        let fresh = load(&self.files, &self.provider)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = fresh;
        Ok(())
    }
}

impl ResolvesServerCert for Certificate {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        )
    }
}

fn load(tls: &TlsSettings, provider: &CryptoProvider) -> anyhow::Result<Arc<CertifiedKey>> {
    let (cert_file, key_file) = (tls.cert_file.display(), tls.key_file.display());
    let cert_pem = std::fs::read(&tls.cert_file).map_err(|e| {
        anyhow!("cannot read the TLS certificate file {cert_file} (tls.cert_file): {e}")
    })?;
    let certs = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            anyhow!("the TLS certificate file {cert_file} (tls.cert_file) is not valid PEM: {e}")
        })?;
    if certs.is_empty() {
        bail!(
            "the TLS certificate file {cert_file} (tls.cert_file) holds no certificate (no -----BEGIN CERTIFICATE----- section)"
        );
    }
    let key_pem = std::fs::read(&tls.key_file)
        .map_err(|e| anyhow!("cannot read the TLS key file {key_file} (tls.key_file): {e}"))?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| match e {
        pem::Error::NoItemsFound => anyhow!(
            "the TLS key file {key_file} (tls.key_file) holds no private key (PEM: PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY; an ENCRYPTED PRIVATE KEY must be decrypted first, e.g. with openssl pkey)"
        ),
        e => anyhow!("the TLS key file {key_file} (tls.key_file) is not valid PEM: {e}"),
    })?;
    let certified = CertifiedKey::from_der(certs, key, provider).map_err(|e| {
        anyhow!(
            "the TLS certificate file {cert_file} and key file {key_file} cannot be used together: {e}"
        )
    })?;
    Ok(Arc::new(certified))
}

/// A TLS listener for `axum::serve`: a task accepts TCP connections and runs each handshake
/// in a task of its own (one slow or silent client holds up no other), and `accept` hands
/// over the connections whose handshake succeeded, with the client's address (`ConnectInfo`).
/// Dropping it (axum does when it shuts down) stops accepting and ends handshakes in flight.
#[derive(Debug)]
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local_addr: SocketAddr,
    acceptor: JoinHandle<()>,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> io::Result<Self> {
        let local_addr = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(READY_QUEUE);
        let acceptor = tokio::spawn(accept_loop(tcp, TlsAcceptor::from(config), tx));
        Ok(Self {
            ready,
            local_addr,
            acceptor,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            None => {
                // The accepting task ended, which it does only by panicking.
                tracing::error!("the TLS accept task ended; no new connections are accepted");
                std::future::pending().await
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}

async fn accept_loop(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    // Aborted with this task, so no handshake outlives the listener.
    let mut handshakes = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = tcp.accept() => accepted,
            Some(_) = handshakes.join_next(), if !handshakes.is_empty() => continue,
        };
        let (stream, peer) = match accepted {
            Ok(connection) => connection,
            Err(e) => {
                accept_failed(e).await;
                continue;
            }
        };
        // As for plain HTTP: small frames (`hello`, events) go out at once (no Nagle).
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        let (acceptor, ready) = (acceptor.clone(), ready.clone());
        handshakes.spawn(async move {
            match tokio::time::timeout(HANDSHAKE_LIMIT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    // Fails only once the server is shutting down: the connection is dropped.
                    let _ = ready.send((tls, peer)).await;
                }
                // Browsers abort the handshake of a certificate they do not trust, and
                // scanners try anything: not worth more than a debug line.
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

/// What axum's own TCP listener does with an accept error: a connection's own failure is
/// skipped; anything else (out of file descriptors) is logged and retried after a second.
async fn accept_failed(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept error");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
