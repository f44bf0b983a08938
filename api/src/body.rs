//! Request bodies: `Content-Type: application/json` (UTF-8), a size limit, a time limit, and JSON that parses
//! with every key once per object. Each failure has its own code; the raw bytes are kept for idempotency
//! fingerprints.

use std::fmt;

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::{StatusCode, header},
};
use futures::StreamExt;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use soku_shared::validate::excerpt;

use crate::{error::ApiError, serve::BodyTimeout, state::AppState};

pub struct JsonBody {
    pub bytes: Bytes,
    pub value: Value,
}

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<JsonBody, ApiError> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        check_content_type(content_type.as_deref())?;
        let limit = state.settings.max_body_bytes;
        let too_large = || {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("The request body is larger than the limit of {limit} bytes."),
            )
        };
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let body = req.into_body();
        if declared.is_some_and(|n| n > limit as u64) {
            drain_stream(body.into_data_stream()).await;
            return Err(too_large());
        }
        let mut stream = body.into_data_stream();
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| match e.into_inner().downcast::<BodyTimeout>() {
                Ok(timeout) => ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "request_timeout",
                    format!(
                        "The request body did not arrive within {} seconds (SOKU_BODY_READ_TIMEOUT_SECS); \
                         the connection is closed.",
                        timeout.secs
                    ),
                ),
                Err(_) => ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_json",
                    "The request body could not be read to its end.",
                ),
            })?;
            if bytes.len() + chunk.len() > limit {
                drain_stream(stream).await;
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        let bytes = Bytes::from(bytes);
        let value = parse(&bytes).map_err(|reason| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("The request body is not valid JSON: {reason}."),
            )
        })?;
        Ok(JsonBody { bytes, value })
    }
}

/// `application/json`, with no `charset` or `charset=utf-8` (any case, quoted or not): JSON is UTF-8, and a
/// body declared in another charset would be read differently by us and by whoever declared it.
fn check_content_type(content_type: Option<&str>) -> Result<(), ApiError> {
    let refuse = |message: String| {
        Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_content_type",
            message,
        ))
    };
    let Some(content_type) = content_type else {
        return refuse(
            "Request bodies must be JSON with `Content-Type: application/json` (got none).".into(),
        );
    };
    let mut parts = content_type.split(';');
    let mime = parts.next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("application/json") {
        return refuse(format!(
            "Request bodies must be JSON with `Content-Type: application/json` (got `{}`).",
            excerpt(content_type)
        ));
    }
    let mut charsets = parts.filter_map(|p| {
        let (name, value) = p.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"'))
    });
    match (charsets.next(), charsets.next()) {
        (None, _) => Ok(()),
        (Some(c), None) if c.eq_ignore_ascii_case("utf-8") => Ok(()),
        (Some(_), Some(_)) => refuse(
            "The Content-Type names a charset twice; send `application/json` or `application/json; charset=utf-8`."
                .into(),
        ),
        (Some(c), None) => refuse(format!(
            "Request bodies must be UTF-8 JSON; the Content-Type says charset `{}`. Send \
             `application/json` or `application/json; charset=utf-8`.",
            excerpt(c)
        )),
    }
}

/// Parses a JSON document, refusing a key that appears twice in one object (at any depth), in one pass.
/// The error text names the key by its path (`post.content.text`, `post.content.platform[0].platform`).
pub fn parse(bytes: &[u8]) -> Result<Value, String> {
    if bytes.is_empty() {
        return Err("the body is empty".into());
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Checked { at: &Path::Root }
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| e.to_string())?;
    Ok(value)
}

/// Where a value sits in the document, as a chain to its parent (built on the stack, read only on error).
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Key(Path::Root, key) => f.write_str(&excerpt(key)),
            Path::Key(parent, key) => write!(f, "{parent}.{}", excerpt(key)),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

/// Deserializes one JSON value as `serde_json::Value` does, but refuses duplicate keys.
struct Checked<'a> {
    at: &'a Path<'a>,
}

impl<'de> DeserializeSeed<'de> for Checked<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Checked<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        loop {
            let at = Path::Index(self.at, items.len());
            match seq.next_element_seed(Checked { at: &at })? {
                Some(item) => items.push(item),
                None => break,
            }
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let at = Path::Key(self.at, &key);
            if object.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "the key `{at}` appears twice; each key may appear once per object"
                )));
            }
            let value = map.next_value_seed(Checked { at: &at })?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// Reads and discards what is left of an oversized body (up to a bound, for a bounded time), so the client
/// receives the 413 instead of a connection closed under its upload.
async fn drain_stream(mut stream: axum::body::BodyDataStream) {
    const MAX_DRAIN: usize = 64 * 1024 * 1024;
    let discard = async {
        let mut seen = 0usize;
        while let Some(Ok(chunk)) = stream.next().await {
            seen += chunk.len();
            if seen > MAX_DRAIN {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), discard).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_refused_at_any_depth_naming_the_path() {
        let cases = [
            (r#"{"post": 1, "post": 2}"#, "`post`"),
            (
                r#"{"post": {"content": {"text": "a", "text": "b"}}}"#,
                "`post.content.text`",
            ),
            (
                r#"{"post": {"content": {"platform": ["x", {"platform": "x", "platform": "y"}]}}}"#,
                "`post.content.platform[1].platform`",
            ),
            (r#"[{"a": 1}, {"a": 1, "a": 1}]"#, "`[1].a`"),
        ];
        for (text, path) in cases {
            let err = parse(text.as_bytes()).unwrap_err();
            assert!(err.contains(path) && err.contains("twice"), "{text}: {err}");
        }
        let long = format!(r#"{{"{k}": 1, "{k}": 2}}"#, k = "k".repeat(100_000));
        assert!(parse(long.as_bytes()).unwrap_err().len() < 300);
    }

    #[test]
    fn documents_parse_as_serde_json_parses_them() {
        for text in [
            r#"{"a": [1, -2, 3.5, 1e300, 18446744073709551615, true, null, "s\u00e9"], "b": {"a": {}}}"#,
            "[]",
            "\"x\"",
            "  0  ",
        ] {
            let ours = parse(text.as_bytes()).unwrap();
            let theirs: Value = serde_json::from_str(text).unwrap();
            assert_eq!(ours, theirs, "{text}");
        }
        for bad in ["", "{", r#"{"a":1}{"b":2}"#, "[1,]", "\"\\ud800\""] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse(deep.as_bytes()).is_err());
    }

    #[test]
    fn only_utf8_json_is_accepted() {
        for ok in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            "application/json;charset=UTF-8",
            "application/json; charset=\"utf-8\"",
        ] {
            assert!(check_content_type(Some(ok)).is_ok(), "{ok}");
        }
        for bad in [
            "application/json; charset=latin1",
            "application/json; charset=utf-16",
            "application/json; charset=utf-8; charset=latin1",
            "text/plain",
        ] {
            assert!(check_content_type(Some(bad)).is_err(), "{bad}");
        }
        let e = check_content_type(Some("application/json; charset=latin1")).unwrap_err();
        assert!(e.message.contains("`latin1`"), "{}", e.message);
        assert!(check_content_type(None).is_err());
    }
}
