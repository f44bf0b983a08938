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
