//! The sandbox: the platform behind every `sk_test_` post. It applies the platform's rules, "publishes" by
//! recording the post on its own side (the `sandbox_posts` table, or, when `SOKU_SANDBOX_SINK_URL` is set, an
//! HTTP endpoint outside the worker), answers with ids and URLs shaped like the platform's, and can be told
//! to misbehave like a platform in trouble (docs/sandbox.md): rate limits with a reset time, 5xx, a dead
//! token, a permanent rejection, slowness, or accepting a post without confirming it.

use std::time::Duration;

use futures::future::BoxFuture;
use rand::Rng;
use serde_json::{Value, json};
use soku_shared::platform::Platform;
use soku_shared::rules::rules;
use soku_shared::store::{Db, sandbox};

use super::{
    Credentials, Failure, FailureClass, Lookup, PlatformAdapter, PublishRequest, Published,
    StateSink,
};

pub struct Sandbox {
    db: Db,
    sink: Option<String>,
    http: reqwest::Client,
}

/// One platform's misbehaviour for the first `times` attempts.
struct Trouble {
    behavior: String,
    times: i64,
    retry_after_secs: u64,
    delay_ms: u64,
}

impl Trouble {
    /// The misbehaviour that happens before the post reaches the platform: a refusal, or a delay (`slow`).
    async fn before_sending(&self, platform: &str) -> Result<(), Failure> {
        let (class, code, message) = match self.behavior.as_str() {
            "rate_limited" => (
                FailureClass::Retryable {
                    retry_after: Some(Duration::from_secs(self.retry_after_secs)),
                },
                "rate_limited",
                format!(
                    "{platform} answered 429 Too Many Requests; its limit resets in {} s",
                    self.retry_after_secs
                ),
            ),
            "server_error" => (
                FailureClass::Retryable { retry_after: None },
                "platform_unavailable",
                format!("{platform} answered 503 Service Unavailable"),
            ),
            "token_expired" => (
                FailureClass::NeedsReauth,
                "token_expired",
                format!("{platform} answered 401: the access token has expired"),
            ),
            "rejected" => (
                FailureClass::Permanent,
                "platform_rejected",
                format!("{platform} rejected the post (sandbox behaviour `rejected`)"),
            ),
            "slow" => {
                tokio::time::sleep(Duration::from_millis(self.delay_ms)).await;
                return Ok(());
            }
            _ => return Ok(()),
        };
        Err(Failure::new(class, code, message))
    }

    fn of(req: &PublishRequest) -> Option<Trouble> {
        let spec = req.sandbox.as_ref()?;
        let behavior = spec.get("behavior")?.as_str()?.to_string();
        Some(Trouble {
            behavior,
            times: spec.get("times").and_then(Value::as_i64).unwrap_or(1),
            retry_after_secs: spec
                .get("retryAfterSeconds")
                .and_then(Value::as_u64)
                .unwrap_or(1),
            delay_ms: spec.get("delayMs").and_then(Value::as_u64).unwrap_or(2000),
        })
        .filter(|t| i64::from(req.attempt) <= t.times)
    }
}

impl Sandbox {
    pub fn new(db: Db, sink: Option<String>) -> Sandbox {
        Sandbox {
            db,
            sink,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("an HTTP client with default TLS settings"),
        }
    }

    /// The platform's own rules, as the platform would apply them on receipt.
    fn check_rules(req: &PublishRequest) -> Result<(), Failure> {
        let Some(platform) = Platform::parse(&req.platform) else {
            return Err(Failure::new(
                FailureClass::Permanent,
                "platform_rejected",
                format!("the sandbox knows no platform `{}`", req.platform),
            ));
        };
        let text = req
            .content
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or("");
        let rule = rules(platform).text;
        let len = rule.counting.count(text);
        if len > rule.max {
            return Err(Failure::new(
                FailureClass::Permanent,
                "platform_rejected",
                format!(
                    "{platform} refused the text: {len} {} over its limit of {}",
                    rule.counting.unit(),
                    rule.max
                ),
            ));
        }
        Ok(())
    }

    /// Accepts the post on the sandbox platform's side: the moment it is "live".
    async fn accept(&self, req: &PublishRequest) -> Result<Published, Failure> {
        let published = platform_ids(&req.platform, &req.account_label);
        let body = json!({
            "targetId": req.target_id,
            "postId": req.post_id,
            "platform": req.platform,
            "accountId": req.account_label,
            "platformPostId": published.platform_post_id,
            "url": published.url,
            "attempt": req.attempt,
            "text": req.content.get("text").cloned().unwrap_or(Value::Null),
            // What a platform that fetches media by URL would fetch (a video's platform-safe copy where the
            // platform takes only safe video).
            "videoUrl": req.content.get("videoUrl").cloned().unwrap_or(Value::Null),
            "imageUrls": req.content.get("imageUrls").cloned().unwrap_or(Value::Null),
        });
        match &self.sink {
            Some(sink) => {
                let resp = self
                    .http
                    .post(format!("{sink}/deliveries"))
                    .json(&body)
                    .send()
                    .await
                    .map_err(|e| transport_failure(&e))?;
                if !resp.status().is_success() {
                    return Err(Failure::new(
                        FailureClass::Retryable { retry_after: None },
                        "platform_unavailable",
                        format!("the sandbox sink answered {}", resp.status()),
                    ));
                }
            }
            None => {
                sandbox::accept(
                    &self.db,
                    &sandbox::SandboxPost {
                        platform_post_id: &published.platform_post_id,
                        platform: &req.platform,
                        account_label: &req.account_label,
                        client_ref: &req.target_id,
                        url: &published.url,
                        body: &body,
                    },
                )
                .await
                .map_err(|e| {
                    Failure::new(
                        FailureClass::Retryable { retry_after: None },
                        "platform_unavailable",
                        format!("the sandbox could not record the post: {e}"),
                    )
                })?;
            }
        }
        Ok(published)
    }
}

/// A transport error: one that happened before the request left is safe to retry; any other may have
/// reached the platform.
fn transport_failure(e: &reqwest::Error) -> Failure {
    if e.is_connect() {
        Failure::new(
            FailureClass::Retryable { retry_after: None },
            "platform_unreachable",
            format!("could not connect to the platform: {e}"),
        )
    } else {
        Failure::new(
            FailureClass::Unknown,
            "no_confirmation",
            format!("the platform did not answer: {e}"),
        )
    }
}

impl PlatformAdapter for Sandbox {
    fn publish<'a>(
        &'a self,
        req: &'a PublishRequest,
        _resume: &'a Value,
        _state: &'a dyn StateSink,
    ) -> BoxFuture<'a, Result<Published, Failure>> {
        Box::pin(async move {
            let trouble = Trouble::of(req);
            if let Some(t) = &trouble {
                t.before_sending(&req.platform).await?;
            }
            Self::check_rules(req)?;
            let published = self.accept(req).await?;
            if trouble
                .as_ref()
                .is_some_and(|t| t.behavior == "unconfirmed")
            {
                return Err(Failure::new(
                    FailureClass::Unknown,
                    "no_confirmation",
                    format!("{} took the request but never confirmed it", req.platform),
                ));
            }
            Ok(published)
        })
    }

    fn lookup<'a>(&'a self, req: &'a PublishRequest) -> BoxFuture<'a, Result<Lookup, Failure>> {
        Box::pin(async move {
            let unavailable = |m: String| {
                Failure::new(
                    FailureClass::Retryable { retry_after: None },
                    "platform_unavailable",
                    m,
                )
            };
            match &self.sink {
                Some(sink) => {
                    let resp = self
                        .http
                        .get(format!("{sink}/deliveries/{}", req.target_id))
                        .send()
                        .await
                        .map_err(|e| unavailable(format!("could not ask the sandbox sink: {e}")))?;
                    match resp.status().as_u16() {
                        404 => Ok(Lookup::NotFound),
                        200 => {
                            let v: Value = resp.json().await.map_err(|e| {
                                unavailable(format!("the sandbox sink answered nonsense: {e}"))
                            })?;
                            Ok(Lookup::Found(Published {
                                platform_post_id: v["platformPostId"]
                                    .as_str()
                                    .unwrap_or_default()
                                    .to_string(),
                                url: v["url"].as_str().unwrap_or_default().to_string(),
                            }))
                        }
                        s => Err(unavailable(format!("the sandbox sink answered {s}"))),
                    }
                }
                None => match sandbox::find(&self.db, &req.target_id).await {
                    Ok(Some((id, url))) => Ok(Lookup::Found(Published {
                        platform_post_id: id,
                        url,
                    })),
                    Ok(None) => Ok(Lookup::NotFound),
                    Err(e) => Err(unavailable(format!("the sandbox could not look: {e}"))),
                },
            }
        })
    }

    fn refresh_token<'a>(
        &'a self,
        _credentials: &'a Credentials,
    ) -> BoxFuture<'a, Result<Credentials, Failure>> {
        Box::pin(async {
            Err(Failure::new(
                FailureClass::NeedsReauth,
                "reauth_required",
                "the refresh token was refused too: reconnect the account",
            ))
        })
    }
}

fn digits(rng: &mut impl Rng, n: usize) -> String {
    let mut s = String::with_capacity(n);
    s.push(char::from(b'1' + rng.random_range(0..9u8)));
    for _ in 1..n {
        s.push(char::from(b'0' + rng.random_range(0..10u8)));
    }
    s
}

fn shortcode(rng: &mut impl Rng, n: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..n)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// An id and a URL shaped like the platform's own.
pub fn platform_ids(platform: &str, account: &str) -> Published {
    let mut rng = rand::rng();
    let (platform_post_id, url) = match platform {
        "x" => {
            let id = digits(&mut rng, 19);
            (id.clone(), format!("https://x.com/{account}/status/{id}"))
        }
        "threads" => (
            digits(&mut rng, 17),
            format!(
                "https://www.threads.net/@{account}/post/{}",
                shortcode(&mut rng, 11)
            ),
        ),
        "linkedin" => {
            let urn = format!("urn:li:share:{}", digits(&mut rng, 19));
            (
                urn.clone(),
                format!("https://www.linkedin.com/feed/update/{urn}/"),
            )
        }
        "instagram" => (
            digits(&mut rng, 17),
            format!("https://www.instagram.com/p/{}/", shortcode(&mut rng, 11)),
        ),
        "facebook" => {
            let (page, post) = (digits(&mut rng, 15), digits(&mut rng, 16));
            (
                format!("{page}_{post}"),
                format!("https://www.facebook.com/{page}/posts/{post}"),
            )
        }
        "tiktok" => {
            let id = format!("7{}", digits(&mut rng, 18));
            (
                id.clone(),
                format!("https://www.tiktok.com/@{account}/video/{id}"),
            )
        }
        "youtube" => {
            let id = shortcode(&mut rng, 11);
            (id.clone(), format!("https://www.youtube.com/watch?v={id}"))
        }
        other => {
            let id = digits(&mut rng, 16);
            (id.clone(), format!("https://sandbox.invalid/{other}/{id}"))
        }
    };
    Published {
        platform_post_id,
        url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_look_like_the_platforms() {
        let x = platform_ids("x", "sandbox_x");
        assert_eq!(x.platform_post_id.len(), 19);
        assert!(x.url.ends_with(&x.platform_post_id));
        let li = platform_ids("linkedin", "me");
        assert!(li.platform_post_id.starts_with("urn:li:share:"));
        let yt = platform_ids("youtube", "me");
        assert_eq!(yt.platform_post_id.len(), 11);
        assert!(
            platform_ids("tiktok", "me")
                .platform_post_id
                .starts_with('7')
        );
        assert!(
            platform_ids("facebook", "me")
                .platform_post_id
                .contains('_')
        );
    }
}
