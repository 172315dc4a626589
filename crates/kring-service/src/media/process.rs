//! Turning uploaded bytes into what is stored. Pictures are decoded and encoded again: only
//! the pixels survive, so EXIF (with GPS positions and camera serials), XMP, comments and
//! every other metadata block are gone; the EXIF orientation is applied first, so the picture
//! still stands the right way up. The size is read from the header and checked before any
//! decoding, so a small file claiming 50,000 × 50,000 pixels (a decompression bomb) is
//! refused without allocating anything. Synchronous and CPU-heavy: run on `cpu::run`.
use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use kring_core::media::{Dimensions, MediaKind, MediaMeta};
use kring_core::{Error, Result};

use super::sniff::{self, Sniffed};

/// The longest side of a thumbnail (Mastodon's `small` is about 640 wide).
pub(crate) const THUMB_SIDE: u32 = 640;
/// JPEG quality of re-encoded pictures and thumbnails.
const JPEG_QUALITY: u8 = 88;
/// The most one decoded picture may take in memory, whatever its header says.
const MAX_DECODE_BYTES: u64 = 512 * 1024 * 1024;
/// An animated GIF's frames together, in pixels (frames × width × height).
const MAX_GIF_PIXELS: u64 = 200_000_000;

/// Limits an upload is checked against (from the media configuration).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub image_bytes: usize,
    pub video_bytes: usize,
    /// Width × height of a picture, at most.
    pub image_pixels: u64,
}

/// One stored rendition: its bytes and type.
#[derive(Debug)]
pub struct Rendition {
    pub bytes: Vec<u8>,
    pub mime: &'static str,
    pub ext: &'static str,
}

/// An upload made ready to store.
#[derive(Debug)]
pub struct Processed {
    pub kind: MediaKind,
    pub original: Rendition,
    pub thumbnail: Option<Rendition>,
    pub meta: MediaMeta,
    pub blurhash: Option<String>,
}

pub(crate) fn refused(msg: &str) -> Error {
    Error::Validation(msg.to_string())
}

/// Check and convert an upload. 422 for what is not a supported, well-formed file (or is too
/// large in pixels), 413 for what is too large in bytes.
pub fn process(bytes: &[u8], limits: &Limits) -> Result<Processed> {
    let Some(sniffed) = sniff::sniff(bytes) else {
        return Err(refused("File type is not supported"));
    };
    match sniffed.kind {
        MediaKind::Image => {
            if bytes.len() > limits.image_bytes {
                return Err(Error::PayloadTooLarge);
            }
            if sniffed == sniff::AVIF {
                // Only ffmpeg reads these (`av::process_avif`).
                return Err(refused("File type is not supported"));
            }
            image(bytes, sniffed, limits, format_of(sniffed))
        }
        _ => {
            if bytes.len() > limits.video_bytes {
                return Err(Error::PayloadTooLarge);
            }
            Ok(av(bytes, sniffed))
        }
    }
}

fn format_of(s: Sniffed) -> ImageFormat {
    match s.mime {
        "image/png" => ImageFormat::Png,
        "image/gif" => ImageFormat::Gif,
        "image/webp" => ImageFormat::WebP,
        _ => ImageFormat::Jpeg,
    }
}

/// Decode a picture: its size checked from the header first, its EXIF orientation applied.
fn decode(bytes: &[u8], format: ImageFormat, limits: &Limits) -> Result<DynamicImage> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut l = image::Limits::default();
    l.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(l);
    let mut decoder = reader
        .into_decoder()
        .map_err(|_| refused("The file could not be read as an image"))?;
    // The header's word, before a single pixel is decoded.
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(refused("The file could not be read as an image"));
    }
    if u64::from(width) * u64::from(height) > limits.image_pixels {
        return Err(refused(&format!(
            "Image dimensions are too large: {width}x{height} is more than {} pixels",
            limits.image_pixels
        )));
    }
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder)
        .map_err(|_| refused("The file could not be read as an image"))?;
    img.apply_orientation(orientation);
    Ok(img)
}

/// A picture ffmpeg decoded (an AVIF) to PNG: processed as an upload, stored as JPEG (or PNG
/// when transparent), as a WebP is.
pub(crate) fn decoded_picture(png: &[u8], limits: &Limits) -> Result<Processed> {
    image(png, sniff::PNG, limits, ImageFormat::WebP)
}

/// `wanted`: the format to store, by `encode`'s rule.
fn image(
    bytes: &[u8],
    sniffed: Sniffed,
    limits: &Limits,
    wanted: ImageFormat,
) -> Result<Processed> {
    let format = format_of(sniffed);
    let img = decode(bytes, format, limits)?;
    // The thumbnail first (made smaller, never larger), so the full picture can go once
    // encoded.
    let thumb = if img.width() > THUMB_SIDE || img.height() > THUMB_SIDE {
        img.thumbnail(THUMB_SIDE, THUMB_SIDE)
    } else {
        img.clone()
    };
    let original = if format == ImageFormat::Gif {
        // GIFs keep their frames: copied without any extension block but the loop count.
        Rendition {
            bytes: copy_gif(bytes)?,
            mime: sniff::GIF.mime,
            ext: sniff::GIF.ext,
        }
    } else {
        encode(&img, wanted)?
    };
    let dims = Dimensions {
        width: img.width(),
        height: img.height(),
    };
    // The full picture's pixels go as soon as it is encoded.
    drop(img);
    let small = Dimensions {
        width: thumb.width(),
        height: thumb.height(),
    };
    let blurhash = blurhash_of(&thumb);
    let thumbnail = encode(&thumb, ImageFormat::Jpeg)?;
    Ok(Processed {
        kind: MediaKind::Image,
        original,
        thumbnail: Some(thumbnail),
        meta: MediaMeta {
            original: Some(dims),
            small: Some(small),
            ..MediaMeta::default()
        },
        blurhash,
    })
}

/// What a profile picture is cut to: an avatar is filled to a square, a header scaled to fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileCut {
    Avatar,
    Header,
}

/// An avatar (400 × 400, cropped to fill) or header (within 1500 × 500) from an upload:
/// pictures only, checked and re-encoded as uploads are (an animated GIF keeps its first
/// frame, as a PNG).
pub fn profile_image(bytes: &[u8], limits: &Limits, cut: ProfileCut) -> Result<Rendition> {
    let Some(sniffed) =
        sniff::sniff(bytes).filter(|s| s.kind == MediaKind::Image && *s != sniff::AVIF)
    else {
        return Err(refused("File type is not supported (a picture is needed)"));
    };
    if bytes.len() > limits.image_bytes {
        return Err(Error::PayloadTooLarge);
    }
    let format = format_of(sniffed);
    let img = decode(bytes, format, limits)?;
    let img = match cut {
        ProfileCut::Avatar => img.resize_to_fill(400, 400, image::imageops::FilterType::Triangle),
        ProfileCut::Header if img.width() > 1500 || img.height() > 500 => {
            img.resize(1500, 500, image::imageops::FilterType::Triangle)
        }
        ProfileCut::Header => img,
    };
    let wanted = if format == ImageFormat::Jpeg {
        ImageFormat::Jpeg
    } else {
        ImageFormat::Png
    };
    encode(&img, wanted)
}

/// Encode pixels alone. JPEG stays JPEG and PNG stays PNG; a WebP becomes a JPEG (the pure
/// Rust WebP encoder is lossless only, which would make photos several times larger) unless
/// it is transparent, then a PNG; thumbnails the same way.
pub(crate) fn encode(img: &DynamicImage, wanted: ImageFormat) -> Result<Rendition> {
    let transparent = img.color().has_alpha();
    let png = wanted == ImageFormat::Png || (wanted != ImageFormat::Jpeg && transparent);
    if png {
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png)
            .map_err(Error::internal)?;
        Ok(Rendition {
            bytes: out.into_inner(),
            mime: sniff::PNG.mime,
            ext: sniff::PNG.ext,
        })
    } else {
        // `jpeg-encoder` (the time of an upload is mostly this encoding); it writes the
        // pixels and a bare JFIF header, nothing else. Most photos decode as RGB already:
        // encoded from where they are, not from a copy (12 megapixels are 36 MB).
        let too_large = || refused("Image dimensions are too large");
        let w = u16::try_from(img.width()).map_err(|_| too_large())?;
        let h = u16::try_from(img.height()).map_err(|_| too_large())?;
        let mut bytes = Vec::new();
        let encoder = jpeg_encoder::Encoder::new(&mut bytes, JPEG_QUALITY);
        match img {
            DynamicImage::ImageRgb8(rgb) => {
                encoder.encode(rgb.as_raw(), w, h, jpeg_encoder::ColorType::Rgb)
            }
            DynamicImage::ImageLuma8(l) => {
                encoder.encode(l.as_raw(), w, h, jpeg_encoder::ColorType::Luma)
            }
            _ => encoder.encode(img.to_rgb8().as_raw(), w, h, jpeg_encoder::ColorType::Rgb),
        }
        .map_err(Error::internal)?;
        Ok(Rendition {
            bytes,
            mime: sniff::JPEG.mime,
            ext: sniff::JPEG.ext,
        })
    }
}

/// A GIF's frames, copied into a new file: the palette indices are kept as they are (no
/// quantising again, so nothing is lost), and so are timing, placement and transparency; of
/// the extension blocks only the loop count is written again, so comments, XMP and any
/// application data are left behind.
fn copy_gif(bytes: &[u8]) -> Result<Vec<u8>> {
    let bad = |_| refused("The file could not be read as an image");
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::Indexed);
    options.set_memory_limit(gif::MemoryLimit::Bytes(
        std::num::NonZeroU64::new(MAX_DECODE_BYTES).unwrap_or(std::num::NonZeroU64::MIN),
    ));
    let mut decoder = options.read_info(Cursor::new(bytes)).map_err(bad)?;
    let (w, h) = (decoder.width(), decoder.height());
    let palette = decoder.global_palette().unwrap_or(&[]).to_vec();
    let repeat = decoder.repeat();
    let mut out = Vec::with_capacity(bytes.len());
    {
        let mut encoder = gif::Encoder::new(&mut out, w, h, &palette).map_err(Error::internal)?;
        encoder.set_repeat(repeat).map_err(Error::internal)?;
        let mut pixels: u64 = 0;
        while let Some(frame) = decoder.read_next_frame().map_err(bad)? {
            pixels += u64::from(frame.width) * u64::from(frame.height);
            if pixels > MAX_GIF_PIXELS {
                return Err(refused("The animation has too many frames"));
            }
            let mut frame = frame.clone();
            // The decoder gave the rows in display order.
            frame.interlaced = false;
            encoder.write_frame(&frame).map_err(Error::internal)?;
        }
    }
    Ok(out)
}

/// Mastodon's blurhash (4 × 3 components) of a picture, from a small copy of it.
pub(crate) fn blurhash_of(img: &DynamicImage) -> Option<String> {
    let tiny = img.thumbnail(32, 32).to_rgba8();
    blurhash::encode(4, 3, tiny.width(), tiny.height(), tiny.as_raw()).ok()
}

/// Video and audio are kept as they are (no transcoding here), except that an MP3's ID3 tags
/// (titles, but also free text and pictures) are cut off.
pub(crate) fn av(bytes: &[u8], sniffed: Sniffed) -> Processed {
    let kept = if sniffed == sniff::MP3 {
        strip_id3(bytes)
    } else {
        bytes.to_vec()
    };
    Processed {
        kind: sniffed.kind,
        original: Rendition {
            bytes: kept,
            mime: sniffed.mime,
            ext: sniffed.ext,
        },
        thumbnail: None,
        meta: MediaMeta::default(),
        blurhash: None,
    }
}

/// An MP3 without its ID3v2 tag (at the start) and ID3v1 tag (the last 128 bytes).
fn strip_id3(bytes: &[u8]) -> Vec<u8> {
    let mut start = 0usize;
    // A file may carry several ID3v2 tags one after another.
    while bytes.get(start..start + 3) == Some(b"ID3") {
        let Some(h) = bytes.get(start..start + 10) else {
            break;
        };
        // Four 7-bit bytes ("syncsafe"); a footer doubles the header when flag 0x10 is set.
        let size = h[6..10]
            .iter()
            .fold(0usize, |acc, b| (acc << 7) | usize::from(b & 0x7f));
        let footer = if h[5] & 0x10 != 0 { 10 } else { 0 };
        start = start.saturating_add(10 + size + footer).min(bytes.len());
    }
    let mut end = bytes.len();
    if end >= start + 128 && bytes.get(end - 128..end - 125) == Some(b"TAG") {
        end -= 128;
    }
    bytes[start..end].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        image_bytes: 16 << 20,
        video_bytes: 40 << 20,
        image_pixels: 33_177_600,
    };

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(w, h, image::Rgb([200, 30, 30]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn a_picture_is_encoded_again_with_a_thumbnail_and_blurhash() {
        let p = process(&png(1200, 800), &LIMITS).unwrap();
        assert_eq!(p.original.mime, "image/png");
        let meta = p.meta.original.unwrap();
        assert_eq!((meta.width, meta.height), (1200, 800));
        let small = p.meta.small.unwrap();
        assert_eq!((small.width, small.height), (640, 427));
        assert!(p.blurhash.unwrap().len() >= 6);
        assert_eq!(
            sniff::sniff(&p.thumbnail.unwrap().bytes).map(|s| s.mime),
            Some("image/jpeg")
        );
    }

    #[test]
    fn a_small_picture_keeps_its_size_as_thumbnail_and_photos_stay_jpeg() {
        let p = process(&png(40, 20), &LIMITS).unwrap();
        let small = p.meta.small.unwrap();
        assert_eq!((small.width, small.height), (40, 20));
        // A JPEG comes out a JPEG (jpeg-encoder), readable, of the same size.
        let mut jpeg = Cursor::new(Vec::new());
        image::RgbImage::from_pixel(900, 700, image::Rgb([10, 120, 200]))
            .write_to(&mut jpeg, ImageFormat::Jpeg)
            .unwrap();
        let p = process(jpeg.get_ref(), &LIMITS).unwrap();
        assert_eq!(p.original.mime, "image/jpeg");
        let back = image::load_from_memory(&p.original.bytes).unwrap();
        assert_eq!((back.width(), back.height()), (900, 700));
        let px = back.to_rgb8().get_pixel(450, 350).0;
        assert!(px[2] > 180 && px[0] < 40, "{px:?}");
    }

    #[test]
    fn a_huge_header_is_refused_before_decoding() {
        // A PNG of 1 × 1 whose header is rewritten to claim 50,000 × 50,000.
        let mut bytes = png(1, 1);
        bytes[16..20].copy_from_slice(&50_000u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&50_000u32.to_be_bytes());
        // The IHDR chunk's checksum (over its type and data) made right again.
        let crc = crc32(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        let e = process(&bytes, &LIMITS).unwrap_err();
        assert!(matches!(e, Error::Validation(m) if m.contains("too large")));
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut c = 0xffff_ffffu32;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0xedb8_8320
                } else {
                    c >> 1
                };
            }
        }
        !c
    }

    #[test]
    fn broken_and_foreign_files_are_refused() {
        let mut truncated = png(64, 64);
        truncated.truncate(40);
        assert!(matches!(
            process(&truncated, &LIMITS),
            Err(Error::Validation(_))
        ));
        assert!(matches!(
            process(b"<html><script>alert(1)</script></html>", &LIMITS),
            Err(Error::Validation(_))
        ));
        let small = Limits {
            image_bytes: 10,
            ..LIMITS
        };
        assert!(matches!(
            process(&png(4, 4), &small),
            Err(Error::PayloadTooLarge)
        ));
    }

    #[test]
    fn id3_tags_are_cut_off() {
        let mut mp3 = b"ID3\x04\x00\x00\x00\x00\x00\x05TITLE".to_vec();
        mp3.extend_from_slice(&[0xff, 0xfb, 1, 2, 3]);
        let mut v1 = b"TAG".to_vec();
        v1.resize(128, b'x');
        mp3.extend_from_slice(&v1);
        assert_eq!(strip_id3(&mp3), vec![0xff, 0xfb, 1, 2, 3]);
    }

    #[test]
    fn gif_frames_are_copied_without_comments() {
        let mut raw = Vec::new();
        {
            let mut e = gif::Encoder::new(&mut raw, 2, 2, &[0, 0, 0, 255, 255, 255]).unwrap();
            e.write_extension(gif::ExtensionData::new_control_ext(
                10,
                gif::DisposalMethod::Any,
                false,
                None,
            ))
            .unwrap();
            e.write_raw_extension(gif::Extension::Comment.into(), &[b"secret place 52.1N"])
                .unwrap();
            for _ in 0..2 {
                let f = gif::Frame {
                    width: 2,
                    height: 2,
                    buffer: std::borrow::Cow::Owned(vec![0, 1, 1, 0]),
                    ..Default::default()
                };
                e.write_frame(&f).unwrap();
            }
        }
        assert!(raw.windows(6).any(|w| w == b"secret"));
        let p = process(&raw, &LIMITS).unwrap();
        assert_eq!(p.original.mime, "image/gif");
        assert!(!p.original.bytes.windows(6).any(|w| w == b"secret"));
        let frames = gif::DecodeOptions::new()
            .read_info(Cursor::new(&p.original.bytes))
            .unwrap()
            .into_iter()
            .count();
        assert_eq!(frames, 2);
    }

    #[test]
    fn gifs_with_local_palettes_only_are_copied_too() {
        let mut raw = Vec::new();
        {
            let mut e = gif::Encoder::new(&mut raw, 3, 1, &[]).unwrap();
            let f = gif::Frame {
                width: 3,
                height: 1,
                palette: Some(vec![255, 0, 0, 0, 255, 0, 0, 0, 255]),
                buffer: std::borrow::Cow::Owned(vec![0, 1, 2]),
                ..Default::default()
            };
            e.write_frame(&f).unwrap();
        }
        let p = process(&raw, &LIMITS).unwrap();
        let img = image::load_from_memory(&p.original.bytes)
            .unwrap()
            .to_rgb8();
        assert_eq!(img.get_pixel(0, 0).0, [255, 0, 0]);
        assert_eq!(img.get_pixel(2, 0).0, [0, 0, 255]);
    }
}
