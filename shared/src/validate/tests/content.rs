//! Tests of `post.content`'s own fields: mediaType inference and consistency, text, URLs and title.

use serde_json::{Value, json};

use super::{check, errors, only_error, pairs, post};
use crate::platform::MediaType;

#[test]
fn media_type_is_inferred_when_absent() {
    let img = "https://cdn.example.com/a.jpg";
    let video = post(json!({ "videoUrl": "https://cdn.example.com/a.mp4", "platform": ["x"] }));
    assert_eq!(check(&video).unwrap().content.media_type, MediaType::Video);
    let image = post(json!({ "imageUrls": [img], "platform": ["x"] }));
    assert_eq!(check(&image).unwrap().content.media_type, MediaType::Image);
    let text = post(json!({ "text": "t", "imageUrls": [], "platform": ["x"] }));
    assert_eq!(check(&text).unwrap().content.media_type, MediaType::Text);
    let vid = "https://cdn.example.com/a.mp4";
    let both = post(json!({ "imageUrls": [img], "videoUrl": vid, "platform": ["x"] }));
    assert_eq!(
        pairs(&errors(&both)),
        [(
            "post.content.videoUrl",
            "cannot be combined with imageUrls; a post carries images or one video"
        )]
    );
}

#[test]
fn media_type_must_match_the_media() {
    let img = json!(["https://cdn.example.com/a.jpg"]);
    let vid = json!("https://cdn.example.com/a.mp4");
    let cases = [
        (
            json!({ "mediaType": "text", "text": "t", "imageUrls": img }),
            "post.content.imageUrls",
            "must be empty when mediaType is `text`",
        ),
        (
            json!({ "mediaType": "text", "text": "t", "videoUrl": vid }),
            "post.content.videoUrl",
            "must be absent when mediaType is `text`",
        ),
        (
            json!({ "mediaType": "image", "text": "t" }),
            "post.content.imageUrls",
            "needs at least one image URL when mediaType is `image`",
        ),
        (
            json!({ "mediaType": "image", "imageUrls": img, "videoUrl": vid }),
            "post.content.videoUrl",
            "must be absent when mediaType is `image`",
        ),
        (
            json!({ "mediaType": "video", "text": "t" }),
            "post.content.videoUrl",
            "is required when mediaType is `video`",
        ),
        (
            json!({ "mediaType": "video", "videoUrl": vid, "imageUrls": img }),
            "post.content.imageUrls",
            "must be empty when mediaType is `video`",
        ),
        (
            json!({ "mediaType": "Video", "videoUrl": vid }),
            "post.content.mediaType",
            "must be one of `text`, `image`, `video`; got `Video`",
        ),
    ];
    for (mut content, field, message) in cases {
        content["platform"] = json!(["x"]);
        let e = only_error(&post(content));
        assert_eq!((e.field.as_str(), e.message.as_str()), (field, message));
    }
}

#[test]
fn text_rules() {
    let field = "post.content.text";
    assert_eq!(
        pairs(&errors(&post(json!({ "platform": ["x"] })))),
        [(field, "is required for a text post")]
    );
    let blank = post(json!({ "text": " \n", "platform": ["x"] }));
    assert_eq!(
        pairs(&errors(&blank)),
        [(field, "must not be empty for a text post")]
    );
    let nul = only_error(&post(json!({ "text": "a\u{0}b", "platform": ["x"] })));
    assert_eq!(
        nul.message,
        "must not contain NUL (only newline, carriage return and tab are allowed); found U+0000 at character 2"
    );
    let esc = only_error(&post(json!({ "text": "\u{1b}[31m", "platform": ["x"] })));
    assert!(
        esc.message
            .starts_with("must not contain control characters"),
        "{}",
        esc.message
    );
    let huge = "a".repeat(63_207);
    assert_eq!(
        pairs(&errors(&post(
            json!({ "text": huge, "platform": ["facebook"] })
        ))),
        [(field, "is 63207 characters long; the limit is 63206")]
    );
    let fine = "Line one\r\n\tمرحبا 👨‍👩‍👧‍👦 日本語 שלום";
    let v = check(&post(json!({ "text": fine, "platform": ["x", "threads"] }))).unwrap();
    assert_eq!(v.content.text.as_deref(), Some(fine));
    // A media post may leave the text out; a blank one is stored as none.
    let image = post(
        json!({ "text": "  ", "imageUrls": ["https://cdn.example.com/a.jpg"], "platform": ["x"] }),
    );
    assert_eq!(check(&image).unwrap().content.text, None);
}

#[test]
fn url_rules() {
    let long = format!("https://cdn.example.com/{}", "a".repeat(2030));
    let cases = [
        (
            "ftp://cdn.example.com/a.jpg",
            "must be an absolute http:// or https:// URL",
        ),
        (
            "/media/a.jpg",
            "must be an absolute http:// or https:// URL",
        ),
        (
            "cdn.example.com/a.jpg",
            "must be an absolute http:// or https:// URL",
        ),
        (
            "https://cdn.example.com/a b.jpg",
            "must not contain whitespace or control characters",
        ),
        ("https://", "is not a valid URL: empty host"),
        (
            "http://exa mple.com",
            "must not contain whitespace or control characters",
        ),
        ("https://:80/a.jpg", "is not a valid URL: empty host"),
        (long.as_str(), "is 2054 characters long; the limit is 2048"),
    ];
    for (url, message) in cases {
        let e = only_error(&post(
            json!({ "imageUrls": ["https://cdn.example.com/ok.jpg", url], "platform": ["x"] }),
        ));
        assert_eq!(
            (e.field.as_str(), e.message.as_str()),
            ("post.content.imageUrls[1]", message),
            "{url}"
        );
        let e = only_error(&post(json!({ "videoUrl": url, "platform": ["x"] })));
        assert_eq!(
            (e.field.as_str(), e.message.as_str()),
            ("post.content.videoUrl", message),
            "{url}"
        );
    }
    let ok = [
        "HTTPS://CDN.example.com/a.jpg?x=1#f",
        "http://127.0.0.1:8080/media/a.jpg",
        "https://bücher.example/a.jpg",
    ];
    for url in ok {
        assert!(
            check(&post(json!({ "imageUrls": [url], "platform": ["x"] }))).is_ok(),
            "{url}"
        );
    }
    let urls: Vec<String> = (0..36)
        .map(|i| format!("https://cdn.example.com/{i}.jpg"))
        .collect();
    let errs = errors(&post(json!({ "imageUrls": urls, "platform": ["threads"] })));
    assert_eq!(errs[0].field, "post.content.imageUrls");
    assert_eq!(errs[0].message, "has 36 entries; the limit is 35");
}

#[test]
fn title_rules() {
    let body = |title: Value| post(json!({ "text": "t", "title": title, "platform": ["x"] }));
    let e = only_error(&body(json!("t".repeat(101))));
    assert_eq!(
        (e.field.as_str(), e.message.as_str()),
        (
            "post.content.title",
            "is 101 characters long; the limit is 100"
        )
    );
    assert!(
        only_error(&body(json!("a\u{7f}")))
            .message
            .starts_with("must not contain control characters")
    );
    assert_eq!(
        check(&body(json!("A title")))
            .unwrap()
            .content
            .title
            .as_deref(),
        Some("A title")
    );
    assert_eq!(check(&body(json!(""))).unwrap().content.title, None);
}
