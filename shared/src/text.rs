//! How long a text is, as each platform counts it, and the other facts about a text that platform rules need. The
//! rules table (`rules`) says which platform counts which way; docs/platforms.md gives the sources.
//!
//! - X: the weighted length of the official twitter-text library, v3 configuration, through the `twitter-text`
//!   crate (a port of it): the text is NFC-normalized, every URL counts 23, every emoji (ZWJ sequences, flags, skin
//!   tones, keycaps, © and ® included) counts 2, code points in U+0000–U+10FF, U+2000–U+200D, U+2010–U+201F and
//!   U+2032–U+2037 count 1, and every other code point (CJK, most symbols) counts 2.
//! - TikTok: UTF-16 code units. YouTube's description: UTF-8 bytes. Everyone else: code points.
//! - Instagram: hashtags, repeats included.
//!
//! It also derives YouTube's title from the text when a post has none.

use twitter_text::extractor::{Extract, ValidatingExtractor};
use unicode_normalization::UnicodeNormalization;

/// The length of `text` as X counts it: twitter-text's weighted length with the v3 configuration.
///
/// The crate (0.3) finds URLs without a scheme (`example.com/x`) but weighs only those with one as 23, and it takes
/// a bare `name.cc` for a URL; the official library weighs every URL it finds as 23 and does not take `name.cc`
/// without a path for one. The URLs without a scheme are therefore re-weighed here, following the official rule.
pub fn x_weighted_length(text: &str) -> usize {
    let nfc: String = text.nfc().collect();
    let defused = defuse_mention_check(&nfc);
    match std::panic::catch_unwind(|| weighted_length_of_nfc(&defused)) {
        Ok(length) => length,
        Err(_) => {
            // Not seen since the input is defused; a client's text must still never cost a 500.
            tracing::warn!(
                "twitter-text panicked on a text; its length is counted without URL detection"
            );
            defused.chars().map(weight_without_urls).sum()
        }
    }
}

fn weighted_length_of_nfc(nfc: &str) -> usize {
    let config = twitter_text_config::config_v3();
    let extractor = ValidatingExtractor::new_with_nfc_input(config, nfc);
    let found = extractor.extract_urls_with_indices(nfc);
    let mut length = found.parse_results.weighted_length;
    let weighed_as_text = found.entities.iter().map(|e| e.value);
    for url in weighed_as_text.filter(|u| !has_scheme(u) && !is_short_country_domain(u)) {
        let as_text = twitter_text::parse(url, config, false).weighted_length;
        length += config.transformed_url_length - as_text;
    }
    usize::try_from(length).unwrap_or(0)
}

/// twitter-text 0.3.1 panics (a byte slice inside a character, `nom_parser::is_rt_prefix_before`) on an `@` or
/// `＠` that follows a character of the "not a mention" set (ASCII letters and digits, `_ @ ! # $ % & * = /`,
/// `＠`) when the byte two before it is inside a character: `日a@x`, `éR@x`, `＠@x`. Such an `@` starts no
/// mention (only `RT@` would) and lets no URL start right after it; `$` / `＄` are alike in both and weigh the
/// same, so it is swapped for one before parsing. The length is unchanged; only the crash is gone.
fn defuse_mention_check(nfc: &str) -> std::borrow::Cow<'_, str> {
    let not_a_mention_after =
        |c: char| c.is_ascii_alphanumeric() || "_@!#$%&*=/\u{ff20}".contains(c);
    let mut prev: Option<char> = None;
    let mut trips = Vec::new();
    for (at, c) in nfc.char_indices() {
        if matches!(c, '@' | '\u{ff20}')
            && prev.is_some_and(not_a_mention_after)
            && at >= 2
            && !nfc.is_char_boundary(at - 2)
        {
            trips.push(at);
        }
        prev = Some(c);
    }
    if trips.is_empty() {
        return std::borrow::Cow::Borrowed(nfc);
    }
    let swapped = nfc
        .char_indices()
        .map(|(at, c)| match c {
            '@' if trips.contains(&at) => '$',
            '\u{ff20}' if trips.contains(&at) => '\u{ff04}',
            c => c,
        })
        .collect();
    std::borrow::Cow::Owned(swapped)
}

/// The v3 weight of one code point, URLs and emoji aside (the fallback's count).
fn weight_without_urls(c: char) -> usize {
    match u32::from(c) {
        0..=0x10FF | 0x2000..=0x200D | 0x2010..=0x201F | 0x2032..=0x2037 => 1,
        _ => 2,
    }
}

/// Whether a URL found by twitter-text starts with its scheme (`http://`, `https://`, in any case).
fn has_scheme(url: &str) -> bool {
    let head = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    head.starts_with("http://") || head.starts_with("https://")
}

/// `name.cc` without a path: one label, a two-letter (country) TLD, maybe a port or a query but no `/`. The
/// official extractor takes it for a URL only under `.co` and `.tv` (`t.co`, `vine.co`, `mlb.tv`).
fn is_short_country_domain(url: &str) -> bool {
    if url.contains('/') {
        return false;
    }
    let host = url.split(['?', '#', ':']).next().unwrap_or(url);
    host.split_once('.').is_some_and(|(_, tld)| {
        tld.len() == 2
            && tld.chars().all(|c| c.is_ascii_alphabetic())
            && !tld.eq_ignore_ascii_case("co")
            && !tld.eq_ignore_ascii_case("tv")
    })
}

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
/// the text, without the characters in `forbidden`, cut at a word boundary to fit `max_chars`.
pub fn default_title(text: &str, max_chars: usize, forbidden: &[char]) -> Option<String> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let clean: String = line.chars().filter(|c| !forbidden.contains(c)).collect();
    let clean = clean.trim();
    if clean.is_empty() {
        return None;
    }
    if clean.chars().count() <= max_chars {
        return Some(clean.to_string());
    }
    let cut: String = clean.chars().take(max_chars.saturating_sub(1)).collect();
    let cut = match cut.rfind(char::is_whitespace) {
        Some(i) if i > cut.len() / 2 => cut[..i].trim_end().to_string(),
        _ => cut,
    };
    Some(format!("{cut}…"))
}

#[cfg(test)]
mod tests;
