//! What a file is, from its first bytes. The name and the `Content-Type` a client sends are
//! never asked: an HTML page called `photo.jpg` is HTML, and is refused.
use kring_core::media::MediaKind;

/// A recognised type: its MIME type, what it is, and the extension its stored file gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sniffed {
    pub mime: &'static str,
    pub kind: MediaKind,
    pub ext: &'static str,
}

const fn t(mime: &'static str, kind: MediaKind, ext: &'static str) -> Sniffed {
    Sniffed { mime, kind, ext }
}

pub const JPEG: Sniffed = t("image/jpeg", MediaKind::Image, "jpg");
pub const PNG: Sniffed = t("image/png", MediaKind::Image, "png");
pub const GIF: Sniffed = t("image/gif", MediaKind::Image, "gif");
pub const WEBP: Sniffed = t("image/webp", MediaKind::Image, "webp");
/// Read through ffmpeg (`media::av`), stored as JPEG or PNG.
pub const AVIF: Sniffed = t("image/avif", MediaKind::Image, "avif");
const MP4: Sniffed = t("video/mp4", MediaKind::Video, "mp4");
const MOV: Sniffed = t("video/quicktime", MediaKind::Video, "mov");
const WEBM: Sniffed = t("video/webm", MediaKind::Video, "webm");
const M4A: Sniffed = t("audio/mp4", MediaKind::Audio, "m4a");
pub const MP3: Sniffed = t("audio/mpeg", MediaKind::Audio, "mp3");
const OGG: Sniffed = t("audio/ogg", MediaKind::Audio, "ogg");
const WAV: Sniffed = t("audio/wav", MediaKind::Audio, "wav");
const FLAC: Sniffed = t("audio/flac", MediaKind::Audio, "flac");

/// Every type Kring accepts (the instance's `supported_mime_types`).
pub const ACCEPTED: &[Sniffed] = &[
    JPEG, PNG, GIF, WEBP, AVIF, MP4, MOV, WEBM, M4A, MP3, OGG, WAV, FLAC,
];

/// The type of `bytes`, or None for anything Kring does not accept.
pub fn sniff(bytes: &[u8]) -> Option<Sniffed> {
    let at = |from: usize, magic: &[u8]| bytes.get(from..from + magic.len()) == Some(magic);
    if at(0, b"\x89PNG\r\n\x1a\n") {
        Some(PNG)
    } else if at(0, &[0xff, 0xd8, 0xff]) {
        Some(JPEG)
    } else if at(0, b"GIF87a") || at(0, b"GIF89a") {
        Some(GIF)
    } else if at(0, b"RIFF") && at(8, b"WEBP") {
        Some(WEBP)
    } else if at(0, b"RIFF") && at(8, b"WAVE") {
        Some(WAV)
    } else if at(4, b"ftyp") {
        // ISO base media files: the major brand says which. AVIF pictures are read through
        // ffmpeg; HEIF (HEIC) ones share the container but cannot be decoded here, so they
        // are not taken as video.
        match bytes.get(8..12)? {
            b"qt  " => Some(MOV),
            b"M4A " | b"M4B " => Some(M4A),
            b"avif" => Some(AVIF),
            b"heic" | b"heix" | b"hevc" | b"mif1" | b"msf1" | b"avis" => None,
            _ => Some(MP4),
        }
    } else if at(0, &[0x1a, 0x45, 0xdf, 0xa3]) {
        // Matroska; only its WebM profile is played by browsers.
        let head = &bytes[..bytes.len().min(64)];
        head.windows(4).any(|w| w == b"webm").then_some(WEBM)
    } else if at(0, b"OggS") {
        Some(OGG)
    } else if at(0, b"fLaC") {
        Some(FLAC)
    } else if at(0, b"ID3")
        || (bytes.len() > 2 && bytes[0] == 0xff && matches!(bytes[1], 0xfb | 0xf3 | 0xf2 | 0xfa))
    {
        Some(MP3)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0"), Some(PNG));
        assert_eq!(sniff(&[0xff, 0xd8, 0xff, 0xe1]), Some(JPEG));
        assert_eq!(sniff(b"GIF89a"), Some(GIF));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(WEBP));
        assert_eq!(sniff(b"\0\0\0\x18ftypisom\0\0"), Some(MP4));
        assert_eq!(sniff(b"\0\0\0\x18ftypqt  \0\0"), Some(MOV));
        assert_eq!(sniff(b"\0\0\0\x18ftypheic\0\0"), None);
        assert_eq!(sniff(b"\0\0\0\x20ftypavif\0\0"), Some(AVIF));
        assert_eq!(sniff(b"ID3\x04\0\0\0\0\0\0"), Some(MP3));
        assert_eq!(sniff(b"<!DOCTYPE html><script>alert(1)</script>"), None);
        assert_eq!(sniff(b"<svg xmlns='http://www.w3.org/2000/svg'/>"), None);
        assert_eq!(sniff(b""), None);
    }
}
