//! The SVG document of a card (background "chrome" and content), the themes' palettes, the avatar, and
//! rasterising with resvg into a PNG.

use std::fmt::Write as _;
use std::io::Cursor;

use base64::Engine as _;

use super::fonts::Weight;
use super::layout::{self, Align, Block, Frame, Ink};
use super::{RenderError, Rendered};

pub(crate) const WIDTH: u32 = 1200;
pub(crate) const HEIGHT: u32 = 630;
pub(crate) const W: f32 = WIDTH as f32;
pub(crate) const H: f32 = HEIGHT as f32;
/// Outer margin of the content.
pub(crate) const MARGIN: f32 = 80.0;

/// The `theme` field's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Theme {
    Dark,
    Light,
}

impl Theme {
    pub(crate) const NAMES: [&'static str; 2] = ["dark", "light"];

    pub(crate) fn parse(s: Option<&str>) -> Theme {
        match s {
            Some("light") => Theme::Light,
            _ => Theme::Dark,
        }
    }

    pub(crate) fn palette(self, accent: Option<&str>) -> Palette {
        let (bg_from, bg_to, text, muted, faint, default_accent) = match self {
            Theme::Dark => (
                "#0b0d12", "#181c27", "#f4f5f8", "#a3abbb", "#2a3040", "#8ab4ff",
            ),
            Theme::Light => (
                "#fbfaf7", "#eeece5", "#14161b", "#5a6170", "#d9d6cc", "#2f5bd3",
            ),
        };
        Palette {
            bg_from,
            bg_to,
            text,
            muted,
            faint,
            accent: accent.unwrap_or(default_accent).to_ascii_lowercase(),
        }
    }
}

/// Colours of a card.
#[derive(Clone, Debug)]
pub(crate) struct Palette {
    pub(crate) bg_from: &'static str,
    pub(crate) bg_to: &'static str,
    pub(crate) text: &'static str,
    pub(crate) muted: &'static str,
    pub(crate) faint: &'static str,
    pub(crate) accent: String,
}

/// A card being drawn: `defs`, the background and decorations (`chrome`), and the content (text, avatar).
/// Tests rasterise the chrome alone to check that nothing of the content reached the margins.
pub(crate) struct Canvas {
    defs: String,
    pub(crate) chrome: String,
    content: String,
    next_id: u32,
}

impl Canvas {
    /// A canvas with the theme's background: a diagonal linear gradient (cheap to rasterise; no filters).
    pub(crate) fn new(palette: &Palette) -> Canvas {
        let mut canvas = Canvas {
            defs: String::new(),
            chrome: String::new(),
            content: String::new(),
            next_id: 0,
        };
        let _ = write!(
            canvas.defs,
            "<linearGradient id=\"bg\" x1=\"0\" y1=\"0\" x2=\"1\" y2=\"1\"><stop offset=\"0\" stop-color=\"{}\"/>\
             <stop offset=\"1\" stop-color=\"{}\"/></linearGradient>",
            palette.bg_from, palette.bg_to
        );
        let _ = write!(
            canvas.chrome,
            "<rect width=\"{WIDTH}\" height=\"{HEIGHT}\" fill=\"url(#bg)\"/>"
        );
        canvas
    }

    pub(crate) fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{}", self.next_id)
    }

    pub(crate) fn content(&mut self) -> &mut String {
        &mut self.content
    }

    /// A soft glow of `color` centred at (`cx`, `cy`): a radial gradient to transparent, part of the chrome.
    pub(crate) fn glow(&mut self, cx: f32, cy: f32, r: f32, color: &str, opacity: f32) {
        let id = self.id("glow");
        let _ = write!(
            self.defs,
            "<radialGradient id=\"{id}\"><stop offset=\"0\" stop-color=\"{color}\" stop-opacity=\"{opacity}\"/>\
             <stop offset=\"1\" stop-color=\"{color}\" stop-opacity=\"0\"/></radialGradient>"
        );
        let _ = write!(
            self.chrome,
            "<circle cx=\"{cx}\" cy=\"{cy}\" r=\"{r}\" fill=\"url(#{id})\"/>"
        );
    }

    /// Draws `block` into the content, filled with `fill` (see [`Block::draw`]).
    pub(crate) fn text(
        &mut self,
        block: &Block,
        x: f32,
        y: f32,
        width: f32,
        align: Align,
        fill: &str,
    ) -> Result<(), RenderError> {
        draw_text(block, x, y, width, align, fill, &mut self.content)
    }

    /// Draws `block` as a decoration, into the chrome.
    pub(crate) fn chrome_text(
        &mut self,
        block: &Block,
        x: f32,
        y: f32,
        width: f32,
        align: Align,
        fill: &str,
    ) -> Result<(), RenderError> {
        draw_text(block, x, y, width, align, fill, &mut self.chrome)
    }

    /// The whole SVG document; without the content when `with_content` is false.
    pub(crate) fn svg(&self, with_content: bool) -> String {
        let mut svg =
            String::with_capacity(self.defs.len() + self.chrome.len() + self.content.len() + 256);
        let _ = write!(
            svg,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
             viewBox=\"0 0 {WIDTH} {HEIGHT}\"><defs>{}</defs>{}",
            self.defs, self.chrome
        );
        if with_content {
            svg.push_str(&self.content);
        }
        svg.push_str("</svg>");
        svg
    }

    /// Rasterises the card into a PNG.
    pub(crate) fn render(&self, with_content: bool) -> Result<Rendered, RenderError> {
        rasterize(&self.svg(with_content))
    }
}

fn draw_text(
    block: &Block,
    x: f32,
    y: f32,
    width: f32,
    align: Align,
    fill: &str,
    out: &mut String,
) -> Result<(), RenderError> {
    let mut ink = Ink::default();
    block
        .draw(x, y, width, align, &mut ink)
        .map_err(RenderError::Internal)?;
    if !ink.path.is_empty() {
        let _ = write!(out, "<path fill=\"{}\" d=\"{}\"/>", escape(fill), ink.path);
    }
    out.push_str(&ink.images);
    Ok(())
}

/// Lays out `raw` in `frame`, mapping a font problem to [`RenderError::Internal`].
pub(crate) fn block(raw: &str, weight: Weight, frame: Frame) -> Result<Block, RenderError> {
    layout::block(raw, weight, &frame).map_err(RenderError::Internal)
}

/// Escapes text for an XML attribute or element.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

/// Rasterises an SVG document of the card's size into a PNG.
pub(crate) fn rasterize(svg: &str) -> Result<Rendered, RenderError> {
    let tree = resvg::usvg::Tree::from_str(svg, &resvg::usvg::Options::default())
        .map_err(|e| RenderError::Internal(format!("the card's SVG did not parse: {e}")))?;
    let mut pixmap = resvg::tiny_skia::Pixmap::new(WIDTH, HEIGHT)
        .ok_or_else(|| RenderError::Internal("cannot allocate the card's pixmap".into()))?;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::identity(),
        &mut pixmap.as_mut(),
    );
    // The background is opaque, so the premultiplied RGBA pixels are plain RGB: encode those (a quarter less data)
    // with fast compression, which costs a few ms where the default level costs tens.
    // (The conversion is the image crate's, which is optimised in debug builds too.)
    let rgba = image::RgbaImage::from_raw(WIDTH, HEIGHT, pixmap.take())
        .ok_or_else(|| RenderError::Internal("the card's pixmap has an unexpected size".into()))?;
    let rgb = image::DynamicImage::ImageRgba8(rgba).to_rgb8();
    let mut png = Vec::with_capacity(256 << 10);
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new_with_quality(
            &mut png,
            image::codecs::png::CompressionType::Fast,
            image::codecs::png::FilterType::Adaptive,
        ),
        &rgb,
        WIDTH,
        HEIGHT,
        image::ExtendedColorType::Rgb8,
    )
    .map_err(|e| RenderError::Internal(format!("cannot encode the card's PNG: {e}")))?;
    Ok(Rendered {
        png,
        width: WIDTH,
        height: HEIGHT,
    })
}

/// Largest avatar accepted, in pixels per side (a bigger one is refused rather than decoded).
const AVATAR_MAX_SIDE: u32 = 8192;

/// Decodes an avatar (PNG, JPEG, GIF or WebP), crops it to a centred square, scales it to `side` px and re-encodes
/// it as PNG, so that only a PNG this code made reaches the SVG. Bytes that do not decode give
/// [`RenderError::Avatar`].
pub(crate) fn avatar_png(bytes: &[u8], side: u32) -> Result<Vec<u8>, RenderError> {
    let bad = |e: &dyn std::fmt::Display| {
        RenderError::Avatar(format!("the avatar is not a decodable image: {e}"))
    };
    let mut reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| bad(&e))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(AVATAR_MAX_SIDE);
    limits.max_image_height = Some(AVATAR_MAX_SIDE);
    limits.max_alloc = Some(512 << 20);
    reader.limits(limits);
    if reader.format().is_none() {
        return Err(RenderError::Avatar(
            "the avatar is not a decodable image: not PNG, JPEG, GIF or WebP".into(),
        ));
    }
    let img = reader.decode().map_err(|e| bad(&e))?;
    let (w, h) = (img.width(), img.height());
    if w == 0 || h == 0 {
        return Err(RenderError::Avatar(
            "the avatar is not a decodable image: it is empty".into(),
        ));
    }
    let s = w.min(h);
    let square = img.crop_imm((w - s) / 2, (h - s) / 2, s, s);
    let scaled = if s > side * 4 {
        square.thumbnail_exact(side, side)
    } else {
        square.resize_exact(side, side, image::imageops::FilterType::Lanczos3)
    };
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgba8(scaled.to_rgba8())
        .write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| RenderError::Internal(format!("cannot re-encode the avatar: {e}")))?;
    Ok(out.into_inner())
}

impl Canvas {
    /// A round avatar of diameter `d` with its top-left at (`x`, `y`), from a PNG made by [`avatar_png`], with a
    /// thin ring in `ring`.
    pub(crate) fn avatar(&mut self, png: &[u8], x: f32, y: f32, d: f32, ring: &str) {
        let id = self.id("clip");
        let r = d / 2.0;
        let (cx, cy) = (x + r, y + r);
        let _ = write!(
            self.defs,
            "<clipPath id=\"{id}\"><circle cx=\"{cx}\" cy=\"{cy}\" r=\"{r}\"/></clipPath>"
        );
        let _ = write!(
            self.content,
            "<image x=\"{x}\" y=\"{y}\" width=\"{d}\" height=\"{d}\" clip-path=\"url(#{id})\" \
             preserveAspectRatio=\"xMidYMid slice\" href=\"data:image/png;base64,"
        );
        base64::engine::general_purpose::STANDARD.encode_string(png, &mut self.content);
        let _ = write!(
            self.content,
            "\"/><circle cx=\"{cx}\" cy=\"{cy}\" r=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>",
            r - 1.0,
            escape(ring)
        );
    }

    /// A placeholder avatar: a circle in `color` with `initial` centred on it in `ink`.
    pub(crate) fn initial_avatar(
        &mut self,
        initial: &str,
        x: f32,
        y: f32,
        d: f32,
        color: &str,
        ink: &str,
    ) -> Result<(), RenderError> {
        let r = d / 2.0;
        let _ = write!(
            self.content,
            "<circle cx=\"{}\" cy=\"{}\" r=\"{r}\" fill=\"{}\"/>",
            x + r,
            y + r,
            escape(color)
        );
        if initial.is_empty() {
            return Ok(());
        }
        let size = d * 0.46;
        let frame = Frame {
            width: d,
            height: size * 1.2,
            max_size: size,
            min_size: size,
            line_height: 1.2,
            max_lines: 1,
        };
        let block = block(initial, Weight::Bold, frame)?;
        let top = y + (d - block.height()) / 2.0;
        self.text(&block, x, top, d, Align::Center, ink)
    }
}
