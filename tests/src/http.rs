//! Requests and responses that read like the API docs: `api.post("/v1/posts").key(k).json(&body).send()`, then
//! `resp.expect(202)` or `resp.error(400, "validation_error")`, which also checks the error shape of docs/api.md ("Errors").

use std::time::Duration;

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::fixtures::assert_time_ms;
use crate::process::ApiProc;

/// A request being built.
pub struct Req<'a> {
    api: &'a ApiProc,
    method: Method,
    path: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Option<Vec<u8>>,
    timeout: Option<Duration>,
}

impl<'a> Req<'a> {
    pub(crate) fn new(api: &'a ApiProc, method: Method, path: &str) -> Self {
        Req {
            api,
            method,
            path: path.into(),
            headers: Vec::new(),
            body: None,
            timeout: None,
        }
    }

    /// `soku-api-key: key`.
    pub fn key(self, key: &str) -> Self {
        self.header("soku-api-key", key)
    }

    /// `Authorization: Bearer key`.
    pub fn bearer(self, key: &str) -> Self {
        self.header("authorization", &format!("Bearer {key}"))
    }

    pub fn idempotency_key(self, key: &str) -> Self {
        self.header("idempotency-key", key)
    }

    pub fn header(self, name: &str, value: &str) -> Self {
        self.header_bytes(name, value.as_bytes())
    }

    pub fn header_bytes(mut self, name: &str, value: &[u8]) -> Self {
        self.headers.push((name.into(), value.to_vec()));
        self
    }

    /// A JSON body with `Content-Type: application/json`.
    pub fn json(self, body: &Value) -> Self {
        self.json_text(body.to_string())
    }

    /// Text sent as it is, as `Content-Type: application/json` (malformed or unusual JSON on purpose).
    pub fn json_text(self, body: impl Into<Vec<u8>>) -> Self {
        self.header("content-type", "application/json").body(body)
    }

    /// A body as given, with no content type unless one is set with [`Req::header`].
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sends the request; a transport error fails the test (with the server's last log lines).
    pub async fn send(self) -> Resp {
        let what = format!("{} {}", self.method, self.path);
        let log = self.api.log_path.clone();
        match self.try_send().await {
            Ok(resp) => resp,
            Err(e) => {
                let tail = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: Vec<&str> = tail
                    .lines()
                    .rev()
                    .take(30)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                panic!(
                    "{what}: no HTTP response ({e:?})\n--- server log tail ---\n{}",
                    tail.join("\n")
                )
            }
        }
    }

    /// Sends the request; transport errors are returned.
    pub async fn try_send(self) -> Result<Resp, reqwest::Error> {
        let what = format!("{} {}", self.method, self.path);
        let mut req = self
            .api
            .client
            .request(self.method, self.api.url(&self.path));
        for (name, value) in &self.headers {
            let value =
                reqwest::header::HeaderValue::from_bytes(value).expect("a valid header value");
            req = req.header(name.as_str(), value);
        }
        if let Some(body) = self.body {
            req = req.body(body);
        }
        if let Some(timeout) = self.timeout {
            req = req.timeout(timeout);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Resp {
            what,
            status,
            headers,
            text,
            json,
            bytes: bytes.to_vec(),
        })
    }
}

/// A complete response.
#[derive(Debug, Clone)]
pub struct Resp {
    /// `METHOD path`, for assertion messages.
    pub what: String,
    pub status: u16,
    pub headers: HeaderMap,
    /// The raw body.
    pub text: String,
    /// The body parsed as JSON (`Null` when it is not JSON).
    pub json: Value,
    /// The body's bytes, as received.
    pub bytes: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A header parsed as an integer; panics when missing or not a number.
    pub fn header_int(&self, name: &str) -> i64 {
        let value = self
            .header(name)
            .unwrap_or_else(|| panic!("{}: no {name} header ({:?})", self.what, self.headers));
        value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{}: {name}: {value:?} is not an integer", self.what))
    }

    /// Panics unless the status is `status`; returns the JSON body.
    pub fn expect(&self, status: u16) -> &Value {
        assert_eq!(
            self.status, status,
            "{}: expected {status}, got {}: {}",
            self.what, self.status, self.text
        );
        &self.json
    }

    /// Panics unless this is an error response with `status` and `code` in the shape of docs/api.md ("Errors"), whose
    /// `requestId` is the `X-Request-ID` header; returns the `error` object.
    pub fn error(&self, status: u16, code: &str) -> &Value {
        let error = self.error_shape();
        assert_eq!(
            (self.status, error["code"].as_str()),
            (status, Some(code)),
            "{}: expected {status} {code}, got {}: {}",
            self.what,
            self.status,
            self.text
        );
        error
    }

    /// Panics unless the body is `{"error": {"code", "message", "timestamp", "requestId", "details"?}}` with
    /// `requestId` equal to the `X-Request-ID` header; returns the `error` object.
    pub fn error_shape(&self) -> &Value {
        let error = &self.json["error"];
        assert!(
            error.is_object(),
            "{}: {} is not an error body: {:?}",
            self.what,
            self.status,
            self.text
        );
        for field in ["code", "message", "timestamp", "requestId"] {
            assert!(
                error[field].is_string(),
                "{}: error.{field} missing or not a string: {}",
                self.what,
                self.text
            );
        }
        assert!(
            !error["message"].as_str().unwrap_or("").is_empty(),
            "{}: empty error message",
            self.what
        );
        assert_time_ms(&error["timestamp"]);
        assert_eq!(
            error["requestId"].as_str(),
            self.header("x-request-id"),
            "{}: error.requestId must equal the X-Request-ID header",
            self.what
        );
        if let Some(details) = error.get("details") {
            assert!(
                details.is_object() || details.is_null(),
                "{}: error.details is not an object",
                self.what
            );
        }
        error
    }

    /// The error message, lower-cased (for "mentions …" checks).
    pub fn message(&self) -> String {
        self.json["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase()
    }

    /// `details.fields` of a `validation_error`: each entry has a `field` and a `message`.
    pub fn failing_fields(&self) -> Vec<Value> {
        let fields = self.json["error"]["details"]["fields"]
            .as_array()
            .unwrap_or_else(|| {
                panic!(
                    "{}: no error.details.fields array: {}",
                    self.what, self.text
                )
            })
            .clone();
        assert!(
            !fields.is_empty(),
            "{}: error.details.fields is empty",
            self.what
        );
        for f in &fields {
            assert!(
                f["field"].is_string() && f["message"].is_string(),
                "{}: each details.fields entry needs a field and a message, got {f}",
                self.what
            );
        }
        fields
    }
}
