//! Tests of the `post.content.platform` list: required, bounded, known names, printable accountIds, duplicates.

use serde_json::{Value, json};

use super::{check, errors, only_error, pairs, post};
use crate::platform::Platform;
use crate::validate::PlatformEntry;

fn text_to(platforms: Value) -> Value {
    post(json!({ "text": "hello", "platform": platforms }))
}

#[test]
fn platform_list_rules() {
    let field = "post.content.platform";
    assert_eq!(
        pairs(&errors(&post(json!({ "text": "hi" })))),
        [(field, "is required: name at least one platform")]
    );
    assert_eq!(
        pairs(&errors(&text_to(json!([])))),
        [(field, "must name at least one platform")]
    );
    let many: Vec<Value> = (0..51)
        .map(|i| json!({ "platform": "x", "accountId": format!("x{i}") }))
        .collect();
    assert_eq!(
        pairs(&errors(&text_to(json!(many)))),
        [(field, "has 51 entries; the limit is 50")]
    );
    let e = only_error(&text_to(json!(["x", "myspace"])));
    assert_eq!(e.field, "post.content.platform[1]");
    assert_eq!(
        e.message,
        "unknown platform `myspace`; known platforms: threads, x, linkedin, instagram, facebook, tiktok, youtube"
    );
    let e = only_error(&text_to(json!(["X"])));
    assert_eq!(
        e.message,
        "unknown platform `X`; did you mean `x`? (platform names are lowercase)"
    );
    assert_eq!(
        only_error(&text_to(json!(["twitter"]))).message,
        "unknown platform `twitter`; did you mean `x`?"
    );
    let e = only_error(&text_to(
        json!([{ "platform": "tiktokk", "accountId": "t" }]),
    ));
    assert_eq!(e.field, "post.content.platform[0].platform");
    let e = only_error(&text_to(json!([{ "accountId": "t" }])));
    assert_eq!(
        (e.field.as_str(), e.message.as_str()),
        ("post.content.platform[0].platform", "is required")
    );
}

#[test]
fn account_ids_must_be_printable_and_short() {
    let long = "a".repeat(101);
    let cases = [
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        (long.as_str(), "is 101 characters long; the limit is 100"),
        (
            "ig\nmain",
            "must contain printable characters only (no control characters, tabs or line breaks)",
        ),
        (
            "ig\u{0}main",
            "must contain printable characters only (no control characters, tabs or line breaks)",
        ),
        (" ig_main", "must not start or end with a space"),
    ];
    for (id, message) in cases {
        let e = only_error(&text_to(json!([{ "platform": "x", "accountId": id }])));
        assert_eq!(
            (e.field.as_str(), e.message.as_str()),
            ("post.content.platform[0].accountId", message)
        );
    }
    let ok = ["a".repeat(100), "ig main".into(), "Página 🎉".into()];
    for id in ok {
        assert!(check(&text_to(json!([{ "platform": "x", "accountId": id }]))).is_ok());
    }
}

#[test]
fn duplicate_targets_are_refused_on_the_later_entry() {
    let errs = errors(&text_to(json!(["x", "threads", "x"])));
    assert_eq!(
        pairs(&errs),
        [(
            "post.content.platform[2]",
            "duplicate target: `x` (default connection) is already named by post.content.platform[0]"
        )]
    );
    let a = json!({ "platform": "x", "accountId": "a" });
    let errs = errors(&text_to(
        json!([a, "x", { "platform": "x", "accountId": "b" }, a]),
    ));
    assert_eq!(
        pairs(&errs),
        [(
            "post.content.platform[3]",
            "duplicate target: `x` account `a` is already named by post.content.platform[0]"
        )]
    );
    // An object without accountId is the default connection, so it duplicates a bare name.
    let errs = errors(&text_to(json!(["x", { "platform": "x" }])));
    assert_eq!(errs[0].field, "post.content.platform[1]");
    let v = check(&text_to(json!([{ "platform": "x" }, "threads"]))).unwrap();
    assert_eq!(
        v.content.platform,
        [
            PlatformEntry::Name(Platform::X),
            PlatformEntry::Name(Platform::Threads)
        ]
    );
    // The same accountId on two platforms is two targets.
    let same_id = json!([
        { "platform": "x", "accountId": "a" },
        { "platform": "threads", "accountId": "a" }
    ]);
    assert!(check(&text_to(same_id)).is_ok());
}
