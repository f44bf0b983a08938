//! The operator CLI and configuration (API.md "Operator CLI and configuration", contract-notes): every admin
//! command prints one JSON object, fails with one line on stderr, and configuration is checked at start.

use std::time::Duration;

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
    let cases: [(&[&str], &str); 5] = [
        (&["--plan", "platinum"], "plan"),
        (&["--status", "sleeping"], "status"),
        (&["--trial-ends-at", "tomorrow"], "trial"),
        (&["--credits", "lots"], "credits"),
        (&["--credits=-5"], "credits"),
    ];
    for (extra, named) in cases {
        let args = [&["account", "create", "--name", "bad"][..], extra].concat();
        let line = env.admin_fail(&args).await;
        assert!(
            line.to_lowercase().contains(named),
            "{extra:?}: the message should name {named}: {line}"
        );
    }
    env.admin_fail(&["account", "create"]).await;
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
    env.admin_fail(&["credits", "grant", &id, "abc"]).await;
    env.admin_fail(&[
        "credits",
        "grant",
        &format!("acct_{}", random_alnum(24)),
        "5",
    ])
    .await;
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
    assert_eq!(
        env.admin(&["key", "revoke", key_id]).await,
        json!({"id": key_id, "status": "revoked"})
    );
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
    env.admin_fail(&["integration", "add", &id, "--platform", "x"])
        .await;
}

fn free_listen() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("local_addr").to_string()
}

/// `soku api` with `var=value` must stop at once, exit 2, and name `var` on stderr.
async fn assert_config_refused(var: &str, value: &str) {
    let env = TestEnv::new().await;
    let started = std::time::Instant::now();
    // A server that wrongly starts anyway must not take a port another test uses.
    let listen = free_listen();
    let mut overrides = vec![(var, value)];
    if var != "SOKU_LISTEN" {
        overrides.push(("SOKU_LISTEN", &listen));
    }
    let out = env.run(&["api"], &overrides).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "soku api with {var}={value:?} started: {stderr}"
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "contract-notes: a bad value exits 2; stderr: {stderr}"
    );
    assert!(stderr.contains(var), "stderr should name {var}: {stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "refusing a bad {var} took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn bad_listen_address_stops_the_process() {
    assert_config_refused("SOKU_LISTEN", "nonsense").await;
}

#[tokio::test]
async fn bad_master_key_stops_the_process() {
    assert_config_refused("SOKU_MASTER_KEY", "0123abcd").await;
}

#[tokio::test]
async fn non_hex_master_key_stops_the_process() {
    assert_config_refused("SOKU_MASTER_KEY", &"zz".repeat(32)).await;
}

#[tokio::test]
async fn bad_rate_limit_stops_the_process() {
    assert_config_refused("SOKU_RATE_LIMIT_TRIAL", "lots").await;
}

#[tokio::test]
async fn missing_master_key_stops_the_process() {
    let env = TestEnv::new().await;
    let out = env
        .run(
            &["api"],
            &[("SOKU_MASTER_KEY", ""), ("SOKU_LISTEN", &free_listen())],
        )
        .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "soku api without a master key started: {stderr}"
    );
    assert!(
        stderr.contains("SOKU_MASTER_KEY"),
        "stderr should name SOKU_MASTER_KEY: {stderr}"
    );
}

#[tokio::test]
async fn config_file_is_read_and_the_environment_overrides_it() {
    let env = TestEnv::new().await;
    let acct = env.account("trial", "trialing").await;
    let file = env.dir.join("custom.toml");
    std::fs::write(&file, "rate_limit_trial = 7\nrate_limit_starter = 9\n")
        .expect("write the config file");
    let path = file.display().to_string();
    let api = env.api().env("SOKU_CONFIG", &path).spawn().await;
    let r = api.get_with("/v1/posts", &acct.live_key).await;
    assert_eq!(
        r.header_int("x-ratelimit-limit"),
        7,
        "rate_limit_trial from SOKU_CONFIG"
    );
    drop(api);
    let api = env
        .api()
        .env("SOKU_CONFIG", &path)
        .env("SOKU_RATE_LIMIT_TRIAL", "11")
        .spawn()
        .await;
    let r = api.get_with("/v1/posts", &acct.live_key).await;
    assert_eq!(
        r.header_int("x-ratelimit-limit"),
        11,
        "the environment wins over the file"
    );
    drop(api);
    std::fs::write(&file, "rate_limit_trial = \"many\"\n").expect("write the config file");
    let out = env
        .run(
            &["api"],
            &[("SOKU_CONFIG", &path), ("SOKU_LISTEN", &free_listen())],
        )
        .await;
    assert!(
        !out.status.success(),
        "a bad value in the file must stop the process"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("rate_limit_trial") || stderr.contains("SOKU_RATE_LIMIT_TRIAL"),
        "{stderr}"
    );
}
