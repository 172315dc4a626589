//! Video and audio through Debian's `ffmpeg` and `ffprobe`, run as subprocesses (never
//! through a shell, each with a timeout, a few at a time): `ffprobe` reads the duration, size
//! and frame rate (a file longer than `video_duration_limit` is refused), `ffmpeg` copies the
//! video and audio streams into a new file of the same container without any metadata (titles,
//! comments, a phone's location, chapters, cover pictures, subtitle and data streams), and
//! takes a video's thumbnail from one of its frames. Nothing is transcoded (`-c copy`), so
//! this is quick: it runs while the upload is answered.
//!
//! When the tools are missing, the file is kept as sent (an MP3 without its ID3 tags) and a
//! video gets a placeholder thumbnail: an upload never fails for want of ffmpeg.
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use image::{DynamicImage, ImageFormat};
use kring_core::media::{Dimensions, MediaKind, MediaMeta};
use kring_core::{Error, Result};
use tokio::sync::Semaphore;

use super::process::{self, Limits, Processed, Rendition, refused};
use super::sniff::{self, Sniffed};

/// ffmpeg runs at once in this process (each may use a core for a moment).
static RUNS: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(std::thread::available_parallelism().map_or(1, |n| n.get())));
/// The longest one ffmpeg or ffprobe run may take before it is killed.
const TIMEOUT: Duration = Duration::from_secs(60);
/// The most of a tool's output read back (ffprobe's JSON, a thumbnail frame as PNG).
const MAX_OUTPUT: usize = 64 * 1024 * 1024;
/// Said once per process when the tools are missing.
static WARNED: AtomicBool = AtomicBool::new(false);

/// Where the tools are and how long a file may play.
#[derive(Debug, Clone)]
pub struct AvTools {
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
    /// Seconds a video or audio file may last.
    pub max_seconds: u64,
}

/// A tool's run: Ok(None) when the tool is not there.
enum Run {
    Missing,
    Done(std::process::Output),
}

async fn run(tool: &Path, args: &[&std::ffi::OsStr]) -> Result<Run> {
    let _place = RUNS.acquire().await.map_err(Error::internal)?;
    let child = tokio::process::Command::new(tool)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let child = match child {
        Ok(c) => c,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
            ) =>
        {
            return Ok(Run::Missing);
        }
        Err(e) => return Err(Error::internal(e)),
    };
    match tokio::time::timeout(TIMEOUT, child.wait_with_output()).await {
        Ok(Ok(out)) if out.stdout.len() <= MAX_OUTPUT => Ok(Run::Done(out)),
        Ok(Ok(_)) => Err(refused("The file could not be processed")),
        Ok(Err(e)) => Err(Error::internal(e)),
        // The child is killed as it is dropped.
        Err(_) => Err(refused("The file took too long to process")),
    }
}

fn os(s: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(s)
}

/// What ffprobe says about a file.
#[derive(Debug, Default)]
struct Probe {
    duration: Option<f64>,
    bitrate: Option<u64>,
    /// The first video stream that is not a cover picture: width, height, frame rate.
    video: Option<(u32, u32, Option<String>)>,
    audio: bool,
}

/// What ffprobe made of a file.
enum Probed {
    /// No ffprobe here.
    Missing,
    /// It could not read the file.
    Unreadable,
    Read(Probe),
}

/// Ask ffprobe what `input` (of the sniffed type) holds.
async fn probe(tools: &AvTools, sniffed: Sniffed, input: &Path) -> Result<Probed> {
    let [f, demux, pw, file] = input_args(sniffed);
    let args = [
        os("-v"),
        os("error"),
        os("-print_format"),
        os("json"),
        os("-show_format"),
        os("-show_streams"),
        f,
        demux,
        pw,
        file,
        os("-i"),
        input.as_os_str(),
    ];
    Ok(match run(&tools.ffprobe, &args).await? {
        Run::Missing => Probed::Missing,
        Run::Done(out) if out.status.success() => {
            parse_probe(&out.stdout).map_or(Probed::Unreadable, Probed::Read)
        }
        Run::Done(_) => Probed::Unreadable,
    })
}

fn parse_probe(json: &[u8]) -> Option<Probe> {
    let v: serde_json::Value = serde_json::from_slice(json).ok()?;
    let num = |v: &serde_json::Value| -> Option<f64> {
        v.as_str()
            .and_then(|s| s.parse::<f64>().ok())
            .or_else(|| v.as_f64())
            .filter(|f| f.is_finite() && *f >= 0.0)
    };
    let mut p = Probe {
        duration: num(&v["format"]["duration"]),
        bitrate: num(&v["format"]["bit_rate"]).map(|b| b as u64),
        ..Probe::default()
    };
    for s in v["streams"].as_array().into_iter().flatten() {
        match s["codec_type"].as_str() {
            Some("video")
                if s["disposition"]["attached_pic"].as_i64() != Some(1) && p.video.is_none() =>
            {
                let w = s["width"].as_u64().and_then(|w| u32::try_from(w).ok())?;
                let h = s["height"].as_u64().and_then(|h| u32::try_from(h).ok())?;
                let rate = s["avg_frame_rate"]
                    .as_str()
                    .filter(|r| !r.starts_with('0'))
                    .or_else(|| s["r_frame_rate"].as_str())
                    .filter(|r| !r.starts_with('0'))
                    .map(str::to_string);
                p.video = Some((w, h, rate));
            }
            Some("audio") => p.audio = true,
            _ => {}
        }
        if p.duration.is_none() {
            p.duration = num(&s["duration"]);
        }
    }
    Some(p)
}

/// ffmpeg's demuxer for what the bytes were sniffed as: the file is read as that and nothing
/// else (never guessed again by ffmpeg, so never a playlist naming other files).
fn demuxer(s: Sniffed) -> &'static str {
    match s.mime {
        "video/webm" => "matroska",
        "audio/mpeg" => "mp3",
        "audio/ogg" => "ogg",
        "audio/wav" => "wav",
        "audio/flac" => "flac",
        _ => "mov",
    }
}

/// Options before `-i`: the sniffed demuxer, local files only.
fn input_args(s: Sniffed) -> [&'static std::ffi::OsStr; 4] {
    [
        os("-f"),
        os(demuxer(s)),
        os("-protocol_whitelist"),
        os("file"),
    ]
}

/// ffmpeg's muxer for a container, and the options that keep the copy clean (no ID3 tag of
/// an MP3, the index first in MP4 and QuickTime files so they play while loading).
fn muxer(s: Sniffed) -> (&'static str, &'static [&'static str]) {
    match s.mime {
        "video/mp4" => ("mp4", &["-movflags", "+faststart"]),
        "video/quicktime" => ("mov", &["-movflags", "+faststart"]),
        "audio/mp4" => ("ipod", &["-movflags", "+faststart"]),
        "video/webm" => ("webm", &[]),
        "audio/mpeg" => ("mp3", &["-id3v2_version", "0", "-write_id3v1", "0"]),
        "audio/ogg" => ("ogg", &[]),
        "audio/wav" => ("wav", &[]),
        "audio/flac" => ("flac", &[]),
        _ => ("matroska", &[]),
    }
}

/// A video's stand-in picture when no frame can be taken (no ffmpeg): a dark 640 × 360 field
/// with a light "play" triangle, as JPEG, with its blurhash.
static PLACEHOLDER: LazyLock<Option<(Rendition, Dimensions, Option<String>)>> =
    LazyLock::new(|| {
        let (w, h) = (640u32, 360u32);
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            // A triangle pointing right, centred: x from 270 to 390, |y - 180| ≤ (390 - x) / 2.
            let (x, y) = (x as i32, y as i32);
            let inside = (270..=390).contains(&x) && 2 * (y - 180).abs() <= 390 - x;
            if inside {
                image::Rgb([230, 230, 235])
            } else {
                image::Rgb([48, 52, 64])
            }
        });
        let img = DynamicImage::ImageRgb8(img);
        let r = process::encode(&img, ImageFormat::Jpeg).ok()?;
        Some((
            r,
            Dimensions {
                width: w,
                height: h,
            },
            process::blurhash_of(&img),
        ))
    });

fn with_placeholder(mut p: Processed) -> Processed {
    if p.kind == MediaKind::Video
        && let Some((r, dims, blurhash)) = PLACEHOLDER.as_ref()
    {
        p.thumbnail = Some(Rendition {
            bytes: r.bytes.clone(),
            mime: r.mime,
            ext: r.ext,
        });
        p.meta.small = Some(*dims);
        p.blurhash = blurhash.clone();
    }
    p
}

fn missing() {
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            "ffmpeg or ffprobe not found: video and audio are kept as sent (container \
             metadata not stripped, no duration limit, placeholder thumbnails)"
        );
    }
}

/// Check and clean a video or audio file (`sniffed` says which). 413 over the size limit,
/// 422 for a file ffmpeg cannot read or one that plays too long.
pub async fn process_av(
    bytes: Vec<u8>,
    sniffed: Sniffed,
    limits: &Limits,
    tools: &AvTools,
) -> Result<Processed> {
    if bytes.len() > limits.video_bytes {
        return Err(Error::PayloadTooLarge);
    }
    let dir = tempfile::Builder::new()
        .prefix("kring-av-")
        .tempdir()
        .map_err(Error::internal)?;
    let input = dir.path().join(format!("in.{}", sniffed.ext));
    let output = dir.path().join(format!("out.{}", sniffed.ext));
    tokio::fs::write(&input, &bytes)
        .await
        .map_err(Error::internal)?;

    // What it is.
    let probe = match probe(tools, sniffed, &input).await? {
        Probed::Missing => {
            missing();
            return Ok(with_placeholder(process::av(&bytes, sniffed)));
        }
        Probed::Read(p) => p,
        Probed::Unreadable => {
            return Err(refused("The file could not be read as video or audio"));
        }
    };
    drop(bytes);
    if probe.video.is_none() && !probe.audio {
        return Err(refused("The file has neither video nor sound"));
    }
    let duration = probe.duration.unwrap_or(0.0);
    if duration > tools.max_seconds as f64 {
        return Err(refused(&format!(
            "Duration is too long (maximum is {} seconds)",
            tools.max_seconds
        )));
    }

    // A clean copy: the video and sound streams (not cover pictures), no metadata, no
    // chapters, and writers told to add nothing of their own (`bitexact`).
    let (format, extra) = muxer(sniffed);
    let mut args: Vec<&std::ffi::OsStr> = ["-nostdin", "-v", "error"].into_iter().map(os).collect();
    args.extend(input_args(sniffed));
    args.push(os("-i"));
    args.push(input.as_os_str());
    for a in [
        "-map",
        "0:V?",
        "-map",
        "0:a?",
        "-map_metadata",
        "-1",
        "-map_chapters",
        "-1",
        "-c",
        "copy",
        "-fflags",
        "+bitexact",
        "-flags:v",
        "+bitexact",
        "-flags:a",
        "+bitexact",
    ] {
        args.push(os(a));
    }
    args.extend(extra.iter().map(|a| os(a)));
    args.extend([os("-f"), os(format), os("-y")]);
    args.push(output.as_os_str());
    match run(&tools.ffmpeg, &args).await? {
        Run::Missing => {
            missing();
            let bytes = tokio::fs::read(&input).await.map_err(Error::internal)?;
            return Ok(with_placeholder(process::av(&bytes, sniffed)));
        }
        Run::Done(out) if out.status.success() => {}
        Run::Done(out) => {
            tracing::info!(
                stderr = %String::from_utf8_lossy(&out.stderr[..out.stderr.len().min(2000)]),
                "ffmpeg could not copy an upload"
            );
            return Err(refused("The file could not be processed"));
        }
    }
    let cleaned = tokio::fs::read(&output).await.map_err(Error::internal)?;
    // The copy is what is served: its type is its own bytes' (a video with sound only is
    // audio, as Mastodon says).
    let Some(mut kind_of) = sniff::sniff(&cleaned).filter(|s| s.kind != MediaKind::Image) else {
        return Err(refused("The file could not be processed"));
    };
    if probe.video.is_none() && kind_of.kind == MediaKind::Video {
        kind_of.kind = MediaKind::Audio;
    }

    let mut meta = MediaMeta {
        duration: probe.duration,
        bitrate: probe.bitrate,
        ..MediaMeta::default()
    };
    let mut thumbnail = None;
    let mut blurhash = None;
    if let Some((w, h, rate)) = &probe.video {
        meta.original = Some(Dimensions {
            width: *w,
            height: *h,
        });
        meta.frame_rate = rate.clone();
        if kind_of.kind == MediaKind::Video
            && let Some((r, small, hash)) = frame(tools, sniffed, &input, duration).await
        {
            thumbnail = Some(r);
            meta.small = Some(small);
            blurhash = hash;
        }
    }
    let p = Processed {
        kind: kind_of.kind,
        original: Rendition {
            bytes: cleaned,
            mime: kind_of.mime,
            ext: kind_of.ext,
        },
        thumbnail,
        meta,
        blurhash,
    };
    Ok(if p.thumbnail.is_none() {
        with_placeholder(p)
    } else {
        p
    })
}

/// An AVIF picture: its size read by ffprobe and checked before anything is decoded, its
/// (first) picture decoded by ffmpeg to PNG, then processed as any upload (so stored as a JPEG,
/// or a PNG when transparent, without metadata, with a thumbnail and blurhash). Without
/// ffmpeg it is refused as an unsupported type.
pub async fn process_avif(bytes: Vec<u8>, limits: &Limits, tools: &AvTools) -> Result<Processed> {
    if bytes.len() > limits.image_bytes {
        return Err(Error::PayloadTooLarge);
    }
    let unsupported = || refused("File type is not supported");
    let unreadable = || refused("The file could not be read as an image");
    let dir = tempfile::Builder::new()
        .prefix("kring-avif-")
        .tempdir()
        .map_err(Error::internal)?;
    let input = dir.path().join("in.avif");
    tokio::fs::write(&input, &bytes)
        .await
        .map_err(Error::internal)?;
    drop(bytes);
    let [f, demux, pw, file] = input_args(sniff::AVIF);
    let probe = match probe(tools, sniff::AVIF, &input).await? {
        Probed::Missing => {
            missing();
            return Err(unsupported());
        }
        Probed::Read(p) => p,
        Probed::Unreadable => return Err(unreadable()),
    };
    // The header's word, before a single pixel is decoded.
    let Some((w, h, _)) = probe.video else {
        return Err(unreadable());
    };
    if w == 0 || h == 0 {
        return Err(unreadable());
    }
    if u64::from(w) * u64::from(h) > limits.image_pixels {
        return Err(refused(&format!(
            "Image dimensions are too large: {w}x{h} is more than {} pixels",
            limits.image_pixels
        )));
    }
    let args = [
        os("-nostdin"),
        os("-v"),
        os("error"),
        f,
        demux,
        pw,
        file,
        os("-i"),
        input.as_os_str(),
        os("-map"),
        os("0:V:0"),
        os("-frames:v"),
        os("1"),
        os("-map_metadata"),
        os("-1"),
        os("-f"),
        os("image2pipe"),
        os("-c:v"),
        os("png"),
        os("-"),
    ];
    let png = match run(&tools.ffmpeg, &args).await? {
        Run::Missing => {
            missing();
            return Err(unsupported());
        }
        Run::Done(out) if out.status.success() && !out.stdout.is_empty() => out.stdout,
        Run::Done(_) => return Err(unreadable()),
    };
    let limits = *limits;
    crate::cpu::run(move || process::decoded_picture(&png, &limits)).await?
}

/// A thumbnail from one frame of a video (a second in, or earlier in a short one), turned as
/// the video is shown; None when no frame comes out.
async fn frame(
    tools: &AvTools,
    sniffed: Sniffed,
    input: &Path,
    duration: f64,
) -> Option<(Rendition, Dimensions, Option<String>)> {
    let at = format!("{:.3}", (duration / 3.0).min(1.0));
    let side = process::THUMB_SIDE;
    let scale =
        format!("scale=w='min(iw,{side})':h='min(ih,{side})':force_original_aspect_ratio=decrease");
    let [f, demux, pw, file] = input_args(sniffed);
    let args = [
        os("-nostdin"),
        os("-v"),
        os("error"),
        os("-ss"),
        os(&at),
        f,
        demux,
        pw,
        file,
        os("-i"),
        input.as_os_str(),
        os("-map"),
        os("0:V:0"),
        os("-frames:v"),
        os("1"),
        os("-vf"),
        os(&scale),
        os("-map_metadata"),
        os("-1"),
        os("-f"),
        os("image2pipe"),
        os("-c:v"),
        os("png"),
        os("-"),
    ];
    let out = match run(&tools.ffmpeg, &args).await {
        Ok(Run::Done(out)) if out.status.success() && !out.stdout.is_empty() => out.stdout,
        _ => return None,
    };
    crate::cpu::run(move || {
        let mut reader =
            image::ImageReader::with_format(std::io::Cursor::new(out), ImageFormat::Png);
        let mut l = image::Limits::default();
        l.max_alloc = Some(256 * 1024 * 1024);
        reader.limits(l);
        let img = reader.decode().ok()?;
        // Made smaller to fit, never larger.
        let img = if img.width() > side || img.height() > side {
            img.thumbnail(side, side)
        } else {
            img
        };
        let dims = Dimensions {
            width: img.width(),
            height: img.height(),
        };
        let hash = process::blurhash_of(&img);
        let r = process::encode(&img, ImageFormat::Jpeg).ok()?;
        Some((r, dims, hash))
    })
    .await
    .ok()
    .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ffprobe_output_is_read() {
        let json = br#"{"streams":[
            {"codec_type":"video","width":1280,"height":720,"avg_frame_rate":"30000/1001",
             "r_frame_rate":"30000/1001","disposition":{"attached_pic":0}},
            {"codec_type":"audio","duration":"9.5"}],
            "format":{"duration":"9.380000","bit_rate":"362792"}}"#;
        let p = parse_probe(json).unwrap();
        assert_eq!(p.duration, Some(9.38));
        assert_eq!(p.bitrate, Some(362_792));
        assert_eq!(p.video, Some((1280, 720, Some("30000/1001".into()))));
        assert!(p.audio);
        let cover = br#"{"streams":[{"codec_type":"video","width":500,"height":500,
            "disposition":{"attached_pic":1}},{"codec_type":"audio"}],"format":{}}"#;
        let p = parse_probe(cover).unwrap();
        assert_eq!(p.video, None);
        assert_eq!(p.duration, None);
    }

    #[test]
    fn the_placeholder_is_a_jpeg_with_a_blurhash() {
        let (r, dims, hash) = PLACEHOLDER.as_ref().unwrap();
        assert_eq!(sniff::sniff(&r.bytes), Some(sniff::JPEG));
        assert_eq!((dims.width, dims.height), (640, 360));
        assert!(hash.is_some());
    }

    #[test]
    fn frame_rates_round_as_mastodon_reports_fps() {
        let m = MediaMeta {
            frame_rate: Some("30000/1001".into()),
            ..MediaMeta::default()
        };
        assert_eq!(m.fps(), Some(30));
        let none = MediaMeta {
            frame_rate: Some("0/0".into()),
            ..MediaMeta::default()
        };
        assert_eq!(none.fps(), None);
    }
}
