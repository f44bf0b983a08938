//! The per-platform publishing rules, as data: one [`PlatformRules`] row per platform in a single table, each limit
//! with a comment naming its source (the platform's own developer docs, or "3p" for third-party guides, as in
//! docs/platforms.md). Intake validation (`validate`) reads the text, media-count and title rules from here; the video
//! duration and size rules are read where the media is known (the media worker and the publish step), because
//! nothing about a remote file is known when a post is accepted. Limits the platform reports at run time
//! (`content_publishing_limit`, `threads_publishing_limit`) win over the fallbacks kept here.
//!
//! Each text rule names how its platform counts ([`TextCounting`]); the counting itself lives in [`crate::text`].

use crate::platform::Platform;
use crate::text::{char_count, utf16_len, x_weighted_length};

/// How a platform measures the length of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextCounting {
    /// Unicode code points.
    Chars,
    /// X's weighted length: see [`crate::text::x_weighted_length`].
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
            TextCounting::Chars => char_count(text),
            TextCounting::XWeighted => x_weighted_length(text),
            TextCounting::Utf16Units => utf16_len(text),
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
    /// Width ÷ height as displayed, when the platform bounds it.
    pub aspect: Option<Aspect>,
    /// The narrowest width the platform takes, in pixels.
    pub min_width: Option<u32>,
}

/// Bounds on width ÷ height, each a ratio `(w, h)`: `min` 4:5 is `(4, 5)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aspect {
    pub min: (u32, u32),
    pub max: (u32, u32),
}

impl Aspect {
    /// Whether `width`×`height` is within the bounds (inclusive).
    pub fn allows(self, width: u32, height: u32) -> bool {
        let (w, h) = (u64::from(width), u64::from(height));
        let (a, b) = (u64::from(self.min.0), u64::from(self.min.1));
        let (c, d) = (u64::from(self.max.0), u64::from(self.max.1));
        h > 0 && w * b >= a * h && w * d <= c * h
    }

    /// `4:5 to 1.91:1`.
    pub fn describe(self) -> String {
        let ratio = |(w, h): (u32, u32)| {
            if w % h == 0 {
                format!("{}:1", w / h)
            } else if h == 100 {
                format!("{}:1", f64::from(w) / 100.0)
            } else {
                format!("{w}:{h}")
            }
        };
        format!("{} to {}", ratio(self.min), ratio(self.max))
    }
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
    /// Width ÷ height as displayed, when the platform bounds it.
    pub aspect: Option<Aspect>,
    /// The smallest width and height the platform takes, in pixels.
    pub min_side: Option<u32>,
    /// Only "platform-safe" video (H.264 High, yuv420p, ≤ 60 fps, even dimensions, AAC-LC, MP4 with faststart,
    /// closed GOP): a video that is not gets the platform-safe rendition (`media::rendition`).
    pub safe_only: bool,
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
        aspect: None,
        min_width: None,
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
        aspect: None,
        min_side: None,
        // Every platform but YouTube (which takes any video file) documents H.264/AAC in MP4 as what it takes
        // (X media best practices; Meta's Reels and Threads video specs; LinkedIn's and TikTok's video specs).
        safe_only: true,
    }
}

use TextCounting::{Chars, Utf8Bytes, Utf16Units, XWeighted};

/// The table, in [`Platform::ALL`] order. Sources as in docs/platforms.md: a platform's own developer docs, or "3p".
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
            aspect: None,
            min_width: None,
        }),
        // X media best-practices docs (default accounts, video on a Post): 0.5 s–20 min, 8 GB. The old
        // 512 MB / 140 s is now the DM video limit. Same docs: aspect ratio 1:3 to 3:1, at least 32x32.
        video: VideoRule {
            aspect: Some(Aspect { min: (1, 3), max: (3, 1) }),
            min_side: Some(32),
            ..video(Some(8 * 1024 * MB), Some(500), Some(1200 * SEC),
                &["video/mp4", "video/quicktime"]) // X media upload docs
        },
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
        images: Some(ImageRule {                  // IG Content Publishing docs: carousel ≤ 10; 8 MB; JPEG
            // 3p (ayrshare media guidelines): feed images 4:5 to 1.91:1, at least 320 px wide.
            aspect: Some(Aspect { min: (4, 5), max: (191, 100) }),
            min_width: Some(320),
            ..images(10, Some(8 * MB), &["image/jpeg"])
        }),
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
        video: VideoRule {                        // YouTube Data API docs: 256 GB, any video file
            safe_only: false,
            ..video(Some(256 * 1024 * MB), None, None, &["video/*"])
        },
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
}
