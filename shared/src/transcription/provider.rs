//! The client of an OpenAI-compatible speech-to-text endpoint, `POST {base}/audio/transcriptions`.
//!
//! One client covers OpenAI (`https://api.openai.com/v1`), Groq (`https://api.groq.com/openai/v1`) and the
//! self-hosted Whisper servers that copy that API (`http://127.0.0.1:5056/v1`): the base URL is the part up to
//! and including `/v1`. A request uploads one WAV chunk ([`super::audio::wav`]) as `multipart/form-data`, asks
//! for `verbose_json` (the text, the language, and timed segments with Whisper's confidence figures) at
//! temperature 0, and reads the answer leniently: servers differ in which fields they fill in.
//!
//! The body is built here by hand (the workspace's `reqwest` has no `multipart` feature, and a form of a few
//! text fields and one file needs none): a random boundary, CRLF line ends.
//!
//! # Failures
//!
//! A provider that is busy or down is waited for: HTTP 429, 408 and 5xx, a connection that fails, and a
//! request that times out are retried with exponential backoff and jitter ([`Backoff`]), or after the time
//! the provider asked for in `Retry-After` (seconds or an HTTP date, capped), up to the maximum number of
//! attempts; then [`ProviderError::Unavailable`]. A provider that refuses the audio or the request (any other
//! 4xx, a redirect) is not asked again: [`ProviderError::Rejected`] carries its own message, which usually says
//! what to fix (a wrong model name, a bad key, a file it cannot read). So does an answer that is not a
//! transcription.
//!
//! The API key is sent as `Authorization: Bearer …` and is never logged, shown in `Debug`, or put in an error.
//! The HTTP client takes no proxy from the environment: the operator configures the provider's address, and a
//! proxy variable meant for something else should not carry audio and a key elsewhere.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use rand::Rng;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, LOCATION};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

use super::audio::{BYTES_PER_SECOND, WAV_HEADER_LEN};

/// The `User-Agent` of transcription requests.
pub const USER_AGENT: &str = concat!("Soku/", env!("CARGO_PKG_VERSION"), " (transcription)");

/// The largest file OpenAI's transcription endpoint takes: 25 MB. Give it to
/// [`super::split::max_seconds_for_bytes`] for the longest chunk.
pub const OPENAI_MAX_BYTES: u64 = 25 * 1024 * 1024;

/// The largest answer read: a transcript of a 14-minute chunk, with Whisper's tokens, is well under 1 MB.
const MAX_ANSWER_BYTES: usize = 32 << 20;

/// The most characters of a provider's message kept in an error.
const MAX_MESSAGE_CHARS: usize = 500;

/// Why a chunk could not be transcribed. `code()` is the stable machine code; `Display` is a sentence for the
/// person running Soku.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    /// The provider's settings cannot work (a base URL that is not one, a key that cannot be put in a header);
    /// no request was sent.
    #[error("the transcription provider is not set up correctly: {0}")]
    Misconfigured(String),
    /// Every attempt failed with a failure worth retrying (busy, down, unreachable, too slow): try later.
    #[error("the transcription provider is unavailable: {0}; try again later")]
    Unavailable(String),
    /// The provider refused the request, or answered with something that is not a transcription; asking again
    /// would get the same answer. `message` is the provider's own explanation when it gave one.
    #[error("the transcription provider answered HTTP {status}: {message}")]
    Rejected { status: u16, message: String },
}

impl ProviderError {
    /// The stable machine code: `transcription_misconfigured`, `transcription_unavailable`,
    /// `transcription_rejected`.
    pub const fn code(&self) -> &'static str {
        match self {
            ProviderError::Misconfigured(_) => "transcription_misconfigured",
            ProviderError::Unavailable(_) => "transcription_unavailable",
            ProviderError::Rejected { .. } => "transcription_rejected",
        }
    }
}

/// How long to wait between attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first failure, before jitter; each further failure doubles it.
    pub base: Duration,
    /// The longest wait, before jitter.
    pub cap: Duration,
    /// The longest wait a provider's `Retry-After` is honoured for; a longer one is cut to this.
    pub retry_after_cap: Duration,
}

impl Backoff {
    /// 500 ms doubling up to 30 s; `Retry-After` honoured up to 60 s.
    pub const DEFAULT: Backoff = Backoff {
        base: Duration::from_millis(500),
        cap: Duration::from_secs(30),
        retry_after_cap: Duration::from_secs(60),
    };

    /// The wait after the `failures`-th failure (1 for the first): `base * 2^(failures-1)`, capped at `cap`,
    /// then a random part of it taken off (up to half), so that many workers that failed together do not all
    /// come back at the same moment.
    pub fn delay(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(30);
        let full = self.base.saturating_mul(1u32 << doublings).min(self.cap);
        let half = full / 2;
        let jitter =
            rand::rng().random_range(0..=half.as_micros().min(u128::from(u64::MAX)) as u64);
        full - Duration::from_micros(jitter).min(half)
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::DEFAULT
    }
}

/// What the provider heard in one chunk, on the chunk's clock (0 is the chunk's start).
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkTranscript {
    /// The language the provider detected or was told (`en`, `english`, … as it spells it).
    pub language: Option<String>,
    /// The chunk's duration as the provider measured it.
    pub duration: Option<f64>,
    /// The chunk's whole text, as the provider gave it.
    pub text: String,
    /// The timed pieces, in the provider's order. An answer without segments is one segment of its text
    /// spanning the chunk.
    pub segments: Vec<RawSegment>,
}

/// One segment as the provider gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct RawSegment {
    /// Seconds from the chunk's start.
    pub start: f64,
    /// Seconds from the chunk's start.
    pub end: f64,
    /// The text, untrimmed (Whisper starts most segments with a space).
    pub text: String,
    /// Whisper's probability that the segment is not speech at all.
    pub no_speech_prob: Option<f64>,
    /// Whisper's average log probability of the segment's tokens (near 0: confident).
    pub avg_logprob: Option<f64>,
}

/// A client of one provider. Cheap to share and to clone: `transcribe` takes `&self`, and clones share one
/// connection pool.
#[derive(Clone)]
pub struct Provider {
    /// `{base}/audio/transcriptions`.
    endpoint: String,
    /// The `Authorization` header, marked sensitive.
    auth: Option<HeaderValue>,
    client: reqwest::Client,
    timeout: Duration,
    max_attempts: u32,
    backoff: Backoff,
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provider")
            .field("endpoint", &self.endpoint)
            .field("api_key", &self.auth.as_ref().map(|_| "[set]"))
            .field("timeout", &self.timeout)
            .field("max_attempts", &self.max_attempts)
            .field("backoff", &self.backoff)
            .finish()
    }
}

impl Provider {
    /// A client of the provider at `base_url` (up to and including `/v1`; a trailing `/` is fine), sending
    /// `api_key`, when there is one, as a bearer token. Each attempt may take `timeout` (connecting, uploading
    /// and reading the answer); a chunk is tried at most `max_attempts` times (at least once). Waits between
    /// attempts are [`Backoff::DEFAULT`]; see [`Provider::with_backoff`].
    ///
    /// An empty key is no key (a self-hosted server usually wants none).
    pub fn new(
        base_url: String,
        api_key: Option<SecretString>,
        timeout: Duration,
        max_attempts: u32,
    ) -> Result<Provider, ProviderError> {
        let endpoint = endpoint(&base_url)?;
        let auth = match api_key {
            Some(key) if !key.expose_secret().trim().is_empty() => {
                let mut value =
                    HeaderValue::from_str(&format!("Bearer {}", key.expose_secret().trim()))
                        .map_err(|_| {
                            ProviderError::Misconfigured(
                                "the API key has characters that cannot be sent in an HTTP header \
                                 (a line break, or a non-ASCII character): copy it again"
                                    .to_string(),
                            )
                        })?;
                value.set_sensitive(true);
                Some(value)
            }
            _ => None,
        };
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(30)))
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| {
                ProviderError::Misconfigured(format!(
                    "the HTTP client could not be set up ({})",
                    innermost(&e)
                ))
            })?;
        Ok(Provider {
            endpoint,
            auth,
            client,
            timeout,
            max_attempts: max_attempts.max(1),
            backoff: Backoff::DEFAULT,
        })
    }

    /// The same client waiting `backoff` between attempts.
    pub fn with_backoff(mut self, backoff: Backoff) -> Provider {
        self.backoff = backoff;
        self
    }

    /// The URL requests go to: `{base}/audio/transcriptions`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Transcribes one chunk: `wav` is a file made by [`super::audio::wav`], `model` the provider's model name
    /// (`whisper-1`, `whisper-large-v3`, `Systran/faster-whisper-small`, …), `language` an ISO-639-1 code to
    /// skip detection, `prompt` text that came before (the previous chunk's end, names, spellings), which
    /// Whisper takes as context.
    pub async fn transcribe(
        &self,
        wav: Vec<u8>,
        model: &str,
        language: Option<&str>,
        prompt: Option<&str>,
    ) -> Result<ChunkTranscript, ProviderError> {
        let chunk_len =
            (wav.len() as u64).saturating_sub(WAV_HEADER_LEN) as f64 / BYTES_PER_SECOND as f64;
        let mut fields: Vec<(&str, &str)> = vec![
            ("model", model),
            // The PyPI `faster-whisper-server` 0.0.3 reads the model from `model_name`, not `model`. Servers
            // that follow OpenAI's API ignore form fields they do not know, so sending both costs nothing.
            ("model_name", model),
        ];
        if let Some(language) = language {
            fields.push(("language", language));
        }
        if let Some(prompt) = prompt {
            fields.push(("prompt", prompt));
        }
        fields.extend([
            ("response_format", "verbose_json"),
            ("timestamp_granularities[]", "segment"),
            ("temperature", "0"),
        ]);
        let boundary = boundary();
        let body = Bytes::from(form_body(&boundary, &fields, &wav));
        drop(wav);
        let content_type = format!("multipart/form-data; boundary={boundary}");

        let mut failures = 0u32;
        loop {
            let (reason, asked) = match self.attempt(body.clone(), &content_type, chunk_len).await {
                Attempt::Done(transcript) => return Ok(transcript),
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry { reason, after } => (reason, after),
            };
            failures += 1;
            if failures >= self.max_attempts {
                let tries = if failures == 1 {
                    "1 attempt".to_string()
                } else {
                    format!("{failures} attempts")
                };
                return Err(ProviderError::Unavailable(format!(
                    "{tries} failed, the last with {reason}"
                )));
            }
            let wait = match asked {
                Some(asked) => asked.min(self.backoff.retry_after_cap),
                None => self.backoff.delay(failures),
            };
            tracing::warn!(
                endpoint = %self.endpoint,
                attempt = failures,
                max_attempts = self.max_attempts,
                wait_ms = wait.as_millis() as u64,
                %reason,
                "transcription request failed; retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// One request, and what to do about its outcome.
    async fn attempt(&self, body: Bytes, content_type: &str, chunk_len: f64) -> Attempt {
        let mut request = self
            .client
            .post(&self.endpoint)
            .header(CONTENT_TYPE, content_type)
            .header(ACCEPT, "application/json")
            .body(body);
        if let Some(auth) = &self.auth {
            request = request.header(AUTHORIZATION, auth.clone());
        }
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                return Attempt::Retry {
                    reason: self.describe(&e),
                    after: None,
                };
            }
        };
        let status = response.status();
        let asked = retry_after(response.headers(), chrono::Utc::now());
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned);
        let mut answer: Vec<u8> = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(piece)) => {
                    if answer.len() + piece.len() > MAX_ANSWER_BYTES {
                        return Attempt::Fail(ProviderError::Rejected {
                            status: status.as_u16(),
                            message: format!(
                                "its answer is larger than {} MB, which no transcript is",
                                MAX_ANSWER_BYTES >> 20
                            ),
                        });
                    }
                    answer.extend_from_slice(&piece);
                }
                Ok(None) => break,
                Err(e) => {
                    return Attempt::Retry {
                        reason: format!("HTTP {}, then {}", status.as_u16(), self.describe(&e)),
                        after: None,
                    };
                }
            }
        }
        if status.is_success() {
            return match parse_transcript(&answer, chunk_len) {
                Ok(transcript) => Attempt::Done(transcript),
                Err(message) => Attempt::Fail(ProviderError::Rejected {
                    status: status.as_u16(),
                    message,
                }),
            };
        }
        if retried(status) {
            return Attempt::Retry {
                reason: format!("HTTP {}: {}", status.as_u16(), provider_message(&answer)),
                after: asked,
            };
        }
        let message = if status.is_redirection() {
            match location {
                Some(to) => format!(
                    "it redirects to {}: is the base URL right? It is the part of the address up to and \
                     including /v1",
                    truncate(&to, 200)
                ),
                None => "it redirects, without saying where".to_string(),
            }
        } else {
            provider_message(&answer)
        };
        Attempt::Fail(ProviderError::Rejected {
            status: status.as_u16(),
            message,
        })
    }

    /// A failed request as a phrase, without the URL's query or any header.
    fn describe(&self, e: &reqwest::Error) -> String {
        if e.is_timeout() {
            format!(
                "no complete answer within {} s",
                trim_float(self.timeout.as_secs_f64())
            )
        } else if e.is_connect() {
            format!("no connection to {} ({})", self.endpoint, innermost(e))
        } else {
            format!("a failed request ({})", innermost(e))
        }
    }
}

/// What one attempt came to.
enum Attempt {
    Done(ChunkTranscript),
    Fail(ProviderError),
    Retry {
        reason: String,
        after: Option<Duration>,
    },
}

/// Whether an answer with `status` is worth asking again: too many requests, a request timeout, a server error.
fn retried(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
}

/// `{base}/audio/transcriptions`, after checking `base` is an http(s) URL without credentials, query or
/// fragment.
fn endpoint(base: &str) -> Result<String, ProviderError> {
    let base = base.trim();
    let bad = |why: String| ProviderError::Misconfigured(format!("the base URL {why}"));
    let url = Url::parse(base).map_err(|e| {
        bad(format!(
            "`{}` is not a URL ({e}); it looks like https://api.openai.com/v1",
            truncate(base, 200)
        ))
    })?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(bad(format!(
            "must start with http:// or https://, not {}:",
            url.scheme()
        )));
    }
    if url.host().is_none() {
        return Err(bad("has no host".to_string()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "must not carry a user name or password: give the API key as the key".to_string(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad(
            "must not have a query (?…) or a fragment (#…): it ends in /v1".to_string(),
        ));
    }
    Ok(format!(
        "{}/audio/transcriptions",
        url.as_str().trim_end_matches('/')
    ))
}

/// A multipart boundary: 128 random bits in hex. A WAV chunk could contain any byte sequence, but one that
/// happens to match `--` and these 32 random characters will not come up.
fn boundary() -> String {
    format!("soku-{:032x}", rand::rng().random::<u128>())
}

/// A `multipart/form-data` body: each text field, then `file` (named `audio.wav`, `audio/wav`) holding `wav`.
fn form_body(boundary: &str, fields: &[(&str, &str)], wav: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(wav.len() + 1024);
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"audio.wav\"\r\n\
             Content-Type: audio/wav\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(wav);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

/// The wait a provider asked for: `retry-after-ms` (which OpenAI sends, in milliseconds), else `Retry-After` as
/// seconds or as an HTTP date (a date in the past is no wait). `None` when there is neither, or it is not
/// readable.
fn retry_after(headers: &HeaderMap, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = text("retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64((ms / 1000.0).min(86_400.0)));
    }
    let value = text("retry-after")?;
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0)
            .then(|| Duration::from_secs_f64(seconds.min(86_400.0)));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - now;
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// The provider's explanation in an error answer: OpenAI's `{"error": {"message": …}}`, FastAPI's
/// `{"detail": …}` (a string, or a list of validation errors), a top-level `message`, or else the text of the
/// answer; at most [`MAX_MESSAGE_CHARS`] characters.
fn provider_message(answer: &[u8]) -> String {
    let from_json = serde_json::from_slice::<Value>(answer)
        .ok()
        .and_then(|v| json_message(&v));
    let message = from_json.unwrap_or_else(|| {
        String::from_utf8_lossy(answer)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    });
    if message.is_empty() {
        "it gave no reason".to_string()
    } else {
        truncate(&message, MAX_MESSAGE_CHARS)
    }
}

fn json_message(v: &Value) -> Option<String> {
    let nonempty = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    if let Some(error) = v.get("error") {
        if let Some(m) = error.get("message").and_then(Value::as_str) {
            return nonempty(m);
        }
        if let Some(m) = error.as_str() {
            return nonempty(m);
        }
    }
    match v.get("detail") {
        Some(Value::String(m)) => return nonempty(m),
        Some(Value::Array(items)) => {
            let parts: Vec<String> = items
                .iter()
                .filter_map(|item| {
                    let msg = item.get("msg").and_then(Value::as_str)?;
                    let at: Vec<String> = item
                        .get("loc")
                        .and_then(Value::as_array)
                        .map(|loc| {
                            loc.iter()
                                .map(|p| match p {
                                    Value::String(s) => s.clone(),
                                    other => other.to_string(),
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    Some(if at.is_empty() {
                        msg.to_string()
                    } else {
                        format!("{msg} ({})", at.join("."))
                    })
                })
                .collect();
            if !parts.is_empty() {
                return Some(parts.join("; "));
            }
        }
        _ => {}
    }
    v.get("message").and_then(Value::as_str).and_then(nonempty)
}

/// Reads a `verbose_json` answer (see the module doc) leniently; `Err` is a phrase saying what is wrong with it.
fn parse_transcript(answer: &[u8], chunk_len: f64) -> Result<ChunkTranscript, String> {
    const NOT: &str = "its answer is not a transcription";
    let value: Value = serde_json::from_slice(answer).map_err(|_| {
        let shown = String::from_utf8_lossy(answer);
        let shown = shown.split_whitespace().collect::<Vec<_>>().join(" ");
        if shown.is_empty() {
            format!("{NOT}: it is empty")
        } else {
            format!(
                "{NOT}: it is not JSON (it begins `{}`)",
                truncate(&shown, 100)
            )
        }
    })?;
    let Some(object) = value.as_object() else {
        return Err(format!("{NOT}: it is JSON, but not an object"));
    };
    let text = object.get("text").and_then(Value::as_str);
    let segments = object.get("segments").and_then(Value::as_array);
    if text.is_none() && segments.is_none() {
        return Err(format!(
            "{NOT}: it has neither `text` nor `segments` (is the base URL an OpenAI-compatible speech-to-text \
             API?)"
        ));
    }
    let language = object
        .get("language")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned);
    let duration = number(object.get("duration")).filter(|d| *d >= 0.0);
    let segments: Vec<RawSegment> = match segments {
        Some(items) => {
            let mut out = Vec::with_capacity(items.len());
            let mut last_end = 0.0;
            for item in items.iter().filter(|i| i.is_object()) {
                let start = number(item.get("start")).unwrap_or(last_end);
                let end = number(item.get("end")).unwrap_or(start);
                last_end = end;
                out.push(RawSegment {
                    start,
                    end,
                    text: item
                        .get("text")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    no_speech_prob: number(item.get("no_speech_prob")),
                    avg_logprob: number(item.get("avg_logprob")),
                });
            }
            out
        }
        None => {
            let text = text.unwrap_or_default();
            if text.trim().is_empty() {
                Vec::new()
            } else {
                vec![RawSegment {
                    start: 0.0,
                    end: chunk_len,
                    text: text.to_string(),
                    no_speech_prob: None,
                    avg_logprob: None,
                }]
            }
        }
    };
    let text = match text {
        Some(text) => text.to_string(),
        None => segments
            .iter()
            .map(|s| s.text.trim())
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
    };
    Ok(ChunkTranscript {
        language,
        duration,
        text,
        segments,
    })
}

/// A finite number, from a JSON number or a string holding one.
fn number(v: Option<&Value>) -> Option<f64> {
    let n = match v? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    n.is_finite().then_some(n)
}

/// At most `max` characters of `s`, with `…` when cut.
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        s.chars().take(max.saturating_sub(1)).collect::<String>() + "…"
    }
}

/// `30`, `0.3`: seconds without trailing zeros.
fn trim_float(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The innermost cause of an error (reqwest's own message is "error sending request", its source says why).
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut current = e;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

#[cfg(test)]
mod tests;
