//! QUIC endpoints for sync: quinn on tokio, TLS from [`super::tls`], ALPN
//! [`ALPN`](super::tls::ALPN), flow-control windows sized for bulk transfer.
//!
//! One [`Endpoint`] per process both accepts (judging clients by its
//! [`MemberPolicy`]) and connects (pinning the server's key per connection). Every
//! [`Connection`] carries the peer's ed25519 key, taken from the certificate the
//! handshake verified.
//!
//! A connection is handed out only once the handshake is *confirmed*: a client waits
//! for the server's `HANDSHAKE_DONE` frame (RFC 9001 § 4.1.2), which the server sends
//! only after admitting the client's key. A server that refuses the client therefore
//! makes [`Endpoint::connect`] fail with [`TransportError::Refused`] rather than hand
//! out a connection that dies at its first use. The server never sends application
//! data to a client it has not admitted.
//!
//! A process that only connects (`gadn clone`) still needs its certificate: bind on
//! port 0 with [`refuse_all`] as the policy.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use quinn::{TransportErrorCode, VarInt};
use rustls::pki_types::CertificateDer;

use super::tls::{self, Credentials, PinnedServerVerifier, TlsError};
use crate::identity::{MachineKey, PublicKey};

/// Decides whether a client key may connect; see [`tls::MemberPolicy`].
pub type MemberPolicy = tls::MemberPolicy;

/// A policy admitting nobody: for endpoints that only connect.
pub fn refuse_all() -> MemberPolicy {
    Arc::new(|_| false)
}

/// Per-stream receive window, in bytes (16 MiB): how much one stream may have in
/// flight unacknowledged. A single stream's throughput is capped at window / RTT,
/// e.g. 16 MiB / 50 ms ≈ 335 MB/s.
pub const STREAM_RECEIVE_WINDOW: u32 = 16 << 20;

/// Per-connection receive window over all streams, in bytes (64 MiB).
pub const RECEIVE_WINDOW: u32 = 64 << 20;

/// Per-connection send buffer over all streams, in bytes (64 MiB).
pub const SEND_WINDOW: u64 = 64 << 20;

/// Kernel buffer asked for each endpoint's UDP socket, each way, in bytes (8 MiB).
/// A bulk transfer delivers datagrams in bursts faster than the receiving task
/// drains them; with the Linux default (208 KiB) the socket overflows, the drops
/// read as congestion, and a loopback clone ran about 25 % slower. The kernel caps
/// the size at `net.core.rmem_max` / `wmem_max`.
pub const SOCKET_BUFFER: usize = 8 << 20;

/// Bidirectional streams each side lets the other open at once. Both directions
/// are used: the server opens streams back to the client during push.
pub const MAX_CONCURRENT_BIDI_STREAMS: u32 = 128;

/// Interval between keep-alive packets on an idle connection (5 s), well under
/// [`MAX_IDLE_TIMEOUT`] and typical NAT binding lifetimes.
pub const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(5);

/// A connection (or handshake) that hears nothing for this long is closed (30 s).
pub const MAX_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The application close code of [`Endpoint::close`] and [`Connection::close`]:
/// an orderly goodbye.
pub const CLOSE_OK: u32 = 0;

/// The TLS alert a server sends when its member policy refuses the client
/// (`access_denied`, RFC 8446 § 6.2); QUIC carries it as `CRYPTO_ERROR` 0x100 + 49.
const ALERT_ACCESS_DENIED: u8 = 49;

/// What can go wrong binding, connecting or accepting.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The UDP socket could not be bound (or no tokio runtime is running).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The TLS configuration could not be built.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// quinn refused the configuration (no usable initial cipher suite).
    #[error("cannot configure QUIC: {0}")]
    Config(String),
    /// The connection could not even be started (bad address, endpoint closing).
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// The peer's address.
        addr: SocketAddr,
        /// The underlying error.
        #[source]
        source: quinn::ConnectError,
    },
    /// The server's certificate carried another key than the pinned one.
    #[error("peer at {addr} has key {presented}, but {expected} was expected\nhint: check the address, or whether that peer's key changed (a new key means a new identity)")]
    KeyMismatch {
        /// The peer's address.
        addr: SocketAddr,
        /// The pinned key.
        expected: PublicKey,
        /// The key the peer presented.
        presented: PublicKey,
    },
    /// The server refused our key during the handshake: we are not a member there.
    #[error("peer at {addr} refused this machine's key {ours}: it is not a member there\nhint: ask a member to add {ours}")]
    Refused {
        /// The peer's address.
        addr: SocketAddr,
        /// Our key, as the server saw it.
        ours: PublicKey,
    },
    /// The handshake failed otherwise (timeout, unreachable, not a gadn peer, a
    /// client the member policy refused, …).
    #[error("handshake with {addr} failed: {source}")]
    Handshake {
        /// The peer's address.
        addr: SocketAddr,
        /// The underlying error.
        #[source]
        source: quinn::ConnectionError,
    },
    /// The handshake succeeded but the peer's certificate could not be read back.
    #[error("connection with {addr} has no usable peer certificate")]
    NoPeerIdentity {
        /// The peer's address.
        addr: SocketAddr,
    },
}

/// Environment variable overriding [`MAX_IDLE_TIMEOUT`], in seconds (1–3600): how
/// long a silent peer is waited for before the connection is given up.
pub const IDLE_TIMEOUT_ENV: &str = "GADN_IDLE_TIMEOUT";

/// The idle timeout in force: [`IDLE_TIMEOUT_ENV`] when set to a number of seconds
/// from 1 to 3600, else [`MAX_IDLE_TIMEOUT`].
pub fn idle_timeout() -> Duration {
    std::env::var(IDLE_TIMEOUT_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| (1..=3600).contains(s))
        .map(Duration::from_secs)
        .unwrap_or(MAX_IDLE_TIMEOUT)
}

/// The UDP socket of an endpoint, bound to `addr` with [`SOCKET_BUFFER`]-byte kernel
/// buffers (or as much as the system allows; see [`SOCKET_BUFFER`]).
fn bind_socket(addr: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    // Best effort: the kernel caps both at net.core.{r,w}mem_max without failing.
    let _ = s.set_recv_buffer_size(SOCKET_BUFFER);
    let _ = s.set_send_buffer_size(SOCKET_BUFFER);
    // Linux reports the doubled value it keeps for bookkeeping.
    let got = s.recv_buffer_size().unwrap_or(0) / 2;
    if got < SOCKET_BUFFER / 4 {
        tracing::debug!(
            bytes = got,
            wanted = SOCKET_BUFFER,
            "small UDP receive buffer (net.core.rmem_max); bulk transfers may drop packets"
        );
    }
    s.bind(&addr.into())?;
    Ok(s.into())
}

/// Transport parameters for bulk transfer; see the constants for the numbers.
fn transport_config() -> Arc<quinn::TransportConfig> {
    let mut t = quinn::TransportConfig::default();
    t.stream_receive_window(VarInt::from_u32(STREAM_RECEIVE_WINDOW))
        .receive_window(VarInt::from_u32(RECEIVE_WINDOW))
        .send_window(SEND_WINDOW)
        .max_concurrent_bidi_streams(VarInt::from_u32(MAX_CONCURRENT_BIDI_STREAMS))
        .keep_alive_interval(Some(KEEP_ALIVE_INTERVAL.min(idle_timeout() / 2)))
        .max_idle_timeout(Some(
            quinn::IdleTimeout::try_from(idle_timeout())
                .expect("at most an hour, far below QUIC's 2^62 ms limit"),
        ));
    Arc::new(t)
}

/// A QUIC endpoint on one UDP socket that both accepts and connects.
#[derive(Debug)]
pub struct Endpoint {
    inner: quinn::Endpoint,
    credentials: Credentials,
}

impl Endpoint {
    /// Binds `addr` (port 0 picks a free port), serving with `key`'s certificate
    /// and admitting the clients `policy` accepts. Must be called inside a tokio
    /// runtime.
    pub fn bind(
        addr: SocketAddr,
        key: &MachineKey,
        policy: MemberPolicy,
    ) -> Result<Endpoint, TransportError> {
        let credentials = Credentials::new(key)?;
        let tls = credentials.server_config(policy)?;
        let crypto =
            QuicServerConfig::try_from(tls).map_err(|e| TransportError::Config(e.to_string()))?;
        let mut server = quinn::ServerConfig::with_crypto(Arc::new(crypto));
        server.transport_config(transport_config());
        let bind_err = |source| TransportError::Bind { addr, source };
        let socket = bind_socket(addr).map_err(bind_err)?;
        let runtime = quinn::default_runtime()
            .ok_or_else(|| bind_err(std::io::Error::other("no tokio runtime is running")))?;
        let inner = quinn::Endpoint::new(
            quinn::EndpointConfig::default(),
            Some(server),
            socket,
            runtime,
        )
        .map_err(bind_err)?;
        Ok(Endpoint { inner, credentials })
    }

    /// Our key, as peers see it.
    pub fn public(&self) -> PublicKey {
        self.credentials.public()
    }

    /// The bound address (with the real port when bound on port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Connects to `addr`, accepting only a peer whose key is `expected`, and waits
    /// until the peer has admitted us too (the handshake is confirmed).
    ///
    /// Fails with [`TransportError::KeyMismatch`] if another key answers,
    /// [`TransportError::Refused`] if the peer refuses our key, and
    /// [`TransportError::Handshake`] otherwise (a silent peer times out after
    /// [`MAX_IDLE_TIMEOUT`]).
    pub async fn connect(
        &self,
        addr: SocketAddr,
        expected: PublicKey,
    ) -> Result<Connection, TransportError> {
        let verifier = Arc::new(PinnedServerVerifier::new(expected));
        let tls = self.credentials.client_config(verifier.clone())?;
        let crypto =
            QuicClientConfig::try_from(tls).map_err(|e| TransportError::Config(e.to_string()))?;
        let mut client = quinn::ClientConfig::new(Arc::new(crypto));
        client.transport_config(transport_config());
        let connecting = self
            .inner
            .connect_with(client, addr, tls::SERVER_NAME)
            .map_err(|source| TransportError::Connect { addr, source })?;
        let failed = |source: quinn::ConnectionError| match verifier.presented() {
            Some(presented) if presented != expected => TransportError::KeyMismatch {
                addr,
                expected,
                presented,
            },
            _ if is_access_denied(&source) => TransportError::Refused {
                addr,
                ours: self.public(),
            },
            _ => TransportError::Handshake { addr, source },
        };
        let conn = connecting.await.map_err(failed)?;
        confirmed(&conn).await.map_err(failed)?;
        let peer = peer_key(&conn)?;
        if peer != expected {
            // The verifier already ensured this; never hand out a wrong peer.
            conn.close(VarInt::from_u32(CLOSE_OK), b"");
            return Err(TransportError::KeyMismatch {
                addr,
                expected,
                presented: peer,
            });
        }
        Ok(Connection { inner: conn, peer })
    }

    /// Waits for the next incoming connection and completes its handshake.
    ///
    /// `None` once the endpoint is closed. A handshake failure (including a client
    /// the policy refused) is `Some(Err(_))`; keep accepting. The handshake runs
    /// inline: a server that must not be held up by slow clients should use
    /// [`Endpoint::accept_incoming`] and complete handshakes in spawned tasks.
    pub async fn accept(&self) -> Option<Result<Connection, TransportError>> {
        Some(self.accept_incoming().await?.handshake().await)
    }

    /// Waits for the next incoming connection attempt, without running its
    /// handshake. `None` once the endpoint is closed.
    pub async fn accept_incoming(&self) -> Option<Accepting> {
        self.inner.accept().await.map(|inner| Accepting { inner })
    }

    /// Closes every connection (application code [`CLOSE_OK`]) and stops accepting.
    /// Pending [`Endpoint::accept`] calls return `None`.
    pub fn close(&self) {
        self.inner.close(VarInt::from_u32(CLOSE_OK), b"bye");
    }

    /// Waits until every connection is closed and its close has been sent (call
    /// after [`Endpoint::close`] before exiting, so peers hear the goodbye).
    pub async fn wait_idle(&self) {
        self.inner.wait_idle().await
    }
}

/// An incoming connection attempt whose handshake has not run yet.
#[derive(Debug)]
pub struct Accepting {
    inner: quinn::Incoming,
}

impl Accepting {
    /// Where the attempt comes from (not yet authenticated).
    pub fn remote_address(&self) -> SocketAddr {
        self.inner.remote_address()
    }

    /// Runs the handshake: the client must present a certificate whose key the
    /// member policy admits.
    pub async fn handshake(self) -> Result<Connection, TransportError> {
        let addr = self.inner.remote_address();
        let fail = |source| TransportError::Handshake { addr, source };
        let conn = self.inner.accept().map_err(fail)?.await.map_err(fail)?;
        let peer = peer_key(&conn)?;
        Ok(Connection { inner: conn, peer })
    }
}

/// An established, mutually authenticated connection.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The quinn connection: open and accept streams on it.
    pub inner: quinn::Connection,
    /// The peer's key, from the certificate the handshake verified.
    pub peer: PublicKey,
}

impl Connection {
    /// The peer's ed25519 key.
    pub fn peer_key(&self) -> PublicKey {
        self.peer
    }

    /// The peer's current UDP address.
    pub fn remote_address(&self) -> SocketAddr {
        self.inner.remote_address()
    }

    /// Closes the connection with application code `code` and a short `reason`
    /// (at most a few hundred bytes; it travels in one packet).
    pub fn close(&self, code: u32, reason: &[u8]) {
        self.inner.close(VarInt::from_u32(code), reason);
    }
}

/// The key in the certificate `conn`'s peer presented.
fn peer_key(conn: &quinn::Connection) -> Result<PublicKey, TransportError> {
    let addr = conn.remote_address();
    let missing = || TransportError::NoPeerIdentity { addr };
    let identity = conn.peer_identity().ok_or_else(missing)?;
    let chain = identity
        .downcast::<Vec<CertificateDer<'static>>>()
        .map_err(|_| missing())?;
    let cert = chain.first().ok_or_else(missing)?;
    tls::key_of_certificate(cert).map_err(|_| missing())
}

/// True if the peer closed the connection with the TLS alert `access_denied`.
fn is_access_denied(e: &quinn::ConnectionError) -> bool {
    matches!(e, quinn::ConnectionError::ConnectionClosed(close)
        if close.error_code == TransportErrorCode::crypto(ALERT_ACCESS_DENIED))
}

/// Waits until the server confirms the handshake (its `HANDSHAKE_DONE` frame has
/// arrived), or the connection closes. quinn reports no event for this, so the
/// frame counter is polled, at first every millisecond, backing off to 20 ms.
/// Bounded by [`MAX_IDLE_TIMEOUT`]: a server that never confirms is timed out.
async fn confirmed(conn: &quinn::Connection) -> Result<(), quinn::ConnectionError> {
    let mut pause = Duration::from_millis(1);
    loop {
        if conn.stats().frame_rx.handshake_done > 0 {
            return Ok(());
        }
        tokio::select! {
            e = conn.closed() => return Err(e),
            _ = tokio::time::sleep(pause) => {}
        }
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, SocketAddrV4};
    use tokio::time::timeout;

    /// Each test's time bound.
    const LIMIT: Duration = Duration::from_secs(60);

    fn loopback() -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0))
    }

    fn key(seed: u8) -> MachineKey {
        MachineKey::from_seed([seed; 32])
    }

    fn only(k: PublicKey) -> MemberPolicy {
        Arc::new(move |p| *p == k)
    }

    #[test]
    fn sockets_get_bulk_buffers_as_far_as_the_system_allows() {
        let cap = |f: &str| {
            std::fs::read_to_string(format!("/proc/sys/net/core/{f}"))
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0)
        };
        let s = socket2::Socket::from(bind_socket(loopback()).unwrap());
        // Linux keeps (and reports) twice the size asked for.
        let want = |max: usize| 2 * SOCKET_BUFFER.min(max);
        assert!(s.recv_buffer_size().unwrap() >= want(cap("rmem_max")));
        assert!(s.send_buffer_size().unwrap() >= want(cap("wmem_max")));
        assert!(s.local_addr().unwrap().as_socket().unwrap().port() != 0);
    }

    #[tokio::test]
    async fn members_connect_see_each_other_and_echo() {
        timeout(LIMIT, async {
            let (a, b) = (key(1), key(2));
            let ea = Endpoint::bind(loopback(), &a, refuse_all()).unwrap();
            let eb = Endpoint::bind(loopback(), &b, only(a.public())).unwrap();
            let baddr = eb.local_addr().unwrap();
            let server = tokio::spawn(async move {
                let conn = eb.accept().await.unwrap().unwrap();
                assert_eq!(conn.peer_key(), key(1).public());
                let (mut send, mut recv) = conn.inner.accept_bi().await.unwrap();
                let got = recv.read_to_end(1 << 20).await.unwrap();
                send.write_all(&got).await.unwrap();
                send.finish().unwrap();
                conn.inner.closed().await;
                eb
            });
            let conn = ea.connect(baddr, b.public()).await.unwrap();
            assert_eq!(conn.peer_key(), b.public());
            assert_eq!(conn.remote_address(), baddr);
            let (mut send, mut recv) = conn.inner.open_bi().await.unwrap();
            send.write_all(b"hello gadn").await.unwrap();
            send.finish().unwrap();
            assert_eq!(recv.read_to_end(1 << 20).await.unwrap(), b"hello gadn");
            conn.close(CLOSE_OK, b"done");
            let eb = server.await.unwrap();
            ea.close();
            eb.close();
            ea.wait_idle().await;
        })
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn a_different_server_key_is_refused_by_name() {
        timeout(LIMIT, async {
            let (a, b, c) = (key(1), key(2), key(3));
            let ea = Endpoint::bind(loopback(), &a, refuse_all()).unwrap();
            let eb = Endpoint::bind(loopback(), &b, only(a.public())).unwrap();
            let baddr = eb.local_addr().unwrap();
            let server = tokio::spawn(async move { eb.accept().await.map(|r| r.is_ok()) });
            let err = ea.connect(baddr, c.public()).await.unwrap_err();
            match &err {
                TransportError::KeyMismatch {
                    expected,
                    presented,
                    ..
                } => {
                    assert_eq!(*expected, c.public());
                    assert_eq!(*presented, b.public());
                }
                other => panic!("expected a key mismatch, got {other}"),
            }
            let text = err.to_string();
            assert!(text.contains(&c.public().to_text()), "{text}");
            assert!(text.contains(&b.public().to_text()), "{text}");
            // The server never got a connection out of it.
            assert_eq!(server.await.unwrap(), Some(false));
        })
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn an_unknown_client_is_refused_in_the_handshake() {
        timeout(LIMIT, async {
            let (a, b) = (key(1), key(2));
            let ea = Endpoint::bind(loopback(), &a, refuse_all()).unwrap();
            // B admits only C; the server would send data to anybody it admitted.
            let eb = Endpoint::bind(loopback(), &b, only(key(3).public())).unwrap();
            let baddr = eb.local_addr().unwrap();
            let server = tokio::spawn(async move {
                for _ in 0..2 {
                    match eb.accept().await.unwrap() {
                        Ok(conn) => {
                            let mut s = conn.inner.open_uni().await.unwrap();
                            s.write_all(b"secret").await.unwrap();
                            s.finish().unwrap();
                            return Some(conn.peer_key());
                        }
                        Err(e) => assert!(matches!(e, TransportError::Handshake { .. }), "{e}"),
                    }
                }
                None
            });
            let err = ea.connect(baddr, b.public()).await.unwrap_err();
            assert!(matches!(err, TransportError::Refused { .. }), "{err}");
            assert!(err.to_string().contains(&a.public().to_text()), "{err}");

            // Below the confirmation wait: a raw quinn client gets a connection
            // object once its own half of the handshake is done, but can read
            // nothing from it.
            let tls = tls::client_config(&a, b.public()).unwrap();
            let mut cfg =
                quinn::ClientConfig::new(Arc::new(QuicClientConfig::try_from(tls).unwrap()));
            cfg.transport_config(transport_config());
            let raw = ea.inner.connect_with(cfg, baddr, tls::SERVER_NAME).unwrap();
            if let Ok(conn) = raw.await {
                assert!(conn.accept_uni().await.is_err());
                assert!(conn.accept_bi().await.is_err());
                assert!(is_access_denied(&conn.closed().await));
            }
            // Neither attempt produced a connection on the server.
            assert_eq!(server.await.unwrap(), None);
        })
        .await
        .unwrap();
    }

    /// `holder`'s certificate with `thief`'s secret key: what someone who copied a
    /// member's public certificate could present.
    fn stolen(holder: &MachineKey, thief: &MachineKey) -> Arc<rustls::sign::SingleCertAndKey> {
        let (cert, _) = tls::certificate(holder).unwrap();
        let (_, secret) = tls::certificate(thief).unwrap();
        let signer = rustls::crypto::ring::default_provider()
            .key_provider
            .load_private_key(secret)
            .unwrap();
        Arc::new(rustls::sign::CertifiedKey::new(vec![cert], signer).into())
    }

    fn ring() -> Arc<rustls::crypto::CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    #[tokio::test]
    async fn a_copied_certificate_without_its_secret_key_is_refused() {
        timeout(LIMIT, async {
            let (a, b, thief) = (key(1), key(2), key(66));
            // A fake B: B's certificate, the thief's key, admitting anybody.
            let mut tls = rustls::ServerConfig::builder_with_provider(ring())
                .with_protocol_versions(&[&rustls::version::TLS13])
                .unwrap()
                .with_client_cert_verifier(Arc::new(tls::MemberClientVerifier::new(Arc::new(
                    |_| true,
                ))))
                .with_cert_resolver(stolen(&b, &thief));
            tls.alpn_protocols = vec![tls::ALPN.to_vec()];
            let crypto = QuicServerConfig::try_from(tls).unwrap();
            let fake_b = quinn::Endpoint::server(
                quinn::ServerConfig::with_crypto(Arc::new(crypto)),
                loopback(),
            )
            .unwrap();
            let fake_addr = fake_b.local_addr().unwrap();
            let fake = tokio::spawn(async move {
                let incoming = fake_b.accept().await.unwrap();
                incoming.await.err()
            });
            let ea = Endpoint::bind(loopback(), &a, refuse_all()).unwrap();
            let err = ea.connect(fake_addr, b.public()).await.unwrap_err();
            assert!(matches!(err, TransportError::Handshake { .. }), "{err}");
            assert!(err.to_string().contains("BadSignature"), "{err}");
            assert!(fake.await.unwrap().is_some());

            // A fake A: A's certificate, the thief's key, against a real B admitting A.
            let eb = Endpoint::bind(loopback(), &b, only(a.public())).unwrap();
            let baddr = eb.local_addr().unwrap();
            let server = tokio::spawn(async move { eb.accept().await.map(|r| r.is_ok()) });
            let mut tls = rustls::ClientConfig::builder_with_provider(ring())
                .with_protocol_versions(&[&rustls::version::TLS13])
                .unwrap()
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(PinnedServerVerifier::new(b.public())))
                .with_client_cert_resolver(stolen(&a, &thief));
            tls.alpn_protocols = vec![tls::ALPN.to_vec()];
            let cfg = quinn::ClientConfig::new(Arc::new(QuicClientConfig::try_from(tls).unwrap()));
            let raw = ea.inner.connect_with(cfg, baddr, tls::SERVER_NAME).unwrap();
            if let Ok(conn) = raw.await {
                let err = conn.accept_uni().await.unwrap_err();
                assert!(err.to_string().contains("BadSignature"), "{err}");
            }
            assert_eq!(server.await.unwrap(), Some(false));
        })
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn bulk_transfer_over_one_stream_arrives_intact() {
        const SIZE: usize = 64 << 20;
        timeout(Duration::from_secs(120), async {
            let (a, b) = (key(1), key(2));
            let ea = Endpoint::bind(loopback(), &a, refuse_all()).unwrap();
            let eb = Endpoint::bind(loopback(), &b, only(a.public())).unwrap();
            let baddr = eb.local_addr().unwrap();
            let server = tokio::spawn(async move {
                let conn = eb.accept().await.unwrap().unwrap();
                let mut recv = conn.inner.accept_uni().await.unwrap();
                let mut hasher = blake3::Hasher::new();
                let mut n = 0usize;
                while let Some(chunk) = recv.read_chunk(1 << 20, true).await.unwrap() {
                    n += chunk.bytes.len();
                    hasher.update(&chunk.bytes);
                }
                (n, hasher.finalize(), eb)
            });
            let conn = ea.connect(baddr, b.public()).await.unwrap();
            // Pseudo-random, incompressible-looking data.
            let mut data = vec![0u8; SIZE];
            let mut x = 0x9e37_79b9_7f4a_7c15u64;
            for word in data.chunks_mut(8) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                word.copy_from_slice(&x.to_le_bytes()[..word.len()]);
            }
            let sent = blake3::hash(&data);
            let start = std::time::Instant::now();
            let mut send = conn.inner.open_uni().await.unwrap();
            for piece in data.chunks(1 << 20) {
                send.write_all(piece).await.unwrap();
            }
            send.finish().unwrap();
            let (n, got, eb) = server.await.unwrap();
            let secs = start.elapsed().as_secs_f64();
            eprintln!(
                "bulk: {} MiB in {secs:.2} s = {:.0} MB/s",
                SIZE >> 20,
                SIZE as f64 / secs / 1e6
            );
            assert_eq!(n, SIZE);
            assert_eq!(got, sent);
            conn.close(CLOSE_OK, b"");
            eb.close();
            ea.close();
        })
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn bind_failures_name_the_address() {
        timeout(LIMIT, async {
            let ea = Endpoint::bind(loopback(), &key(1), refuse_all()).unwrap();
            let taken = ea.local_addr().unwrap();
            let err = Endpoint::bind(taken, &key(2), refuse_all()).unwrap_err();
            assert!(matches!(err, TransportError::Bind { .. }), "{err}");
            assert!(err.to_string().contains(&taken.to_string()), "{err}");
            assert_eq!(ea.public(), key(1).public());
            // A closed endpoint accepts nothing more.
            ea.close();
            assert!(ea.accept().await.is_none());
        })
        .await
        .unwrap();
    }
}
