//! Connected platform accounts (docs/api.md "Integrations"): created with 201, credentials never returned and never
//! stored in plain text, one default per platform, deletion felt by the next live post, input checked.

use soku_tests::*;

fn integration(platform: &str, label: &str, default: bool, token: &str) -> Value {
    json!({"platform": platform, "accountId": label, "displayName": "X", "isDefault": default,
           "credentials": {"accessToken": token, "refreshToken": "r"}})
}

fn unique_token() -> String {
    format!("{TEST_TOKEN_PREFIX}{}", random_alnum(20))
}

#[tokio::test]
async fn create_returns_201_without_credentials() {
    let (_env, acct, api) = setup().await;
    let token = unique_token();
    let r = api
        .post_json(
            "/v1/integrations",
            &acct.live_key,
            &integration("x", "x_main", true, &token),
        )
        .await;
    let body = r.expect(201);
    assert_id(&body["id"], "int_");
    assert_eq!(body["platform"], "x");
    assert_eq!(body["accountId"], "x_main");
    assert_eq!(body["displayName"], "X");
    assert_eq!(body["isDefault"], true);
    assert_eq!(body["status"], "active");
    assert_eq!(body["livemode"], true);
    assert_time_ms(&body["createdAt"]);
    assert!(
        body.get("credentials").is_none(),
        "credentials returned: {}",
        r.text
    );
    assert!(
        !r.text.contains(&token) && !r.text.contains("\"r\""),
        "a token is in the response: {}",
        r.text
    );
}

#[tokio::test]
async fn list_never_contains_a_token() {
    let (_env, acct, api) = setup().await;
    let token = unique_token();
    api.post_json(
        "/v1/integrations",
        &acct.live_key,
        &integration("x", "x_main", true, &token),
    )
    .await
    .expect(201);
    let r = api.get_with("/v1/integrations", &acct.live_key).await;
    let body = r.expect(200);
    assert_eq!(body["data"].as_array().map(Vec::len), Some(1), "{}", r.text);
    assert!(
        body.get("hasMore").is_some() && body.get("nextCursor").is_some(),
        "a paginated list: {}",
        r.text
    );
    assert!(
        !r.text.contains(&token),
        "the token is in the list: {}",
        r.text
    );
    assert!(
        !r.text.contains("credentials"),
        "credentials in the list: {}",
        r.text
    );
}

#[tokio::test]
async fn tokens_are_not_stored_in_plain_text() {
    let (env, acct, api) = setup().await;
    let (token, refresh) = (unique_token(), unique_token());
    let body = json!({"platform": "linkedin", "accountId": "li", "isDefault": true,
                      "credentials": {"accessToken": token, "refreshToken": refresh, "authorUrn": "urn:li:person:1"}});
    api.post_json("/v1/integrations", &acct.live_key, &body)
        .await
        .expect(201);
    let cli_token = unique_token();
    let credentials = json!({"accessToken": cli_token}).to_string();
    env.admin(&[
        "integration",
        "add",
        &acct.id,
        "--platform",
        "x",
        "--account-id",
        "x_cli",
        "--credentials",
        &credentials,
    ])
    .await;
    for secret in [&token, &refresh, &cli_token] {
        let tables = env.tables_containing(secret).await;
        assert!(
            tables.is_empty(),
            "a credential is stored in plain text in {tables:?}"
        );
    }
    // The scan itself works: the non-secret label is found.
    assert!(
        !env.tables_containing("x_cli").await.is_empty(),
        "the database scan finds nothing at all"
    );
}

#[tokio::test]
async fn a_new_default_replaces_the_old_one() {
    let (_env, acct, api) = setup().await;
    let first = api
        .post_json(
            "/v1/integrations",
            &acct.live_key,
            &integration("x", "x_one", true, "t1"),
        )
        .await;
    let first_id = first.expect(201)["id"].clone();
    let second = api
        .post_json(
            "/v1/integrations",
            &acct.live_key,
            &integration("x", "x_two", true, "t2"),
        )
        .await;
    let second_id = second.expect(201)["id"].clone();
    api.post_json(
        "/v1/integrations",
        &acct.live_key,
        &integration("threads", "th", true, "t3"),
    )
    .await
    .expect(201);
    let list = api
        .get_with("/v1/integrations", &acct.live_key)
        .await
        .expect(200)
        .clone();
    let by_id = |id: &Value| {
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| &i["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_id(&first_id)["isDefault"], false, "{list}");
    assert_eq!(by_id(&second_id)["isDefault"], true, "{list}");
    let defaults = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["isDefault"] == true)
        .count();
    assert_eq!(defaults, 2, "one default for x and one for threads: {list}");
    // A bare platform name goes to the default.
    let r = api
        .post_json("/v1/posts", &acct.live_key, &text_post("hi", json!(["x"])))
        .await;
    assert_eq!(r.expect(202)["targets"][0]["accountId"], "x_two");
}

#[tokio::test]
async fn deleted_integration_is_missing_for_the_next_live_post() {
    let (_env, acct, api) = setup().await;
    let created = api
        .post_json(
            "/v1/integrations",
            &acct.live_key,
            &integration("x", "x_main", true, "t"),
        )
        .await;
    let id = created.expect(201)["id"].as_str().unwrap().to_string();
    api.post_json(
        "/v1/posts",
        &acct.live_key,
        &text_post("before", json!(["x"])),
    )
    .await
    .expect(202);
    let deleted = api
        .delete_with(&format!("/v1/integrations/{id}"), &acct.live_key)
        .await;
    assert_eq!(deleted.expect(200)["id"], id.as_str());
    assert_eq!(deleted.json["deleted"], true);
    let r = api
        .post_json(
            "/v1/posts",
            &acct.live_key,
            &text_post("after", json!(["x"])),
        )
        .await;
    let error = r.error(400, "missing_integrations");
    assert_eq!(
        error["details"]["missing"].as_array().map(Vec::len),
        Some(1),
        "{}",
        r.text
    );
    let list = api.get_with("/v1/integrations", &acct.live_key).await;
    assert!(
        !list.text.contains(&id),
        "a deleted integration is listed: {}",
        list.text
    );
    api.delete_with(&format!("/v1/integrations/{id}"), &acct.live_key)
        .await
        .error(404, "not_found");
}

#[tokio::test]
async fn integration_of_another_account_is_not_found() {
    let (env, acct, api) = setup().await;
    let other = env.active_account().await;
    let created = api
        .post_json(
            "/v1/integrations",
            &acct.live_key,
            &integration("x", "x_main", true, "t"),
        )
        .await;
    let id = created.expect(201)["id"].as_str().unwrap().to_string();
    api.delete_with(&format!("/v1/integrations/{id}"), &other.live_key)
        .await
        .error(404, "not_found");
    let list = api.get_with("/v1/integrations", &other.live_key).await;
    assert!(!list.text.contains(&id), "{}", list.text);
    let unknown = format!("/v1/integrations/int_{}", random_alnum(24));
    api.delete_with(&unknown, &acct.live_key)
        .await
        .error(404, "not_found");
}

#[tokio::test]
async fn bad_integrations_are_refused_naming_the_field() {
    let (_env, acct, api) = setup().await;
    let cases = [
        (
            "platform",
            json!({"platform": "myspace", "accountId": "m", "credentials": {"accessToken": "t"}}),
        ),
        (
            "accessToken",
            json!({"platform": "x", "accountId": "m", "credentials": {"refreshToken": "r"}}),
        ),
        ("credentials", json!({"platform": "x", "accountId": "m"})),
        (
            "accountId",
            json!({"platform": "x", "credentials": {"accessToken": "t"}}),
        ),
        (
            "isDefault",
            json!({"platform": "x", "accountId": "m", "isDefault": "yes", "credentials": {"accessToken": "t"}}),
        ),
        // A label a post could never name (posts refuse leading/trailing spaces and line separators).
        (
            "accountId",
            json!({"platform": "x", "accountId": "x main ", "credentials": {"accessToken": "t"}}),
        ),
        (
            "accountId",
            json!({"platform": "x", "accountId": "x\u{2028}main", "credentials": {"accessToken": "t"}}),
        ),
    ];
    for (field, body) in cases {
        let r = api
            .post_json("/v1/integrations", &acct.live_key, &body)
            .await;
        r.error(400, "validation_error");
        let named = r
            .failing_fields()
            .iter()
            .any(|f| f["field"].as_str().unwrap().contains(field));
        assert!(named, "no entry names {field}: {}", r.text);
    }
    let list = api
        .get_with("/v1/integrations", &acct.live_key)
        .await
        .expect(200)
        .clone();
    assert_eq!(
        list["data"].as_array().map(Vec::len),
        Some(0),
        "a refused integration was stored: {list}"
    );
}
