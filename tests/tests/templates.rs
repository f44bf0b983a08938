//! Templates (docs/media.md, "Templates"): the list with config schemas, real 1200x630 PNGs stored as media and
//! served, refusals naming the field, idempotency, and a rendered card published in a post. Every card rendered
//! here is also written to `$SOKU_TEMPLATE_PREVIEW_DIR` (default: `<tmp>/soku-template-previews`) for a person to
//! look at.

use std::time::Duration;

use soku_tests::*;

fn preview_dir() -> std::path::PathBuf {
    std::env::var_os("SOKU_TEMPLATE_PREVIEW_DIR")
        .map(Into::into)
        .unwrap_or_else(|| std::env::temp_dir().join("soku-template-previews"))
}

/// The width and height in a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

fn local_path(api: &ApiProc, url: &str) -> String {
    url.strip_prefix(api.url("").trim_end_matches('/'))
        .unwrap_or_else(|| panic!("{url} is not served by this API"))
        .to_string()
}

/// Renders `config` with `slug`, checks the answer and the served PNG, and saves it as `e2e-<slug>-<case>.png`.
async fn render(api: &ApiProc, key: &str, slug: &str, case: &str, config: Value) -> Value {
    let resp = api
        .post_json(
            "/v1/templates",
            key,
            &json!({"templateSlug": slug, "config": config}),
        )
        .await;
    let m = resp.expect(201).clone();
    assert_id(&m["id"], "media");
    assert_eq!(
        (m["width"].as_u64(), m["height"].as_u64()),
        (Some(1200), Some(630)),
        "{m}"
    );
    assert_eq!(m["templateSlug"], slug);
    assert_eq!(m["status"], "ready");
    assert_eq!(m["mimeType"], "image/png");
    let url = m["url"].as_str().unwrap();
    assert!(url.ends_with(".png"), "{url}");
    let file = api.get(&local_path(api, url)).send().await;
    file.expect(200);
    assert_eq!(file.header("content-type"), Some("image/png"));
    assert_eq!(png_size(&file.bytes), (1200, 630));
    assert_eq!(m["sizeBytes"], file.bytes.len() as u64);
    let dir = preview_dir();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("e2e-{slug}-{case}.png")), &file.bytes).unwrap();
    m
}

#[tokio::test]
async fn templates_are_listed_with_their_config_schemas() {
    let (_env, acct, api) = setup().await;
    let list = api.get_with("/v1/templates", &acct.test_key).await;
    let data = list.expect(200)["data"].as_array().unwrap().clone();
    let slugs: Vec<&str> = data.iter().map(|t| t["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, ["tweetImage", "quoteCard", "announcement"]);
    for t in &data {
        let schema = &t["configSchema"];
        assert_eq!(schema["type"], "object", "{t}");
        assert_eq!(schema["additionalProperties"], false, "{t}");
        assert!(
            schema["required"].as_array().is_some_and(|r| !r.is_empty()),
            "{t}"
        );
        assert_eq!(
            (t["width"].as_u64(), t["height"].as_u64()),
            (Some(1200), Some(630))
        );
    }
    let tweet = &data[0]["configSchema"];
    assert_eq!(tweet["required"], json!(["title", "author"]));
    assert!(tweet["properties"]["theme"].to_string().contains("light"));
}

#[tokio::test]
async fn every_template_renders_default_long_cjk_and_rtl_titles() {
    let (_env, acct, api) = setup().await;
    let long = "A very long title that goes on and on about building in public, shipping every week, and \
                learning from every mistake along the way until it cannot possibly fit on one line";
    let cjk = "公開で構築することから学んだ五つの教訓と、毎週出荷するチームの話";
    let rtl = "خمسة دروس من البناء العلني — חמישה שיעורים מבנייה בציבור";
    for (case, title) in [
        ("default", "5 Lessons From Building in Public"),
        ("long", long),
        ("cjk", cjk),
        ("rtl", rtl),
    ] {
        render(
            &api,
            &acct.test_key,
            "tweetImage",
            case,
            json!({"title": title, "author": "Soku Team", "theme": "dark", "handle": "soku"}),
        )
        .await;
        render(
            &api,
            &acct.test_key,
            "quoteCard",
            case,
            json!({"quote": title, "author": "Ada Lovelace", "theme": "light"}),
        )
        .await;
        render(&api, &acct.test_key, "announcement", case,
            json!({"title": title, "eyebrow": "Release", "summary": "What changed and why.", "accent": "#3b82f6"})).await;
    }
    eprintln!("template previews in {}", preview_dir().display());
}

#[tokio::test]
async fn bad_requests_name_the_field_and_store_nothing() {
    let (_env, acct, api) = setup().await;
    let unknown = api
        .post_json(
            "/v1/templates",
            &acct.test_key,
            &json!({"templateSlug": "ogBanner", "config": {}}),
        )
        .await;
    let err = unknown.error(404, "not_found");
    assert!(
        err["message"].as_str().unwrap().contains("tweetImage"),
        "{}",
        unknown.text
    );
    for (body, field) in [
        (
            json!({"templateSlug": "tweetImage", "config": {"author": "a"}}),
            "config.title",
        ),
        (
            json!({"templateSlug": "tweetImage", "config": {"title": "t", "author": "a", "theme": "blue"}}),
            "config.theme",
        ),
        (
            json!({"templateSlug": "tweetImage", "config": {"title": "t", "author": "a", "colour": "x"}}),
            "config.colour",
        ),
        (
            json!({"templateSlug": "tweetImage", "config": {"title": "x".repeat(281), "author": "a"}}),
            "config.title",
        ),
        (
            json!({"templateSlug": "announcement", "config": {"title": "t", "accent": "blue"}}),
            "config.accent",
        ),
        (
            json!({"templateSlug": "tweetImage", "config": "title"}),
            "config",
        ),
        (json!({"config": {}}), "templateSlug"),
        (
            json!({"templateSlug": "tweetImage", "config": {}, "extra": 1}),
            "extra",
        ),
    ] {
        let resp = api.post_json("/v1/templates", &acct.test_key, &body).await;
        let err = resp.error(400, "validation_error");
        assert_eq!(
            err["details"]["fields"][0]["field"], field,
            "{body}: {}",
            resp.text
        );
    }
    let listed = api.get_with("/v1/media", &acct.test_key).await;
    assert_eq!(listed.expect(200)["data"], json!([]));
}

#[tokio::test]
async fn a_rendered_card_replays_under_its_key_and_publishes_in_a_post() {
    let (env, acct, api) = setup().await;
    let body =
        json!({"templateSlug": "tweetImage", "config": {"title": "Hello", "author": "Soku"}});
    let send = || {
        api.post("/v1/templates")
            .key(&acct.test_key)
            .idempotency_key("card-1")
            .json(&body)
            .send()
    };
    let first = send().await;
    let again = send().await;
    assert_eq!(first.expect(201)["id"], again.expect(201)["id"]);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let url = first.json["url"].as_str().unwrap();
    let thumb = api
        .get(&local_path(
            &api,
            first.json["thumbnailUrl"].as_str().unwrap(),
        ))
        .send()
        .await;
    assert_eq!(thumb.header("content-type"), Some("image/jpeg"));
    let _worker = env.spawn_worker(&WorkerSpec::new()).await;
    let post = json!({"post": {"content": {"text": "a card", "mediaType": "image", "imageUrls": [url],
                                           "platform": ["x", "linkedin"]}}});
    let id = create_post(&api, &acct.test_key, &post).await;
    let done = wait_post(&api, &acct.test_key, &id, Duration::from_secs(60), settled).await;
    assert_eq!(done["status"], "published", "{done:#}");
}
