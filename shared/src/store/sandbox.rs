//! The sandbox platform's own records: what it accepted, as a platform would keep it, so that a post whose
//! confirmation was lost can be looked up instead of being sent again.

use sqlx::types::Json;

use super::Db;

pub struct SandboxPost<'a> {
    pub platform_post_id: &'a str,
    pub platform: &'a str,
    pub account_label: &'a str,
    pub client_ref: &'a str,
    pub url: &'a str,
    pub body: &'a serde_json::Value,
}

/// Accepts a post (commits on its own: the platform's side, independent of Soku's state).
pub async fn accept(db: &Db, p: &SandboxPost<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sandbox_posts (platform_post_id, platform, account_label, client_ref, url, body)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(p.platform_post_id)
    .bind(p.platform)
    .bind(p.account_label)
    .bind(p.client_ref)
    .bind(p.url)
    .bind(Json(p.body))
    .execute(db)
    .await?;
    Ok(())
}

/// The post the sandbox accepted for `client_ref`, if any: (platform post id, url).
pub async fn find(db: &Db, client_ref: &str) -> Result<Option<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT platform_post_id, url FROM sandbox_posts WHERE client_ref = $1
         ORDER BY created_at LIMIT 1",
    )
    .bind(client_ref)
    .fetch_optional(db)
    .await
}
