//! Applies one target platform's rules from [`crate::rules`] to a post's content: text length as the platform
//! counts it, forbidden characters, hashtags, required media, images per post, and the title. Each failure is one
//! [`super::FieldError`] carrying the platform, so two targets on the same platform report a rule once.
//!
//! Video duration and file size (`PlatformRules::video`) and image size/type (`ImageRule::max_bytes`,
//! `mime_types`) are not checked here: nothing is known about the files at intake. They are checked when the media
//! has been fetched and probed, before the publish step hands the post to the platform.

use super::fields::{Errors, Slot};
use crate::platform::Platform;
use crate::rules::{MediaNeed, PlatformRules, TitleRule, rules};
use crate::text::hashtag_count;

/// What the per-platform rules look at, as far as it is known (`None`: the field had the wrong type, so the rules
/// that need it are skipped rather than guessed).
pub(super) struct Facts<'a> {
    /// The text, when it is a valid string.
    pub text: Option<&'a str>,
    pub image_count: Option<usize>,
    pub has_video: Option<bool>,
    /// `Absent` also covers a blank title.
    pub title: Slot<&'a str>,
}

/// Reports every rule of platform `p` that the content breaks.
pub(super) fn check(errs: &mut Errors, p: Platform, facts: &Facts<'_>) {
    let r = rules(p);
    if let Some(text) = facts.text {
        check_text(errs, p, r, text);
    }
    check_media(errs, p, r, facts);
    if let Some(t) = r.title {
        check_title(errs, p, t, &facts.title);
    }
}

/// The text's length as the platform counts it, its forbidden characters and its hashtags.
fn check_text(errs: &mut Errors, p: Platform, r: &PlatformRules, text: &str) {
    let what = if p == Platform::Youtube {
        "description"
    } else {
        "text"
    };
    let n = r.text.counting.count(text);
    if n > r.text.max {
        let unit = r.text.counting.unit();
        let message = format!(
            "{p} counts this {what} as {n} {unit}; the limit is {}",
            r.text.max
        );
        errs.add_for(p, "post.content.text", message);
    }
    if let Some(message) = forbidden_message(p, what, text, r.text.forbidden) {
        errs.add_for(p, "post.content.text", message);
    }
    if let Some(max) = r.text.max_hashtags {
        let n = hashtag_count(text);
        if n > max {
            let message = format!("{p} allows at most {max} hashtags; this text has {n}");
            errs.add_for(p, "post.content.text", message);
        }
    }
}

/// The media the platform needs, and the images it accepts.
fn check_media(errs: &mut Errors, p: Platform, r: &PlatformRules, facts: &Facts<'_>) {
    if let (Some(images), Some(video)) = (facts.image_count, facts.has_video) {
        match r.media {
            MediaNeed::ImageOrVideo if images == 0 && !video => {
                errs.add_for(p, "post.content", format!("{p} needs an image or a video"));
            }
            MediaNeed::Video if !video => {
                errs.add_for(
                    p,
                    "post.content.videoUrl",
                    format!("{p} needs a video (videoUrl)"),
                );
            }
            _ => {}
        }
    }
    let Some(n) = facts.image_count.filter(|n| *n > 0) else {
        return;
    };
    match r.images {
        None => errs.add_for(
            p,
            "post.content.imageUrls",
            format!("{p} does not accept images"),
        ),
        Some(img) if n > img.max_per_post => {
            let message = format!(
                "{p} allows at most {} images per post; this post has {n}",
                img.max_per_post
            );
            errs.add_for(p, "post.content.imageUrls", message);
        }
        Some(_) => {}
    }
}

/// A title where the platform has one: required or not, its length and forbidden characters.
fn check_title(errs: &mut Errors, p: Platform, t: TitleRule, title: &Slot<&str>) {
    match title {
        Slot::Absent if t.required => {
            let message = format!("{p} needs a title (at most {} characters)", t.max_chars);
            errs.add_for(p, "post.content.title", message);
        }
        Slot::Ok(title) => {
            let n = title.chars().count();
            if n > t.max_chars {
                let message = format!(
                    "{p} allows at most {} characters in the title; this title has {n}",
                    t.max_chars
                );
                errs.add_for(p, "post.content.title", message);
            }
            if let Some(message) = forbidden_message(p, "title", title, t.forbidden) {
                errs.add_for(p, "post.content.title", message);
            }
        }
        _ => {}
    }
}

/// "youtube does not accept `<` or `>` in the title", when `s` holds one of `forbidden`.
fn forbidden_message(p: Platform, what: &str, s: &str, forbidden: &[char]) -> Option<String> {
    if !s.contains(forbidden) {
        return None;
    }
    let list: Vec<String> = forbidden.iter().map(|c| format!("`{c}`")).collect();
    Some(format!(
        "{p} does not accept {} in the {what}",
        list.join(" or ")
    ))
}
