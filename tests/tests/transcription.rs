//! Transcription with credits (docs/transcription.md, docs/credits.md), end to end: speech made with espeak-ng,
//! muxed into an MP4 with ffmpeg, uploaded as media and transcribed by the real local Whisper server that
//! scripts/test.sh starts (`SOKU_TEST_TRANSCRIPTION_URL`); without it the tests say so and return. Recognised
//! words are matched loosely (tiny.en on synthetic speech is rough), times exactly.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use axum::{Router, http::StatusCode, response::IntoResponse, routing::post};
use serde_json::{Value, json};
use soku_tests::media_files::png;
use soku_tests::*;

/// The last `n` lines of a process's log.
fn tail(log: &str, n: usize) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The Whisper server to test against, or `None` (with a note) when none is set.
fn whisper_url() -> Option<String> {
    match std::env::var("SOKU_TEST_TRANSCRIPTION_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            eprintln!(
                "skipped: SOKU_TEST_TRANSCRIPTION_URL is not set (scripts/test.sh starts a Whisper server and sets it)"
            );
            None
        }
    }
}

/// Spoken `sentences` with `gap` seconds of silence after each, as an MP4 (a small black video and AAC audio)
/// under `dir`; returns its bytes and when each sentence starts.
fn speech_mp4(dir: &Path, name: &str, sentences: &[&str], gap: f64) -> (Vec<u8>, Vec<f64>) {
    std::fs::create_dir_all(dir).unwrap();
    let mut pcm = Vec::new();
    let mut starts = Vec::new();
    for (i, s) in sentences.iter().enumerate() {
        let wav = dir.join(format!("{name}-{i}.wav"));
        let ok = Command::new("espeak-ng")
            .args(["-s", "150", "-w"])
            .arg(&wav)
            .arg(s)
            .status()
            .expect("espeak-ng (scripts/lib.sh installs it)");
        assert!(ok.success(), "espeak-ng failed");
        let out = Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(&wav)
            .args(["-f", "s16le", "-ac", "1", "-ar", "16000", "-"])
            .output()
            .expect("ffmpeg");
        assert!(
            out.status.success(),
            "ffmpeg: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        starts.push(pcm.len() as f64 / 32000.0);
        pcm.extend_from_slice(&out.stdout);
        pcm.extend(std::iter::repeat_n(0u8, (gap * 32000.0) as usize & !1));
    }
    let raw = dir.join(format!("{name}.pcm"));
    std::fs::write(&raw, &pcm).unwrap();
    let mp4 = dir.join(format!("{name}.mp4"));
    let out = Command::new("ffmpeg")
        .args([
            "-v", "error", "-y", "-f", "s16le", "-ar", "16000", "-ac", "1", "-i",
        ])
        .arg(&raw)
        .args([
            "-f",
            "lavfi",
            "-i",
            "color=c=black:s=160x120:r=5",
            "-shortest",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-movflags",
            "+faststart",
        ])
        .arg(&mp4)
        .output()
        .expect("ffmpeg");
    assert!(
        out.status.success(),
        "ffmpeg: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (std::fs::read(&mp4).unwrap(), starts)
}

const SHORT: &[&str] =
    &["The quick brown fox jumps over the lazy dog. Please transcribe this short sentence."];

/// An API and a worker that transcribe with `url`, plus `extra` settings.
async fn stt(env: &TestEnv, url: &str, extra: &[(&str, &str)]) -> (ApiProc, WorkerProc) {
    let mut settings = vec![("SOKU_TRANSCRIPTION_URL", url)];
    settings.extend_from_slice(extra);
    let api = env.api().envs(&settings).spawn().await;
    let worker = env.spawn_worker(&WorkerSpec::new().envs(&settings)).await;
    (api, worker)
}

async fn media_of(api: &ApiProc, key: &str, name: &str, bytes: &[u8]) -> String {
    let id = upload(api, key, name, bytes).await.expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let m = wait_media(api, key, &id).await;
    assert_eq!(m["status"], "ready", "{m}");
    id
}

/// Polls the job until it is no longer queued or processing; returns it.
async fn wait_job(api: &ApiProc, key: &str, id: &str, patience: Duration) -> Value {
    let deadline = Instant::now() + patience;
    loop {
        let j = api
            .get_with(&format!("/v1/ai/transcribe/{id}"), key)
            .await
            .expect(200)
            .clone();
        if j["status"] != "queued" && j["status"] != "processing" {
            return j;
        }
        assert!(Instant::now() < deadline, "the job never finished: {j}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn credits(api: &ApiProc, key: &str) -> (i64, i64, i64) {
    let c = api.get_with("/v1/credits", key).await.expect(200).clone();
    let n = |k: &str| c[k].as_i64().unwrap();
    assert_eq!(n("available"), n("balance") - n("reserved"), "{c}");
    (n("balance"), n("reserved"), n("available"))
}

/// Every ledger row of the account (all pages), oldest first.
async fn ledger(api: &ApiProc, key: &str) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/credits/ledger?limit=100&cursor={c}"),
            None => "/v1/credits/ledger?limit=100".to_string(),
        };
        let page = api.get_with(&path, key).await.expect(200).clone();
        rows.extend(page["data"].as_array().unwrap().iter().cloned());
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    rows.reverse();
    rows
}

fn sum(rows: &[Value], kind: &str, field: &str) -> i64 {
    rows.iter()
        .filter(|r| r["kind"] == kind)
        .map(|r| r[field].as_i64().unwrap())
        .sum()
}

fn words(text: &str) -> String {
    text.to_lowercase()
}

fn assert_segments(job: &Value, duration: f64) {
    let segs = job["transcript"]["segments"].as_array().expect("segments");
    assert!(!segs.is_empty(), "{job}");
    let mut last = 0.0;
    for s in segs {
        let (a, b) = (s["start"].as_f64().unwrap(), s["end"].as_f64().unwrap());
        assert!(a >= last - 1e-6 && b >= a, "times go backwards: {segs:?}");
        assert!(
            b <= duration + 0.01,
            "a segment ends after the media: {b} > {duration}"
        );
        last = a;
    }
}

/// Parses a subtitle file with a parser Soku did not write (`srt`, `webvtt-py`); returns its cues' texts.
fn parse_subtitles(kind: &str, text: &str, dir: &Path) -> Vec<String> {
    let python = std::env::var("SOKU_TEST_SUBTITLE_PYTHON")
        .expect("SOKU_TEST_SUBTITLE_PYTHON (start_whisper sets it)");
    let file = dir.join(format!("subtitles.{kind}"));
    std::fs::write(&file, text).unwrap();
    let script = match kind {
        "srt" => {
            "import srt,sys\nfor c in srt.parse(open(sys.argv[1]).read()):\n    print(c.content.replace('\\n',' '))"
        }
        _ => {
            "import webvtt,sys\nfor c in webvtt.read(sys.argv[1]):\n    print(c.text.replace('\\n',' '))"
        }
    };
    let out = Command::new(python)
        .args(["-c", script])
        .arg(&file)
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "the {kind} file does not parse: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn speech_is_transcribed_charged_by_its_measured_length_once_and_served_as_files() {
    let Some(url) = whisper_url() else { return };
    let env = TestEnv::new().await;
    let acct = env.active_account().await;
    env.admin(&["credits", "grant", &acct.id, "25"]).await;
    let (api, worker) = stt(&env, &url, &[]).await;
    let (video, _) = speech_mp4(&env.dir.join("fixtures"), "short", SHORT, 0.5);
    let media = media_of(&api, &acct.live_key, "speech.mp4", &video).await;

    // Declared 600 s: ten minutes reserved at 1 credit per started minute.
    let body =
        json!({"mediaId": media, "language": "en", "model": "whisper-1", "durationSeconds": 600});
    let r = api
        .post("/v1/ai/transcribe")
        .key(&acct.live_key)
        .header("idempotency-key", "ep42")
        .json(&body)
        .send()
        .await;
    let accepted = r.expect(202).clone();
    assert_eq!(accepted["status"], "queued");
    assert_eq!(accepted["creditsReserved"], 10);
    let job_id = accepted["jobId"].as_str().unwrap().to_string();
    assert!(job_id.starts_with("job_"), "{accepted}");

    // A replay (other spacing, other key order) is the same job and reserves nothing more.
    let replay = api
        .post("/v1/ai/transcribe")
        .key(&acct.live_key)
        .header("idempotency-key", "ep42")
        .header("content-type", "application/json")
        .body(format!(
            r#"{{ "durationSeconds": 600, "model": "whisper-1", "language": "en", "mediaId": "{media}" }}"#
        ))
        .send()
        .await;
    assert_eq!(replay.expect(202)["jobId"], job_id);
    let other = json!({"mediaId": media, "durationSeconds": 60});
    api.post("/v1/ai/transcribe")
        .key(&acct.live_key)
        .header("idempotency-key", "ep42")
        .json(&other)
        .send()
        .await
        .error(422, "idempotency_key_reused");

    let job = wait_job(&api, &acct.live_key, &job_id, Duration::from_secs(120)).await;
    assert_eq!(
        job["status"],
        "completed",
        "{job}\n{}",
        tail(&worker.log(), 30)
    );
    let text = words(job["transcript"]["text"].as_str().unwrap());
    assert!(
        ["quick", "fox", "lazy", "dog", "transcribe", "sentence"]
            .iter()
            .filter(|w| text.contains(*w))
            .count()
            >= 3,
        "not the sentence spoken: {text}"
    );
    let duration = job["durationSeconds"].as_f64().unwrap();
    assert!((4.0..12.0).contains(&duration), "measured {duration}");
    assert_segments(&job, duration);
    assert_eq!(job["progress"], 1.0);
    assert_eq!(job["language"], "en");
    // The charge is the measured length's price: one started minute.
    assert_eq!(job["creditsCharged"], 1, "{job}");
    assert_eq!(credits(&api, &acct.live_key).await, (24, 0, 24));
    let rows = ledger(&api, &acct.live_key).await;
    let of_job: Vec<&Value> = rows.iter().filter(|r| r["jobId"] == job_id).collect();
    let kinds: Vec<&str> = of_job.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["reserve", "charge", "release"], "{rows:?}");
    assert_eq!(of_job[0]["reservedChange"], 10);
    assert_eq!(of_job[1]["amount"], -1);
    assert_eq!(of_job[2]["reservedChange"], -9);

    // The transcript as files, valid for parsers Soku did not write.
    let dir = env.dir.join("fixtures");
    for (format, ct) in [
        ("srt", "application/x-subrip; charset=utf-8"),
        ("vtt", "text/vtt; charset=utf-8"),
        ("txt", "text/plain; charset=utf-8"),
    ] {
        let f = api
            .get(&format!("/v1/ai/transcribe/{job_id}?format={format}"))
            .key(&acct.live_key)
            .send()
            .await;
        assert_eq!(f.status, 200, "{format}: {}", f.text);
        assert_eq!(f.header("content-type"), Some(ct));
        if format != "txt" {
            let cues = parse_subtitles(format, &f.text, &dir);
            assert_eq!(
                cues.len(),
                job["transcript"]["segments"].as_array().unwrap().len()
            );
        } else {
            assert_eq!(
                f.text.trim(),
                job["transcript"]["text"].as_str().unwrap().trim()
            );
        }
    }
    api.get(&format!("/v1/ai/transcribe/{job_id}?format=docx"))
        .key(&acct.live_key)
        .send()
        .await
        .error(400, "validation_error");
    // Listed, and the test mode sees none of it.
    let list = api
        .get_with("/v1/ai/transcribe", &acct.live_key)
        .await
        .expect(200)
        .clone();
    assert_eq!(list["data"][0]["jobId"], job_id);
    let test_list = api
        .get_with("/v1/ai/transcribe", &acct.test_key)
        .await
        .expect(200)
        .clone();
    assert_eq!(test_list["data"], json!([]));
    api.get_with(&format!("/v1/ai/transcribe/{job_id}"), &acct.test_key)
        .await
        .error(404, "not_found");
    // Replayed after the job settled: still the same job, still nothing more.
    let again = api
        .post("/v1/ai/transcribe")
        .key(&acct.live_key)
        .header("idempotency-key", "ep42")
        .json(&body)
        .send()
        .await;
    assert_eq!(again.expect(202)["jobId"], job_id);
    assert_eq!(credits(&api, &acct.live_key).await, (24, 0, 24));

    // An operator refunds the job once, and corrects the balance, each with a ledger row.
    let refunded = env.admin(&["credits", "refund", &job_id]).await;
    assert_eq!(
        (refunded["refunded"].as_i64(), refunded["balance"].as_i64()),
        (Some(1), Some(25))
    );
    let twice = env.admin_fail(&["credits", "refund", &job_id]).await;
    assert!(twice.contains("refunded already"), "{twice}");
    let too_much = env
        .admin_fail(&["credits", "adjust", &acct.id, "-26", "--reason", "typo"])
        .await;
    assert!(too_much.contains("25 are available"), "{too_much}");
    let adjusted = env
        .admin(&[
            "credits",
            "adjust",
            &acct.id,
            "-5",
            "--reason",
            "granted twice by mistake",
        ])
        .await;
    assert_eq!(adjusted["balance"], 20);
    let rows = ledger(&api, &acct.live_key).await;
    let last: Vec<(&str, i64)> = rows[rows.len() - 2..]
        .iter()
        .map(|r| (r["kind"].as_str().unwrap(), r["amount"].as_i64().unwrap()))
        .collect();
    assert_eq!(last, [("refund", 1), ("adjustment", -5)]);
    assert_eq!(rows.last().unwrap()["reason"], "granted twice by mistake");
}

#[tokio::test]
async fn test_mode_transcribes_for_real_and_is_never_charged() {
    let Some(url) = whisper_url() else { return };
    let env = TestEnv::new().await;
    let acct = env.active_account().await;
    let (api, _worker) = stt(&env, &url, &[]).await;
    let (video, _) = speech_mp4(&env.dir.join("fixtures"), "short", SHORT, 0.5);
    let media = media_of(&api, &acct.test_key, "speech.mp4", &video).await;
    let r = api
        .post_json(
            "/v1/ai/transcribe",
            &acct.test_key,
            &json!({"mediaId": media, "durationSeconds": 3600}),
        )
        .await;
    let accepted = r.expect(202).clone();
    assert_eq!(
        accepted["creditsReserved"], 0,
        "a balance of 0 is enough in test mode: {accepted}"
    );
    assert_eq!(accepted["billing"], "test");
    let job = wait_job(
        &api,
        &acct.test_key,
        accepted["jobId"].as_str().unwrap(),
        Duration::from_secs(120),
    )
    .await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(job["creditsCharged"], 0);
    assert_eq!(job["billing"], "test");
    assert!(
        words(job["transcript"]["text"].as_str().unwrap()).contains("dog")
            || words(job["transcript"]["text"].as_str().unwrap()).contains("fox"),
        "{job}"
    );
    assert_eq!(credits(&api, &acct.test_key).await, (0, 0, 0));
    assert!(ledger(&api, &acct.live_key).await.is_empty());
}

#[tokio::test]
async fn two_hundred_concurrent_requests_against_a_balance_for_ten_accept_exactly_ten() {
    let Some(url) = whisper_url() else { return };
    let env = TestEnv::new().await;
    let acct = env.active_account().await;
    env.admin(&["credits", "grant", &acct.id, "10"]).await;
    let (api, worker) = stt(&env, &url, &[("SOKU_CONCURRENCY_TRANSCRIBE", "4")]).await;
    let (video, _) = speech_mp4(&env.dir.join("fixtures"), "short", SHORT, 0.5);
    let media = media_of(&api, &acct.live_key, "speech.mp4", &video).await;
    let body = json!({"mediaId": media, "durationSeconds": 60});
    let answers = futures::future::join_all(
        (0..200).map(|_| api.post_json("/v1/ai/transcribe", &acct.live_key, &body)),
    )
    .await;
    let mut accepted = Vec::new();
    for r in &answers {
        match r.status {
            202 => accepted.push(r.json["jobId"].as_str().unwrap().to_string()),
            402 => {
                let e = r.error(402, "insufficient_credits");
                assert_eq!(e["details"]["required"], 1, "{e}");
                assert_eq!(e["details"]["available"], 0, "{e}");
            }
            other => panic!("unexpected {other}: {}", r.text),
        }
    }
    assert_eq!(accepted.len(), 10, "exactly the ten the balance covers");
    assert_eq!(credits(&api, &acct.live_key).await, (10, 10, 0));
    for id in &accepted {
        let job = wait_job(&api, &acct.live_key, id, Duration::from_secs(300)).await;
        assert_eq!(
            job["status"],
            "completed",
            "{job}\n{}",
            tail(&worker.log(), 30)
        );
        assert_eq!(job["creditsCharged"], 1);
    }
    let (balance, reserved, _) = credits(&api, &acct.live_key).await;
    assert_eq!((balance, reserved), (0, 0));
    let rows = ledger(&api, &acct.live_key).await;
    let grants = sum(&rows, "grant", "amount");
    let charges = -sum(&rows, "charge", "amount");
    let reserves = sum(&rows, "reserve", "reservedChange");
    let charged_from_reservations = -sum(&rows, "charge", "reservedChange");
    let releases = -sum(&rows, "release", "reservedChange");
    assert_eq!(grants, 10);
    assert_eq!(balance + charges, grants, "balance + charges = grants");
    assert_eq!(
        reserves,
        charged_from_reservations + releases,
        "every reservation charged or released"
    );
    assert!(rows.iter().all(|r| r["balanceAfter"].as_i64().unwrap() >= 0
        && r["reservedAfter"].as_i64().unwrap() <= r["balanceAfter"].as_i64().unwrap()));
}

/// A provider that refuses every file the way OpenAI does (400, `{"error": {"message"}}`), after checking the
/// request is the documented multipart form.
async fn refusing_provider() -> String {
    async fn refuse(headers: axum::http::HeaderMap, body: axum::body::Bytes) -> impl IntoResponse {
        let ct = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let text = String::from_utf8_lossy(&body);
        let ok = ct.starts_with("multipart/form-data; boundary=")
            && text.contains("name=\"file\"")
            && text.contains("name=\"model\"")
            && text.contains("verbose_json");
        if !ok {
            return (StatusCode::UNPROCESSABLE_ENTITY, "not the documented form").into_response();
        }
        (
            StatusCode::BAD_REQUEST,
            [("content-type", "application/json")],
            r#"{"error": {"message": "Invalid file format. Supported formats: ['flac', 'mp3', 'wav']", "type": "invalid_request_error"}}"#,
        )
            .into_response()
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    let app = Router::new().route("/v1/audio/transcriptions", post(refuse));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

#[tokio::test]
async fn a_job_the_provider_refuses_fails_with_its_message_and_releases_everything() {
    let env = TestEnv::new().await;
    let acct = env.active_account().await;
    env.admin(&["credits", "grant", &acct.id, "5"]).await;
    let url = refusing_provider().await;
    let (api, _worker) = stt(&env, &url, &[]).await;
    let (video, _) = speech_mp4(&env.dir.join("fixtures"), "short", SHORT, 0.5);
    let media = media_of(&api, &acct.live_key, "speech.mp4", &video).await;
    let id = api
        .post_json(
            "/v1/ai/transcribe",
            &acct.live_key,
            &json!({"mediaId": media, "durationSeconds": 120}),
        )
        .await
        .expect(202)["jobId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(credits(&api, &acct.live_key).await, (5, 2, 3));
    let job = wait_job(&api, &acct.live_key, &id, Duration::from_secs(60)).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error"]["code"], "transcription_rejected");
    assert!(
        job["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Invalid file format"),
        "{job}"
    );
    assert_eq!(job["creditsCharged"], 0);
    assert!(job["transcript"].is_null());
    assert_eq!(credits(&api, &acct.live_key).await, (5, 0, 5));
    let kinds: Vec<String> = ledger(&api, &acct.live_key)
        .await
        .iter()
        .filter(|r| r["jobId"] == id)
        .map(|r| r["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["reserve", "release"]);
    api.get(&format!("/v1/ai/transcribe/{id}?format=srt"))
        .key(&acct.live_key)
        .send()
        .await
        .error(409, "conflict");
}

#[tokio::test]
async fn a_long_recording_is_cut_at_its_pauses_and_a_worker_killed_mid_job_resumes_charging_once() {
    let Some(url) = whisper_url() else { return };
    let env = TestEnv::new().await;
    let acct = env.active_account().await;
    env.admin(&["credits", "grant", &acct.id, "10"]).await;
    let settings = [
        ("SOKU_TRANSCRIPTION_URL", url.as_str()),
        ("SOKU_TRANSCRIPTION_CHUNK_SECONDS", "30"),
        ("SOKU_TRANSCRIPTION_PARALLEL_CHUNKS", "1"),
        ("SOKU_LEASE_SECS", "3"),
        ("SOKU_REQUEUE_AFTER_SECS", "2"),
    ];
    let api = env.api().envs(&settings).spawn().await;
    let mut worker = env.spawn_worker(&WorkerSpec::new().envs(&settings)).await;
    // Twenty sentences, each with a word of its own, three seconds of silence after each: about three minutes.
    let keys = [
        "apple", "river", "mountain", "yellow", "window", "garden", "doctor", "summer", "music",
        "orange", "coffee", "winter", "pencil", "market", "silver", "island", "rocket", "forest",
        "camera", "butter",
    ];
    let sentences: Vec<String> = keys
        .iter()
        .map(|k| format!("This sentence is about the word {k}. I repeat, {k}."))
        .collect();
    let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
    let (video, starts) = speech_mp4(&env.dir.join("fixtures"), "long", &refs, 3.0);
    let media = media_of(&api, &acct.live_key, "long.mp4", &video).await;
    let id = api
        .post_json(
            "/v1/ai/transcribe",
            &acct.live_key,
            &json!({"mediaId": media}),
        )
        .await
        .expect(202)["jobId"]
        .as_str()
        .unwrap()
        .to_string();
    // Killed once some chunks are done, and not all.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let j = api
            .get_with(&format!("/v1/ai/transcribe/{id}"), &acct.live_key)
            .await
            .expect(200)
            .clone();
        let p = j["progress"].as_f64().unwrap();
        if p > 0.2 {
            assert!(
                p < 1.0 && j["status"] == "processing",
                "finished before the kill: {j}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no progress: {j}\n{}",
            tail(&worker.log(), 30)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    worker.kill9();
    let before = api
        .get_with(&format!("/v1/ai/transcribe/{id}"), &acct.live_key)
        .await
        .expect(200)["progress"]
        .as_f64()
        .unwrap();
    let worker = env.spawn_worker(&WorkerSpec::new().envs(&settings)).await;
    let job = wait_job(&api, &acct.live_key, &id, Duration::from_secs(300)).await;
    assert_eq!(
        job["status"],
        "completed",
        "{job}\n{}",
        tail(&worker.log(), 40)
    );
    assert!(before > 0.2);
    let duration = job["durationSeconds"].as_f64().unwrap();
    assert!(duration > 120.0, "about three minutes: {duration}");
    assert_segments(&job, duration);
    // Charged once, for the measured length (the reservation was the probed length's: no length was given).
    let cost = ((duration - 0.25) / 60.0).ceil() as i64;
    assert_eq!(job["creditsCharged"], cost, "{job}");
    let rows = ledger(&api, &acct.live_key).await;
    let charges = rows
        .iter()
        .filter(|r| r["jobId"] == id && r["kind"] == "charge")
        .count();
    assert_eq!(charges, 1, "{rows:?}");
    assert_eq!(
        credits(&api, &acct.live_key).await,
        (10 - cost, 0, 10 - cost)
    );
    // Stitched on the recording's clock: each sentence's word is found near the time it was spoken.
    let segs = job["transcript"]["segments"].as_array().unwrap();
    let mut placed = 0;
    for (k, start) in keys.iter().zip(&starts) {
        if let Some(s) = segs
            .iter()
            .find(|s| words(s["text"].as_str().unwrap()).contains(k))
        {
            let at = s["start"].as_f64().unwrap();
            assert!(
                (at - start).abs() < 8.0,
                "`{k}` spoken at {start:.1} s, found at {at:.1} s: {segs:?}"
            );
            placed += 1;
        }
    }
    assert!(
        placed >= 8,
        "only {placed} of 20 words recognised: {}",
        job["transcript"]["text"]
    );
    // The second worker sent only the chunks the first had not finished.
    let log = worker.log();
    let line = log
        .lines()
        .find(|l| l.contains("transcribing"))
        .unwrap_or_else(|| panic!("no transcribing line:\n{}", tail(&worker.log(), 20)));
    let field = |name: &str| -> usize {
        let at = line
            .find(&format!("{name}="))
            .unwrap_or_else(|| panic!("{line}"))
            + name.len()
            + 1;
        line[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap()
    };
    let (chunks, pending) = (field("chunks"), field("pending"));
    assert!(chunks >= 4, "about 30 s chunks of three minutes: {line}");
    assert!(
        pending < chunks,
        "the chunks done before the kill were sent again: {line}"
    );
}

#[tokio::test]
async fn bad_requests_are_refused_naming_the_field_and_change_nothing() {
    let env = TestEnv::new().await;
    let acct = env.active_account().await;
    let other = env.active_account().await;
    env.admin(&["credits", "grant", &acct.id, "1"]).await;
    // No worker: nothing is transcribed; a refusing provider stands in for the URL.
    let url = refusing_provider().await;
    let api = env.api().env("SOKU_TRANSCRIPTION_URL", &url).spawn().await;
    let key = &acct.live_key;
    let post = |body: Value| {
        let api = &api;
        async move { api.post_json("/v1/ai/transcribe", key, &body).await }
    };
    let fields = |r: &Resp| -> Vec<String> {
        r.error(400, "validation_error")["details"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap().to_string())
            .collect()
    };
    let r = post(json!({})).await;
    assert_eq!(fields(&r), ["mediaId"]);
    let r = post(json!({"mediaId": 5, "language": "english!", "model": "gpt-9", "durationSeconds": -1, "speed": 2})).await;
    let mut got = fields(&r);
    got.sort();
    assert_eq!(
        got,
        ["durationSeconds", "language", "mediaId", "model", "speed"],
        "{}",
        r.text
    );
    assert!(
        r.text.contains("whisper-1"),
        "the offered models are named: {}",
        r.text
    );
    post(json!({"mediaId": "media_doesnotexist"}))
        .await
        .error(404, "not_found");
    // Another account's media is not found either.
    let theirs = upload(
        &api,
        &other.live_key,
        "p.png",
        &png(&env.dir.join("fixtures")),
    )
    .await
    .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    post(json!({"mediaId": theirs}))
        .await
        .error(404, "not_found");
    // An image has no audio track: 400 naming mediaId (once probed; without a worker it is still processing).
    let worker = env.spawn_worker(&WorkerSpec::new()).await;
    let mine = media_of(&api, key, "p.png", &png(&env.dir.join("fixtures"))).await;
    let r = post(json!({"mediaId": mine})).await;
    let e = r.error(400, "validation_error");
    assert!(e.to_string().contains("audio track"), "{e}");
    // Too little credit: 402 with what is needed and what there is.
    let (video, _) = speech_mp4(&env.dir.join("fixtures"), "short", SHORT, 0.5);
    let speech = media_of(&api, key, "speech.mp4", &video).await;
    drop(worker);
    let r = post(json!({"mediaId": speech, "durationSeconds": 600})).await;
    let e = r.error(402, "insufficient_credits");
    assert_eq!(e["details"], json!({"required": 10, "available": 1}));
    assert!(api.get_with("/v1/ai/transcribe", key).await.expect(200)["data"] == json!([]));
    assert_eq!(credits(&api, key).await, (1, 0, 1));
    // A queued job (no worker runs) is canceled, its reservation released; canceling again is the same answer.
    let id = post(json!({"mediaId": speech})).await.expect(202)["jobId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(credits(&api, key).await, (1, 1, 0));
    let c = api
        .post(&format!("/v1/ai/transcribe/{id}/cancel"))
        .key(key)
        .send()
        .await;
    assert_eq!(c.expect(200)["status"], "canceled");
    assert_eq!(credits(&api, key).await, (1, 0, 1));
    let c = api
        .post(&format!("/v1/ai/transcribe/{id}/cancel"))
        .key(key)
        .send()
        .await;
    assert_eq!(c.expect(200)["status"], "canceled");
    assert_eq!(credits(&api, key).await, (1, 0, 1));
    // Without a provider configured, the endpoint says so.
    let off = env.spawn_api().await;
    off.post_json("/v1/ai/transcribe", key, &json!({"mediaId": speech}))
        .await
        .error(503, "unavailable");
}

#[tokio::test]
async fn media_still_processing_is_accepted_and_the_job_waits_for_it() {
    let Some(url) = whisper_url() else { return };
    let env = TestEnv::new().await;
    let acct = env.active_account().await;
    env.admin(&["credits", "grant", &acct.id, "3"]).await;
    let api = env.api().env("SOKU_TRANSCRIPTION_URL", &url).spawn().await;
    let (video, _) = speech_mp4(&env.dir.join("fixtures"), "short", SHORT, 0.5);
    // No worker yet: the media stays processing.
    let media = upload(&api, &acct.live_key, "speech.mp4", &video)
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = api
        .post_json(
            "/v1/ai/transcribe",
            &acct.live_key,
            &json!({"mediaId": media, "durationSeconds": 90}),
        )
        .await;
    let id = r.expect(202)["jobId"].as_str().unwrap().to_string();
    assert_eq!(r.json["creditsReserved"], 2);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let j = api
        .get_with(&format!("/v1/ai/transcribe/{id}"), &acct.live_key)
        .await
        .expect(200)
        .clone();
    assert_eq!(j["status"], "queued", "{j}");
    let _worker = env
        .spawn_worker(&WorkerSpec::new().env("SOKU_TRANSCRIPTION_URL", &url))
        .await;
    let job = wait_job(&api, &acct.live_key, &id, Duration::from_secs(120)).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(job["creditsCharged"], 1);
    assert_eq!(credits(&api, &acct.live_key).await, (2, 0, 2));
}
