//! `announcement`: a blog post or announcement — an accent bar, an optional eyebrow tag, the title, an optional
//! summary, and a footer with the site's name and an optional note.

use std::fmt::Write as _;

use super::RenderError;
use super::canvas::{self, Canvas, H, MARGIN, Theme, W};
use super::fields::{Field, Kind, Values};
use super::fonts::Weight;
use super::layout::{Align, Frame};

pub(crate) const SLUG: &str = "announcement";
pub(crate) const NAME: &str = "Announcement";
pub(crate) const DESCRIPTION: &str = "A blog post or announcement as a share card: an optional eyebrow tag, the title \
                                      large and bold, an optional summary, and a footer with the site's name and an \
                                      optional note, in an accent colour of your choice.";

pub(crate) const FIELDS: &[Field] = &[
    Field::required_text(
        "title",
        200,
        "The post's or announcement's title; wrapped and shrunk to fit.",
    ),
    Field::text(
        "eyebrow",
        40,
        "A short tag above the title, e.g. \"New\", \"Release 2.0\" or \"Engineering\".",
    ),
    Field::text("summary", 300, "One or two sentences under the title."),
    Field::text(
        "siteName",
        60,
        "The site's or product's name, at the bottom left.",
    ),
    Field::text(
        "footer",
        100,
        "A note at the bottom right, e.g. a date or a URL.",
    ),
    Field::THEME,
    Field {
        name: "accent",
        kind: Kind::Color,
        required: false,
        description: "Accent colour as #rrggbb (the top bar, the tag, the site's dot); a blue that suits the theme by \
                      default.",
    },
];

#[derive(Clone, Debug)]
pub(crate) struct Announcement {
    title: String,
    eyebrow: Option<String>,
    summary: Option<String>,
    site_name: Option<String>,
    footer: Option<String>,
    theme: Theme,
    accent: Option<String>,
}

impl Announcement {
    pub(crate) fn from_values(v: &Values) -> Announcement {
        Announcement {
            title: v.required("title"),
            eyebrow: v.optional("eyebrow"),
            summary: v.optional("summary"),
            site_name: v.optional("siteName"),
            footer: v.optional("footer"),
            theme: v.theme(),
            accent: v.optional("accent"),
        }
    }

    pub(crate) fn draw(&self) -> Result<Canvas, RenderError> {
        let p = self.theme.palette(self.accent.as_deref());
        let mut c = Canvas::new(&p);
        let glow = if self.theme == Theme::Dark {
            0.18
        } else {
            0.12
        };
        c.glow(W - 80.0, H + 40.0, 560.0, &p.accent, glow);
        let _ = write!(
            c.chrome,
            "<rect width=\"{W}\" height=\"10\" fill=\"{}\"/>",
            p.accent
        );

        let width = W - 2.0 * MARGIN;
        let bottom = H - MARGIN;
        let mut top = MARGIN;
        let mut eyebrow_pill = None;

        // Eyebrow: a tinted pill with the tag in the accent colour.
        if let Some(eyebrow) = &self.eyebrow {
            let pad = 20.0;
            let tag = canvas::block(
                &eyebrow.to_uppercase(),
                Weight::Bold,
                Frame {
                    width: 640.0,
                    height: 30.0,
                    max_size: 22.0,
                    min_size: 16.0,
                    line_height: 1.3,
                    max_lines: 1,
                },
            )?;
            let pill_h = tag.height() + 16.0;
            let pill_w = tag.width() + 2.0 * pad;
            let x = if tag.is_rtl() {
                W - MARGIN - pill_w
            } else {
                MARGIN
            };
            eyebrow_pill = Some((tag, x, pill_w, pill_h));
            top += pill_h + 32.0;
        }

        // Footer: a dot and the site's name on the left, the note on the right, above them a faint rule.
        let mut content_bottom = bottom;
        if self.site_name.is_some() || self.footer.is_some() {
            let row_h = 36.0;
            let y = bottom - row_h;
            let dot = 14.0;
            let both = self.site_name.is_some() && self.footer.is_some();
            let mut used_left = 0.0;
            if let Some(site) = &self.site_name {
                let sw = if both { width * 0.55 } else { width } - dot - 14.0;
                let name = canvas::block(
                    site,
                    Weight::Bold,
                    Frame {
                        width: sw,
                        height: row_h,
                        max_size: 28.0,
                        min_size: 20.0,
                        line_height: 1.25,
                        max_lines: 1,
                    },
                )?;
                let _ = write!(
                    c.content(),
                    "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\"/>",
                    MARGIN + dot / 2.0,
                    y + row_h / 2.0,
                    dot / 2.0,
                    p.accent
                );
                let ny = y + (row_h - name.height()) / 2.0;
                c.text(&name, MARGIN + dot + 14.0, ny, sw, Align::Left, p.text)?;
                used_left = dot + 14.0 + name.width() + 32.0;
            }
            if let Some(note) = &self.footer {
                let fw = width - used_left;
                let note = canvas::block(
                    note,
                    Weight::Regular,
                    Frame {
                        width: fw,
                        height: row_h,
                        max_size: 24.0,
                        min_size: 18.0,
                        line_height: 1.3,
                        max_lines: 1,
                    },
                )?;
                let ny = y + (row_h - note.height()) / 2.0;
                c.text(&note, W - MARGIN - fw, ny, fw, Align::Right, p.muted)?;
            }
            let rule = y - 28.0;
            let _ = write!(
                c.content(),
                "<rect x=\"{MARGIN}\" y=\"{rule}\" width=\"{width}\" height=\"2\" fill=\"{}\"/>",
                p.faint
            );
            content_bottom = rule - 36.0;
        }

        // Summary under the title; the title gets the rest.
        let summary = match &self.summary {
            Some(s) => Some(canvas::block(
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
            )?),
            None => None,
        };
        let summary_h = summary.as_ref().map_or(0.0, |s| s.height() + 24.0);
        let title = canvas::block(
            &self.title,
            Weight::Bold,
            Frame {
                width,
                height: content_bottom - summary_h - top,
                max_size: 72.0,
                min_size: 32.0,
                line_height: 1.15,
                max_lines: 10,
            },
        )?;
        // The group (eyebrow, title, summary) sits a little above the middle of its space.
        let spare = content_bottom - (top + title.height() + summary_h);
        let shift = (spare * 0.4).max(0.0);
        if let Some((tag, x, pill_w, pill_h)) = &eyebrow_pill {
            let y = MARGIN + shift;
            let _ = write!(
                c.content(),
                "<rect x=\"{x}\" y=\"{y}\" width=\"{pill_w}\" height=\"{pill_h}\" rx=\"{}\" fill=\"{}\" \
                 fill-opacity=\"0.16\"/>",
                pill_h / 2.0,
                p.accent
            );
            c.text(tag, x + 20.0, y + 8.0, tag.width(), Align::Left, &p.accent)?;
        }
        let top = top + shift;
        c.text(&title, MARGIN, top, width, Align::Start, p.text)?;
        if let Some(s) = &summary {
            let y = top + title.height() + 24.0;
            c.text(s, MARGIN, y, width, Align::Start, p.muted)?;
        }
        Ok(c)
    }
}
