//! Loopback only: tiny HTTP/1.1 servers on 127.0.0.1 written by hand (so they can lie, stall and trickle), and
//! a trap listener on 127.0.0.2 that must never be connected to. The policy allows 127.0.0.1/32 only.

use super::*;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use futures::FutureExt;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::sleep;

// ---------------------------------------------------------------------------------------------------------
// Test servers

enum Step {
    Send(Vec<u8>),
    Wait(Duration),
    /// Keep the connection open, sending nothing (the test ends first).
    Hang,
}

type Handler = dyn Fn(&str, u16) -> Vec<Step> + Send + Sync;

struct Server {
    port: u16,
    accepted: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

/// A server on 127.0.0.1:0; `handler(path, own port)` scripts each connection's answer.
async fn serve(handler: impl Fn(&str, u16) -> Vec<Step> + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let handler: Arc<Handler> = Arc::new(handler);
    tokio::spawn({
        let (accepted, requests) = (accepted.clone(), requests.clone());
        async move {
            while let Ok((stream, _)) = listener.accept().await {
                accepted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(answer(stream, handler.clone(), requests.clone(), port));
            }
        }
    });
    Server {
        port,
        accepted,
        requests,
    }
}

async fn answer(
    mut stream: TcpStream,
    handler: Arc<Handler>,
    requests: Arc<Mutex<Vec<String>>>,
    port: u16,
) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    requests.lock().unwrap().push(head);
    for step in handler(&path, port) {
        match step {
            Step::Send(bytes) => {
                if stream.write_all(&bytes).await.is_err() {
                    return;
                }
            }
            Step::Wait(d) => sleep(d).await,
            Step::Hang => {
                sleep(Duration::from_secs(60)).await;
                return;
            }
        }
    }
    let _ = stream.shutdown().await;
}

/// A listener on 127.0.0.2 (loopback, refused by the policy): nothing may ever connect to it.
async fn trap() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.2:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

/// Whether no connection reached `listener` (a completed connect would wait in its accept queue).
fn untouched(listener: &TcpListener) -> bool {
    listener.accept().now_or_never().is_none()
}

#[tokio::test]
async fn the_trap_notices_a_connection() {
    let (trap, p2) = trap().await;
    assert!(untouched(&trap));
    let _stream = TcpStream::connect(("127.0.0.2", p2)).await.unwrap();
    assert!(
        !untouched(&trap),
        "a completed connection waits in the accept queue"
    );
}

fn head(status: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut text = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text.into_bytes()
}

fn ok(content_type: &str, body: &[u8]) -> Vec<Step> {
    let length = body.len().to_string();
    let mut bytes = head(
        "200 OK",
        &[("Content-Type", content_type), ("Content-Length", &length)],
    );
    bytes.extend_from_slice(body);
    vec![Step::Send(bytes)]
}

fn redirect(status: &str, location: &str) -> Vec<Step> {
    vec![Step::Send(head(
        status,
        &[("Location", location), ("Content-Length", "0")],
    ))]
}

fn status(status: &str) -> Vec<Step> {
    vec![Step::Send(head(status, &[("Content-Length", "0")]))]
}

fn chunk(data: &[u8]) -> Vec<u8> {
    let mut bytes = format!("{:x}\r\n", data.len()).into_bytes();
    bytes.extend_from_slice(data);
    bytes.extend_from_slice(b"\r\n");
    bytes
}

const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

// ---------------------------------------------------------------------------------------------------------
// Fetchers

fn policy() -> AddressPolicy {
    AddressPolicy::parse("127.0.0.1/32").unwrap()
}

fn limits() -> FetchLimits {
    FetchLimits {
        max_bytes: 1 << 20,
        connect_timeout: Duration::from_secs(2),
        total_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(2),
        max_redirects: 5,
    }
}

fn fetcher() -> Fetcher {
    Fetcher::new(policy(), limits())
}

/// Every name resolves to `addrs`; the count says how many lookups were made.
fn resolving_to(addrs: Vec<SocketAddr>) -> (Fetcher, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let lookup: Lookup = Arc::new(move |_name, _port| {
        counter.fetch_add(1, Ordering::SeqCst);
        let addrs = addrs.clone();
        Box::pin(async move { Ok(addrs) })
    });
    (Fetcher::with_lookup(policy(), limits(), lookup), calls)
}

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

async fn fetch(fetcher: &Fetcher, url: &str) -> (Result<Fetched, FetchError>, Vec<u8>) {
    let mut out = Vec::new();
    let result = fetcher.fetch_to(url, &mut out).await;
    (result, out)
}

fn refused_address(e: &FetchError) -> IpAddr {
    match e {
        FetchError::Refused { address, .. } => *address,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------------------
// Plain fetches

#[tokio::test]
async fn a_plain_fetch_streams_the_body_and_reports_it() {
    let body: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    let served = body.clone();
    let server = serve(move |_, _| ok("image/png", &served)).await;
    let url = server.url("/media/cat.png?sig=secret");

    let (result, out) = fetch(&fetcher(), &url).await;
    let fetched = result.unwrap();

    assert_eq!(out, body);
    assert_eq!(fetched.bytes, body.len() as u64);
    assert_eq!(fetched.content_type.as_deref(), Some("image/png"));
    assert_eq!(fetched.redirects, 0);
    assert_eq!(fetched.final_url.as_str(), url);

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = requests[0].to_ascii_lowercase();
    assert!(
        request.starts_with("get /media/cat.png?sig=secret http/1.1\r\n"),
        "{request}"
    );
    let expected_agent = format!(
        "user-agent: soku/{} (media fetcher)\r\n",
        env!("CARGO_PKG_VERSION")
    );
    assert!(request.contains(&expected_agent), "{request}");
    assert!(request.contains("accept: */*\r\n"), "{request}");
    assert!(request.contains(&format!("host: 127.0.0.1:{}\r\n", server.port)));
    assert!(
        !request.contains("accept-encoding"),
        "no decompression asked: {request}"
    );
    assert!(!request.contains("proxy"), "{request}");
}

#[tokio::test]
async fn a_body_read_to_the_end_of_the_connection_is_fetched() {
    let server = serve(|_, _| {
        let mut bytes = head("200 OK", &[]);
        bytes.extend_from_slice(b"no length given");
        vec![Step::Send(bytes)]
    })
    .await;
    let (result, out) = fetch(&fetcher(), &server.url("/")).await;
    let fetched = result.unwrap();
    assert_eq!(out, b"no length given");
    assert_eq!(fetched.bytes, 15);
    assert_eq!(fetched.content_type, None);
}

#[tokio::test]
async fn an_ip_literal_in_another_spelling_is_the_address_it_names() {
    // 2130706433 is 127.0.0.1, which this policy allows: the fetch reaches the server.
    let server = serve(|_, _| ok("text/plain", b"hi")).await;
    for host in ["2130706433", "0x7f.0.0.1", "127.1", "0177.0.0.1"] {
        let url = format!("http://{host}:{}/x", server.port);
        let (result, out) = fetch(&fetcher(), &url).await;
        assert_eq!(
            result.unwrap().final_url.host_str(),
            Some("127.0.0.1"),
            "{host}"
        );
        assert_eq!(out, b"hi");
    }
}

// ---------------------------------------------------------------------------------------------------------
// Redirects

/// `/r/N` redirects to `/r/N-1` (with every followed status and every form of Location); `/r/0` answers.
fn chain(path: &str, port: u16) -> Vec<Step> {
    let n: usize = path.trim_start_matches("/r/").parse().unwrap();
    if n == 0 {
        return ok("video/mp4", b"end of the chain");
    }
    let code = [
        "301 Moved Permanently",
        "302 Found",
        "303 See Other",
        "307 Temporary Redirect",
    ][n % 4];
    let code = if n == 5 {
        "308 Permanent Redirect"
    } else {
        code
    };
    let next = n - 1;
    let location = match n % 5 {
        0 => format!("{next}"),
        1 => format!("./{next}"),
        2 => format!("/r/{next}"),
        3 => format!("http://127.0.0.1:{port}/r/{next}"),
        _ => format!("//127.0.0.1:{port}/r/{next}"),
    };
    redirect(code, &location)
}

#[tokio::test]
async fn a_chain_of_five_redirects_is_followed() {
    let server = serve(chain).await;
    let (result, out) = fetch(&fetcher(), &server.url("/r/5")).await;
    let fetched = result.unwrap();
    assert_eq!(fetched.redirects, 5);
    assert_eq!(fetched.final_url.as_str(), server.url("/r/0"));
    assert_eq!(out, b"end of the chain");
    let requests = server.requests();
    assert_eq!(requests.len(), 6);
    assert!(
        requests.iter().all(|r| r.starts_with("GET ")),
        "{requests:?}"
    );
}

#[tokio::test]
async fn a_sixth_redirect_is_refused() {
    let server = serve(chain).await;
    let (result, out) = fetch(&fetcher(), &server.url("/r/6")).await;
    let e = result.unwrap_err();
    assert!(
        matches!(e, FetchError::TooManyRedirects { limit: 5, .. }),
        "{e:?}"
    );
    assert_eq!(e.code(), "fetch_failed");
    assert!(!e.retryable());
    assert!(e.to_string().contains("more than 5 times"), "{e}");
    assert!(out.is_empty());
    assert_eq!(server.requests().len(), 6, "/r/0 is never asked for");
}

#[tokio::test]
async fn fewer_redirects_allowed_when_configured() {
    let server = serve(chain).await;
    let limits = FetchLimits {
        max_redirects: 0,
        ..limits()
    };
    let (result, _) = fetch(&Fetcher::new(policy(), limits), &server.url("/r/1")).await;
    assert!(matches!(
        result,
        Err(FetchError::TooManyRedirects { limit: 0, .. })
    ));
}

/// URLs that must be refused, with the code; `p` is the allowed server's port, `p2` the trap's.
fn forbidden(p: u16, p2: u16) -> Vec<(String, &'static str)> {
    vec![
        (format!("http://127.0.0.2:{p2}/"), "fetch_refused"),
        (format!("http://[::1]:{p}/"), "fetch_refused"),
        (format!("http://0.0.0.0:{p}/"), "fetch_refused"),
        (format!("http://2130706434:{p2}/"), "fetch_refused"),
        (format!("http://0x7f.0.0.2:{p2}/"), "fetch_refused"),
        (format!("http://127.2:{p2}/"), "fetch_refused"),
        (format!("http://[::ffff:127.0.0.2]:{p2}/"), "fetch_refused"),
        (
            "http://169.254.169.254/latest/meta-data/".to_owned(),
            "fetch_refused",
        ),
        ("http://10.0.0.1/".to_owned(), "fetch_refused"),
        ("https://[fd00::1]/".to_owned(), "fetch_refused"),
        ("file:///etc/passwd".to_owned(), "invalid_url"),
        (format!("ftp://127.0.0.1:{p}/file"), "invalid_url"),
        (format!("http://user:pw@127.0.0.1:{p}/"), "invalid_url"),
    ]
}

#[tokio::test]
async fn forbidden_urls_are_refused_directly_without_connecting() {
    let (trap, p2) = trap().await;
    let server = serve(|_, _| ok("text/plain", b"should not be asked")).await;
    let fetcher = fetcher();
    for (url, code) in forbidden(server.port, p2) {
        let checked = fetcher.check_url(&url).unwrap_err();
        assert_eq!(checked.code(), code, "{url}: {checked}");
        assert!(!checked.retryable(), "{url}");
        let (result, out) = fetch(&fetcher, &url).await;
        let e = result.unwrap_err();
        assert_eq!(e.code(), code, "{url}: {e}");
        assert!(out.is_empty());
    }
    assert!(untouched(&trap), "nothing may connect to 127.0.0.2");
    assert_eq!(server.accepted(), 0);
}

#[tokio::test]
async fn forbidden_redirect_targets_are_refused_without_connecting() {
    let (trap, p2) = trap().await;
    let server = serve(move |path, port| {
        let i: usize = path.trim_start_matches("/go/").parse().unwrap();
        redirect("302 Found", &forbidden(port, p2)[i].0)
    })
    .await;
    let cases = forbidden(server.port, p2);
    for (i, (target, code)) in cases.iter().enumerate() {
        let (result, out) = fetch(&fetcher(), &server.url(&format!("/go/{i}"))).await;
        let e = result.unwrap_err();
        assert_eq!(e.code(), *code, "redirect to {target}: {e}");
        assert!(out.is_empty());
    }
    assert!(untouched(&trap), "nothing may connect to 127.0.0.2");
    assert_eq!(
        server.requests().len(),
        cases.len(),
        "one request per case, no other"
    );
}

#[tokio::test]
async fn a_scheme_relative_redirect_to_a_refused_host_is_refused() {
    let (trap, p2) = trap().await;
    let server =
        serve(move |_, _| redirect("301 Moved Permanently", &format!("//127.0.0.2:{p2}/x"))).await;
    let (result, _) = fetch(&fetcher(), &server.url("/")).await;
    let e = result.unwrap_err();
    assert_eq!(refused_address(&e), "127.0.0.2".parse::<IpAddr>().unwrap());
    assert!(untouched(&trap));
}

#[tokio::test]
async fn a_redirect_without_a_usable_location_fails() {
    let server = serve(|path, _| match path {
        "/none" => status("302 Found"),
        "/empty" => redirect("302 Found", ""),
        _ => redirect("307 Temporary Redirect", "http://[oops/"),
    })
    .await;
    for (path, words) in [
        ("/none", "no Location header"),
        ("/empty", "an empty Location"),
        ("/bad", "not a valid URL"),
    ] {
        let (result, _) = fetch(&fetcher(), &server.url(path)).await;
        let e = result.unwrap_err();
        assert!(matches!(e, FetchError::BadRedirect { .. }), "{path}: {e:?}");
        assert_eq!(e.code(), "fetch_failed");
        assert!(!e.retryable());
        assert!(e.to_string().contains(words), "{path}: {e}");
    }
}

// ---------------------------------------------------------------------------------------------------------
// Policy and names

#[tokio::test]
async fn an_empty_policy_refuses_loopback_too() {
    let server = serve(|_, _| ok("text/plain", b"nope")).await;
    let fetcher = Fetcher::new(AddressPolicy::default(), limits());
    for url in [
        server.url("/"),
        format!("http://2130706433:{}/", server.port),
        format!("http://[::ffff:127.0.0.1]:{}/", server.port),
        format!("http://localhost:{}/", server.port),
    ] {
        if !url.contains("localhost") {
            let e = fetcher.check_url(&url).unwrap_err();
            assert_eq!(e.code(), "fetch_refused", "{url}");
        }
        let (result, _) = fetch(&fetcher, &url).await;
        let e = result.unwrap_err();
        assert!(
            matches!(
                e,
                FetchError::Refused {
                    refusal: Refusal::Loopback,
                    ..
                }
            ),
            "{url}: {e:?}"
        );
    }
    assert_eq!(server.accepted(), 0);
}

#[tokio::test]
async fn localhost_is_refused_unless_every_address_it_has_is_allowed() {
    let server = serve(|_, _| ok("text/plain", b"local")).await;
    let url = format!("http://localhost:{}/", server.port);
    // check_url does not resolve names.
    assert!(fetcher().check_url(&url).is_ok());
    let addresses: Vec<IpAddr> = tokio::net::lookup_host(("localhost", server.port))
        .await
        .unwrap()
        .map(|a| a.ip())
        .collect();
    let (result, _) = fetch(&fetcher(), &url).await;
    if addresses.iter().any(|ip| policy().check(*ip).is_err()) {
        // Usually ::1 besides 127.0.0.1: the whole name is refused.
        assert_eq!(result.unwrap_err().code(), "fetch_refused");
        assert_eq!(server.accepted(), 0);
    } else {
        // This machine's localhost is 127.0.0.1 only (the mixed case is tested with a stand-in resolver).
        assert_eq!(result.unwrap().bytes, 5);
    }
}

#[tokio::test]
async fn a_name_with_any_refused_address_is_refused_as_a_whole() {
    let (trap, p2) = trap().await;
    let server = serve(|_, _| ok("text/plain", b"nope")).await;
    for (addrs, refused) in [
        (
            vec![addr("127.0.0.1:80"), addr("127.0.0.2:80")],
            "127.0.0.2",
        ),
        (vec![addr("127.0.0.1:80"), addr("[::1]:80")], "::1"),
        (vec![addr("10.1.2.3:80"), addr("127.0.0.1:80")], "10.1.2.3"),
    ] {
        let (fetcher, calls) = resolving_to(addrs);
        let url = format!("http://media.example:{}/", server.port);
        let (result, _) = fetch(&fetcher, &url).await;
        let e = result.unwrap_err();
        assert_eq!(refused_address(&e), refused.parse::<IpAddr>().unwrap());
        assert!(e.to_string().contains("media.example"), "{e}");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let (result, _) = fetch(&fetcher, &format!("http://media.example:{p2}/")).await;
        assert_eq!(result.unwrap_err().code(), "fetch_refused");
    }
    assert!(untouched(&trap));
    assert_eq!(server.accepted(), 0);
}

#[tokio::test]
async fn a_name_connects_to_exactly_the_checked_addresses() {
    let server = serve(|_, _| ok("text/plain", b"pinned")).await;
    // The stand-in answers port 1 and a mapped address: the URL's port is used, the address canonical.
    let (fetcher, calls) = resolving_to(vec![addr("[::ffff:127.0.0.1]:1"), addr("127.0.0.1:1")]);
    let url = format!("http://Media.Example:{}/a.gif", server.port);
    let (result, out) = fetch(&fetcher, &url).await;
    let fetched = result.unwrap();
    assert_eq!(out, b"pinned");
    assert_eq!(fetched.final_url.host_str(), Some("media.example"));
    assert_eq!(calls.load(Ordering::SeqCst), 1, "one lookup per hop, by us");
    let request = server.requests()[0].to_ascii_lowercase();
    assert!(
        request.contains(&format!("host: media.example:{}\r\n", server.port)),
        "{request}"
    );
}

#[tokio::test]
async fn every_hop_is_resolved_and_checked_again() {
    // DNS rebinding: the first answer is allowed, the next one is not.
    let (trap, p2) = trap().await;
    // The second hop names the trap's port: were it connected to 127.0.0.2, the trap would see it.
    let server = serve(move |path, _| match path {
        "/first" => redirect("302 Found", &format!("http://media.example:{p2}/second")),
        _ => ok("text/plain", b"second hop must not be reached"),
    })
    .await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let lookup: Lookup = Arc::new(move |_name, port| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        let ip = if n == 0 { "127.0.0.1" } else { "127.0.0.2" };
        let found = vec![SocketAddr::new(ip.parse().unwrap(), port)];
        Box::pin(async move { Ok(found) })
    });
    let fetcher = Fetcher::with_lookup(policy(), limits(), lookup);
    let (result, out) = fetch(
        &fetcher,
        &format!("http://media.example:{}/first", server.port),
    )
    .await;
    let e = result.unwrap_err();
    assert_eq!(refused_address(&e), "127.0.0.2".parse::<IpAddr>().unwrap());
    assert!(out.is_empty());
    assert_eq!(calls.load(Ordering::SeqCst), 2, "one lookup per hop");
    assert_eq!(server.requests().len(), 1);
    assert!(untouched(&trap));
}

#[tokio::test]
async fn a_failed_or_empty_resolution_is_a_retryable_failure() {
    let lookup: Lookup =
        Arc::new(|_name, _port| Box::pin(async { Err(io::Error::other("no such host is known")) }));
    let fetcher = Fetcher::with_lookup(policy(), limits(), lookup);
    let (result, _) = fetch(&fetcher, "https://nowhere.example/a.png").await;
    let e = result.unwrap_err();
    assert!(matches!(e, FetchError::Resolve { .. }), "{e:?}");
    assert_eq!(e.code(), "fetch_failed");
    assert!(e.retryable());
    assert!(e.to_string().contains("nowhere.example"), "{e}");

    let (fetcher, _) = resolving_to(vec![]);
    let (result, _) = fetch(&fetcher, "https://empty.example/").await;
    assert!(matches!(result, Err(FetchError::Resolve { .. })));
}

#[tokio::test]
async fn a_resolution_that_hangs_times_out() {
    let lookup: Lookup = Arc::new(|_name, _port| {
        Box::pin(async {
            sleep(Duration::from_secs(60)).await;
            Ok(vec![])
        })
    });
    let limits = FetchLimits {
        connect_timeout: Duration::from_millis(200),
        ..limits()
    };
    let fetcher = Fetcher::with_lookup(policy(), limits, lookup);
    let (result, _) = fetch(&fetcher, "http://slow-dns.example/").await;
    let e = result.unwrap_err();
    assert!(
        matches!(
            e,
            FetchError::Timeout {
                stage: TimeoutStage::Resolve,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.code(), "fetch_timeout");
    assert!(e.retryable());
}

#[test]
fn check_url_refuses_what_is_not_an_http_url_with_a_host() {
    let fetcher = fetcher();
    for url in [
        "",
        "not a url",
        "/relative/path",
        "http://",
        "http://exa mple.com/",
    ] {
        let e = fetcher.check_url(url).unwrap_err();
        assert_eq!(e.code(), "invalid_url", "{url:?}: {e}");
    }
    for url in [
        "mailto:a@example.com",
        "data:text/plain,hi",
        "gopher://example.com/",
        "javascript:alert(1)",
    ] {
        let e = fetcher.check_url(url).unwrap_err();
        assert!(
            matches!(e, FetchError::UnsupportedScheme { .. }),
            "{url}: {e:?}"
        );
    }
    assert!(fetcher.check_url("HTTPS://Example.COM/a.png?x=1").is_ok());
    assert!(fetcher.check_url("http://127.0.0.1:8080/").is_ok());
}

#[test]
fn credentials_are_refused_and_never_echoed() {
    let fetcher = fetcher();
    for url in [
        "http://user:hunter2@example.com/a.png",
        "http://user@example.com/a.png",
        "https://:hunter2@example.com/",
    ] {
        let e = fetcher.check_url(url).unwrap_err();
        assert!(matches!(e, FetchError::Credentials { .. }), "{url}: {e:?}");
        assert_eq!(e.code(), "invalid_url");
        let message = e.to_string();
        assert!(
            !message.contains("hunter2") && !message.contains("user@"),
            "{message}"
        );
        assert!(message.contains("example.com"), "{message}");
    }
}

// ---------------------------------------------------------------------------------------------------------
// Byte cap

fn capped(max_bytes: u64) -> Fetcher {
    Fetcher::new(
        policy(),
        FetchLimits {
            max_bytes,
            ..limits()
        },
    )
}

#[tokio::test]
async fn a_content_length_over_the_cap_is_refused_before_reading() {
    let server = serve(|_, _| {
        let mut bytes = head("200 OK", &[("Content-Length", "5000000")]);
        bytes.extend(std::iter::repeat_n(b'x', 2000));
        vec![Step::Send(bytes), Step::Hang]
    })
    .await;
    let (result, out) = fetch(&capped(1000), &server.url("/big")).await;
    let e = result.unwrap_err();
    assert!(
        matches!(
            e,
            FetchError::TooLarge {
                limit: 1000,
                content_length: Some(5_000_000),
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.code(), "media_too_large");
    assert!(!e.retryable());
    assert!(e.to_string().contains("1000 bytes"), "{e}");
    assert!(out.is_empty(), "nothing written");
}

#[tokio::test]
async fn a_chunked_body_over_the_cap_is_cut_off() {
    let server = serve(|_, _| {
        let mut steps = vec![Step::Send(head(
            "200 OK",
            &[("Transfer-Encoding", "chunked")],
        ))];
        for _ in 0..10 {
            steps.push(Step::Send(chunk(&[b'y'; 300])));
        }
        steps.push(Step::Send(LAST_CHUNK.to_vec()));
        steps
    })
    .await;
    let (result, out) = fetch(&capped(1000), &server.url("/chunked")).await;
    let e = result.unwrap_err();
    assert!(
        matches!(
            e,
            FetchError::TooLarge {
                limit: 1000,
                content_length: None,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(out.len() <= 1000, "the writer got {} bytes", out.len());
}

#[tokio::test]
async fn a_body_of_exactly_the_cap_is_accepted() {
    let server = serve(|_, _| {
        let mut steps = vec![Step::Send(head(
            "200 OK",
            &[("Transfer-Encoding", "chunked")],
        ))];
        for _ in 0..4 {
            steps.push(Step::Send(chunk(&[b'z'; 250])));
        }
        steps.push(Step::Send(LAST_CHUNK.to_vec()));
        steps
    })
    .await;
    let (result, out) = fetch(&capped(1000), &server.url("/")).await;
    assert_eq!(result.unwrap().bytes, 1000);
    assert_eq!(out.len(), 1000);
}

#[tokio::test]
async fn a_body_without_length_over_the_cap_is_cut_off() {
    let server = serve(|_, _| {
        let mut bytes = head("200 OK", &[]);
        bytes.extend(std::iter::repeat_n(b'w', 5000));
        vec![Step::Send(bytes)]
    })
    .await;
    let (result, out) = fetch(&capped(1000), &server.url("/")).await;
    assert!(matches!(
        result,
        Err(FetchError::TooLarge {
            content_length: None,
            ..
        })
    ));
    assert!(out.len() <= 1000);
}

#[tokio::test]
async fn a_lying_content_length_is_not_trusted() {
    let server = serve(|path, _| {
        let (length, sent) = match path {
            "/short" => ("5", 20),
            _ => ("100", 10),
        };
        let mut bytes = head("200 OK", &[("Content-Length", length)]);
        bytes.extend(std::iter::repeat_n(b'v', sent));
        vec![Step::Send(bytes)]
    })
    .await;
    // Announces 5, sends 20: only the 5 announced bytes are read.
    let (result, out) = fetch(&fetcher(), &server.url("/short")).await;
    assert_eq!(result.unwrap().bytes, 5);
    assert_eq!(out.len(), 5);
    // Announces 100, sends 10 and closes: the body is incomplete.
    let (result, _) = fetch(&fetcher(), &server.url("/long")).await;
    let e = result.unwrap_err();
    assert!(matches!(e, FetchError::Interrupted { .. }), "{e:?}");
    assert_eq!(e.code(), "fetch_failed");
    assert!(e.retryable());
}

// ---------------------------------------------------------------------------------------------------------
// Timeouts

fn quick() -> FetchLimits {
    FetchLimits {
        connect_timeout: Duration::from_millis(200),
        idle_timeout: Duration::from_millis(300),
        total_timeout: Duration::from_millis(2000),
        ..limits()
    }
}

#[tokio::test]
async fn a_stalled_body_is_cut_off_by_the_idle_timeout() {
    let server = serve(|_, _| {
        let mut bytes = head("200 OK", &[("Content-Length", "100")]);
        bytes.extend_from_slice(b"0123456789");
        vec![Step::Send(bytes), Step::Hang]
    })
    .await;
    let started = Instant::now();
    let (result, out) = fetch(&Fetcher::new(policy(), quick()), &server.url("/stall")).await;
    let e = result.unwrap_err();
    assert!(matches!(e, FetchError::SlowSender { .. }), "{e:?}");
    assert_eq!(e.code(), "fetch_timeout");
    assert!(e.retryable());
    assert!(e.to_string().contains("300 ms"), "{e}");
    assert_eq!(out, b"0123456789", "what came before the stall was written");
    assert!(started.elapsed() < Duration::from_millis(900));
}

#[tokio::test]
async fn a_server_that_never_answers_is_cut_off() {
    let server = serve(|_, _| vec![Step::Hang]).await;
    let started = Instant::now();
    let (result, _) = fetch(&Fetcher::new(policy(), quick()), &server.url("/silent")).await;
    let e = result.unwrap_err();
    assert!(matches!(e, FetchError::SlowSender { .. }), "{e:?}");
    // Connect + idle: 500 ms.
    assert!(started.elapsed() < Duration::from_millis(900));
}

#[tokio::test]
async fn a_trickle_within_the_idle_timeout_is_fine() {
    let server = serve(|_, _| {
        let mut steps = vec![Step::Send(head(
            "200 OK",
            &[("Transfer-Encoding", "chunked")],
        ))];
        for _ in 0..3 {
            steps.push(Step::Wait(Duration::from_millis(100)));
            steps.push(Step::Send(chunk(b"drip")));
        }
        steps.push(Step::Send(LAST_CHUNK.to_vec()));
        steps
    })
    .await;
    let (result, out) = fetch(&Fetcher::new(policy(), quick()), &server.url("/")).await;
    assert_eq!(result.unwrap().bytes, 12);
    assert_eq!(out, b"dripdripdrip");
}

#[tokio::test]
async fn the_total_timeout_bounds_a_trickle() {
    let server = serve(|_, _| {
        let mut steps = vec![Step::Send(head(
            "200 OK",
            &[("Transfer-Encoding", "chunked")],
        ))];
        for _ in 0..100 {
            steps.push(Step::Send(chunk(b".")));
            steps.push(Step::Wait(Duration::from_millis(100)));
        }
        steps
    })
    .await;
    let limits = FetchLimits {
        total_timeout: Duration::from_millis(500),
        ..quick()
    };
    let started = Instant::now();
    let (result, out) = fetch(&Fetcher::new(policy(), limits), &server.url("/")).await;
    let e = result.unwrap_err();
    assert!(
        matches!(
            e,
            FetchError::Timeout {
                stage: TimeoutStage::Total,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.code(), "fetch_timeout");
    assert!(e.retryable());
    assert!(e.to_string().contains("500 ms"), "{e}");
    assert!(!out.is_empty() && out.len() < 100);
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(500) && elapsed < Duration::from_millis(900));
}

#[tokio::test]
async fn the_total_timeout_spans_the_redirect_chain() {
    // Each hop answers after 150 ms, well within the idle timeout; the chain as a whole does not fit in 400 ms.
    let server = serve(|path, port| {
        let mut steps = vec![Step::Wait(Duration::from_millis(150))];
        steps.extend(chain(path, port));
        steps
    })
    .await;
    let limits = FetchLimits {
        total_timeout: Duration::from_millis(400),
        ..quick()
    };
    let (result, _) = fetch(&Fetcher::new(policy(), limits), &server.url("/r/5")).await;
    assert!(matches!(
        result,
        Err(FetchError::Timeout {
            stage: TimeoutStage::Total,
            ..
        })
    ));
}

// ---------------------------------------------------------------------------------------------------------
// Statuses, connections, writers

#[tokio::test]
async fn error_statuses_fail_retryable_or_not() {
    let server = serve(|path, _| match path {
        "/404" => status("404 Not Found"),
        "/403" => status("403 Forbidden"),
        "/408" => status("408 Request Timeout"),
        "/429" => status("429 Too Many Requests"),
        "/500" => status("500 Internal Server Error"),
        "/503" => status("503 Service Unavailable"),
        _ => status("304 Not Modified"),
    })
    .await;
    for (path, code, retryable) in [
        ("/404", 404, false),
        ("/403", 403, false),
        ("/408", 408, true),
        ("/429", 429, true),
        ("/500", 500, true),
        ("/503", 503, true),
        ("/304", 304, false),
    ] {
        let (result, out) = fetch(&fetcher(), &server.url(path)).await;
        let e = result.unwrap_err();
        assert!(
            matches!(e, FetchError::HttpStatus { status, .. } if status == code),
            "{e:?}"
        );
        assert_eq!(e.code(), "fetch_failed");
        assert_eq!(e.retryable(), retryable, "{path}");
        assert!(e.to_string().contains(&code.to_string()), "{e}");
        assert!(out.is_empty());
    }
    let (result, _) = fetch(&fetcher(), &server.url("/404")).await;
    assert_eq!(
        result.unwrap_err().to_string(),
        format!("`{}` answered HTTP 404 Not Found.", server.url("/404"))
    );
}

#[tokio::test]
async fn a_closed_port_is_a_retryable_connect_failure() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let (result, _) = fetch(&fetcher(), &format!("http://127.0.0.1:{port}/")).await;
    let e = result.unwrap_err();
    assert!(matches!(e, FetchError::Connect { .. }), "{e:?}");
    assert_eq!(e.code(), "fetch_failed");
    assert!(e.retryable());
    assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
}

struct BrokenDisk;

impl AsyncWrite for BrokenDisk {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, _: &[u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(Err(io::Error::other("disk full")))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn a_failing_writer_is_our_retryable_error() {
    let server = serve(|_, _| ok("image/jpeg", b"jpeg bytes")).await;
    let e = fetcher()
        .fetch_to(&server.url("/"), &mut BrokenDisk)
        .await
        .unwrap_err();
    assert!(matches!(e, FetchError::Write(_)), "{e:?}");
    assert_eq!(e.code(), "internal_error");
    assert!(e.retryable());
    assert!(e.to_string().contains("disk full"), "{e}");
}

// ---------------------------------------------------------------------------------------------------------
// The types

#[test]
fn the_defaults_are_the_documented_limits() {
    let d = FetchLimits::default();
    assert_eq!(d.max_bytes, 1 << 30);
    assert_eq!(d.connect_timeout, Duration::from_secs(10));
    assert_eq!(d.total_timeout, Duration::from_secs(600));
    assert_eq!(d.idle_timeout, Duration::from_secs(30));
    assert_eq!(d.max_redirects, 5);
}

#[test]
fn the_error_stays_small() {
    assert!(
        std::mem::size_of::<FetchError>() <= 64,
        "{}",
        std::mem::size_of::<FetchError>()
    );
}

#[test]
fn messages_name_the_url_and_the_limit_but_not_the_query() {
    let fetcher = fetcher();
    let e = fetcher
        .check_url("http://127.0.0.2:8080/a.png?token=secret#frag")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Refusing to fetch from `127.0.0.2`: its address 127.0.0.2 is a loopback address, which \
         server-side fetches may not reach (an operator can allow a network with SOKU_FETCH_ALLOW_PRIVATE)."
    );
    let e = fetcher
        .check_url("ftp://example.com/a?token=secret")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "`ftp://example.com/a?…` uses the `ftp` scheme; only http and https URLs can be fetched."
    );
    let e = fetcher
        .check_url("http://user:pw@exa mple.com/?token=secret")
        .unwrap_err();
    assert!(
        !e.to_string().contains("secret") && !e.to_string().contains("pw@"),
        "{e}"
    );
    let e = FetchError::TooLarge {
        url: "https://example.com/v.mp4".into(),
        limit: 1 << 30,
        content_length: Some(3 << 30),
    };
    assert_eq!(
        e.to_string(),
        "`https://example.com/v.mp4` is 3 GiB (its Content-Length), larger than the 1 GiB limit."
    );
    let e = FetchError::Timeout {
        url: "https://example.com/v.mp4".into(),
        stage: TimeoutStage::Total,
        limit: Duration::from_secs(600),
    };
    assert_eq!(
        e.to_string(),
        "Fetching `https://example.com/v.mp4` took longer than 600 s, the limit for a whole fetch."
    );
}

#[test]
fn raw_hosts_are_read_as_written() {
    assert_eq!(raw_host("http://0x7f.1:80/x"), Some("0x7f.1"));
    assert_eq!(raw_host("//u:p@[::1]:8/x"), Some("[::1]"));
    assert_eq!(raw_host("https://Example.com?x"), Some("Example.com"));
    assert_eq!(raw_host("/a//b"), None);
    assert_eq!(raw_host("next"), None);
}
