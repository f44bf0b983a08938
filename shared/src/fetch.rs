//! The server-side URL fetcher behind `POST /v1/media {"url"}`: downloads a URL a user gave us into a writer,
//! without letting that user reach what only the server can reach (server-side request forgery).
//!
//! # Design
//!
//! A URL names a host; what matters is the address the connection goes to. [`AddressPolicy`] decides which
//! addresses may be connected to (public unicast only, plus the networks an operator allowed with
//! `SOKU_FETCH_ALLOW_PRIVATE`). This module makes sure the policy sees every address a fetch connects to, and
//! that the fetch connects to nothing else:
//!
//! - **Resolve, check, then pin.** For a host name the fetcher resolves the name itself
//!   ([`tokio::net::lookup_host`]), checks *every* address returned, and refuses the whole name if any one of
//!   them is refused (conservative: a name that answers both a public and a private address is an attack or a
//!   misconfiguration, and the connector might pick either). The connection is then made to exactly the checked
//!   addresses: the HTTP client of each hop is built with those addresses pinned for that name
//!   (`resolve_to_addrs`) and with a resolver that refuses every lookup, so there is no second DNS query whose
//!   answer could differ from the checked one (DNS rebinding), and a name the pin does not cover fails closed.
//! - **IP literals** are checked before connecting, both as the `url` crate reads the host and as
//!   [`ip_literal`] reads the raw host text (`2130706433`, `0x7f.0.0.1`, `127.1`, `[::1]` are all loopback).
//! - **Every hop is checked.** Redirects are followed by hand, never by the client: each `Location` is resolved
//!   against the current URL and goes through the same checks as the first URL (scheme, credentials, IP
//!   literal, resolution), so a public URL cannot redirect the fetch to `http://127.0.0.1/`, `file:` or `ftp:`.
//!   301, 302, 303, 307 and 308 are followed, always as `GET`; at most [`FetchLimits::max_redirects`] of them.
//! - **No proxy** from the environment (a proxy would connect on our behalf to addresses we never checked), no
//!   automatic redirects, no automatic decompression (the byte cap counts the bytes on the wire, so a small
//!   gzip bomb cannot expand past it).
//!
//! # What is refused
//!
//! Schemes other than `http` and `https`; URLs with a user name or password; hosts whose address (or any of
//! whose addresses) the policy refuses: loopback, private, link-local, carrier-grade NAT, `0.0.0.0/8`,
//! multicast, documentation, unique local, NAT64, 6to4, IPv4-mapped forms of those, and the rest listed in
//! [`crate::address_policy`].
//!
//! # Limits
//!
//! [`FetchLimits`]: a body larger than `max_bytes` is refused from its `Content-Length` before any of it is
//! read, and a body without one (chunked, or read to the end of the connection) is counted and cut off as soon
//! as it passes the cap, so the writer never receives more than `max_bytes` bytes. `total_timeout` bounds the
//! whole redirect chain, `connect_timeout` each resolution and connection, and `idle_timeout` each wait for the
//! next piece of the body (a server that trickles or stalls is cut off); the response head must arrive within
//! `connect_timeout + idle_timeout` of sending the request.
//!
//! The body is streamed chunk by chunk into the writer, never held in memory. Error messages name the URL
//! without its query string and fragment (which may carry signed tokens), and never a password.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::time::{Instant, timeout_at};
use url::{Host, Url};

use crate::address_policy::{AddressPolicy, Refusal, ip_literal};

/// The `User-Agent` of every fetch.
pub const USER_AGENT: &str = concat!("Soku/", env!("CARGO_PKG_VERSION"), " (media fetcher)");

/// How much a fetch may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchLimits {
    /// The largest body accepted, in bytes.
    pub max_bytes: u64,
    /// For resolving a host name, and for connecting.
    pub connect_timeout: Duration,
    /// For the whole fetch, every redirect included.
    pub total_timeout: Duration,
    /// No byte for this long: the sender is too slow, and cut off.
    pub idle_timeout: Duration,
    /// How many redirects are followed.
    pub max_redirects: usize,
}

impl Default for FetchLimits {
    /// 1 GiB, connect 10 s, total 600 s, idle 30 s, 5 redirects.
    fn default() -> FetchLimits {
        FetchLimits {
            max_bytes: 1 << 30,
            connect_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(600),
            idle_timeout: Duration::from_secs(30),
            max_redirects: 5,
        }
    }
}

/// What a fetch brought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The URL the body came from, after redirects.
    pub final_url: Url,
    /// How many bytes were written.
    pub bytes: u64,
    /// The `Content-Type` the server sent, if any (only a hint: the media pipeline sniffs the bytes).
    pub content_type: Option<String>,
    /// How many redirects were followed.
    pub redirects: usize,
}

/// Which wait took too long, for [`FetchError::Timeout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutStage {
    /// Resolving the host name (`connect_timeout`).
    Resolve,
    /// Connecting (`connect_timeout`).
    Connect,
    /// The whole fetch (`total_timeout`).
    Total,
}

/// Why a fetch failed. `Display` is a sentence for the API user; [`FetchError::code`] the stable error code and
/// [`FetchError::retryable`] whether trying again later may succeed. URLs are shown without query and fragment.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("`{url}` is not a valid URL: {reason}.")]
    InvalidUrl { url: String, reason: String },
    #[error("`{url}` uses the `{scheme}` scheme; only http and https URLs can be fetched.")]
    UnsupportedScheme { url: String, scheme: String },
    #[error("`{url}` contains a user name or password; a media URL must not carry credentials.")]
    Credentials { url: String },
    #[error(
        "Refusing to fetch from `{host}`: its address {address} is {refusal}, which server-side fetches may \
         not reach (an operator can allow a network with SOKU_FETCH_ALLOW_PRIVATE)."
    )]
    Refused {
        host: String,
        address: IpAddr,
        refusal: Refusal,
    },
    #[error("Could not resolve the host `{host}`: {reason}.")]
    Resolve { host: String, reason: String },
    #[error("Could not connect to `{host}`: {reason}.")]
    Connect { host: String, reason: String },
    #[error("{}", timeout_message(.url, *.stage, *.limit))]
    Timeout {
        url: String,
        stage: TimeoutStage,
        limit: Duration,
    },
    #[error("`{url}` answered HTTP {}.", status_text(*.status))]
    HttpStatus { url: String, status: u16 },
    #[error("`{url}` redirected more than {limit} times; at most {limit} redirects are followed.")]
    TooManyRedirects { url: String, limit: usize },
    #[error("`{url}` answered the redirect HTTP {} with {reason}.", status_text(*.status))]
    BadRedirect {
        url: String,
        status: u16,
        reason: String,
    },
    #[error("{}", too_large_message(.url, *.limit, *.content_length))]
    TooLarge {
        url: String,
        limit: u64,
        /// The `Content-Length` it announced; `None` when it was counted while streaming.
        content_length: Option<u64>,
    },
    #[error(
        "`{url}` sent nothing for {}; the fetch was cut off (a server must keep sending within that time).",
        human_duration(*.idle)
    )]
    SlowSender { url: String, idle: Duration },
    #[error("The connection to `{url}` broke before the whole body was received: {reason}.")]
    Interrupted { url: String, reason: String },
    #[error("Could not store the fetched media: {0}.")]
    Write(#[source] io::Error),
}

impl FetchError {
    /// The stable error code: `invalid_url`, `fetch_refused`, `fetch_failed`, `fetch_timeout`,
    /// `media_too_large`, or `internal_error` (storing the body failed: our side).
    pub fn code(&self) -> &'static str {
        match self {
            FetchError::InvalidUrl { .. }
            | FetchError::UnsupportedScheme { .. }
            | FetchError::Credentials { .. } => "invalid_url",
            FetchError::Refused { .. } => "fetch_refused",
            FetchError::Resolve { .. }
            | FetchError::Connect { .. }
            | FetchError::HttpStatus { .. }
            | FetchError::TooManyRedirects { .. }
            | FetchError::BadRedirect { .. }
            | FetchError::Interrupted { .. } => "fetch_failed",
            FetchError::Timeout { .. } | FetchError::SlowSender { .. } => "fetch_timeout",
            FetchError::TooLarge { .. } => "media_too_large",
            FetchError::Write(_) => "internal_error",
        }
    }

    /// Whether the same fetch may succeed later: network trouble, timeouts, 5xx, 408 and 429, and our own
    /// storage failing. Refusals, bad URLs, other 4xx, bad redirects and oversized bodies will not change.
    pub fn retryable(&self) -> bool {
        match self {
            FetchError::Resolve { .. }
            | FetchError::Connect { .. }
            | FetchError::Timeout { .. }
            | FetchError::SlowSender { .. }
            | FetchError::Interrupted { .. }
            | FetchError::Write(_) => true,
            FetchError::HttpStatus { status, .. } => {
                *status >= 500 || *status == 408 || *status == 429
            }
            FetchError::InvalidUrl { .. }
            | FetchError::UnsupportedScheme { .. }
            | FetchError::Credentials { .. }
            | FetchError::Refused { .. }
            | FetchError::TooManyRedirects { .. }
            | FetchError::BadRedirect { .. }
            | FetchError::TooLarge { .. } => false,
        }
    }
}

type LookupFuture = Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send>>;
/// A stand-in for DNS in tests: `(name, port)` to addresses.
#[cfg(test)]
type Lookup = Arc<dyn Fn(String, u16) -> LookupFuture + Send + Sync>;

/// Fetches URLs under an [`AddressPolicy`] and [`FetchLimits`]. Cheap to clone.
#[derive(Clone)]
pub struct Fetcher {
    inner: Arc<Inner>,
}

struct Inner {
    policy: AddressPolicy,
    limits: FetchLimits,
    #[cfg(test)]
    lookup: Option<Lookup>,
}

impl fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fetcher")
            .field("policy", &self.inner.policy)
            .field("limits", &self.inner.limits)
            .finish()
    }
}

/// Where one hop connects: nothing to pin for an IP literal, the checked addresses for a name.
struct Pinned {
    name: String,
    addrs: Vec<SocketAddr>,
}

impl Fetcher {
    pub fn new(policy: AddressPolicy, limits: FetchLimits) -> Fetcher {
        Fetcher {
            inner: Arc::new(Inner {
                policy,
                limits,
                #[cfg(test)]
                lookup: None,
            }),
        }
    }

    /// A fetcher whose host names are resolved by `lookup` instead of DNS.
    #[cfg(test)]
    pub(crate) fn with_lookup(
        policy: AddressPolicy,
        limits: FetchLimits,
        lookup: Lookup,
    ) -> Fetcher {
        Fetcher {
            inner: Arc::new(Inner {
                policy,
                limits,
                lookup: Some(lookup),
            }),
        }
    }

    /// The same fetcher with a smaller byte cap (an avatar, say).
    pub fn with_max_bytes(&self, max_bytes: u64) -> Fetcher {
        Fetcher {
            inner: Arc::new(Inner {
                policy: self.inner.policy.clone(),
                limits: FetchLimits {
                    max_bytes: max_bytes.min(self.inner.limits.max_bytes),
                    ..self.inner.limits
                },
                #[cfg(test)]
                lookup: self.inner.lookup.clone(),
            }),
        }
    }

    pub fn limits(&self) -> &FetchLimits {
        &self.inner.limits
    }

    /// Synchronous check usable at API intake: parses, http/https only, no userinfo, host present, an IP literal
    /// (in any spelling) checked against the policy. Names are NOT resolved here.
    pub fn check_url(&self, url: &str) -> Result<Url, FetchError> {
        let parsed = Url::parse(url.trim()).map_err(|e| FetchError::InvalidUrl {
            url: shown_raw(url),
            reason: e.to_string(),
        })?;
        self.check_parsed(&parsed, raw_host(url))?;
        Ok(parsed)
    }

    /// The intake check of a URL (`POST /v1/media`, an avatar, a post's imported media): [`Fetcher::check_url`],
    /// then its host name resolved (within the connect timeout) and refused when any of its addresses is
    /// refused, as a fetch would. A name that does not resolve (yet) is no refusal here: the fetch decides, and
    /// may retry. The fetch checks again at every hop; this only answers early.
    pub async fn check(&self, url: &str) -> Result<Url, FetchError> {
        let parsed = self.check_url(url)?;
        let deadline = Instant::now() + self.inner.limits.connect_timeout;
        match self.pin(&parsed, deadline).await {
            Err(e @ FetchError::Refused { .. }) => Err(e),
            _ => Ok(parsed),
        }
    }

    /// The checks of [`Fetcher::check_url`] on a parsed URL; `raw_host` is the host as written, if known.
    fn check_parsed(&self, url: &Url, raw_host: Option<&str>) -> Result<(), FetchError> {
        let scheme = url.scheme();
        if scheme != "http" && scheme != "https" {
            return Err(FetchError::UnsupportedScheme {
                url: shown(url),
                scheme: scheme.to_owned(),
            });
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(FetchError::Credentials { url: shown(url) });
        }
        let host = match url.host() {
            Some(host) => host,
            None => {
                return Err(FetchError::InvalidUrl {
                    url: shown(url),
                    reason: "it has no host".to_owned(),
                });
            }
        };
        let host_text = url.host_str().unwrap_or_default();
        let literal = match host {
            Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
            Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
            Host::Domain(name) => ip_literal(name),
        };
        if let Some(ip) = literal {
            self.check_ip(host_text, ip)?;
        }
        if let Some(ip) = raw_host.and_then(ip_literal) {
            self.check_ip(host_text, ip)?;
        }
        Ok(())
    }

    fn check_ip(&self, host: &str, ip: IpAddr) -> Result<IpAddr, FetchError> {
        self.inner
            .policy
            .check(ip)
            .map_err(|refusal| FetchError::Refused {
                host: host.to_owned(),
                address: ip,
                refusal,
            })
    }

    /// Fetches `url` following at most max_redirects redirects, writing the body into `out`.
    pub async fn fetch_to<W: AsyncWrite + Unpin + Send>(
        &self,
        url: &str,
        out: &mut W,
    ) -> Result<Fetched, FetchError> {
        let limits = self.inner.limits;
        let deadline = Instant::now() + limits.total_timeout;
        let mut current = self.check_url(url)?;
        let mut redirects = 0;
        loop {
            let response = self.request(&current, deadline).await?;
            let status = response.status();
            if is_followed_redirect(status) {
                if redirects >= limits.max_redirects {
                    return Err(FetchError::TooManyRedirects {
                        url: shown(&current),
                        limit: limits.max_redirects,
                    });
                }
                current = self.next_hop(&current, &response)?;
                redirects += 1;
                continue;
            }
            if !status.is_success() {
                return Err(FetchError::HttpStatus {
                    url: shown(&current),
                    status: status.as_u16(),
                });
            }
            return self
                .stream(current, response, out, deadline, redirects)
                .await;
        }
    }

    /// Where a redirect goes, checked like a first URL.
    fn next_hop(&self, current: &Url, response: &reqwest::Response) -> Result<Url, FetchError> {
        let status = response.status().as_u16();
        let bad = |reason: String| FetchError::BadRedirect {
            url: shown(current),
            status,
            reason,
        };
        let location = response
            .headers()
            .get(LOCATION)
            .ok_or_else(|| bad("no Location header".to_owned()))?;
        let location = location
            .to_str()
            .map_err(|_| bad("a Location header that is not text".to_owned()))?
            .trim();
        if location.is_empty() {
            return Err(bad("an empty Location header".to_owned()));
        }
        let next = current.join(location).map_err(|e| {
            bad(format!(
                "a Location that is not a valid URL (`{}`: {e})",
                shown_raw(location)
            ))
        })?;
        self.check_parsed(&next, raw_host(location))?;
        Ok(next)
    }

    /// Resolves and checks the host of `url`, then sends the request to the checked addresses.
    async fn request(&self, url: &Url, deadline: Instant) -> Result<reqwest::Response, FetchError> {
        let limits = self.inner.limits;
        let pin = self.pin(url, deadline).await?;
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(limits.connect_timeout)
            .pool_max_idle_per_host(0)
            .user_agent(USER_AGENT)
            .dns_resolver(Arc::new(NoLookup));
        if let Some(pin) = &pin {
            builder = builder.resolve_to_addrs(&pin.name, &pin.addrs);
        }
        let client = builder.build().map_err(|e| FetchError::Connect {
            host: authority(url),
            reason: format!("the HTTP client could not be set up ({})", innermost(&e)),
        })?;
        let send = client.get(url.as_str()).header(ACCEPT, "*/*").send();
        // The head must come within connect + idle; the whole within the total.
        let head_by = Instant::now() + limits.connect_timeout + limits.idle_timeout;
        match timeout_at(head_by.min(deadline), send).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(e)) => Err(request_error(url, &e, limits)),
            Err(_) if deadline <= head_by => Err(total_timeout(url, limits)),
            Err(_) => Err(FetchError::SlowSender {
                url: shown(url),
                idle: limits.idle_timeout,
            }),
        }
    }

    /// For a host name: its addresses, every one checked, with the URL's port. `None` for an IP literal (checked
    /// by `check_parsed` already).
    async fn pin(&self, url: &Url, deadline: Instant) -> Result<Option<Pinned>, FetchError> {
        let Some(Host::Domain(name)) = url.host() else {
            return Ok(None);
        };
        let port = url.port_or_known_default().unwrap_or(80);
        if let Some(ip) = ip_literal(name) {
            let ip = self.check_ip(name, ip)?;
            return Ok(Some(Pinned {
                name: name.to_owned(),
                addrs: vec![SocketAddr::new(ip, port)],
            }));
        }
        let limits = self.inner.limits;
        let resolve_by = Instant::now() + limits.connect_timeout;
        let found = match timeout_at(resolve_by.min(deadline), self.lookup(name, port)).await {
            Ok(Ok(found)) => found,
            Ok(Err(e)) => {
                return Err(FetchError::Resolve {
                    host: name.to_owned(),
                    reason: e.to_string(),
                });
            }
            Err(_) if deadline <= resolve_by => return Err(total_timeout(url, limits)),
            Err(_) => {
                return Err(FetchError::Timeout {
                    url: shown(url),
                    stage: TimeoutStage::Resolve,
                    limit: limits.connect_timeout,
                });
            }
        };
        if found.is_empty() {
            return Err(FetchError::Resolve {
                host: name.to_owned(),
                reason: "it has no address".to_owned(),
            });
        }
        let mut addrs: Vec<SocketAddr> = Vec::with_capacity(found.len());
        for addr in found {
            let ip = self.check_ip(name, addr.ip())?;
            let addr = SocketAddr::new(ip, port);
            if !addrs.contains(&addr) {
                addrs.push(addr);
            }
        }
        Ok(Some(Pinned {
            name: name.to_owned(),
            addrs,
        }))
    }

    fn lookup(&self, name: &str, port: u16) -> LookupFuture {
        #[cfg(test)]
        if let Some(lookup) = &self.inner.lookup {
            return lookup(name.to_owned(), port);
        }
        let target = (name.to_owned(), port);
        Box::pin(async move { Ok(tokio::net::lookup_host(target).await?.collect()) })
    }

    /// Writes the body of a 2xx answer into `out`, within the byte cap and the timeouts.
    async fn stream<W: AsyncWrite + Unpin + Send>(
        &self,
        url: Url,
        mut response: reqwest::Response,
        out: &mut W,
        deadline: Instant,
        redirects: usize,
    ) -> Result<Fetched, FetchError> {
        let limits = self.inner.limits;
        let too_large = |content_length| FetchError::TooLarge {
            url: shown(&url),
            limit: limits.max_bytes,
            content_length,
        };
        if let Some(length) = response.content_length()
            && length > limits.max_bytes
        {
            return Err(too_large(Some(length)));
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut bytes: u64 = 0;
        loop {
            let idle_by = Instant::now() + limits.idle_timeout;
            let chunk = match timeout_at(idle_by.min(deadline), response.chunk()).await {
                Ok(Ok(Some(chunk))) => chunk,
                Ok(Ok(None)) => break,
                Ok(Err(e)) => {
                    return Err(FetchError::Interrupted {
                        url: shown(&url),
                        reason: innermost(&e),
                    });
                }
                Err(_) if deadline <= idle_by => return Err(total_timeout(&url, limits)),
                Err(_) => {
                    return Err(FetchError::SlowSender {
                        url: shown(&url),
                        idle: limits.idle_timeout,
                    });
                }
            };
            bytes = bytes.saturating_add(chunk.len() as u64);
            if bytes > limits.max_bytes {
                return Err(too_large(None));
            }
            match timeout_at(deadline, out.write_all(&chunk)).await {
                Ok(result) => result.map_err(FetchError::Write)?,
                Err(_) => return Err(total_timeout(&url, limits)),
            }
        }
        match timeout_at(deadline, out.flush()).await {
            Ok(result) => result.map_err(FetchError::Write)?,
            Err(_) => return Err(total_timeout(&url, limits)),
        }
        Ok(Fetched {
            final_url: url,
            bytes,
            content_type,
            redirects,
        })
    }
}

/// The resolver of every fetch client: names are pinned with `resolve_to_addrs`, so a lookup reaching here
/// means a name escaped the checks; fail closed rather than ask DNS.
struct NoLookup;

impl reqwest::dns::Resolve for NoLookup {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let message = format!("`{}` was not resolved and checked first", name.as_str());
        Box::pin(async move { Err(io::Error::other(message).into()) })
    }
}

fn is_followed_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

fn request_error(url: &Url, e: &reqwest::Error, limits: FetchLimits) -> FetchError {
    if e.is_connect() && e.is_timeout() {
        FetchError::Timeout {
            url: shown(url),
            stage: TimeoutStage::Connect,
            limit: limits.connect_timeout,
        }
    } else if e.is_connect() {
        FetchError::Connect {
            host: authority(url),
            reason: innermost(e),
        }
    } else {
        FetchError::Interrupted {
            url: shown(url),
            reason: innermost(e),
        }
    }
}

fn total_timeout(url: &Url, limits: FetchLimits) -> FetchError {
    FetchError::Timeout {
        url: shown(url),
        stage: TimeoutStage::Total,
        limit: limits.total_timeout,
    }
}

/// The deepest cause of an error: `Connection refused (os error 111)` rather than reqwest's outer sentence,
/// which also repeats the URL with its query.
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// A URL for a message: no user info, query or fragment (a `?…` says a query was cut).
fn shown(url: &Url) -> String {
    let mut text = format!("{}://", url.scheme());
    if let Some(host) = url.host_str() {
        text.push_str(host);
    }
    if let Some(port) = url.port() {
        text.push_str(&format!(":{port}"));
    }
    text.push_str(url.path());
    if url.query().is_some() {
        text.push_str("?…");
    }
    text
}

/// Text that did not parse as a URL, for a message: cut at the query, without user info, at most 200 characters.
fn shown_raw(text: &str) -> String {
    let text = text.trim();
    let end = text.find(['?', '#']).unwrap_or(text.len());
    let mut text = &text[..end];
    let mut prefix = String::new();
    if let Some((scheme, rest)) = text.split_once("//") {
        let authority_end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@') {
            prefix = format!("{scheme}//…@");
            text = &rest[at + 1..];
        }
    }
    let mut shown: String = prefix;
    shown.extend(text.chars().take(200));
    if text.chars().count() > 200 {
        shown.push('…');
    }
    shown
}

/// `host:port` of a URL, for connection messages.
fn authority(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// The host of an absolute or scheme-relative URL as written (no user info, no port), for [`ip_literal`];
/// `None` for a relative reference.
fn raw_host(text: &str) -> Option<&str> {
    let text = text.trim();
    let rest = match text.find("//") {
        Some(i) if text[..i].is_empty() || text[..i].ends_with(':') => &text[i + 2..],
        _ => return None,
    };
    let authority = &rest[..rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len())];
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host.starts_with('[') {
        return Some(host.find(']').map_or(host, |i| &host[..=i]));
    }
    Some(host.rsplit_once(':').map_or(host, |(h, _)| h))
}

fn status_text(status: u16) -> String {
    match StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
    {
        Some(reason) => format!("{status} {reason}"),
        None => status.to_string(),
    }
}

fn timeout_message(url: &str, stage: TimeoutStage, limit: Duration) -> String {
    let limit = human_duration(limit);
    match stage {
        TimeoutStage::Resolve => {
            format!("Resolving the host of `{url}` took longer than {limit}.")
        }
        TimeoutStage::Connect => format!("Connecting to `{url}` took longer than {limit}."),
        TimeoutStage::Total => {
            format!("Fetching `{url}` took longer than {limit}, the limit for a whole fetch.")
        }
    }
}

fn too_large_message(url: &str, limit: u64, content_length: Option<u64>) -> String {
    let limit = human_bytes(limit);
    match content_length {
        Some(length) => format!(
            "`{url}` is {} (its Content-Length), larger than the {limit} limit.",
            human_bytes(length)
        ),
        None => format!("`{url}` is larger than the {limit} limit; the download was cut off."),
    }
}

/// `1 GiB`, `512 KiB`, `1000 bytes`: binary units when exact.
fn human_bytes(n: u64) -> String {
    for (unit, size) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
        if n >= size && n.is_multiple_of(size) {
            return format!("{} {unit}", n / size);
        }
    }
    if n == 1 {
        "1 byte".to_owned()
    } else {
        format!("{n} bytes")
    }
}

/// `300 ms`, `30 s`, `1.5 s`.
fn human_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests;
