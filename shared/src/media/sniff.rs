//! What a file is, read from its first bytes.
//!
//! The type of a media file comes from its magic numbers and nothing else: not the URL's extension, not a
//! `Content-Type` header, not the name a client uploaded it under. Those are claims made by whoever served or sent
//! the file, and they are wrong often enough (an HTML error page served as `video.mp4`, a HEIC photo named
//! `.jpg`, a Matroska file named `.webm`) that trusting them would send the wrong file to a platform or to a
//! decoder that was never meant for it.
//!
//! Accepted: JPEG, PNG, WebP, GIF, MP4, QuickTime MOV and WebM. Everything else is [`Sniffed::Unsupported`] with
//! a short phrase naming what was found, written to be put in a sentence for an API user ("the file is a PDF
//! document").
//!
//! The ISO base media family (MP4, MOV, HEIF, AVIF, 3GP, M4A) is told apart by the `ftyp` box: its major brand
//! first, then its compatible brands. QuickTime files written before `ftyp` existed start with a `moov`, `mdat`,
//! `wide`, `free`, `skip` or `pnot` atom instead. EBML files (Matroska and WebM) are told apart by the `DocType`
//! element of their EBML header: only `webm` is accepted, since platforms that take WebM do not take every codec
//! and feature Matroska allows.

use std::io::Read;
use std::path::Path;

use serde::Serialize;

/// How many leading bytes [`sniff`] needs to see; [`sniff_file`] reads this many (fewer if the file is shorter).
pub const HEAD_LEN: usize = 4096;

/// An accepted media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Jpeg,
    Png,
    Webp,
    Gif,
    Mp4,
    Mov,
    Webm,
}

impl Kind {
    /// Every accepted kind.
    pub const ALL: [Kind; 7] = [
        Kind::Jpeg,
        Kind::Png,
        Kind::Webp,
        Kind::Gif,
        Kind::Mp4,
        Kind::Mov,
        Kind::Webm,
    ];

    /// The MIME type, e.g. `image/jpeg`, `video/quicktime`.
    pub const fn mime(self) -> &'static str {
        match self {
            Kind::Jpeg => "image/jpeg",
            Kind::Png => "image/png",
            Kind::Webp => "image/webp",
            Kind::Gif => "image/gif",
            Kind::Mp4 => "video/mp4",
            Kind::Mov => "video/quicktime",
            Kind::Webm => "video/webm",
        }
    }

    /// True for MP4, MOV and WebM; false for the still (or animated) image formats, GIF included.
    pub const fn is_video(self) -> bool {
        matches!(self, Kind::Mp4 | Kind::Mov | Kind::Webm)
    }

    /// The usual file extension, without the dot: `jpg`, `png`, `webp`, `gif`, `mp4`, `mov`, `webm`.
    pub const fn extension(self) -> &'static str {
        match self {
            Kind::Jpeg => "jpg",
            Kind::Png => "png",
            Kind::Webp => "webp",
            Kind::Gif => "gif",
            Kind::Mp4 => "mp4",
            Kind::Mov => "mov",
            Kind::Webm => "webm",
        }
    }

    /// The `image` crate's format for an image kind; `None` for a video kind.
    pub(crate) const fn image_format(self) -> Option<image::ImageFormat> {
        match self {
            Kind::Jpeg => Some(image::ImageFormat::Jpeg),
            Kind::Png => Some(image::ImageFormat::Png),
            Kind::Webp => Some(image::ImageFormat::WebP),
            Kind::Gif => Some(image::ImageFormat::Gif),
            Kind::Mp4 | Kind::Mov | Kind::Webm => None,
        }
    }
}

/// The verdict of [`sniff`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sniffed {
    /// One of the accepted kinds.
    Accepted(Kind),
    /// Anything else; the phrase names what was found, e.g. "an HTML document", "a Matroska (MKV) video",
    /// "an empty file", "unrecognised bytes (starts 3c 21 44 4f)".
    Unsupported(String),
}

/// Reads up to [`HEAD_LEN`] bytes of the file at `path` and sniffs them.
pub fn sniff_file(path: &Path) -> std::io::Result<Sniffed> {
    let mut head = Vec::with_capacity(HEAD_LEN);
    std::fs::File::open(path)?
        .take(HEAD_LEN as u64)
        .read_to_end(&mut head)?;
    Ok(sniff(&head))
}

/// Decides what the bytes are. `head` is the start of the file; [`HEAD_LEN`] bytes are plenty, and fewer
/// still give an answer (a file shorter than a format's signature is "unrecognised").
pub fn sniff(head: &[u8]) -> Sniffed {
    use Sniffed::{Accepted, Unsupported};
    let named = |what: &str| Unsupported(what.to_string());

    if head.is_empty() {
        return named("an empty file");
    }
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Accepted(Kind::Jpeg);
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Accepted(Kind::Png);
    }
    if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        return Accepted(Kind::Gif);
    }
    if head.starts_with(b"RIFF") && head.len() >= 12 {
        return match &head[8..12] {
            b"WEBP" => Accepted(Kind::Webp),
            b"AVI " => named("an AVI video"),
            b"WAVE" => named("a WAV audio file"),
            _ => named("a RIFF file of an unknown type"),
        };
    }
    if head.len() >= 8 && &head[4..8] == b"ftyp" {
        return sniff_ftyp(head);
    }
    if head.len() >= 8 && is_quicktime_atom(&head[4..8]) {
        return Accepted(Kind::Mov);
    }
    if head.starts_with(&EBML_MAGIC) {
        return match ebml_doctype(head).as_deref() {
            Some(b"webm") => Accepted(Kind::Webm),
            Some(b"matroska") => named("a Matroska (MKV) video"),
            Some(_) | None => named("an EBML file that is neither WebM nor Matroska"),
        };
    }
    if head.starts_with(b"%PDF-") {
        return named("a PDF document");
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return named("a ZIP archive");
    }
    if head.starts_with(&[0x1F, 0x8B]) {
        return named("a gzip archive");
    }
    if head.starts_with(b"II*\0") || head.starts_with(b"MM\0*") {
        return named("a TIFF image");
    }
    if head.starts_with(b"BM") && head.len() >= 14 {
        return named("a BMP image");
    }
    if head.starts_with(b"ID3")
        || head.starts_with(&[0xFF, 0xFB])
        || head.starts_with(&[0xFF, 0xF3])
    {
        return named("an MP3 audio file");
    }
    if head.starts_with(b"OggS") {
        return named("an Ogg file");
    }
    if head.starts_with(&[0x00, 0x00, 0x01, 0xBA]) || is_mpeg_ts(head) {
        return named("an MPEG program or transport stream");
    }
    if let Some(what) = sniff_markup(head) {
        return named(what);
    }
    let shown: Vec<String> = head.iter().take(4).map(|b| format!("{b:02x}")).collect();
    Unsupported(format!("unrecognised bytes (starts {})", shown.join(" ")))
}

/// The four bytes every EBML (Matroska, WebM) file starts with: the EBML header element's id.
const EBML_MAGIC: [u8; 4] = [0x1A, 0x45, 0xDF, 0xA3];

/// Brands that make an `ftyp` an MP4 video.
const MP4_BRANDS: &[&[u8; 4]] = &[
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9", b"mp41",
    b"mp42", b"avc1", b"M4V ", b"M4VH", b"M4VP", b"dash", b"mmp4", b"MSNV", b"XAVC",
];

/// Brands of HEIF and AVIF still images (and image sequences).
const HEIF_BRANDS: &[&[u8; 4]] = &[
    b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis",
];

/// Brands of 3GPP and 3GPP2 files.
fn is_3gp_brand(brand: &[u8]) -> bool {
    brand.starts_with(b"3gp") || brand.starts_with(b"3g2")
}

fn sniff_ftyp(head: &[u8]) -> Sniffed {
    let named = |what: &str| Sniffed::Unsupported(what.to_string());
    let Some(major) = head.get(8..12) else {
        return named("a truncated ISO media file (no brand in its ftyp box)");
    };
    // The box's own size bounds the compatible brands (it starts at byte 16), as does the bytes we were given.
    let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let end = size.clamp(16, head.len().max(16)).min(head.len());
    let compatible: Vec<&[u8]> = head.get(16..end).unwrap_or(&[]).chunks_exact(4).collect();

    let is = |brand: &[u8], set: &[&[u8; 4]]| set.iter().any(|b| b.as_slice() == brand);
    // The major brand says what the file mainly is; compatible brands only break a tie for an unknown major.
    if major == b"qt  " {
        return Sniffed::Accepted(Kind::Mov);
    }
    if is(major, MP4_BRANDS) {
        return Sniffed::Accepted(Kind::Mp4);
    }
    if is(major, HEIF_BRANDS) {
        return named("a HEIF/AVIF image");
    }
    if major.starts_with(b"M4A") || major.starts_with(b"M4B") || major.starts_with(b"M4P") {
        return named("an MPEG-4 audio file (M4A)");
    }
    if is_3gp_brand(major) {
        return named("a 3GPP video");
    }
    if compatible.iter().any(|b| is(b, HEIF_BRANDS)) {
        return named("a HEIF/AVIF image");
    }
    if compatible.iter().any(|b| is(b, MP4_BRANDS)) {
        return Sniffed::Accepted(Kind::Mp4);
    }
    if compatible.contains(&b"qt  ".as_slice()) {
        return Sniffed::Accepted(Kind::Mov);
    }
    let shown: String = major
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '?'
            }
        })
        .collect();
    Sniffed::Unsupported(format!("an ISO media file of brand '{shown}'"))
}

/// Top-level atoms a pre-`ftyp` QuickTime file may start with.
fn is_quicktime_atom(kind: &[u8]) -> bool {
    matches!(
        kind,
        b"moov" | b"mdat" | b"wide" | b"free" | b"skip" | b"pnot"
    )
}

/// An MPEG transport stream: sync byte 0x47 every 188 bytes (checked on the packets the head holds, at least 2).
fn is_mpeg_ts(head: &[u8]) -> bool {
    head.len() >= 189 && head.iter().step_by(188).all(|&b| b == 0x47)
}

/// HTML, SVG and other XML, after an optional UTF-8 byte order mark and whitespace.
fn sniff_markup(head: &[u8]) -> Option<&'static str> {
    let text = head.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(head);
    let start = text.iter().position(|b| !b.is_ascii_whitespace())?;
    let text = &text[start..];
    let starts = |prefix: &[u8]| {
        text.len() >= prefix.len() && text[..prefix.len()].eq_ignore_ascii_case(prefix)
    };
    if ["<!doctype html", "<html", "<head", "<body"]
        .iter()
        .any(|p| starts(p.as_bytes()))
    {
        return Some("an HTML document");
    }
    if starts(b"<svg") || (starts(b"<?xml") && contains_ignore_case(text, b"<svg")) {
        return Some("an SVG image");
    }
    if starts(b"<?xml") {
        return Some("an XML document");
    }
    None
}

fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// An EBML variable-length integer at the start of `bytes`: (value with the length marker removed, its length).
/// `None` when the bytes end first or the first byte is 0 (a length over 8 bytes, not allowed).
pub(crate) fn ebml_vint(bytes: &[u8]) -> Option<(u64, usize)> {
    let first = *bytes.first()?;
    if first == 0 {
        return None;
    }
    let len = first.leading_zeros() as usize + 1;
    let rest = bytes.get(1..len)?;
    let mut value = u64::from(first) & (0xFF >> len);
    for &b in rest {
        value = (value << 8) | u64::from(b);
    }
    Some((value, len))
}

/// True when a vint of `len` bytes has every value bit set: the reserved "unknown size".
pub(crate) fn ebml_unknown_size(value: u64, len: usize) -> bool {
    value == (1u64 << (7 * len)) - 1
}

/// An EBML element id at the start of `bytes` (the length marker kept, as ids are written): (id, its length).
fn ebml_id(bytes: &[u8]) -> Option<(u32, usize)> {
    let first = *bytes.first()?;
    let len = first.leading_zeros() as usize + 1;
    if len > 4 {
        return None;
    }
    let all = bytes.get(..len)?;
    Some((
        all.iter().fold(0u32, |id, &b| (id << 8) | u32::from(b)),
        len,
    ))
}

/// The DocType of an EBML header at the start of `head`, if the header is whole in `head`.
fn ebml_doctype(head: &[u8]) -> Option<Vec<u8>> {
    const DOCTYPE: u32 = 0x4282;
    let (size, size_len) = ebml_vint(head.get(4..)?)?;
    let body_start = 4 + size_len;
    let body_end = body_start
        .checked_add(usize::try_from(size).ok()?)?
        .min(head.len());
    let mut pos = body_start;
    while pos < body_end {
        let (id, id_len) = ebml_id(&head[pos..])?;
        let (len, len_len) = ebml_vint(&head[pos + id_len..])?;
        let data_start = pos + id_len + len_len;
        let data_end = data_start.checked_add(usize::try_from(len).ok()?)?;
        if id == DOCTYPE {
            let data = head.get(data_start..data_end)?;
            // DocType is a string that may be padded with NULs.
            let trimmed = data.split(|&b| b == 0).next().unwrap_or(data);
            return Some(trimmed.to_vec());
        }
        pos = data_end;
    }
    None
}
