//! The `{id}` of a route. An id that cannot be an id (undecodable, or with characters ids never have) names
//! nothing, so it is a plain 404 like any unknown id: never a framework rejection, never a database error.

use axum::{
    extract::{FromRequestParts, Path},
    http::request::Parts,
};

use crate::error::ApiError;

pub struct Id(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Id, ApiError> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .ok()
            .map(|Path(id)| id)
            .filter(|id| plausible(id))
            .map(Id)
            .ok_or_else(|| ApiError::not_found("object with this id"))
    }
}

/// Ids are a prefix, `_` and base62 characters; anything else (NUL, spaces, other scripts) cannot name an object
/// and never reaches the database.
pub fn plausible(id: &str) -> bool {
    !id.is_empty() && id.len() <= 100 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}
