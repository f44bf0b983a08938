//! Answers to request heads refused before routing: recognising hyper's own bare 400/414/431, saying from the
//! bytes of the head what was wrong with it (mirroring the rules hyper's parser applies), and writing the answer
//! as a whole HTTP/1.1 response in the API's error shape.

use axum::http::StatusCode;
use soku_shared::{
    ids::{IdPrefix, new_id},
    validate::excerpt,
};

use super::{MAX_HEAD_BYTES, MAX_HEADERS};
use crate::error::ApiError;
use crate::request_id::REQUEST_ID;

/// The status of hyper's own answer to a head it could not parse (`HTTP/1.1 400|414|431`, no `x-request-id`:
/// every answer of the app has one), if `buf` is that answer.
pub(super) fn bare_parse_error(buf: &[u8]) -> Option<StatusCode> {
    let rest = buf
        .strip_prefix(b"HTTP/1.1 ")
        .or_else(|| buf.strip_prefix(b"HTTP/1.0 "))?;
    let status = match rest.get(..3)? {
        b"400" => StatusCode::BAD_REQUEST,
        b"414" => StatusCode::URI_TOO_LONG,
        b"431" => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        _ => return None,
    };
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = buf[..end].to_ascii_lowercase();
    let has_id = head.windows(13).any(|w| w == b"x-request-id:");
    (!has_id).then_some(status)
}

/// A whole HTTP/1.1 response in the error shape, with a new request id, that closes the connection.
pub(super) fn rejection(status: StatusCode, code: &'static str, message: String) -> Vec<u8> {
    let id = new_id(IdPrefix::Request);
    let error = ApiError::new(status, code, message);
    let body = REQUEST_ID.sync_scope(id.clone(), || {
        serde_json::to_vec(&error.body()).unwrap_or_default()
    });
    tracing::info!(request_id = %id, status = status.as_u16(), code, "request refused before routing");
    let date = chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S GMT");
    let mut out = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nx-request-id: {id}\r\n\
         connection: close\r\ndate: {date}\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

/// Status, code and message for a head hyper refused with `status`, from the bytes of it we saw.
pub(super) fn diagnose(status: StatusCode, head: &[u8]) -> (StatusCode, &'static str, String) {
    let end = head
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(head.len(), |i| i + 2);
    let lines: Vec<&[u8]> = head[..end]
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty())
        .collect();
    let shown = |bytes: &[u8]| excerpt(&String::from_utf8_lossy(bytes));
    match status {
        StatusCode::URI_TOO_LONG => (
            status,
            "uri_too_long",
            "The request target (path and query) is too long.".into(),
        ),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
            let message = if lines.len() > MAX_HEADERS + 1 {
                format!(
                    "The request has more than {MAX_HEADERS} header fields; at most {MAX_HEADERS} are read."
                )
            } else {
                let largest = lines
                    .iter()
                    .skip(1)
                    .max_by_key(|l| l.len())
                    .and_then(|l| l.split(|b| *b == b':').next())
                    .map(|name| format!(" (the largest header is `{}`)", shown(name)))
                    .unwrap_or_default();
                format!(
                    "The request's head (request line and headers) is larger than {MAX_HEAD_BYTES} bytes{largest}."
                )
            };
            (status, "headers_too_large", message)
        }
        _ => match lines.split_first() {
            Some((request_line, headers)) if request_line_ok(request_line) => {
                let (code, message) = header_problem(headers).unwrap_or((
                    "invalid_request",
                    "The request's head is not valid HTTP/1.1.".into(),
                ));
                (StatusCode::BAD_REQUEST, code, message)
            }
            Some((request_line, _)) => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!(
                    "The request line must read `METHOD /path HTTP/1.1`; got `{}`.",
                    shown(request_line)
                ),
            ),
            None => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "The request's head is not valid HTTP/1.1.".into(),
            ),
        },
    }
}

fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn request_line_ok(line: &[u8]) -> bool {
    let parts: Vec<&[u8]> = line.split(|b| *b == b' ').collect();
    matches!(parts.as_slice(), [method, target, version]
        if !method.is_empty() && method.iter().all(|b| is_token(*b))
            && !target.is_empty() && target.iter().all(|b| *b > 0x20 && *b != 0x7f)
            && (*version == b"HTTP/1.1" || *version == b"HTTP/1.0"))
}

/// The first header line hyper would refuse, and why (the rules of RFC 9110 §5 that hyper's parser applies).
fn header_problem(lines: &[&[u8]]) -> Option<(&'static str, String)> {
    lines
        .iter()
        .find_map(|line| line_problem(line))
        .or_else(|| framing_problem(lines))
        .map(|message| ("invalid_header", message))
}

/// What is wrong with one header line: folding, no colon, a bad name, a control character, a bad length.
fn line_problem(line: &[u8]) -> Option<String> {
    let shown = |bytes: &[u8]| excerpt(&String::from_utf8_lossy(bytes));
    if line.starts_with(b" ") || line.starts_with(b"\t") {
        return Some(
            "A header line starts with a space or tab (obsolete line folding is not accepted)."
                .into(),
        );
    }
    let Some(colon) = line.iter().position(|b| *b == b':') else {
        return Some(format!("The header line `{}` has no colon.", shown(line)));
    };
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    if name.is_empty() || !name.iter().all(|b| is_token(*b)) {
        return Some(format!(
            "The header name `{}` holds a character header names may not have (letters, digits and \
                 !#$%&'*+-.^_`|~ only, no spaces).",
            shown(name)
        ));
    }
    if let Some(bad) = value
        .iter()
        .find(|b| !(**b == b'\t' || (0x20..0x7f).contains(*b) || **b >= 0x80))
    {
        return Some(format!(
            "The value of header `{}` contains the control character 0x{bad:02x}; header values may \
                 hold visible characters, spaces and tabs only.",
            shown(name)
        ));
    }
    let value = value.trim_ascii();
    if name.eq_ignore_ascii_case(b"content-length") && !value.iter().all(u8::is_ascii_digit) {
        return Some(format!(
            "Content-Length must be a whole number of bytes; got `{}`.",
            shown(value)
        ));
    }
    None
}

/// Content-Length headers that disagree, or a Transfer-Encoding that does not end with `chunked`.
fn framing_problem(lines: &[&[u8]]) -> Option<String> {
    let lengths: Vec<&[u8]> = lines
        .iter()
        .filter_map(|l| split_colon(l))
        .filter(|(n, _)| n.eq_ignore_ascii_case(b"content-length"))
        .map(|(_, v)| v.trim_ascii())
        .collect();
    if lengths.windows(2).any(|w| w[0] != w[1]) {
        return Some("The request has several Content-Length headers that disagree.".into());
    }
    let chunked_last = lines
        .iter()
        .filter_map(|l| split_colon(l))
        .rfind(|(n, _)| n.eq_ignore_ascii_case(b"transfer-encoding"))
        .map(|(_, v)| {
            v.rsplit(|b| *b == b',')
                .next()
                .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"))
        });
    if chunked_last == Some(false) {
        return Some("Transfer-Encoding must end with `chunked`.".into());
    }
    None
}

fn split_colon(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let i = line.iter().position(|b| *b == b':')?;
    Some((&line[..i], &line[i + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(head: &[u8], status: StatusCode) -> (u16, &'static str, String) {
        let (s, code, message) = diagnose(status, head);
        (s.as_u16(), code, message)
    }

    #[test]
    fn bare_hyper_answers_are_recognised_and_ours_are_not() {
        let hyper = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        assert_eq!(bare_parse_error(hyper), Some(StatusCode::BAD_REQUEST));
        let big = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(
            bare_parse_error(big),
            Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nx-request-id: req_1\r\n\r\n{}";
        assert_eq!(bare_parse_error(ours), None);
        assert_eq!(bare_parse_error(b"HTTP/1.1 200 OK\r\n\r\n"), None);
        assert_eq!(bare_parse_error(b"{\"error\":1}"), None);
    }

    #[test]
    fn a_control_character_in_a_header_value_is_named() {
        let (status, code, message) = diag(
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Trace: a\x01b\r\n\r\n",
            StatusCode::BAD_REQUEST,
        );
        assert_eq!((status, code), (400, "invalid_header"));
        assert!(
            message.contains("`X-Trace`") && message.contains("0x01"),
            "{message}"
        );
        let (_, code, message) = diag(
            b"GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n",
            StatusCode::BAD_REQUEST,
        );
        assert_eq!(code, "invalid_header");
        assert!(message.contains("`Bad Name`"), "{message}");
        let (_, code, message) = diag(b"GET /a b HTTP/1.1\r\n", StatusCode::BAD_REQUEST);
        assert_eq!(code, "invalid_request");
        assert!(message.contains("request line"), "{message}");
        let (_, _, message) = diag(
            b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            StatusCode::BAD_REQUEST,
        );
        assert!(message.contains("disagree"), "{message}");
    }

    #[test]
    fn too_many_or_too_large_headers_are_told_apart() {
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..150 {
            many.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        let (status, code, message) = diag(&many, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        assert_eq!((status, code), (431, "headers_too_large"));
        assert!(message.contains("more than 100 header fields"), "{message}");
        let large = format!(
            "GET / HTTP/1.1\r\nHost: x\r\nIdempotency-Key: {}",
            "k".repeat(70_000)
        );
        let (_, _, message) = diag(
            large.as_bytes(),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        );
        assert!(
            message.contains("larger than 65536 bytes") && message.contains("`Idempotency-Key`"),
            "{message}"
        );
    }

    #[test]
    fn rejections_are_whole_responses_in_the_error_shape() {
        let bytes = rejection(StatusCode::BAD_REQUEST, "invalid_header", "nope".into());
        let text = String::from_utf8(bytes).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        let id = head
            .lines()
            .find_map(|l| l.strip_prefix("x-request-id: "))
            .unwrap();
        assert_eq!(json["error"]["requestId"], id);
        assert_eq!(json["error"]["code"], "invalid_header");
    }
}
