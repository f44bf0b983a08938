//! The operator CLI and configuration (docs/api.md "Operator CLI", docs/configuration.md): every admin
//! command prints one JSON object, fails with one line on stderr, and configuration is checked at start.

use soku_tests::*;

async fn account_id(env: &TestEnv) -> String {
    env.admin(&["account", "create", "--name", "cli"]).await["accountId"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn migrate_prints_json_and_can_run_again() {
    let env = TestEnv::new().await;
    let out = env.run(&["migrate"], &[]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(printed, json!({"migrated": true}));
}

#[tokio::test]
async fn account_create_prints_the_account_with_defaults() {
    let env = TestEnv::new().await;
    let acct = env.admin(&["account", "create", "--name", "Acme"]).await;
    assert_id(&acct["accountId"], "acct_");
    assert_eq!(acct["name"], "Acme");
    assert_eq!(acct["plan"], "trial");
    assert_eq!(acct["status"], "trialing");
    assert_time_ms(&acct["createdAt"]);
    assert_time_ms(&acct["trialEndsAt"]);
    let ends = chrono::DateTime::parse_from_rfc3339(acct["trialEndsAt"].as_str().unwrap()).unwrap();
    let days = (ends.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_hours() as f64 / 24.0;
    assert!(
        (13.5..=14.5).contains(&days),
        "a trial ends 14 days from now, not {days:.1}"
    );
    for field in ["credits", "email"] {
        assert!(acct.get(field).is_some(), "no {field} in {acct}");
    }
}

#[tokio::test]
async fn account_create_takes_every_option() {
    let env = TestEnv::new().await;
    let acct = env
        .admin(&[
            "account",
            "create",
            "--name",
            "Big",
            "--plan",
            "business",
            "--status",
            "active",
            "--credits",
            "250",
            "--email",
            "ops@example.com",
            "--password",
            "correct horse battery staple",
        ])
        .await;
    assert_eq!(acct["plan"], "business");
    assert_eq!(acct["status"], "active");
    assert_eq!(acct["credits"], 250);
    assert_eq!(acct["email"], "ops@example.com");
    assert!(
        !acct.to_string().contains("correct horse"),
        "the password is printed: {acct}"
    );
}

#[tokio::test]
async fn account_create_refuses_bad_values_in_one_line() {
    let env = TestEnv::new().await;
    // Each line names the bad value and what would be accepted.
    let cases: [(&[&str], &str); 3] = [
        (
            &["--plan", "platinum"],
            "expected one of trial, starter, pro, business",
        ),
        (
            &["--status", "sleeping"],
            "expected one of trialing, active, canceled, expired, past_due",
        ),
        (&["--trial-ends-at", "tomorrow"], "rfc 3339"),
    ];
    for (extra, accepted) in cases {
        let args = [&["account", "create", "--name", "bad"][..], extra].concat();
        let line = env.admin_fail(&args).await.to_lowercase();
        let value = extra.last().unwrap();
        assert!(
            line.contains(&format!("`{value}`")) && line.contains(accepted),
            "{extra:?}: the message should name `{value}` and say {accepted:?}: {line}"
        );
    }
}

#[tokio::test]
async fn argument_parser_errors_are_one_line_too() {
    let env = TestEnv::new().await;
    let id = account_id(&env).await;
    let cases: [&[&str]; 7] = [
        &["account", "create"],
        &["account", "create", "--name", "n", "--credits", "lots"],
        &["account", "create", "--name", "n", "--credits=-5"],
        &["credits", "grant", &id, "abc"],
        &["key", "create"],
        &["integration", "add", &id, "--platform", "x"],
        &["account", "create", "--name", "n", "--colour", "red"],
    ];
    let mut multi_line = Vec::new();
    for args in cases {
        let out = env.run(&[&["admin"], args].concat(), &[]).await;
        assert!(!out.status.success(), "{args:?} should fail");
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        if stderr.is_empty() || stderr.contains('\n') {
            multi_line.push(format!("{args:?}: {stderr:?}"));
        }
    }
    assert!(
        multi_line.is_empty(),
        "not one line on stderr:\n{}",
        multi_line.join("\n")
    );
}

#[tokio::test]
async fn account_update_changes_plan_and_status() {
    let env = TestEnv::new().await;
    let id = account_id(&env).await;
    let updated = env
        .admin(&[
            "account", "update", &id, "--plan", "pro", "--status", "active",
        ])
        .await;
    assert_eq!(updated["accountId"], id.as_str());
    assert_eq!(updated["plan"], "pro");
    assert_eq!(updated["status"], "active");
    let ends = time_from_now(86_400);
    let updated = env
        .admin(&[
            "account",
            "update",
            &id,
            "--status",
            "trialing",
            "--trial-ends-at",
            &ends,
        ])
        .await;
    assert_eq!(updated["trialEndsAt"], ends.as_str());
    // A trial always ends: an account moved to trialing without a date gets one.
    let endless = env
        .admin(&[
            "account", "create", "--name", "e", "--plan", "pro", "--status", "active",
        ])
        .await;
    let endless = endless["accountId"].as_str().unwrap();
    let trial = env
        .admin(&["account", "update", endless, "--status", "trialing"])
        .await;
    assert!(trial["trialEndsAt"].is_string(), "{trial}");
    env.admin_fail(&["account", "update", &id, "--plan", "gold"])
        .await;
    env.admin_fail(&["account", "update", &id, "--status", "gone"])
        .await;
    let unknown = format!("acct_{}", random_alnum(24));
    env.admin_fail(&["account", "update", &unknown, "--plan", "pro"])
        .await;
}

#[tokio::test]
async fn credits_grant_adds_to_the_balance() {
    let env = TestEnv::new().await;
    let id = env
        .admin(&["account", "create", "--name", "c", "--credits", "10"])
        .await["accountId"]
        .as_str()
        .unwrap()
        .to_string();
    let granted = env.admin(&["credits", "grant", &id, "5"]).await;
    assert_eq!(granted["accountId"], id.as_str());
    assert_eq!(granted["balance"], 15);
    assert_eq!(
        env.admin(&["credits", "grant", &id, "100"]).await["balance"],
        115
    );
    let unknown = format!("acct_{}", random_alnum(24));
    env.admin_fail(&["credits", "grant", &unknown, "5"]).await;
}

#[tokio::test]
async fn key_create_prints_the_key_once_with_a_preview() {
    let env = TestEnv::new().await;
    let id = account_id(&env).await;
    for (mode, prefix) in [("live", "sk_live_"), ("test", "sk_test_")] {
        let key = env
            .admin(&["key", "create", &id, "--name", "ci", "--mode", mode])
            .await;
        assert_id(&key["id"], "key_");
        assert_eq!(key["accountId"], id.as_str());
        assert_eq!(key["name"], "ci");
        assert_eq!(key["mode"], mode);
        assert_eq!(key["status"], "active");
        assert_time_ms(&key["createdAt"]);
        let api_key = key["apiKey"].as_str().unwrap();
        let secret = api_key
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("{api_key} should start with {prefix}"));
        assert!(
            secret.len() >= 32 && secret.chars().all(|c| c.is_ascii_alphanumeric()),
            "{api_key}: 32+ base62"
        );
        let preview = key["preview"].as_str().unwrap();
        assert!(
            preview.starts_with(&format!("{prefix}{}", &secret[..3])),
            "preview {preview}"
        );
        assert!(
            preview.ends_with(&secret[secret.len() - 3..]),
            "preview {preview}"
        );
        assert!(
            !preview.contains(&secret[3..secret.len() - 3]),
            "the preview shows the key: {preview}"
        );
        // Once: the only other command that prints a key, revoke, never shows it.
        let revoked = env
            .admin(&["key", "revoke", key["id"].as_str().unwrap()])
            .await;
        assert!(revoked.get("apiKey").is_none(), "{revoked}");
        assert!(
            !revoked.to_string().contains(secret),
            "revoke printed the key: {revoked}"
        );
    }
    let live = env.admin(&["key", "create", &id]).await;
    assert!(
        live["apiKey"].as_str().unwrap().starts_with("sk_live_"),
        "live is the default mode: {live}"
    );
}

#[tokio::test]
async fn key_create_refuses_bad_input_in_one_line() {
    let env = TestEnv::new().await;
    let id = account_id(&env).await;
    env.admin_fail(&["key", "create", &format!("acct_{}", random_alnum(24))])
        .await;
    env.admin_fail(&["key", "create", "not-an-id"]).await;
    let line = env
        .admin_fail(&["key", "create", &id, "--mode", "staging"])
        .await;
    assert!(line.to_lowercase().contains("mode"), "{line}");
}

#[tokio::test]
async fn key_revoke_prints_the_revoked_key() {
    let env = TestEnv::new().await;
    let id = account_id(&env).await;
    let key = env.admin(&["key", "create", &id]).await;
    let key_id = key["id"].as_str().unwrap();
    let revoked = env.admin(&["key", "revoke", key_id]).await;
    assert_eq!(revoked["id"], key_id, "{revoked}");
    assert_eq!(revoked["status"], "revoked", "{revoked}");
    env.admin_fail(&["key", "revoke", &format!("key_{}", random_alnum(24))])
        .await;
}

#[tokio::test]
async fn api_keys_are_stored_only_as_hashes() {
    let env = TestEnv::new().await;
    let acct = env.active_account().await;
    for key in [&acct.live_key, &acct.test_key] {
        let secret = &key[8..];
        let tables = env.tables_containing(secret).await;
        assert!(
            tables.is_empty(),
            "an API key is stored in plain text in {tables:?}"
        );
    }
}

#[tokio::test]
async fn integration_add_prints_the_integration_without_credentials() {
    let env = TestEnv::new().await;
    let id = account_id(&env).await;
    let credentials =
        json!({"accessToken": "cli-secret-token", "refreshToken": "cli-refresh"}).to_string();
    let added = env
        .admin(&[
            "integration",
            "add",
            &id,
            "--platform",
            "instagram",
            "--account-id",
            "ig_main",
            "--default",
            "--display-name",
            "Main IG",
            "--credentials",
            &credentials,
        ])
        .await;
    assert_id(&added["id"], "int_");
    assert_eq!(added["platform"], "instagram");
    assert_eq!(added["accountId"], "ig_main");
    assert_eq!(added["displayName"], "Main IG");
    assert_eq!(added["isDefault"], true);
    assert_eq!(added["status"], "active");
    assert_eq!(added["livemode"], true);
    assert!(
        !added.to_string().contains("cli-secret-token"),
        "credentials printed: {added}"
    );
}

#[tokio::test]
async fn integration_add_refuses_bad_input_in_one_line() {
    let env = TestEnv::new().await;
    let id = account_id(&env).await;
    let good = json!({"accessToken": "t"}).to_string();
    let line = env
        .admin_fail(&[
            "integration",
            "add",
            &id,
            "--platform",
            "myspace",
            "--account-id",
            "m",
            "--credentials",
            &good,
        ])
        .await;
    assert!(line.to_lowercase().contains("platform"), "{line}");
    env.admin_fail(&[
        "integration",
        "add",
        &id,
        "--platform",
        "x",
        "--account-id",
        "m",
        "--credentials",
        "{not json",
    ])
    .await;
    let unknown = format!("acct_{}", random_alnum(24));
    env.admin_fail(&[
        "integration",
        "add",
        &unknown,
        "--platform",
        "x",
        "--account-id",
        "m",
        "--credentials",
        &good,
    ])
    .await;
}
