//! Tests of the share-image templates. Every rendered PNG is written to `$SOKU_TEMPLATE_PREVIEW_DIR` (or
//! `<temp dir>/soku-template-previews`) as `<slug>-<case>.png`, for a person to look at.

use std::io::Cursor;

use image::{Rgba, RgbaImage};
use serde_json::{Value, json};

use super::fonts::{CHAIN, EMOJI, Weight};
use super::layout::{self, Align, Frame, Ink, Text};
use super::*;

const CJK_TITLE: &str = "日本語のタイトルがとても長い場合でも、きちんと折り返して枠の中に収まることを確認します。中文标题也一样。한국어 제목";
const ARABIC_TITLE: &str =
    "مرحبا بالعالم! هذا عنوان طويل باللغة العربية لاختبار الكتابة من اليمين إلى اليسار في 2025";
const HEBREW_TITLE: &str = "שלום עולם! זוהי כותרת ארוכה בעברית כדי לבדוק כתיבה מימין לשמאל";
const EMOJI_TITLE: &str = "Launch day 🚀🎉 we ❤️ Rust 👩‍💻 and flags 🇯🇵 too 👍🏽";
const LONG_TITLE: &str = "This is a deliberately very long title that goes on and on, far longer than anyone should write \
                          for a share card, so that the layout has to shrink the font, wrap it over many lines and, \
                          when even the smallest size cannot hold it all, end the last line that fits with an ellipsis \
                          rather than ever spilling out of its box at the bottom";

fn preview_dir() -> std::path::PathBuf {
    let dir = std::env::var_os("SOKU_TEMPLATE_PREVIEW_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("soku-template-previews"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn save(slug: &str, case: &str, png: &[u8]) {
    std::fs::write(preview_dir().join(format!("{slug}-{case}.png")), png).unwrap();
}

fn decode(png: &[u8]) -> RgbaImage {
    image::load_from_memory_with_format(png, image::ImageFormat::Png)
        .unwrap()
        .to_rgba8()
}

/// Renders `config` of `slug`, saves the PNG as `<slug>-<case>.png`, checks it is a 1200×630 PNG and that the
/// outer 40 px band is exactly what the background alone (the chrome) draws there: nothing of the content overflowed.
fn render_case(slug: &str, case: &str, config: Value, avatar: Option<&[u8]>) -> RgbaImage {
    let config = validate(slug, &config).unwrap();
    let rendered = render(&config, avatar).unwrap();
    save(slug, case, &rendered.png);
    assert_eq!((rendered.width, rendered.height), (1200, 630));
    assert!(
        rendered.png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{slug}-{case}: not a PNG"
    );
    let img = decode(&rendered.png);
    assert_eq!(img.dimensions(), (1200, 630));

    let chrome = decode(
        &canvas_of(&config, avatar)
            .unwrap()
            .render(false)
            .unwrap()
            .png,
    );
    let band = 40;
    for (x, y, px) in img.enumerate_pixels() {
        if x < band || y < band || x >= 1200 - band || y >= 630 - band {
            assert_eq!(
                px,
                chrome.get_pixel(x, y),
                "{slug}-{case}: content reached the margin at ({x}, {y})"
            );
        }
    }
    img
}

/// Lays `text` out in `frame`, draws it alone on a bare canvas and checks that its ink stays in the frame (with
/// `slack` px for accents and descenders) and that its lines are no wider than the frame.
fn assert_inside(name: &str, text: &str, weight: Weight, frame: Frame) -> layout::Block {
    let block = layout::block(text, weight, &frame).unwrap();
    assert!(
        block.height() <= frame.height + 0.01,
        "{name}: {} lines of {} px",
        block.line_count(),
        block.line_height
    );
    assert!(
        block.width() <= frame.width + 0.01,
        "{name}: a line is {} px wide",
        block.width()
    );
    let (x, y) = (100.0, 100.0);
    let mut ink = Ink::default();
    block
        .draw(x, y, frame.width, Align::Start, &mut ink)
        .unwrap();
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1200\" height=\"630\"><rect width=\"1200\" height=\"630\" \
         fill=\"#000\"/><path fill=\"#fff\" d=\"{}\"/>{}</svg>",
        ink.path, ink.images
    );
    let img = decode(&canvas::rasterize(&svg).unwrap().png);
    let slack = 6.0;
    let mut inked = 0;
    for (px, py, p) in img.enumerate_pixels() {
        if p.0[..3] != [0, 0, 0] {
            inked += 1;
            let (fx, fy) = (px as f32, py as f32);
            assert!(
                fx >= x - slack
                    && fx <= x + frame.width + slack
                    && fy >= y - slack
                    && fy <= y + frame.height + slack,
                "{name}: ink at ({px}, {py}) outside the frame"
            );
        }
    }
    assert!(inked > 100, "{name}: nothing was drawn");
    block
}

fn colourful_pixels(img: &RgbaImage) -> usize {
    img.pixels()
        .filter(|Rgba([r, g, b, _])| {
            let (max, min) = ((*r).max(*g).max(*b), (*r).min(*g).min(*b));
            max - min > 120
        })
        .count()
}

/// The text is drawn with the expected family, no character was left out and no glyph is `.notdef`.
fn assert_covered(text: &str, weight: Weight, family: &str) {
    let t = Text::new(text, weight).unwrap();
    assert!(
        t.dropped().is_empty(),
        "left out {:?} of {text}",
        t.dropped()
    );
    assert_eq!(t.notdef_count(), 0, "{text}: .notdef glyphs");
    assert!(
        t.families().contains(&family),
        "{text}: drawn with {:?}, not {family}",
        t.families()
    );
    // Every character (but joiners and selectors) is in the cmap of the face that draws it.
    let lib = fonts::library().unwrap();
    for c in t
        .as_str()
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(*c, '\u{200D}' | '\u{FE0F}'))
    {
        let covered = (0..CHAIN.len()).any(|i| lib.face(i, weight).unwrap().covers(c));
        assert!(covered, "{c:?} of {text} is in no font");
    }
}

fn avatar_image(format: image::ImageFormat) -> Vec<u8> {
    let img = RgbaImage::from_fn(300, 200, |x, y| {
        Rgba([(x * 255 / 300) as u8, 40, (y * 255 / 200) as u8, 255])
    });
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgba8(img)
        .to_rgb8()
        .write_to(&mut out, format)
        .unwrap();
    out.into_inner()
}

// ---------------------------------------------------------------------------------------------------------------
// tweetImage

#[test]
fn tweet_default() {
    render_case(
        "tweetImage",
        "default",
        json!({"title": "Soku now renders share images on the server", "author": "Ada Lovelace", "handle": "ada"}),
        None,
    );
}

#[test]
fn tweet_light_with_subtitle_and_avatar() {
    let avatar = avatar_image(image::ImageFormat::Png);
    let img = render_case(
        "tweetImage",
        "light-avatar",
        json!({
            "title": "Scheduling posts across five networks from one API call",
            "author": "Grace Hopper",
            "handle": "@grace",
            "subtitle": "soku.dev/blog · 4 min read",
            "avatarUrl": "https://example.com/grace.png",
            "theme": "light",
        }),
        Some(&avatar),
    );
    // The avatar (a red/blue gradient) is drawn round in the header at (80, 80)..(168, 168).
    let centre = img.get_pixel(124, 124);
    assert!(
        centre.0[0] > 60 && centre.0[2] > 60 && centre.0[1] < 90,
        "avatar centre is {centre:?}"
    );
    let corner = img.get_pixel(82, 82);
    assert!(
        corner.0[0] > 200 && corner.0[1] > 200,
        "avatar corner is not clipped: {corner:?}"
    );
}

#[test]
fn tweet_jpeg_avatar() {
    let avatar = avatar_image(image::ImageFormat::Jpeg);
    render_case(
        "tweetImage",
        "jpeg-avatar",
        json!({"title": "JPEG avatar", "author": "Linus"}),
        Some(&avatar),
    );
}

#[test]
fn tweet_bad_avatar_is_an_avatar_error() {
    let config = validate("tweetImage", &json!({"title": "t", "author": "a"})).unwrap();
    for bytes in [
        &b"<html>not an image</html>"[..],
        b"",
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDRtruncated",
    ] {
        match render(&config, Some(bytes)) {
            Err(RenderError::Avatar(message)) => assert!(message.contains("avatar"), "{message}"),
            other => panic!("expected an avatar error, got {other:?}"),
        }
    }
}

#[test]
fn tweet_long_title() {
    render_case(
        "tweetImage",
        "long-title",
        json!({"title": &LONG_TITLE[..280], "author": "A very long author name that keeps going and going until it must be shortened",
               "handle": "someone_with_a_handle", "subtitle": &LONG_TITLE[..280]}),
        None,
    );
}

/// `n` CJK characters, far more than fit even at the smallest size.
fn cjk_chars(n: usize) -> String {
    CJK_TITLE
        .chars()
        .filter(|c| !c.is_whitespace())
        .cycle()
        .take(n)
        .collect()
}

#[test]
fn tweet_truncated_with_an_ellipsis() {
    // With a three-line subtitle, 280 CJK characters do not fit the title's box even at the smallest size.
    let config = json!({"title": cjk_chars(280), "author": "山田太郎", "subtitle": cjk_chars(200)});
    let img = render_case("tweetImage", "cjk-truncated", config.clone(), None);
    assert_eq!(img.dimensions(), (1200, 630));
    let title = layout::block(
        &cjk_chars(280),
        Weight::Bold,
        &Frame {
            width: 1040.0,
            height: 220.0,
            max_size: 64.0,
            min_size: 30.0,
            line_height: 1.2,
            max_lines: 12,
        },
    )
    .unwrap();
    assert!(title.truncated);
    assert!(title.line_texts().last().unwrap().ends_with('\u{2026}'));
}

#[test]
fn quote_truncated_with_an_ellipsis() {
    render_case(
        "quoteCard",
        "cjk-truncated",
        json!({"quote": cjk_chars(500), "author": "老子"}),
        None,
    );
}

#[test]
fn announcement_many_lines() {
    let many_lines = "line\n".repeat(40);
    let config = json!({"title": &many_lines[..200], "summary": many_lines});
    render_case("announcement", "many-lines", config, None);
}

#[test]
fn tweet_cjk_title() {
    render_case(
        "tweetImage",
        "cjk",
        json!({"title": CJK_TITLE, "author": "山田太郎", "handle": "yamada"}),
        None,
    );
    assert_covered(CJK_TITLE, Weight::Bold, "Noto Sans CJK JP");
}

#[test]
fn tweet_arabic_title() {
    let config = json!({"title": ARABIC_TITLE, "author": "ليلى", "subtitle": "نص فرعي"});
    render_case("tweetImage", "arabic", config, None);
    assert_covered(ARABIC_TITLE, Weight::Bold, "Noto Sans Arabic");
}

#[test]
fn tweet_hebrew_title() {
    let config = json!({"title": HEBREW_TITLE, "author": "דוד", "theme": "light"});
    render_case("tweetImage", "hebrew", config, None);
    assert_covered(HEBREW_TITLE, Weight::Bold, "Noto Sans Hebrew");
}

#[test]
fn tweet_emoji_title() {
    let img = render_case(
        "tweetImage",
        "emoji",
        json!({"title": EMOJI_TITLE, "author": "Emoji 🙂 Fan"}),
        None,
    );
    // The emoji are drawn in colour (the rest of the card is greys and one accent blue).
    assert!(colourful_pixels(&img) > 2000, "no colour emoji");
    let t = Text::new(EMOJI_TITLE, Weight::Bold).unwrap();
    assert!(t.families().contains(&CHAIN[EMOJI].family));
    assert!(t.dropped().is_empty(), "{:?}", t.dropped());
    assert_eq!(t.notdef_count(), 0);
}

// ---------------------------------------------------------------------------------------------------------------
// quoteCard

#[test]
fn quote_default() {
    render_case(
        "quoteCard",
        "default",
        json!({"quote": "Simplicity is prerequisite for reliability.", "author": "Edsger W. Dijkstra",
               "role": "Computer scientist", "source": "EWD498, 1975"}),
        None,
    );
}

#[test]
fn quote_light_no_role() {
    render_case(
        "quoteCard",
        "light",
        json!({"quote": "Make it work, make it right, make it fast.", "author": "Kent Beck", "theme": "light"}),
        None,
    );
}

#[test]
fn quote_long() {
    let quote = format!("{LONG_TITLE}. {LONG_TITLE}");
    render_case(
        "quoteCard",
        "long",
        json!({"quote": &quote[..500], "author": "Someone Verbose", "role": LONG_TITLE[..100].to_string()}),
        None,
    );
}

#[test]
fn quote_cjk() {
    render_case(
        "quoteCard",
        "cjk",
        json!({"quote": CJK_TITLE, "author": "老子", "source": "道德经"}),
        None,
    );
    assert_covered(CJK_TITLE, Weight::Regular, "Noto Sans CJK JP");
}

#[test]
fn quote_arabic() {
    render_case(
        "quoteCard",
        "arabic",
        json!({"quote": ARABIC_TITLE, "author": "جبران خليل جبران"}),
        None,
    );
    assert_covered(ARABIC_TITLE, Weight::Regular, "Noto Sans Arabic");
}

#[test]
fn quote_hebrew() {
    let config = json!({"quote": HEBREW_TITLE, "author": "עמוס עוז", "theme": "light"});
    render_case("quoteCard", "hebrew", config, None);
    assert_covered(HEBREW_TITLE, Weight::Regular, "Noto Sans Hebrew");
}

#[test]
fn quote_emoji() {
    let config = json!({"quote": EMOJI_TITLE, "author": "🦀 Ferris"});
    let img = render_case("quoteCard", "emoji", config, None);
    assert!(colourful_pixels(&img) > 2000, "no colour emoji");
}

// ---------------------------------------------------------------------------------------------------------------
// announcement

#[test]
fn announcement_default() {
    render_case(
        "announcement",
        "default",
        json!({"title": "Introducing Soku 1.0", "eyebrow": "Release", "summary": "One API to schedule and publish to every network, self-hosted.",
               "siteName": "Soku", "footer": "soku.dev/blog"}),
        None,
    );
}

#[test]
fn announcement_light_accent_minimal() {
    render_case(
        "announcement",
        "light-accent",
        json!({"title": "We are hiring", "theme": "light", "accent": "#E4572E"}),
        None,
    );
    render_case(
        "announcement",
        "minimal",
        json!({"title": "Just a title"}),
        None,
    );
}

#[test]
fn announcement_long() {
    render_case(
        "announcement",
        "long",
        json!({"title": &LONG_TITLE[..200], "eyebrow": "A very long eyebrow tag that is long", "summary": &LONG_TITLE[..300],
               "siteName": "A site with a rather long name indeed, yes", "footer": "https://example.com/a/very/long/path/that/goes/on/and/on"}),
        None,
    );
}

#[test]
fn announcement_cjk() {
    let config = json!({"title": CJK_TITLE, "eyebrow": "お知らせ", "summary": "新しい機能をリリースしました。", "siteName": "ソク"});
    render_case("announcement", "cjk", config, None);
}

#[test]
fn announcement_arabic() {
    let config = json!({"title": ARABIC_TITLE, "eyebrow": "جديد", "summary": "ملخص قصير", "siteName": "سوكو"});
    render_case("announcement", "arabic", config, None);
}

#[test]
fn announcement_hebrew() {
    let config =
        json!({"title": HEBREW_TITLE, "eyebrow": "חדש", "theme": "light", "accent": "#0f9d58"});
    render_case("announcement", "hebrew", config, None);
}

#[test]
fn announcement_emoji() {
    let config = json!({"title": EMOJI_TITLE, "eyebrow": "🎉 New", "siteName": "Soku"});
    let img = render_case("announcement", "emoji", config, None);
    assert!(colourful_pixels(&img) > 2000, "no colour emoji");
}

// ---------------------------------------------------------------------------------------------------------------
// Layout

fn title_frame() -> Frame {
    Frame {
        width: 1040.0,
        height: 338.0,
        max_size: 64.0,
        min_size: 30.0,
        line_height: 1.2,
        max_lines: 12,
    }
}

#[test]
fn layout_short_text_keeps_the_largest_size() {
    let block = assert_inside("short", "Hello", Weight::Bold, title_frame());
    assert_eq!(block.size, 64.0);
    assert_eq!(block.line_texts(), ["Hello"]);
}

#[test]
fn layout_long_text_shrinks_then_truncates_with_an_ellipsis() {
    let shrunk = assert_inside("medium", &LONG_TITLE[..200], Weight::Bold, title_frame());
    assert!(
        shrunk.size < 64.0 && shrunk.size > 30.0,
        "size {}",
        shrunk.size
    );
    assert!(!shrunk.truncated);
    assert!(shrunk.line_count() > 1);

    let long = format!("{LONG_TITLE} {LONG_TITLE} {LONG_TITLE}");
    let cut = assert_inside("long", &long, Weight::Bold, title_frame());
    assert_eq!(cut.size, 30.0);
    assert!(cut.truncated);
    let lines = cut.line_texts();
    let last = lines.last().unwrap();
    assert!(last.ends_with('\u{2026}'), "{last}");
    // Whole words only: the text before the ellipsis is a prefix of the text ending at a word.
    let before = last.trim_end_matches('\u{2026}');
    assert!(
        long.contains(&format!("{before} ")),
        "{before:?} is not cut at a word"
    );
}

#[test]
fn layout_wraps_at_words() {
    let frame = Frame {
        width: 400.0,
        height: 400.0,
        max_size: 40.0,
        min_size: 40.0,
        line_height: 1.2,
        max_lines: 10,
    };
    let text = "the quick brown fox jumps over the lazy dog again and again";
    let block = assert_inside("words", text, Weight::Regular, frame);
    assert!(block.line_count() > 1);
    let words: Vec<&str> = text.split(' ').collect();
    for line in block.line_texts() {
        for w in line.split(' ') {
            assert!(words.contains(&w), "{w:?} is not a whole word");
        }
    }
    assert_eq!(block.line_texts().join(" "), text);
}

#[test]
fn layout_breaks_an_overlong_word_between_characters() {
    let frame = Frame {
        width: 500.0,
        height: 400.0,
        max_size: 40.0,
        min_size: 40.0,
        line_height: 1.2,
        max_lines: 10,
    };
    let word = "Pneumonoultramicroscopicsilicovolcanoconiosis-and-more-letters";
    let block = assert_inside("overlong", word, Weight::Bold, frame);
    assert!(block.line_count() >= 2);
    assert_eq!(block.line_texts().concat(), word);
}

#[test]
fn layout_wraps_cjk_between_characters() {
    let frame = Frame {
        width: 500.0,
        height: 500.0,
        max_size: 40.0,
        min_size: 40.0,
        line_height: 1.3,
        max_lines: 10,
    };
    let block = assert_inside("cjk", CJK_TITLE, Weight::Bold, frame);
    assert!(block.line_count() >= 3);
    let lines = block.line_texts();
    // No line starts with closing punctuation (kinsoku), and nothing is lost.
    for line in &lines {
        assert!(!line.starts_with(['、', '。']), "{line}");
    }
    assert_eq!(lines.concat().replace(' ', ""), CJK_TITLE.replace(' ', ""));
}

#[test]
fn layout_rtl_is_right_aligned_and_inside() {
    for (name, text) in [("arabic", ARABIC_TITLE), ("hebrew", HEBREW_TITLE)] {
        let frame = Frame {
            width: 600.0,
            height: 400.0,
            max_size: 48.0,
            min_size: 24.0,
            line_height: 1.3,
            max_lines: 6,
        };
        let block = assert_inside(name, text, Weight::Bold, frame);
        assert!(block.is_rtl(), "{name}");
    }
    assert!(
        !layout::block("Hello مرحبا", Weight::Regular, &title_frame())
            .unwrap()
            .is_rtl()
    );
}

#[test]
fn layout_emoji_and_uncovered_characters() {
    let frame = Frame {
        width: 900.0,
        height: 300.0,
        max_size: 60.0,
        min_size: 30.0,
        line_height: 1.2,
        max_lines: 4,
    };
    assert_inside("emoji", EMOJI_TITLE, Weight::Bold, frame);
    // A private-use character and an unassigned one are in no font: they are left out, never drawn as boxes.
    let t = Text::new("a\u{E000}b \u{10FFFD} c", Weight::Regular).unwrap();
    assert_eq!(t.as_str(), "ab c");
    assert_eq!(t.dropped(), ['\u{E000}', '\u{10FFFD}']);
    assert_eq!(t.notdef_count(), 0);
}

#[test]
fn fonts_are_installed_and_missing_ones_name_their_package() {
    assert_eq!(fonts::missing_files(CHAIN), None);
    let fake = [fonts::FontSpec {
        family: "Noto Nothing",
        regular: "/nonexistent/NotoNothing-Regular.ttf",
        bold: None,
        package: "fonts-noto-nothing",
    }];
    let message = fonts::missing_files(&fake).unwrap();
    assert!(
        message.contains("/nonexistent/NotoNothing-Regular.ttf"),
        "{message}"
    );
    assert!(
        message.contains("install the Debian package(s) fonts-noto-nothing"),
        "{message}"
    );
}

#[test]
fn layout_sanitizes() {
    assert_eq!(layout::sanitize("  a \t b\r\n\n\n  c  "), "a b\nc");
    assert_eq!(layout::sanitize("x\u{202E}y\u{0007}z\u{AD}"), "xyz");
    assert_eq!(layout::sanitize("e\u{301}"), "\u{e9}");
    assert!(Text::new(" \n ", Weight::Regular).unwrap().is_empty());
}

#[test]
fn layout_newlines_are_kept() {
    let frame = Frame {
        width: 1000.0,
        height: 400.0,
        max_size: 40.0,
        min_size: 40.0,
        line_height: 1.2,
        max_lines: 10,
    };
    let block = assert_inside(
        "newlines",
        "first line\nsecond line",
        Weight::Regular,
        frame,
    );
    assert_eq!(block.line_texts(), ["first line", "second line"]);
}

// ---------------------------------------------------------------------------------------------------------------
// Validation and schemas

fn invalid(slug: &str, config: Value) -> (String, String) {
    match validate(slug, &config) {
        Err(ConfigError::Invalid { field, message }) => (field, message),
        other => panic!("{slug} {config}: expected Invalid, got {other:?}"),
    }
}

#[test]
fn validate_unknown_template() {
    let err = validate("nope", &json!({})).unwrap_err();
    assert!(matches!(&err, ConfigError::UnknownTemplate(s) if s == "nope"));
    assert!(
        err.to_string()
            .contains("tweetImage, quoteCard, announcement"),
        "{err}"
    );
}

#[test]
fn validate_config_must_be_an_object() {
    for config in [json!([]), json!("title"), json!(null), json!(3)] {
        let (field, message) = invalid("tweetImage", config);
        assert_eq!(field, "config");
        assert!(message.contains("must be a JSON object"), "{message}");
    }
}

#[test]
fn validate_unknown_field() {
    let (field, message) = invalid(
        "tweetImage",
        json!({"title": "t", "author": "a", "colour": "red"}),
    );
    assert_eq!(field, "config.colour");
    assert_eq!(
        message,
        "config.colour is not a field of tweetImage; its fields are title, author, subtitle, handle, avatarUrl, theme."
    );
}

#[test]
fn validate_required_fields() {
    let (field, message) = invalid("tweetImage", json!({"author": "a"}));
    assert_eq!(
        (field.as_str(), message.as_str()),
        ("config.title", "config.title is required.")
    );
    let (field, _) = invalid("tweetImage", json!({"title": "t", "author": null}));
    assert_eq!(field, "config.author");
    let (field, message) = invalid("quoteCard", json!({"quote": "  \n ", "author": "a"}));
    assert_eq!(
        (field.as_str(), message.as_str()),
        ("config.quote", "config.quote must not be empty.")
    );
    let (field, _) = invalid("announcement", json!({}));
    assert_eq!(field, "config.title");
}

#[test]
fn validate_strings_must_be_strings() {
    let (field, message) = invalid("tweetImage", json!({"title": 42, "author": "a"}));
    assert_eq!(field, "config.title");
    assert_eq!(message, "config.title must be a string, not a number.");
    let (field, message) = invalid("announcement", json!({"title": "t", "summary": ["x"]}));
    assert_eq!(field, "config.summary");
    assert!(message.contains("not an array"), "{message}");
}

#[test]
fn validate_length_limits() {
    let (field, message) = invalid(
        "tweetImage",
        json!({"title": "x".repeat(281), "author": "a"}),
    );
    assert_eq!(field, "config.title");
    assert_eq!(
        message,
        "config.title must be at most 280 characters long; it has 281."
    );
    // Characters, not bytes.
    assert!(
        validate(
            "tweetImage",
            &json!({"title": "語".repeat(280), "author": "a"})
        )
        .is_ok()
    );
    let (field, message) = invalid(
        "tweetImage",
        json!({"title": "t", "author": "a".repeat(101)}),
    );
    assert_eq!(field, "config.author");
    assert!(message.contains("at most 100"), "{message}");
}

#[test]
fn validate_theme() {
    let (field, message) = invalid(
        "quoteCard",
        json!({"quote": "q", "author": "a", "theme": "blue"}),
    );
    assert_eq!(field, "config.theme");
    assert_eq!(
        message,
        "config.theme must be one of \"dark\", \"light\"; \"blue\" is not."
    );
    for theme in [json!("dark"), json!("light"), json!(null)] {
        assert!(
            validate(
                "quoteCard",
                &json!({"quote": "q", "author": "a", "theme": theme})
            )
            .is_ok()
        );
    }
}

#[test]
fn validate_avatar_url() {
    for url in [
        "ftp://example.com/a.png",
        "not a url",
        "javascript:alert(1)",
        "/relative.png",
        "https://",
    ] {
        let (field, message) = invalid(
            "tweetImage",
            json!({"title": "t", "author": "a", "avatarUrl": url}),
        );
        assert_eq!(field, "config.avatarUrl", "{url}");
        assert_eq!(
            message,
            "config.avatarUrl must be an absolute http:// or https:// URL."
        );
    }
    let (_, message) = invalid(
        "tweetImage",
        json!({"title": "t", "author": "a", "avatarUrl": format!("https://e.com/{}", "a".repeat(2048))}),
    );
    assert!(message.contains("at most 2048"), "{message}");
    let config = validate(
        "tweetImage",
        &json!({"title": "t", "author": "a", "avatarUrl": "https://example.com/a.png"}),
    )
    .unwrap();
    assert_eq!(config.avatar_url(), Some("https://example.com/a.png"));
    assert_eq!(config.slug(), "tweetImage");
    let config = validate(
        "tweetImage",
        &json!({"title": "t", "author": "a", "avatarUrl": ""}),
    )
    .unwrap();
    assert_eq!(config.avatar_url(), None);
}

#[test]
fn validate_accent() {
    for accent in ["#12345", "red", "#12345g", "123456", "#1234567"] {
        let (field, message) = invalid("announcement", json!({"title": "t", "accent": accent}));
        assert_eq!(field, "config.accent", "{accent}");
        assert!(message.contains("#rrggbb"), "{message}");
    }
    assert!(validate("announcement", &json!({"title": "t", "accent": "#A1b2C3"})).is_ok());
}

#[test]
fn validate_optional_fields_may_be_null_or_blank() {
    let config = validate(
        "announcement",
        &json!({"title": "t", "eyebrow": null, "summary": "", "siteName": "  ", "footer": null, "accent": null}),
    )
    .unwrap();
    assert_eq!(config.slug(), "announcement");
    assert_eq!(config.avatar_url(), None);
}

#[test]
fn list_schemas_match_validation() {
    let templates = list();
    let slugs: Vec<&str> = templates.iter().map(|t| t.slug).collect();
    assert_eq!(slugs, ["tweetImage", "quoteCard", "announcement"]);
    let expected_required: [&[&str]; 3] = [&["title", "author"], &["quote", "author"], &["title"]];
    for (t, required) in templates.iter().zip(expected_required) {
        assert_eq!((t.width, t.height), (1200, 630));
        assert!(!t.name.is_empty() && !t.description.is_empty());
        let schema = t.schema.as_object().expect("schema is an object");
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(schema["required"], json!(required));
        let properties = schema["properties"].as_object().unwrap();
        assert!(properties.contains_key("theme"));

        // A config with every required field filled in is valid.
        let base: serde_json::Map<String, Value> = required
            .iter()
            .map(|name| (name.to_string(), json!("x")))
            .collect();
        assert!(validate(t.slug, &Value::Object(base.clone())).is_ok());
        for name in required {
            let mut c = base.clone();
            c.remove(*name);
            assert_eq!(
                invalid(t.slug, Value::Object(c)).0,
                format!("config.{name}")
            );
        }
        for (name, p) in properties {
            let with = |v: Value| {
                let mut c = base.clone();
                c.insert(name.clone(), v);
                Value::Object(c)
            };
            assert!(p["description"].is_string(), "{name}");
            if let Some(max) = p.get("maxLength").and_then(Value::as_u64) {
                let prefix = if p.get("format").is_some() {
                    "https://e.com/"
                } else {
                    ""
                };
                let fill = |n: usize| format!("{prefix}{}", "y".repeat(n - prefix.len()));
                assert!(
                    validate(t.slug, &with(json!(fill(max as usize)))).is_ok(),
                    "{} {name} at maxLength",
                    t.slug
                );
                assert_eq!(
                    invalid(t.slug, with(json!(fill(max as usize + 1)))).0,
                    format!("config.{name}")
                );
            }
            if let Some(values) = p.get("enum").and_then(Value::as_array) {
                for v in values {
                    assert!(validate(t.slug, &with(v.clone())).is_ok(), "{name} = {v}");
                }
                assert_eq!(
                    invalid(t.slug, with(json!("purple"))).0,
                    format!("config.{name}")
                );
            }
            if !required.contains(&name.as_str()) {
                assert_eq!(p["type"], json!(["string", "null"]), "{name}");
                assert!(validate(t.slug, &with(Value::Null)).is_ok());
            }
            assert_eq!(
                invalid(t.slug, with(json!(true))).0,
                format!("config.{name}")
            );
        }
        assert_eq!(invalid(t.slug, json!({"zzz": 1})).0, "config.zzz");
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Timing (release): cargo test --release -p soku-shared templates::tests::timing -- --ignored --nocapture

#[test]
#[ignore]
fn timing() {
    let avatar = avatar_image(image::ImageFormat::Jpeg);
    let cases: Vec<(&str, Value, Option<&[u8]>)> = vec![
        (
            "tweetImage",
            json!({"title": "Soku now renders share images on the server", "author": "Ada", "handle": "ada"}),
            None,
        ),
        (
            "tweetImage",
            json!({"title": "With an avatar and a subtitle", "author": "Ada", "subtitle": "soku.dev"}),
            Some(&avatar),
        ),
        (
            "tweetImage",
            json!({"title": &LONG_TITLE[..280], "author": "Ada"}),
            None,
        ),
        (
            "tweetImage",
            json!({"title": CJK_TITLE, "author": "山田"}),
            None,
        ),
        (
            "tweetImage",
            json!({"title": EMOJI_TITLE, "author": "Ada"}),
            None,
        ),
        (
            "quoteCard",
            json!({"quote": "Simplicity is prerequisite for reliability.", "author": "Dijkstra"}),
            None,
        ),
        (
            "quoteCard",
            json!({"quote": ARABIC_TITLE, "author": "جبران"}),
            None,
        ),
        (
            "announcement",
            json!({"title": "Introducing Soku 1.0", "eyebrow": "Release", "summary": "One API.", "siteName": "Soku", "footer": "soku.dev"}),
            None,
        ),
    ];
    for (slug, config, avatar) in cases {
        let config = validate(slug, &config).unwrap();
        // The first render of a case also loads the font files it needs for the first time.
        let first = std::time::Instant::now();
        render(&config, avatar).unwrap();
        let first = first.elapsed();
        let n = 20;
        let start = std::time::Instant::now();
        for _ in 0..n {
            render(&config, avatar).unwrap();
        }
        let per = start.elapsed() / n;
        // Where the time goes: layout (building the SVG), usvg parse, resvg rasterise, PNG encode.
        let t = std::time::Instant::now();
        let svg = canvas_of(&config, avatar).unwrap().svg(true);
        let layout = t.elapsed();
        let t = std::time::Instant::now();
        let tree = resvg::usvg::Tree::from_str(&svg, &resvg::usvg::Options::default()).unwrap();
        let parse = t.elapsed();
        let t = std::time::Instant::now();
        let mut pixmap = resvg::tiny_skia::Pixmap::new(1200, 630).unwrap();
        resvg::render(
            &tree,
            resvg::tiny_skia::Transform::identity(),
            &mut pixmap.as_mut(),
        );
        let raster = t.elapsed();
        // The rest is the PNG encoding.
        let encode = per.saturating_sub(layout + parse + raster);
        let png = canvas::rasterize(&svg).unwrap().png;
        eprintln!(
            "{slug:>13} {per:>10.2?} per render, first {first:.2?} (layout {layout:.2?}, parse {parse:.2?}, raster {raster:.2?}, \
             encode {encode:.2?}; SVG {} KB, PNG {} KB)",
            svg.len() / 1024,
            png.len() / 1024
        );
    }
}
