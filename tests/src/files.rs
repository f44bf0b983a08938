//! What media tests need: real files made by ffmpeg, a multipart body built by hand, and a local file server
//! (on a loopback address) that serves bytes under any content type, redirects, and counts its connections.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::http::Resp;
use crate::process::ApiProc;

/// Runs ffmpeg with `args` (output file last) and returns the file's bytes; panics with ffmpeg's output when
/// it fails.
pub fn ffmpeg(dir: &Path, name: &str, args: &[&str]) -> Vec<u8> {
    std::fs::create_dir_all(dir).expect("media fixture dir");
    let out = dir.join(name);
    let run = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .arg(&out)
        .output()
        .expect("run ffmpeg (the Debian package `ffmpeg`)");
    assert!(
        run.status.success(),
        "ffmpeg {args:?} failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    std::fs::read(&out).expect("read the ffmpeg output")
}

/// A 2-second 320x240 H.264/AAC MP4 at 30 fps.
pub fn mp4(dir: &Path) -> Vec<u8> {
    ffmpeg(
        dir,
        "clip.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=30:duration=2",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=2",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
            "-movflags",
            "+faststart",
        ],
    )
}

/// A 640x480 PNG.
pub fn png(dir: &Path) -> Vec<u8> {
    ffmpeg(
        dir,
        "still.png",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=640x480",
            "-frames:v",
            "1",
        ],
    )
}

/// A 800x600 JPEG.
pub fn jpeg(dir: &Path) -> Vec<u8> {
    ffmpeg(
        dir,
        "still.jpg",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=800x600",
            "-frames:v",
            "1",
        ],
    )
}

/// A `multipart/form-data` body with one `file` part: `(content type, body)`.
pub fn multipart(file_name: &str, part_type: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = format!("soku-test-{}", crate::fixtures::random_alnum(16));
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
         Content-Type: {part_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Uploads `bytes` as `file_name` with `key`.
pub async fn upload(api: &ApiProc, key: &str, file_name: &str, bytes: &[u8]) -> Resp {
    let (content_type, body) = multipart(file_name, "application/octet-stream", bytes);
    api.post("/v1/media")
        .key(key)
        .header("content-type", &content_type)
        .body(body)
        .send()
        .await
}

/// Polls `GET /v1/media/{id}` until the media is no longer `processing`; returns it.
pub async fn wait_media(api: &ApiProc, key: &str, id: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let m = api
            .get_with(&format!("/v1/media/{id}"), key)
            .await
            .expect(200)
            .clone();
        if m["status"] != "processing" {
            return m;
        }
        assert!(
            Instant::now() < deadline,
            "media {id} still processing after 60 s: {m}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One answer of the file server.
#[derive(Clone)]
pub enum Route {
    /// 200 with these bytes and this `Content-Type`.
    File(Vec<u8>, &'static str),
    /// 302 to this location.
    Redirect(String),
    /// This status, no body.
    Status(u16),
    /// 200 with a chunked body that never ends (64 KiB chunks).
    Endless,
}

#[derive(Clone)]
pub struct FileServer {
    routes: Arc<HashMap<String, Route>>,
    pub hits: Arc<AtomicUsize>,
    pub base: String,
}

async fn serve_file(
    State(s): State<FileServer>,
    UrlPath(name): UrlPath<String>,
    _headers: HeaderMap,
) -> Response {
    s.hits.fetch_add(1, Ordering::SeqCst);
    match s.routes.get(&name) {
        Some(Route::File(bytes, ct)) => (
            [(header::CONTENT_TYPE, HeaderValue::from_static(ct))],
            bytes.clone(),
        )
            .into_response(),
        Some(Route::Redirect(to)) => {
            let mut r = StatusCode::FOUND.into_response();
            r.headers_mut()
                .insert(header::LOCATION, HeaderValue::from_str(to).unwrap());
            r
        }
        Some(Route::Status(code)) => StatusCode::from_u16(*code).unwrap().into_response(),
        Some(Route::Endless) => {
            let chunk = axum::body::Bytes::from(vec![0x42u8; 64 * 1024]);
            let stream =
                futures::stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone()));
            axum::body::Body::from_stream(stream).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

impl FileServer {
    /// Serves `routes` (`name` → answer, at `/files/{name}`) on `addr` (port 0: any free port).
    pub async fn start(addr: SocketAddr, routes: Vec<(&str, Route)>) -> FileServer {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("bind the file server");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = FileServer {
            routes: Arc::new(
                routes
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            ),
            hits: Arc::default(),
            base,
        };
        let app = Router::new()
            .route("/files/{name}", get(serve_file))
            .with_state(server.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        server
    }

    pub fn url(&self, name: &str) -> String {
        format!("{}/files/{name}", self.base)
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// A listener that only counts the connections it is offered: a refused fetch must never reach it.
pub async fn tripwire(addr: SocketAddr) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .expect("bind the tripwire");
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(conn);
        }
    });
    (addr, count)
}
