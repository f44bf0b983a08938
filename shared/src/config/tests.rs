use super::*;

fn from(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    Settings::from_env_only(move |n| vars.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()))
}

#[test]
fn defaults_are_valid() {
    let s = from(&[]).unwrap();
    assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(s.public_url, "http://127.0.0.1:8080");
    assert_eq!(s.rate_limits.per_minute(Plan::Trial), 60);
    assert!(s.master_key.is_none());
}

#[test]
fn bad_values_name_the_setting() {
    assert_eq!(
        from(&[("SOKU_LISTEN", "nonsense")]).unwrap_err().name,
        "SOKU_LISTEN"
    );
    assert_eq!(
        from(&[("SOKU_MASTER_KEY", "abc")]).unwrap_err().name,
        "SOKU_MASTER_KEY"
    );
    assert_eq!(
        from(&[("SOKU_RATE_LIMIT_PRO", "0")]).unwrap_err().name,
        "SOKU_RATE_LIMIT_PRO"
    );
    assert_eq!(
        from(&[("REDIS_URL", "http://x")]).unwrap_err().name,
        "REDIS_URL"
    );
}

#[test]
fn master_key_is_not_debug_printed() {
    let s = from(&[("SOKU_MASTER_KEY", &"ab".repeat(32))]).unwrap();
    assert!(!format!("{s:?}").contains("abab"));
}

fn refusal(vars: &[(&str, &str)]) -> String {
    from(vars).unwrap_err().to_string()
}

/// Settings from a `soku.toml` named `soku.toml` holding `text`, and the environment `vars`.
fn with_file(text: &str, vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let file = ConfigFile {
        name: "soku.toml".into(),
        text: text.into(),
    };
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let env = move |n: &str| vars.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    Settings::from_sources(Some(&file), &env)
}

#[test]
fn every_default_is_the_documented_one() {
    let s = from(&[]).unwrap();
    assert_eq!(s.database_url(), "postgres://soku:soku@127.0.0.1:5432/soku");
    assert_eq!(s.redis_url(), "redis://127.0.0.1:6379");
    assert_eq!(s.data_dir, PathBuf::from("data"));
    assert_eq!(s.redis_prefix, "soku");
    assert_eq!(s.max_body_bytes, 1024 * 1024);
    assert_eq!(s.schedule_tolerance_secs, 300);
    let r = s.rate_limits;
    assert_eq!(
        (r.trial, r.starter, r.pro, r.business),
        (60, 120, 600, 1200)
    );
    assert_eq!(s.db_pool_size, 32);
    assert_eq!(s.log, "info");
    let w = &s.worker;
    assert_eq!(w.concurrency_publish, [32; 7]);
    assert_eq!(
        (w.poll_interval_ms, w.lease_secs, w.requeue_after_secs),
        (1000, 30, 30)
    );
    assert_eq!(
        (
            w.reconcile_interval_ms,
            w.publish_max_attempts,
            w.retry_base_ms
        ),
        (200, 6, 1000)
    );
    assert_eq!(w.sandbox_sink_url, None);
    assert_eq!(w.metrics_listen.to_string(), "127.0.0.1:9464");
    let h = &s.http;
    assert_eq!(
        (h.header_read_timeout_secs, h.body_read_timeout_secs),
        (10, 30)
    );
    assert_eq!((h.idle_timeout_secs, h.max_connections), (60, 1024));
    assert!(matches!(s.media.storage, StorageSettings::Local));
}

#[test]
fn the_environment_sets_every_kind_of_value() {
    let key = "0123456789".repeat(6) + "0123";
    let s = from(&[
        ("DATABASE_URL", "postgresql://a:b@db/x"),
        ("SOKU_LISTEN", "0.0.0.0:9000"),
        ("SOKU_PUBLIC_URL", "https://soku.example/"),
        ("SOKU_MASTER_KEY", &key),
        ("SOKU_REDIS_PREFIX", "123"),
        ("SOKU_MAX_BODY_BYTES", " 2048 "),
        ("SOKU_CONCURRENCY_PUBLISH", "5"),
        ("SOKU_CONCURRENCY_X", "2"),
        ("SOKU_SANDBOX_SINK_URL", "http://127.0.0.1:1/sink/"),
        ("SOKU_IDLE_TIMEOUT_SECS", "3600"),
        ("SOKU_MAX_CONNECTIONS", "100000"),
    ])
    .unwrap();
    assert_eq!(s.database_url(), "postgresql://a:b@db/x");
    assert_eq!(s.public_url, "https://soku.example");
    // All digits, yet text: a master key or a prefix is never taken for a number.
    assert_eq!(s.master_key.unwrap().0[..2], [0x01, 0x23]);
    assert_eq!(s.redis_prefix, "123");
    assert_eq!(s.max_body_bytes, 2048);
    assert_eq!(s.worker.concurrency_for(Platform::X), 2);
    assert_eq!(s.worker.concurrency_for(Platform::Youtube), 5);
    assert_eq!(
        s.worker.sandbox_sink_url.as_deref(),
        Some("http://127.0.0.1:1/sink")
    );
    assert_eq!(s.http.idle_timeout_secs, 3600);
    assert_eq!(s.http.max_connections, 100_000);
}

#[test]
fn every_platform_queue_has_its_own_concurrency() {
    for (i, platform) in Platform::ALL.into_iter().enumerate() {
        let var = format!(
            "SOKU_CONCURRENCY_{}",
            platform.as_str().to_ascii_uppercase()
        );
        let s = from(&[(&var, "7"), ("SOKU_CONCURRENCY_PUBLISH", "3")]).unwrap();
        assert_eq!(s.worker.concurrency_publish[i], 7, "{var}");
        assert_eq!(
            s.worker.concurrency_publish.iter().sum::<usize>(),
            7 + 6 * 3,
            "{var}"
        );
        assert_eq!(s.worker.concurrency_for(platform), 7, "{var}");
    }
}

#[test]
fn an_empty_variable_counts_as_unset() {
    let s = from(&[
        ("SOKU_LISTEN", ""),
        ("SOKU_MASTER_KEY", ""),
        ("SOKU_LEASE_SECS", ""),
    ])
    .unwrap();
    assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
    assert!(s.master_key.is_none());
    assert_eq!(s.worker.lease_secs, 30);
    let s = with_file("lease_secs = 40\n", &[("SOKU_LEASE_SECS", "")]).unwrap();
    assert_eq!(
        s.worker.lease_secs, 40,
        "an empty variable leaves the file's value"
    );
}

#[test]
fn each_refusal_says_what_is_wrong() {
    let cases = [
        (
            "SOKU_LEASE_SECS",
            "abc",
            "SOKU_LEASE_SECS: `abc` is not a whole number",
        ),
        (
            "SOKU_CONCURRENCY_X",
            "-1",
            "SOKU_CONCURRENCY_X: `-1` is not a whole number",
        ),
        (
            "SOKU_RATE_LIMIT_TRIAL",
            "1.5",
            "SOKU_RATE_LIMIT_TRIAL: `1.5` is not a whole number",
        ),
        (
            "SOKU_IDLE_TIMEOUT_SECS",
            "true",
            "SOKU_IDLE_TIMEOUT_SECS: `true` is not a whole number",
        ),
        (
            "SOKU_LEASE_SECS",
            "0",
            "SOKU_LEASE_SECS: must be between 1 and 3600",
        ),
        (
            "SOKU_MAX_BODY_BYTES",
            "10",
            "SOKU_MAX_BODY_BYTES: must be between 1024 and 67108864",
        ),
        (
            "SOKU_DB_POOL_SIZE",
            "1001",
            "SOKU_DB_POOL_SIZE: must be between 1 and 1000",
        ),
        (
            "SOKU_RATE_LIMIT_PRO",
            "0",
            "SOKU_RATE_LIMIT_PRO: must be at least 1",
        ),
        (
            "SOKU_SCHEDULE_TOLERANCE_SECS",
            "86401",
            "SOKU_SCHEDULE_TOLERANCE_SECS: must be at most 86400 (one day)",
        ),
        (
            "SOKU_LISTEN",
            "nonsense",
            "SOKU_LISTEN: `nonsense` is not an address like 127.0.0.1:8080",
        ),
        (
            "SOKU_WORKER_METRICS_LISTEN",
            "x",
            "SOKU_WORKER_METRICS_LISTEN: `x` is not an address like 127.0.0.1:9464",
        ),
        (
            "DATABASE_URL",
            "mysql://x",
            "DATABASE_URL: must start with postgres:// or postgresql://",
        ),
        (
            "REDIS_URL",
            "http://x",
            "REDIS_URL: must start with redis:// or rediss://",
        ),
        (
            "SOKU_PUBLIC_URL",
            "ftp://x",
            "SOKU_PUBLIC_URL: must be an http:// or https:// URL",
        ),
        (
            "SOKU_SANDBOX_SINK_URL",
            "x",
            "SOKU_SANDBOX_SINK_URL: must be an http:// or https:// URL",
        ),
        (
            "SOKU_REDIS_PREFIX",
            "a:b",
            "SOKU_REDIS_PREFIX: must be 1..64 characters of [A-Za-z0-9_-]",
        ),
        (
            "SOKU_MASTER_KEY",
            "abcd",
            "SOKU_MASTER_KEY: must be 64 hexadecimal characters (32 bytes)",
        ),
        (
            "SOKU_HEADER_READ_TIMEOUT_SECS",
            "301",
            "SOKU_HEADER_READ_TIMEOUT_SECS: must be between 1 and 300",
        ),
        (
            "SOKU_BODY_READ_TIMEOUT_SECS",
            "0",
            "SOKU_BODY_READ_TIMEOUT_SECS: must be between 1 and 600",
        ),
        (
            "SOKU_IDLE_TIMEOUT_SECS",
            "3601",
            "SOKU_IDLE_TIMEOUT_SECS: must be between 1 and 3600",
        ),
        (
            "SOKU_MAX_CONNECTIONS",
            "100001",
            "SOKU_MAX_CONNECTIONS: must be between 1 and 100000",
        ),
    ];
    for (var, value, expected) in cases {
        assert_eq!(refusal(&[(var, value)]), expected, "{var}={value:?}");
    }
}

#[test]
fn the_master_key_is_required_by_name() {
    let e = from(&[]).unwrap().require_master_key().unwrap_err();
    assert_eq!(e.name, "SOKU_MASTER_KEY");
}

#[test]
fn secrets_are_not_debug_printed() {
    let s = from(&[
        ("DATABASE_URL", "postgres://u:dbsecret@db/x"),
        ("REDIS_URL", "redis://:redissecret@r"),
    ])
    .unwrap();
    let debug = format!("{s:?}");
    assert!(
        !debug.contains("dbsecret") && !debug.contains("redissecret"),
        "{debug}"
    );
}

#[test]
fn the_file_is_read_and_the_environment_overrides_it() {
    let s = with_file(
        "rate_limit_trial = 7\nlisten = \"127.0.0.1:9\"\nmax_connections = 5\n",
        &[("SOKU_RATE_LIMIT_TRIAL", "11")],
    )
    .unwrap();
    assert_eq!(s.rate_limits.trial, 11);
    assert_eq!(s.listen.to_string(), "127.0.0.1:9");
    assert_eq!(s.public_url, "http://127.0.0.1:9");
    assert_eq!(s.http.max_connections, 5);
}

#[test]
fn a_bad_file_value_is_named_by_file_and_key() {
    let e = with_file("lease_secs = 30\nrate_limit_trial = \"many\"\n", &[]).unwrap_err();
    assert_eq!(e.name, "soku.toml: rate_limit_trial", "{e}");
    let e = with_file("master_key = 5\n", &[]).unwrap_err();
    assert_eq!(e.name, "soku.toml: master_key", "{e}");
    let e = with_file("lease_secs = -1\n", &[]).unwrap_err();
    assert_eq!(e.name, "soku.toml: lease_secs", "{e}");
    // Refused even though the environment would override it, as a file is checked on its own.
    let e = with_file("lease_secs = \"x\"\n", &[("SOKU_LEASE_SECS", "3")]).unwrap_err();
    assert_eq!(e.name, "soku.toml: lease_secs", "{e}");
}

#[test]
fn a_file_value_out_of_range_is_named_by_its_variable() {
    let e = with_file("lease_secs = 0\n", &[]).unwrap_err();
    assert_eq!(e.to_string(), "SOKU_LEASE_SECS: must be between 1 and 3600");
}

#[test]
fn unknown_keys_and_bad_syntax_in_the_file_are_refused() {
    let e = with_file("lease_secs = 30\nleese_secs = 3\n", &[]).unwrap_err();
    assert_eq!(e.name, "soku.toml: leese_secs", "{e}");
    assert!(e.message.contains("leese_secs"), "{e}");
    for text in [
        "LEASE_SECS = 3\n",
        "SOKU_LEASE_SECS = 3\n",
        "config = \"x\"\n",
        "[http]\nidle_timeout_secs = 3\n",
    ] {
        let e = with_file(text, &[]).unwrap_err();
        assert!(e.name.starts_with("soku.toml: "), "{text:?}: {e}");
    }
    let e = with_file("lease_secs = \n", &[]).unwrap_err();
    assert_eq!(e.name, "soku.toml", "{e}");
    assert!(!e.message.contains('\n'), "one line: {e}");
}

#[test]
fn soku_config_names_the_file() {
    let path = std::env::temp_dir().join(format!("soku-config-test-{}.toml", std::process::id()));
    std::fs::write(&path, "idle_timeout_secs = 9\n").unwrap();
    let name = path.display().to_string();
    let env = |n: &str| (n == "SOKU_CONFIG").then(|| name.clone());
    let s = Settings::load_with(&env);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(s.unwrap().http.idle_timeout_secs, 9);
    let e = Settings::load_with(&env).unwrap_err();
    assert_eq!(e.name, "SOKU_CONFIG");
    assert!(
        e.message.starts_with(&format!("cannot read {name}: ")),
        "{e}"
    );
}

#[test]
fn storage_is_local_unless_s3_is_named() {
    let s = from(&[("SOKU_S3_BUCKET", "ignored")]).unwrap();
    assert!(matches!(s.media.storage, StorageSettings::Local));
    assert_eq!(
        refusal(&[("SOKU_STORAGE_BACKEND", "gcs")]),
        "SOKU_STORAGE_BACKEND: `gcs` is neither `local` nor `s3`"
    );
}

#[test]
fn s3_storage_takes_its_settings() {
    let s = from(&[
        ("SOKU_STORAGE_BACKEND", "s3"),
        ("SOKU_S3_BUCKET", "soku-media"),
        ("SOKU_S3_ENDPOINT", "http://127.0.0.1:9000/"),
        ("SOKU_S3_ALLOW_HTTP", "true"),
        ("SOKU_S3_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("SOKU_S3_SECRET_ACCESS_KEY", "s3cr3t-value"),
    ])
    .unwrap();
    let StorageSettings::S3(s3) = &s.media.storage else {
        panic!("s3 storage: {:?}", s.media.storage);
    };
    assert_eq!(s3.bucket, "soku-media");
    assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
    assert_eq!(s3.region, "us-east-1");
    assert!(s3.allow_http);
    let key = s3.credentials.as_ref().unwrap();
    assert_eq!(key.access_key_id, "AKIDEXAMPLE");
    assert_eq!(key.secret_access_key.expose_secret(), "s3cr3t-value");
    let debug = format!("{s:?}");
    assert!(!debug.contains("s3cr3t"), "{debug}");

    let s = with_file(
        "storage_backend = \"s3\"\ns3_bucket = \"b.c-1\"\ns3_region = \"eu-west-3\"\ns3_allow_http = false\n",
        &[],
    )
    .unwrap();
    let StorageSettings::S3(s3) = &s.media.storage else {
        panic!("s3 storage from the file");
    };
    assert_eq!(
        (s3.bucket.as_str(), s3.region.as_str()),
        ("b.c-1", "eu-west-3")
    );
    assert!(s3.credentials.is_none() && s3.endpoint.is_none() && !s3.allow_http);
}

#[test]
fn s3_storage_refuses_what_it_cannot_use() {
    let s3 = ("SOKU_STORAGE_BACKEND", "s3");
    let bucket = ("SOKU_S3_BUCKET", "media");
    assert_eq!(
        refusal(&[s3]),
        "SOKU_S3_BUCKET: is required when SOKU_STORAGE_BACKEND is `s3` (the bucket media files are kept in)"
    );
    assert_eq!(
        refusal(&[s3, ("SOKU_S3_BUCKET", "Media_Files")]),
        "SOKU_S3_BUCKET: must be a bucket name: 3..63 characters of [a-z0-9.-], starting and ending with a \
         letter or digit"
    );
    assert_eq!(
        refusal(&[s3, bucket, ("SOKU_S3_ACCESS_KEY_ID", "AKID")]),
        "SOKU_S3_SECRET_ACCESS_KEY: is required with SOKU_S3_ACCESS_KEY_ID"
    );
    assert_eq!(
        refusal(&[s3, bucket, ("SOKU_S3_SECRET_ACCESS_KEY", "x")]),
        "SOKU_S3_ACCESS_KEY_ID: is required with SOKU_S3_SECRET_ACCESS_KEY"
    );
    assert_eq!(
        refusal(&[s3, bucket, ("SOKU_S3_ENDPOINT", "http://127.0.0.1:9000")]),
        "SOKU_S3_ENDPOINT: is an http:// URL: set SOKU_S3_ALLOW_HTTP=true to use it (or use https://)"
    );
    assert_eq!(
        refusal(&[s3, bucket, ("SOKU_S3_ENDPOINT", "minio:9000")]),
        "SOKU_S3_ENDPOINT: must be an http:// or https:// URL"
    );
    assert_eq!(
        refusal(&[("SOKU_S3_ALLOW_HTTP", "yes")]),
        "SOKU_S3_ALLOW_HTTP: `yes` is not `true` or `false`"
    );
    assert_eq!(
        refusal(&[("SOKU_S3_REGION", " ")]),
        "SOKU_S3_REGION: must not be empty"
    );
    let s = from(&[s3, bucket, ("SOKU_S3_ALLOW_HTTP", "1")]).unwrap();
    assert!(matches!(&s.media.storage, StorageSettings::S3(s3) if s3.allow_http));
}

#[test]
fn transcription_costs_are_per_started_minute() {
    use super::credits_for;
    assert_eq!(credits_for(1, 0.0), 0);
    assert_eq!(credits_for(1, 0.5), 1);
    assert_eq!(credits_for(1, 60.0), 1);
    // AAC priming makes a 60.0 s file decode to 60.02 s: still one minute.
    assert_eq!(credits_for(1, 60.02), 1);
    assert_eq!(credits_for(1, 60.25), 1);
    assert_eq!(credits_for(1, 60.3), 2);
    assert_eq!(credits_for(1, 120.02), 2);
    assert_eq!(credits_for(3, 600.0), 30);
    assert_eq!(credits_for(0, 600.0), 0);
    assert_eq!(credits_for(2, f64::NAN), 0);
}
