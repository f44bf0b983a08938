//! `quoteCard`: a quotation — a large accent quotation mark, the quote, and the author with an optional role and
//! source.

use std::fmt::Write as _;

use super::RenderError;
use super::canvas::{self, Canvas, H, MARGIN, Theme, W};
use super::fields::{Field, Values};
use super::fonts::Weight;
use super::layout::{Align, Frame};

pub(crate) const SLUG: &str = "quoteCard";
pub(crate) const NAME: &str = "Quote card";
pub(crate) const DESCRIPTION: &str = "A quotation as a share card: a large quotation mark, the quote (wrapped and shrunk \
                                      to fit), and the author with an optional role and source.";

pub(crate) const FIELDS: &[Field] = &[
    Field::required_text(
        "quote",
        500,
        "The quotation, without quotation marks; wrapped and shrunk to fit.",
    ),
    Field::required_text("author", 100, "Who said it."),
    Field::text(
        "role",
        100,
        "The author's role or title, e.g. \"CEO, Soku\".",
    ),
    Field::text(
        "source",
        100,
        "Where it was said or written, e.g. a book, talk or date.",
    ),
    Field::THEME,
];

#[derive(Clone, Debug)]
pub(crate) struct QuoteCard {
    quote: String,
    author: String,
    role: Option<String>,
    source: Option<String>,
    theme: Theme,
}

impl QuoteCard {
    pub(crate) fn from_values(v: &Values) -> QuoteCard {
        QuoteCard {
            quote: v.required("quote"),
            author: v.required("author"),
            role: v.optional("role"),
            source: v.optional("source"),
            theme: v.theme(),
        }
    }

    pub(crate) fn draw(&self) -> Result<Canvas, RenderError> {
        let p = self.theme.palette(None);
        let mut c = Canvas::new(&p);
        let glow = if self.theme == Theme::Dark {
            0.14
        } else {
            0.09
        };
        c.glow(60.0, H - 20.0, 520.0, &p.accent, glow);

        let width = W - 2.0 * MARGIN;
        let bottom = H - MARGIN;

        // Attribution at the bottom: an accent rule, the author, then role · source.
        let bar = 44.0;
        let ax = MARGIN + bar + 20.0;
        let aw = W - MARGIN - ax;
        let detail: Vec<&str> = [self.role.as_deref(), self.source.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        let detail = if detail.is_empty() {
            None
        } else {
            Some(canvas::block(
                &detail.join(" \u{b7} "),
                Weight::Regular,
                Frame {
                    width: aw,
                    height: 32.0,
                    max_size: 24.0,
                    min_size: 18.0,
                    line_height: 1.3,
                    max_lines: 1,
                },
            )?)
        };
        let author = canvas::block(
            &self.author,
            Weight::Bold,
            Frame {
                width: aw,
                height: 42.0,
                max_size: 32.0,
                min_size: 22.0,
                line_height: 1.25,
                max_lines: 1,
            },
        )?;
        let attribution = author.height() + detail.as_ref().map_or(0.0, |d| d.height() + 2.0);
        let ay = bottom - attribution;
        // Mirrored for a right-to-left author: the rule on the right, the text right-aligned.
        let rtl = author.is_rtl();
        let (bar_x, text_x, align) = if rtl {
            (W - MARGIN - bar, MARGIN, Align::Right)
        } else {
            (MARGIN, ax, Align::Left)
        };
        let _ = write!(
            c.content(),
            "<rect x=\"{bar_x}\" y=\"{}\" width=\"{bar}\" height=\"4\" rx=\"2\" fill=\"{}\"/>",
            ay + author.height() / 2.0 - 2.0,
            p.accent
        );
        c.text(&author, text_x, ay, aw, align, p.text)?;
        if let Some(d) = &detail {
            c.text(d, text_x, ay + author.height() + 2.0, aw, align, p.muted)?;
        }

        // The quote between the quotation mark and the attribution, centred vertically in that space.
        let top = 176.0;
        let quote_bottom = ay - 40.0;
        let quote = canvas::block(
            &self.quote,
            Weight::Regular,
            Frame {
                width,
                height: quote_bottom - top,
                max_size: 54.0,
                min_size: 26.0,
                line_height: 1.3,
                max_lines: 12,
            },
        )?;
        let qy = top + ((quote_bottom - top) - quote.height()).max(0.0) / 3.0;
        c.text(&quote, MARGIN, qy, width, Align::Start, p.text)?;

        // The quotation mark (decoration: part of the chrome), on the quote's starting side.
        let mark_size = 200.0;
        let mark = canvas::block(
            "\u{201c}",
            Weight::Bold,
            Frame {
                width,
                height: mark_size * 1.2,
                max_size: mark_size,
                min_size: mark_size,
                line_height: 1.2,
                max_lines: 1,
            },
        )?;
        let align = if quote.is_rtl() {
            Align::Right
        } else {
            Align::Left
        };
        c.chrome_text(&mark, MARGIN - 8.0, 20.0, width + 16.0, align, &p.accent)?;
        Ok(c)
    }
}
