//! `/v1/credits`: the caller's credit balance and its ledger (docs/credits.md). Credits belong to the account,
//! not to a mode: test-mode keys see the same balance, and test-mode work never moves it.

use axum::{
    Extension,
    extract::{RawQuery, State},
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use soku_shared::{
    post::fmt_time,
    status::LedgerKind,
    store::credits::{self as store, LedgerRow},
};
use utoipa::ToSchema;

use crate::{
    auth::Caller,
    error::{ApiError, ApiResult, ErrorBody},
    pagination::{self, Page},
    state::AppState,
};

/// An account's credits.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreditsView {
    /// What the account holds.
    pub balance: i64,
    /// The part held for transcription jobs that have not settled yet.
    pub reserved: i64,
    /// What a new job may reserve: `balance - reserved`.
    pub available: i64,
}

/// One movement of credits.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LedgerEntryView {
    #[schema(example = "42")]
    pub id: String,
    pub kind: LedgerKind,
    /// How the balance moved (a charge is negative; a reserve or release moves only `reserved`).
    pub amount: i64,
    /// How the reserved part moved.
    pub reserved_change: i64,
    pub balance_after: i64,
    pub reserved_after: i64,
    /// The transcription job it belongs to (`GET /v1/ai/transcribe/{jobId}`), if any.
    pub job_id: Option<String>,
    pub reason: String,
    pub created_at: String,
}

impl LedgerEntryView {
    fn from_row(r: LedgerRow) -> LedgerEntryView {
        LedgerEntryView {
            id: r.id.to_string(),
            kind: r.kind,
            amount: r.amount,
            reserved_change: r.reserved_change,
            balance_after: r.balance_after,
            reserved_after: r.reserved_after,
            job_id: r.job_id,
            reason: r.reason,
            created_at: fmt_time(r.created_at),
        }
    }
}

/// The caller's credits.
#[utoipa::path(get, path = "/v1/credits", tag = "credits", operation_id = "getCredits",
    responses((status = 200, body = CreditsView)),
    security(("apiKey" = []), ("bearer" = [])))]
#[tracing::instrument(skip_all, fields(account_id = %caller.account_id))]
pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<axum::Json<CreditsView>> {
    let b = store::balance(&state.db, &caller.account_id)
        .await?
        .ok_or_else(|| ApiError::not_found("account"))?;
    Ok(axum::Json(CreditsView {
        balance: b.balance,
        reserved: b.reserved,
        available: b.available(),
    }))
}

/// The caller's credit ledger, newest first.
#[utoipa::path(get, path = "/v1/credits/ledger", tag = "credits", operation_id = "listCreditLedger",
    params(("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "Page size, 1..100 (default 20)"),
           ("cursor" = Option<String>, Query, min_length = 1, pattern = r"^[A-Za-z0-9_-]+$",
            description = "`nextCursor` of the previous page")),
    responses((status = 200, body = Page<LedgerEntryView>),
        (status = 400, description = "`validation_error`", body = ErrorBody)),
    security(("apiKey" = []), ("bearer" = [])))]
#[tracing::instrument(skip_all, fields(account_id = %caller.account_id))]
pub async fn ledger(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(query): RawQuery,
) -> ApiResult<axum::Json<Page<LedgerEntryView>>> {
    let params = pagination::parse(query.as_deref(), &[])?;
    let after = match params.after {
        None => None,
        Some((at, id)) => Some((
            at,
            id.parse::<i64>().map_err(|_| {
                ApiError::field(
                    "cursor",
                    "is not a cursor returned by this list (use nextCursor)",
                )
            })?,
        )),
    };
    let rows = store::ledger(&state.db, &caller.account_id, after, params.limit + 1).await?;
    Ok(axum::Json(pagination::page(
        rows,
        params.limit,
        |r: &LedgerRow| -> (DateTime<Utc>, String) { (r.created_at, r.id.to_string()) },
        LedgerEntryView::from_row,
    )))
}
