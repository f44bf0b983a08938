//! Server-rendered share images: 1200×630 PNG cards made from a template and a small JSON config.
//!
//! (Module documentation is completed below.)

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
    let spec = TEMPLATES.iter().find(|t| t.slug == slug).ok_or_else(|| ConfigError::UnknownTemplate(slug.into()))?;
    let values = fields::validate(spec.slug, spec.fields, config)?;
    Ok(Config { slug: spec.slug, template: (spec.make)(&values) })
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
