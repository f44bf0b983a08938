//! A post's media against one platform's media rules (`rules`): what the probe found (type, size, duration),
//! checked once the media is ready, at intake when it already is, and at publish time otherwise. Every failing
//! rule is reported, each as a sentence naming the file and the limit.

use crate::platform::Platform;
use crate::rules::rules;
use crate::store::media::MediaRow;

/// What a rule looks at in one media file.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub mime: String,
    pub size_bytes: u64,
    pub duration_seconds: Option<f64>,
    /// As displayed; `None` when unknown.
    pub dimensions: Option<(u32, u32)>,
}

impl Facts {
    pub fn of(row: &MediaRow) -> Facts {
        Facts {
            mime: row.mime_type.clone().unwrap_or_default(),
            size_bytes: row.size_bytes.unwrap_or(0).max(0) as u64,
            duration_seconds: row.duration_seconds,
            dimensions: match (row.width, row.height) {
                (Some(w), Some(h)) if w > 0 && h > 0 => Some((w as u32, h as u32)),
                _ => None,
            },
        }
    }

    fn is_video(&self) -> bool {
        self.mime.starts_with("video/")
    }
}

/// A post's video: the original, and its platform-safe copy when the original needed one.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoFacts {
    pub original: Facts,
    /// The rendition (`media::rendition`), when one was made.
    pub safe_copy: Option<Facts>,
    /// Why the original needed a copy and none could be made.
    pub copy_error: Option<String>,
}

impl VideoFacts {
    pub fn of(row: &MediaRow) -> VideoFacts {
        let safe_copy = row.rendition_key.as_ref().map(|_| Facts {
            mime: "video/mp4".into(),
            size_bytes: row.rendition_size.unwrap_or(0).max(0) as u64,
            duration_seconds: row
                .rendition_probe
                .as_ref()
                .and_then(|p| p.0["durationSeconds"].as_f64())
                .or(row.duration_seconds),
            dimensions: row.rendition_probe.as_ref().and_then(|p| {
                let dim = |k: &str| p.0[k].as_u64().map(|v| v as u32);
                Some((dim("width")?, dim("height")?))
            }),
        });
        VideoFacts {
            original: Facts::of(row),
            safe_copy,
            copy_error: row.rendition_error.clone(),
        }
    }

    /// Whether `platform` publishes the safe copy rather than the original.
    pub fn uses_copy(&self, platform: Platform) -> bool {
        rules(platform).video.safe_only && self.safe_copy.is_some()
    }
}

fn mb(bytes: u64) -> String {
    let mb = bytes as f64 / (1024.0 * 1024.0);
    if mb >= 10.0 {
        format!("{mb:.0} MB")
    } else {
        format!("{mb:.1} MB")
    }
}

fn kinds(mimes: &[&str]) -> String {
    mimes
        .iter()
        .map(|m| match *m {
            "image/jpeg" => "JPEG",
            "image/png" => "PNG",
            "image/gif" => "GIF",
            "image/webp" => "WebP",
            "video/mp4" => "MP4",
            "video/quicktime" => "MOV",
            "video/webm" => "WebM",
            "video/*" => "any video",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn accepts(mimes: &[&str], mime: &str) -> bool {
    mimes
        .iter()
        .any(|m| *m == mime || (*m == "video/*" && mime.starts_with("video/")))
}

/// Every rule of `platform` that the post's images (`images`, in order) or video break; empty when none.
pub fn check(platform: Platform, images: &[Facts], video: Option<&VideoFacts>) -> Vec<String> {
    let r = rules(platform);
    let mut out = Vec::new();
    let p = platform.as_str();
    for (i, img) in images.iter().enumerate() {
        let n = i + 1;
        let Some(rule) = &r.images else {
            out.push(format!("{p} does not take images"));
            break;
        };
        if img.is_video() {
            out.push(format!(
                "image {n} is a video ({}); put a video in videoUrl",
                img.mime
            ));
            continue;
        }
        if !accepts(rule.mime_types, &img.mime) {
            out.push(format!(
                "image {n} is {}; {p} takes {}",
                kinds(&[img.mime.as_str()]),
                kinds(rule.mime_types)
            ));
        }
        let limit = if img.mime == "image/gif" {
            rule.gif_max_bytes.or(rule.max_bytes)
        } else {
            rule.max_bytes
        };
        if let Some(max) = limit
            && img.size_bytes > max
        {
            out.push(format!(
                "image {n} is {}; {p} takes images up to {}",
                mb(img.size_bytes),
                mb(max)
            ));
        }
        if let Some((w, h)) = img.dimensions {
            if let Some(a) = rule.aspect
                && !a.allows(w, h)
            {
                out.push(format!(
                    "image {n} is {w}x{h} (aspect ratio {:.2}:1); {p} takes images from {} (aspect ratio rule)",
                    f64::from(w) / f64::from(h),
                    a.describe()
                ));
            }
            if let Some(min) = rule.min_width
                && w < min
            {
                out.push(format!(
                    "image {n} is {w} px wide; {p} takes images at least {min} px wide"
                ));
            }
        }
    }
    if let Some(vf) = video {
        let rule = &r.video;
        let v = match (&vf.safe_copy, &vf.copy_error) {
            (Some(copy), _) if rule.safe_only => copy,
            (None, Some(why)) if rule.safe_only => {
                out.push(format!(
                    "the video is not in a form {p} takes (H.264/AAC in MP4) and a platform-safe copy could \
                     not be made: {why}"
                ));
                return out;
            }
            _ => &vf.original,
        };
        if !v.is_video() {
            out.push(format!(
                "the video is an image ({}); put images in imageUrls",
                v.mime
            ));
            return out;
        }
        if !accepts(rule.mime_types, &v.mime) {
            out.push(format!(
                "the video is {}; {p} takes {}",
                kinds(&[v.mime.as_str()]),
                kinds(rule.mime_types)
            ));
        }
        if let Some(max) = rule.max_bytes
            && v.size_bytes > max
        {
            out.push(format!(
                "the video is {}; {p} takes videos up to {}",
                mb(v.size_bytes),
                mb(max)
            ));
        }
        if let Some((w, h)) = v.dimensions {
            if let Some(a) = rule.aspect
                && !a.allows(w, h)
            {
                out.push(format!(
                    "the video is {w}x{h} (aspect ratio {:.2}:1); {p} takes videos from {} (aspect ratio rule)",
                    f64::from(w) / f64::from(h),
                    a.describe()
                ));
            }
            if let Some(min) = rule.min_side
                && (w < min || h < min)
            {
                out.push(format!(
                    "the video is {w}x{h}; {p} takes videos of at least {min}x{min}"
                ));
            }
        }
        if let Some(d) = v.duration_seconds {
            if let Some(max) = rule.max_duration_ms
                && d * 1000.0 > f64::from(max)
            {
                out.push(format!(
                    "the video is {d:.1} s long; {p} takes videos up to {} s (duration rule)",
                    f64::from(max) / 1000.0
                ));
            }
            if let Some(min) = rule.min_duration_ms
                && d * 1000.0 < f64::from(min)
            {
                out.push(format!(
                    "the video is {d:.1} s long; {p} takes videos of at least {} s (duration rule)",
                    f64::from(min) / 1000.0
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(mime: &str, size: u64, d: Option<f64>) -> Facts {
        Facts {
            mime: mime.into(),
            size_bytes: size,
            duration_seconds: d,
            dimensions: None,
        }
    }

    fn plain(v: Facts) -> VideoFacts {
        VideoFacts {
            original: v,
            safe_copy: None,
            copy_error: None,
        }
    }

    #[test]
    fn a_safe_copy_is_what_safe_only_platforms_are_checked_against() {
        let v = VideoFacts {
            original: f("video/webm", 1 << 20, Some(10.0)),
            safe_copy: Some(f("video/mp4", 2 << 20, Some(10.0))),
            copy_error: None,
        };
        assert!(check(Platform::Instagram, &[], Some(&v)).is_empty());
        assert!(v.uses_copy(Platform::Instagram) && !v.uses_copy(Platform::Youtube));
        let failed = VideoFacts {
            safe_copy: None,
            copy_error: Some("ffmpeg failed".into()),
            ..v
        };
        let out = check(Platform::Tiktok, &[], Some(&failed));
        assert!(
            out[0].contains("could not be made: ffmpeg failed"),
            "{out:?}"
        );
        assert!(check(Platform::Youtube, &[], Some(&failed)).is_empty());
    }

    #[test]
    fn a_two_hour_video_breaks_instagrams_duration_rule() {
        let v = plain(f("video/mp4", 50 << 20, Some(7200.0)));
        let out = check(Platform::Instagram, &[], Some(&v));
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(
            out[0].contains("7200.0 s") && out[0].contains("900 s"),
            "{out:?}"
        );
        assert!(check(Platform::Youtube, &[], Some(&v)).is_empty());
    }

    #[test]
    fn aspect_ratio_and_size_rules_name_the_limits() {
        let wide = Facts {
            dimensions: Some((1920, 600)),
            ..f("image/jpeg", 1 << 20, None)
        };
        let out = check(Platform::Instagram, std::slice::from_ref(&wide), None);
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(
            out[0].contains("3.20:1") && out[0].contains("4:5 to 1.91:1"),
            "{out:?}"
        );
        let square = Facts {
            dimensions: Some((1080, 1080)),
            ..wide.clone()
        };
        assert!(check(Platform::Instagram, &[square], None).is_empty());
        let narrow = Facts {
            dimensions: Some((200, 200)),
            ..wide
        };
        assert!(check(Platform::Instagram, &[narrow], None)[0].contains("at least 320 px wide"));
        let tall = plain(Facts {
            dimensions: Some((100, 400)),
            ..f("video/mp4", 1 << 20, Some(10.0))
        });
        let out = check(Platform::X, &[], Some(&tall));
        assert!(out[0].contains("1:3 to 3:1"), "{out:?}");
        assert!(check(Platform::Youtube, &[], Some(&tall)).is_empty());
    }

    #[test]
    fn every_failing_rule_is_reported() {
        let png = f("image/png", 9 << 20, None);
        let out = check(Platform::Instagram, &[png.clone(), png], None);
        assert_eq!(out.len(), 4, "{out:?}");
        assert!(
            out[0].contains("image 1 is PNG; instagram takes JPEG"),
            "{out:?}"
        );
        assert!(
            out[1].contains("9.0 MB") && out[1].contains("8.0 MB"),
            "{out:?}"
        );
        let short = plain(f("video/webm", 1 << 20, Some(1.0)));
        let out = check(Platform::Linkedin, &[], Some(&short));
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(
            check(Platform::Youtube, &[f("image/jpeg", 1, None)], None)[0]
                .contains("does not take images")
        );
    }
}
