//! Abuse limits: how many requests one client address, account or remote host may make. Every
//! door asks here, so the web and the API share one set of limiters (a sign-in through the web
//! form and one through `/oauth/token` count against the same allowance).
//!
//! The counters live in memory only (they are never written to disk): `governor`'s keyed GCRA
//! limiters. A limit of N per period allows a burst of N and then one more request every
//! period/N. Keys not seen for a full period are swept out now and then, so memory stays
//! bounded by the clients of the last period.
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use kring_core::time::now_micros;
use kring_core::{Error, Id, RateLimit};
use sha2::{Digest, Sha256};

/// A limit: `count` requests per `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: NonZeroU32,
    pub period: Duration,
}

impl Rate {
    const fn per(count: u32, period_secs: u64) -> Rate {
        Rate {
            count: match NonZeroU32::new(count) {
                Some(c) => c,
                None => NonZeroU32::MIN,
            },
            period: Duration::from_secs(period_secs),
        }
    }

    fn quota(self) -> Quota {
        let per_one = (self.period / self.count.get()).max(Duration::from_nanos(1));
        Quota::with_period(per_one)
            .unwrap_or_else(|| Quota::per_second(self.count))
            .allow_burst(self.count)
    }
}

/// `COUNT/PERIOD`, the period a number with `s`, `m`, `h` or `d` (`300/5m`, `25/1h`).
impl FromStr for Rate {
    type Err = String;
    fn from_str(s: &str) -> Result<Rate, String> {
        let bad =
            || format!("{s:?} is not a rate like 300/5m (COUNT/PERIOD, period in s, m, h or d)");
        let (count, period) = s.trim().split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        let count = NonZeroU32::new(count).ok_or_else(bad)?;
        let period = period.trim();
        let unit_at = period.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (n, unit) = period.split_at(unit_at);
        let n: u64 = if n.is_empty() {
            1
        } else {
            n.parse().map_err(|_| bad())?
        };
        let secs = match unit {
            "s" => n,
            "m" => n * 60,
            "h" => n * 3600,
            "d" => n * 86_400,
            _ => return Err(bad()),
        };
        if secs == 0 || secs > 7 * 86_400 {
            return Err(bad());
        }
        Ok(Rate {
            count,
            period: Duration::from_secs(secs),
        })
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.period.as_secs();
        let (n, unit) = match s {
            _ if s.is_multiple_of(86_400) => (s / 86_400, "d"),
            _ if s.is_multiple_of(3600) => (s / 3600, "h"),
            _ if s.is_multiple_of(60) => (s / 60, "m"),
            _ => (s, "s"),
        };
        write!(f, "{}/{n}{unit}", self.count)
    }
}

/// The limits, each keyed as its comment says. The defaults follow Mastodon's rack-attack
/// throttles where Mastodon has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitsConfig {
    /// Per client address, requests presenting no credentials (Mastodon: 300 per 5 minutes
    /// for unauthenticated API requests).
    pub requests: Rate,
    /// Per client address, requests presenting a token, session cookie or signature (Mastodon
    /// allows 1500 per 5 minutes per signed-in account; counted per address here because the
    /// limit is decided before the credentials are checked).
    pub authenticated_requests: Rate,
    /// Sign-in attempts (web form, password grant, authorize form) per client address
    /// (Mastodon: 25 per 5 minutes).
    pub sign_in: Rate,
    /// Sign-in attempts per account (the email signed in with; Mastodon: 25 per hour).
    pub sign_in_account: Rate,
    /// `/oauth/authorize` per client address.
    pub authorize: Rate,
    /// Sign-ups (API and web) per client address (Mastodon: 5 per 30 minutes).
    pub sign_up: Rate,
    /// Lookups that may fetch from other servers (account lookup, search with resolve, web
    /// search), per client address and per signed-in account.
    pub lookup: Rate,
    /// Deliveries to the inboxes per remote host (the signer's host).
    pub inbox: Rate,
    /// Writes (POST, PUT, PATCH, DELETE of the API and the web forms) per account.
    pub writes: Rate,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            requests: Rate::per(300, 300),
            authenticated_requests: Rate::per(1500, 300),
            sign_in: Rate::per(25, 300),
            sign_in_account: Rate::per(25, 3600),
            authorize: Rate::per(25, 300),
            sign_up: Rate::per(5, 1800),
            lookup: Rate::per(60, 300),
            inbox: Rate::per(6000, 300),
            writes: Rate::per(300, 300),
        }
    }
}

/// The names the configuration uses for each limit (`all` sets every one).
pub const NAMES: [&str; 9] = [
    "requests",
    "authenticated_requests",
    "sign_in",
    "sign_in_account",
    "authorize",
    "sign_up",
    "lookup",
    "inbox",
    "writes",
];

impl LimitsConfig {
    /// Set one limit by its configuration name (`all` sets every limit).
    pub fn set(&mut self, name: &str, rate: Rate) -> Result<(), String> {
        let slot = match name {
            "all" => {
                for n in NAMES {
                    self.set(n, rate)?;
                }
                return Ok(());
            }
            "requests" => &mut self.requests,
            "authenticated_requests" => &mut self.authenticated_requests,
            "sign_in" => &mut self.sign_in,
            "sign_in_account" => &mut self.sign_in_account,
            "authorize" => &mut self.authorize,
            "sign_up" => &mut self.sign_up,
            "lookup" => &mut self.lookup,
            "inbox" => &mut self.inbox,
            "writes" => &mut self.writes,
            other => {
                return Err(format!(
                    "unknown rate limit {other:?} (known: all, {})",
                    NAMES.join(", ")
                ));
            }
        };
        *slot = rate;
        Ok(())
    }
}

/// Where a request comes from: the TCP peer, or with a trusted proxy in front, the address it
/// forwarded for. IPv6 addresses count per /64, the block one subscriber usually gets (as
/// Mastodon does), so one machine cannot dodge a limit by walking its addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddr(IpAddr);

impl ClientAddr {
    /// A request whose peer is unknown (a router driven without a socket, as unit tests do):
    /// all such requests share one allowance.
    pub const UNKNOWN: ClientAddr = ClientAddr(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));

    pub fn new(ip: IpAddr) -> ClientAddr {
        let ip = match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let masked = u128::from(v6) & (!0u128 << 64);
                    IpAddr::V6(masked.into())
                }
            },
            v4 => v4,
        };
        ClientAddr(ip)
    }

    /// The client behind `peer`: when `peer` is a trusted proxy, the right-most address of
    /// `X-Forwarded-For` that is not itself a trusted proxy (addresses further left were
    /// written by the client and prove nothing).
    pub fn from_peer(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpAddr]) -> ClientAddr {
        let is_trusted = |ip: &IpAddr| trusted.contains(&canonical(*ip));
        if !is_trusted(&peer) {
            return ClientAddr::new(peer);
        }
        let mut client = peer;
        if let Some(list) = forwarded_for {
            for hop in list.rsplit(',') {
                let Ok(ip) = hop.trim().parse::<IpAddr>() else {
                    break;
                };
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
        }
        ClientAddr::new(client)
    }

    pub fn ip(&self) -> IpAddr {
        self.0
    }
}

/// IPv4-mapped IPv6 addresses compare as the IPv4 address they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// What a limit counts by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Addr(ClientAddr),
    Account(Id),
    /// A name someone signs in with, hashed: a fixed size whatever was typed, and the
    /// addresses people typed are not kept in memory.
    Login([u8; 16]),
    Host(String),
}

fn login_key(login: &str) -> Key {
    let digest = Sha256::digest(login.trim().to_lowercase().as_bytes());
    let mut k = [0u8; 16];
    k.copy_from_slice(&digest[..16]);
    Key::Login(k)
}

struct Limiter {
    rate: Rate,
    keyed: DefaultKeyedRateLimiter<Key>,
}

impl Limiter {
    fn new(rate: Rate) -> Limiter {
        Limiter {
            rate,
            keyed: DefaultKeyedRateLimiter::keyed(rate.quota()),
        }
    }

    fn check(&self, key: &Key) -> Result<(), Error> {
        self.keyed.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            Error::RateLimited(RateLimit {
                limit: self.rate.count.get(),
                reset_at: now_micros() + wait.as_micros().min(i64::MAX as u128) as i64,
            })
        })
    }

    fn sweep(&self) {
        self.keyed.retain_recent();
        self.keyed.shrink_to_fit();
    }
}

/// How often forgotten keys are swept out; and the number of keys in one limiter above which
/// a sweep runs at once (at most once a second).
const SWEEP_EVERY_MICROS: i64 = 60 * 1_000_000;
const SWEEP_ABOVE_KEYS: usize = 100_000;

/// The limiters of one process.
pub struct Limits {
    config: LimitsConfig,
    trusted_proxies: Vec<IpAddr>,
    requests: Limiter,
    authenticated_requests: Limiter,
    sign_in: Limiter,
    sign_in_account: Limiter,
    authorize: Limiter,
    sign_up: Limiter,
    lookup: Limiter,
    inbox: Limiter,
    writes: Limiter,
    last_sweep: AtomicI64,
}

impl Limits {
    pub fn new(config: LimitsConfig, trusted_proxies: Vec<IpAddr>) -> Limits {
        Limits {
            requests: Limiter::new(config.requests),
            authenticated_requests: Limiter::new(config.authenticated_requests),
            sign_in: Limiter::new(config.sign_in),
            sign_in_account: Limiter::new(config.sign_in_account),
            authorize: Limiter::new(config.authorize),
            sign_up: Limiter::new(config.sign_up),
            lookup: Limiter::new(config.lookup),
            inbox: Limiter::new(config.inbox),
            writes: Limiter::new(config.writes),
            trusted_proxies: trusted_proxies.into_iter().map(canonical).collect(),
            config,
            last_sweep: AtomicI64::new(now_micros()),
        }
    }

    pub fn config(&self) -> &LimitsConfig {
        &self.config
    }

    /// The client address of a request from `peer` with this `X-Forwarded-For` header.
    pub fn client(&self, peer: IpAddr, forwarded_for: Option<&str>) -> ClientAddr {
        ClientAddr::from_peer(peer, forwarded_for, &self.trusted_proxies)
    }

    fn all(&self) -> [&Limiter; 9] {
        [
            &self.requests,
            &self.authenticated_requests,
            &self.sign_in,
            &self.sign_in_account,
            &self.authorize,
            &self.sign_up,
            &self.lookup,
            &self.inbox,
            &self.writes,
        ]
    }

    /// Sweep keys whose allowance is whole again, every minute or when a limiter grew large.
    fn maybe_sweep(&self, limiter: &Limiter) {
        let now = now_micros();
        let last = self.last_sweep.load(Ordering::Relaxed);
        let due = now - last > SWEEP_EVERY_MICROS
            || (limiter.keyed.len() > SWEEP_ABOVE_KEYS && now - last > 1_000_000);
        if due
            && self
                .last_sweep
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            for l in self.all() {
                l.sweep();
            }
        }
    }

    fn check(&self, limiter: &Limiter, key: &Key) -> Result<(), Error> {
        self.maybe_sweep(limiter);
        limiter.check(key)
    }

    /// Any request from `client`; `credentials` when it presents a token, session cookie or
    /// signature (a larger allowance: one address often serves several signed-in people).
    pub fn request(&self, client: ClientAddr, credentials: bool) -> Result<(), Error> {
        let limiter = if credentials {
            &self.authenticated_requests
        } else {
            &self.requests
        };
        self.check(limiter, &Key::Addr(client))
    }

    /// A sign-in attempt with `login` (the email or name typed) from `client`.
    pub fn sign_in(&self, client: ClientAddr, login: &str) -> Result<(), Error> {
        self.check(&self.sign_in, &Key::Addr(client))?;
        self.check(&self.sign_in_account, &login_key(login))
    }

    /// Loading or sending the OAuth authorize page.
    pub fn authorize(&self, client: ClientAddr) -> Result<(), Error> {
        self.check(&self.authorize, &Key::Addr(client))
    }

    pub fn sign_up(&self, client: ClientAddr) -> Result<(), Error> {
        self.check(&self.sign_up, &Key::Addr(client))
    }

    /// A lookup that may fetch from another server, by `client` and the signed-in `account`.
    pub fn lookup(&self, client: ClientAddr, account: Option<Id>) -> Result<(), Error> {
        self.check(&self.lookup, &Key::Addr(client))?;
        match account {
            Some(id) => self.check(&self.lookup, &Key::Account(id)),
            None => Ok(()),
        }
    }

    /// A delivery to an inbox signed by someone on `host`.
    pub fn inbox(&self, host: &str) -> Result<(), Error> {
        self.check(&self.inbox, &Key::Host(host.to_ascii_lowercase()))
    }

    /// A write (POST, PUT, PATCH, DELETE) by `account`.
    pub fn write(&self, account: Id) -> Result<(), Error> {
        self.check(&self.writes, &Key::Account(account))
    }

    /// Keys held across all limiters (for tests of the sweep).
    pub fn keys(&self) -> usize {
        self.all().iter().map(|l| l.keyed.len()).sum()
    }
}

/// Whether an HTTP method writes.
pub fn is_write(method: &str) -> bool {
    matches!(method, "POST" | "PUT" | "PATCH" | "DELETE")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn rates_parse_and_print() {
        let r: Rate = "300/5m".parse().unwrap();
        assert_eq!((r.count.get(), r.period.as_secs()), (300, 300));
        assert_eq!(r.to_string(), "300/5m");
        assert_eq!("25/1h".parse::<Rate>().unwrap().period.as_secs(), 3600);
        assert_eq!("5/h".parse::<Rate>().unwrap().period.as_secs(), 3600);
        assert_eq!("2/30s".parse::<Rate>().unwrap().to_string(), "2/30s");
        for bad in ["", "300", "0/5m", "x/5m", "3/5", "3/5y", "3/0m", "3/30d"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
    }

    #[test]
    fn set_by_name() {
        let mut c = LimitsConfig::default();
        c.set("sign_in", "2/1m".parse().unwrap()).unwrap();
        assert_eq!(c.sign_in.count.get(), 2);
        c.set("all", "9/1m".parse().unwrap()).unwrap();
        assert_eq!(c.writes.count.get(), 9);
        assert!(c.set("everything", "9/1m".parse().unwrap()).is_err());
    }

    #[test]
    fn over_the_limit_is_refused_with_the_limit_and_reset() {
        let mut c = LimitsConfig::default();
        c.set("sign_in", "2/1h".parse().unwrap()).unwrap();
        let limits = Limits::new(c, vec![]);
        let a = ClientAddr::new(ip("192.0.2.1"));
        let b = ClientAddr::new(ip("192.0.2.2"));
        limits.sign_in(a, "x@example.org").unwrap();
        limits.sign_in(a, "y@example.org").unwrap();
        let Err(Error::RateLimited(rl)) = limits.sign_in(a, "z@example.org") else {
            panic!("third attempt from one address is refused");
        };
        assert_eq!(rl.limit, 2);
        assert!(rl.reset_at > now_micros());
        // Another address has its own allowance.
        limits.sign_in(b, "z@example.org").unwrap();
    }

    #[test]
    fn ipv6_counts_per_64_and_proxies_only_when_trusted() {
        let a = ClientAddr::new(ip("2001:db8:1:2:3:4:5:6"));
        let b = ClientAddr::new(ip("2001:db8:1:2:ffff::1"));
        assert_eq!(a, b);
        assert_ne!(a, ClientAddr::new(ip("2001:db8:1:3::1")));
        let proxy = ip("127.0.0.1");
        // Untrusted peer: the header is ignored.
        assert_eq!(
            ClientAddr::from_peer(proxy, Some("203.0.113.9"), &[]).ip(),
            proxy
        );
        // Trusted: the right-most untrusted hop, not what the client wrote on the left.
        let got = ClientAddr::from_peer(proxy, Some("1.2.3.4, 203.0.113.9, 127.0.0.1"), &[proxy]);
        assert_eq!(got.ip(), ip("203.0.113.9"));
        assert_eq!(
            ClientAddr::from_peer(proxy, Some("garbage"), &[proxy]).ip(),
            proxy
        );
    }
}
