//! Tests of the per-platform rules applied at intake: text length as each platform counts it, hashtags, required
//! media, images per post, and YouTube's title and description.

use serde_json::{Value, json};

use super::{check, errors, only_error, post};
use crate::platform::Platform;

fn text_post(text: &str, platforms: Value) -> Value {
    post(json!({ "text": text, "platform": platforms }))
}

fn images(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("https://cdn.example.com/{i}.jpg"))
        .collect()
}

fn image_post(n: usize, platform: &str) -> Value {
    post(json!({ "text": "pics", "imageUrls": images(n), "platform": [platform] }))
}

const VIDEO: &str = "https://cdn.example.com/clip.mp4";

/// Asserts `body` fails with exactly one error, for `p`, on `field`, with `message`.
fn fails_once(body: &Value, p: Platform, field: &str, message: &str) {
    let e = only_error(body);
    assert_eq!(
        (e.platform, e.field.as_str(), e.message.as_str()),
        (Some(p), field, message)
    );
}

#[test]
fn x_counts_weighted_characters() {
    assert!(check(&text_post(&"a".repeat(280), json!(["x"]))).is_ok());
    let msg = "x counts this text as 281 weighted characters; the limit is 280";
    fails_once(
        &text_post(&"a".repeat(281), json!(["x"])),
        Platform::X,
        "post.content.text",
        msg,
    );
    // 141 CJK characters weigh 282, though they are far under every other platform's limit.
    let msg = "x counts this text as 282 weighted characters; the limit is 280";
    fails_once(
        &text_post(&"字".repeat(141), json!(["x", "threads"])),
        Platform::X,
        "post.content.text",
        msg,
    );
    // 140 family emoji (7 code points each) weigh 280: fine.
    assert!(check(&text_post(&"👨‍👩‍👧‍👦".repeat(140), json!(["x"]))).is_ok());
    // A long URL counts 23.
    let url_text = format!(
        "{} https://example.com/{}",
        "a".repeat(256),
        "p".repeat(500)
    );
    assert!(check(&text_post(&url_text, json!(["x"]))).is_ok());
}

#[test]
fn one_error_per_platform_and_rule() {
    let targets = json!([
        { "platform": "x", "accountId": "a" },
        { "platform": "x", "accountId": "b" },
        "threads"
    ]);
    let errs = errors(&text_post(&"a".repeat(600), targets));
    let got: Vec<(Option<Platform>, &str)> = errs
        .iter()
        .map(|e| (e.platform, e.field.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (Some(Platform::X), "post.content.text"),
            (Some(Platform::Threads), "post.content.text")
        ]
    );
    assert_eq!(
        errs[1].message,
        "threads counts this text as 600 characters; the limit is 500"
    );
}

#[test]
fn text_limits_per_platform() {
    let limits = [("threads", 500), ("linkedin", 3000), ("facebook", 63_206)];
    for (name, max) in limits {
        let p = Platform::parse(name).unwrap();
        assert!(
            check(&text_post(&"é".repeat(max), json!([name]))).is_ok(),
            "{name}"
        );
        if max < 63_206 {
            let msg = format!(
                "{name} counts this text as {} characters; the limit is {max}",
                max + 1
            );
            fails_once(
                &text_post(&"é".repeat(max + 1), json!([name])),
                p,
                "post.content.text",
                &msg,
            );
        }
    }
    let photo = |text: String, platform: &str| {
        post(json!({ "text": text, "imageUrls": images(1), "platform": [platform] }))
    };
    assert!(check(&photo("a".repeat(2200), "instagram")).is_ok());
    let msg = "instagram counts this text as 2201 characters; the limit is 2200";
    fails_once(
        &photo("a".repeat(2201), "instagram"),
        Platform::Instagram,
        "post.content.text",
        msg,
    );
    // TikTok counts UTF-16 units: 1,100 emoji outside the BMP are 2,200 units; one more is over.
    assert!(check(&photo("😀".repeat(1100), "tiktok")).is_ok());
    let msg = "tiktok counts this text as 2202 UTF-16 code units; the limit is 2200";
    fails_once(
        &photo("😀".repeat(1101), "tiktok"),
        Platform::Tiktok,
        "post.content.text",
        msg,
    );
}

#[test]
fn instagram_allows_30_hashtags() {
    let tags = |n: usize| {
        (0..n)
            .map(|i| format!("#tag{i}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let body = |n| {
        post(json!({ "text": tags(n), "imageUrls": images(1), "platform": ["instagram", "x"] }))
    };
    assert!(check(&body(30)).is_ok());
    let msg = "instagram allows at most 30 hashtags; this text has 31";
    fails_once(&body(31), Platform::Instagram, "post.content.text", msg);
}

#[test]
fn media_is_required_where_the_platform_has_no_text_posts() {
    for (name, p) in [
        ("instagram", Platform::Instagram),
        ("tiktok", Platform::Tiktok),
    ] {
        let msg = format!("{name} needs an image or a video");
        fails_once(
            &text_post("hello", json!(["x", name])),
            p,
            "post.content",
            &msg,
        );
        assert!(check(&post(json!({ "videoUrl": VIDEO, "platform": [name] }))).is_ok());
    }
    let body = post(json!({ "text": "t", "title": "T", "platform": ["youtube"] }));
    fails_once(
        &body,
        Platform::Youtube,
        "post.content.videoUrl",
        "youtube needs a video (videoUrl)",
    );
    // A youtube-only text post is not asked for text, only for the video.
    let body = post(json!({ "title": "T", "platform": ["youtube"] }));
    fails_once(
        &body,
        Platform::Youtube,
        "post.content.videoUrl",
        "youtube needs a video (videoUrl)",
    );
}

#[test]
fn images_per_post() {
    let limits = [
        ("x", 4),
        ("threads", 20),
        ("instagram", 10),
        ("linkedin", 20),
        ("facebook", 10),
    ];
    for (name, max) in limits {
        let p = Platform::parse(name).unwrap();
        assert!(check(&image_post(1, name)).is_ok(), "{name}: one image");
        assert!(
            check(&image_post(max, name)).is_ok(),
            "{name}: {max} images"
        );
        let msg = format!(
            "{name} allows at most {max} images per post; this post has {}",
            max + 1
        );
        fails_once(
            &image_post(max + 1, name),
            p,
            "post.content.imageUrls",
            &msg,
        );
    }
    assert!(check(&image_post(35, "tiktok")).is_ok());
    let errs = errors(&image_post(36, "tiktok"));
    assert_eq!(errs.len(), 2, "{errs:#?}"); // the overall cap and tiktok's
    assert_eq!(
        errs[1].message,
        "tiktok allows at most 35 images per post; this post has 36"
    );
}

#[test]
fn youtube_takes_a_video_and_a_title() {
    let video = |title: Value, text: &str| {
        post(json!({ "text": text, "title": title, "videoUrl": VIDEO, "platform": ["youtube"] }))
    };
    let v = check(&video(json!("Launch day"), "All about it")).unwrap();
    assert_eq!(v.content.title.as_deref(), Some("Launch day"));
    let title = "post.content.title";
    let needs = "youtube needs a title (at most 100 characters)";
    fails_once(
        &post(json!({ "videoUrl": VIDEO, "platform": ["youtube"] })),
        Platform::Youtube,
        title,
        needs,
    );
    let blank = post(json!({ "title": "  ", "videoUrl": VIDEO, "platform": ["youtube"] }));
    fails_once(&blank, Platform::Youtube, title, needs);
    // A blank title with text takes the text's first line.
    assert_eq!(
        check(&video(json!("  "), "d"))
            .unwrap()
            .content
            .title
            .as_deref(),
        Some("d")
    );
    let forbidden = "youtube does not accept `<` or `>` in the title";
    fails_once(
        &video(json!("a <b> title"), "d"),
        Platform::Youtube,
        title,
        forbidden,
    );
    let forbidden = "youtube does not accept `<` or `>` in the description";
    fails_once(
        &video(json!("T"), "1 < 2"),
        Platform::Youtube,
        "post.content.text",
        forbidden,
    );
    // The description limit is 5,000 bytes: 1,700 CJK characters are 5,100.
    assert!(check(&video(json!("T"), &"a".repeat(5000))).is_ok());
    let msg = "youtube counts this description as 5100 bytes (UTF-8); the limit is 5000";
    fails_once(
        &video(json!("T"), &"字".repeat(1700)),
        Platform::Youtube,
        "post.content.text",
        msg,
    );
    // Other platforms ignore `<` and the title.
    assert!(
        check(&post(
            json!({ "text": "1 < 2", "title": "<t>", "platform": ["x"] })
        ))
        .is_ok()
    );
}

#[test]
fn youtube_refuses_images() {
    let body = post(json!({ "title": "T", "imageUrls": images(1), "platform": ["youtube"] }));
    let errs = errors(&body);
    let got: Vec<&str> = errs.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        got,
        [
            "youtube needs a video (videoUrl)",
            "youtube does not accept images"
        ]
    );
    assert!(errs.iter().all(|e| e.platform == Some(Platform::Youtube)));
}

#[test]
fn every_failing_target_is_reported_together() {
    let body = post(json!({
        "text": "a".repeat(3001),
        "imageUrls": images(11),
        "platform": ["x", "threads", "linkedin", "instagram", "facebook", "tiktok", "youtube"]
    }));
    let errs = errors(&body);
    let got: Vec<(&str, &str)> = errs
        .iter()
        .map(|e| (e.platform.map_or("", |p| p.as_str()), e.field.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("x", "post.content.text"),
            ("x", "post.content.imageUrls"),
            ("threads", "post.content.text"),
            ("linkedin", "post.content.text"),
            ("instagram", "post.content.text"),
            ("instagram", "post.content.imageUrls"),
            ("facebook", "post.content.imageUrls"),
            ("tiktok", "post.content.text"),
            ("youtube", "post.content.videoUrl"),
            ("youtube", "post.content.imageUrls"),
        ]
    );
}
