//! Why a TLS server dropped a fresh connection. A server that refuses the client's certificate
//! (or the lack of one, `tls-auth-clients yes`) sends a TLS alert and closes right after the
//! handshake. If the redis crate has already written its first command by then, the write
//! fails with "broken pipe" and the alert is never read: the same mistake would read as an
//! outage some of the time and be retried. This probe handshakes again and only listens, so
//! the alert, if there is one, always arrives.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use redis::{ConnectionAddr, RedisError};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::AsyncReadExt;

use super::endpoint::ConnectionSettings;

/// The alert the server at `addr` answers a fresh handshake with, as the error the redis crate
/// would have reported; `None` when it accepts the connection (it then waits for a command, so
/// nothing arrives within `wait`) or is not a TLS address.
pub(super) async fn rejection(
    addr: &ConnectionAddr,
    settings: &ConnectionSettings,
    wait: Duration,
) -> Option<RedisError> {
    let ConnectionAddr::TcpTls { host, port, .. } = addr else {
        return None;
    };
    let config = client_config(settings)?;
    let name = ServerName::try_from(host.clone()).ok()?;
    let probe = async {
        let tcp = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
        let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await?;
        let mut byte = [0u8; 1];
        tls.read(&mut byte).await
    };
    match tokio::time::timeout(wait, probe).await {
        Ok(Err(e)) if is_alert(&e) => Some(RedisError::from(e)),
        _ => None,
    }
}

fn is_alert(e: &io::Error) -> bool {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|e| matches!(e, rustls::Error::AlertReceived(_)))
}

/// The client's own certificate if one was given; the server's is not checked (the probe sends
/// nothing and only learns whether the server refuses this client).
fn client_config(settings: &ConnectionSettings) -> Option<rustls::ClientConfig> {
    let builder = rustls::ClientConfig::builder()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyServer));
    match (&settings.tls_cert, &settings.tls_key) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .ok()?
                .collect::<Result<Vec<_>, _>>()
                .ok()?;
            let key = PrivateKeyDer::from_pem_file(key).ok()?;
            builder.with_client_auth_cert(chain, key).ok()
        }
        _ => Some(builder.with_no_client_auth()),
    }
}

#[derive(Debug)]
struct AnyServer;

impl ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}
