//! The OpenAPI document and the health endpoints: `/healthz` says the process is up, `/readyz` says its
//! dependencies are; a Redis that is down gives 503 `unavailable`, never a 500 and never a process that won't start.

use soku_tests::*;

#[tokio::test]
async fn openapi_document_is_3_1_with_every_path_and_the_error_schema() {
    let (_env, _acct, api) = setup().await;
    let r = api.get("/openapi.json").send().await;
    let doc = r.expect(200);
    let version = doc["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3.1"), "openapi is {version:?}");
    let expected = [
        ("/v1/posts", vec!["get", "post"]),
        ("/v1/posts/{id}", vec!["get", "delete"]),
        ("/v1/posts/{id}/retry", vec!["post"]),
        ("/v1/integrations", vec!["get", "post"]),
        ("/v1/integrations/{id}", vec!["get", "delete"]),
        ("/healthz", vec!["get"]),
        ("/readyz", vec!["get"]),
        ("/metrics", vec!["get"]),
    ];
    for (path, methods) in expected {
        let item = &doc["paths"][path];
        assert!(
            item.is_object(),
            "paths has no {path}: {:?}",
            doc["paths"]
                .as_object()
                .map(|p| p.keys().collect::<Vec<_>>())
        );
        for method in methods {
            assert!(item[method].is_object(), "{path} has no {method}");
        }
    }
    let schemas = doc["components"]["schemas"]
        .as_object()
        .expect("components.schemas");
    let has_error_schema = schemas.values().any(|s| {
        let text = s.to_string();
        text.contains("requestId") && text.contains("timestamp") && text.contains("code")
    });
    assert!(
        has_error_schema,
        "no schema describes the error shape: {:?}",
        schemas.keys().collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn healthz_and_readyz_are_ok_when_everything_is_up() {
    let (_env, _acct, api) = setup().await;
    api.get("/healthz").send().await.expect(200);
    api.get("/readyz").send().await.expect(200);
}

#[tokio::test]
async fn redis_down_means_503_unavailable_not_500() {
    let env = TestEnv::new().await;
    let acct = env.active_account().await;
    // The process must start without Redis and say it is alive.
    let api = env
        .api()
        .env("REDIS_URL", "redis://127.0.0.1:1")
        .spawn()
        .await;
    api.get("/healthz").send().await.expect(200);
    api.get("/readyz").send().await.error(503, "unavailable");
    let r = api
        .post_json(
            "/v1/posts",
            &acct.test_key,
            &text_post("no queue", json!(["x"])),
        )
        .await;
    r.error(503, "unavailable");
    let r = api
        .post_json(
            "/v1/posts",
            &acct.live_key,
            &text_post("no queue", json!(["x"])),
        )
        .await;
    // The rate limit is counted in Redis before anything else about the post is looked at.
    r.error(503, "unavailable");
}
