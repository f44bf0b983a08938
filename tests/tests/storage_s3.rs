//! Media kept in an S3-compatible bucket (`SOKU_STORAGE_BACKEND=s3`, docs/media.md "Storage"): the API and the
//! worker store an upload, its probe's thumbnail and nothing under `SOKU_DATA_DIR/objects`; the API serves the
//! file from the bucket with its ranges; deleting the media deletes its objects.
//!
//! The bucket lives on the S3-compatible server at `SOKU_TEST_S3_ENDPOINT` (scripts/test.sh starts moto and
//! sets it); without it the tests that need one say so and return.

use std::time::Duration;

use soku_tests::media_files::mp4;
use soku_tests::*;

/// The S3-compatible server to test against, or `None` (with a note) when none is set.
fn s3_endpoint() -> Option<String> {
    match std::env::var("SOKU_TEST_S3_ENDPOINT") {
        Ok(e) if !e.is_empty() => Some(e.trim_end_matches('/').to_string()),
        _ => {
            eprintln!(
                "skipped: SOKU_TEST_S3_ENDPOINT is not set (scripts/test.sh starts moto and sets it)"
            );
            None
        }
    }
}

/// A bucket of its own for one test, created with an unsigned `PUT /<bucket>` (moto accepts it).
async fn fresh_bucket(endpoint: &str) -> String {
    let bucket = format!("soku-e2e-{}", random_alnum(16).to_ascii_lowercase());
    let created = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("cannot reach the S3 server at {endpoint}: {e}"));
    assert!(
        created.status().is_success(),
        "creating the bucket {bucket}: {}",
        created.status()
    );
    bucket
}

/// The keys under `prefix` in `bucket` (ListObjectsV2, unsigned: moto answers it).
async fn keys(endpoint: &str, bucket: &str, prefix: &str) -> Vec<String> {
    let xml = reqwest::get(format!("{endpoint}/{bucket}?list-type=2&prefix={prefix}"))
        .await
        .expect("list the bucket")
        .text()
        .await
        .expect("the listing");
    assert!(xml.contains("<ListBucketResult"), "not a listing: {xml}");
    assert!(!xml.contains("<IsTruncated>true"), "a short listing: {xml}");
    xml.split("<Key>")
        .skip(1)
        .filter_map(|rest| rest.split_once("</Key>").map(|(key, _)| key.to_string()))
        .collect()
}

/// The settings that put a process's media in `bucket`.
fn s3_settings<'a>(endpoint: &'a str, bucket: &'a str) -> [(&'static str, &'a str); 6] {
    [
        ("SOKU_STORAGE_BACKEND", "s3"),
        ("SOKU_S3_BUCKET", bucket),
        ("SOKU_S3_ENDPOINT", endpoint),
        ("SOKU_S3_ALLOW_HTTP", "true"),
        ("SOKU_S3_ACCESS_KEY_ID", "testing"),
        ("SOKU_S3_SECRET_ACCESS_KEY", "s3-test-secret"),
    ]
}

#[tokio::test]
async fn media_in_an_s3_bucket_is_stored_served_with_ranges_and_deleted() {
    let Some(endpoint) = s3_endpoint() else {
        return;
    };
    let bucket = fresh_bucket(&endpoint).await;
    let env = TestEnv::new().await;
    let acct = env.active_account().await;
    let settings = s3_settings(&endpoint, &bucket);
    let api = env.api().envs(&settings).spawn().await;
    let worker = env.spawn_worker(&WorkerSpec::new().envs(&settings)).await;
    api.get("/readyz").send().await.expect(200);

    let video = mp4(&env.dir.join("fixtures"));
    let created = upload(&api, &acct.test_key, "clip.mp4", &video).await;
    let id = created.expect(201)["id"].as_str().unwrap().to_string();
    let m = wait_media(&api, &acct.test_key, &id).await;
    assert_eq!(m["status"], "ready", "{m}\nworker log:\n{}", worker.log());
    assert_eq!(m["sizeBytes"], video.len() as u64);
    assert_eq!(m["probe"]["videoCodec"], "h264", "{m}");

    // In the bucket, not on the disk.
    let prefix = format!("media/{id}/");
    let stored = keys(&endpoint, &bucket, &prefix).await;
    for name in ["original", "thumbnail.jpg"] {
        assert!(
            stored.contains(&format!("{prefix}{name}")),
            "{name} is not in the bucket: {stored:?}"
        );
    }
    let objects = env.dir.join("data/objects");
    assert!(
        !objects.exists(),
        "{} exists with the S3 backend",
        objects.display()
    );
    assert!(
        env.dir.join("data/tmp").is_dir(),
        "temporary files stay local"
    );

    // Served by the API from the bucket: the same bytes, a range, the cache validator.
    let base = api.url("");
    let path = m["url"]
        .as_str()
        .unwrap()
        .strip_prefix(base.trim_end_matches('/'))
        .expect("a URL of this API")
        .to_string();
    let whole = api.get(&path).send().await;
    whole.expect(200);
    assert_eq!(whole.bytes, video, "the served file is the uploaded one");
    assert_eq!(whole.header("content-type"), Some("video/mp4"));
    assert_eq!(whole.header_int("content-length"), video.len() as i64);
    let etag = whole.header("etag").expect("an ETag").to_string();
    let part = api
        .get(&path)
        .header("range", "bytes=1000-1999")
        .send()
        .await;
    assert_eq!(part.status, 206);
    assert_eq!(part.bytes, video[1000..2000]);
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 1000-1999/{}", video.len()).as_str())
    );
    let tail = api.get(&path).header("range", "bytes=-10").send().await;
    assert_eq!(tail.status, 206);
    assert_eq!(tail.bytes, video[video.len() - 10..]);
    let cached = api.get(&path).header("if-none-match", &etag).send().await;
    assert_eq!(cached.status, 304);
    let thumb_path = m["thumbnailUrl"]
        .as_str()
        .unwrap()
        .strip_prefix(base.trim_end_matches('/'))
        .unwrap()
        .to_string();
    let thumb = api.get(&thumb_path).send().await;
    thumb.expect(200);
    assert_eq!(
        &thumb.bytes[..3],
        &[0xff, 0xd8, 0xff],
        "a JPEG poster frame"
    );

    // Deleted: the objects go with it.
    api.delete_with(&format!("/v1/media/{id}"), &acct.test_key)
        .await
        .expect(200);
    api.get(&path).send().await.error(404, "not_found");
    let left = keys(&endpoint, &bucket, &prefix).await;
    assert!(left.is_empty(), "left in the bucket: {left:?}");
    assert!(
        !api.log().contains("s3-test-secret") && !worker.log().contains("s3-test-secret"),
        "the secret is never logged"
    );
}

#[tokio::test]
async fn a_bucket_that_does_not_exist_fails_the_upload_not_the_server() {
    let Some(endpoint) = s3_endpoint() else {
        return;
    };
    let env = TestEnv::new().await;
    let acct = env.active_account().await;
    let missing = format!("soku-none-{}", random_alnum(12).to_ascii_lowercase());
    let api = env
        .api()
        .envs(&s3_settings(&endpoint, &missing))
        .spawn()
        .await;
    let video = mp4(&env.dir.join("fixtures"));
    upload(&api, &acct.test_key, "clip.mp4", &video)
        .await
        .error(500, "internal_error");
    tokio::time::sleep(Duration::from_millis(100)).await;
    api.assert_healthy().await;
    // Not ready, and /readyz says why.
    let ready = api.get("/readyz").send().await;
    ready.error(503, "unavailable");
    assert_eq!(
        ready.json["error"]["details"]["storage"], "unreachable",
        "{}",
        ready.json
    );
    assert_eq!(
        ready.json["error"]["details"]["postgres"], "ok",
        "{}",
        ready.json
    );
    let log = api.log();
    assert!(
        log.contains(&missing) && log.contains("internal error"),
        "the log says which bucket failed:\n{}",
        api.log_tail(20)
    );
}

#[tokio::test]
async fn s3_without_a_bucket_stops_the_process_naming_the_setting() {
    let env = TestEnv::new().await;
    let listen = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    for command in ["api", "worker"] {
        let out = env
            .run(
                &[command],
                &[
                    ("SOKU_STORAGE_BACKEND", "s3"),
                    ("SOKU_LISTEN", &listen),
                    ("SOKU_WORKER_METRICS_LISTEN", "127.0.0.1:0"),
                ],
            )
            .await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "soku {command}: {stderr}");
        assert!(
            stderr.contains("SOKU_S3_BUCKET"),
            "soku {command} should name SOKU_S3_BUCKET: {stderr}"
        );
    }
}
