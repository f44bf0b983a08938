//! The fixed list of font files (from Debian's Noto packages), loaded lazily, at most once per file per process.
//!
//! Nothing here scans the system's fonts: each entry of [`CHAIN`] names its files by absolute path, and a file is
//! read (and kept for the life of the process) the first time a text needs that entry: a Latin-only card never reads
//! the 20 MB CJK collections. [`library`] only checks, once, that every file of the list exists, so that a missing
//! package is reported on the first render whatever the text.

use std::sync::OnceLock;

use harfrust::{Direction, ShapeOptions, ShaperData, UnicodeBuffer};
use skrifa::bitmap::{BitmapData, BitmapStrikes};
use skrifa::charmap::Charmap;
use skrifa::instance::{LocationRef, Size};
use skrifa::outline::{DrawSettings, OutlineGlyphCollection, OutlinePen};
use skrifa::raw::TableProvider as _;
use skrifa::string::StringId;
use skrifa::{FontRef, GlyphId, MetadataProvider};

/// Font weight of a text block. The Debian packages ship static Regular and Bold faces only.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Weight {
    Regular,
    Bold,
}

/// One entry of the fallback chain: a family, its Regular and (when it has one) Bold file, and the Debian package
/// that installs them.
pub(crate) struct FontSpec {
    pub(crate) family: &'static str,
    pub(crate) regular: &'static str,
    pub(crate) bold: Option<&'static str>,
    pub(crate) package: &'static str,
}

const CORE: &str = "fonts-noto-core";

macro_rules! noto {
    ($family:literal, $file:literal) => {
        FontSpec {
            family: $family,
            regular: concat!("/usr/share/fonts/truetype/noto/", $file, "-Regular.ttf"),
            bold: Some(concat!(
                "/usr/share/fonts/truetype/noto/",
                $file,
                "-Bold.ttf"
            )),
            package: CORE,
        }
    };
    ($family:literal, $file:literal, regular_only) => {
        FontSpec {
            family: $family,
            regular: concat!("/usr/share/fonts/truetype/noto/", $file, "-Regular.ttf"),
            bold: None,
            package: CORE,
        }
    };
}

/// The fallback chain, in the order a character's font is looked for (emoji clusters try [`EMOJI`] first).
pub(crate) const CHAIN: &[FontSpec] = &[
    noto!("Noto Sans", "NotoSans"),
    noto!("Noto Sans Arabic", "NotoSansArabic"),
    noto!("Noto Sans Hebrew", "NotoSansHebrew"),
    noto!("Noto Sans Devanagari", "NotoSansDevanagari"),
    noto!("Noto Sans Bengali", "NotoSansBengali"),
    noto!("Noto Sans Tamil", "NotoSansTamil"),
    noto!("Noto Sans Thai", "NotoSansThai"),
    noto!("Noto Sans Armenian", "NotoSansArmenian"),
    noto!("Noto Sans Georgian", "NotoSansGeorgian"),
    noto!("Noto Sans Ethiopic", "NotoSansEthiopic"),
    FontSpec {
        family: "Noto Sans CJK JP",
        regular: "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        bold: Some("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
        package: "fonts-noto-cjk",
    },
    noto!("Noto Sans Symbols", "NotoSansSymbols"),
    noto!("Noto Sans Symbols 2", "NotoSansSymbols2", regular_only),
    noto!("Noto Sans Math", "NotoSansMath", regular_only),
    FontSpec {
        family: "Noto Color Emoji",
        regular: "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf",
        bold: None,
        package: "fonts-noto-color-emoji",
    },
];

/// Index of the primary (Latin, Greek, Cyrillic) family in [`CHAIN`].
pub(crate) const PRIMARY: usize = 0;
/// Index of the colour emoji family in [`CHAIN`].
pub(crate) const EMOJI: usize = CHAIN.len() - 1;

/// One loaded face: its font tables borrowed from the file's bytes (kept for the life of the process), its
/// character map, outlines or colour bitmaps, and harfrust's per-font shaping data.
pub(crate) struct Face {
    font: FontRef<'static>,
    charmap: Charmap<'static>,
    outlines: OutlineGlyphCollection<'static>,
    bitmaps: Option<BitmapStrikes<'static>>,
    shaper: ShaperData,
    upem: f32,
}

/// A shaped glyph, in em units (multiply by the font size in px).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ShapedGlyph {
    pub(crate) gid: u32,
    /// Byte offset of the glyph's cluster in the shaped string.
    pub(crate) cluster: u32,
    pub(crate) advance: f32,
    pub(crate) dx: f32,
    pub(crate) dy: f32,
}

/// A colour bitmap glyph placed relative to its pen position on the baseline, in px.
pub(crate) struct Bitmap {
    pub(crate) png: &'static [u8],
    pub(crate) left: f32,
    pub(crate) top: f32,
    pub(crate) width: f32,
    pub(crate) height: f32,
}

impl Face {
    /// Whether the face maps `c` to a glyph.
    pub(crate) fn covers(&self, c: char) -> bool {
        self.charmap.map(c).is_some()
    }

    /// Whether this face draws colour bitmaps rather than outlines.
    pub(crate) fn is_bitmap(&self) -> bool {
        self.bitmaps.is_some()
    }

    /// Shapes `text` as one run in one direction. Glyphs come in visual order (reversed for right-to-left).
    pub(crate) fn shape(&self, text: &str, rtl: bool) -> Vec<ShapedGlyph> {
        let shaper = self.shaper.shaper(&self.font).build();
        let mut buffer = UnicodeBuffer::new();
        buffer.push_str(text);
        buffer.set_direction(if rtl {
            Direction::RightToLeft
        } else {
            Direction::LeftToRight
        });
        buffer.guess_segment_properties();
        let output = shaper.shape(buffer, ShapeOptions::new());
        let scale = 1.0 / self.upem;
        output
            .glyph_infos()
            .iter()
            .zip(output.glyph_positions())
            .map(|(info, pos)| ShapedGlyph {
                gid: info.glyph_id,
                cluster: info.cluster,
                advance: pos.x_advance as f32 * scale,
                dx: pos.x_offset as f32 * scale,
                dy: pos.y_offset as f32 * scale,
            })
            .collect()
    }

    /// Appends the outline of glyph `gid` at `size` px, with its origin at (`x`, `y`) (y down), as SVG path data.
    pub(crate) fn draw_outline(&self, gid: u32, size: f32, x: f32, y: f32, out: &mut String) {
        let Some(glyph) = self.outlines.get(GlyphId::new(gid)) else {
            return;
        };
        let mut pen = SvgPen { out, x, y };
        // A glyph that fails to draw is left out rather than failing the whole card.
        let _ = glyph.draw(
            DrawSettings::unhinted(Size::new(size), LocationRef::default()),
            &mut pen,
        );
    }

    /// The colour bitmap of glyph `gid` at `size` px, when the face has one in PNG form.
    pub(crate) fn bitmap(&self, gid: u32, size: f32) -> Option<Bitmap> {
        let glyph = self
            .bitmaps
            .as_ref()?
            .glyph_for_size(Size::new(size), GlyphId::new(gid))?;
        let BitmapData::Png(png) = glyph.data else {
            return None;
        };
        let scale = size / glyph.ppem_y.max(1.0);
        Some(Bitmap {
            png,
            left: glyph.inner_bearing_x * scale,
            top: -glyph.inner_bearing_y * scale,
            width: glyph.width as f32 * scale,
            height: glyph.height as f32 * scale,
        })
    }
}

struct SvgPen<'a> {
    out: &'a mut String,
    x: f32,
    y: f32,
}

impl SvgPen<'_> {
    fn point(&mut self, x: f32, y: f32) {
        push_num(self.out, self.x + x);
        self.out.push(' ');
        push_num(self.out, self.y - y);
    }
}

/// Appends `v` with at most two decimals and no trailing zeros.
pub(crate) fn push_num(out: &mut String, v: f32) {
    use std::fmt::Write as _;
    let r = (v * 100.0).round() / 100.0;
    let r = if r == 0.0 { 0.0 } else { r };
    let _ = write!(out, "{r}");
}

impl OutlinePen for SvgPen<'_> {
    fn move_to(&mut self, x: f32, y: f32) {
        self.out.push('M');
        self.point(x, y);
    }

    fn line_to(&mut self, x: f32, y: f32) {
        self.out.push('L');
        self.point(x, y);
    }

    fn quad_to(&mut self, cx0: f32, cy0: f32, x: f32, y: f32) {
        self.out.push('Q');
        self.point(cx0, cy0);
        self.out.push(' ');
        self.point(x, y);
    }

    fn curve_to(&mut self, cx0: f32, cy0: f32, cx1: f32, cy1: f32, x: f32, y: f32) {
        self.out.push('C');
        self.point(cx0, cy0);
        self.out.push(' ');
        self.point(cx1, cy1);
        self.out.push(' ');
        self.point(x, y);
    }

    fn close(&mut self) {
        self.out.push('Z');
    }
}

/// The font library: one lazily loaded face per chain entry and weight.
pub(crate) struct Library {
    regular: Vec<OnceLock<Result<Face, String>>>,
    bold: Vec<OnceLock<Result<Face, String>>>,
}

static LIBRARY: OnceLock<Library> = OnceLock::new();

/// The font library, or an error naming the Debian package(s) whose files are missing (checked again on each call
/// until they are all there, so installing the packages needs no restart).
pub(crate) fn library() -> Result<&'static Library, String> {
    if let Some(library) = LIBRARY.get() {
        return Ok(library);
    }
    if let Some(message) = missing_files(CHAIN) {
        return Err(message);
    }
    Ok(LIBRARY.get_or_init(|| Library {
        regular: CHAIN.iter().map(|_| OnceLock::new()).collect(),
        bold: CHAIN.iter().map(|_| OnceLock::new()).collect(),
    }))
}

/// A sentence naming the files of `chain` that are missing and the Debian packages to install, if any is.
pub(crate) fn missing_files(chain: &[FontSpec]) -> Option<String> {
    let mut files = Vec::new();
    let mut packages: Vec<&str> = Vec::new();
    for spec in chain {
        for path in std::iter::once(spec.regular).chain(spec.bold) {
            if !std::path::Path::new(path).is_file() {
                files.push(path);
                if !packages.contains(&spec.package) {
                    packages.push(spec.package);
                }
            }
        }
    }
    (!files.is_empty()).then(|| {
        format!(
            "the share-image fonts are missing ({}); install the Debian package(s) {}",
            files.join(", "),
            packages.join(" ")
        )
    })
}

impl Library {
    /// The face of chain entry `index` at `weight` (entries without a Bold file give their Regular face).
    pub(crate) fn face(&self, index: usize, weight: Weight) -> Result<&Face, String> {
        let spec = &CHAIN[index];
        let (slot, path) = match (weight, spec.bold) {
            (Weight::Bold, Some(path)) => (&self.bold[index], path),
            _ => (&self.regular[index], spec.regular),
        };
        slot.get_or_init(|| load_face(spec, path))
            .as_ref()
            .map_err(Clone::clone)
    }
}

fn load_face(spec: &FontSpec, path: &'static str) -> Result<Face, String> {
    let bytes = std::fs::read(path).map_err(|e| {
        format!(
            "cannot read font file {path} (from the Debian package {}): {e}",
            spec.package
        )
    })?;
    // The library lives for the whole process, so the file's bytes do too.
    let data: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    let file = skrifa::raw::FileRef::new(data)
        .map_err(|e| format!("font file {path} is not a font: {e}"))?;
    let fonts: Vec<FontRef<'static>> = file.fonts().filter_map(Result::ok).collect();
    let font = if fonts.len() == 1 {
        fonts.into_iter().next()
    } else {
        fonts
            .into_iter()
            .find(|font| family_of(font).as_deref() == Some(spec.family))
    }
    .ok_or_else(|| format!("font file {path} has no face of the family {}", spec.family))?;
    let upem = font.head().map(|h| h.units_per_em()).unwrap_or(1000).max(1) as f32;
    let bitmaps = {
        let strikes = font.bitmap_strikes();
        let has_outlines = font.outline_glyphs().format().is_some();
        (!has_outlines && !strikes.is_empty()).then_some(strikes)
    };
    Ok(Face {
        charmap: font.charmap(),
        outlines: font.outline_glyphs(),
        bitmaps,
        shaper: ShaperData::new(&font),
        upem,
        font,
    })
}

fn family_of(font: &FontRef<'_>) -> Option<String> {
    let name = |id| {
        font.localized_strings(id)
            .english_or_first()
            .map(|s| s.to_string())
    };
    name(StringId::TYPOGRAPHIC_FAMILY_NAME).or_else(|| name(StringId::FAMILY_NAME))
}
