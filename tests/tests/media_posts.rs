//! Posts that use Soku's media (docs/media.md, "Media in posts"): media still processing holds a post back, then
//! it publishes; media that failed fails its targets with `media_failed`; the platforms' media rules apply at
//! intake when the media is ready, and at publish time when it was not, per target (the others go on).

use std::time::Duration;

use soku_tests::media_files::{ffmpeg, mp4};
use soku_tests::*;

const PATIENCE: Duration = Duration::from_secs(60);

fn video_post(url: &str, platforms: Value) -> Value {
    json!({"post": {"content": {"text": "watch this", "mediaType": "video", "videoUrl": url, "platform": platforms}}})
}

fn target<'a>(post: &'a Value, platform: &str) -> &'a Value {
    post["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["platform"] == platform)
        .unwrap_or_else(|| panic!("no {platform} target in {post}"))
}

#[tokio::test]
async fn a_post_waits_for_its_media_then_publishes() {
    let (env, acct, api) = setup().await;
    let video = mp4(&env.dir.join("fixtures"));
    // No worker yet: the media stays `processing`.
    let m = upload(&api, &acct.test_key, "clip.mp4", &video)
        .await
        .expect(201)
        .clone();
    let url = m["url"].as_str().unwrap();
    let post_id = create_post(
        &api,
        &acct.test_key,
        &video_post(url, json!(["x", "threads"])),
    )
    .await;
    let post = api
        .get_with(&format!("/v1/posts/{post_id}"), &acct.test_key)
        .await;
    for t in post.expect(200)["targets"].as_array().unwrap() {
        assert_eq!(
            (t["status"].as_str(), t["waitingFor"].as_str()),
            (Some("pending"), Some("media")),
            "{t}"
        );
    }
    let _worker = env.spawn_worker(&WorkerSpec::new()).await;
    let post = wait_post(&api, &acct.test_key, &post_id, PATIENCE, settled).await;
    assert_eq!(post["status"], "published", "{post:#}");
    assert!(post["targets"][0].get("waitingFor").is_none(), "{post:#}");
}

#[tokio::test]
async fn media_that_fails_while_a_post_waits_fails_its_targets() {
    let (env, acct, api) = setup().await;
    let video = mp4(&env.dir.join("fixtures"));
    let m = upload(&api, &acct.test_key, "cut.mp4", &video[..video.len() / 2])
        .await
        .expect(201)
        .clone();
    let post_id = create_post(
        &api,
        &acct.test_key,
        &video_post(m["url"].as_str().unwrap(), json!(["x"])),
    )
    .await;
    let _worker = env.spawn_worker(&WorkerSpec::new()).await;
    let post = wait_post(&api, &acct.test_key, &post_id, PATIENCE, settled).await;
    assert_eq!(post["status"], "failed", "{post:#}");
    let t = target(&post, "x");
    assert_eq!(t["error"]["code"], "media_failed", "{t}");
    assert!(
        t["error"]["message"]
            .as_str()
            .unwrap()
            .contains(m["id"].as_str().unwrap()),
        "{t}"
    );
    // Now that it has failed, a new post naming it is refused at intake.
    let again = api
        .post_json(
            "/v1/posts",
            &acct.test_key,
            &video_post(m["url"].as_str().unwrap(), json!(["x"])),
        )
        .await;
    let err = again.error(400, "media_not_ready");
    assert_eq!(
        err["details"]["fields"][0]["field"], "post.content.videoUrl",
        "{}",
        again.text
    );
}

#[tokio::test]
async fn a_two_hour_video_to_instagram_is_refused_at_intake_naming_the_duration_rule() {
    let (env, acct, api) = setup().await;
    let _worker = env.spawn_worker(&WorkerSpec::new()).await;
    // Two hours of a 64x64 still at 1 fps: small and quick to make.
    let long = ffmpeg(
        &env.dir.join("fixtures"),
        "long.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "color=c=blue:size=64x64:rate=1:duration=7200",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    let id = upload(&api, &acct.test_key, "long.mp4", &long)
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let m = wait_media(&api, &acct.test_key, &id).await;
    assert_eq!(m["status"], "ready", "{m}");
    assert!(m["durationSeconds"].as_f64().unwrap() > 7100.0, "{m}");
    let resp = api
        .post_json(
            "/v1/posts",
            &acct.test_key,
            &video_post(m["url"].as_str().unwrap(), json!(["youtube", "instagram"])),
        )
        .await;
    resp.error(400, "validation_error");
    let fields = resp.failing_fields();
    let ig: Vec<_> = fields
        .iter()
        .filter(|f| f["platform"] == "instagram")
        .collect();
    assert_eq!(ig.len(), 1, "{}", resp.text);
    assert_eq!(ig[0]["field"], "post.content.platform[1]");
    let message = ig[0]["message"].as_str().unwrap();
    assert!(
        message.contains("duration rule") && message.contains("900 s"),
        "{message}"
    );
    assert!(
        !fields.iter().any(|f| f["message"]
            .as_str()
            .unwrap_or("")
            .contains("youtube takes")),
        "youtube takes a two-hour video: {}",
        resp.text
    );
}

#[tokio::test]
async fn a_rule_broken_by_media_that_was_processing_fails_only_that_target() {
    let (env, acct, api) = setup().await;
    // A 2-second video: LinkedIn takes videos of at least 3 s; X takes it.
    let video = mp4(&env.dir.join("fixtures"));
    let m = upload(&api, &acct.test_key, "clip.mp4", &video)
        .await
        .expect(201)
        .clone();
    let post_id = create_post(
        &api,
        &acct.test_key,
        &video_post(m["url"].as_str().unwrap(), json!(["x", "linkedin"])),
    )
    .await;
    let _worker = env.spawn_worker(&WorkerSpec::new()).await;
    let post = wait_post(&api, &acct.test_key, &post_id, PATIENCE, settled).await;
    assert_eq!(post["status"], "partially_published", "{post:#}");
    assert_eq!(target(&post, "x")["status"], "published");
    let li = target(&post, "linkedin");
    assert_eq!(
        (li["status"].as_str(), li["error"]["code"].as_str()),
        (Some("failed"), Some("media_rejected")),
        "{li}"
    );
    assert!(
        li["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at least 3 s"),
        "{li}"
    );
}

#[tokio::test]
async fn a_media_url_of_another_account_or_mode_is_refused() {
    let (env, acct, api) = setup().await;
    let _worker = env.spawn_worker(&WorkerSpec::new()).await;
    let video = mp4(&env.dir.join("fixtures"));
    let url = upload(&api, &acct.test_key, "clip.mp4", &video)
        .await
        .expect(201)["url"]
        .as_str()
        .unwrap()
        .to_string();
    let other = env.active_account().await;
    let resp = api
        .post_json(
            "/v1/posts",
            &other.test_key,
            &video_post(&url, json!(["x"])),
        )
        .await;
    let err = resp.error(400, "validation_error");
    assert_eq!(
        err["details"]["fields"][0]["field"], "post.content.videoUrl",
        "{}",
        resp.text
    );
}

/// What ffprobe says of the file at `path`: codec, pixel format, width, height of the first video stream.
fn ffprobe_video(path: &std::path::Path) -> (String, String, u64, u64) {
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=codec_name,pix_fmt,width,height",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .expect("run ffprobe");
    let v: Value = serde_json::from_slice(&out.stdout).expect("ffprobe JSON");
    let s = &v["streams"][0];
    (
        s["codec_name"].as_str().unwrap_or("").into(),
        s["pix_fmt"].as_str().unwrap_or("").into(),
        s["width"].as_u64().unwrap_or(0),
        s["height"].as_u64().unwrap_or(0),
    )
}

#[tokio::test]
async fn an_hevc_video_gets_an_h264_rendition_that_only_the_platforms_needing_it_publish() {
    let env = TestEnv::new().await;
    let acct = env.active_account().await;
    let api = env.spawn_api().await;
    let (sink, sink_url) = Sink::start("127.0.0.1:0".parse().unwrap()).await;
    let _worker = env.spawn_worker(&WorkerSpec::new().sink(&sink_url)).await;
    let dir = env.dir.join("fixtures");
    // HEVC, 10-bit, in MP4: not what X or TikTok take.
    let hevc = ffmpeg(
        &dir,
        "hevc.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=30:duration=4",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=4",
            "-c:v",
            "libx265",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p10le",
            "-tag:v",
            "hvc1",
            "-c:a",
            "aac",
            "-shortest",
            "-x265-params",
            "log-level=error",
        ],
    );
    let id = upload(&api, &acct.test_key, "hevc.mp4", &hevc)
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let m = wait_media(&api, &acct.test_key, &id).await;
    assert_eq!(m["status"], "ready", "{m}");
    assert_eq!(m["probe"]["videoCodec"], "hevc", "{m}");
    let copy = &m["rendition"];
    assert_eq!(copy["probe"]["videoCodec"], "h264", "{m}");
    assert_eq!(copy["probe"]["pixelFormat"], "yuv420p", "{m}");
    let copy_url = copy["url"].as_str().expect("a rendition URL").to_string();
    assert!(copy_url.ends_with("/h264.mp4"), "{copy_url}");
    // The copy is served, and is what ffprobe calls H.264 yuv420p with even dimensions.
    let path = copy_url
        .strip_prefix(api.url("").trim_end_matches('/'))
        .unwrap();
    let served = api.get(path).send().await;
    served.expect(200);
    assert_eq!(served.header("content-type"), Some("video/mp4"));
    let local = dir.join("served-copy.mp4");
    std::fs::write(&local, &served.bytes).unwrap();
    let (codec, pix, w, h) = ffprobe_video(&local);
    assert_eq!((codec.as_str(), pix.as_str()), ("h264", "yuv420p"));
    assert!(w % 2 == 0 && h % 2 == 0 && w >= 320, "{w}x{h}");

    let url = m["url"].as_str().unwrap();
    let post_id = create_post(
        &api,
        &acct.test_key,
        &video_post(url, json!(["x", "youtube", "tiktok"])),
    )
    .await;
    let post = wait_post(&api, &acct.test_key, &post_id, PATIENCE, settled).await;
    assert_eq!(post["status"], "published", "{post:#}");
    for (platform, want) in [
        ("x", copy_url.as_str()),
        ("tiktok", copy_url.as_str()),
        ("youtube", url),
    ] {
        let t = target(&post, platform)["targetId"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            sink.video_url(&t).as_deref(),
            Some(want),
            "{platform} published the wrong file"
        );
    }
}

#[tokio::test]
async fn a_video_larger_than_1920_px_gets_a_scaled_down_rendition() {
    let env = TestEnv::new().await;
    let acct = env.active_account().await;
    let api = env.spawn_api().await;
    let _worker = env.spawn_worker(&WorkerSpec::new()).await;
    let dir = env.dir.join("fixtures");
    // H.264 and otherwise safe, but 1440p: more than the 1920 px long side the platforms list.
    let big = ffmpeg(
        &dir,
        "1440p.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=2560x1440:rate=5:duration=1",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    let id = upload(&api, &acct.test_key, "1440p.mp4", &big)
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let m = wait_media(&api, &acct.test_key, &id).await;
    assert_eq!(m["status"], "ready", "{m}");
    assert_eq!(
        (m["width"].as_u64(), m["height"].as_u64()),
        (Some(2560), Some(1440)),
        "{m}"
    );
    let copy = &m["rendition"]["probe"];
    assert_eq!(
        (copy["width"].as_u64(), copy["height"].as_u64()),
        (Some(1920), Some(1080)),
        "scaled to 1920 px wide, aspect ratio kept: {m}"
    );
}

#[tokio::test]
async fn a_media_url_that_is_not_sokus_own_is_imported_and_the_platforms_get_sokus_copy() {
    let env = TestEnv::new().await;
    let acct = env.active_account().await;
    let on = [
        ("SOKU_MEDIA_IMPORT", "on"),
        ("SOKU_FETCH_ALLOW_PRIVATE", "127.0.0.1/32"),
    ];
    let api = env.api().envs(&on).spawn().await;
    let photo = soku_tests::media_files::jpeg(&env.dir.join("fixtures"));
    let server = FileServer::start(
        "127.0.0.1:0".parse().unwrap(),
        vec![("photo.jpg", Route::File(photo, "image/jpeg"))],
    )
    .await;
    let external = server.url("photo.jpg");
    let post = json!({"post": {"content": {"text": "imported", "mediaType": "image",
                                           "imageUrls": [external], "platform": ["x"]}}});
    let post_id = create_post(&api, &acct.test_key, &post).await;
    let waiting = api
        .get_with(&format!("/v1/posts/{post_id}"), &acct.test_key)
        .await;
    assert_eq!(
        waiting.expect(200)["targets"][0]["waitingFor"],
        "media",
        "{}",
        waiting.text
    );
    // The import is a media object of the account, from that URL.
    let listed = api.get_with("/v1/media", &acct.test_key).await;
    let m = listed.expect(200)["data"][0].clone();
    assert_eq!(
        (m["source"].as_str(), m["sourceUrl"].as_str()),
        (Some("url"), Some(external.as_str())),
        "{m}"
    );
    // A refused address is refused at intake, naming the field.
    let bad = json!({"post": {"content": {"text": "no", "mediaType": "image",
                                          "imageUrls": ["http://127.0.0.2/x.jpg"], "platform": ["x"]}}});
    let resp = api.post_json("/v1/posts", &acct.test_key, &bad).await;
    let err = resp.error(400, "validation_error");
    assert_eq!(
        err["details"]["fields"][0]["field"], "post.content.imageUrls[0]",
        "{}",
        resp.text
    );

    let (sink, sink_url) = Sink::start("127.0.0.1:0".parse().unwrap()).await;
    // The workers hand the platforms Soku's URL of the import: they need SOKU_PUBLIC_URL, as the API has it.
    let spec = WorkerSpec::new()
        .sink(&sink_url)
        .env("SOKU_PUBLIC_URL", api.url("").trim_end_matches('/'))
        .envs(&on);
    let _worker = env.spawn_worker(&spec).await;
    let done = wait_post(&api, &acct.test_key, &post_id, PATIENCE, settled).await;
    assert_eq!(done["status"], "published", "{done:#}");
    assert_eq!(server.hits(), 1, "the image was fetched once, by Soku");
    let t = done["targets"][0]["targetId"].as_str().unwrap();
    assert_eq!(
        sink.image_urls(t),
        vec![m["url"].as_str().unwrap().to_string()],
        "the platform got Soku's URL"
    );
    // What the post says is what the client sent.
    assert_eq!(done["content"]["imageUrls"][0], external.as_str());
}

#[tokio::test]
async fn an_image_outside_instagrams_aspect_ratio_is_refused_at_intake_naming_the_rule() {
    let (env, acct, api) = setup().await;
    let _worker = env.spawn_worker(&WorkerSpec::new()).await;
    let banner = ffmpeg(
        &env.dir.join("fixtures"),
        "banner.jpg",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=1500x500",
            "-frames:v",
            "1",
        ],
    );
    let id = upload(&api, &acct.test_key, "banner.jpg", &banner)
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let m = wait_media(&api, &acct.test_key, &id).await;
    let post = json!({"post": {"content": {"text": "wide", "mediaType": "image",
        "imageUrls": [m["url"]], "platform": ["x", "instagram"]}}});
    let resp = api.post_json("/v1/posts", &acct.test_key, &post).await;
    resp.error(400, "validation_error");
    let fields = resp.failing_fields();
    assert_eq!(
        fields.len(),
        1,
        "only instagram bounds the aspect ratio: {}",
        resp.text
    );
    assert_eq!(fields[0]["platform"], "instagram");
    let message = fields[0]["message"].as_str().unwrap();
    assert!(
        message.contains("3.00:1") && message.contains("aspect ratio rule"),
        "{message}"
    );
}
