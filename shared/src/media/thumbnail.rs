//! Small pictures of media, and photos with their metadata removed.
//!
//! - [`image_thumbnail`]: a JPEG of at most `max_side` pixels on its longest side, turned the way the EXIF
//!   orientation says, transparent areas on white; the first frame of an animated GIF or WebP.
//! - [`video_poster`]: one frame of a video as a JPEG, taken by `ffmpeg` a little way in (a first frame is
//!   often black), turned by the display matrix as players do.
//! - [`stripped_image`]: for a JPEG, PNG or WebP that carries EXIF (GPS position, camera serial, time), XMP or
//!   IPTC metadata or a non-trivial orientation, a re-encoded copy with the orientation applied and none of
//!   that metadata: what Soku serves and sends instead of the original.
//!
//! Every output is a fresh encode of decoded pixels, so it carries no metadata of the input. Images are decoded
//! with the same pixel check as [`super::probe`] (refused from the header when over
//! [`ProbeLimits::DEFAULT_MAX_PIXELS`]) and the `image` crate's allocation limit, so a decompression bomb
//! cannot allocate. The image functions are blocking (CPU-bound decoding): call them from `spawn_blocking`.

use std::ffi::OsString;
use std::io::Cursor;
use std::path::Path;
use std::time::Duration;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageEncoder, RgbImage};
use tokio::time::Instant;

use super::probe::{ProbeError, ProbeLimits, file_len, image_error, open_image};
use super::sniff::Kind;
use super::{run_tool, tool_detail, tool_input};

/// JPEG quality of thumbnails and posters.
const THUMBNAIL_QUALITY: u8 = 82;
/// JPEG quality of a stripped photo: it replaces the original, so close to it.
const STRIPPED_QUALITY: u8 = 92;

/// A JPEG thumbnail of the image at `path` (of `kind`), at most `max_side` pixels on its longest side (never
/// enlarged), EXIF orientation applied, no metadata. GIF and WebP: the first frame.
pub fn image_thumbnail(path: &Path, kind: Kind, max_side: u32) -> Result<Vec<u8>, ProbeError> {
    if kind.is_video() {
        return Err(ProbeError::WrongKind {
            mime: kind.mime(),
            what: "an image thumbnail",
        });
    }
    let (mut decoder, _, _) = open_image(path, kind, ProbeLimits::DEFAULT_MAX_PIXELS)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder).map_err(|e| image_error(kind, e))?;
    let max_side = max_side.max(1);
    let mut image = if image.width() > max_side || image.height() > max_side {
        image.thumbnail(max_side, max_side)
    } else {
        image
    };
    image.apply_orientation(orientation);
    encode_jpeg(&flatten_on_white(&image), THUMBNAIL_QUALITY, None)
        .map_err(|e| image_error(kind, e))
}

/// A copy of the JPEG, PNG or WebP at `path` with its orientation applied and its EXIF, XMP and IPTC metadata
/// gone, re-encoded in the same format (JPEG at quality 92, PNG and WebP losslessly: the `image` crate writes
/// lossless WebP only, so that copy can be larger than the original). The ICC colour profile is kept: it carries
/// no personal data and without it colours shift.
///
/// `Ok(None)` when there is nothing to strip (no EXIF, XMP or IPTC block and no orientation): serve the original.
/// Other metadata (PNG text chunks, JPEG comments) is not looked for. GIF is always `None`: it has no EXIF.
pub fn stripped_image(path: &Path, kind: Kind) -> Result<Option<Vec<u8>>, ProbeError> {
    match kind {
        Kind::Jpeg | Kind::Png | Kind::Webp => {}
        Kind::Gif => return Ok(None),
        Kind::Mp4 | Kind::Mov | Kind::Webm => {
            return Err(ProbeError::WrongKind {
                mime: kind.mime(),
                what: "a stripped image",
            });
        }
    }
    let (mut decoder, _, _) = open_image(path, kind, ProbeLimits::DEFAULT_MAX_PIXELS)?;
    let has =
        |block: image::ImageResult<Option<Vec<u8>>>| matches!(block, Ok(Some(b)) if !b.is_empty());
    let has_metadata =
        has(decoder.exif_metadata()) || has(decoder.xmp_metadata()) || has(decoder.iptc_metadata());
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    if !has_metadata && orientation == Orientation::NoTransforms {
        return Ok(None);
    }
    let icc = decoder.icc_profile().ok().flatten();
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| image_error(kind, e))?;
    image.apply_orientation(orientation);
    let encoded = match kind {
        Kind::Jpeg => encode_jpeg(&flatten_on_white(&image), STRIPPED_QUALITY, icc),
        Kind::Png => {
            let mut out = Vec::new();
            let mut encoder = PngEncoder::new(&mut out);
            if let Some(icc) = icc {
                let _ = encoder.set_icc_profile(icc);
            }
            image.write_with_encoder(encoder).map(|()| out)
        }
        _ => {
            let mut out = Vec::new();
            let mut encoder = WebPEncoder::new_lossless(&mut out);
            if let Some(icc) = icc {
                let _ = encoder.set_icc_profile(icc);
            }
            let image = if image.color().has_alpha() {
                DynamicImage::ImageRgba8(image.to_rgba8())
            } else {
                DynamicImage::ImageRgb8(image.to_rgb8())
            };
            image.write_with_encoder(encoder).map(|()| out)
        }
    };
    encoded.map(Some).map_err(|e| image_error(kind, e))
}

/// A JPEG poster frame of the video at `path`, at most `max_side` pixels on its longest side (never enlarged),
/// turned as displayed. The frame is taken at 10% of `duration`, at most 1 s in, or at the start for a clip
/// shorter than half a second or an unknown duration; if nothing can be decoded there, at the start. `ffmpeg`
/// is killed after `timeout`.
pub async fn video_poster(
    path: &Path,
    duration: Option<f64>,
    max_side: u32,
    timeout: Duration,
) -> Result<Vec<u8>, ProbeError> {
    video_poster_with(Path::new("ffmpeg"), path, duration, max_side, timeout).await
}

/// [`video_poster`] with the `ffmpeg` program named.
pub(crate) async fn video_poster_with(
    ffmpeg: &Path,
    path: &Path,
    duration: Option<f64>,
    max_side: u32,
    timeout: Duration,
) -> Result<Vec<u8>, ProbeError> {
    if file_len(path)? == 0 {
        return Err(ProbeError::EmptyFile);
    }
    let deadline = Instant::now() + timeout;
    let at = poster_time(duration);
    let jpeg = poster_at(ffmpeg, path, at, max_side.max(1), deadline, timeout).await?;
    if !jpeg.is_empty() {
        return Ok(jpeg);
    }
    if at > 0.0 {
        // Seeking past the last decodable frame yields nothing: a header whose duration is too long.
        let jpeg = poster_at(ffmpeg, path, 0.0, max_side.max(1), deadline, timeout).await?;
        if !jpeg.is_empty() {
            return Ok(jpeg);
        }
    }
    Err(ProbeError::Unreadable {
        mime: None,
        detail: "no video frame could be decoded".to_string(),
    })
}

/// Where the poster is taken, in seconds (see [`video_poster`]).
pub(crate) fn poster_time(duration: Option<f64>) -> f64 {
    match duration {
        Some(d) if d.is_finite() && d >= 0.5 => (d * 0.1).min(1.0),
        _ => 0.0,
    }
}

async fn poster_at(
    ffmpeg: &Path,
    path: &Path,
    at: f64,
    max_side: u32,
    deadline: Instant,
    budget: Duration,
) -> Result<Vec<u8>, ProbeError> {
    let scale = format!(
        "scale=w='min({max_side},iw)':h='min({max_side},ih)':force_original_aspect_ratio=decrease"
    );
    let mut args: Vec<OsString> = Vec::new();
    let mut push = |a: &str| args.push(OsString::from(a));
    for a in ["-nostdin", "-v", "error", "-protocol_whitelist", "file"] {
        push(a);
    }
    push("-ss");
    push(&format!("{at:.3}"));
    push("-i");
    args.push(tool_input(path));
    let mut push = |a: &str| args.push(OsString::from(a));
    for a in [
        "-map",
        "0:v:0",
        "-frames:v",
        "1",
        "-vf",
        &scale,
        "-pix_fmt",
        "yuvj420p",
        "-c:v",
        "mjpeg",
        "-q:v",
        "3",
        "-flags:v",
        "+bitexact",
        "-fflags",
        "+bitexact",
        "-map_metadata",
        "-1",
        "-f",
        "image2pipe",
        "pipe:1",
    ] {
        push(a);
    }
    let out = run_tool(ffmpeg, "ffmpeg", &args, deadline, budget, 32 << 20).await?;
    if !out.status.success() {
        return Err(ProbeError::Unreadable {
            mime: None,
            detail: or_default(tool_detail(&out.stderr, path)),
        });
    }
    if !out.stdout.is_empty() && !out.stdout.starts_with(&[0xFF, 0xD8]) {
        return Err(ProbeError::Unreadable {
            mime: None,
            detail: "ffmpeg did not write a JPEG".to_string(),
        });
    }
    Ok(out.stdout)
}

fn or_default(detail: String) -> String {
    if detail.is_empty() {
        "ffmpeg could not decode a frame".to_string()
    } else {
        detail
    }
}

/// RGB pixels, transparent areas composed over white (JPEG has no alpha; dropping it would show black).
fn flatten_on_white(image: &DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.to_rgb8();
    }
    let rgba = image.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let over = |c: u8| {
            let (c, a) = (u16::from(c), u16::from(a));
            ((c * a + 255 * (255 - a) + 127) / 255) as u8
        };
        image::Rgb([over(r), over(g), over(b)])
    })
}

fn encode_jpeg(rgb: &RgbImage, quality: u8, icc: Option<Vec<u8>>) -> image::ImageResult<Vec<u8>> {
    let mut out = Cursor::new(Vec::new());
    let mut encoder = JpegEncoder::new_with_quality(&mut out, quality);
    if let Some(icc) = icc {
        let _ = encoder.set_icc_profile(icc);
    }
    encoder.write_image(
        rgb.as_raw(),
        rgb.width(),
        rgb.height(),
        image::ExtendedColorType::Rgb8,
    )?;
    Ok(out.into_inner())
}
