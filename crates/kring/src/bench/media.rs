//! `kring bench-media`: how fast uploads are processed and how much memory that takes. A
//! 12-megapixel JPEG (4000 × 3000, with an EXIF block as phones write) goes through the
//! upload pipeline's processing (`kring_service::media::process`: header check, decode,
//! orientation, re-encode without metadata, thumbnail, blurhash) on the shared CPU limiter,
//! as uploads do, with a number of uploads in flight at once. Reports pictures per second and
//! the peak resident memory above what the process held before (Linux's VmHWM, reset first).
use std::io::Cursor;
use std::sync::Arc;
use std::time::Instant;

use clap::Args;

use super::proc::status_bytes;

#[derive(Args, Debug, Clone)]
pub struct MediaBenchArgs {
    /// Pictures to process.
    #[arg(long, default_value_t = 32)]
    pub images: usize,
    /// Uploads in flight at once (each holding its bytes; the CPU limiter decides how many
    /// decode at the same moment).
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Width and height of the test picture.
    #[arg(long, default_value_t = 4000)]
    pub width: u32,
    #[arg(long, default_value_t = 3000)]
    pub height: u32,
}

/// A photo-like JPEG (gradients and noise, so it compresses as photos do) with an EXIF block.
fn photo(width: u32, height: u32) -> Result<Vec<u8>, String> {
    let mut seed: u32 = 0x2545_f491;
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let n = (seed & 0x1f) as u8;
        image::Rgb([
            ((x * 255 / width.max(1)) as u8).wrapping_add(n),
            ((y * 255 / height.max(1)) as u8).wrapping_add(n),
            (((x + y) / 16) as u8).wrapping_add(n),
        ])
    });
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
            &mut out, 90,
        ))
        .map_err(|e| e.to_string())?;
    let plain = out.into_inner();
    // APP1 "Exif": a big-endian TIFF with one entry (orientation 1) after the header.
    let mut tiff: Vec<u8> = b"MM\0\x2a\0\0\0\x08\0\x01".to_vec();
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0]);
    let mut jpeg = plain[..2].to_vec();
    jpeg.extend_from_slice(&[0xff, 0xe1]);
    jpeg.extend_from_slice(&((2 + 6 + tiff.len()) as u16).to_be_bytes());
    jpeg.extend_from_slice(b"Exif\0\0");
    jpeg.extend_from_slice(&tiff);
    jpeg.extend_from_slice(&plain[2..]);
    Ok(jpeg)
}

pub async fn run(args: MediaBenchArgs) -> Result<(), String> {
    let pid = std::process::id();
    let bytes = Arc::new(photo(args.width, args.height)?);
    let config = kring_service::media::MediaConfig::default();
    let limits = kring_service::media::process::Limits {
        image_bytes: config.image_size_limit,
        video_bytes: config.video_size_limit,
        image_pixels: config.image_matrix_limit,
    };
    println!(
        "picture          : {} × {} JPEG, {} KB",
        args.width,
        args.height,
        bytes.len() / 1024
    );
    // One warm-up, then the peak is measured from here (writing 5 to clear_refs resets
    // VmHWM to the current resident size).
    let b = bytes.clone();
    kring_service::cpu::run(move || kring_service::media::process::process(&b, &limits))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
    let before = status_bytes(pid, "VmRSS").unwrap_or(0);
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let (next, bytes, total) = (next.clone(), bytes.clone(), args.images);
        tasks.push(tokio::spawn(async move {
            let mut done = 0usize;
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < total {
                // Each upload in flight holds its own copy of the bytes, as a request does.
                // As a request: room among the uploads in flight first, then the body.
                let _slot = kring_service::media::upload::UploadSlot::reserve(bytes.len() as u64)
                    .await
                    .map_err(|e| e.to_string())?;
                let own = bytes.to_vec();
                let p = kring_service::cpu::run(move || {
                    kring_service::media::process::process(&own, &limits)
                })
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
                if p.original.bytes.windows(4).any(|w| w == b"Exif") {
                    return Err("metadata survived".to_string());
                }
                done += 1;
            }
            Ok::<usize, String>(done)
        }));
    }
    let mut processed = 0;
    for t in tasks {
        processed += t.await.map_err(|e| e.to_string())??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let peak = status_bytes(pid, "VmHWM").unwrap_or(0);
    println!(
        "cores            : {}",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "uploads          : {} at once, bodies held up to {} MiB together",
        args.concurrency,
        kring_service::media::upload::BYTES_IN_FLIGHT >> 20
    );
    println!("processed        : {processed} in {elapsed:.2} s");
    println!("pictures/s       : {:.2}", processed as f64 / elapsed);
    println!(
        "peak RSS increase: {:.1} MB (peak {:.1} MB, before {:.1} MB)",
        peak.saturating_sub(before) as f64 / 1e6,
        peak as f64 / 1e6,
        before as f64 / 1e6
    );
    Ok(())
}
