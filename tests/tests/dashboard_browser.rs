//! The dashboard in a real browser: tests/browser/dashboard.test.mjs drives Debian's Chromium (headless, through
//! playwright-core with the system browser) against a real `soku api` through logging in (and a wrong password),
//! generating a key, copying it, using it against `POST /v1/posts`, revoking it in the UI and seeing the next
//! call refused, every page, and logging out. It writes screenshots of every page at 1280x800 and 390x844 to
//! `<target>/dashboard-screenshots/` (docs/dashboard.md). scripts/test.sh installs the browser and the driver
//! (`ensure_browser`, which sets SOKU_TEST_BROWSER); without them the test says so and returns.

use std::path::PathBuf;
use std::process::Command;

use soku_tests::*;

/// Where the screenshots go: `dashboard-screenshots/` beside the `soku` binary's profile folder.
fn screenshots() -> PathBuf {
    let bin =
        PathBuf::from(std::env::var("SOKU_BIN").unwrap_or_else(|_| "target/debug/soku".into()));
    let target = bin
        .parent()
        .and_then(|p| p.parent())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    target.join("dashboard-screenshots")
}

#[tokio::test]
async fn the_dashboard_works_in_a_real_browser() {
    let Ok(browser) = std::env::var("SOKU_TEST_BROWSER") else {
        eprintln!(
            "skipped: SOKU_TEST_BROWSER is not set (scripts/test.sh installs Chromium and sets it)"
        );
        return;
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let driver = root.join("tests/browser");
    assert!(
        driver.join("node_modules/playwright-core").is_dir(),
        "tests/browser/node_modules is missing: run `source scripts/lib.sh; ensure_browser`"
    );
    let env = TestEnv::new().await;
    let (email, password) = ("owner@dashboard.test", "a long enough passphrase");
    let acct = env
        .admin(&[
            "account",
            "create",
            "--name",
            "Acme Studio",
            "--plan",
            "pro",
            "--status",
            "active",
            "--credits",
            "120",
            "--email",
            email,
            "--password",
            password,
        ])
        .await;
    let account = acct["accountId"].as_str().unwrap().to_string();
    for (platform, label, mode) in [
        ("threads", "threads_main", "live"),
        ("x", "x_brand", "test"),
    ] {
        env.admin(&[
            "integration",
            "add",
            &account,
            "--platform",
            platform,
            "--account-id",
            label,
            "--default",
            "--mode",
            mode,
            "--credentials",
            r#"{"accessToken": "placeholder"}"#,
        ])
        .await;
    }
    let api = env.spawn_api().await;
    // A post of each mode, so the posts page has something to show.
    let test_key = env
        .admin(&[
            "key",
            "create",
            &account,
            "--name",
            "seed test",
            "--mode",
            "test",
        ])
        .await;
    api.post("/v1/posts")
        .key(test_key["apiKey"].as_str().unwrap())
        .json(&text_post("Hello from the sandbox", json!(["x"])))
        .send()
        .await
        .expect(202);
    let shots = screenshots();
    std::fs::create_dir_all(&shots).unwrap();
    let out = Command::new("node")
        .arg("dashboard.test.mjs")
        .current_dir(&driver)
        .env("SOKU_BASE_URL", api.url("").trim_end_matches('/'))
        .env("SOKU_EMAIL", email)
        .env("SOKU_PASSWORD", password)
        .env("SOKU_SCREENSHOTS", &shots)
        .env("SOKU_TEST_BROWSER", &browser)
        .output()
        .expect("node (scripts/lib.sh installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the browser test failed:\n{stdout}\n{stderr}\nAPI log:\n{}",
        api.log_tail(40)
    );
    assert!(stdout.contains(" 0 failed"), "{stdout}");
    for page in [
        "login",
        "keys",
        "key-created",
        "revoke",
        "posts",
        "integrations",
        "account",
    ] {
        for size in ["1280x800", "390x844"] {
            let png = shots.join(format!("{page}-{size}.png"));
            assert!(png.is_file(), "no screenshot {}", png.display());
        }
    }
    eprintln!("screenshots in {}", shots.display());
}
