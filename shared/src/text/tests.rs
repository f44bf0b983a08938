//! Tests of the text measures. X's weighted length is checked against the official twitter-text conformance cases
//! (validate.yml: the v3 "WeightedTweetsWithDiscountedEmojiCounterTest" and "UnicodeDirectionalMarkerCounterTest"
//! sections, and the URL cases of its "lengths" section), then against Soku's own cases.

use super::*;
use crate::rules::TextCounting;

/// `(text, weighted length)` from the official conformance suite, written out where the text is short.
const CONFORMANCE: &[(&str, usize)] = &[
    ("Hi http://test.co", 26),
    ("http://test.co", 23),
    ("A\u{301}B", 2),                            // 'Á' is normalized into 1 char
    ("A\u{FB2C}", 4),                            // שּׁ is normalized into 3 chars
    ("H🐱☺👨\u{200D}👩\u{200D}👧\u{200D}👦", 7), // the family is one emoji
    ("😷👾😡🔥💩", 10),
    ("🙋🏽👨\u{200D}🎤", 4), // skin tone, ZWJ sequence
    ("1\u{20E3}", 2),      // emoji with a leading character in the latin range
    (
        "Unicode 10.0 emoji: 🤪; 🧕; 🧕🏾; 🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}",
        34,
    ),
    ("Unicode 9.0 emoji: 🤠; 💃; 💃🏾", 29),
    ("ABC\u{202A}\u{FFFF}ABC\u{FFFE}", 12),
    ("\u{2066}\u{202A}http://foobar.پاکستان/\u{202C}\u{2069}", 31),
    // A 64-character label is no domain: no URL, every character counts.
    (
        "randomurlrandomurlrandomurlrandomurlrandomurlrandomurlrandomurls.com",
        68,
    ),
    // "lengths": a URL without a scheme counts 23 too.
    ("test.com", 23),
    (
        "Test https://test.com test https://test.com test.com test",
        86,
    ),
];

#[test]
fn x_matches_the_official_conformance_cases() {
    for (text, expected) in CONFORMANCE {
        assert_eq!(x_weighted_length(text), *expected, "{text:?}");
    }
}

#[test]
fn x_matches_the_official_conformance_cases_built_from_repeats() {
    let x = "xxxxxxxxxx-";
    let poem = "故人西辞黄鹤楼，烟花三月下扬州。孤帆远影碧空尽，唯见长江天际流。".repeat(5);
    let kana = "あいうえおかきくけこ";
    let cases = [
        (format!("285 chars-{}", x.repeat(25)), 285),
        (
            format!("285 chars- http://www.twitter.com/jack {}", x.repeat(24)),
            299,
        ),
        (
            format!("{} http://www.twitter.com/jack ", x.repeat(24)),
            289,
        ),
        ("https://www.twitter.com/aloha ".repeat(10), 240),
        (poem.clone(), 320),
        (format!("the{poem}"), 323),
        ("😷".repeat(160), 320),
        ("👨\u{200D}👩\u{200D}👧\u{200D}👦".repeat(140), 280),
        (format!("282 chars-{}xxxxxA\u{301}x", x.repeat(24)), 281),
        // A host over 63 characters once punycode-encoded is no URL; under, it is.
        (
            format!("{} http://{}あいう.com", kana.repeat(12), kana.repeat(5)),
            358,
        ),
        (
            format!("{} http://{}あい.com", kana.repeat(12), kana.repeat(5)),
            264,
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(x_weighted_length(&text), expected, "{text:?}");
    }
}

#[test]
fn x_general_punctuation_weighs_one() {
    let spaces: String = ('\u{2000}'..='\u{200B}').collect();
    let marks = "‐ ‑ ‒ – — ― ‖  ‗ ‘ ’ ‚ ‛ “ ” „ ‟ ′ ″ ‴ ‵ ‶ ‷";
    let text = format!("This is a tweet with general punctuation characters: {spaces} {marks}");
    assert_eq!(x_weighted_length(&text), 110);
}

#[test]
fn x_ascii_counts_one_per_character() {
    assert_eq!(x_weighted_length(""), 0);
    assert_eq!(x_weighted_length(&"a".repeat(280)), 280);
    assert_eq!(x_weighted_length(&"a".repeat(281)), 281);
    assert_eq!(x_weighted_length("hello, world"), 12);
}

#[test]
fn x_cjk_counts_two() {
    assert_eq!(x_weighted_length("日本語"), 6);
    assert_eq!(x_weighted_length("한국어 ok"), 9);
    assert_eq!(x_weighted_length(&"字".repeat(140)), 280);
}

#[test]
fn x_emoji_counts_two_whatever_its_code_points() {
    assert_eq!(x_weighted_length("😀"), 2);
    assert_eq!(x_weighted_length("👍🏽"), 2); // skin tone
    assert_eq!(x_weighted_length("👨‍👩‍👧‍👦"), 2); // ZWJ family: 7 code points
    assert_eq!(x_weighted_length("🇯🇵"), 2); // flag
    assert_eq!(x_weighted_length("❤️"), 2); // heart + VS16
    assert_eq!(x_weighted_length("1️⃣"), 2); // keycap
    assert_eq!(x_weighted_length("hi 👋"), 5);
    // © is an emoji to twitter-text even without U+FE0F, so it weighs 2 although U+00A9 is a light code point.
    assert_eq!(x_weighted_length("©"), 2);
    assert_eq!(x_weighted_length("©\u{FE0F}"), 2);
}

#[test]
fn x_rtl_and_punctuation_weigh_one() {
    assert_eq!(x_weighted_length("مرحبا بالعالم"), 13); // Arabic, U+0600–U+06FF
    assert_eq!(x_weighted_length("שלום"), 4);
    assert_eq!(x_weighted_length("“quoted” — dash"), 15);
    assert_eq!(x_weighted_length("…"), 2); // U+2026: just past U+201F
    assert_eq!(x_weighted_length("→"), 2); // U+2192: outside the light ranges
}

#[test]
fn x_text_is_nfc_normalized_first() {
    assert_eq!(x_weighted_length("e\u{301}"), 1); // é decomposed
    // Conjoining jamo compose to one Hangul syllable.
    assert_eq!(x_weighted_length("\u{1100}\u{1161}"), 2);
}

#[test]
fn x_urls_count_23() {
    assert_eq!(x_weighted_length("https://example.com"), 23);
    let long = format!("see https://example.com/{} now", "a".repeat(100));
    assert_eq!(x_weighted_length(&long), 4 + 23 + 4);
    assert_eq!(x_weighted_length("http://a.co/x."), 24); // the final dot is not part of the URL
    assert_eq!(
        x_weighted_length("(https://en.wikipedia.org/wiki/Rust_(language))"),
        25
    );
    assert_eq!(
        x_weighted_length("a https://x.com b https://t.co/1"),
        5 + 46
    );
    assert_eq!(x_weighted_length("https://"), 8);
    // CJK is no URL path character: the URL ends at the slash.
    assert_eq!(x_weighted_length("HTTPS://EXAMPLE.COM/日本"), 23 + 4);
}

#[test]
fn x_urls_without_a_scheme_count_23() {
    assert_eq!(x_weighted_length("go to example.com/x"), 6 + 23);
    assert_eq!(x_weighted_length("example.com"), 23);
    assert_eq!(x_weighted_length("www.example.co.uk"), 23);
    assert_eq!(x_weighted_length("example.photography"), 23); // any TLD the official list holds
    assert_eq!(x_weighted_length("bücher.de/x"), 23); // Latin accents are domain characters
    assert_eq!(x_weighted_length("x.com/😀"), 23 + 2); // an emoji is no path character
    assert_eq!(x_weighted_length("t.co"), 23); // a short domain X itself links
    assert_eq!(x_weighted_length("main.rs"), 7); // country TLD without path: not a link
    assert_eq!(x_weighted_length("example.io"), 10);
    assert_eq!(x_weighted_length("example.io?x=1"), 14);
    assert_eq!(x_weighted_length("example.io/x"), 23);
    assert_eq!(x_weighted_length("foo.bar.io"), 23); // a subdomain makes it a link
    assert_eq!(x_weighted_length("MLB.tv vine.co"), 47); // .co and .tv are links alone
    assert_eq!(x_weighted_length("t.co/abcde bit.ly/abcde"), 47);
    assert_eq!(x_weighted_length("mail me@example.com"), 19); // an address, not a link
}

#[test]
fn x_urls_without_a_scheme_follow_the_official_extractor() {
    // The official conformance case (extract.yml): of these, only foo.co.jp and www.foo.co.uk are URLs.
    let text = "foo.baz foo.co.jp www.xxxxxxx.baz www.foo.co.uk wwwww.xxxxxxx foo.comm foo.somecom \
                foo.govedu foo.jp";
    let urls = ["foo.co.jp", "www.foo.co.uk"];
    let as_text: usize = urls.iter().map(|u| u.len()).sum();
    assert_eq!(x_weighted_length(text), text.len() - as_text + 2 * 23);
}

#[test]
fn odd_input_never_panics() {
    let odd = [
        "https://é.com",
        "http://.",
        "a.b.",
        "#",
        "＃",
        "(",
        "https://a.com/))))]]]",
        "x.co/\u{301}",
        "é.example.com/x",
        "https://a.com/é",
        "..",
        "-a.com",
        "a@b.co/x",
        "日本.com/x",
        "\u{200D}",
        "\u{FEFF}",
        "   ",
    ];
    for s in odd {
        let _ = (x_weighted_length(s), hashtag_count(s));
    }
    assert_eq!(x_weighted_length("https://a.com/))))]]]"), 30);
}

#[test]
fn utf16_chars_and_bytes() {
    assert_eq!(utf16_len("abc"), 3);
    assert_eq!(utf16_len("😀"), 2);
    assert_eq!(utf16_len("日本"), 2);
    assert_eq!(char_count("😀日本"), 3);
    assert_eq!(TextCounting::Utf8Bytes.count("日本"), 6);
    assert_eq!(TextCounting::Chars.count("👨‍👩‍👧‍👦"), 7);
}

#[test]
fn hashtags() {
    assert_eq!(hashtag_count("#one #two #one"), 3);
    assert_eq!(hashtag_count("no tags here # alone"), 0);
    assert_eq!(hashtag_count("a#b c&#39; #123 #2024年 ＃全角 #_x"), 3);
    assert_eq!(hashtag_count(&"#tag ".repeat(31)), 31);
}

/// twitter-text 0.3.1 slices inside a character when an `@` follows one ASCII character after a non-ASCII one
/// (found by the API's fuzz run, a 500 then); the length comes out as for any other text.
#[test]
fn an_at_sign_after_a_non_ascii_and_an_ascii_character_is_counted() {
    assert_eq!(x_weighted_length("日a@x"), 5);
    assert_eq!(x_weighted_length("éR@bob"), 6);
    assert_eq!(x_weighted_length("x 日a@bob"), 9);
    assert_eq!(x_weighted_length("日_＠x"), 6);
    assert_eq!(x_weighted_length("日a@example.com"), 15);
    // The same text with ASCII before the letter: nothing to defuse, the same count.
    assert_eq!(x_weighted_length("xa@example.com"), 14);
}

/// Every short text over the characters that steer twitter-text's mention, cashtag, hashtag and URL parsing is
/// counted without a panic (the catch-all would hide one: it is called directly here).
#[test]
fn no_short_text_makes_twitter_text_panic() {
    let alphabet = [
        '日', 'é', 'a', 'R', 'T', ':', '@', '＠', '$', '#', ' ', '.', '/',
    ];
    let mut texts = vec![String::new()];
    for _ in 0..4 {
        texts = texts
            .iter()
            .flat_map(|t| alphabet.iter().map(move |c| format!("{t}{c}")))
            .collect();
        for t in &texts {
            let defused = super::defuse_mention_check(t);
            let r = std::panic::catch_unwind(|| super::weighted_length_of_nfc(&defused));
            assert!(r.is_ok(), "twitter-text panicked on {t:?}");
        }
    }
}
