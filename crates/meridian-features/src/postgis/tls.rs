//! TLS for PostGIS connections, as the store's `SSL mode` asks (GeoServer's values: `DISABLE`,
//! `ALLOW`, `PREFER`, `REQUIRE`, `VERIFY_CA`, `VERIFY_FULL`), through rustls.
//!
//! As libpq does: `ALLOW` and `PREFER` use TLS when the server offers it, `REQUIRE` insists on
//! it; none of the three checks the server's certificate. `VERIFY_CA` checks that the
//! certificate chains to a trusted root, `VERIFY_FULL` also that it names the host. Trusted
//! roots are the system's, plus the PEM file `PGSSLROOTCERT` names (libpq's variable).

use meridian_sources::SourceError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use std::sync::Arc;

/// How a connection to PostgreSQL uses TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SslMode {
    /// Plain TCP (GeoServer's default).
    #[default]
    Disable,
    /// TLS when the server offers it; the certificate is not checked.
    Prefer,
    /// TLS always; the certificate is not checked.
    Require,
    /// TLS always; the certificate must chain to a trusted root.
    VerifyCa,
    /// TLS always; the certificate must chain to a trusted root and name the host.
    VerifyFull,
}

impl SslMode {
    /// From the store's `SSL mode` (or libpq's `sslmode`) value; unknown values are errors.
    pub fn parse(v: &str) -> Result<SslMode, SourceError> {
        match v.trim().to_ascii_uppercase().replace('-', "_").as_str() {
            "" | "DISABLE" => Ok(SslMode::Disable),
            "ALLOW" | "PREFER" => Ok(SslMode::Prefer),
            "REQUIRE" => Ok(SslMode::Require),
            "VERIFY_CA" => Ok(SslMode::VerifyCa),
            "VERIFY_FULL" => Ok(SslMode::VerifyFull),
            other => Err(SourceError::Format(format!(
                "unknown PostGIS SSL mode '{other}' (DISABLE, ALLOW, PREFER, REQUIRE, VERIFY_CA or VERIFY_FULL)"
            ))),
        }
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The system's roots and those of `PGSSLROOTCERT`.
fn roots() -> Result<RootCertStore, SourceError> {
    let mut store = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    store.add_parsable_certificates(native.certs);
    if let Some(path) = std::env::var_os("PGSSLROOTCERT").filter(|p| !p.is_empty()) {
        let certs = CertificateDer::pem_file_iter(&path)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| {
                SourceError::Io(format!(
                    "PGSSLROOTCERT {}: {e}",
                    std::path::Path::new(&path).display()
                ))
            })?;
        for c in certs {
            store
                .add(c)
                .map_err(|e| SourceError::Io(format!("PGSSLROOTCERT: {e}")))?;
        }
    }
    Ok(store)
}

/// The rustls client configuration of a mode that uses TLS.
pub fn client_config(mode: SslMode) -> Result<ClientConfig, SourceError> {
    let tls_err = |e: rustls::Error| SourceError::Io(format!("TLS setup: {e}"));
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(tls_err)?;
    let verifier: Arc<dyn ServerCertVerifier> = match mode {
        SslMode::Disable | SslMode::Prefer | SslMode::Require => Arc::new(Unverified(provider())),
        SslMode::VerifyCa | SslMode::VerifyFull => {
            let webpki =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots()?), provider())
                    .build()
                    .map_err(|e| SourceError::Io(format!("TLS setup: {e}")))?;
            if mode == SslMode::VerifyCa {
                Arc::new(AnyName(webpki))
            } else {
                webpki
            }
        }
    };
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// Encryption without authentication of the server (libpq's `prefer` and `require`): the
/// handshake's signatures are still checked against the certificate presented.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A chain to a trusted root, whatever name the certificate holds (libpq's `verify-ca`).
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geoserver_and_libpq_spellings() {
        assert_eq!(SslMode::parse("DISABLE").unwrap(), SslMode::Disable);
        assert_eq!(SslMode::parse("").unwrap(), SslMode::Disable);
        assert_eq!(SslMode::parse("allow").unwrap(), SslMode::Prefer);
        assert_eq!(SslMode::parse("REQUIRE").unwrap(), SslMode::Require);
        assert_eq!(SslMode::parse("verify-ca").unwrap(), SslMode::VerifyCa);
        assert_eq!(SslMode::parse("VERIFY_FULL").unwrap(), SslMode::VerifyFull);
        assert!(SslMode::parse("sometimes").is_err());
        for m in [SslMode::Require, SslMode::VerifyCa, SslMode::VerifyFull] {
            client_config(m).unwrap();
        }
    }
}
