//! The closed sets of names the API speaks: the social platforms a post can target and the kinds of media a post
//! carries. Each has one lowercase wire name (`x`, `youtube`, `image`, …) used in JSON, in the database and in
//! logs; parsing is exact (no case folding), so a name has exactly one spelling everywhere.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A social platform Soku can publish to.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Threads,
    X,
    Linkedin,
    Instagram,
    Facebook,
    Tiktok,
    Youtube,
}

impl Platform {
    /// Every platform, in the order the API documents them.
    pub const ALL: [Platform; 7] = [
        Platform::Threads,
        Platform::X,
        Platform::Linkedin,
        Platform::Instagram,
        Platform::Facebook,
        Platform::Tiktok,
        Platform::Youtube,
    ];

    /// The wire name: `threads`, `x`, `linkedin`, `instagram`, `facebook`, `tiktok`, `youtube`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Platform::Threads => "threads",
            Platform::X => "x",
            Platform::Linkedin => "linkedin",
            Platform::Instagram => "instagram",
            Platform::Facebook => "facebook",
            Platform::Tiktok => "tiktok",
            Platform::Youtube => "youtube",
        }
    }

    /// The platform whose wire name is exactly `s` (lowercase, no surrounding spaces).
    pub fn parse(s: &str) -> Option<Platform> {
        Platform::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a post carries besides its text.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum MediaType {
    /// Text only.
    Text,
    /// One or more images (`imageUrls`).
    Image,
    /// One video (`videoUrl`).
    Video,
}

impl MediaType {
    /// Every media type.
    pub const ALL: [MediaType; 3] = [MediaType::Text, MediaType::Image, MediaType::Video];

    /// The wire name: `text`, `image`, `video`.
    pub const fn as_str(self) -> &'static str {
        match self {
            MediaType::Text => "text",
            MediaType::Image => "image",
            MediaType::Video => "video",
        }
    }

    /// The media type whose wire name is exactly `s`.
    pub fn parse(s: &str) -> Option<MediaType> {
        MediaType::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_names_round_trip() {
        for p in Platform::ALL {
            assert_eq!(Platform::parse(p.as_str()), Some(p));
            assert_eq!(p.to_string(), p.as_str());
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.as_str()));
            assert_eq!(serde_json::from_str::<Platform>(&json).unwrap(), p);
        }
        let names: Vec<&str> = Platform::ALL.iter().map(|p| p.as_str()).collect();
        assert_eq!(
            names,
            [
                "threads",
                "x",
                "linkedin",
                "instagram",
                "facebook",
                "tiktok",
                "youtube"
            ]
        );
    }

    #[test]
    fn platform_parse_is_exact() {
        for bad in ["X", "Threads", " x", "x ", "twitter", "", "you tube"] {
            assert_eq!(Platform::parse(bad), None, "{bad:?}");
        }
        assert!(serde_json::from_str::<Platform>("\"X\"").is_err());
    }

    #[test]
    fn media_type_names_round_trip() {
        for m in MediaType::ALL {
            assert_eq!(MediaType::parse(m.as_str()), Some(m));
            assert_eq!(m.to_string(), m.as_str());
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(serde_json::from_str::<MediaType>(&json).unwrap(), m);
        }
        assert_eq!(MediaType::parse("Image"), None);
        assert_eq!(MediaType::parse("gif"), None);
    }
}
