//! The OpenAPI document says what the server does (docs/api.md): every status code an operation can answer, the
//! headers every response carries, the constraints the server enforces, links from created objects to the
//! operations on them, examples the server accepts on any date, and one null rule for every request body (an
//! optional field sent as null is the field left out; null for a required field is that field missing). The
//! fuzzing of `tests/fuzz/run.sh` checks the same document against many more requests; these tests pin the parts
//! it relies on.

use chrono::{DateTime, Duration, Utc};
use soku_tests::*;

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

async fn document(api: &ApiProc) -> Value {
    api.get("/openapi.json").send().await.expect(200).clone()
}

/// `(path, method, operation)` of every operation.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if METHODS.contains(&method.as_str()) {
                ops.push((path.clone(), method.clone(), op.clone()));
            }
        }
    }
    ops
}

fn operation<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["paths"]
        .as_object()
        .and_then(|paths| {
            paths.values().find_map(|item| {
                METHODS
                    .iter()
                    .map(|m| &item[*m])
                    .find(|op| op["operationId"] == id)
            })
        })
        .unwrap_or_else(|| panic!("no operation {id}"))
}

fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
    let s = &doc["components"]["schemas"][name];
    assert!(s.is_object(), "no schema {name}");
    s
}

#[tokio::test]
async fn every_operation_documents_its_status_codes_and_headers() {
    let (_env, _acct, api) = setup().await;
    let doc = document(&api).await;
    let ops = operations(&doc);
    let mut ids: Vec<&str> = ops
        .iter()
        .map(|(p, m, op)| {
            op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{m} {p} has no operationId"))
        })
        .collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "operationIds are not unique: {ids:?}");
    let mut authenticated = 0;
    for (path, method, op) in &ops {
        let responses = op["responses"].as_object().expect("responses");
        let has = |status: &str| responses.contains_key(status);
        for (status, response) in responses {
            let header = &response["headers"]["X-Request-ID"];
            assert_eq!(
                header["required"], true,
                "{method} {path} {status}: X-Request-ID"
            );
        }
        if op["security"]
            .as_array()
            .is_some_and(|s| s.iter().any(|r| r.get("apiKey").is_some()))
        {
            authenticated += 1;
            for status in ["401", "403", "429", "503"] {
                assert!(has(status), "{method} {path} does not document {status}");
            }
            assert_eq!(
                responses["429"]["headers"]["Retry-After"]["required"], true,
                "{method} {path}"
            );
            assert!(
                responses["401"]["headers"]
                    .get("X-RateLimit-Limit")
                    .is_none(),
                "{method} {path}: a 401 comes before the rate limit"
            );
            for (status, response) in responses {
                if status.starts_with('2') {
                    for name in [
                        "X-RateLimit-Limit",
                        "X-RateLimit-Remaining",
                        "X-RateLimit-Reset",
                    ] {
                        assert_eq!(
                            response["headers"][name]["required"], true,
                            "{method} {path} {status}: {name}"
                        );
                    }
                }
            }
        }
        if op.get("requestBody").is_some() {
            for status in ["400", "413"] {
                assert!(has(status), "{method} {path} does not document {status}");
            }
        }
        if path.contains("{id}") {
            assert!(has("404"), "{method} {path} does not document 404");
        }
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        if let Some(key) = params.iter().find(|p| p["name"] == "Idempotency-Key") {
            assert_eq!(key["in"], "header");
            assert_eq!(key["schema"]["type"], "string", "{method} {path}");
            assert_eq!(key["schema"]["minLength"], 1);
            assert_eq!(key["schema"]["maxLength"], 255);
            assert_eq!(key["schema"]["pattern"], "^[\\x20-\\x7e]+$");
            for status in ["400", "409", "422"] {
                assert!(has(status), "{method} {path} does not document {status}");
            }
        }
        for p in &params {
            assert!(
                !p["schema"].to_string().contains("\"null\""),
                "{method} {path}: parameter {} may be null",
                p["name"]
            );
        }
    }
    assert!(
        authenticated >= 9,
        "only {authenticated} authenticated operations"
    );
}

#[tokio::test]
async fn links_lead_from_created_objects_to_the_operations_on_them() {
    let (_env, _acct, api) = setup().await;
    let doc = document(&api).await;
    let ids: Vec<String> = operations(&doc)
        .iter()
        .filter_map(|(_, _, op)| op["operationId"].as_str().map(str::to_string))
        .collect();
    let links = |op: &str, status: &str| {
        operation(&doc, op)["responses"][status]["links"]
            .as_object()
            .cloned()
            .unwrap_or_else(|| panic!("{op} {status} has no links"))
    };
    let expected = [
        (
            "createPost",
            "202",
            "$response.body#/postSubmissionId",
            &["getPost", "cancelPost", "retryPost"][..],
        ),
        (
            "createIntegration",
            "201",
            "$response.body#/id",
            &["getIntegration", "deleteIntegration"][..],
        ),
        (
            "createIntegration",
            "200",
            "$response.body#/id",
            &["getIntegration", "deleteIntegration"][..],
        ),
        (
            "deleteIntegration",
            "200",
            "$response.body#/id",
            &["getIntegration"][..],
        ),
    ];
    for (op, status, id, targets) in expected {
        let found = links(op, status);
        for target in targets {
            let link = found
                .values()
                .find(|l| l["operationId"] == *target)
                .unwrap_or_else(|| panic!("{op} {status} has no link to {target}: {found:?}"));
            assert_eq!(link["parameters"]["id"], id, "{op} → {target}");
        }
        for link in found.values() {
            let target = link["operationId"].as_str().expect("operationId");
            assert!(ids.iter().any(|i| i == target), "link to unknown {target}");
        }
    }
}

#[tokio::test]
async fn the_schemas_carry_the_constraints_the_server_enforces() {
    let (_env, _acct, api) = setup().await;
    let doc = document(&api).await;
    for list in ["listPosts", "listIntegrations"] {
        let params = operation(&doc, list)["parameters"]
            .as_array()
            .cloned()
            .unwrap();
        let limit = params.iter().find(|p| p["name"] == "limit").expect("limit");
        assert_eq!(limit["schema"]["minimum"], 1, "{list}");
        assert_eq!(limit["schema"]["maximum"], 100, "{list}");
    }
    let content = &schema(&doc, "ContentInput")["properties"];
    assert_eq!(content["platform"]["minItems"], 1);
    assert_eq!(content["platform"]["maxItems"], 50);
    assert_eq!(content["platform"]["uniqueItems"], true);
    assert_eq!(content["imageUrls"]["maxItems"], 35);
    assert_eq!(content["title"]["maxLength"], 100);
    let target = &schema(&doc, "AccountTarget")["properties"]["accountId"];
    let connect = schema(&doc, "ConnectIntegration");
    for account_id in [target, &connect["properties"]["accountId"]] {
        assert_eq!(account_id["minLength"], 1);
        assert_eq!(account_id["maxLength"], 100);
        assert!(account_id["pattern"].is_string());
    }
    assert_eq!(
        connect["properties"]["platform"]["$ref"],
        "#/components/schemas/Platform"
    );
    let platforms = &schema(&doc, "Platform")["enum"];
    assert_eq!(
        platforms,
        &json!([
            "threads",
            "x",
            "linkedin",
            "instagram",
            "facebook",
            "tiktok",
            "youtube"
        ])
    );
    let credentials = schema(&doc, "Credentials");
    assert_eq!(credentials["required"], json!(["accessToken"]));
    assert_eq!(credentials["properties"]["accessToken"]["minLength"], 1);
    for name in [
        "CreatePostRequest",
        "PostInput",
        "ContentInput",
        "ConnectIntegration",
    ] {
        assert_eq!(
            schema(&doc, name)["additionalProperties"],
            false,
            "{name} must refuse unknown fields"
        );
    }
    // The null rule: every optional field of a request body may be null, no required one may.
    for name in ["ContentInput", "CreatePostRequest", "ConnectIntegration"] {
        let s = schema(&doc, name);
        let required: Vec<&str> = s["required"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for (field, prop) in s["properties"].as_object().unwrap() {
            let nullable = prop.to_string().contains("\"null\"");
            assert_eq!(
                nullable,
                !required.contains(&field.as_str()),
                "{name}.{field}: {prop}"
            );
        }
    }
}

/// Every `scheduledTime` in the request examples.
fn example_times(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("scheduledTime", Value::String(t)) => out.push(t.clone()),
                    ("scheduledTime", Value::Array(ts)) => {
                        out.extend(ts.iter().filter_map(Value::as_str).map(str::to_string))
                    }
                    _ => example_times(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| example_times(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_examples_are_accepted_today() {
    let (_env, acct, api) = setup().await;
    let doc = document(&api).await;
    let mut times = Vec::new();
    example_times(&doc["paths"], &mut times);
    example_times(&doc["components"], &mut times);
    assert!(!times.is_empty(), "no example has a scheduledTime");
    let now = Utc::now();
    for t in &times {
        let at: DateTime<Utc> = t.parse().unwrap_or_else(|e| panic!("{t}: {e}"));
        assert!(
            at > now && at < now + Duration::days(365),
            "example scheduledTime {t} is not accepted today"
        );
    }
    for (op, path, status) in [
        ("createPost", "/v1/posts", 202),
        ("createIntegration", "/v1/integrations", 201),
    ] {
        let examples =
            operation(&doc, op)["requestBody"]["content"]["application/json"]["examples"]
                .as_object()
                .cloned()
                .unwrap_or_else(|| panic!("{op} has no request examples"));
        for (name, example) in examples {
            let r = api.post_json(path, &acct.test_key, &example["value"]).await;
            assert_eq!(r.status, status, "{op} example {name}: {}", r.text);
        }
    }
}

#[tokio::test]
async fn null_is_an_absent_optional_field_and_a_missing_required_one() {
    let (_env, acct, api) = setup().await;
    let body = json!({
        "post": { "content": {
            "text": "nulls are absences",
            "mediaType": null,
            "imageUrls": null,
            "videoUrl": null,
            "title": null,
            "platform": ["x", { "platform": "linkedin", "accountId": null }]
        } },
        "scheduledTime": null,
        "sandbox": null
    });
    let r = api.post_json("/v1/posts", &acct.test_key, &body).await;
    let created = r.expect(202);
    assert_eq!(created["status"], "queued");
    let id = created["postSubmissionId"].as_str().unwrap();
    let r = api
        .get_with(&format!("/v1/posts/{id}"), &acct.test_key)
        .await;
    let content = r.expect(200)["content"].clone();
    assert_eq!(content["mediaType"], "text");
    assert_eq!(content["platform"], json!(["x", "linkedin"]));
    // What GET returns is accepted as it is (an image post reads back with `"text": null`).
    let image = json!({ "post": { "content": {
        "text": null, "imageUrls": ["https://cdn.example.com/a.jpg"], "platform": ["instagram"] } } });
    let r = api.post_json("/v1/posts", &acct.test_key, &image).await;
    let id = r.expect(202)["postSubmissionId"]
        .as_str()
        .unwrap()
        .to_string();
    let r = api
        .get_with(&format!("/v1/posts/{id}"), &acct.test_key)
        .await;
    let read_back = r.expect(200)["content"].clone();
    assert!(read_back["text"].is_null(), "{read_back}");
    let again = json!({ "post": { "content": read_back } });
    api.post_json("/v1/posts", &acct.test_key, &again)
        .await
        .expect(202);

    // Null where something is required: that thing is missing, and the error says so.
    for (body, field, message) in [
        (json!({ "post": null }), "post", "is required"),
        (
            json!({ "post": { "content": { "text": "hi", "platform": null } } }),
            "post.content.platform",
            "is required: name at least one platform",
        ),
        (
            json!({ "post": { "content": { "text": null, "platform": ["x"] } } }),
            "post.content.text",
            "is required for a text post",
        ),
    ] {
        let r = api.post_json("/v1/posts", &acct.test_key, &body).await;
        r.error(400, "validation_error");
        let fields = r.failing_fields();
        assert!(
            fields
                .iter()
                .any(|f| f["field"] == field && f["message"] == message),
            "{body}: {}",
            r.text
        );
    }

    // Integrations follow the same rule.
    let connect = json!({ "platform": "x", "accountId": "x_nulls", "displayName": null, "isDefault": null,
                          "credentials": { "accessToken": "t", "expiresAt": null } });
    let r = api
        .post_json("/v1/integrations", &acct.test_key, &connect)
        .await;
    let created = r.expect(201);
    assert!(created["displayName"].is_null(), "{created}");
    for (field, value) in [
        ("platform", Value::Null),
        ("accountId", Value::Null),
        ("credentials", Value::Null),
    ] {
        let mut body = connect.clone();
        body[field] = value;
        let r = api
            .post_json("/v1/integrations", &acct.test_key, &body)
            .await;
        r.error(400, "validation_error");
        let fields = r.failing_fields();
        assert!(
            fields.iter().any(|f| f["field"] == field
                && f["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("is required"))),
            "{field}: {}",
            r.text
        );
    }
    let mut body = connect.clone();
    body["credentials"]["accessToken"] = Value::Null;
    let r = api
        .post_json("/v1/integrations", &acct.test_key, &body)
        .await;
    r.error(400, "validation_error");
    assert!(
        r.failing_fields()
            .iter()
            .any(|f| f["field"] == "credentials.accessToken" && f["message"] == "is required"),
        "{}",
        r.text
    );
}
