//! The walk over `post.content`: each field, `mediaType` inferred or checked against the media, the text a text
//! post needs, then the target platforms' rules (`targets`) once per platform. Builds the normalized [`Content`].

use serde_json::{Map, Value};

use super::entries::{entry_platform, platform_entries};
use super::fields::{Errors, MAX_TEXT_CHARS, MAX_TITLE_CHARS, Slot, kind};
use super::{Content, PlatformEntry, TargetRequest, targets};
use crate::platform::{MediaType, Platform};
use crate::rules::rules;
use crate::text::default_title;

const MAX_IMAGE_URLS: usize = 35;

/// Walks `post.content`: every field, media consistency, the targets, then each target platform's rules.
pub(super) fn content(errs: &mut Errors, c: &Map<String, Value>) -> (Content, Vec<TargetRequest>) {
    let text = errs.free_text("post.content.text", c.get("text"), MAX_TEXT_CHARS);
    let media_type = media_type(errs, c.get("mediaType"));
    let (image_urls, image_count) = image_urls(errs, c.get("imageUrls"));
    let video = errs.url("post.content.videoUrl", c.get("videoUrl"));
    let title = errs.free_text("post.content.title", c.get("title"), MAX_TITLE_CHARS);
    let entries = platform_entries(errs, c.get("platform"));

    let has_video = video.present();
    let resolved = resolve_media_type(errs, media_type, image_count, has_video);
    require_text(errs, resolved, &text, &entries);
    let text_ok = match &text {
        Slot::Ok(s) => Some(s.as_str()),
        _ => None,
    };
    let derived_title = derived_title(&title, text_ok, &entries);
    let facts = targets::Facts {
        text: text_ok,
        image_count,
        has_video,
        title: title_for_rules(&title, derived_title.as_deref()),
    };
    let mut seen = Vec::new();
    for p in entries.iter().map(entry_platform) {
        if !seen.contains(&p) {
            seen.push(p);
            targets::check(errs, p, &facts);
        }
    }

    let nonblank = |s: String| (!s.trim().is_empty()).then_some(s);
    let targets = entries.iter().map(target_request).collect();
    let content = Content {
        text: text.ok().and_then(nonblank),
        media_type: resolved,
        image_urls,
        video_url: video.ok(),
        title: derived_title.or_else(|| title.ok().and_then(nonblank)),
        platform: entries,
    };
    (content, targets)
}

/// The media type given (checked against the media), or inferred from the media when absent.
fn resolve_media_type(
    errs: &mut Errors,
    given: Slot<MediaType>,
    image_count: Option<usize>,
    has_video: Option<bool>,
) -> MediaType {
    let inferred = match (has_video, image_count) {
        (Some(true), _) => MediaType::Video,
        (_, Some(n)) if n > 0 => MediaType::Image,
        _ => MediaType::Text,
    };
    match given {
        Slot::Ok(m) => {
            media_consistency(errs, m, image_count, has_video);
            m
        }
        Slot::Absent => {
            if has_video == Some(true) && image_count.is_some_and(|n| n > 0) {
                errs.add(
                    "post.content.videoUrl",
                    "cannot be combined with imageUrls; a post carries images or one video",
                );
            }
            inferred
        }
        _ => inferred,
    }
}

/// A text post needs its text, unless every target is youtube (whose title is the post).
fn require_text(
    errs: &mut Errors,
    media: MediaType,
    text: &Slot<String>,
    entries: &[PlatformEntry],
) {
    let youtube_only = !entries.is_empty()
        && entries
            .iter()
            .all(|e| entry_platform(e) == Platform::Youtube);
    if media != MediaType::Text || youtube_only {
        return;
    }
    match text {
        Slot::Absent => errs.add("post.content.text", "is required for a text post"),
        Slot::Ok(s) if s.trim().is_empty() => {
            errs.add("post.content.text", "must not be empty for a text post")
        }
        _ => {}
    }
}

/// A platform that needs a title (youtube) takes the first line of the text when none is given, as the docs'
/// video example expects; the derived title is stored in the content so every reader sees the same one.
fn derived_title(
    title: &Slot<String>,
    text: Option<&str>,
    entries: &[PlatformEntry],
) -> Option<String> {
    let rule = entries
        .iter()
        .filter_map(|e| rules(entry_platform(e)).title)
        .find(|t| t.required)?;
    let derive = |t: &str| default_title(t, rule.max_chars, rule.forbidden);
    match (title, text) {
        (Slot::Absent, Some(t)) => derive(t),
        (Slot::Ok(s), Some(t)) if s.trim().is_empty() => derive(t),
        _ => None,
    }
}

/// The title the platforms' rules judge: the derived one, else the one given (blank counts as none).
fn title_for_rules<'a>(title: &'a Slot<String>, derived: Option<&'a str>) -> Slot<&'a str> {
    match (title, derived) {
        (_, Some(d)) => Slot::Ok(d),
        (Slot::Ok(s), None) if !s.trim().is_empty() => Slot::Ok(s.as_str()),
        (Slot::Ok(_) | Slot::Absent, None) => Slot::Absent,
        _ => Slot::Invalid,
    }
}

fn target_request(e: &PlatformEntry) -> TargetRequest {
    match e {
        PlatformEntry::Name(p) => TargetRequest {
            platform: *p,
            label: None,
        },
        PlatformEntry::Account { platform, label } => TargetRequest {
            platform: *platform,
            label: Some(label.clone()),
        },
    }
}

fn media_type(errs: &mut Errors, v: Option<&Value>) -> Slot<MediaType> {
    const FIELD: &str = "post.content.mediaType";
    match errs.string(FIELD, v) {
        Slot::Ok(s) => match MediaType::parse(s) {
            Some(m) => Slot::Ok(m),
            None => {
                errs.add(
                    FIELD,
                    format!(
                        "must be one of `text`, `image`, `video`; got `{}`",
                        super::excerpt(s)
                    ),
                );
                Slot::Invalid
            }
        },
        Slot::Absent => Slot::Absent,
        _ => Slot::WrongType,
    }
}

fn media_consistency(errs: &mut Errors, m: MediaType, images: Option<usize>, video: Option<bool>) {
    let (images_given, no_images) = (images.is_some_and(|n| n > 0), images == Some(0));
    let (video_given, no_video) = (video == Some(true), video == Some(false));
    let imgs = "post.content.imageUrls";
    let vid = "post.content.videoUrl";
    match m {
        MediaType::Text => {
            if images_given {
                errs.add(imgs, "must be empty when mediaType is `text`");
            }
            if video_given {
                errs.add(vid, "must be absent when mediaType is `text`");
            }
        }
        MediaType::Image => {
            if no_images {
                errs.add(
                    imgs,
                    "needs at least one image URL when mediaType is `image`",
                );
            }
            if video_given {
                errs.add(vid, "must be absent when mediaType is `image`");
            }
        }
        MediaType::Video => {
            if no_video {
                errs.add(vid, "is required when mediaType is `video`");
            }
            if images_given {
                errs.add(imgs, "must be empty when mediaType is `video`");
            }
        }
    }
}

/// The valid image URLs, and how many entries the array has (`None`: not an array).
fn image_urls(errs: &mut Errors, v: Option<&Value>) -> (Vec<String>, Option<usize>) {
    const FIELD: &str = "post.content.imageUrls";
    let items = match v {
        None | Some(Value::Null) => return (Vec::new(), Some(0)),
        Some(Value::Array(items)) => items,
        Some(other) => {
            errs.add(
                FIELD,
                format!("must be an array of URL strings; got {}", kind(other)),
            );
            return (Vec::new(), None);
        }
    };
    if items.len() > MAX_IMAGE_URLS {
        errs.add(
            FIELD,
            format!("has {} entries; the limit is {MAX_IMAGE_URLS}", items.len()),
        );
    }
    let urls = items.iter().enumerate().filter_map(|(i, item)| {
        let path = format!("{FIELD}[{i}]");
        if item.is_null() {
            // An item is not an optional field: null here is a wrong type, not an absence.
            errs.add(path, "must be a string; got null");
            return None;
        }
        errs.url(&path, Some(item)).ok()
    });
    (urls.collect(), Some(items.len()))
}
