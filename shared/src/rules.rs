//! The per-platform publishing rules, as data: one [`PlatformRules`] row per platform in a single table, each limit
//! with a comment naming its source (the platform's own developer docs, or "3p" for third-party guides, as in
//! PLATFORMS.md). Intake validation (`validate`) reads the text, media-count and title rules from here; the video
//! duration and size rules are read where the media is known (the media worker and the publish step), because
//! nothing about a remote file is known when a post is accepted. Limits the platform reports at run time
//! (`content_publishing_limit`, `threads_publishing_limit`) win over the fallbacks kept here.
//!
//! It also holds the text-measuring functions, because "how long is this text" is itself a platform rule: X's
//! weighted length (twitter-text v3), UTF-16 code units (TikTok), UTF-8 bytes (YouTube's description), code points
//! (everyone else), and hashtag counting (Instagram).

use std::ops::Range;

use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

use crate::platform::Platform;

/// How a platform measures the length of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextCounting {
    /// Unicode code points.
    Chars,
    /// X's weighted length: see [`x_weighted_length`].
    XWeighted,
    /// UTF-16 code units (an emoji outside the BMP counts 2).
    Utf16Units,
    /// UTF-8 bytes.
    Utf8Bytes,
}

impl TextCounting {
    /// The length of `text` as this platform counts it.
    pub fn count(self, text: &str) -> usize {
        match self {
            TextCounting::Chars => text.chars().count(),
            TextCounting::XWeighted => x_weighted_length(text),
            TextCounting::Utf16Units => text.encode_utf16().count(),
            TextCounting::Utf8Bytes => text.len(),
        }
    }

    /// The unit, for messages: "312 weighted characters".
    pub fn unit(self) -> &'static str {
        match self {
            TextCounting::Chars => "characters",
            TextCounting::XWeighted => "weighted characters",
            TextCounting::Utf16Units => "UTF-16 code units",
            TextCounting::Utf8Bytes => "bytes (UTF-8)",
        }
    }
}

/// The post's text (the caption; YouTube's description).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextRule {
    pub max: usize,
    pub counting: TextCounting,
    /// Characters the platform refuses in the text.
    pub forbidden: &'static [char],
    pub max_hashtags: Option<usize>,
}

/// What media a post must carry on this platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaNeed {
    /// Text-only posts are fine.
    None,
    /// At least one image, or a video.
    ImageOrVideo,
    /// A video (and no images).
    Video,
}

/// Images on this platform (`None` in [`PlatformRules::images`]: images are not accepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageRule {
    pub max_per_post: usize,
    /// Per image; checked once the file is fetched.
    pub max_bytes: Option<u64>,
    pub gif_max_bytes: Option<u64>,
    pub mime_types: &'static [&'static str],
}

/// The one video of a post. Checked once the file is fetched and probed (media worker / publish step), never at
/// intake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoRule {
    pub max_bytes: Option<u64>,
    pub min_duration_ms: Option<u32>,
    pub max_duration_ms: Option<u32>,
    /// Accepted MIME types; `video/*` means any video type.
    pub mime_types: &'static [&'static str],
}

/// A separate title field (YouTube).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TitleRule {
    pub required: bool,
    pub max_chars: usize,
    pub forbidden: &'static [char],
}

/// Everything Soku knows about what one platform accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlatformRules {
    pub platform: Platform,
    pub text: TextRule,
    pub media: MediaNeed,
    pub images: Option<ImageRule>,
    pub video: VideoRule,
    pub title: Option<TitleRule>,
    /// Fallback for the platform's own publishing quota (per profile, per rolling 24 h).
    pub posts_per_day: Option<u32>,
}

const MB: u64 = 1024 * 1024;
const SEC: u32 = 1000;

/// A text rule with no forbidden characters and no hashtag cap.
const fn text(max: usize, counting: TextCounting) -> TextRule {
    TextRule {
        max,
        counting,
        forbidden: &[],
        max_hashtags: None,
    }
}

const fn images(
    max_per_post: usize,
    max_bytes: Option<u64>,
    mime: &'static [&'static str],
) -> ImageRule {
    ImageRule {
        max_per_post,
        max_bytes,
        gif_max_bytes: None,
        mime_types: mime,
    }
}

const fn video(
    bytes: Option<u64>,
    min_ms: Option<u32>,
    max_ms: Option<u32>,
    mime: &'static [&'static str],
) -> VideoRule {
    VideoRule {
        max_bytes: bytes,
        min_duration_ms: min_ms,
        max_duration_ms: max_ms,
        mime_types: mime,
    }
}

use TextCounting::{Chars, Utf8Bytes, Utf16Units, XWeighted};

/// The table, in [`Platform::ALL`] order. Sources as in PLATFORMS.md: a platform's own developer docs, or "3p".
#[rustfmt::skip]
static RULES: [PlatformRules; 7] = [
    PlatformRules {
        platform: Platform::Threads,
        text: text(500, Chars),                   // Threads API docs: 500 characters
        media: MediaNeed::None,                   // Threads API docs: TEXT posts
        images: Some(images(20, Some(8 * MB),     // 3p: carousel 2–20 (1 image: IMAGE post); 8 MB
            &["image/jpeg", "image/png"])),       // 3p: JPEG/PNG
        video: video(Some(1024 * MB), None, Some(300 * SEC), // 3p: 1 GB, 5 min
            &["video/mp4", "video/quicktime"]),   // 3p: MOV/MP4
        title: None,
        posts_per_day: Some(250),                 // Threads docs; live: threads_publishing_limit
    },
    PlatformRules {
        platform: Platform::X,
        text: text(280, XWeighted),               // twitter-text v3 config: 280 weighted
        media: MediaNeed::None,                   // X API docs: text-only posts
        images: Some(ImageRule {
            max_per_post: 4,                      // X API docs: ≤ 4 images, or 1 GIF, or 1 video
            max_bytes: Some(5 * MB),              // X media upload docs
            gif_max_bytes: Some(15 * MB),         // X media upload docs
            mime_types: &["image/jpeg", "image/png", "image/gif", "image/webp"], // X media docs
        }),
        video: video(Some(512 * MB),              // X media upload docs: 512 MB
            Some(500), Some(140 * SEC),           // 3p: 0.5–140 s
            &["video/mp4", "video/quicktime"]),   // X media upload docs
        title: None,
        posts_per_day: None,
    },
    PlatformRules {
        platform: Platform::Linkedin,
        // 3p: 3,000 characters. LinkedIn Posts API docs: "little text" reserved characters must be
        // escaped by the adapter, or the post is silently cut.
        text: text(3000, Chars),
        media: MediaNeed::None,                   // LinkedIn Posts API docs: text-only posts
        images: Some(images(20, Some(5 * MB),     // LinkedIn MultiImage docs: 2–20 (one image is a
            &["image/jpeg", "image/png", "image/gif"])), // single-image post); 5 MB: 3p
        video: video(None, Some(3 * SEC), Some(1800 * SEC), // 3p: MP4, 3 s–30 min
            &["video/mp4"]),
        title: None,
        posts_per_day: None,
    },
    PlatformRules {
        platform: Platform::Instagram,
        // 3p: 2,200 characters and ≤ 30 hashtags.
        text: TextRule { max_hashtags: Some(30), ..text(2200, Chars) },
        media: MediaNeed::ImageOrVideo,           // IG Content Publishing docs: no text-only posts
        images: Some(images(10, Some(8 * MB),     // IG Content Publishing docs: carousel ≤ 10; 8 MB
            &["image/jpeg"])),                    // IG Content Publishing docs: JPEG
        video: video(None, Some(3 * SEC), Some(900 * SEC), // 3p: reels 3 s–15 min
            &["video/mp4", "video/quicktime"]),
        title: None,
        // IG Content Publishing docs: 25–100 API posts / 24 h. Live: content_publishing_limit; this
        // conservative fallback is used only when it cannot be read.
        posts_per_day: Some(25),
    },
    PlatformRules {
        platform: Platform::Facebook,
        text: text(63_206, Chars),                // 3p: "~63,000"; 63,206 is the 3p guides' figure
        media: MediaNeed::None,                   // Graph API docs: /{page-id}/feed text posts
        images: Some(images(10, None,             // 3p: 10 is the common guide value per post
            &["image/jpeg", "image/png", "image/gif"])),
        video: video(None, Some(3 * SEC), Some(90 * SEC), // Facebook Reels API docs: reels 3–90 s
            &["video/*"]),                        // (reels only; not /videos page uploads)
        title: None,
        posts_per_day: None,
    },
    PlatformRules {
        platform: Platform::Tiktok,
        text: text(2200, Utf16Units),             // TikTok Content Posting docs: UTF-16 units
        media: MediaNeed::ImageOrVideo,           // TikTok Content Posting docs: photos or 1 video
        images: Some(images(35, None,             // TikTok Content Posting docs: photo posts ≤ 35
            &["image/jpeg", "image/webp"])),      // 3p: JPEG/WebP, no PNG
        video: video(None, Some(3 * SEC), Some(600 * SEC), // 3p: 3–600 s
            &["video/mp4", "video/quicktime", "video/webm"]), // 3p: MP4/MOV/WebM
        title: None,
        posts_per_day: None,
    },
    PlatformRules {
        platform: Platform::Youtube,
        // YouTube Data API docs (videos resource): description ≤ 5,000 bytes, no `<` or `>`.
        text: TextRule { forbidden: &['<', '>'], ..text(5000, Utf8Bytes) },
        media: MediaNeed::Video,                  // YouTube Data API docs: videos.insert, one video
        images: None,                             // YouTube Data API docs: no image posts
        video: video(Some(256 * 1024 * MB), None, None, // YouTube Data API docs: 256 GB
            &["video/*"]),                        // YouTube Data API docs (videos.insert): video/*
        // YouTube Data API docs (videos resource): title required, ≤ 100 characters, no `<` or `>`.
        title: Some(TitleRule { required: true, max_chars: 100, forbidden: &['<', '>'] }),
        posts_per_day: None,                      // YouTube Data API docs: a daily project quota
    },
];

/// The rules of platform `p`.
pub fn rules(p: Platform) -> &'static PlatformRules {
    // `Platform` discriminants follow `Platform::ALL`, the table's order (checked by a test).
    &RULES[p as usize]
}

// ---- X weighted length (twitter-text v3) ----

const X_SCALE: usize = 100;
const X_DEFAULT_WEIGHT: usize = 200;
const X_URL_LENGTH: usize = 23;
/// Code point ranges of weight 100; everything else weighs [`X_DEFAULT_WEIGHT`].
const X_LIGHT_RANGES: [(u32, u32); 4] = [
    (0x0000, 0x10FF),
    (0x2000, 0x200D),
    (0x2010, 0x201F),
    (0x2032, 0x2037),
];

/// The length of `text` as X counts it, following the twitter-text v3 configuration: the text is NFC-normalized,
/// every URL counts 23, every emoji (a grapheme cluster with an emoji in it: ZWJ sequences, flags, skin tones,
/// keycaps) counts 2, code points in U+0000–U+10FF, U+2000–U+200D, U+2010–U+201F and U+2032–U+2037 count 1, and
/// every other code point (CJK, most symbols) counts 2.
pub fn x_weighted_length(text: &str) -> usize {
    let text: String = text.nfc().collect();
    let urls = find_urls(&text);
    let mut total = urls.len() * X_URL_LENGTH * X_SCALE;
    let mut next_url = 0;
    for (at, cluster) in text.grapheme_indices(true) {
        while next_url < urls.len() && urls[next_url].end <= at {
            next_url += 1;
        }
        if next_url < urls.len() && urls[next_url].start <= at {
            continue;
        }
        total += if is_emoji_cluster(cluster) {
            X_DEFAULT_WEIGHT
        } else {
            cluster.chars().map(x_char_weight).sum()
        };
    }
    total / X_SCALE
}

fn x_char_weight(c: char) -> usize {
    let c = c as u32;
    if X_LIGHT_RANGES
        .iter()
        .any(|&(lo, hi)| (lo..=hi).contains(&c))
    {
        100
    } else {
        X_DEFAULT_WEIGHT
    }
}

/// Extended_Pictographic (Unicode emoji data), condensed; U+2600–U+27BF is taken whole.
#[rustfmt::skip]
const PICTOGRAPHIC: &[(u32, u32)] = &[
    (0x00A9, 0x00A9), (0x00AE, 0x00AE), (0x203C, 0x203C), (0x2049, 0x2049), (0x2122, 0x2122),
    (0x2139, 0x2139), (0x2194, 0x2199), (0x21A9, 0x21AA), (0x231A, 0x231B), (0x2328, 0x2328),
    (0x2388, 0x2388), (0x23CF, 0x23CF), (0x23E9, 0x23F3), (0x23F8, 0x23FA), (0x24C2, 0x24C2),
    (0x25AA, 0x25AB), (0x25B6, 0x25B6), (0x25C0, 0x25C0), (0x25FB, 0x25FE), (0x2600, 0x27BF),
    (0x2934, 0x2935), (0x2B05, 0x2B07), (0x2B1B, 0x2B1C), (0x2B50, 0x2B50), (0x2B55, 0x2B55),
    (0x3030, 0x3030), (0x303D, 0x303D), (0x3297, 0x3297), (0x3299, 0x3299), (0x1F000, 0x1FAFF),
    (0x1FC00, 0x1FFFD),
];

/// Whether a grapheme cluster is an emoji: it holds a pictographic code point above U+00FF, a regional indicator
/// (flags) or a keycap mark, or © / ® made emoji by U+FE0F.
fn is_emoji_cluster(cluster: &str) -> bool {
    let (mut latin_pictograph, mut emoji_selector) = (false, false);
    for c in cluster.chars() {
        let u = c as u32;
        if u == 0x20E3 || (0x1F1E6..=0x1F1FF).contains(&u) {
            return true;
        }
        if PICTOGRAPHIC.iter().any(|&(lo, hi)| (lo..=hi).contains(&u)) {
            if u > 0xFF {
                return true;
            }
            latin_pictograph = true;
        }
        emoji_selector |= u == 0xFE0F;
    }
    latin_pictograph && emoji_selector
}

/// Generic TLDs that make a bare `name.tld` a link on X (a short list of the common ones).
const GENERIC_TLDS: &[&str] = &[
    "com", "net", "org", "edu", "gov", "mil", "int", "info", "biz", "name", "pro", "app", "dev",
    "blog", "shop", "store", "online", "site", "tech", "xyz", "news", "page", "link", "live",
    "cloud", "art", "design", "club", "top", "space", "website", "email", "media", "world",
    "today", "social", "video", "studio", "agency",
];

/// Byte ranges of the URLs X would shorten: `http(s)://domain…` and bare domains with a generic TLD (or a
/// two-letter country TLD when there is a path or a subdomain, as twitter-text does).
fn find_urls(text: &str) -> Vec<Range<usize>> {
    let mut urls = Vec::new();
    let mut at = 0;
    let mut prev: Option<char> = None;
    while let Some(c) = text[at..].chars().next() {
        if c.is_ascii_alphanumeric()
            && let Some(end) = url_at(text, at, prev)
        {
            urls.push(at..end);
            prev = text[..end].chars().next_back();
            at = end;
            continue;
        }
        prev = Some(c);
        at += c.len_utf8();
    }
    urls
}

fn url_at(text: &str, start: usize, prev: Option<char>) -> Option<usize> {
    let bad_before = |c: char| {
        c.is_alphanumeric() || "@＠$#＃".contains(c) || ('\u{202A}'..='\u{202E}').contains(&c)
    };
    if prev.is_some_and(bad_before) {
        return None;
    }
    let rest = &text[start..];
    let lower: String = rest
        .chars()
        .take(8)
        .collect::<String>()
        .to_ascii_lowercase();
    let scheme = ["https://", "http://"]
        .into_iter()
        .find(|s| lower.starts_with(s))
        .map_or(0, str::len);
    if scheme == 0 && prev.is_some_and(|c| "-_./".contains(c)) {
        return None;
    }
    let (domain_end, labels, tld) = scan_domain(text, start + scheme, scheme == 0)?;
    let after = &text[domain_end..];
    let has_path = after.starts_with('/');
    if scheme == 0 && !GENERIC_TLDS.contains(&tld.to_ascii_lowercase().as_str()) {
        let country = tld.len() == 2 && tld.chars().all(|c| c.is_ascii_alphabetic());
        if !(country && (has_path || labels > 2)) {
            return None;
        }
    }
    let tail_len = if after.starts_with(['/', '?', '#', ':']) {
        after.find(char::is_whitespace).unwrap_or(after.len())
    } else {
        0
    };
    Some(domain_end + trim_trailing_punctuation(&after[..tail_len]))
}

/// `(end, label count, tld)` of the domain starting at `start`; needs ≥ 2 labels and an alphabetic TLD.
fn scan_domain(text: &str, start: usize, ascii_only: bool) -> Option<(usize, usize, &str)> {
    let label_char = |c: char| {
        if ascii_only {
            c.is_ascii_alphanumeric() || c == '-'
        } else {
            c.is_alphanumeric() || c == '-'
        }
    };
    let (mut end, mut labels, mut last_label) = (start, 0, start..start);
    loop {
        let label_len: usize = text[end..]
            .chars()
            .take_while(|&c| label_char(c))
            .map(char::len_utf8)
            .sum();
        if label_len == 0 {
            break;
        }
        last_label = end..end + label_len;
        end += label_len;
        labels += 1;
        let next_starts_label = text[end..]
            .strip_prefix('.')
            .and_then(|r| r.chars().next())
            .is_some_and(label_char);
        if !next_starts_label {
            break;
        }
        end += 1;
    }
    let tld = &text[last_label];
    (labels >= 2 && tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic))
        .then_some((end, labels, tld))
}

/// Length of `tail` without the punctuation that ends a sentence rather than a URL.
fn trim_trailing_punctuation(tail: &str) -> usize {
    let count = |c: char| tail.matches(c).count();
    let (mut parens, mut brackets) = (
        count(')') as isize - count('(') as isize,
        count(']') as isize - count('[') as isize,
    );
    let mut end = tail.len();
    while let Some(c) = tail[..end].chars().next_back() {
        let strip = match c {
            ')' if parens > 0 => {
                parens -= 1;
                true
            }
            ']' if brackets > 0 => {
                brackets -= 1;
                true
            }
            _ => ".,;:!?'\"…".contains(c),
        };
        if !strip {
            break;
        }
        end -= c.len_utf8();
    }
    end
}

// ---- other counts ----

/// UTF-16 code units (TikTok's measure).
pub fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// Unicode code points.
pub fn char_count(text: &str) -> usize {
    text.chars().count()
}

/// Hashtags as Instagram counts them: `#` (or `＃`) not preceded by a word character or `&`, followed by word
/// characters, not all digits. Every occurrence counts, repeats included.
pub fn hashtag_count(text: &str) -> usize {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let chars: Vec<char> = text.chars().collect();
    let mut count = 0;
    let mut i = 0;
    while i < chars.len() {
        let starts_tag = matches!(chars[i], '#' | '＃')
            && (i == 0 || !(word(chars[i - 1]) || chars[i - 1] == '&'));
        if !starts_tag {
            i += 1;
            continue;
        }
        let body_len = chars[i + 1..].iter().take_while(|&&c| word(c)).count();
        if chars[i + 1..i + 1 + body_len]
            .iter()
            .any(|c| !c.is_numeric())
        {
            count += 1;
        }
        i += 1 + body_len;
    }
    count
}

/// The title given to a platform that needs one (youtube) when the post has none: the first non-blank line of
/// the text, without the characters titles may not hold, cut at a word boundary to fit the platform's limit.
pub fn default_title(text: &str) -> Option<String> {
    let rule = rules(Platform::Youtube).title?;
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let clean: String = line
        .chars()
        .filter(|c| !rule.forbidden.contains(c))
        .collect();
    let clean = clean.trim();
    if clean.is_empty() {
        return None;
    }
    if clean.chars().count() <= rule.max_chars {
        return Some(clean.to_string());
    }
    let cut: String = clean.chars().take(rule.max_chars - 1).collect();
    let cut = match cut.rfind(char::is_whitespace) {
        Some(i) if i > cut.len() / 2 => cut[..i].trim_end().to_string(),
        _ => cut,
    };
    Some(format!("{cut}…"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_one_row_per_platform_in_order() {
        for p in Platform::ALL {
            assert_eq!(rules(p).platform, p);
        }
        assert_eq!(rules(Platform::X).text.max, 280);
        assert_eq!(rules(Platform::Threads).text.max, 500);
        assert_eq!(rules(Platform::Instagram).text.max_hashtags, Some(30));
        assert_eq!(
            rules(Platform::Tiktok).text.counting,
            TextCounting::Utf16Units
        );
        assert!(rules(Platform::Youtube).images.is_none());
        assert!(
            rules(Platform::Youtube)
                .title
                .is_some_and(|t| t.required && t.max_chars == 100)
        );
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
        assert_eq!(x_weighted_length("©"), 1);
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
        assert_eq!(x_weighted_length("go to example.com/x"), 6 + 23);
        assert_eq!(x_weighted_length("example.com"), 23);
        assert_eq!(x_weighted_length("main.rs"), 7); // country TLD without path: not a link
        assert_eq!(x_weighted_length("mail me@example.com"), 19);
        assert_eq!(x_weighted_length("https://"), 8);
        assert_eq!(x_weighted_length("HTTPS://EXAMPLE.COM/日本"), 23);
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
        ];
        for s in odd {
            let _ = (x_weighted_length(s), hashtag_count(s));
        }
        assert_eq!(x_weighted_length("https://a.com/))))]]]"), 30);
        assert_eq!(x_weighted_length("©\u{FE0F}"), 2);
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
}
