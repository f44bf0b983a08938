//! Tests of the provider client against a small HTTP/1.1 server on 127.0.0.1 written here with tokio: it
//! answers each connection with the next scripted reply and records what it was sent. Only loopback traffic.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;
use crate::transcription::audio::wav;

/// A scripted answer; `None` in a script holds the connection open without answering.
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

fn reply(status: u16, body: &str) -> Option<Reply> {
    Some(Reply {
        status,
        headers: vec![("Content-Type", "application/json".to_string())],
        body: body.to_string(),
    })
}

/// A request as the server saw it: the head (request line and headers) and the body.
#[derive(Debug, Clone)]
struct Seen {
    head: String,
    body: Vec<u8>,
    at: Instant,
}

impl Seen {
    /// The value of header `name` (any case).
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// Starts the server with `script`; returns the base URL (`http://127.0.0.1:PORT/v1`) and the log.
async fn serve(script: Vec<Option<Reply>>) -> (String, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    let log: Log = Arc::default();
    let seen = log.clone();
    tokio::spawn(async move {
        for step in script {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let Some((head, body)) = read_request(&mut socket).await else {
                continue;
            };
            seen.lock().unwrap().push(Seen {
                head,
                body,
                at: Instant::now(),
            });
            let Some(r) = step else {
                // Hold the connection, answering nothing, until the client gives up.
                tokio::spawn(async move {
                    let mut sink = [0u8; 1024];
                    while matches!(socket.read(&mut sink).await, Ok(n) if n > 0) {}
                });
                continue;
            };
            let mut out = format!(
                "HTTP/1.1 {} Scripted\r\nContent-Length: {}\r\nConnection: close\r\n",
                r.status,
                r.body.len()
            );
            for (name, value) in &r.headers {
                out.push_str(&format!("{name}: {value}\r\n"));
            }
            out.push_str("\r\n");
            out.push_str(&r.body);
            let _ = socket.write_all(out.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
    });
    (base, log)
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<(String, Vec<u8>)> {
    let mut data = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = socket.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = data[head_end + 4..].to_vec();
    while body.len() < length {
        let n = socket.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&buf[..n]);
    }
    Some((head, body))
}

/// The parts of a multipart body: (headers, content) of each, checking the framing on the way.
fn parts(content_type: &str, body: &[u8]) -> Vec<(String, Vec<u8>)> {
    let boundary = content_type
        .strip_prefix("multipart/form-data; boundary=")
        .expect("a multipart content type with a boundary");
    assert!(!boundary.is_empty() && boundary.len() <= 70, "{boundary}");
    let delimiter = format!("--{boundary}").into_bytes();
    let end = format!("\r\n--{boundary}--\r\n").into_bytes();
    assert!(
        body.starts_with(&delimiter),
        "the body starts with the boundary"
    );
    assert!(
        body.ends_with(&end),
        "the body ends with the closing boundary"
    );
    let mut out = Vec::new();
    let mut rest = &body[delimiter.len()..body.len() - end.len() + 2];
    // `rest` now is "\r\n<part>\r\n--boundary\r\n<part>...\r\n" up to the closing delimiter.
    let separator = [b"\r\n".as_slice(), &delimiter].concat();
    loop {
        assert!(rest.starts_with(b"\r\n"), "CRLF after a boundary");
        rest = &rest[2..];
        let next = rest
            .windows(separator.len())
            .position(|w| w == separator.as_slice());
        let (part, more) = match next {
            Some(i) => (&rest[..i], Some(&rest[i + separator.len()..])),
            None => (&rest[..rest.len() - 2], None),
        };
        let split = part
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a part's headers end with an empty line");
        out.push((
            String::from_utf8(part[..split].to_vec()).expect("headers are text"),
            part[split + 4..].to_vec(),
        ));
        match more {
            Some(more) => rest = more,
            None => return out,
        }
    }
}

fn field<'a>(parts: &'a [(String, Vec<u8>)], name: &str) -> Option<&'a [u8]> {
    let disposition = format!("Content-Disposition: form-data; name=\"{name}\"");
    parts
        .iter()
        .find(|(h, _)| {
            h.lines()
                .next()
                .is_some_and(|l| l.starts_with(&disposition))
        })
        .map(|(_, v)| v.as_slice())
}

const OK: &str = r#"{"task":"transcribe","language":"english","duration":2.5,"text":" Hello there. General Kenobi.",
  "segments":[
    {"id":0,"seek":0,"start":0.0,"end":1.2,"text":" Hello there.","tokens":[50364,2425],"temperature":0.0,
     "avg_logprob":-0.25,"compression_ratio":0.9,"no_speech_prob":0.01},
    {"id":1,"seek":0,"start":1.2,"end":2.5,"text":" General Kenobi.","tokens":[50424],"temperature":0.0,
     "avg_logprob":-0.3,"compression_ratio":0.9,"no_speech_prob":0.02}]}"#;

/// Fast waits for tests; `Retry-After` still honoured up to 60 s.
const FAST: Backoff = Backoff {
    base: Duration::from_millis(1),
    cap: Duration::from_millis(10),
    retry_after_cap: Duration::from_secs(60),
};

fn provider(base: &str, key: Option<&str>, attempts: u32) -> Provider {
    Provider::new(
        base.to_string(),
        key.map(|k| SecretString::from(k.to_string())),
        Duration::from_secs(10),
        attempts,
    )
    .expect("a valid provider")
    .with_backoff(FAST)
}

fn two_and_a_half_seconds() -> Vec<u8> {
    wav(&vec![7u8; 80_000])
}

#[tokio::test]
async fn the_request_is_a_multipart_form_with_every_field() {
    let (base, log) = serve(vec![reply(200, OK)]).await;
    let p = provider(&base, Some("sk-test-123"), 3);
    let audio = two_and_a_half_seconds();
    let t = p
        .transcribe(audio.clone(), "whisper-1", Some("en"), Some("Star Wars."))
        .await
        .expect("transcribed");
    assert_eq!(t.language.as_deref(), Some("english"));
    assert_eq!(t.duration, Some(2.5));
    assert_eq!(t.text, " Hello there. General Kenobi.");
    assert_eq!(
        t.segments,
        vec![
            RawSegment {
                start: 0.0,
                end: 1.2,
                text: " Hello there.".into(),
                no_speech_prob: Some(0.01),
                avg_logprob: Some(-0.25),
            },
            RawSegment {
                start: 1.2,
                end: 2.5,
                text: " General Kenobi.".into(),
                no_speech_prob: Some(0.02),
                avg_logprob: Some(-0.3),
            },
        ]
    );

    let seen = log.lock().unwrap()[0].clone();
    assert!(
        seen.head
            .starts_with("POST /v1/audio/transcriptions HTTP/1.1"),
        "{}",
        seen.head
    );
    assert_eq!(
        seen.header("authorization").as_deref(),
        Some("Bearer sk-test-123")
    );
    assert_eq!(
        seen.header("content-length"),
        Some(seen.body.len().to_string())
    );
    let content_type = seen.header("content-type").expect("a content type");
    let parts = parts(&content_type, &seen.body);
    let text = |name: &str| field(&parts, name).map(|v| String::from_utf8(v.to_vec()).unwrap());
    assert_eq!(text("model").as_deref(), Some("whisper-1"));
    assert_eq!(text("model_name").as_deref(), Some("whisper-1"));
    assert_eq!(text("language").as_deref(), Some("en"));
    assert_eq!(text("prompt").as_deref(), Some("Star Wars."));
    assert_eq!(text("response_format").as_deref(), Some("verbose_json"));
    assert_eq!(
        text("timestamp_granularities[]").as_deref(),
        Some("segment")
    );
    assert_eq!(text("temperature").as_deref(), Some("0"));
    let (file_headers, file) = parts
        .iter()
        .find(|(h, _)| h.contains("name=\"file\""))
        .expect("a file part");
    assert!(
        file_headers.contains("filename=\"audio.wav\""),
        "{file_headers}"
    );
    assert!(
        file_headers.contains("\r\nContent-Type: audio/wav"),
        "{file_headers}"
    );
    assert_eq!(file, &audio);
    assert_eq!(parts.len(), 8);
}

#[tokio::test]
async fn optional_fields_and_the_key_are_sent_only_when_given() {
    let (base, log) = serve(vec![reply(200, OK), reply(200, OK)]).await;
    provider(&base, None, 1)
        .transcribe(two_and_a_half_seconds(), "small", None, None)
        .await
        .expect("transcribed");
    provider(&format!("{base}/"), Some("  "), 1)
        .transcribe(two_and_a_half_seconds(), "small", None, None)
        .await
        .expect("transcribed");
    for seen in log.lock().unwrap().iter() {
        assert_eq!(seen.header("authorization"), None, "{}", seen.head);
        assert!(
            seen.head.starts_with("POST /v1/audio/transcriptions "),
            "{}",
            seen.head
        );
        let parts = parts(&seen.header("content-type").unwrap(), &seen.body);
        assert!(field(&parts, "language").is_none());
        assert!(field(&parts, "prompt").is_none());
        assert_eq!(field(&parts, "model"), Some(b"small".as_slice()));
    }
}

#[tokio::test]
async fn a_503_is_retried_then_succeeds() {
    let (base, log) = serve(vec![
        reply(503, r#"{"error":{"message":"The server is overloaded"}}"#),
        reply(502, "Bad Gateway"),
        reply(200, OK),
    ])
    .await;
    let t = provider(&base, Some("k"), 3)
        .transcribe(two_and_a_half_seconds(), "whisper-1", None, None)
        .await
        .expect("the third attempt succeeds");
    assert_eq!(t.segments.len(), 2);
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 3);
    assert_eq!(log[0].body, log[2].body, "the same body is sent again");
}

#[tokio::test]
async fn a_429_waits_the_time_it_asks_for() {
    let mut busy = reply(429, r#"{"error":{"message":"Rate limit reached"}}"#).unwrap();
    busy.headers.push(("Retry-After", "1".to_string()));
    let (base, log) = serve(vec![Some(busy), reply(200, OK)]).await;
    let started = Instant::now();
    provider(&base, None, 2)
        .transcribe(two_and_a_half_seconds(), "whisper-1", None, None)
        .await
        .expect("the second attempt succeeds");
    let log = log.lock().unwrap();
    let waited = log[1].at - log[0].at;
    assert!(waited >= Duration::from_millis(950), "waited {waited:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn failing_every_attempt_is_unavailable_with_the_last_reason() {
    let (base, log) = serve(vec![
        reply(500, "{}"),
        reply(503, r#"{"detail":"model is loading"}"#),
        reply(503, r#"{"detail":"model is loading"}"#),
    ])
    .await;
    let err = provider(&base, None, 3)
        .transcribe(two_and_a_half_seconds(), "whisper-1", None, None)
        .await
        .expect_err("unavailable");
    assert_eq!(
        err,
        ProviderError::Unavailable(
            "3 attempts failed, the last with HTTP 503: model is loading".into()
        )
    );
    assert_eq!(err.code(), "transcription_unavailable");
    assert_eq!(log.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn a_400_is_rejected_at_once_with_the_providers_message() {
    let (base, log) = serve(vec![
        reply(
            400,
            r#"{"error":{"message":"Invalid file format.","type":"invalid_request_error"}}"#,
        ),
        reply(200, OK),
    ])
    .await;
    let err = provider(&base, None, 5)
        .transcribe(two_and_a_half_seconds(), "whisper-1", None, None)
        .await
        .expect_err("rejected");
    assert_eq!(
        err,
        ProviderError::Rejected {
            status: 400,
            message: "Invalid file format.".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "the transcription provider answered HTTP 400: Invalid file format."
    );
    assert_eq!(log.lock().unwrap().len(), 1, "not asked again");
}

#[tokio::test]
async fn fastapi_and_plain_text_errors_are_read_too() {
    let long = "x".repeat(2000);
    let (base, _) = serve(vec![
        reply(
            422,
            r#"{"detail":[{"loc":["body","file"],"msg":"field required","type":"value_error.missing"}]}"#,
        ),
        reply(401, r#"{"detail":"Invalid API key"}"#),
        reply(404, &format!("<html>\n  Not   Found {long}</html>")),
        reply(403, ""),
    ])
    .await;
    let p = provider(&base, None, 1);
    let mut messages = Vec::new();
    for _ in 0..4 {
        match p
            .transcribe(two_and_a_half_seconds(), "m", None, None)
            .await
        {
            Err(ProviderError::Rejected { message, .. }) => messages.push(message),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(messages[0], "field required (body.file)");
    assert_eq!(messages[1], "Invalid API key");
    assert!(
        messages[2].starts_with("<html> Not Found xxx"),
        "{}",
        messages[2]
    );
    assert_eq!(messages[2].chars().count(), 500);
    assert!(messages[2].ends_with('…'));
    assert_eq!(messages[3], "it gave no reason");
}

#[tokio::test]
async fn a_200_that_is_not_a_transcript_is_rejected() {
    let (base, _) = serve(vec![
        reply(200, "<html>It works!</html>"),
        reply(200, r#"{"status":"ok"}"#),
        reply(200, "[1,2]"),
        reply(200, ""),
    ])
    .await;
    let p = provider(&base, None, 3);
    let mut messages = Vec::new();
    for _ in 0..4 {
        match p
            .transcribe(two_and_a_half_seconds(), "m", None, None)
            .await
        {
            Err(ProviderError::Rejected {
                status: 200,
                message,
            }) => messages.push(message),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        messages[0],
        "its answer is not a transcription: it is not JSON (it begins `<html>It works!</html>`)"
    );
    assert!(
        messages[1].contains("neither `text` nor `segments`"),
        "{}",
        messages[1]
    );
    assert!(messages[2].contains("not an object"), "{}", messages[2]);
    assert!(messages[3].contains("it is empty"), "{}", messages[3]);
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let mut moved = reply(308, "").unwrap();
    moved.headers.push((
        "Location",
        "https://example.com/v1/audio/transcriptions".into(),
    ));
    let (base, log) = serve(vec![Some(moved), reply(200, OK)]).await;
    let err = provider(&base, None, 3)
        .transcribe(two_and_a_half_seconds(), "m", None, None)
        .await
        .expect_err("rejected");
    let ProviderError::Rejected { status, message } = err else {
        panic!("{err:?}");
    };
    assert_eq!(status, 308);
    assert!(
        message.contains("redirects to https://example.com/v1"),
        "{message}"
    );
    assert_eq!(log.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn nobody_listening_is_retried_then_unavailable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    drop(listener);
    let err = provider(&base, None, 3)
        .transcribe(two_and_a_half_seconds(), "m", None, None)
        .await
        .expect_err("unavailable");
    let ProviderError::Unavailable(why) = err else {
        panic!("{err:?}");
    };
    assert!(
        why.starts_with("3 attempts failed, the last with no connection to"),
        "{why}"
    );
}

#[tokio::test]
async fn a_silent_provider_times_out_and_is_retried() {
    let (base, log) = serve(vec![None, None]).await;
    let p = Provider::new(base, None, Duration::from_millis(300), 2)
        .unwrap()
        .with_backoff(FAST);
    let started = Instant::now();
    let err = p
        .transcribe(two_and_a_half_seconds(), "m", None, None)
        .await
        .expect_err("unavailable");
    assert_eq!(
        err,
        ProviderError::Unavailable(
            "2 attempts failed, the last with no complete answer within 0.3 s".into()
        )
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(log.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn an_answer_without_segments_is_one_segment_spanning_the_chunk() {
    let (base, _) = serve(vec![
        reply(200, r#"{"text":"Just text."}"#),
        reply(200, r#"{"text":"  ","segments":null}"#),
        reply(
            200,
            r#"{"segments":[{"start":"0.5","text":" a"},{"end":2,"text":"b","no_speech_prob":"x"},"junk"],"duration":"2.5","language":""}"#,
        ),
    ])
    .await;
    let p = provider(&base, None, 1);
    let t = p
        .transcribe(two_and_a_half_seconds(), "m", None, None)
        .await
        .unwrap();
    assert_eq!(t.text, "Just text.");
    assert_eq!(t.language, None);
    assert_eq!(
        t.segments,
        vec![RawSegment {
            start: 0.0,
            end: 2.5,
            text: "Just text.".into(),
            no_speech_prob: None,
            avg_logprob: None
        }]
    );
    let t = p
        .transcribe(two_and_a_half_seconds(), "m", None, None)
        .await
        .unwrap();
    assert!(t.segments.is_empty());
    let t = p
        .transcribe(two_and_a_half_seconds(), "m", None, None)
        .await
        .unwrap();
    assert_eq!(t.text, "a b");
    assert_eq!(t.duration, Some(2.5));
    assert_eq!(t.language, None);
    assert_eq!(
        t.segments
            .iter()
            .map(|s| (s.start, s.end))
            .collect::<Vec<_>>(),
        vec![(0.5, 0.5), (0.5, 2.0)]
    );
}

// ---- settings ----

#[test]
fn bad_base_urls_and_keys_are_refused_before_any_request() {
    let new = |base: &str, key: Option<&str>| {
        Provider::new(
            base.to_string(),
            key.map(|k| SecretString::from(k.to_string())),
            Duration::from_secs(1),
            1,
        )
    };
    for (base, phrase) in [
        ("api.openai.com/v1", "is not a URL"),
        ("ftp://example.com/v1", "http:// or https://"),
        ("https://user:pw@example.com/v1", "user name or password"),
        ("https://example.com/v1?x=1", "must not have a query"),
    ] {
        let err = new(base, None).expect_err(base);
        assert_eq!(err.code(), "transcription_misconfigured");
        assert!(err.to_string().contains(phrase), "{base}: {err}");
        assert!(!err.to_string().contains("pw@"), "{err}");
    }
    let err = new("https://api.openai.com/v1", Some("sk-abc\ndef")).expect_err("newline");
    assert!(
        err.to_string().contains("cannot be sent in an HTTP header"),
        "{err}"
    );
    assert!(!err.to_string().contains("sk-abc"), "{err}");
    for (base, endpoint) in [
        (
            "https://api.openai.com/v1",
            "https://api.openai.com/v1/audio/transcriptions",
        ),
        (
            "https://api.groq.com/openai/v1/",
            "https://api.groq.com/openai/v1/audio/transcriptions",
        ),
        (
            " http://127.0.0.1:5056/v1 ",
            "http://127.0.0.1:5056/v1/audio/transcriptions",
        ),
    ] {
        assert_eq!(new(base, None).unwrap().endpoint(), endpoint);
    }
}

#[test]
fn the_key_is_never_in_debug() {
    let p = Provider::new(
        "https://api.openai.com/v1".into(),
        Some(SecretString::from("sk-very-secret".to_string())),
        Duration::from_secs(1),
        0,
    )
    .unwrap();
    let shown = format!("{p:?}");
    assert!(!shown.contains("sk-very-secret"), "{shown}");
    assert!(
        shown.contains("[set]") && shown.contains("max_attempts: 1"),
        "{shown}"
    );
}

#[test]
fn backoff_doubles_with_jitter_up_to_the_cap() {
    let b = Backoff::DEFAULT;
    for _ in 0..200 {
        let first = b.delay(1);
        assert!(
            first >= Duration::from_millis(250) && first <= Duration::from_millis(500),
            "{first:?}"
        );
        let third = b.delay(3);
        assert!(
            third >= Duration::from_secs(1) && third <= Duration::from_secs(2),
            "{third:?}"
        );
        let late = b.delay(40);
        assert!(
            late >= Duration::from_secs(15) && late <= Duration::from_secs(30),
            "{late:?}"
        );
    }
    assert_eq!(Backoff::default(), Backoff::DEFAULT);
}

#[test]
fn retry_after_is_seconds_milliseconds_or_a_date() {
    let now = chrono::DateTime::parse_from_rfc2822("Wed, 21 Oct 2015 07:28:00 GMT")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let headers = |pairs: &[(&'static str, &str)]| {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.insert(*n, HeaderValue::from_str(v).unwrap());
        }
        h
    };
    assert_eq!(
        retry_after(&headers(&[("retry-after", "7")]), now),
        Some(Duration::from_secs(7))
    );
    assert_eq!(
        retry_after(
            &headers(&[("retry-after", "7"), ("retry-after-ms", "1500")]),
            now
        ),
        Some(Duration::from_millis(1500))
    );
    assert_eq!(
        retry_after(
            &headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:42 GMT")]),
            now
        ),
        Some(Duration::from_secs(42))
    );
    assert_eq!(
        retry_after(
            &headers(&[("retry-after", "Wed, 21 Oct 2015 07:00:00 GMT")]),
            now
        ),
        Some(Duration::ZERO)
    );
    assert_eq!(retry_after(&headers(&[("retry-after", "soon")]), now), None);
    assert_eq!(retry_after(&headers(&[("retry-after", "-3")]), now), None);
    assert_eq!(retry_after(&headers(&[]), now), None);
}
