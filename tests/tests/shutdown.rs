//! Graceful shutdown: on SIGTERM, `soku api` stops taking connections, finishes every request it has accepted
//! (complete responses, nothing cut), keeps what it acknowledged, and exits 0.

use std::time::{Duration, Instant};

use soku_tests::*;

/// A bound against hanging, not a speed requirement.
const EXIT_WITHIN: Duration = Duration::from_secs(60);

async fn assert_exits_zero(api: &mut ApiProc) {
    let status = api.wait(EXIT_WITHIN).await.unwrap_or_else(|| {
        panic!(
            "soku api still runs {EXIT_WITHIN:?} after SIGTERM:\n{}",
            api.log_tail(30)
        )
    });
    assert!(
        status.success(),
        "soku api exited with {status} after SIGTERM:\n{}",
        api.log_tail(30)
    );
}

/// Waits until the server has logged that it received the signal and is draining.
async fn wait_draining(api: &ApiProc) {
    let deadline = Instant::now() + EXIT_WITHIN;
    while !api.log().contains("shutdown signal received") {
        assert!(
            Instant::now() < deadline,
            "soku api never logged the shutdown signal:\n{}",
            api.log_tail(30)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn sigterm_on_an_idle_server_exits_zero() {
    let (_env, _acct, mut api) = setup().await;
    api.sigterm();
    assert_exits_zero(&mut api).await;
}

#[tokio::test]
async fn requests_in_flight_at_sigterm_are_finished() {
    let (env, acct, mut api) = setup_unlimited().await;
    let addr = api.addr;
    // 50 connections whose request is half sent: the server has them and is reading their bodies.
    let mut pending = Vec::new();
    for i in 0..50 {
        let body = text_post(&format!("in flight {i}"), json!(["x", "threads"])).to_string();
        let (first, rest) = body.split_at(body.len() / 2);
        let head = format!(
            "POST /v1/posts HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nsoku-api-key: {}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{first}",
            acct.test_key,
            body.len()
        );
        let mut conn = RawConn::connect(addr).await.expect("connect");
        conn.write(head.as_bytes())
            .await
            .expect("send the first half");
        pending.push((conn, rest.to_string()));
    }
    // A request counts as in flight once the server has read its head and is serving it: wait until all 50 are
    // (the scrape counts itself too). A connection whose head the server has not read yet is idle to it, and a
    // graceful shutdown may close an idle connection.
    let deadline = Instant::now() + EXIT_WITHIN;
    loop {
        let text = api.get("/metrics").send().await.text;
        let in_flight = metric(&text, "soku_http_requests_in_flight");
        if in_flight.is_some_and(|n| n >= 51.0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the server never had the 50 requests in flight (last: {in_flight:?})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    api.sigterm();
    // The rest of each body goes out only once the server is shutting down.
    wait_draining(&api).await;
    let tasks: Vec<_> = pending
        .into_iter()
        .map(|(mut conn, rest)| {
            tokio::spawn(async move {
                conn.write(rest.as_bytes()).await?;
                conn.read_response().await
            })
        })
        .collect();
    let mut ids = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        let resp = task
            .await
            .expect("task")
            .unwrap_or_else(|e| panic!("request {i} got no complete response: {e}"));
        let body = resp.json();
        assert_eq!(
            resp.status,
            202,
            "request {i}: {}",
            String::from_utf8_lossy(&resp.body)
        );
        ids.push(
            body["postSubmissionId"]
                .as_str()
                .expect("postSubmissionId")
                .to_string(),
        );
    }
    assert_exits_zero(&mut api).await;

    // Everything acknowledged is there after a restart.
    let api = env
        .api()
        .env("SOKU_RATE_LIMIT_PRO", "1000000")
        .spawn()
        .await;
    for id in ids {
        api.get_with(&format!("/v1/posts/{id}"), &acct.test_key)
            .await
            .expect(200);
    }
}

#[derive(Debug)]
enum Outcome {
    /// A complete response: status and body.
    Done(u16, Value),
    /// No response at all (refused, or closed before the server answered): allowed once shutdown started.
    NoResponse,
    /// A response that was cut: never allowed.
    Cut(String),
}

#[tokio::test]
async fn sigterm_under_load_cuts_no_response() {
    let (env, acct, mut api) = setup_unlimited().await;
    let hang_guard = Instant::now() + EXIT_WITHIN;
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for w in 0..50 {
        let (client, url, key) = (
            api.client.clone(),
            api.url("/v1/posts"),
            acct.test_key.clone(),
        );
        let accepted = accepted.clone();
        // Each sends posts one after the other until the server no longer answers.
        workers.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            let mut i = 0;
            while Instant::now() < hang_guard {
                i += 1;
                let body = text_post(&format!("load {w}-{i}"), json!(["x"]));
                let sent = client
                    .post(&url)
                    .header("soku-api-key", &key)
                    .json(&body)
                    .send()
                    .await;
                let outcome = match sent {
                    Err(_) => Outcome::NoResponse,
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        match resp.bytes().await {
                            Err(e) => Outcome::Cut(format!("{status}: {e:?}")),
                            Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                                Ok(json) => Outcome::Done(status, json),
                                Err(e) => Outcome::Cut(format!(
                                    "{status}: {e}: {}",
                                    String::from_utf8_lossy(&bytes)
                                )),
                            },
                        }
                    }
                };
                if matches!(outcome, Outcome::Done(202, _)) {
                    accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                let stop = matches!(outcome, Outcome::NoResponse);
                outcomes.push(outcome);
                if stop {
                    break;
                }
            }
            outcomes
        }));
    }
    // SIGTERM once the load is in full swing: 100 posts accepted.
    while accepted.load(std::sync::atomic::Ordering::Relaxed) < 100 {
        assert!(Instant::now() < hang_guard, "the load did not start");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    api.sigterm();
    let mut outcomes = Vec::new();
    for worker in workers {
        outcomes.extend(worker.await.expect("worker"));
    }
    assert_exits_zero(&mut api).await;
    assert!(
        outcomes.iter().any(|o| matches!(o, Outcome::NoResponse)),
        "the load ran until the hang guard without the server going away"
    );

    let mut ids = Vec::new();
    for outcome in &outcomes {
        match outcome {
            Outcome::Done(202, body) => ids.push(
                body["postSubmissionId"]
                    .as_str()
                    .expect("postSubmissionId")
                    .to_string(),
            ),
            Outcome::Done(503, body) => assert_eq!(body["error"]["code"], "unavailable", "{body}"),
            Outcome::Done(status, body) => panic!("unexpected {status} under load: {body}"),
            Outcome::NoResponse => {}
            Outcome::Cut(e) => panic!("a response was cut by the shutdown: {e}"),
        }
    }
    assert!(
        ids.len() >= 100,
        "{} posts accepted, fewer than counted before SIGTERM",
        ids.len()
    );

    let api = env
        .api()
        .env("SOKU_RATE_LIMIT_PRO", "1000000")
        .spawn()
        .await;
    for id in ids {
        api.get_with(&format!("/v1/posts/{id}"), &acct.test_key)
            .await
            .expect(200);
    }
}
