//! Helpers for tests that publish: create posts, wait for them to settle, read what the workers recorded.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::env::TestEnv;
use crate::process::ApiProc;

/// Creates a post (which must be accepted); its id.
pub async fn create_post(api: &ApiProc, key: &str, body: &Value) -> String {
    let r = api.post_json("/v1/posts", key, body).await;
    r.expect(202)["postSubmissionId"]
        .as_str()
        .expect("postSubmissionId")
        .to_string()
}

/// Polls `GET /v1/posts/{id}` until `done` holds for it, or panics after `timeout` with the last state.
pub async fn wait_post(
    api: &ApiProc,
    key: &str,
    id: &str,
    timeout: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let r = api.get_with(&format!("/v1/posts/{id}"), key).await;
        let post = r.expect(200).clone();
        if done(&post) {
            return post;
        }
        assert!(
            Instant::now() < deadline,
            "post {id} did not reach the expected state within {timeout:?}; last:\n{post:#}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether a post has settled (no target left to work on).
pub fn settled(post: &Value) -> bool {
    matches!(
        post["status"].as_str(),
        Some("published" | "partially_published" | "failed" | "canceled")
    )
}

impl TestEnv {
    /// Polls Postgres until no post of this installation is left unsettled (scheduled, queued, publishing),
    /// or panics after `timeout` with the counts by status.
    pub async fn wait_all_settled(&self, timeout: Duration) {
        let db = self.db().await;
        let deadline = Instant::now() + timeout;
        loop {
            let open: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM posts WHERE status IN ('scheduled', 'queued', 'publishing')",
            )
            .fetch_one(&db)
            .await
            .expect("count open posts");
            if open == 0 {
                return;
            }
            if Instant::now() >= deadline {
                let by: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT status, count(*) FROM post_targets GROUP BY status ORDER BY status",
                )
                .fetch_all(&db)
                .await
                .unwrap();
                panic!("{open} posts still open after {timeout:?}; targets by status: {by:?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Targets by status, over the whole installation.
    pub async fn target_statuses(&self) -> Vec<(String, i64)> {
        sqlx::query_as("SELECT status, count(*) FROM post_targets GROUP BY status ORDER BY status")
            .fetch_all(&self.db().await)
            .await
            .expect("targets by status")
    }

    /// How many times the sandbox (without a sink) accepted `target`.
    pub async fn sandbox_deliveries(&self, target: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM sandbox_posts WHERE client_ref = $1")
            .bind(target)
            .fetch_one(&self.db().await)
            .await
            .expect("count sandbox deliveries")
    }
}
