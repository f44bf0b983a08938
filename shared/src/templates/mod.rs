//! Server-rendered share images: 1200×630 PNG cards made from a template and a small JSON config
//! (`POST /v1/templates`, `GET /v1/templates`).
//!
//! # Use
//!
//! [`list`] describes every template, with the JSON Schema of its config. [`validate`] turns a slug and a config
//! into a [`Config`] or a [`ConfigError`] (`UnknownTemplate` → 404, `Invalid { field: "config.title", .. }` → 400).
//! [`render`] makes the PNG; it is CPU-bound and synchronous (run it in `spawn_blocking`), and takes the avatar's
//! bytes, fetched by the caller from [`Config::avatar_url`], when there is one.
//!
//! # Templates
//!
//! | slug | fields (required in bold) | card |
//! | --- | --- | --- |
//! | `tweetImage` | **title** (≤ 280), **author** (≤ 100), subtitle (≤ 280), handle (≤ 50), avatarUrl, theme | round avatar (or the author's initial), name and @handle on top; the title large and bold; the subtitle muted at the bottom |
//! | `quoteCard` | **quote** (≤ 500), **author** (≤ 100), role (≤ 100), source (≤ 100), theme | a large accent quotation mark, the quote, an accent rule with the author and "role · source" at the bottom |
//! | `announcement` | **title** (≤ 200), eyebrow (≤ 40), summary (≤ 300), siteName (≤ 60), footer (≤ 100), theme, accent | an accent bar on top, the eyebrow as a tinted pill, the title, the summary, and a footer row (dot + site name left, note right) |
//!
//! Limits count characters (Unicode scalar values), as JSON Schema's `maxLength` does. `theme` is `dark` (the
//! default: near-black with a subtle diagonal gradient and a soft accent glow) or `light` (off-white); `accent` is
//! `#rrggbb`; `avatarUrl` is an absolute http(s) URL. Optional fields may be absent, `null` or blank. Unknown
//! fields are refused. One table per template (`fields.rs`) drives both the validation and the schema, so they
//! agree.
//!
//! # Rendering
//!
//! A card is an SVG document built as a string and rasterised by resvg (tiny-skia) into a PNG: the background and
//! decorations (linear and radial gradients only — no blur or other filter, which would cost tens of ms), then the
//! content. Text is not SVG `<text>`: the layout shapes it itself (below) and writes each glyph's outline as path
//! data, so what is drawn is exactly what was measured and user text never enters the XML (the few attribute values
//! that come from a config, colours, are validated and escaped anyway). Colour emoji are the PNG bitmaps of Noto
//! Color Emoji's CBDT table, placed as `<image>`s. The avatar is decoded with the `image` crate (size-limited),
//! cropped to a centred square, scaled and re-encoded as PNG before it goes into the SVG as a `data:` URI, clipped
//! to a circle: bytes that do not decode give [`RenderError::Avatar`] and never reach usvg.
//!
//! # Layout rules
//!
//! Each text has a box (x, y, width, height), a largest and a smallest font size, a line height and a maximum
//! number of lines. The text is cleaned (NFC; tabs and runs of spaces collapsed; line separators to newlines, which
//! are kept as line breaks; control, bidi-control and soft-hyphen characters removed), then:
//!
//! * every grapheme gets the first font of the fallback chain that has all of its characters (emoji-presentation
//!   clusters — emoji, `U+FE0F`, keycaps, skin tones, flags — try the emoji font first; spaces, digits and
//!   punctuation keep the previous font when it has them). A grapheme no font has is left out, never drawn as a
//!   missing-glyph box.
//! * the Unicode bidi algorithm gives each character its level; line-break opportunities are those of UAX #14, so
//!   lines break at spaces, between CJK characters (but not before closing punctuation such as 、。) and after
//!   hyphens;
//! * each run between two break opportunities, of one font and one bidi level, is shaped by harfrust (HarfBuzz's
//!   algorithm: kerning, ligatures, Arabic joining, marks) with that font, in em units, once;
//! * lines are filled greedily; a word wider than the box is broken between glyph clusters (never inside one);
//! * the largest size at which the lines fit the box's height and line count wins, trying sizes down from the
//!   largest in steps of about 4%; at the smallest size, the lines that fit are kept and the last ends with "…",
//!   whole words being removed from its end to make room (clusters only when it is a single word). Nothing is ever
//!   drawn outside the box;
//! * each line is reordered for display (bidi rule L2) and drawn; a paragraph whose first strong character is
//!   right-to-left (Arabic, Hebrew) is right-aligned, and its "…" goes on the left.
//!
//! # Fonts
//!
//! A fixed list of files from Debian's Noto packages (`fonts.rs`; `scripts/lib.sh`'s `ensure_packages` installs
//! them), with no system-font scan. A file is read the first time a text needs its family and kept for the life of
//! the process (a Latin-only card reads only Noto Sans); missing files are detected on the first render, which then
//! fails with [`RenderError::Internal`] naming the package to install. The fallback chain, in order:
//!
//! | family | files | package |
//! | --- | --- | --- |
//! | Noto Sans (Latin, Greek, Cyrillic) | `/usr/share/fonts/truetype/noto/NotoSans-{Regular,Bold}.ttf` | `fonts-noto-core` |
//! | Noto Sans Arabic, Hebrew, Devanagari, Bengali, Tamil, Thai, Armenian, Georgian, Ethiopic | `/usr/share/fonts/truetype/noto/NotoSans<Script>-{Regular,Bold}.ttf` | `fonts-noto-core` |
//! | Noto Sans CJK JP (Japanese, Chinese, Korean) | `/usr/share/fonts/opentype/noto/NotoSansCJK-{Regular,Bold}.ttc` | `fonts-noto-cjk` |
//! | Noto Sans Symbols, Symbols 2, Math | `/usr/share/fonts/truetype/noto/NotoSans{Symbols,Symbols2,Math}-*.ttf` | `fonts-noto-core` |
//! | Noto Color Emoji | `/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf` (CBDT colour bitmaps) | `fonts-noto-color-emoji` |
//!
//! Text is drawn Regular or Bold (the packages have only those static weights).
//!
//! # Speed
//!
//! A render is a few tens of milliseconds in a release build (the SVG parse and rasterisation, and the PNG
//! encoding, dominate); the workspace's `Cargo.toml` builds the rendering crates with `opt-level = 3` in debug
//! builds too. The timing test (`cargo test --release -p soku-shared templates::tests::timing -- --ignored
//! --nocapture`) prints the time per template.

mod announcement;
mod canvas;
mod fields;
mod fonts;
mod layout;
mod quote_card;
mod tweet_image;

#[cfg(test)]
mod tests;

use serde_json::Value;

/// Width of every card, in px.
pub const WIDTH: u32 = canvas::WIDTH;
/// Height of every card, in px.
pub const HEIGHT: u32 = canvas::HEIGHT;

/// A template as listed by `GET /v1/templates`.
#[derive(Clone, Debug)]
pub struct TemplateInfo {
    pub slug: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub width: u32,
    pub height: u32,
    /// JSON Schema (draft 2020-12) of the template's config; it matches what [`validate`] accepts.
    pub schema: Value,
}

/// Every template, in a stable order.
pub fn list() -> Vec<TemplateInfo> {
    TEMPLATES
        .iter()
        .map(|t| TemplateInfo {
            slug: t.slug,
            name: t.name,
            description: t.description,
            width: WIDTH,
            height: HEIGHT,
            schema: fields::schema(t.name, t.description, t.fields),
        })
        .collect()
}

struct Spec {
    slug: &'static str,
    name: &'static str,
    description: &'static str,
    fields: &'static [fields::Field],
    make: fn(&fields::Values) -> Template,
}

const TEMPLATES: &[Spec] = &[
    Spec {
        slug: tweet_image::SLUG,
        name: tweet_image::NAME,
        description: tweet_image::DESCRIPTION,
        fields: tweet_image::FIELDS,
        make: |v| Template::TweetImage(tweet_image::TweetImage::from_values(v)),
    },
    Spec {
        slug: quote_card::SLUG,
        name: quote_card::NAME,
        description: quote_card::DESCRIPTION,
        fields: quote_card::FIELDS,
        make: |v| Template::QuoteCard(quote_card::QuoteCard::from_values(v)),
    },
    Spec {
        slug: announcement::SLUG,
        name: announcement::NAME,
        description: announcement::DESCRIPTION,
        fields: announcement::FIELDS,
        make: |v| Template::Announcement(announcement::Announcement::from_values(v)),
    },
];

#[derive(Clone, Debug)]
enum Template {
    TweetImage(tweet_image::TweetImage),
    QuoteCard(quote_card::QuoteCard),
    Announcement(announcement::Announcement),
}

/// The validated config of one template. Made by [`validate`]; rendered by [`render`].
#[derive(Clone, Debug)]
pub struct Config {
    slug: &'static str,
    template: Template,
}

impl Config {
    /// The template's slug, e.g. `"tweetImage"`.
    pub fn slug(&self) -> &'static str {
        self.slug
    }

    /// The avatar URL the config names, if any: the caller fetches it (safely) and passes the bytes to [`render`].
    pub fn avatar_url(&self) -> Option<&str> {
        match &self.template {
            Template::TweetImage(t) => t.avatar_url(),
            Template::QuoteCard(_) | Template::Announcement(_) => None,
        }
    }
}

/// Why a config was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// No template has this slug (HTTP 404).
    #[error("there is no template named \"{0}\"; the templates are {names}", names = slugs().join(", "))]
    UnknownTemplate(String),
    /// The config is not valid for the template (HTTP 400). `field` is e.g. `"config.title"` (or `"config"` when the
    /// config is not an object); `message` is a sentence that names the field.
    #[error("{message}")]
    Invalid { field: String, message: String },
}

fn slugs() -> Vec<&'static str> {
    TEMPLATES.iter().map(|t| t.slug).collect()
}

/// Validates `config` for the template `slug`.
pub fn validate(slug: &str, config: &Value) -> Result<Config, ConfigError> {
    let spec = TEMPLATES
        .iter()
        .find(|t| t.slug == slug)
        .ok_or_else(|| ConfigError::UnknownTemplate(slug.into()))?;
    let values = fields::validate(spec.slug, spec.fields, config)?;
    Ok(Config {
        slug: spec.slug,
        template: (spec.make)(&values),
    })
}

/// A rendered card.
#[derive(Clone, Debug)]
pub struct Rendered {
    pub png: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// Why a render failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The avatar's bytes are not a decodable PNG, JPEG, GIF or WebP image.
    #[error("{0}")]
    Avatar(String),
    /// Anything else, e.g. a missing font package (the message names it).
    #[error("rendering the card failed: {0}")]
    Internal(String),
}

/// Renders a card. CPU-bound and synchronous: run it in `spawn_blocking`. `avatar` is the bytes of the image that
/// [`Config::avatar_url`] names (PNG, JPEG, GIF or WebP), when the caller fetched it.
pub fn render(config: &Config, avatar: Option<&[u8]>) -> Result<Rendered, RenderError> {
    canvas_of(config, avatar)?.render(true)
}

fn canvas_of(config: &Config, avatar: Option<&[u8]>) -> Result<canvas::Canvas, RenderError> {
    match &config.template {
        Template::TweetImage(t) => t.draw(avatar),
        Template::QuoteCard(t) => t.draw(),
        Template::Announcement(t) => t.draw(),
    }
}
