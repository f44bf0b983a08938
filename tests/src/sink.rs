//! The delivery sink: an HTTP endpoint outside the workers that the sandbox forwards every delivery to
//! (`SOKU_SANDBOX_SINK_URL`), so that deliveries are counted where a crashing worker cannot hide a duplicate.
//! It also answers the sandbox's "does this post exist?" lookups, as a platform would.
//!
//! - `POST /deliveries` `{"targetId", "platformPostId", "url", ...}` → 201; every call counts, none is merged.
//! - `GET /deliveries/{targetId}` → 200 `{"platformPostId", "url", "count"}` or 404.
//! - `GET /stats` → `{"deliveries", "targets", "duplicates", "firstAtMs", "lastAtMs"}`.
//! - `DELETE /deliveries` → forget everything.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

#[derive(Default)]
struct Book {
    first: HashMap<String, (String, String)>,
    counts: HashMap<String, u64>,
    total: u64,
    first_at_ms: Option<u128>,
    last_at_ms: Option<u128>,
    /// The `videoUrl` each target's first delivery carried.
    videos: HashMap<String, String>,
    /// The `imageUrls` each target's first delivery carried.
    images: HashMap<String, Vec<String>>,
}

#[derive(Clone, Default)]
pub struct Sink(Arc<Mutex<Book>>);

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
}

async fn deliver(State(sink): State<Sink>, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    let Some(target) = body["targetId"].as_str() else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "targetId is required"})),
        );
    };
    let mut book = sink.0.lock().unwrap();
    book.total += 1;
    *book.counts.entry(target.to_string()).or_default() += 1;
    book.first.entry(target.to_string()).or_insert_with(|| {
        (
            body["platformPostId"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            body["url"].as_str().unwrap_or_default().to_string(),
        )
    });
    if let Some(list) = body["imageUrls"].as_array() {
        let urls = list
            .iter()
            .filter_map(|u| u.as_str().map(str::to_string))
            .collect();
        book.images.entry(target.to_string()).or_insert(urls);
    }
    if let Some(v) = body["videoUrl"].as_str() {
        book.videos
            .entry(target.to_string())
            .or_insert_with(|| v.to_string());
    }
    let t = now_ms();
    book.first_at_ms.get_or_insert(t);
    book.last_at_ms = Some(t);
    (StatusCode::CREATED, Json(json!({"ok": true})))
}

async fn lookup(State(sink): State<Sink>, Path(target): Path<String>) -> (StatusCode, Json<Value>) {
    let book = sink.0.lock().unwrap();
    match book.first.get(&target) {
        Some((id, url)) => (
            StatusCode::OK,
            Json(json!({"platformPostId": id, "url": url, "count": book.counts[&target]})),
        ),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such delivery"})),
        ),
    }
}

async fn stats(State(sink): State<Sink>) -> Json<Value> {
    Json(sink.stats())
}

async fn reset(State(sink): State<Sink>) -> StatusCode {
    *sink.0.lock().unwrap() = Book::default();
    StatusCode::NO_CONTENT
}

impl Sink {
    /// Serves the sink on `addr` (port 0: any free port) in the background; returns its base URL.
    pub async fn start(addr: SocketAddr) -> (Sink, String) {
        let sink = Sink::default();
        let app = Router::new()
            .route("/deliveries", post(deliver).delete(reset))
            .route("/deliveries/{target}", get(lookup))
            .route("/stats", get(stats))
            .with_state(sink.clone());
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("bind the sink");
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (sink, url)
    }

    /// The video URL the first delivery of `target` carried.
    pub fn video_url(&self, target: &str) -> Option<String> {
        self.0.lock().unwrap().videos.get(target).cloned()
    }

    /// The image URLs the first delivery of `target` carried.
    pub fn image_urls(&self, target: &str) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .images
            .get(target)
            .cloned()
            .unwrap_or_default()
    }

    /// How many times `target` was delivered.
    pub fn count(&self, target: &str) -> u64 {
        self.0
            .lock()
            .unwrap()
            .counts
            .get(target)
            .copied()
            .unwrap_or(0)
    }

    /// The platform post id and URL of `target`'s first delivery, as the sink recorded them.
    pub fn first(&self, target: &str) -> Option<(String, String)> {
        self.0.lock().unwrap().first.get(target).cloned()
    }

    /// Every delivery received so far, duplicates included.
    pub fn deliveries(&self) -> u64 {
        self.0.lock().unwrap().total
    }

    /// Targets delivered more than once, with their counts.
    pub fn duplicates(&self) -> Vec<(String, u64)> {
        let book = self.0.lock().unwrap();
        book.counts
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(t, n)| (t.clone(), *n))
            .collect()
    }

    pub fn stats(&self) -> Value {
        let book = self.0.lock().unwrap();
        json!({
            "deliveries": book.total,
            "targets": book.counts.len(),
            "duplicates": book.counts.values().filter(|n| **n > 1).count(),
            "firstAtMs": book.first_at_ms.map(|t| t as u64),
            "lastAtMs": book.last_at_ms.map(|t| t as u64),
        })
    }
}
