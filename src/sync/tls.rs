//! TLS 1.3 bound to the machines' ed25519 keys (`store-format.md` § *Sync protocol*).
//!
//! There is no certificate authority. Each machine presents a self-signed X.509
//! certificate whose SubjectPublicKeyInfo *is* its ed25519 identity key
//! ([`certificate`]); the handshake's CertificateVerify signature proves the peer
//! holds the matching secret. What a peer is trusted for is decided by its key alone:
//!
//! * a client pins the one key it expects the server to have ([`PinnedServerVerifier`],
//!   from `KEY@HOST:PORT`);
//! * a server requires a client certificate and admits it only if the member policy
//!   says its key is a member ([`MemberClientVerifier`]). The refusal happens inside
//!   the handshake, before the server sends any application data, so an unknown peer
//!   learns nothing but the server's key.
//!
//! Names, validity periods, extensions and chains are ignored: they carry no trust
//! here. Only TLS 1.3 with the `ed25519` signature scheme is offered or accepted, the
//! ring provider is used explicitly (no process-default provider), and session
//! resumption is off on both sides, so every connection runs both verifiers.
//!
//! The key is read from the certificate by a small strict DER walker
//! ([`key_of_certificate`]) and the handshake signature is checked against exactly
//! that key, so the key that was judged is the key that signed.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, SubjectPublicKeyInfoDer,
    UnixTime,
};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};

use crate::identity::{MachineKey, PublicKey};

pub use super::protocol::ALPN;

/// The subject common name and DNS name in every gadn certificate, and the server
/// name a client sends. It identifies nothing: trust comes from the key.
pub const SERVER_NAME: &str = "gadn";

/// Decides whether a client key may connect (is a member of a repository served
/// here). Called once per handshake; must be quick and must not block.
pub type MemberPolicy = Arc<dyn Fn(&PublicKey) -> bool + Send + Sync>;

/// DER prefix of an ed25519 SubjectPublicKeyInfo (RFC 8410 § 4): `SEQUENCE {
/// SEQUENCE { OID 1.3.101.112 }, BIT STRING (0 unused bits) }`, followed by the 32
/// key bytes.
pub const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Length of a whole ed25519 SubjectPublicKeyInfo: prefix and key, in bytes.
pub const ED25519_SPKI_LEN: usize = ED25519_SPKI_PREFIX.len() + 32;

/// What can go wrong making certificates, reading keys out of them, or building
/// TLS configurations.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The machine key could not be encoded as PKCS#8.
    #[error("cannot encode the machine key for TLS: {0}")]
    KeyEncoding(String),
    /// rcgen refused the key or the certificate parameters.
    #[error("cannot make the TLS certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    /// A certificate is not DER that gadn can read.
    #[error("malformed peer certificate: {reason}")]
    BadCertificate {
        /// Which structure was wrong.
        reason: &'static str,
    },
    /// A well-formed certificate whose key is not ed25519.
    #[error("peer certificate does not carry an ed25519 key (gadn peers use ed25519 keys only)")]
    NotEd25519,
    /// The certificate's ed25519 key bytes are not a valid curve point.
    #[error("peer certificate carries an invalid ed25519 key")]
    InvalidKey,
    /// rustls refused the configuration.
    #[error("cannot build the TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// A self-signed certificate for `key`, and `key` in the form rustls loads.
///
/// The certificate's SubjectPublicKeyInfo is `key.public()`; it is signed by `key`,
/// named [`SERVER_NAME`], and valid from 1975 to 4096 (rcgen's defaults: expiry is
/// never relied on). Each call makes a new serial number, so two certificates for
/// one key differ in bytes but carry the same key.
pub fn certificate(
    key: &MachineKey,
) -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), TlsError> {
    let pkcs8 = key
        .to_pkcs8_der()
        .map_err(|e| TlsError::KeyEncoding(e.to_string()))?;
    let pkcs8 = PrivatePkcs8KeyDer::from(pkcs8);
    let pair = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8, &rcgen::PKCS_ED25519)?;
    let mut params = rcgen::CertificateParams::new(vec![SERVER_NAME.to_string()])?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, SERVER_NAME);
    let cert = params.self_signed(&pair)?;
    Ok((cert.der().clone(), PrivateKeyDer::Pkcs8(pkcs8)))
}

/// The ed25519 key in `cert`'s SubjectPublicKeyInfo.
///
/// Walks the DER strictly: `Certificate ::= SEQUENCE { tbsCertificate SEQUENCE {
/// [0] version (optional), serialNumber INTEGER, signature SEQUENCE, issuer
/// SEQUENCE, validity SEQUENCE, subject SEQUENCE, subjectPublicKeyInfo SEQUENCE,
/// … }, … }` with definite minimal lengths, nothing after the certificate, and the
/// SubjectPublicKeyInfo exactly [`ED25519_SPKI_PREFIX`] followed by 32 bytes that
/// decode to a curve point. Never panics, whatever the input.
pub fn key_of_certificate(cert: &CertificateDer<'_>) -> Result<PublicKey, TlsError> {
    let spki = spki_of_certificate(cert.as_ref())?;
    if spki.len() != ED25519_SPKI_LEN || spki[..ED25519_SPKI_PREFIX.len()] != ED25519_SPKI_PREFIX {
        return Err(TlsError::NotEd25519);
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(&spki[ED25519_SPKI_PREFIX.len()..]);
    ed25519_dalek::VerifyingKey::from_bytes(&key).map_err(|_| TlsError::InvalidKey)?;
    Ok(PublicKey(key))
}

/// `key` as a DER SubjectPublicKeyInfo.
fn spki_of_key(key: &PublicKey) -> [u8; ED25519_SPKI_LEN] {
    let mut out = [0u8; ED25519_SPKI_LEN];
    out[..ED25519_SPKI_PREFIX.len()].copy_from_slice(&ED25519_SPKI_PREFIX);
    out[ED25519_SPKI_PREFIX.len()..].copy_from_slice(&key.0);
    out
}

/// DER tags used by the certificate walk.
mod tag {
    pub const INTEGER: u8 = 0x02;
    pub const SEQUENCE: u8 = 0x30;
    /// `[0] EXPLICIT`, constructed: the version field.
    pub const VERSION: u8 = 0xa0;
}

/// The whole SubjectPublicKeyInfo element (tag and length included) of a DER
/// certificate.
fn spki_of_certificate(der: &[u8]) -> Result<&[u8], TlsError> {
    let bad = |reason| TlsError::BadCertificate { reason };
    let (cert, rest) = Tlv::read(der).ok_or(bad("certificate is not DER"))?;
    if cert.tag != tag::SEQUENCE || !rest.is_empty() {
        return Err(bad("certificate is not one DER SEQUENCE"));
    }
    let (tbs, _) = Tlv::read(cert.value).ok_or(bad("tbsCertificate is not DER"))?;
    if tbs.tag != tag::SEQUENCE {
        return Err(bad("tbsCertificate is not a SEQUENCE"));
    }
    let mut fields = tbs.value;
    let mut next = |want: u8, reason: &'static str| -> Result<Tlv<'_>, TlsError> {
        let (field, rest) = Tlv::read(fields).ok_or(bad(reason))?;
        if field.tag != want {
            return Err(bad(reason));
        }
        fields = rest;
        Ok(field)
    };
    // The version is optional ([0] EXPLICIT, DEFAULT v1).
    if tbs.value.first() == Some(&tag::VERSION) {
        next(tag::VERSION, "bad version field")?;
    }
    next(tag::INTEGER, "bad serial number")?;
    next(tag::SEQUENCE, "bad signature algorithm")?;
    next(tag::SEQUENCE, "bad issuer")?;
    next(tag::SEQUENCE, "bad validity")?;
    next(tag::SEQUENCE, "bad subject")?;
    let spki = next(tag::SEQUENCE, "bad subjectPublicKeyInfo")?;
    Ok(spki.whole)
}

/// One DER element: tag, contents, and the whole encoding.
struct Tlv<'a> {
    /// The identifier octet (low-tag-number form only).
    tag: u8,
    /// The contents octets.
    value: &'a [u8],
    /// Identifier, length and contents octets.
    whole: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// Reads one element from the front of `input`; returns it and what follows.
    /// `None` for high tag numbers, indefinite or non-minimal lengths, lengths
    /// over 4 length octets, and truncation.
    fn read(input: &'a [u8]) -> Option<(Tlv<'a>, &'a [u8])> {
        let (&tag, after_tag) = input.split_first()?;
        if tag & 0x1f == 0x1f {
            return None;
        }
        let (&first, mut after_len) = after_tag.split_first()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 {
                return None;
            }
            let octets = after_len.get(..count)?;
            after_len = after_len.get(count..)?;
            if octets[0] == 0 {
                return None; // leading zero: not minimal
            }
            let len = octets
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            if len < 0x80 {
                return None; // long form for a short length: not minimal
            }
            len
        };
        let value = after_len.get(..len)?;
        let rest = after_len.get(len..)?;
        let whole = input.get(..input.len() - rest.len())?;
        Some((Tlv { tag, value, whole }, rest))
    }
}

/// The ring provider, used explicitly for every configuration, with AES-128-GCM
/// first among its TLS 1.3 suites (then AES-256-GCM, then ChaCha20-Poly1305): bulk
/// transfers encrypt every byte on both ends, and AES-128's 10 rounds cost about 30 %
/// less than AES-256's 14, at a security level TLS 1.3 makes mandatory.
fn provider() -> Arc<CryptoProvider> {
    use rustls::crypto::ring::cipher_suite;
    let mut p = rustls::crypto::ring::default_provider();
    p.cipher_suites = vec![
        cipher_suite::TLS13_AES_128_GCM_SHA256,
        cipher_suite::TLS13_AES_256_GCM_SHA384,
        cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
    ];
    Arc::new(p)
}

/// The signature schemes gadn offers and accepts: ed25519 only.
fn schemes() -> Vec<SignatureScheme> {
    vec![SignatureScheme::ED25519]
}

/// Checks a TLS 1.3 handshake signature: the scheme must be ed25519, webpki must
/// accept it against the certificate, and it must verify against the key
/// [`key_of_certificate`] reads — the key the pin or the policy judged.
fn verify_tls13(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
    algorithms: &WebPkiSupportedAlgorithms,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    if dss.scheme != SignatureScheme::ED25519 {
        return Err(rustls::PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme.into());
    }
    rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)?;
    let key = key_of_certificate(cert).map_err(|_| CertificateError::BadEncoding)?;
    let spki = SubjectPublicKeyInfoDer::from(spki_of_key(&key).to_vec());
    rustls::crypto::verify_tls13_signature_with_raw_key(message, &spki, dss, algorithms)
}

/// The refusal for TLS 1.2, which gadn never negotiates.
fn no_tls12() -> rustls::Error {
    rustls::Error::General("gadn speaks TLS 1.3 only".into())
}

/// A peer key that is not the one we pinned.
#[derive(Debug, thiserror::Error)]
#[error("the peer presented key {presented}, but {expected} was expected")]
pub struct KeyMismatch {
    /// The pinned key.
    pub expected: PublicKey,
    /// The key in the peer's certificate.
    pub presented: PublicKey,
}

/// Client side: accepts exactly one server key, the pinned one.
///
/// Remembers the key the server presented (see [`PinnedServerVerifier::presented`])
/// so a refusal can say which key was found instead.
pub struct PinnedServerVerifier {
    expected: PublicKey,
    presented: Mutex<Option<PublicKey>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl std::fmt::Debug for PinnedServerVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinnedServerVerifier")
            .field("expected", &self.expected)
            .finish_non_exhaustive()
    }
}

impl PinnedServerVerifier {
    /// A verifier accepting only a server whose certificate carries `expected`.
    pub fn new(expected: PublicKey) -> PinnedServerVerifier {
        PinnedServerVerifier {
            expected,
            presented: Mutex::new(None),
            algorithms: rustls::crypto::ring::default_provider().signature_verification_algorithms,
        }
    }

    /// The pinned key.
    pub fn expected(&self) -> PublicKey {
        self.expected
    }

    /// The ed25519 key the server's certificate carried, once the handshake got that
    /// far (whether or not it matched); `None` before, or if the certificate held no
    /// ed25519 key.
    pub fn presented(&self) -> Option<PublicKey> {
        match self.presented.lock() {
            Ok(g) => *g,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }
}

impl ServerCertVerifier for PinnedServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let presented = key_of_certificate(end_entity).map_err(|e| {
            tracing::debug!("server certificate refused: {e}");
            CertificateError::BadEncoding
        })?;
        match self.presented.lock() {
            Ok(mut g) => *g = Some(presented),
            Err(poisoned) => *poisoned.into_inner() = Some(presented),
        }
        if presented == self.expected {
            Ok(ServerCertVerified::assertion())
        } else {
            let mismatch = KeyMismatch {
                expected: self.expected,
                presented,
            };
            tracing::debug!("server refused: {mismatch}");
            Err(CertificateError::Other(rustls::OtherError(Arc::new(mismatch))).into())
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(no_tls12())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        schemes()
    }
}

/// Server side: requires a client certificate and admits it only if the member
/// policy accepts its key. A refusal is the TLS alert `access_denied`.
pub struct MemberClientVerifier {
    policy: MemberPolicy,
    algorithms: WebPkiSupportedAlgorithms,
}

impl std::fmt::Debug for MemberClientVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemberClientVerifier")
            .finish_non_exhaustive()
    }
}

impl MemberClientVerifier {
    /// A verifier admitting the keys `policy` accepts.
    pub fn new(policy: MemberPolicy) -> MemberClientVerifier {
        MemberClientVerifier {
            policy,
            algorithms: rustls::crypto::ring::default_provider().signature_verification_algorithms,
        }
    }
}

impl ClientCertVerifier for MemberClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let key = key_of_certificate(end_entity).map_err(|e| {
            tracing::info!("client certificate refused: {e}");
            CertificateError::BadEncoding
        })?;
        if (self.policy)(&key) {
            Ok(ClientCertVerified::assertion())
        } else {
            tracing::info!("client {key} refused: not a member");
            Err(CertificateError::ApplicationVerificationFailure.into())
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(no_tls12())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        schemes()
    }
}

/// A machine's certificate and key, made once and reused for every connection.
pub struct Credentials {
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
    public: PublicKey,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        write!(f, "Credentials({})", self.public)
    }
}

impl Credentials {
    /// The [`certificate`] of `key`.
    pub fn new(key: &MachineKey) -> Result<Credentials, TlsError> {
        let (cert, secret) = certificate(key)?;
        Ok(Credentials {
            cert,
            key: secret,
            public: key.public(),
        })
    }

    /// The key the certificate carries.
    pub fn public(&self) -> PublicKey {
        self.public
    }

    /// The certificate.
    pub fn certificate(&self) -> &CertificateDer<'static> {
        &self.cert
    }

    /// A server configuration: TLS 1.3, ALPN [`ALPN`], client certificates required
    /// and judged by `policy`, no session resumption.
    pub fn server_config(&self, policy: MemberPolicy) -> Result<rustls::ServerConfig, TlsError> {
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_client_cert_verifier(Arc::new(MemberClientVerifier::new(policy)))
            .with_single_cert(vec![self.cert.clone()], self.key.clone_key())?;
        config.alpn_protocols = vec![ALPN.to_vec()];
        config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
        config.max_early_data_size = 0;
        Ok(config)
    }

    /// A client configuration: TLS 1.3, ALPN [`ALPN`], our certificate presented,
    /// the server judged by `verifier`, no session resumption (a resumed session
    /// would skip the pin).
    pub fn client_config(
        &self,
        verifier: Arc<PinnedServerVerifier>,
    ) -> Result<rustls::ClientConfig, TlsError> {
        let mut config = rustls::ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_client_auth_cert(vec![self.cert.clone()], self.key.clone_key())?;
        config.alpn_protocols = vec![ALPN.to_vec()];
        config.resumption = rustls::client::Resumption::disabled();
        config.enable_early_data = false;
        Ok(config)
    }
}

/// A server configuration for `key` admitting the clients `policy` accepts; see
/// [`Credentials::server_config`].
pub fn server_config(
    key: &MachineKey,
    policy: MemberPolicy,
) -> Result<rustls::ServerConfig, TlsError> {
    Credentials::new(key)?.server_config(policy)
}

/// A client configuration for `key` accepting only a server with key
/// `expected_server`; see [`Credentials::client_config`].
pub fn client_config(
    key: &MachineKey,
    expected_server: PublicKey,
) -> Result<rustls::ClientConfig, TlsError> {
    Credentials::new(key)?.client_config(Arc::new(PinnedServerVerifier::new(expected_server)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cert_of(seed: u8) -> CertificateDer<'static> {
        certificate(&MachineKey::from_seed([seed; 32])).unwrap().0
    }

    #[test]
    fn a_certificate_carries_its_machine_key() {
        for seed in [0u8, 1, 7, 255] {
            let key = MachineKey::from_seed([seed; 32]);
            let (cert, secret) = certificate(&key).unwrap();
            assert_eq!(key_of_certificate(&cert).unwrap(), key.public());
            assert!(matches!(secret, PrivateKeyDer::Pkcs8(_)));
            // The SPKI appears verbatim in the certificate.
            let spki = spki_of_key(&key.public());
            assert!(cert.windows(spki.len()).any(|w| w == spki));
        }
    }

    #[test]
    fn non_ed25519_and_malformed_certificates_are_refused() {
        // A P-256 certificate is well-formed but not ours.
        let p256 = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let params = rcgen::CertificateParams::new(vec!["gadn".to_string()]).unwrap();
        let other = params.self_signed(&p256).unwrap();
        let err = key_of_certificate(other.der()).unwrap_err();
        assert!(matches!(err, TlsError::NotEd25519), "{err}");

        let good = cert_of(3).to_vec();
        let mut trailing = good.clone();
        trailing.push(0);
        let err = key_of_certificate(&CertificateDer::from(trailing)).unwrap_err();
        assert!(matches!(err, TlsError::BadCertificate { .. }), "{err}");
        let err =
            key_of_certificate(&CertificateDer::from(good[..good.len() - 1].to_vec())).unwrap_err();
        assert!(matches!(err, TlsError::BadCertificate { .. }), "{err}");
        let err = key_of_certificate(&CertificateDer::from(Vec::new())).unwrap_err();
        assert!(err.to_string().contains("malformed"), "{err}");

        // An off-curve key in an otherwise intact certificate.
        let key = MachineKey::from_seed([3; 32]).public();
        let at = good.windows(32).position(|w| w == key.0).unwrap();
        let mut off_curve = good.clone();
        off_curve[at..at + 32].copy_from_slice(&{
            let mut k = [0u8; 32];
            k[0] = 2;
            k
        });
        let err = key_of_certificate(&CertificateDer::from(off_curve)).unwrap_err();
        assert!(matches!(err, TlsError::InvalidKey), "{err}");
    }

    #[test]
    fn der_lengths_must_be_minimal_and_definite() {
        assert!(Tlv::read(&[0x30, 0x80, 0, 0]).is_none()); // indefinite
        assert!(Tlv::read(&[0x30, 0x81, 0x05, 1, 2, 3, 4, 5]).is_none()); // long for short
        assert!(Tlv::read(&[0x30, 0x82, 0x00, 0x80]).is_none()); // leading zero
        assert!(Tlv::read(&[0x1f, 0x01, 0x00]).is_none()); // high tag number
        assert!(Tlv::read(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_none()); // too many octets
        assert!(Tlv::read(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none()); // truncated
        let (t, rest) = Tlv::read(&[0x02, 0x01, 0x05, 0xaa]).unwrap();
        assert_eq!(
            (t.tag, t.value, t.whole, rest),
            (2, &[5u8][..], &[2u8, 1, 5][..], &[0xaau8][..])
        );
    }

    #[test]
    fn configs_build_with_alpn_and_tls13_only() {
        let key = MachineKey::from_seed([9; 32]);
        let policy: MemberPolicy = Arc::new(|_| true);
        let s = server_config(&key, policy).unwrap();
        assert_eq!(s.alpn_protocols, vec![ALPN.to_vec()]);
        assert_eq!(s.send_tls13_tickets, 0);
        let c = client_config(&key, MachineKey::from_seed([1; 32]).public()).unwrap();
        assert_eq!(c.alpn_protocols, vec![ALPN.to_vec()]);
        let creds = Credentials::new(&key).unwrap();
        assert_eq!(creds.public(), key.public());
        assert!(!format!("{creds:?}").contains("Pkcs8"));
    }

    /// A handshake signature as it travels: scheme (u16), length (u16), signature.
    fn dss(scheme: SignatureScheme, sig: &[u8]) -> DigitallySignedStruct {
        use rustls::internal::msgs::codec::{Codec, Reader};
        let mut wire = u16::from(scheme).to_be_bytes().to_vec();
        wire.extend_from_slice(&(sig.len() as u16).to_be_bytes());
        wire.extend_from_slice(sig);
        DigitallySignedStruct::read(&mut Reader::init(&wire)).unwrap()
    }

    /// The verifiers' handshake-signature checks, called directly: TLS 1.2 is always
    /// refused, TLS 1.3 takes an ed25519 signature by the certificate's key and
    /// nothing else.
    #[test]
    fn handshake_signatures_must_be_tls13_ed25519_by_the_certificate_key() {
        let key = MachineKey::from_seed([5; 32]);
        let cert = cert_of(5);
        let message = b"TLS 1.3, server CertificateVerify";
        let good = dss(SignatureScheme::ED25519, &key.sign(message));
        let server = PinnedServerVerifier::new(key.public());
        let client = MemberClientVerifier::new(Arc::new(|_| true));
        assert!(server.verify_tls13_signature(message, &cert, &good).is_ok());
        assert!(client.verify_tls13_signature(message, &cert, &good).is_ok());
        // Another message, another scheme, another signer's certificate.
        assert!(server
            .verify_tls13_signature(b"other", &cert, &good)
            .is_err());
        let ecdsa = dss(SignatureScheme::ECDSA_NISTP256_SHA256, &key.sign(message));
        let err = client
            .verify_tls13_signature(message, &cert, &ecdsa)
            .unwrap_err();
        assert_eq!(
            err,
            rustls::PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme.into()
        );
        assert!(server
            .verify_tls13_signature(message, &cert_of(6), &good)
            .is_err());
        for err in [
            server
                .verify_tls12_signature(message, &cert, &good)
                .unwrap_err(),
            client
                .verify_tls12_signature(message, &cert, &good)
                .unwrap_err(),
        ] {
            assert!(err.to_string().contains("TLS 1.3 only"), "{err}");
        }
        assert_eq!(
            server.supported_verify_schemes(),
            vec![SignatureScheme::ED25519]
        );
        assert_eq!(
            client.supported_verify_schemes(),
            vec![SignatureScheme::ED25519]
        );
    }

    /// The server's verifier asks every client for a certificate and admits exactly
    /// the keys its policy accepts; a malformed certificate is refused before that.
    #[test]
    fn client_certificates_are_judged_by_the_member_policy() {
        let member = MachineKey::from_seed([7; 32]).public();
        let v = MemberClientVerifier::new(Arc::new(move |k| *k == member));
        assert!(v.offer_client_auth() && v.client_auth_mandatory());
        assert!(v.root_hint_subjects().is_empty());
        let now = UnixTime::now();
        assert!(v.verify_client_cert(&cert_of(7), &[], now).is_ok());
        let stranger = v.verify_client_cert(&cert_of(8), &[], now).unwrap_err();
        assert_eq!(
            stranger,
            rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure)
        );
        let junk = CertificateDer::from(vec![0x30, 0x03, 1, 2, 3]);
        let bad = v.verify_client_cert(&junk, &[], now).unwrap_err();
        assert_eq!(
            bad,
            rustls::Error::InvalidCertificate(CertificateError::BadEncoding)
        );
        assert!(format!("{v:?}").starts_with("MemberClientVerifier"));
        let pinned = PinnedServerVerifier::new(member);
        assert!(format!("{pinned:?}").contains("expected"));
        assert_eq!(pinned.expected(), member);
        assert_eq!(pinned.presented(), None);
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = key_of_certificate(&CertificateDer::from(bytes));
        }

        #[test]
        fn truncations_and_corruptions_never_panic(
            cut in 0usize..2000,
            flips in proptest::collection::vec((0usize..2000, any::<u8>()), 0..8),
        ) {
            let good = cert_of(5).to_vec();
            let cut = cut % (good.len() + 1);
            let truncated = good[..cut].to_vec();
            let r = key_of_certificate(&CertificateDer::from(truncated));
            prop_assert_eq!(r.is_ok(), cut == good.len());
            let mut corrupt = good.clone();
            for (at, b) in flips {
                let n = corrupt.len();
                corrupt[at % n] = b;
            }
            let _ = key_of_certificate(&CertificateDer::from(corrupt));
        }
    }
}
