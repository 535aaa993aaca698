//! LAN discovery: peers of one repository find each other on the local network with
//! no central server (`store-format.md` § 16).
//!
//! # Protocol
//!
//! A serving peer multicasts a small signed [`Announcement`] every
//! [`LanConfig::interval`] (± [`JITTER_PERCENT`] %) to [`LanConfig::group`]: "the
//! machine with key K serves the repository with tag T on UDP/QUIC port P". Every
//! peer listening on the group checks it and learns `(K, source address of the
//! datagram : P)`.
//!
//! * **Privacy.** The announcement carries [`repo_tag`] — 16 bytes of a BLAKE3
//!   key derivation from the repository id — not the id itself, so a bystander on the
//!   LAN cannot read which repository is served (they can still see that the same
//!   tag is announced, and check a guessed id).
//! * **Authenticity.** It is signed by the announcing machine key over
//!   [`SIGNATURE_DOMAIN`] followed by its encoding without the signature, so nobody
//!   can announce a port for someone else's key. The host address is **never** read
//!   from the packet: it is the datagram's source address. That address is not
//!   authenticated (anyone on the LAN can relay an announcement from their own
//!   address), so a learned address is only a hint: connecting to it still pins the
//!   peer's key in TLS (`sync::tls`), and only keys on the member list are recorded
//!   ([`record_peer`]).
//! * **Replay bound.** `time` must be within [`MAX_CLOCK_SKEW`] seconds of the
//!   receiver's clock, so a recorded announcement stops working after ten minutes.
//! * **Hostile input.** Datagrams over [`MAX_DATAGRAM`] bytes are refused before
//!   decoding; the CBOR must be exactly the canonical encoding (fixed keys in a fixed
//!   order, exact byte-string lengths, shortest integers, nothing after it); cheap
//!   checks (size, shape, repository tag, clock) come before the signature check.
//!   Decoding never panics (a proptest feeds random and mutated bytes). Refused
//!   datagrams are logged at `debug` level and the listener carries on.
//!
//! # Sockets
//!
//! Listeners bind the group address and port with `SO_REUSEADDR` and `SO_REUSEPORT`,
//! so several peers on one machine listen at once and each receives every
//! announcement (multicast is delivered to every socket bound to the group); binding
//! the group address rather than `0.0.0.0` keeps unicast datagrams to the same port
//! out. Announcers send with `IP_MULTICAST_TTL` 1 (never routed) and
//! `IP_MULTICAST_LOOP` on (so peers on the same machine hear them), from
//! [`LanConfig::interface`]. Only IPv4 is supported.
//!
//! On Linux this works on the loopback interface too, even though `lo` does not carry
//! the `MULTICAST` flag: with `IP_MULTICAST_IF` = `IP_ADD_MEMBERSHIP` interface =
//! 127.0.0.1 the datagram is looped back to every member socket. The tests rely on it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ciborium::Value;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::sync::watch;

use super::members::{self, MembersError};
use crate::identity::{MachineKey, PublicKey};
use crate::store::db::{DbError, PeerSource};
use crate::store::Store;

/// The default multicast group: 239.255.71.68, in the IPv4 *organization-local*
/// (administratively scoped) block 239.255.0.0/16 of RFC 2365, which routers do not
/// forward off the site, and which no registered protocol owns. Combined with a TTL of
/// 1 the announcements stay on the local link.
pub const DEFAULT_GROUP: SocketAddrV4 =
    SocketAddrV4::new(Ipv4Addr::new(239, 255, 71, 68), DEFAULT_PORT);
/// The default UDP port of [`DEFAULT_GROUP`] (unassigned by IANA).
pub const DEFAULT_PORT: u16 = 47178;
/// The default time between two announcements.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);
/// Shortest accepted [`LanConfig::interval`] (tests use short ones).
pub const MIN_INTERVAL: Duration = Duration::from_millis(50);
/// Longest accepted [`LanConfig::interval`].
pub const MAX_INTERVAL: Duration = Duration::from_secs(3600);
/// Each wait between announcements is the interval scaled by a random factor in
/// `1 ± JITTER_PERCENT / 100`, so peers started together do not announce in step.
pub const JITTER_PERCENT: u32 = 20;
/// Largest datagram accepted or sent, in bytes (an announcement takes about 150).
pub const MAX_DATAGRAM: usize = 512;
/// Most seconds an announcement's `time` may differ from the receiver's clock,
/// either way (the replay bound).
pub const MAX_CLOCK_SKEW: u64 = 600;
/// Multicast TTL of announcements: 1, never routed off the link.
pub const MULTICAST_TTL: u32 = 1;
/// Prefix of the bytes an announcement's signature covers (domain separation: the
/// machine key signs other things too).
pub const SIGNATURE_DOMAIN: &[u8] = b"gadn-lan-v1\0";
/// BLAKE3 key-derivation context of [`repo_tag`].
pub const REPO_TAG_CONTEXT: &str = "gadn 2026-11 lan repository tag";
/// Length of a repository tag in bytes.
pub const REPO_TAG_LEN: usize = 16;
/// Length of an ed25519 signature in bytes.
pub const SIG_LEN: usize = 64;
/// Length of an ed25519 public key in bytes.
pub const KEY_LEN: usize = 32;
/// The map keys of an encoded announcement, in their fixed order.
pub const FIELDS: [&str; 5] = ["tag", "key", "port", "time", "sig"];

/// A repository's tag: the first [`REPO_TAG_LEN`] bytes of
/// `BLAKE3-derive-key(REPO_TAG_CONTEXT, repo_id)`.
pub fn repo_tag(repo_id: &str) -> [u8; REPO_TAG_LEN] {
    let full = blake3::derive_key(REPO_TAG_CONTEXT, repo_id.as_bytes());
    let mut tag = [0u8; REPO_TAG_LEN];
    tag.copy_from_slice(&full[..REPO_TAG_LEN]);
    tag
}

/// The current time in Unix seconds (0 if the clock is before 1970).
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Where and how often LAN discovery talks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LanConfig {
    /// The IPv4 multicast group and UDP port announcements go to.
    pub group: SocketAddr,
    /// The local IPv4 address of the interface to announce and listen on;
    /// `0.0.0.0` lets the kernel pick (the interface of the route to the group).
    pub interface: Ipv4Addr,
    /// Mean time between two announcements, within
    /// [`MIN_INTERVAL`]`..=`[`MAX_INTERVAL`].
    pub interval: Duration,
}

impl Default for LanConfig {
    /// [`DEFAULT_GROUP`], any interface, [`DEFAULT_INTERVAL`].
    fn default() -> Self {
        LanConfig {
            group: SocketAddr::V4(DEFAULT_GROUP),
            interface: Ipv4Addr::UNSPECIFIED,
            interval: DEFAULT_INTERVAL,
        }
    }
}

impl LanConfig {
    /// The group as an IPv4 address, if the configuration is usable: the group is an
    /// IPv4 multicast address with a non-zero port, and the interval is within
    /// bounds.
    pub fn check(&self) -> Result<SocketAddrV4, DiscoveryError> {
        let bad = |reason: String| DiscoveryError::BadConfig { reason };
        let group = match self.group {
            SocketAddr::V4(g) if g.ip().is_multicast() => g,
            g => {
                return Err(bad(format!(
                    "the group {g} is not an IPv4 multicast address (224.0.0.0/4)"
                )))
            }
        };
        if group.port() == 0 {
            return Err(bad(format!("the group {group} has port 0")));
        }
        if !(MIN_INTERVAL..=MAX_INTERVAL).contains(&self.interval) {
            return Err(bad(format!(
                "the interval {:?} is not between {MIN_INTERVAL:?} and {MAX_INTERVAL:?}",
                self.interval
            )));
        }
        Ok(group)
    }
}

/// Returned by [`announce_loop`], [`listen_loop`], [`LanListener::bind`] and
/// [`record_peer`].
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// The [`LanConfig`] (or the announced port) is not usable.
    #[error("LAN discovery: {reason}")]
    BadConfig {
        /// What is wrong.
        reason: String,
    },
    /// A socket could not be created, configured or bound.
    #[error("LAN discovery: cannot {what} ({addr}): {source}\nhint: set the LAN interface address explicitly, or turn LAN discovery off")]
    Socket {
        /// The step that failed, e.g. "join the multicast group".
        what: &'static str,
        /// The address involved.
        addr: SocketAddr,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Reading the member list failed.
    #[error(transparent)]
    Members(#[from] MembersError),
    /// Writing the peer table failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Why a datagram was not accepted as an announcement (returned by
/// [`Announcement::decode`] and [`accept`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnnouncementError {
    /// The datagram is longer than [`MAX_DATAGRAM`].
    #[error("the datagram is longer than {max} bytes")]
    TooLarge {
        /// [`MAX_DATAGRAM`].
        max: usize,
    },
    /// The bytes are not one CBOR item.
    #[error("not CBOR: {reason}")]
    Cbor {
        /// The decoder's message.
        reason: String,
    },
    /// The CBOR item is not an announcement map.
    #[error("not an announcement: {reason}")]
    Shape {
        /// What is wrong.
        reason: String,
    },
    /// The item is an announcement but not in its canonical encoding (long-form
    /// integers, indefinite lengths, trailing bytes…).
    #[error("not the canonical encoding of an announcement")]
    NotCanonical,
    /// The announced port is 0.
    #[error("the announced port is 0")]
    BadPort,
    /// The announcement is for another repository.
    #[error("the announcement is for another repository")]
    OtherRepository,
    /// `time` is more than [`MAX_CLOCK_SKEW`] seconds away from the local clock.
    #[error("the announcement time {time} is more than {MAX_CLOCK_SKEW} s from now ({now})")]
    Stale {
        /// The announced time, Unix seconds.
        time: u64,
        /// The local clock, Unix seconds.
        now: u64,
    },
    /// The signature is not the key's signature of the announcement.
    #[error("bad signature for key {key}")]
    BadSignature {
        /// The key the announcement claims.
        key: PublicKey,
    },
}

/// One LAN announcement: "the machine `key` serves the repository tagged `repo_tag`
/// on port `port`" (`store-format.md` § 16). The host is the datagram's source
/// address, never part of the announcement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// [`repo_tag`] of the repository served.
    pub repo_tag: [u8; REPO_TAG_LEN],
    /// The announcing machine's key.
    pub key: PublicKey,
    /// The UDP port its QUIC endpoint listens on (never 0 in a valid announcement).
    pub port: u16,
    /// When it was made, Unix seconds.
    pub time: u64,
    /// ed25519 signature by `key` of [`Announcement::signed_bytes`].
    pub sig: [u8; SIG_LEN],
}

impl Announcement {
    /// A new announcement for `repo_id`, signed by `key`.
    pub fn new(key: &MachineKey, repo_id: &str, port: u16, time: u64) -> Announcement {
        Announcement::with_tag(key, repo_tag(repo_id), port, time)
    }

    /// A new announcement for a repository given by its tag, signed by `key`.
    pub fn with_tag(
        key: &MachineKey,
        repo_tag: [u8; REPO_TAG_LEN],
        port: u16,
        time: u64,
    ) -> Announcement {
        let mut a = Announcement {
            repo_tag,
            key: key.public(),
            port,
            time,
            sig: [0; SIG_LEN],
        };
        a.sig = key.sign(&a.signed_bytes());
        a
    }

    /// The CBOR map of the fields, with or without `sig`.
    fn map(&self, with_sig: bool) -> Value {
        let field = |i: usize, v: Value| (Value::Text(FIELDS[i].into()), v);
        let mut pairs = vec![
            field(0, Value::Bytes(self.repo_tag.to_vec())),
            field(1, Value::Bytes(self.key.0.to_vec())),
            field(2, Value::Integer(self.port.into())),
            field(3, Value::Integer(self.time.into())),
        ];
        if with_sig {
            pairs.push(field(4, Value::Bytes(self.sig.to_vec())));
        }
        Value::Map(pairs)
    }

    /// The canonical encoding: a CBOR map of [`FIELDS`] in that order (byte strings
    /// for `tag`, `key`, `sig`; shortest-form unsigned integers for `port`, `time`).
    pub fn encode(&self) -> Vec<u8> {
        cbor(&self.map(true))
    }

    /// What the signature covers: [`SIGNATURE_DOMAIN`] followed by the canonical
    /// encoding of the map without `sig` (four pairs).
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut out = SIGNATURE_DOMAIN.to_vec();
        out.extend(cbor(&self.map(false)));
        out
    }

    /// True if `sig` is `key`'s signature of [`Announcement::signed_bytes`].
    pub fn signature_ok(&self) -> bool {
        self.key.verify(&self.signed_bytes(), &self.sig)
    }

    /// Decodes `bytes`, which must be exactly the canonical encoding of an
    /// announcement with a non-zero port. Checks neither the signature, the tag nor
    /// the time (see [`accept`]). Never panics.
    pub fn decode(bytes: &[u8]) -> Result<Announcement, AnnouncementError> {
        if bytes.len() > MAX_DATAGRAM {
            return Err(AnnouncementError::TooLarge { max: MAX_DATAGRAM });
        }
        let shape = |reason: String| AnnouncementError::Shape { reason };
        // An announcement nests one level; anything nested deeper than a few
        // levels is refused by the decoder itself.
        let value: Value =
            ciborium::de::from_reader_with_recursion_limit(bytes, 4).map_err(|e| {
                AnnouncementError::Cbor {
                    reason: format!("{e:?}"),
                }
            })?;
        let Value::Map(pairs) = value else {
            return Err(shape("not a map".into()));
        };
        if pairs.len() != FIELDS.len() {
            return Err(shape(format!(
                "{} fields, expected {}",
                pairs.len(),
                FIELDS.len()
            )));
        }
        for (i, (k, _)) in pairs.iter().enumerate() {
            if k.as_text() != Some(FIELDS[i]) {
                return Err(shape(format!("field {i} is not \"{}\"", FIELDS[i])));
            }
        }
        let a = Announcement {
            repo_tag: exact_bytes(&pairs[0].1, FIELDS[0])?,
            key: PublicKey(exact_bytes(&pairs[1].1, FIELDS[1])?),
            port: unsigned(&pairs[2].1, FIELDS[2])?,
            time: unsigned(&pairs[3].1, FIELDS[3])?,
            sig: exact_bytes(&pairs[4].1, FIELDS[4])?,
        };
        if a.encode() != bytes {
            return Err(AnnouncementError::NotCanonical);
        }
        if a.port == 0 {
            return Err(AnnouncementError::BadPort);
        }
        Ok(a)
    }

    /// Checks a decoded announcement: for the repository `tag`, `time` within
    /// [`MAX_CLOCK_SKEW`] of `now` (Unix seconds), signature valid — in that order,
    /// cheapest first.
    pub fn check(&self, tag: &[u8; REPO_TAG_LEN], now: u64) -> Result<(), AnnouncementError> {
        if &self.repo_tag != tag {
            return Err(AnnouncementError::OtherRepository);
        }
        if self.time.abs_diff(now) > MAX_CLOCK_SKEW {
            return Err(AnnouncementError::Stale {
                time: self.time,
                now,
            });
        }
        if !self.signature_ok() {
            return Err(AnnouncementError::BadSignature { key: self.key });
        }
        Ok(())
    }
}

/// Decodes and checks a received datagram ([`Announcement::decode`], then
/// [`Announcement::check`] against `tag` and `now`, Unix seconds). Never panics.
pub fn accept(
    datagram: &[u8],
    tag: &[u8; REPO_TAG_LEN],
    now: u64,
) -> Result<Announcement, AnnouncementError> {
    let a = Announcement::decode(datagram)?;
    a.check(tag, now)?;
    Ok(a)
}

/// `v` encoded as CBOR.
fn cbor(v: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(160);
    ciborium::ser::into_writer(v, &mut out).expect("writing CBOR into a Vec cannot fail");
    out
}

/// A byte string of exactly `N` bytes.
fn exact_bytes<const N: usize>(v: &Value, field: &str) -> Result<[u8; N], AnnouncementError> {
    let b = v.as_bytes().ok_or_else(|| AnnouncementError::Shape {
        reason: format!("\"{field}\" is not a byte string"),
    })?;
    b.as_slice()
        .try_into()
        .map_err(|_| AnnouncementError::Shape {
            reason: format!("\"{field}\" is {} bytes, expected {N}", b.len()),
        })
}

/// An unsigned integer that fits `T`.
fn unsigned<T: TryFrom<ciborium::value::Integer>>(
    v: &Value,
    field: &str,
) -> Result<T, AnnouncementError> {
    v.as_integer()
        .and_then(|i| T::try_from(i).ok())
        .ok_or_else(|| AnnouncementError::Shape {
            reason: format!("\"{field}\" is not an unsigned integer in range"),
        })
}

/// The wait before the next announcement: `interval` scaled by
/// `1 ± JITTER_PERCENT/100` according to `r` (0 → −20 %, `u32::MAX` → +20 %).
fn jittered(interval: Duration, r: u32) -> Duration {
    let spread = f64::from(JITTER_PERCENT) / 100.0;
    let unit = f64::from(r) / f64::from(u32::MAX);
    interval.mul_f64(1.0 - spread + 2.0 * spread * unit)
}

/// A random `u32` from the OS (the midpoint if it has none to give).
fn random_u32() -> u32 {
    super::os_random_u64().map_or(u32::MAX / 2, |r| r as u32)
}

/// The result of a socket `step`, with the step and address named on failure.
fn sock<T>(
    what: &'static str,
    addr: SocketAddr,
    step: std::io::Result<T>,
) -> Result<T, DiscoveryError> {
    step.map_err(|source| DiscoveryError::Socket { what, addr, source })
}

/// Announces this machine (`key`, serving `repo_id` on QUIC port `port`) to
/// `cfg.group`: once at once, then every `cfg.interval` ± [`JITTER_PERCENT`] %,
/// until `stop` holds `true` or its sender is dropped. Each announcement is freshly
/// timed and signed.
///
/// Errors only while setting up (bad configuration, port 0, socket); a failed send
/// is logged (`warn` the first time, then `debug`) and retried at the next tick.
pub async fn announce_loop(
    cfg: LanConfig,
    key: Arc<MachineKey>,
    repo_id: String,
    port: u16,
    mut stop: watch::Receiver<bool>,
) -> Result<(), DiscoveryError> {
    let group = cfg.check()?;
    if port == 0 {
        return Err(DiscoveryError::BadConfig {
            reason: "cannot announce port 0".into(),
        });
    }
    let socket = announcer_socket(&cfg)?;
    let tag = repo_tag(&repo_id);
    let mut warned = false;
    loop {
        if *stop.borrow_and_update() {
            break;
        }
        let datagram = Announcement::with_tag(&key, tag, port, unix_now()).encode();
        if let Err(e) = socket.send_to(&datagram, SocketAddr::V4(group)).await {
            if warned {
                tracing::debug!(%group, error = %e, "LAN announcement not sent");
            } else {
                tracing::warn!(%group, error = %e, "LAN announcement not sent (will retry)");
                warned = true;
            }
        }
        tokio::select! {
            () = tokio::time::sleep(jittered(cfg.interval, random_u32())) => {}
            changed = stop.changed() => if changed.is_err() { break },
        }
    }
    Ok(())
}

/// The sending socket: bound to the interface, multicast out of it, TTL 1, loop on.
fn announcer_socket(cfg: &LanConfig) -> Result<UdpSocket, DiscoveryError> {
    let local = SocketAddr::new(IpAddr::V4(cfg.interface), 0);
    let s = sock(
        "create a UDP socket",
        local,
        Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)),
    )?;
    if !cfg.interface.is_unspecified() {
        sock(
            "choose the multicast interface",
            local,
            s.set_multicast_if_v4(&cfg.interface),
        )?;
    }
    sock(
        "enable multicast loop",
        local,
        s.set_multicast_loop_v4(true),
    )?;
    sock(
        "set the multicast TTL",
        local,
        s.set_multicast_ttl_v4(MULTICAST_TTL),
    )?;
    sock(
        "make the socket non-blocking",
        local,
        s.set_nonblocking(true),
    )?;
    sock("bind the announcing socket", local, s.bind(&local.into()))?;
    sock(
        "register the socket with tokio",
        local,
        UdpSocket::from_std(s.into()),
    )
}

/// A socket receiving the announcements sent to one group. Made by
/// [`LanListener::bind`] (so a caller sees bind errors before it spawns the loop),
/// driven by [`LanListener::run`].
#[derive(Debug)]
pub struct LanListener {
    socket: UdpSocket,
}

impl LanListener {
    /// Binds `cfg.group` (address and port) with `SO_REUSEADDR` and `SO_REUSEPORT`
    /// and joins the group on `cfg.interface`. Must be called within a tokio runtime.
    pub fn bind(cfg: &LanConfig) -> Result<LanListener, DiscoveryError> {
        let group = cfg.check()?;
        let addr = SocketAddr::V4(group);
        let s = sock(
            "create a UDP socket",
            addr,
            Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)),
        )?;
        sock("set SO_REUSEADDR", addr, s.set_reuse_address(true))?;
        sock("set SO_REUSEPORT", addr, s.set_reuse_port(true))?;
        sock(
            "make the socket non-blocking",
            addr,
            s.set_nonblocking(true),
        )?;
        sock("bind the multicast group port", addr, s.bind(&addr.into()))?;
        sock(
            "join the multicast group",
            SocketAddr::new(IpAddr::V4(cfg.interface), group.port()),
            s.join_multicast_v4(group.ip(), &cfg.interface),
        )?;
        let socket = sock(
            "register the socket with tokio",
            addr,
            UdpSocket::from_std(s.into()),
        )?;
        Ok(LanListener { socket })
    }

    /// Receives announcements until `stop` holds `true` or its sender is dropped.
    /// For each valid announcement for `repo_id` from a key other than `own_key`,
    /// calls `on_peer(key, source IP : announced port)`. Every other datagram is
    /// logged at `debug` level with the reason and skipped; receive errors too.
    pub async fn run(
        self,
        repo_id: &str,
        own_key: PublicKey,
        on_peer: impl Fn(PublicKey, SocketAddr),
        mut stop: watch::Receiver<bool>,
    ) {
        let tag = repo_tag(repo_id);
        // One byte more than accepted, so an oversized datagram shows as such
        // instead of being silently truncated to a valid-looking prefix.
        let mut buf = [0u8; MAX_DATAGRAM + 1];
        loop {
            if *stop.borrow_and_update() {
                break;
            }
            tokio::select! {
                changed = stop.changed() => if changed.is_err() { break },
                got = self.socket.recv_from(&mut buf) => match got {
                    Ok((n, from)) => match accept(&buf[..n], &tag, unix_now()) {
                        Err(reason) => {
                            tracing::debug!(%from, %reason, "ignored a LAN datagram");
                        }
                        Ok(a) if a.key == own_key => {
                            tracing::trace!(%from, "heard our own LAN announcement");
                        }
                        Ok(a) => on_peer(a.key, SocketAddr::new(from.ip(), a.port)),
                    },
                    Err(error) => {
                        tracing::debug!(%error, "LAN discovery receive failed");
                        // Do not spin on a persistent error.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
            }
        }
    }
}

/// Listens for announcements of `repo_id` on `cfg.group` until `stop` holds `true`
/// or its sender is dropped: [`LanListener::bind`], then [`LanListener::run`].
/// `on_peer(key, addr)` is called for each valid announcement from another key
/// (`own_key`'s own are skipped), with the datagram's source IP and the announced
/// port — typically once per peer per interval; it should be quick (hand the work
/// to a channel). Errors only while binding.
pub async fn listen_loop(
    cfg: LanConfig,
    repo_id: String,
    own_key: PublicKey,
    on_peer: impl Fn(PublicKey, SocketAddr) + Send + 'static,
    stop: watch::Receiver<bool>,
) -> Result<(), DiscoveryError> {
    LanListener::bind(&cfg)?
        .run(&repo_id, own_key, on_peer, stop)
        .await;
    Ok(())
}

/// Records `addr` for `key` in the peer table (first address, source
/// [`PeerSource::Lan`] unless the row was configured by hand, last seen now, and the
/// member's name cached if the row had none) if `key` is a current member of the
/// repository; returns whether it did. A non-member (or anyone, in a store with no
/// member list yet) is left out of the table.
pub fn record_peer(
    store: &Store,
    key: &PublicKey,
    addr: SocketAddr,
) -> Result<bool, DiscoveryError> {
    let Some((_, list)) = members::current(store)? else {
        return Ok(false);
    };
    let Some(entry) = list.get(key).filter(|e| e.is_current()) else {
        return Ok(false);
    };
    let now = i64::try_from(unix_now()).unwrap_or(i64::MAX);
    let db = store.db();
    db.peer_add_addr(key, &addr.to_string(), PeerSource::Lan, Some(now))?;
    if let Some(row) = db.peer_get(key)?.filter(|r| r.name.is_none()) {
        db.peer_upsert(key, Some(&entry.name), row.source)?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::chunker::ChunkParams;
    use crate::store::object::Role;
    use proptest::prelude::*;
    use tokio::sync::mpsc;

    const REPO: &str = "0123456789abcdef0123456789abcdef";
    /// 2026-11-18, an ordinary "now".
    const NOW: u64 = 1_795_000_000;

    fn key(seed: u8) -> MachineKey {
        MachineKey::from_seed([seed; 32])
    }

    fn sample() -> Announcement {
        Announcement::new(&key(7), REPO, 4433, NOW)
    }

    fn reject(bytes: &[u8]) -> AnnouncementError {
        accept(bytes, &repo_tag(REPO), NOW).unwrap_err()
    }

    #[test]
    fn announcements_round_trip_and_pass_their_checks() {
        let tag = repo_tag(REPO);
        let a = sample();
        let bytes = a.encode();
        assert!(bytes.len() <= MAX_DATAGRAM);
        assert_eq!(Announcement::decode(&bytes).unwrap(), a);
        assert_eq!(accept(&bytes, &tag, NOW).unwrap(), a);
        assert!(a.signature_ok());
        accept(&bytes, &tag, NOW + MAX_CLOCK_SKEW).unwrap();
        accept(&bytes, &tag, NOW - MAX_CLOCK_SKEW).unwrap();
        // Extreme values survive, and the clock check cannot overflow.
        for (port, time) in [(1, 0), (u16::MAX, u64::MAX), (80, u64::from(u32::MAX) + 1)] {
            let b = Announcement::new(&key(7), REPO, port, time);
            assert_eq!(accept(&b.encode(), &tag, time).unwrap(), b);
            assert!(b.encode().len() <= MAX_DATAGRAM);
        }
        assert!(matches!(
            accept(
                &Announcement::new(&key(7), REPO, 1, 0).encode(),
                &tag,
                u64::MAX
            ),
            Err(AnnouncementError::Stale { .. })
        ));
        // The tag is the documented derivation and does not contain the id.
        assert_eq!(
            tag[..],
            blake3::derive_key("gadn 2026-11 lan repository tag", REPO.as_bytes())[..16]
        );
        assert!(!bytes.windows(16).any(|w| w == &REPO.as_bytes()[..16]));
    }

    /// The layout of `store-format.md` § 16, byte for byte.
    #[test]
    fn layout_matches_store_format_md() {
        let a = sample();
        let mut want = vec![0xa5];
        want.extend(b"\x63tag\x50");
        want.extend(a.repo_tag);
        want.extend(b"\x63key\x58\x20");
        want.extend(a.key.0);
        want.extend(b"\x64port\x19\x11\x51"); // 4433
        want.extend(b"\x64time\x1a");
        want.extend(u32::try_from(NOW).unwrap().to_be_bytes());
        want.extend(b"\x63sig\x58\x40");
        want.extend(a.sig);
        assert_eq!(a.encode(), want);
        assert_eq!(want.len(), 148);
        let mut signed = b"gadn-lan-v1\0\xa4".to_vec();
        signed.extend(&want[1..want.len() - (4 + 2 + SIG_LEN)]);
        assert_eq!(a.signed_bytes(), signed);
        assert!(key(7).public().verify(&signed, &a.sig));
    }

    #[test]
    fn tampered_forged_foreign_stale_and_malformed_datagrams_are_rejected() {
        let a = sample();
        let bad_sig = AnnouncementError::BadSignature { key: a.key };
        // A changed field, re-encoded so only the signature can tell.
        let mut t = a.clone();
        t.port = 4434;
        assert_eq!(reject(&t.encode()), bad_sig);
        let mut t = a.clone();
        t.time += 1;
        assert_eq!(reject(&t.encode()), bad_sig);
        let mut t = a.clone();
        t.sig[0] ^= 1;
        assert_eq!(reject(&t.encode()), bad_sig);
        // Signed by another key while claiming key 7.
        let mut forged = Announcement::new(&key(8), REPO, 4433, NOW);
        forged.key = a.key;
        assert_eq!(reject(&forged.encode()), bad_sig);
        // A key that is not a valid curve point.
        let mut t = a.clone();
        t.key = PublicKey([0xff; 32]);
        assert!(matches!(
            reject(&t.encode()),
            AnnouncementError::BadSignature { .. }
        ));
        // Another repository.
        let other = Announcement::new(&key(7), "another repository", 4433, NOW);
        assert_eq!(reject(&other.encode()), AnnouncementError::OtherRepository);
        // Too old, too far ahead.
        for time in [NOW - MAX_CLOCK_SKEW - 1, NOW + MAX_CLOCK_SKEW + 1] {
            let t = Announcement::new(&key(7), REPO, 4433, time);
            assert_eq!(
                reject(&t.encode()),
                AnnouncementError::Stale { time, now: NOW }
            );
        }
        // Port 0.
        let zero = Announcement::new(&key(7), REPO, 0, NOW);
        assert_eq!(reject(&zero.encode()), AnnouncementError::BadPort);
        // Oversized, even if it starts with a valid announcement.
        let mut big = a.encode();
        big.resize(MAX_DATAGRAM + 1, 0);
        assert_eq!(
            reject(&big),
            AnnouncementError::TooLarge { max: MAX_DATAGRAM }
        );
        // Trailing bytes; a long-form integer; an indefinite-length map.
        let mut trail = a.encode();
        trail.push(0);
        assert_eq!(reject(&trail), AnnouncementError::NotCanonical);
        let enc = a.encode();
        let at = enc.windows(3).position(|w| w == b"\x19\x11\x51").unwrap();
        let mut long = enc[..at].to_vec();
        long.extend(b"\x1a\x00\x00\x11\x51");
        long.extend(&enc[at + 3..]);
        assert_eq!(reject(&long), AnnouncementError::NotCanonical);
        let mut indef = vec![0xbf];
        indef.extend(&enc[1..]);
        indef.push(0xff);
        assert_eq!(reject(&indef), AnnouncementError::NotCanonical);
        // Wrong shapes.
        let shape = |v: Value| match reject(&cbor(&v)) {
            AnnouncementError::Shape { reason } => reason,
            e => panic!("{e:?}"),
        };
        let Value::Map(pairs) = a.map(true) else {
            unreachable!()
        };
        let mut swapped = pairs.clone();
        swapped.swap(2, 3);
        assert!(shape(Value::Map(swapped)).contains("field 2"));
        let mut short_key = pairs.clone();
        short_key[1].1 = Value::Bytes(vec![7; 31]);
        assert!(shape(Value::Map(short_key)).contains("31 bytes"));
        let mut text_tag = pairs.clone();
        text_tag[0].1 = Value::Text("tag".into());
        assert!(shape(Value::Map(text_tag)).contains("byte string"));
        let mut big_port = pairs.clone();
        big_port[2].1 = Value::Integer(65_536.into());
        assert!(shape(Value::Map(big_port)).contains("port"));
        let mut negative = pairs.clone();
        negative[3].1 = Value::Integer((-1).into());
        assert!(shape(Value::Map(negative)).contains("time"));
        let mut extra = pairs.clone();
        extra.push((Value::Text("x".into()), Value::Null));
        assert!(shape(Value::Map(extra)).contains("6 fields"));
        assert!(shape(Value::Array(vec![])).contains("not a map"));
        assert!(matches!(reject(&[]), AnnouncementError::Cbor { .. }));
        assert!(matches!(reject(&[0x5f]), AnnouncementError::Cbor { .. }));
        // Deep nesting is refused, not followed.
        assert!(matches!(
            reject(&[0x81; 200]),
            AnnouncementError::Cbor { .. }
        ));
    }

    proptest! {
        #[test]
        fn random_bytes_are_rejected_without_panicking(
            bytes in proptest::collection::vec(any::<u8>(), 0..700)
        ) {
            let _ = Announcement::decode(&bytes);
            prop_assert!(accept(&bytes, &repo_tag(REPO), NOW).is_err());
        }

        #[test]
        fn every_changed_or_missing_byte_is_rejected(
            pos in 0usize..148, flip in 1u8..=255, cut in 0usize..148
        ) {
            let good = sample().encode();
            let mut changed = good.clone();
            changed[pos % good.len()] ^= flip;
            prop_assert!(accept(&changed, &repo_tag(REPO), NOW).is_err());
            prop_assert!(accept(&good[..cut % good.len()], &repo_tag(REPO), NOW).is_err());
        }

        #[test]
        fn announcement_shaped_junk_never_panics(
            tag in proptest::collection::vec(any::<u8>(), 0..40),
            key in proptest::collection::vec(any::<u8>(), 0..40),
            port in any::<i64>(),
            time in any::<u64>(),
            sig in proptest::collection::vec(any::<u8>(), 0..80),
        ) {
            let field = |i: usize, v: Value| (Value::Text(FIELDS[i].into()), v);
            let v = Value::Map(vec![
                field(0, Value::Bytes(tag)),
                field(1, Value::Bytes(key)),
                field(2, Value::Integer(port.into())),
                field(3, Value::Integer(time.into())),
                field(4, Value::Bytes(sig)),
            ]);
            prop_assert!(accept(&cbor(&v), &repo_tag(REPO), NOW).is_err());
        }
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        let i = Duration::from_secs(10);
        let near = |d: Duration, want_ms: u64| d.as_millis().abs_diff(u128::from(want_ms)) <= 1;
        assert!(near(jittered(i, 0), 8_000));
        assert!(near(jittered(i, u32::MAX), 12_000));
        assert!(near(jittered(i, u32::MAX / 2), 10_000));
        for _ in 0..100 {
            let d = jittered(i, random_u32());
            assert!((Duration::from_millis(7_999)..=Duration::from_millis(12_001)).contains(&d));
        }
    }

    #[test]
    fn the_default_config_is_valid_and_bad_ones_are_refused() {
        let d = LanConfig::default();
        assert_eq!(d.group, "239.255.71.68:47178".parse().unwrap());
        assert_eq!(d.interface, Ipv4Addr::UNSPECIFIED);
        assert_eq!(d.interval, Duration::from_secs(10));
        assert_eq!(d.check().unwrap(), DEFAULT_GROUP);
        for (group, interval) in [
            ("192.0.2.1:47178", DEFAULT_INTERVAL),
            ("[ff02::1]:47178", DEFAULT_INTERVAL),
            ("239.255.71.68:0", DEFAULT_INTERVAL),
            ("239.255.71.68:47178", Duration::ZERO),
            ("239.255.71.68:47178", Duration::from_secs(7200)),
        ] {
            let cfg = LanConfig {
                group: group.parse().unwrap(),
                interval,
                ..LanConfig::default()
            };
            let err = cfg.check().unwrap_err();
            assert!(matches!(err, DiscoveryError::BadConfig { .. }), "{err}");
        }
    }

    /// A UDP port free on 127.0.0.1 right now.
    fn free_udp_port() -> u16 {
        std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    /// The default group on a free port, on the loopback interface, fast.
    fn loopback_cfg() -> LanConfig {
        LanConfig {
            group: SocketAddr::new(Ipv4Addr::new(239, 255, 71, 68).into(), free_udp_port()),
            interface: Ipv4Addr::LOCALHOST,
            interval: Duration::from_millis(100),
        }
    }

    type Heard = mpsc::UnboundedReceiver<(PublicKey, SocketAddr)>;

    /// A bound listener running in a task, reporting what it hears.
    fn spawn_listener(
        cfg: &LanConfig,
        repo: &str,
        own: PublicKey,
        stop: &watch::Receiver<bool>,
    ) -> (Heard, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let listener = LanListener::bind(cfg).unwrap();
        let (repo, stop) = (repo.to_string(), stop.clone());
        let task = tokio::spawn(async move {
            let on_peer = move |k, a| {
                let _ = tx.send((k, a));
            };
            listener.run(&repo, own, on_peer, stop).await;
        });
        (rx, task)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn listeners_on_loopback_learn_the_announcer_and_ignore_the_rest() {
        let run = async {
            let cfg = loopback_cfg();
            let (stop_tx, stop) = watch::channel(false);
            let announcer = key(1);
            let (mut heard_a, task_a) = spawn_listener(&cfg, REPO, key(2).public(), &stop);
            let (mut heard_own, task_own) = spawn_listener(&cfg, REPO, announcer.public(), &stop);
            let (mut heard_other, task_other) =
                spawn_listener(&cfg, "another repository", key(4).public(), &stop);
            // The second listener goes through listen_loop (it may miss the first
            // announcement while it binds; later ones follow every ~100 ms).
            let (tx_b, mut heard_b) = mpsc::unbounded_channel();
            let task_b = tokio::spawn(listen_loop(
                cfg,
                REPO.into(),
                key(3).public(),
                move |k, a| {
                    let _ = tx_b.send((k, a));
                },
                stop.clone(),
            ));
            // Junk on the group first: ignored, and the listeners carry on.
            let junk = announcer_socket(&cfg).unwrap();
            junk.send_to(b"not an announcement", cfg.group)
                .await
                .unwrap();
            junk.send_to(&[0u8; MAX_DATAGRAM + 100], cfg.group)
                .await
                .unwrap();
            let stale = Announcement::new(&key(5), REPO, 9, 1).encode();
            junk.send_to(&stale, cfg.group).await.unwrap();

            let ann = tokio::spawn(announce_loop(
                cfg,
                Arc::new(announcer),
                REPO.into(),
                4433,
                stop.clone(),
            ));
            let want = (key(1).public(), "127.0.0.1:4433".parse().unwrap());
            for _ in 0..3 {
                assert_eq!(heard_a.recv().await.unwrap(), want);
            }
            assert_eq!(heard_b.recv().await.unwrap(), want);
            stop_tx.send(true).unwrap();
            ann.await.unwrap().unwrap();
            task_b.await.unwrap().unwrap();
            for t in [task_a, task_own, task_other] {
                t.await.unwrap();
            }
            // Three rounds reached every socket of the group; these two heard
            // only what they must ignore.
            assert!(heard_own.try_recv().is_err());
            assert!(heard_other.try_recv().is_err());
        };
        tokio::time::timeout(Duration::from_secs(5), run)
            .await
            .expect("LAN discovery on loopback took over 5 s");
    }

    #[tokio::test]
    async fn loops_refuse_bad_configs_and_stop_when_told() {
        let run = async {
            let (stop_tx, stop) = watch::channel(false);
            let cfg = loopback_cfg();
            let err = announce_loop(cfg, Arc::new(key(1)), REPO.into(), 0, stop.clone())
                .await
                .unwrap_err();
            assert!(err.to_string().contains("port 0"), "{err}");
            let bad = LanConfig {
                group: "127.0.0.1:9".parse().unwrap(),
                ..cfg
            };
            let err = listen_loop(bad, REPO.into(), key(1).public(), |_, _| {}, stop.clone())
                .await
                .unwrap_err();
            assert!(err.to_string().contains("not an IPv4 multicast"), "{err}");
            // `true` stops both loops, and so does dropping the sender.
            let spawn_both = |stop: watch::Receiver<bool>| {
                let ann = announce_loop(cfg, Arc::new(key(1)), REPO.into(), 1, stop.clone());
                let lis = listen_loop(cfg, REPO.into(), key(2).public(), |_, _| {}, stop);
                (tokio::spawn(ann), tokio::spawn(lis))
            };
            let (ann, lis) = spawn_both(stop);
            tokio::time::sleep(Duration::from_millis(150)).await;
            stop_tx.send(true).unwrap();
            ann.await.unwrap().unwrap();
            lis.await.unwrap().unwrap();
            let (stop_tx, stop) = watch::channel(false);
            let (ann, lis) = spawn_both(stop);
            tokio::time::sleep(Duration::from_millis(150)).await;
            drop(stop_tx);
            ann.await.unwrap().unwrap();
            lis.await.unwrap().unwrap();
        };
        tokio::time::timeout(Duration::from_secs(5), run)
            .await
            .expect("timed out");
    }

    #[test]
    fn record_peer_stores_members_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::init(&dir.path().join(".gadn"), ChunkParams::DEFAULT).unwrap();
        let addr: SocketAddr = "127.0.0.1:4433".parse().unwrap();
        let (ada, bo, eve) = (key(1), key(2), key(9));
        // No member list yet: nobody is recorded.
        assert!(!record_peer(&store, &bo.public(), addr).unwrap());
        assert!(store.db().peer_get(&bo.public()).unwrap().is_none());
        members::add(&mut store, &ada, "ada", "bo", bo.public(), Role::Member).unwrap();
        let before = i64::try_from(unix_now()).unwrap();
        assert!(record_peer(&store, &bo.public(), addr).unwrap());
        let row = store.db().peer_get(&bo.public()).unwrap().unwrap();
        assert_eq!(row.addrs, ["127.0.0.1:4433"]);
        assert_eq!(row.source, PeerSource::Lan);
        assert_eq!(row.name.as_deref(), Some("bo"));
        assert!(row.last_seen.unwrap() >= before);
        // A new address goes first.
        let addr2: SocketAddr = "192.0.2.7:5000".parse().unwrap();
        assert!(record_peer(&store, &bo.public(), addr2).unwrap());
        let row = store.db().peer_get(&bo.public()).unwrap().unwrap();
        assert_eq!(row.addrs, ["192.0.2.7:5000", "127.0.0.1:4433"]);
        // A non-member, and a removed member, are not recorded.
        assert!(!record_peer(&store, &eve.public(), addr).unwrap());
        assert!(store.db().peer_get(&eve.public()).unwrap().is_none());
        members::remove(&mut store, &ada, "bo").unwrap();
        assert!(!record_peer(&store, &bo.public(), addr).unwrap());
    }
}
