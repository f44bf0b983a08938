//! The public media files: `/media/{token}` (optionally with an extension, `/media/{token}.png`),
//! `/media/{token}/thumbnail.jpg` and, for a video that needed one, its platform-safe rendition
//! `/media/{token}/h264.mp4`. No API key: platforms (Instagram, Threads, TikTok) fetch media by URL, and
//! the token, 32 random base62 characters, is what makes the URL unguessable.
//!
//! Each answer has the file's real type (read from its bytes by the worker), `Content-Length`, a strong `ETag`
//! (a stored file never changes), `Accept-Ranges: bytes` and a year-long immutable cache. A single byte range
//! (`Range: bytes=a-b`, `a-`, `-n`) gets `206` with `Content-Range`; a range past the end gets `416`; several
//! ranges at once get the whole file (`200`), which RFC 9110 allows. `If-None-Match` with the ETag gets
//! `304`; `If-Range` with another validator gets the whole file. A file still processing, failed or deleted is
//! a `404`.

use std::ops::Range;

use axum::{
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures::StreamExt;
use soku_shared::{status::MediaStatus, store::media as store};

use crate::{
    error::{ApiError, ApiResult},
    state::AppState,
};

/// `GET /media/{file}`: the file itself.
pub async fn file(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let token = file.split_once('.').map_or(file.as_str(), |(t, _)| t);
    serve(&state, token, Which::File, &headers).await
}

/// `GET /media/{token}/h264.mp4`: the platform-safe rendition of a video that needed one.
pub async fn rendition(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    serve(&state, &token, Which::Rendition, &headers).await
}

/// `GET /media/{token}/thumbnail.jpg`: the thumbnail or poster frame.
pub async fn thumbnail(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    serve(&state, &token, Which::Thumbnail, &headers).await
}

#[derive(Clone, Copy, PartialEq)]
enum Which {
    File,
    Thumbnail,
    Rendition,
}

fn gone() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "No such media file: the URL is wrong, the media was deleted, or it is not ready yet (GET /v1/media/{id} \
         says which).",
    )
}

async fn serve(
    state: &AppState,
    token: &str,
    which: Which,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(gone());
    }
    let row = store::by_token(&state.db, token).await?.ok_or_else(gone)?;
    if row.status != MediaStatus::Ready {
        return Err(gone());
    }
    let (key, mime) = match which {
        Which::File => (row.served_key.clone(), row.mime_type.clone()),
        Which::Thumbnail => (row.thumbnail_key.clone(), Some("image/jpeg".to_string())),
        Which::Rendition => (row.rendition_key.clone(), Some("video/mp4".to_string())),
    };
    let (Some(key), Some(mime)) = (key, mime) else {
        return Err(gone());
    };
    let meta = state
        .storage
        .head(&key)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(gone)?;
    let size = meta.size;
    let suffix = match which {
        Which::File => "",
        Which::Thumbnail => "-t",
        Which::Rendition => "-r",
    };
    let etag = format!("\"{}-{size}{suffix}\"", row.id);
    let mut base = HeaderMap::new();
    let put = |h: &mut HeaderMap, name: header::HeaderName, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    };
    put(&mut base, header::ETAG, &etag);
    put(
        &mut base,
        header::CACHE_CONTROL,
        "public, max-age=31536000, immutable",
    );
    put(&mut base, header::ACCEPT_RANGES, "bytes");
    put(&mut base, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    put(
        &mut base,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; sandbox",
    );
    if matches_etag(headers.get(header::IF_NONE_MATCH), &etag) {
        return Ok((StatusCode::NOT_MODIFIED, base).into_response());
    }
    put(&mut base, header::CONTENT_TYPE, &mime);
    let if_range_ok = headers
        .get(header::IF_RANGE)
        .is_none_or(|v| v.to_str().is_ok_and(|v| v.trim() == etag));
    let range = match headers.get(header::RANGE) {
        Some(v) if if_range_ok => parse_range(v.to_str().unwrap_or(""), size),
        _ => Wanted::Whole,
    };
    let (status, range) = match range {
        Wanted::Whole => (StatusCode::OK, None),
        Wanted::Part(r) => {
            put(
                &mut base,
                header::CONTENT_RANGE,
                &format!("bytes {}-{}/{size}", r.start, r.end - 1),
            );
            (StatusCode::PARTIAL_CONTENT, Some(r))
        }
        Wanted::Unsatisfiable => {
            put(&mut base, header::CONTENT_RANGE, &format!("bytes */{size}"));
            base.remove(header::CONTENT_TYPE);
            return Ok((StatusCode::RANGE_NOT_SATISFIABLE, base).into_response());
        }
    };
    let length = range.as_ref().map_or(size, |r| r.end - r.start);
    put(&mut base, header::CONTENT_LENGTH, &length.to_string());
    let stream = if length == 0 {
        None
    } else {
        Some(
            state
                .storage
                .read(&key, range)
                .await
                .map_err(ApiError::internal)?,
        )
    };
    let body = match stream {
        Some(s) => Body::from_stream(s.map(|chunk| chunk.map_err(std::io::Error::other))),
        None => Body::empty(),
    };
    Ok((status, base, body).into_response())
}

fn matches_etag(header: Option<&HeaderValue>, etag: &str) -> bool {
    let Some(text) = header.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    text.split(',').any(|t| {
        let t = t.trim();
        t == "*" || t == etag || t.strip_prefix("W/") == Some(etag)
    })
}

#[derive(Debug, PartialEq)]
enum Wanted {
    Whole,
    Part(Range<u64>),
    Unsatisfiable,
}

/// A `Range` header against a file of `size` bytes. Anything but one well-formed byte range is answered with
/// the whole file (RFC 9110 lets a server ignore a Range it does not support).
fn parse_range(text: &str, size: u64) -> Wanted {
    let Some(spec) = text.trim().strip_prefix("bytes=") else {
        return Wanted::Whole;
    };
    if spec.contains(',') {
        return Wanted::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Wanted::Whole;
    };
    let num = |s: &str| -> Option<u64> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (first.trim().is_empty(), num(first), num(last)) {
        // `-n`: the last n bytes.
        (true, _, Some(n)) => {
            if n == 0 || size == 0 {
                Wanted::Unsatisfiable
            } else {
                Wanted::Part(size.saturating_sub(n)..size)
            }
        }
        (false, Some(a), None) if last.trim().is_empty() => {
            if a >= size {
                Wanted::Unsatisfiable
            } else {
                Wanted::Part(a..size)
            }
        }
        (false, Some(a), Some(b)) if a <= b => {
            if a >= size {
                Wanted::Unsatisfiable
            } else {
                Wanted::Part(a..(b + 1).min(size))
            }
        }
        _ => Wanted::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_as_rfc_9110_says() {
        assert_eq!(parse_range("bytes=0-99", 1000), Wanted::Part(0..100));
        assert_eq!(parse_range("bytes=900-", 1000), Wanted::Part(900..1000));
        assert_eq!(parse_range("bytes=-100", 1000), Wanted::Part(900..1000));
        assert_eq!(parse_range("bytes=-5000", 1000), Wanted::Part(0..1000));
        assert_eq!(parse_range("bytes=990-5000", 1000), Wanted::Part(990..1000));
        assert_eq!(parse_range("bytes=1000-", 1000), Wanted::Unsatisfiable);
        assert_eq!(parse_range("bytes=1000-1001", 1000), Wanted::Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 1000), Wanted::Unsatisfiable);
        assert_eq!(parse_range("bytes=5-1", 1000), Wanted::Whole);
        assert_eq!(parse_range("bytes=0-1,5-6", 1000), Wanted::Whole);
        assert_eq!(parse_range("items=0-1", 1000), Wanted::Whole);
        assert_eq!(parse_range("bytes=a-b", 1000), Wanted::Whole);
        assert_eq!(parse_range("bytes=+1-2", 1000), Wanted::Whole);
    }

    #[test]
    fn etags_match_lists_weak_forms_and_the_wildcard() {
        let h = |s: &'static str| HeaderValue::from_static(s);
        assert!(matches_etag(Some(&h("\"a\"")), "\"a\""));
        assert!(matches_etag(Some(&h("\"x\", W/\"a\"")), "\"a\""));
        assert!(matches_etag(Some(&h("*")), "\"a\""));
        assert!(!matches_etag(Some(&h("\"b\"")), "\"a\""));
        assert!(!matches_etag(None, "\"a\""));
    }
}
