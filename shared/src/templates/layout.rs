//! Text layout: clean-up, a font per grapheme from the fallback chain, bidi levels, line-break opportunities
//! (UAX #14), shaping with harfrust, wrapping, shrink-to-fit with ellipsis truncation at the minimum size, and
//! drawing the result as SVG outlines (and colour-emoji bitmaps).
//!
//! Everything is measured in em units once, by shaping each run between two break opportunities with the very face
//! that draws it, so that trying another font size is arithmetic only, and what is drawn is exactly what was measured.

use std::ops::Range;

use base64::Engine as _;
use unicode_bidi::BidiInfo;
use unicode_linebreak::{BreakOpportunity, linebreaks};
use unicode_normalization::UnicodeNormalization;
use unicode_script::{Script, UnicodeScript};
use unicode_segmentation::UnicodeSegmentation;

use super::fonts::{self, CHAIN, EMOJI, Library, PRIMARY, Weight, push_num};

/// Where the baseline sits in a line box: half the line height plus this many ems below the box's top. Noto Sans's
/// ascender (1.069 em) and descender (0.293 em) centred in the line box give 0.388; a little less centres the
/// x-height and cap height better, and keeps descenders of a 1.2 line height inside the box.
const BASELINE_IN_LINE: f32 = 0.36;

/// Families whose glyphs reach far above or below Latin ones (Arabic's tall letters and marks, Indic and Thai
/// stacked vowels): a text drawn with one of them gets at least [`TALL_LINE_HEIGHT`].
const TALL_FAMILIES: &[&str] = &[
    "Noto Sans Arabic",
    "Noto Sans Devanagari",
    "Noto Sans Bengali",
    "Noto Sans Tamil",
    "Noto Sans Thai",
];
const TALL_LINE_HEIGHT: f32 = 1.4;

/// The text is drawn with the first character's paragraph direction deciding `Start`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Align {
    /// Left for a left-to-right paragraph, right for a right-to-left one.
    Start,
    Left,
    Right,
    Center,
}

/// The box a text must fit in, and how it may shrink.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Frame {
    pub(crate) width: f32,
    pub(crate) height: f32,
    pub(crate) max_size: f32,
    pub(crate) min_size: f32,
    /// Line height as a multiple of the font size.
    pub(crate) line_height: f32,
    pub(crate) max_lines: usize,
}

#[derive(Clone, Copy, Debug)]
struct Glyph {
    gid: u32,
    advance: f32,
    dx: f32,
    dy: f32,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Break {
    None,
    Allowed,
    Mandatory,
}

/// A cluster of glyphs that cannot be split: the unit of measuring and of breaking an over-long word.
#[derive(Clone, Debug)]
struct Atom {
    /// Byte range in the text (read by tests).
    #[cfg_attr(not(test), allow(dead_code))]
    range: Range<usize>,
    face: usize,
    level: u8,
    para_rtl: bool,
    glyphs: Range<usize>,
    width: f32,
    /// Whitespace only: not drawn at the end of a line and not counted in its width there.
    space: bool,
    /// Whether a line may (or must) end after this atom.
    brk: Break,
}

/// A text shaped at 1 px (em units), ready to be wrapped at any size.
pub(crate) struct Text {
    weight: Weight,
    /// The cleaned text (read by tests).
    #[cfg_attr(not(test), allow(dead_code))]
    text: String,
    atoms: Vec<Atom>,
    glyphs: Vec<Glyph>,
    /// "…" shaped with each face of the text that has it (non-emoji), the primary face first.
    ellipses: Vec<Ellipsis>,
    dropped: Vec<char>,
}

/// One laid-out line: a range of atoms, its visible width (em, without trailing spaces) and whether it ends with "…".
#[derive(Clone, Debug)]
pub(crate) struct Line {
    atoms: Range<usize>,
    width: f32,
    /// Index into [`Text::ellipses`] when the line ends with "…".
    ellipsis: Option<usize>,
}

/// "…" in one face.
#[derive(Clone, Debug)]
struct Ellipsis {
    face: usize,
    glyphs: Vec<Glyph>,
    width: f32,
}

/// A text fitted into a [`Frame`]: the chosen size and its lines.
pub(crate) struct Block {
    text: Text,
    pub(crate) size: f32,
    pub(crate) line_height: f32,
    lines: Vec<Line>,
    /// Whether the text did not fit even at the smallest size and ends with "…" (read by tests).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) truncated: bool,
}

/// Cleans user text for layout: NFC, line separators to `\n`, controls and bidi/format controls removed, runs of
/// spaces collapsed, spaces around line ends and blank lines removed.
pub(crate) fn sanitize(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut pending_space = false;
    let mut pending_newline = false;
    for c in raw.nfc() {
        let c = match c {
            '\r' | '\u{2028}' | '\u{2029}' | '\u{85}' | '\u{0B}' | '\u{0C}' => '\n',
            '\t' => ' ',
            _ => c,
        };
        if c == '\n' {
            pending_newline = !out.is_empty();
            pending_space = false;
            continue;
        }
        if c == ' ' || (c.is_whitespace() && !matches!(c, '\u{A0}' | '\u{202F}' | '\u{2007}')) {
            pending_space = !out.is_empty() && !pending_newline;
            continue;
        }
        if c.is_control() || is_stripped_format(c) {
            continue;
        }
        if pending_newline {
            out.push('\n');
        } else if pending_space {
            out.push(' ');
        }
        pending_newline = false;
        pending_space = false;
        out.push(c);
    }
    out
}

/// Format characters that are dropped: bidi embeddings, overrides, isolates and marks (the layout runs the bidi
/// algorithm on the plain text), soft hyphens (nothing is hyphenated) and the byte order mark.
fn is_stripped_format(c: char) -> bool {
    matches!(c, '\u{AD}' | '\u{61C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Characters that need no glyph of their own (joiners, variation selectors, tags): left out of coverage checks.
fn is_ignorable(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FE00}'..='\u{FE0F}' | '\u{E0020}'..='\u{E007F}' | '\u{E0100}'..='\u{E01EF}')
}

/// Characters shown as emoji by default (Emoji_Presentation), by ranges close enough for choosing a font.
fn is_emoji_presentation(c: char) -> bool {
    matches!(c as u32,
        0x231A..=0x231B | 0x23E9..=0x23EC | 0x23F0 | 0x23F3 | 0x25FD..=0x25FE | 0x2614..=0x2615
        | 0x2648..=0x2653 | 0x267F | 0x2693 | 0x26A1 | 0x26AA..=0x26AB | 0x26BD..=0x26BE | 0x26C4..=0x26C5
        | 0x26CE | 0x26D4 | 0x26EA | 0x26F2..=0x26F3 | 0x26F5 | 0x26FA | 0x26FD | 0x2705 | 0x270A..=0x270B
        | 0x2728 | 0x274C | 0x274E | 0x2753..=0x2755 | 0x2757 | 0x2795..=0x2797 | 0x27B0 | 0x27BF
        | 0x2B1B..=0x2B1C | 0x2B50 | 0x2B55 | 0x1F004 | 0x1F0CF | 0x1F18E | 0x1F191..=0x1F19A
        | 0x1F1E6..=0x1F1FF | 0x1F201 | 0x1F21A | 0x1F22F | 0x1F232..=0x1F236 | 0x1F238..=0x1F23A
        | 0x1F250..=0x1F251 | 0x1F300..=0x1F64F | 0x1F680..=0x1F6FF | 0x1F7E0..=0x1F7EB | 0x1F90C..=0x1F9FF
        | 0x1FA70..=0x1FAFF)
}

/// Whether a grapheme cluster asks for an emoji glyph: an emoji-presentation character, an emoji variation selector,
/// a keycap, a skin tone or a flag, and no text variation selector.
fn is_emoji_cluster(g: &str) -> bool {
    !g.contains('\u{FE0E}')
        && g.chars().any(|c| {
            matches!(c, '\u{FE0F}' | '\u{20E3}' | '\u{1F3FB}'..='\u{1F3FF}')
                || is_emoji_presentation(c)
        })
}

/// Whether every character of the cluster belongs to no particular script (spaces, punctuation, digits, marks):
/// such a cluster keeps the previous cluster's font when that font has it.
fn is_neutral(g: &str) -> bool {
    g.chars()
        .all(|c| matches!(c.script(), Script::Common | Script::Inherited))
}

/// Picks the chain entry that draws grapheme `g`, or `None` when no font has all of its characters.
fn choose_face(
    lib: &Library,
    g: &str,
    weight: Weight,
    prev: Option<usize>,
) -> Result<Option<usize>, String> {
    let needed: Vec<char> = g.chars().filter(|c| !is_ignorable(*c)).collect();
    if needed.is_empty() {
        return Ok(Some(prev.unwrap_or(PRIMARY)));
    }
    let covers = |index: usize| -> Result<bool, String> {
        let face = lib.face(index, weight)?;
        Ok(needed.iter().all(|c| face.covers(*c)))
    };
    if is_emoji_cluster(g) && covers(EMOJI)? {
        return Ok(Some(EMOJI));
    }
    if let Some(prev) = prev.filter(|p| *p != EMOJI)
        && is_neutral(g)
        && covers(prev)?
    {
        return Ok(Some(prev));
    }
    for index in 0..CHAIN.len() {
        if covers(index)? {
            return Ok(Some(index));
        }
    }
    Ok(None)
}

impl Text {
    /// Cleans, assigns fonts, runs the bidi algorithm, finds break opportunities and shapes `raw`.
    pub(crate) fn new(raw: &str, weight: Weight) -> Result<Text, String> {
        let lib = fonts::library()?;
        let clean = sanitize(raw);

        // A font per grapheme; graphemes no font has are left out (never a missing-glyph box).
        let mut text = String::with_capacity(clean.len());
        let mut faces: Vec<(Range<usize>, usize)> = Vec::new();
        let mut dropped = Vec::new();
        let mut prev = None;
        for g in clean.graphemes(true) {
            let face = if g == "\n" {
                Some(prev.unwrap_or(PRIMARY))
            } else {
                choose_face(lib, g, weight, prev)?
            };
            match face {
                Some(face) => {
                    let start = text.len();
                    text.push_str(g);
                    faces.push((start..text.len(), face));
                    if g != "\n" {
                        prev = Some(face);
                    }
                }
                None => dropped.extend(g.chars()),
            }
        }
        // Dropping characters can leave doubled or edge spaces behind.
        if !dropped.is_empty() {
            let again = sanitize(&text);
            if again != text {
                return Text::new(&again, weight).map(|mut t| {
                    t.dropped.splice(0..0, dropped);
                    t
                });
            }
        }

        if !dropped.is_empty() {
            tracing::debug!(
                count = dropped.len(),
                "share image: left out characters that no font has"
            );
        }

        let bidi = BidiInfo::new(&text, None);
        let para_rtl = |byte: usize| {
            bidi.paragraphs
                .iter()
                .find(|p| p.range.contains(&byte))
                .is_some_and(|p| p.level.is_rtl())
        };
        let mut breaks = vec![Break::None; text.len() + 1];
        for (at, opportunity) in linebreaks(&text) {
            breaks[at] = match opportunity {
                BreakOpportunity::Mandatory => Break::Mandatory,
                BreakOpportunity::Allowed => Break::Allowed,
            };
        }

        // Runs: split where the font or the bidi level changes, at every break opportunity, and around newlines.
        let mut runs: Vec<(Range<usize>, usize)> = Vec::new();
        for (range, face) in &faces {
            let newline = &text[range.clone()] == "\n";
            let joins = runs.last().is_some_and(|(last, last_face)| {
                *last_face == *face
                    && !newline
                    && &text[last.clone()] != "\n"
                    && !text[last.clone()].ends_with('\n')
                    && bidi.levels[last.start] == bidi.levels[range.start]
                    && breaks[range.start] == Break::None
            });
            match runs.last_mut() {
                Some((last, _)) if joins => last.end = range.end,
                _ => runs.push((range.clone(), *face)),
            }
        }

        let mut atoms = Vec::new();
        let mut glyphs = Vec::new();
        for (range, face_index) in runs {
            let level = bidi.levels[range.start];
            let piece = &text[range.clone()];
            if piece == "\n" {
                atoms.push(Atom {
                    range: range.clone(),
                    face: face_index,
                    level: level.number(),
                    para_rtl: para_rtl(range.start),
                    glyphs: glyphs.len()..glyphs.len(),
                    width: 0.0,
                    space: true,
                    brk: breaks[range.end],
                });
                continue;
            }
            let face = lib.face(face_index, weight)?;
            let shaped = face.shape(piece, level.is_rtl());
            // Group the glyphs (visual order) by cluster, then order the clusters logically.
            let mut clusters: Vec<(usize, Vec<Glyph>)> = Vec::new();
            for g in shaped {
                let glyph = Glyph {
                    gid: g.gid,
                    advance: g.advance,
                    dx: g.dx,
                    dy: g.dy,
                };
                let start = range.start + g.cluster as usize;
                match clusters.last_mut() {
                    Some((s, list)) if *s == start => list.push(glyph),
                    _ => clusters.push((start, vec![glyph])),
                }
            }
            clusters.sort_by_key(|(start, _)| *start);
            // A cluster split in two by reordering (it should not happen) is merged back into one.
            clusters.dedup_by(|later, earlier| {
                let same = later.0 == earlier.0;
                if same {
                    earlier.1.append(&mut later.1);
                }
                same
            });
            for i in 0..clusters.len() {
                let start = clusters[i].0;
                let end = clusters.get(i + 1).map_or(range.end, |(s, _)| *s);
                let first = glyphs.len();
                glyphs.extend(clusters[i].1.iter().copied());
                let width = clusters[i].1.iter().map(|g| g.advance).sum();
                atoms.push(Atom {
                    range: start..end,
                    face: face_index,
                    level: level.number(),
                    para_rtl: para_rtl(start),
                    glyphs: first..glyphs.len(),
                    width,
                    space: text[start..end].chars().all(char::is_whitespace),
                    brk: breaks[end],
                });
            }
        }

        // "…" in the primary face, and in each other face of the text that has one (CJK's is centred).
        let mut ellipses: Vec<Ellipsis> = Vec::new();
        let used = std::iter::once(PRIMARY).chain(atoms.iter().map(|a| a.face));
        for face_index in used {
            if face_index == EMOJI || ellipses.iter().any(|e| e.face == face_index) {
                continue;
            }
            let face = lib.face(face_index, weight)?;
            if !face.covers('\u{2026}') {
                continue;
            }
            let glyphs: Vec<Glyph> = face
                .shape("\u{2026}", false)
                .into_iter()
                .map(|g| Glyph {
                    gid: g.gid,
                    advance: g.advance,
                    dx: g.dx,
                    dy: g.dy,
                })
                .collect();
            let width = glyphs.iter().map(|g| g.advance).sum();
            ellipses.push(Ellipsis {
                face: face_index,
                glyphs,
                width,
            });
        }
        Ok(Text {
            weight,
            text,
            atoms,
            glyphs,
            ellipses,
            dropped,
        })
    }

    /// The cleaned text as laid out (after characters no font has were left out).
    #[cfg(test)]
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.atoms.iter().all(|a| a.space)
    }

    /// Characters that no font of the chain has, which were left out.
    #[cfg(test)]
    pub(crate) fn dropped(&self) -> &[char] {
        &self.dropped
    }

    /// Number of glyphs that shaped to the missing glyph (`.notdef`, id 0); the font choice makes this 0.
    #[cfg(test)]
    pub(crate) fn notdef_count(&self) -> usize {
        self.atoms
            .iter()
            .filter(|a| !a.space)
            .flat_map(|a| self.glyphs[a.glyphs.clone()].iter())
            .filter(|g| g.gid == 0)
            .count()
    }

    /// Names of the families that draw this text, in the order first used.
    #[cfg(test)]
    pub(crate) fn families(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for atom in self.atoms.iter().filter(|a| !a.space) {
            let family = CHAIN[atom.face].family;
            if !out.contains(&family) {
                out.push(family);
            }
        }
        out
    }

    /// The end of the piece that starts at atom `i`: just after the next atom a line may end after.
    fn piece_end(&self, i: usize) -> usize {
        let mut j = i;
        while j < self.atoms.len() {
            j += 1;
            if self.atoms[j - 1].brk != Break::None {
                break;
            }
        }
        j
    }

    /// Width of atoms `range` without the whitespace at its end.
    fn visible_width(&self, range: Range<usize>) -> f32 {
        let atoms = &self.atoms[range];
        let visible = atoms.iter().rposition(|a| !a.space).map_or(0, |p| p + 1);
        atoms[..visible].iter().map(|a| a.width).sum()
    }

    /// Greedy wrapping into lines at most `max_width` em wide; a word wider than a line is broken between clusters.
    fn wrap(&self, max_width: f32) -> Vec<Line> {
        let n = self.atoms.len();
        let mut lines = Vec::new();
        let mut i = 0;
        while i < n {
            let start = i;
            let mut all = 0.0f32;
            let mut visible = 0.0f32;
            loop {
                let j = self.piece_end(i);
                let piece_all: f32 = self.atoms[i..j].iter().map(|a| a.width).sum();
                let piece_visible = self.visible_width(i..j);
                if i == start && piece_visible > max_width {
                    // Break the over-long word between clusters, keeping at least one.
                    let mut k = i;
                    let mut w = 0.0;
                    while k < j && (k == i || w + self.atoms[k].width <= max_width) {
                        w += self.atoms[k].width;
                        k += 1;
                    }
                    visible = self.visible_width(i..k);
                    i = k;
                    break;
                }
                if i != start && all + piece_visible > max_width {
                    break;
                }
                visible = all + piece_visible;
                all += piece_all;
                i = j;
                if i >= n || self.atoms[i - 1].brk == Break::Mandatory {
                    break;
                }
            }
            lines.push(Line {
                atoms: start..i,
                width: visible,
                ellipsis: None,
            });
        }
        lines
    }

    /// Shortens `line` to end with "…" within `max_width` em: whole words are removed from its end first, and
    /// clusters only when the line is a single word.
    fn ellipsize(&self, line: &mut Line, max_width: f32) {
        let start = line.atoms.start;
        let mut end = line.atoms.end;
        let trim = |end: &mut usize| {
            while *end > start && self.atoms[*end - 1].space {
                *end -= 1;
            }
        };
        trim(&mut end);
        // The "…" of the font of the line's last character (when it has one), else the primary font's.
        let last_face = self.atoms[start..end].last().map_or(PRIMARY, |a| a.face);
        let which = self
            .ellipses
            .iter()
            .position(|e| e.face == last_face)
            .unwrap_or(0);
        let ellipsis_width = self.ellipses.get(which).map_or(0.0, |e| e.width);
        while end > start && self.visible_width(start..end) + ellipsis_width > max_width {
            let word_start = (start + 1..end)
                .rev()
                .find(|k| self.atoms[k - 1].brk != Break::None);
            end = word_start.unwrap_or(end - 1);
            trim(&mut end);
        }
        line.atoms = start..end;
        line.width = self.visible_width(start..end) + ellipsis_width;
        line.ellipsis = Some(which);
    }

    /// Fits the text into `frame`: the largest size (stepping down from `max_size`) at which it wraps into at most
    /// `max_lines` lines that fit the box's height; at `min_size`, the lines that fit, the last ending with "…".
    pub(crate) fn fit(self, frame: &Frame) -> Block {
        let tall = self
            .atoms
            .iter()
            .any(|a| TALL_FAMILIES.contains(&CHAIN[a.face].family));
        let line_height = if tall {
            frame.line_height.max(TALL_LINE_HEIGHT)
        } else {
            frame.line_height
        };
        let mut size = frame.max_size;
        loop {
            let line_px = size * line_height;
            let lines = self.wrap(frame.width / size);
            if lines.len() <= frame.max_lines && lines.len() as f32 * line_px <= frame.height + 0.01
            {
                return Block {
                    text: self,
                    size,
                    line_height: line_px,
                    lines,
                    truncated: false,
                };
            }
            if size <= frame.min_size {
                break;
            }
            // Steps of about 4%, at least 1 px.
            size = (size - (size / 24.0).floor().max(1.0)).max(frame.min_size);
        }
        let size = frame.min_size;
        let line_px = size * line_height;
        let fit_lines = ((frame.height + 0.01) / line_px).floor() as usize;
        let allowed = frame.max_lines.min(fit_lines).max(1);
        let mut lines = self.wrap(frame.width / size);
        lines.truncate(allowed);
        if let Some(last) = lines.last_mut() {
            self.ellipsize(last, frame.width / size);
        }
        Block {
            text: self,
            size,
            line_height: line_px,
            lines,
            truncated: true,
        }
    }
}

/// Lays out `raw` in `frame` (see [`Text::fit`]).
pub(crate) fn block(raw: &str, weight: Weight, frame: &Frame) -> Result<Block, String> {
    Ok(Text::new(raw, weight)?.fit(frame))
}

/// SVG output of drawn text: glyph outlines go into one path per fill colour, colour bitmaps into `<image>`s.
#[derive(Default)]
pub(crate) struct Ink {
    pub(crate) path: String,
    pub(crate) images: String,
}

impl Block {
    /// Height of the laid-out lines in px.
    pub(crate) fn height(&self) -> f32 {
        self.lines.len() as f32 * self.line_height
    }

    /// Width of the widest line in px.
    pub(crate) fn width(&self) -> f32 {
        self.lines.iter().map(|l| l.width).fold(0.0, f32::max) * self.size
    }

    #[cfg(test)]
    pub(crate) fn line_count(&self) -> usize {
        self.lines.len()
    }

    /// The text of each line as laid out (for tests), with "…" where it was shortened.
    #[cfg(test)]
    pub(crate) fn line_texts(&self) -> Vec<String> {
        self.lines
            .iter()
            .map(|line| {
                let atoms = &self.text.atoms[line.atoms.clone()];
                let mut s = match (atoms.first(), atoms.last()) {
                    (Some(a), Some(b)) => self.text.text[a.range.start..b.range.end]
                        .trim_end()
                        .to_string(),
                    _ => String::new(),
                };
                if line.ellipsis.is_some() {
                    s.push('\u{2026}');
                }
                s
            })
            .collect()
    }

    /// Whether the first line's paragraph is right-to-left.
    pub(crate) fn is_rtl(&self) -> bool {
        self.lines
            .first()
            .and_then(|l| self.text.atoms.get(l.atoms.start))
            .is_some_and(|a| a.para_rtl)
    }

    /// Draws the lines with the top of the first line box at `y`, within `x..x + width`.
    pub(crate) fn draw(
        &self,
        x: f32,
        y: f32,
        width: f32,
        align: Align,
        ink: &mut Ink,
    ) -> Result<(), String> {
        let lib = fonts::library()?;
        let size = self.size;
        for (i, line) in self.lines.iter().enumerate() {
            let baseline =
                y + i as f32 * self.line_height + self.line_height / 2.0 + BASELINE_IN_LINE * size;
            let atoms = &self.text.atoms[line.atoms.clone()];
            let visible = atoms.iter().rposition(|a| !a.space).map_or(0, |p| p + 1);
            let order = visual_order(&atoms[..visible]);
            let rtl = atoms.first().is_some_and(|a| a.para_rtl);
            let line_width = line.width * size;
            let left = match align {
                Align::Left => x,
                Align::Right => x + width - line_width,
                Align::Center => x + (width - line_width) / 2.0,
                Align::Start if rtl => x + width - line_width,
                Align::Start => x,
            };
            let mut pen = left;
            let ellipsis = line.ellipsis.and_then(|i| self.text.ellipses.get(i));
            let draw_ellipsis = |pen: &mut f32, ink: &mut Ink| -> Result<(), String> {
                let Some(e) = ellipsis else {
                    return Ok(());
                };
                let face = lib.face(e.face, self.text.weight)?;
                for g in &e.glyphs {
                    let (gx, gy) = (*pen + g.dx * size, baseline - g.dy * size);
                    face.draw_outline(g.gid, size, gx, gy, &mut ink.path);
                    *pen += g.advance * size;
                }
                Ok(())
            };
            if rtl {
                draw_ellipsis(&mut pen, ink)?;
            }
            for &k in &order {
                let atom = &atoms[k];
                let face = lib.face(atom.face, self.text.weight)?;
                for g in &self.text.glyphs[atom.glyphs.clone()] {
                    let gx = pen + g.dx * size;
                    let gy = baseline - g.dy * size;
                    if face.is_bitmap() {
                        if let Some(bitmap) = face.bitmap(g.gid, size) {
                            push_image(
                                ink,
                                gx + bitmap.left,
                                gy + bitmap.top,
                                bitmap.width,
                                bitmap.height,
                                bitmap.png,
                            );
                        }
                    } else if !atom.space {
                        face.draw_outline(g.gid, size, gx, gy, &mut ink.path);
                    }
                    pen += g.advance * size;
                }
            }
            if !rtl {
                draw_ellipsis(&mut pen, ink)?;
            }
        }
        Ok(())
    }
}

fn push_image(ink: &mut Ink, x: f32, y: f32, w: f32, h: f32, png: &[u8]) {
    let s = &mut ink.images;
    s.push_str("<image x=\"");
    push_num(s, x);
    s.push_str("\" y=\"");
    push_num(s, y);
    s.push_str("\" width=\"");
    push_num(s, w);
    s.push_str("\" height=\"");
    push_num(s, h);
    s.push_str("\" preserveAspectRatio=\"none\" href=\"data:image/png;base64,");
    base64::engine::general_purpose::STANDARD.encode_string(png, s);
    s.push_str("\"/>");
}

/// Visual order of a line's atoms (UAX #9 rule L2): from the highest level down to the lowest odd level, reverse
/// every run of atoms at that level or higher.
fn visual_order(atoms: &[Atom]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..atoms.len()).collect();
    let Some(max) = atoms.iter().map(|a| a.level).max() else {
        return order;
    };
    let min_odd = atoms.iter().map(|a| a.level).filter(|l| l % 2 == 1).min();
    let Some(min_odd) = min_odd else {
        return order;
    };
    let mut level = max;
    while level >= min_odd {
        let mut i = 0;
        while i < order.len() {
            if atoms[order[i]].level >= level {
                let start = i;
                while i < order.len() && atoms[order[i]].level >= level {
                    i += 1;
                }
                order[start..i].reverse();
            } else {
                i += 1;
            }
        }
        if level == 0 {
            break;
        }
        level -= 1;
    }
    order
}
