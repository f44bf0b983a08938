//! Media (docs/media.md): direct uploads and URL ingest of real files made by ffmpeg, probed by the worker,
//! served at their public URL with ranges and caching; every refusal of the safe fetcher, tried only against
//! loopback addresses; bad files; limits; idempotency; listing; deletion; retention.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use soku_tests::media_files::{jpeg, mp4, png};
use soku_tests::*;

const LOOPBACK: &str = "127.0.0.1:0";

fn loopback() -> SocketAddr {
    LOOPBACK.parse().unwrap()
}

fn fixtures(env: &TestEnv) -> PathBuf {
    env.dir.join("fixtures")
}

/// An environment whose API and worker may fetch from 127.0.0.1 (only), as the tests' file server lives there.
async fn media_env() -> (TestEnv, Account, ApiProc, WorkerProc) {
    let env = TestEnv::new().await;
    let acct = env.active_account().await;
    let api = env
        .api()
        .env("SOKU_FETCH_ALLOW_PRIVATE", "127.0.0.1/32")
        .spawn()
        .await;
    let worker = env
        .spawn_worker(&WorkerSpec::new().env("SOKU_FETCH_ALLOW_PRIVATE", "127.0.0.1/32"))
        .await;
    (env, acct, api, worker)
}

/// `POST /v1/media {"url"}`: the new media's id.
async fn ingest(api: &ApiProc, key: &str, url: &str) -> String {
    api.post_json("/v1/media", key, &json!({ "url": url }))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The path of a public URL on this API (`http://host:port/media/…` → `/media/…`).
fn local_path(api: &ApiProc, url: &str) -> String {
    let base = api.url("");
    url.strip_prefix(base.trim_end_matches('/'))
        .unwrap_or_else(|| panic!("{url} is not served by {base}"))
        .to_string()
}

#[tokio::test]
async fn an_uploaded_mp4_is_probed_and_served_with_ranges_and_caching() {
    let (env, acct, api, _worker) = media_env().await;
    let video = mp4(&fixtures(&env));
    let created = upload(&api, &acct.test_key, "clip.mp4", &video).await;
    let m = created.expect(201).clone();
    assert_id(&m["id"], "media");
    assert_eq!(m["status"], "processing");
    assert_eq!(m["mimeType"], "video/mp4");
    assert_eq!(m["sizeBytes"], video.len() as u64);
    assert_eq!(m["source"], "upload");
    assert_eq!(m["fileName"], "clip.mp4");
    assert_eq!(m["livemode"], false);
    assert_time_ms(&m["createdAt"]);

    let m = wait_media(&api, &acct.test_key, m["id"].as_str().unwrap()).await;
    assert_eq!(m["status"], "ready", "{m}");
    assert_eq!(
        (m["width"].as_u64(), m["height"].as_u64()),
        (Some(320), Some(240))
    );
    let duration = m["durationSeconds"].as_f64().unwrap();
    assert!((1.9..2.2).contains(&duration), "duration {duration}");
    assert_eq!(m["probe"]["videoCodec"], "h264", "{m}");
    assert_eq!(m["probe"]["audioCodec"], "aac", "{m}");
    assert_eq!(m["probe"]["hasAudio"], true, "{m}");
    let fps = m["probe"]["frameRate"].as_f64().unwrap();
    assert!((fps - 30.0).abs() < 0.01, "frame rate {fps}");

    let path = local_path(&api, m["url"].as_str().unwrap());
    let whole = api.get(&path).send().await;
    whole.expect(200);
    assert_eq!(whole.bytes, video, "the served file is the uploaded one");
    assert_eq!(whole.header("content-type"), Some("video/mp4"));
    assert_eq!(whole.header_int("content-length"), video.len() as i64);
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
    assert!(
        whole.header("cache-control").unwrap().contains("immutable"),
        "{:?}",
        whole.headers
    );
    let etag = whole.header("etag").expect("an ETag").to_string();

    let part = api.get(&path).header("range", "bytes=100-199").send().await;
    assert_eq!(part.status, 206);
    assert_eq!(part.bytes, video[100..200]);
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 100-199/{}", video.len()).as_str())
    );
    let tail = api.get(&path).header("range", "bytes=-10").send().await;
    assert_eq!(tail.status, 206);
    assert_eq!(tail.bytes, video[video.len() - 10..]);
    let past = api
        .get(&path)
        .header("range", &format!("bytes={}-", video.len()))
        .send()
        .await;
    assert_eq!(past.status, 416);
    assert_eq!(
        past.header("content-range"),
        Some(format!("bytes */{}", video.len()).as_str())
    );
    let cached = api.get(&path).header("if-none-match", &etag).send().await;
    assert_eq!(cached.status, 304);
    let other = api
        .get(&path)
        .header("range", "bytes=0-9")
        .header("if-range", "\"something-else\"")
        .send()
        .await;
    assert_eq!(
        other.status, 200,
        "If-Range with another validator: the whole file"
    );

    let thumb = api
        .get(&local_path(&api, m["thumbnailUrl"].as_str().unwrap()))
        .send()
        .await;
    thumb.expect(200);
    assert_eq!(thumb.header("content-type"), Some("image/jpeg"));
    assert_eq!(
        &thumb.bytes[..3],
        &[0xff, 0xd8, 0xff],
        "a JPEG poster frame"
    );

    // Not a token: 404, not a database error.
    api.get("/media/nothing-here")
        .send()
        .await
        .error(404, "not_found");
    api.get("/media/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .send()
        .await
        .error(404, "not_found");
}

#[tokio::test]
async fn a_url_is_fetched_and_its_type_read_from_its_bytes_not_its_header() {
    let (env, acct, api, _worker) = media_env().await;
    let still = png(&fixtures(&env));
    let photo = jpeg(&fixtures(&env));
    let server = FileServer::start(
        loopback(),
        vec![
            // A PNG the server calls HTML, under a name ending .mp4.
            ("still.mp4", Route::File(still.clone(), "text/html")),
            ("hop1", Route::Redirect("/files/photo.jpg".into())),
            ("photo.jpg", Route::File(photo.clone(), "image/jpeg")),
        ],
    )
    .await;
    let first = api
        .post_json(
            "/v1/media",
            &acct.test_key,
            &json!({"url": server.url("still.mp4")}),
        )
        .await;
    let m = first.expect(201).clone();
    assert_eq!(m["status"], "processing");
    assert_eq!(m["source"], "url");
    assert_eq!(m["sourceUrl"], server.url("still.mp4"));
    let m = wait_media(&api, &acct.test_key, m["id"].as_str().unwrap()).await;
    assert_eq!(m["status"], "ready", "{m}");
    assert_eq!(m["mimeType"], "image/png");
    assert_eq!(
        (m["width"].as_u64(), m["height"].as_u64()),
        (Some(640), Some(480))
    );
    assert_eq!(m["sizeBytes"], still.len() as u64);
    let served = api
        .get(&local_path(&api, m["url"].as_str().unwrap()))
        .send()
        .await;
    assert_eq!(served.header("content-type"), Some("image/png"));
    assert_eq!(served.bytes, still);

    let redirected = api
        .post_json(
            "/v1/media",
            &acct.test_key,
            &json!({"url": server.url("hop1")}),
        )
        .await;
    let id = redirected.expect(201)["id"].as_str().unwrap().to_string();
    let m = wait_media(&api, &acct.test_key, &id).await;
    assert_eq!(
        (m["status"].as_str(), m["mimeType"].as_str()),
        (Some("ready"), Some("image/jpeg")),
        "{m}"
    );
    assert_eq!(
        (m["width"].as_u64(), m["height"].as_u64()),
        (Some(800), Some(600))
    );
}

#[tokio::test]
async fn private_addresses_are_refused_at_intake_in_every_spelling() {
    let (_env, acct, api, _worker) = media_env().await;
    let (trip, tripped) = tripwire("127.0.0.2:0".parse().unwrap()).await;
    let port = trip.port();
    for url in [
        format!("http://127.0.0.2:{port}/x.jpg"),
        format!("http://0x7f.0.0.2:{port}/x.jpg"),
        format!("http://[::1]:{port}/x.jpg"),
        format!("http://0.0.0.0:{port}/x.jpg"),
        format!("http://[::ffff:127.0.0.2]:{port}/x.jpg"),
        "ftp://127.0.0.1/x.jpg".to_string(),
        "file:///etc/passwd".to_string(),
        "http://user:secret@127.0.0.1/x.jpg".to_string(),
        "not a url".to_string(),
    ] {
        let resp = api
            .post_json("/v1/media", &acct.test_key, &json!({ "url": url }))
            .await;
        let err = resp.error(400, "validation_error");
        assert_eq!(
            err["details"]["fields"][0]["field"], "url",
            "{url}: {}",
            resp.text
        );
    }
    // 127.0.0.1 in decimal, and `localhost` (127.0.0.1 here), are allowed above (127.0.0.1/32 is the allowed
    // network); without the allowance they are refused.
    let env2 = TestEnv::new().await;
    let acct2 = env2.active_account().await;
    let strict = env2.spawn_api().await;
    for url in [
        "http://2130706433/x.jpg",
        "http://127.1/x.jpg",
        "http://127.0.0.1/x.jpg",
        "http://localhost/x.jpg",
        "http://[::1]/x.jpg",
    ] {
        strict
            .post_json("/v1/media", &acct2.test_key, &json!({ "url": url }))
            .await
            .error(400, "validation_error");
    }
    assert_eq!(
        tripped.load(Ordering::SeqCst),
        0,
        "a refused address was connected to"
    );
    let listed = api.get_with("/v1/media", &acct.test_key).await;
    assert_eq!(
        listed.expect(200)["data"],
        json!([]),
        "a refused request stores nothing"
    );
}

#[tokio::test]
async fn redirects_into_private_addresses_fail_the_media_without_connecting() {
    let (_env, acct, api, _worker) = media_env().await;
    let (trip, tripped) = tripwire("127.0.0.2:0".parse().unwrap()).await;
    let port = trip.port();
    let mut routes = vec![
        (
            "to-127-0-0-2",
            Route::Redirect(format!("http://127.0.0.2:{port}/x")),
        ),
        (
            "to-hex",
            Route::Redirect(format!("http://0x7f.0.0.2:{port}/x")),
        ),
        ("to-v6", Route::Redirect(format!("http://[::1]:{port}/x"))),
        (
            "to-decimal",
            Route::Redirect(format!("http://2130706434:{port}/x")),
        ),
        ("to-file", Route::Redirect("file:///etc/passwd".into())),
    ];
    // Six redirects: one more than allowed.
    for i in 0..6 {
        let name: &'static str = Box::leak(format!("loop{i}").into_boxed_str());
        routes.push((name, Route::Redirect(format!("/files/loop{}", i + 1))));
    }
    routes.push(("loop6", Route::Status(200)));
    let server = FileServer::start(loopback(), routes).await;
    for (name, code) in [
        ("to-127-0-0-2", "fetch_refused"),
        ("to-hex", "fetch_refused"),
        ("to-v6", "fetch_refused"),
        ("to-decimal", "fetch_refused"),
        ("to-file", "fetch_refused"),
        ("loop0", "fetch_failed"),
    ] {
        let id = ingest(&api, &acct.test_key, &server.url(name)).await;
        let m = wait_media(&api, &acct.test_key, &id).await;
        assert_eq!(m["status"], "failed", "{name}: {m}");
        let got = m["error"]["code"].as_str().unwrap_or("");
        assert!(
            got == code || (name == "to-file" && got == "invalid_url"),
            "{name}: expected {code}, got {m}"
        );
    }
    assert_eq!(
        tripped.load(Ordering::SeqCst),
        0,
        "a refused address was connected to"
    );
}

#[tokio::test]
async fn bad_files_are_refused_or_failed_naming_what_was_wrong() {
    let (env, acct, api, _worker) = media_env().await;
    let video = mp4(&fixtures(&env));
    // Refused at intake from their first bytes: nothing stored.
    for (name, bytes, found) in [
        (
            "page.mp4",
            b"<!DOCTYPE html><html><body>hi</body></html>".to_vec(),
            "HTML",
        ),
        ("empty.jpg", Vec::new(), "empty"),
        (
            "doc.pdf",
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n".to_vec(),
            "PDF",
        ),
    ] {
        let resp = upload(&api, &acct.test_key, name, &bytes).await;
        let err = resp.error(400, "unsupported_media");
        assert!(
            err["message"].as_str().unwrap().contains(found),
            "{name}: {}",
            resp.text
        );
    }
    assert_eq!(
        api.get_with("/v1/media", &acct.test_key).await.expect(200)["data"],
        json!([])
    );
    // Accepted from their first bytes, then failed by the probe.
    let truncated = &video[..video.len() / 2];
    let id = upload(&api, &acct.test_key, "cut.mp4", truncated)
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let m = wait_media(&api, &acct.test_key, &id).await;
    assert_eq!(m["status"], "failed", "{m}");
    assert!(
        ["truncated", "unreadable_media"].contains(&m["error"]["code"].as_str().unwrap()),
        "{m}"
    );
    // A URL serving HTML fails with unsupported_media.
    let server = FileServer::start(
        loopback(),
        vec![(
            "clip.mp4",
            Route::File(b"<html><body>Not found</body></html>".to_vec(), "video/mp4"),
        )],
    )
    .await;
    let id = ingest(&api, &acct.test_key, &server.url("clip.mp4")).await;
    let m = wait_media(&api, &acct.test_key, &id).await;
    assert_eq!(
        (m["status"].as_str(), m["error"]["code"].as_str()),
        (Some("failed"), Some("unsupported_media")),
        "{m}"
    );
    assert!(
        m["error"]["message"].as_str().unwrap().contains("HTML"),
        "{m}"
    );
    // The file route does not serve failed media.
    api.get(&local_path(&api, m["url"].as_str().unwrap()))
        .send()
        .await
        .error(404, "not_found");
}

#[tokio::test]
async fn the_size_cap_holds_for_uploads_and_fetches() {
    let env = TestEnv::new().await;
    let acct = env.active_account().await;
    let cap = [
        ("SOKU_MEDIA_MAX_BYTES", "4096"),
        ("SOKU_FETCH_ALLOW_PRIVATE", "127.0.0.1/32"),
    ];
    let api = env.api().envs(&cap).spawn().await;
    let _worker = env.spawn_worker(&WorkerSpec::new().envs(&cap)).await;
    let big = png(&fixtures(&env));
    assert!(big.len() > 4096);
    upload(&api, &acct.test_key, "big.png", &big)
        .await
        .error(413, "payload_too_large");
    let server = FileServer::start(
        loopback(),
        vec![
            ("big.png", Route::File(big.clone(), "image/png")),
            ("endless", Route::Endless),
        ],
    )
    .await;
    for name in ["big.png", "endless"] {
        let id = ingest(&api, &acct.test_key, &server.url(name)).await;
        let m = wait_media(&api, &acct.test_key, &id).await;
        assert_eq!(
            (m["status"].as_str(), m["error"]["code"].as_str()),
            (Some("failed"), Some("media_too_large")),
            "{name}: {m}"
        );
    }
}

#[tokio::test]
async fn uploads_replay_under_an_idempotency_key_and_modes_stay_apart() {
    let (env, acct, api, _worker) = media_env().await;
    let photo = jpeg(&fixtures(&env));
    let (ct, body) = soku_tests::media_files::multipart("p.jpg", "image/jpeg", &photo);
    let send = || {
        api.post("/v1/media")
            .key(&acct.test_key)
            .idempotency_key("upload-1")
            .header("content-type", &ct)
            .body(body.clone())
            .send()
    };
    let first = send().await;
    let again = send().await;
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(first.expect(201)["id"], again.json["id"]);
    let id = first.json["id"].as_str().unwrap().to_string();
    // Another file under the same key: 422.
    let (ct2, body2) =
        soku_tests::media_files::multipart("p.jpg", "image/jpeg", &photo[..photo.len() - 1]);
    api.post("/v1/media")
        .key(&acct.test_key)
        .idempotency_key("upload-1")
        .header("content-type", &ct2)
        .body(body2)
        .send()
        .await
        .error(422, "idempotency_key_reused");
    let page = api.get_with("/v1/media", &acct.test_key).await;
    assert_eq!(page.expect(200)["data"].as_array().unwrap().len(), 1);
    // Live keys do not see test media.
    api.get_with(&format!("/v1/media/{id}"), &acct.live_key)
        .await
        .error(404, "not_found");
    assert_eq!(
        api.get_with("/v1/media", &acct.live_key).await.expect(200)["data"],
        json!([])
    );
    wait_media(&api, &acct.test_key, &id).await;
    let ready = api.get_with("/v1/media?status=ready", &acct.test_key).await;
    assert_eq!(ready.expect(200)["data"][0]["id"], id.as_str());
    let none = api
        .get_with("/v1/media?status=failed", &acct.test_key)
        .await;
    assert_eq!(none.expect(200)["data"], json!([]));
    api.get_with("/v1/media?status=done", &acct.test_key)
        .await
        .error(400, "validation_error");
    // A JSON body with something else than `url`, and no body at all.
    api.post_json("/v1/media", &acct.test_key, &json!({"link": "x"}))
        .await
        .error(400, "validation_error");
    api.post("/v1/media")
        .key(&acct.test_key)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .error(400, "invalid_content_type");
    let (ct3, _) = soku_tests::media_files::multipart("x", "image/jpeg", b"");
    api.post("/v1/media")
        .key(&acct.test_key)
        .header("content-type", &ct3)
        .body("garbage without parts")
        .send()
        .await
        .error(400, "invalid_content_type");
}

#[tokio::test]
async fn delete_is_refused_while_a_scheduled_post_uses_the_file() {
    let (env, acct, api, _worker) = media_env().await;
    let photo = jpeg(&fixtures(&env));
    let m = upload(&api, &acct.test_key, "p.jpg", &photo)
        .await
        .expect(201)
        .clone();
    let id = m["id"].as_str().unwrap();
    let m = wait_media(&api, &acct.test_key, id).await;
    let url = m["url"].as_str().unwrap();
    let post = json!({
        "post": {
            "content": {"text": "with a picture", "mediaType": "image", "platform": ["x"], "imageUrls": [url]}
        },
        "scheduledTime": time_from_now(3600)
    });
    let post_id = api
        .post_json("/v1/posts", &acct.test_key, &post)
        .await
        .expect(202)["postSubmissionId"]
        .as_str()
        .unwrap()
        .to_string();
    let refused = api
        .delete_with(&format!("/v1/media/{id}"), &acct.test_key)
        .await;
    refused.error(409, "conflict");
    assert!(refused.text.contains(&post_id), "{}", refused.text);
    api.delete_with(&format!("/v1/posts/{post_id}"), &acct.test_key)
        .await
        .expect(200);
    api.delete_with(&format!("/v1/media/{id}"), &acct.test_key)
        .await
        .expect(200);
    api.get_with(&format!("/v1/media/{id}"), &acct.test_key)
        .await
        .error(404, "not_found");
    api.get(&local_path(&api, url))
        .send()
        .await
        .error(404, "not_found");
    let objects = env.dir.join("data/objects/media").join(id);
    assert!(!objects.exists(), "{} still exists", objects.display());
}

#[tokio::test]
async fn failed_media_past_its_retention_is_removed_with_its_files() {
    let (env, acct, api, mut worker) = media_env().await;
    let video = mp4(&fixtures(&env));
    let id = upload(&api, &acct.test_key, "cut.mp4", &video[..video.len() / 2])
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let m = wait_media(&api, &acct.test_key, &id).await;
    assert_eq!(m["status"], "failed");
    let objects = env.dir.join("data/objects/media").join(&id);
    assert!(
        objects.exists(),
        "the failed upload's file is kept until its retention ends"
    );
    // A day and a bit later (the clock moved in Postgres): the next worker's first cleanup removes it.
    let db = env.db().await;
    sqlx::query("UPDATE media SET updated_at = now() - interval '25 hours' WHERE id = $1")
        .bind(&id)
        .execute(&db)
        .await
        .unwrap();
    // Files whose media row is gone (a delete whose file removal failed, a crash between an upload and its
    // row): removed once nothing has written them for 6 hours; a recent one may be an upload in flight.
    let media_dir = env.dir.join("data/objects/media");
    let orphan = |name: &str, age_hours: u64| {
        let dir = media_dir.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let file = std::fs::File::create(dir.join("original")).unwrap();
        file.set_modified(
            std::time::SystemTime::now() - std::time::Duration::from_secs(age_hours * 3600),
        )
        .unwrap();
        dir
    };
    let old_orphan = orphan("media_orphanedlongago", 7);
    let new_orphan = orphan("media_uploadinflight", 1);
    worker.kill9();
    let _worker = env
        .spawn_worker(&WorkerSpec::new().env("SOKU_FETCH_ALLOW_PRIVATE", "127.0.0.1/32"))
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while api
        .get_with(&format!("/v1/media/{id}"), &acct.test_key)
        .await
        .status
        == 200
    {
        assert!(
            std::time::Instant::now() < deadline,
            "failed media never removed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The row goes first (in its transaction), its files right after.
    while objects.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "{} still exists",
            objects.display()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    while old_orphan.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "an orphaned file 7 hours old is never removed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        new_orphan.join("original").exists(),
        "a recent file is kept"
    );
}
