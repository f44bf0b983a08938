//! List parameters: `limit` (1..100, default 20) and an opaque `cursor` (base64url of the last item's
//! creation time and id). Unknown parameters are refused, naming them (as a short excerpt), and so is a parameter
//! given twice: there is one reading of a query.

use std::collections::HashSet;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use serde::Serialize;
use soku_shared::validate::{FieldError, excerpt};
use utoipa::ToSchema;

use crate::error::ApiError;

pub struct ListParams {
    pub limit: i64,
    pub after: Option<(DateTime<Utc>, String)>,
    /// Other allowed parameters, by name.
    pub extra: Vec<(String, String)>,
}

impl ListParams {
    /// The `status` filter, when given: one of `T`'s words, else a 400 naming them.
    pub fn status<T: soku_shared::status::StateWord>(&self) -> Result<Option<T>, ApiError> {
        match self.extra.iter().find(|(k, _)| k == "status") {
            None => Ok(None),
            Some((_, v)) => T::from_word(v)
                .map(Some)
                .ok_or_else(|| ApiError::field("status", format!("must be one of {}", T::words()))),
        }
    }
}

/// Parses `query`; `allowed` names the parameters beyond `limit` and `cursor`.
pub fn parse(query: Option<&str>, allowed: &[&str]) -> Result<ListParams, ApiError> {
    let mut params = ListParams {
        limit: 20,
        after: None,
        extra: Vec::new(),
    };
    let mut errors = Vec::new();
    let field = |f: &str, m: String| FieldError {
        field: excerpt(f),
        message: m,
        platform: None,
    };
    let (mut seen, mut twice) = (HashSet::new(), HashSet::new());
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let (name, value) = (name.into_owned(), value.into_owned());
        if !seen.insert(name.clone()) {
            if twice.insert(name.clone()) {
                errors.push(field(&name, "is given more than once; give it once".into()));
            }
            continue;
        }
        match name.as_str() {
            "limit" => match value.parse::<i64>() {
                Ok(n) if (1..=100).contains(&n) => params.limit = n,
                _ => errors.push(field(
                    "limit",
                    "must be a whole number from 1 to 100".into(),
                )),
            },
            "cursor" => match decode_cursor(&value) {
                Some(after) => params.after = Some(after),
                None => errors.push(field(
                    "cursor",
                    "is not a cursor returned by this list (use nextCursor)".into(),
                )),
            },
            other if allowed.contains(&other) => params.extra.push((name.clone(), value)),
            other => errors.push(field(other, "unknown query parameter".into())),
        }
    }
    if errors.is_empty() {
        Ok(params)
    } else {
        Err(ApiError::validation(errors))
    }
}

pub fn encode_cursor(created_at: DateTime<Utc>, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{id}", created_at.timestamp_micros()))
}

fn decode_cursor(cursor: &str) -> Option<(DateTime<Utc>, String)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let (micros, id) = text.split_once('|')?;
    let at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
    // Only what this API hands out: times of this era and ids of the id alphabet (nothing else reaches SQL).
    let era =
        DateTime::from_timestamp(946_684_800, 0)?..DateTime::from_timestamp(32_503_680_000, 0)?;
    (era.contains(&at) && crate::id_path::plausible(id)).then(|| (at, id.to_string()))
}

/// The envelope of every list.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Page<T: ToSchema> {
    pub data: Vec<T>,
    pub has_more: bool,
    pub next_cursor: Option<String>,
}

/// Builds a page from `limit + 1` fetched rows.
pub fn page<R, T: ToSchema>(
    mut rows: Vec<R>,
    limit: i64,
    key: impl Fn(&R) -> (DateTime<Utc>, String),
    view: impl Fn(R) -> T,
) -> Page<T> {
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if has_more {
        rows.last().map(|r| {
            let (at, id) = key(r);
            encode_cursor(at, &id)
        })
    } else {
        None
    };
    Page {
        data: rows.into_iter().map(view).collect(),
        has_more,
        next_cursor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_checked() {
        assert_eq!(parse(Some("limit=5"), &[]).unwrap().limit, 5);
        assert!(parse(Some("limit=0"), &[]).is_err());
        assert!(parse(Some("limit=101"), &[]).is_err());
        assert!(parse(Some("cursor=zz"), &[]).is_err());
        assert!(parse(Some("colour=red"), &[]).is_err());
        assert!(parse(Some("limit=1&limit=1"), &[]).is_err());
        let long = format!("{}=1", "p".repeat(100_000));
        let e = parse(Some(&long), &[]).err().unwrap();
        assert!(e.message.len() < 300, "{}", e.message);
        let c = encode_cursor(Utc::now(), "post_x");
        assert_eq!(
            parse(Some(&format!("cursor={c}")), &[])
                .unwrap()
                .after
                .unwrap()
                .1,
            "post_x"
        );
        assert_eq!(
            parse(Some("status=queued"), &["status"]).unwrap().extra[0].1,
            "queued"
        );
        assert_eq!(
            parse(Some("status=a%20b+c%zz%"), &["status"])
                .unwrap()
                .extra[0]
                .1,
            "a b c%zz%"
        );
    }
}
