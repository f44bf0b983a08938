//! `tweetImage`: a post as a card — the author (round avatar, name, handle) on top, the title large and bold, an
//! optional subtitle at the bottom.

use super::RenderError;
use super::canvas::{self, Canvas, H, MARGIN, Theme, W};
use super::fields::{Field, Kind, Values};
use super::fonts::Weight;
use super::layout::{Align, Frame};

pub(crate) const SLUG: &str = "tweetImage";
pub(crate) const NAME: &str = "Tweet image";
pub(crate) const DESCRIPTION: &str = "A post as a share card: the author with a round avatar, name and handle on top, the title large and bold below, \
     and an optional subtitle.";

pub(crate) const FIELDS: &[Field] = &[
    Field::required_text(
        "title",
        280,
        "The post's text, shown large and bold; wrapped and shrunk to fit.",
    ),
    Field::required_text("author", 100, "The author's display name."),
    Field::text(
        "subtitle",
        280,
        "A smaller line under the title, e.g. a link title or date.",
    ),
    Field::text(
        "handle",
        50,
        "The author's handle, e.g. \"@soku\" (an @ is added when missing).",
    ),
    Field {
        name: "avatarUrl",
        kind: Kind::HttpUrl,
        required: false,
        description: "An http(s) URL of the author's avatar (PNG, JPEG, GIF or WebP), shown round; without one, the \
                      author's initial is shown.",
    },
    Field::THEME,
];

#[derive(Clone, Debug)]
pub(crate) struct TweetImage {
    title: String,
    author: String,
    subtitle: Option<String>,
    handle: Option<String>,
    avatar_url: Option<String>,
    theme: Theme,
}

const AVATAR: f32 = 88.0;
const GAP: f32 = 24.0;

impl TweetImage {
    pub(crate) fn from_values(v: &Values) -> TweetImage {
        TweetImage {
            title: v.required("title"),
            author: v.required("author"),
            subtitle: v.optional("subtitle"),
            handle: v.optional("handle").map(|h| {
                let h = h.trim();
                if h.starts_with('@') {
                    h.to_string()
                } else {
                    format!("@{h}")
                }
            }),
            avatar_url: v.optional("avatarUrl"),
            theme: v.theme(),
        }
    }

    pub(crate) fn avatar_url(&self) -> Option<&str> {
        self.avatar_url.as_deref()
    }

    pub(crate) fn draw(&self, avatar: Option<&[u8]>) -> Result<Canvas, RenderError> {
        let p = self.theme.palette(None);
        let mut c = Canvas::new(&p);
        let glow = if self.theme == Theme::Dark {
            0.16
        } else {
            0.10
        };
        c.glow(W - 140.0, 20.0, 560.0, &p.accent, glow);

        let right = W - MARGIN;
        let width = right - MARGIN;
        let bottom = H - MARGIN;

        // Header: avatar, name, handle.
        let (ax, ay) = (MARGIN, MARGIN);
        match avatar {
            Some(bytes) => {
                let png = canvas::avatar_png(bytes, (AVATAR * 2.0) as u32)?;
                c.avatar(&png, ax, ay, AVATAR, p.faint);
            }
            None => {
                let initial = initial_of(&self.author);
                c.initial_avatar(&initial, ax, ay, AVATAR, &p.accent, p.bg_from)?;
            }
        }
        let nx = ax + AVATAR + GAP;
        let nw = right - nx;
        let name = canvas::block(
            &self.author,
            Weight::Bold,
            Frame {
                width: nw,
                height: 44.0,
                max_size: 34.0,
                min_size: 24.0,
                line_height: 1.25,
                max_lines: 1,
            },
        )?;
        let handle = match &self.handle {
            Some(h) => Some(canvas::block(
                h,
                Weight::Regular,
                Frame {
                    width: nw,
                    height: 34.0,
                    max_size: 26.0,
                    min_size: 20.0,
                    line_height: 1.25,
                    max_lines: 1,
                },
            )?),
            None => None,
        };
        let total = name.height() + handle.as_ref().map_or(0.0, |h| h.height() + 2.0);
        let ny = ay + (AVATAR - total) / 2.0;
        c.text(&name, nx, ny, nw, Align::Left, p.text)?;
        if let Some(h) = &handle {
            c.text(h, nx, ny + name.height() + 2.0, nw, Align::Left, p.muted)?;
        }

        // Subtitle at the bottom, title in the space between.
        let top = ay + AVATAR + 44.0;
        let mut title_bottom = bottom;
        if let Some(s) = &self.subtitle {
            let sub = canvas::block(
                s,
                Weight::Regular,
                Frame {
                    width,
                    height: 3.0 * 1.35 * 30.0,
                    max_size: 30.0,
                    min_size: 22.0,
                    line_height: 1.35,
                    max_lines: 3,
                },
            )?;
            let sy = bottom - sub.height();
            c.text(&sub, MARGIN, sy, width, Align::Start, p.muted)?;
            title_bottom = sy - 28.0;
        }
        let title = canvas::block(
            &self.title,
            Weight::Bold,
            Frame {
                width,
                height: title_bottom - top,
                max_size: 64.0,
                min_size: 30.0,
                line_height: 1.2,
                max_lines: 12,
            },
        )?;
        c.text(&title, MARGIN, top, width, Align::Start, p.text)?;
        Ok(c)
    }
}

/// The first letter of a name, upper-cased, for a placeholder avatar.
pub(crate) fn initial_of(name: &str) -> String {
    use unicode_segmentation::UnicodeSegmentation as _;
    let clean = super::layout::sanitize(name);
    let first = clean
        .graphemes(true)
        .find(|g| g.chars().any(char::is_alphanumeric))
        .unwrap_or("");
    first.to_uppercase()
}
