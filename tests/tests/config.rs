//! Configuration (docs/configuration.md: defaults, then a TOML file, then the environment), checked at start: a bad
//! value stops the process with exit code 2 and a message naming the setting.

use soku_tests::*;

fn free_listen() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("local_addr").to_string()
}

/// `soku api` with `var=value` must stop at once, exit 2, and name `var` on stderr.
async fn assert_config_refused(var: &str, value: &str) {
    let env = TestEnv::new().await;
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
        "docs/configuration.md: a bad value exits 2; stderr: {stderr}"
    );
    // That it stops rather than hangs is what `run` checks (it gives up after a minute).
    assert!(stderr.contains(var), "stderr should name {var}: {stderr}");
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
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a bad value in the file stops the process with exit code 2: {stderr}"
    );
    // The message names the file and the key as written there.
    assert!(
        stderr.contains(&path) && stderr.contains("rate_limit_trial"),
        "{stderr}"
    );
}

#[tokio::test]
async fn bad_log_filter_stops_the_process() {
    assert_config_refused("SOKU_LOG", "soku=[[[").await;
}

#[tokio::test]
async fn schedule_tolerance_is_bounded() {
    assert_config_refused("SOKU_SCHEDULE_TOLERANCE_SECS", "10000000000000000").await;
}
