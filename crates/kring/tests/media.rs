// SPDX-License-Identifier: AGPL-3.0-or-later
//! Media attachments through the Mastodon API, against the real server over HTTP (SQLite, or
//! PostgreSQL with `KRING_TEST_DATABASE_URL`): a photo carrying GPS EXIF comes out without any
//! metadata (checked in the served and the stored bytes), stood the right way up; alt text and
//! focus; attaching to a post, reading it back, editing; refused files (broken, a
//! decompression bomb's header, HTML called `.jpg`, too large) leave neither a row nor a file;
//! unattached uploads are swept; and a picture with alt text reaches another Kring server and
//! is served through that server.
mod common;
mod fed_common;

use std::io::Cursor;

use common::TestServer;
use common::schema::assert_valid;
use kring::config::{MediaPartial, Partial};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Text the EXIF block of the fixture carries (the camera's make and serial): it must not
/// survive anywhere.
const CAMERA: &[u8] = b"KringTestCam-SN4242";

/// A 40 × 20 JPEG whose EXIF says: made by `CAMERA`, orientation 6 (turn 90° clockwise to
/// show), taken at latitude 52° 22' 12.34" N.
fn jpeg_with_gps() -> Vec<u8> {
    let img = image::RgbImage::from_fn(40, 20, |x, _| image::Rgb([(x * 6) as u8, 80, 160]));
    let mut plain = Cursor::new(Vec::new());
    img.write_to(&mut plain, image::ImageFormat::Jpeg).unwrap();
    let plain = plain.into_inner();

    // A big-endian TIFF: IFD0 (Make, Orientation, GPS IFD pointer), the make's text, the GPS
    // IFD (latitude reference and latitude), the latitude's three rationals.
    let mut t: Vec<u8> = b"MM\0\x2a\0\0\0\x08".to_vec();
    let entry = |t: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: u32| {
        t.extend_from_slice(&tag.to_be_bytes());
        t.extend_from_slice(&kind.to_be_bytes());
        t.extend_from_slice(&count.to_be_bytes());
        t.extend_from_slice(&value.to_be_bytes());
    };
    let make_at = 8 + 2 + 3 * 12 + 4;
    let make_len = CAMERA.len() as u32 + 1;
    let gps_at = make_at + make_len;
    let lat_at = gps_at + 2 + 2 * 12 + 4;
    t.extend_from_slice(&3u16.to_be_bytes());
    entry(&mut t, 0x010f, 2, make_len, make_at);
    entry(&mut t, 0x0112, 3, 1, 6 << 16);
    entry(&mut t, 0x8825, 4, 1, gps_at);
    t.extend_from_slice(&0u32.to_be_bytes());
    t.extend_from_slice(CAMERA);
    t.push(0);
    t.extend_from_slice(&2u16.to_be_bytes());
    entry(&mut t, 0x0001, 2, 2, u32::from_be_bytes(*b"N\0\0\0"));
    entry(&mut t, 0x0002, 5, 3, lat_at);
    t.extend_from_slice(&0u32.to_be_bytes());
    for (n, d) in [(52u32, 1u32), (22, 1), (1234, 100)] {
        t.extend_from_slice(&n.to_be_bytes());
        t.extend_from_slice(&d.to_be_bytes());
    }
    let mut app1 = vec![0xff, 0xe1];
    app1.extend_from_slice(&((2 + 6 + t.len()) as u16).to_be_bytes());
    app1.extend_from_slice(b"Exif\0\0");
    app1.extend_from_slice(&t);
    // Right after the start-of-image marker.
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    out
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(w, h, image::Rgb([10, 200, 10]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
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

/// A valid PNG of 1 × 1 whose header claims 50,000 × 50,000 (2.5 billion pixels).
fn png_bomb_header() -> Vec<u8> {
    let mut b = png(1, 1);
    b[16..20].copy_from_slice(&50_000u32.to_be_bytes());
    b[20..24].copy_from_slice(&50_000u32.to_be_bytes());
    let crc = crc32(&b[12..29]);
    b[29..33].copy_from_slice(&crc.to_be_bytes());
    b
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// A multipart body: a file part (`name`, claimed type) and text fields.
fn multipart(
    file: &[u8],
    file_name: &str,
    claimed: &str,
    fields: &[(&str, &str)],
) -> (String, Vec<u8>) {
    let boundary = "KringMediaBoundary7e3";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: {claimed}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(
    s: &TestServer,
    token: &str,
    path: &str,
    file: &[u8],
    name: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, Value) {
    let claimed = if name.ends_with(".png") {
        "image/png"
    } else {
        "image/jpeg"
    };
    let (ct, body) = multipart(file, name, claimed, fields);
    let (st, _, v) = s
        .raw(reqwest::Method::POST, path, Some(token), Some(&ct), body)
        .await;
    (st, v)
}

/// Fetch a served file: status, content type, the headers that keep it inert, bytes.
async fn fetch(url: &str) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let res = reqwest::get(url).await.expect("fetch");
    let st = res.status();
    let h = res.headers().clone();
    (st, h, res.bytes().await.unwrap().to_vec())
}

/// Every file under a folder (the media storage).
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test]
async fn a_photo_loses_its_metadata_keeps_its_alt_text_and_is_attached_to_a_post() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let photo = jpeg_with_gps();
    assert!(contains(&photo, b"Exif\0\0") && contains(&photo, CAMERA));

    // What the instance says it takes.
    let v2 = s.ok("/api/v2/instance", None).await;
    let conf = &v2["configuration"];
    assert_eq!(conf["statuses"]["max_media_attachments"], 4);
    let types = conf["media_attachments"]["supported_mime_types"]
        .as_array()
        .unwrap();
    assert!(types.contains(&json!("image/jpeg")) && types.contains(&json!("image/png")));
    assert_eq!(conf["media_attachments"]["image_matrix_limit"], 7680 * 4320);
    assert_eq!(conf["media_attachments"]["description_limit"], 1500);
    let v1 = s.ok("/api/v1/instance", None).await;
    assert_eq!(v1["configuration"]["statuses"]["max_media_attachments"], 4);

    let (st, m) = upload(
        &s,
        &alice.token,
        "/api/v2/media",
        &photo,
        "IMG_0001.jpg",
        &[
            ("description", "A red and blue gradient"),
            ("focus", "0.5,-0.25"),
        ],
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{m}");
    assert_valid("MediaAttachment", &m);
    assert_eq!(m["type"], "image");
    assert_eq!(m["description"], "A red and blue gradient");
    assert!(m["blurhash"].as_str().is_some_and(|b| b.len() >= 6), "{m}");
    // Orientation 6 applied: the 40 × 20 picture now stands 20 × 40.
    assert_eq!(m["meta"]["original"]["width"], 20, "{m}");
    assert_eq!(m["meta"]["original"]["height"], 40, "{m}");
    assert_eq!(m["meta"]["focus"], json!({"x": 0.5, "y": -0.25}));
    let url = m["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&s.url("/media/")), "{url}");

    // The served bytes: a JPEG without any EXIF block, camera text or GPS position, in its
    // new orientation, served inert.
    let (st, h, served) = fetch(&url).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(h["content-type"], "image/jpeg");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("sandbox"),
        "{csp}"
    );
    assert!(served.starts_with(&[0xff, 0xd8, 0xff]));
    // Ranges, for seeking in video and audio.
    let part = reqwest::Client::new()
        .get(&url)
        .header("range", "bytes=0-3")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 0-3/{}", served.len()).as_str()
    );
    assert_eq!(part.bytes().await.unwrap().as_ref(), &served[..4]);
    assert!(!contains(&served, b"Exif"), "an EXIF block survived");
    assert!(!contains(&served, CAMERA), "the camera's text survived");
    let decoded = image::load_from_memory(&served).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (20, 40));
    let (st, h, thumb) = fetch(m["preview_url"].as_str().unwrap()).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(h["content-type"], "image/jpeg");
    assert!(!contains(&thumb, b"Exif"));
    // And the stored files: nothing kept aside.
    let stored = files_under(&s.kring.config.media.dir.clone().unwrap());
    assert_eq!(stored.len(), 2, "{stored:?}");
    for f in &stored {
        let b = std::fs::read(f).unwrap();
        assert!(!contains(&b, b"Exif") && !contains(&b, CAMERA), "{f:?}");
    }

    // Alt text and focus can be changed, and read back.
    let id = m["id"].as_str().unwrap().to_string();
    let (st, _, put) = s
        .put(
            &format!("/api/v1/media/{id}"),
            Some(&alice.token),
            json!({"description": "Gradient, red to blue", "focus": "-1,1"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{put}");
    assert_eq!(put["description"], "Gradient, red to blue");
    let got = s
        .ok(&format!("/api/v1/media/{id}"), Some(&alice.token))
        .await;
    assert_valid("MediaAttachment", &got);
    assert_eq!(got["description"], "Gradient, red to blue");
    assert_eq!(got["meta"]["focus"], json!({"x": -1.0, "y": 1.0}));
    let (st, _, _) = s
        .put(
            &format!("/api/v1/media/{id}"),
            Some(&alice.token),
            json!({"focus": "3,0"}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    // Someone else's upload is nobody else's business.
    let bob = s.register("bob").await;
    let (st, _, _) = s
        .get(&format!("/api/v1/media/{id}"), Some(&bob.token))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Attached to a post (with no text: a picture is enough), and read back.
    let (st, _, post) = s
        .post(
            "/api/v1/statuses",
            Some(&bob.token),
            json!({"status": "", "media_ids": [id]}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "not bob's: {post}");
    let status = s
        .post_status(&alice, json!({"status": "", "media_ids": [id]}))
        .await;
    assert_valid("Status", &status);
    let sid = status["id"].as_str().unwrap().to_string();
    assert_eq!(status["media_attachments"][0]["id"], id.as_str());
    assert_eq!(
        status["media_attachments"][0]["description"],
        "Gradient, red to blue"
    );
    let read = s
        .ok(&format!("/api/v1/statuses/{sid}"), Some(&bob.token))
        .await;
    assert_valid("Status", &read);
    assert_eq!(read["media_attachments"][0]["url"], url.as_str());
    // The post's web page shows the picture (the thumbnail, linking to the file) with its alt
    // text, from this server.
    let page = reqwest::get(read["url"].as_str().unwrap())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let thumb_path = m["preview_url"].as_str().unwrap().replace(&s.url(""), "");
    assert!(
        page.contains(&format!(
            "src=\"{thumb_path}\" alt=\"Gradient, red to blue\""
        )),
        "{page}"
    );
    // Used once: another post cannot take it.
    let (st, _, _) = s
        .post(
            "/api/v1/statuses",
            Some(&alice.token),
            json!({"status": "again", "media_ids": [id]}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    // No more than four.
    let mut five = Vec::new();
    for i in 0..5 {
        let (st, m) = upload(
            &s,
            &alice.token,
            "/api/v1/media",
            &png(8, 8),
            &format!("{i}.png"),
            &[],
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{m}");
        five.push(m["id"].as_str().unwrap().to_string());
    }
    let (st, _, body) = s
        .post(
            "/api/v1/statuses",
            Some(&alice.token),
            json!({"status": "five", "media_ids": five}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // An edit keeps what it names (in its order) and lets go of the rest.
    let (st, _, edited) = s
        .put(
            &format!("/api/v1/statuses/{sid}"),
            Some(&alice.token),
            json!({"status": "with words now", "media_ids": [five[0], id]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{edited}");
    let ids: Vec<&str> = edited["media_attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [five[0].as_str(), id.as_str()]);
    let (st, _, edited) = s
        .put(
            &format!("/api/v1/statuses/{sid}"),
            Some(&alice.token),
            json!({"status": "only words", "media_ids": [id]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{edited}");
    assert_eq!(edited["media_attachments"].as_array().unwrap().len(), 1);
    // The one let go of is free again; an attached one cannot be deleted.
    let (st, _, _) = s
        .delete(&format!("/api/v1/media/{}", five[0]), Some(&alice.token))
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _, _) = s
        .delete(&format!("/api/v1/media/{id}"), Some(&alice.token))
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);

    // Unattached uploads are swept (here: all, as if a day had passed); the post's stays.
    let swept = s
        .kring
        .sweep_unattached_media_before(kring_core::time::now_micros() + 1)
        .await
        .unwrap();
    assert_eq!(swept, 4);
    let (st, _, _) = s
        .get(&format!("/api/v1/media/{}", five[1]), Some(&alice.token))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(
        files_under(&s.kring.config.media.dir.clone().unwrap()).len(),
        2
    );
    let (st, _, _) = fetch(&url).await;
    assert_eq!(st, StatusCode::OK);
}

#[tokio::test]
async fn bad_files_are_refused_and_leave_nothing_behind() {
    let s = TestServer::start_with(Partial {
        media: Some(MediaPartial {
            image_size_limit: Some(200_000),
            video_size_limit: Some(300_000),
            ..Default::default()
        }),
        ..Partial::default()
    })
    .await;
    let alice = s.register("alice").await;
    let token = alice.token.as_str();

    // A JPEG's first bytes, then nonsense.
    let mut broken = vec![0xff, 0xd8, 0xff, 0xe0, 0, 16];
    broken.extend_from_slice(&[0x42; 500]);
    let (st, e) = upload(&s, token, "/api/v2/media", &broken, "broken.jpg", &[]).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["error"].is_string(), "{e}");

    // A decompression bomb's header: refused from the header, before any decoding.
    let (st, e) = upload(
        &s,
        token,
        "/api/v2/media",
        &png_bomb_header(),
        "bomb.png",
        &[],
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["error"].as_str().unwrap().contains("too large"), "{e}");

    // HTML that calls itself a JPEG, by name and by Content-Type.
    let html = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>";
    let (st, e) = upload(&s, token, "/api/v1/media", html, "cat.jpg", &[]).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");

    // A picture over the size limit (by its bytes: its type is known, its pixels unread).
    let mut big = vec![0xff, 0xd8, 0xff, 0xe0];
    big.resize(250_000, 0);
    let (st, e) = upload(&s, token, "/api/v2/media", &big, "big.jpg", &[]).await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{e}");
    // A body over every limit is refused before it is read.
    let huge = vec![0u8; 2_000_000];
    let (st, e) = upload(&s, token, "/api/v2/media", &huge, "huge.jpg", &[]).await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{e}");
    // No file at all; alt text over the limit.
    let (ct, body) = multipart(b"", "", "image/png", &[("description", "x")]);
    let (st, _, e) = s
        .raw(
            reqwest::Method::POST,
            "/api/v2/media",
            Some(token),
            Some(&ct),
            body,
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let long = "a".repeat(1501);
    let (st, e) = upload(
        &s,
        token,
        "/api/v2/media",
        &png(4, 4),
        "a.png",
        &[("description", &long)],
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    // Without a token or the scope: nothing.
    let (ct, body) = multipart(&png(4, 4), "a.png", "image/png", &[]);
    let (st, _, _) = s
        .raw(
            reqwest::Method::POST,
            "/api/v2/media",
            None,
            Some(&ct),
            body,
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    // Nothing was kept: no row, no file.
    let rows = s
        .kring
        .store
        .unattached_media_before(i64::MAX, 100)
        .await
        .unwrap();
    assert!(rows.is_empty(), "{rows:?}");
    let files = files_under(&s.kring.config.media.dir.clone().unwrap());
    assert!(files.is_empty(), "{files:?}");

    // Statuses refuse ids that are no uploads of theirs.
    let (st, _, _) = s
        .post(
            "/api/v1/statuses",
            Some(token),
            json!({"status": "x", "media_ids": ["123456"]}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let (st, _, _) = s
        .post(
            "/api/v1/statuses",
            Some(token),
            json!({"status": "x", "media_ids": ["not-a-number"]}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    // Files are only ever served by their own keys.
    for path in [
        "/media/../kring.db",
        "/media/ab/..%2F..%2Fkring.db",
        "/media/ab/ab.jpg",
    ] {
        let (st, _, _) = s.get(path, None).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn a_picture_with_alt_text_reaches_another_kring_and_is_served_through_it() {
    use fed_common::{Node, eventually, follow};
    let a = Node::start().await;
    let b = Node::start().await;
    let alice = a.register("alice").await;
    let bob = b.register("bob").await;
    follow(&b, &bob, &alice).await;

    let (ct, body) = multipart(
        &jpeg_with_gps(),
        "IMG_0002.jpg",
        "image/jpeg",
        &[
            ("description", "Two ducks on a frozen canal"),
            ("focus", "0.1,0.2"),
        ],
    );
    let res = a
        .http
        .post(a.url("/api/v2/media"))
        .bearer_auth(&alice.token)
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let m: Value = res.json().await.unwrap();
    let posted = a
        .post_status(
            &alice,
            json!({"status": "Look!", "visibility": "public", "media_ids": [m["id"]]}),
        )
        .await;
    let uri = posted["uri"].as_str().unwrap().to_string();

    // The Note carries the attachment with its alt text.
    let arrived = eventually("the post arrives on b", async || {
        b.in_home(&bob, &uri).await
    })
    .await;
    assert_valid("Status", &arrived);
    let att = &arrived["media_attachments"][0];
    assert_eq!(att["type"], "image", "{arrived}");
    assert_eq!(att["description"], "Two ducks on a frozen canal");
    assert_eq!(att["remote_url"], m["url"]);
    assert_eq!(att["blurhash"], m["blurhash"]);
    assert_eq!(att["meta"]["focus"], json!({"x": 0.1, "y": 0.2}));
    assert_eq!(att["meta"]["original"]["width"], 20);
    // Served by b, from b's own address: bob's app never contacts a.
    let url = att["url"].as_str().unwrap();
    assert!(url.starts_with(&b.url("/proxy/media/")), "{url}");
    assert_eq!(att["preview_url"], url);
    let (st, h, via_b) = fetch(url).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(h["content-type"], "image/jpeg");
    assert_eq!(h["x-content-type-options"], "nosniff");
    // Re-encoded by b as well (another server's pictures are cleaned like uploads).
    let shown = image::load_from_memory(&via_b).unwrap();
    assert_eq!((shown.width(), shown.height()), (20, 40));
    assert!(!contains(&via_b, b"Exif") && !contains(&via_b, CAMERA));
    let (st, _, again) = fetch(url).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(again, via_b);
    // The address carries a token (a hash of the URL the post's readers were given): the
    // attachment's id alone, or a wrong token, finds nothing.
    let (by_id, token) = url.rsplit_once('/').unwrap();
    assert_eq!(token.len(), 32, "{url}");
    for guess in [by_id.to_string(), format!("{by_id}/{}", "f".repeat(32))] {
        let (st, _, _) = fetch(&guess).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{guess}");
    }

    // An edit of the alt text travels too.
    let mid = m["id"].as_str().unwrap();
    a.ok_send(
        reqwest::Method::PUT,
        &format!("/api/v1/media/{mid}"),
        &alice.token,
        json!({"description": "Two ducks, one asleep"}),
    )
    .await;
    a.ok_send(
        reqwest::Method::PUT,
        &format!("/api/v1/statuses/{}", posted["id"].as_str().unwrap()),
        &alice.token,
        json!({"status": "Look! (edited)", "media_ids": [mid]}),
    )
    .await;
    let local_id = arrived["id"].as_str().unwrap().to_string();
    eventually("the new alt text arrives on b", async || {
        let s = b.status(&bob, &local_id).await?;
        (s["media_attachments"][0]["description"] == "Two ducks, one asleep").then_some(())
    })
    .await;
}

/// A multipart `update_credentials` body with file parts and text fields.
fn profile_body(files: &[(&str, &[u8])], fields: &[(&str, &str)]) -> (String, Vec<u8>) {
    let boundary = "KringProfileBoundary";
    let mut body = Vec::new();
    for (name, file) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}.bin\"\r\nContent-Type: image/png\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(file);
        body.extend_from_slice(b"\r\n");
    }
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn avatars_and_headers_are_cut_to_size_and_lose_their_metadata() {
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let media_dir = s.kring.config.media.dir.clone().unwrap();
    let update = async |files: &[(&str, &[u8])], fields: &[(&str, &str)]| {
        let (ct, body) = profile_body(files, fields);
        s.raw(
            reqwest::Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(&alice.token),
            Some(&ct),
            body,
        )
        .await
    };
    let (st, _, me) = update(
        &[("avatar", &jpeg_with_gps()), ("header", &png(3000, 600))],
        &[("display_name", "Alice")],
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{me}");
    assert_valid("CredentialAccount", &me);
    assert_eq!(me["display_name"], "Alice");
    let avatar = me["avatar"].as_str().unwrap();
    assert!(avatar.starts_with(&s.url("/media/")), "{avatar}");
    let (st, _, bytes) = fetch(avatar).await;
    assert_eq!(st, StatusCode::OK);
    assert!(!contains(&bytes, b"Exif") && !contains(&bytes, CAMERA));
    let img = image::load_from_memory(&bytes).unwrap();
    assert_eq!((img.width(), img.height()), (400, 400));
    let (st, h, bytes) = fetch(me["header"].as_str().unwrap()).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(h["content-type"], "image/png");
    let img = image::load_from_memory(&bytes).unwrap();
    assert_eq!((img.width(), img.height()), (1500, 300));
    assert_eq!(files_under(&media_dir).len(), 2);

    // A new avatar replaces the old one, file and all.
    let (st, _, me2) = update(&[("avatar", &png(50, 50))], &[]).await;
    assert_eq!(st, StatusCode::OK, "{me2}");
    assert_ne!(me2["avatar"], me["avatar"]);
    assert_eq!(me2["header"], me["header"]);
    assert_eq!(files_under(&media_dir).len(), 2);
    let (st, _, _) = fetch(avatar).await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Something else than a picture as an avatar: refused, naming the field; nothing changes.
    let (st, _, e) = update(
        &[("avatar", b"<html><script>alert(1)</script></html>")],
        &[],
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["error"].as_str().unwrap().contains("avatar"), "{e}");
    let again = s
        .ok("/api/v1/accounts/verify_credentials", Some(&alice.token))
        .await;
    assert_eq!(again["avatar"], me2["avatar"]);
    assert_eq!(files_under(&media_dir).len(), 2);
}

#[tokio::test]
async fn groups_take_an_avatar_and_a_header_from_their_admins() {
    let s = TestServer::start().await;
    let olga = s.register("olga").await;
    let milo = s.register("milo").await;
    let g = s
        .ok_post(
            "/api/v1/groups",
            Some(&olga.token),
            json!({"display_name": "Garden", "username": "garden"}),
        )
        .await;
    let gid = g["id"].as_str().unwrap().to_string();
    s.ok_post(
        &format!("/api/v1/groups/{gid}/join"),
        Some(&milo.token),
        json!({}),
    )
    .await;
    let update = async |token: &str, files: &[(&str, &[u8])], fields: &[(&str, &str)]| {
        let (ct, body) = profile_body(files, fields);
        s.raw(
            reqwest::Method::PATCH,
            &format!("/api/v1/groups/{gid}"),
            Some(token),
            Some(&ct),
            body,
        )
        .await
    };
    // A member who does not administer the group may not.
    let (st, _, e) = update(&milo.token, &[("avatar", &png(50, 50))], &[]).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{e}");
    let (st, _, v) = update(
        &olga.token,
        &[("avatar", &jpeg_with_gps()), ("header", &png(3000, 600))],
        &[("note", "Seeds and roses")],
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let avatar = v["avatar"].as_str().unwrap();
    assert!(avatar.starts_with(&s.url("/media/")), "{avatar}");
    let (st, _, bytes) = fetch(avatar).await;
    assert_eq!(st, StatusCode::OK);
    assert!(!contains(&bytes, b"Exif") && !contains(&bytes, CAMERA));
    let img = image::load_from_memory(&bytes).unwrap();
    assert_eq!((img.width(), img.height()), (400, 400));
    let (_, _, bytes) = fetch(v["header"].as_str().unwrap()).await;
    let img = image::load_from_memory(&bytes).unwrap();
    assert_eq!((img.width(), img.height()), (1500, 300));
    // The group's account (what Mastodon apps and other servers see) shows them too.
    let acct = s
        .ok(&format!("/api/v1/accounts/{gid}"), Some(&milo.token))
        .await;
    assert_eq!(acct["avatar"], v["avatar"], "{acct}");
    let actor = s
        .http
        .get(s.url("/users/garden"))
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(actor["icon"]["url"], v["avatar"], "{actor}");
    // Not a picture: refused naming the field, nothing changes.
    let (st, _, e) = update(&olga.token, &[("header", b"<html></html>")], &[]).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["error"].as_str().unwrap().contains("header"), "{e}");
    let again = s.ok(&format!("/api/v1/groups/{gid}"), None).await;
    assert_eq!(again["header"], v["header"]);
}

/// An S3-compatible server for the tests: `KRING_TEST_MOTO` (a URL of a running one, or the
/// command to start), else `moto_server` from PATH or the test venv. None (the S3 tests are
/// skipped, saying so) when there is none, except in CI (`CI=true`), where that fails.
struct Moto {
    child: Option<std::process::Child>,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

async fn moto() -> Option<Moto> {
    let given = std::env::var("KRING_TEST_MOTO")
        .ok()
        .filter(|v| !v.is_empty());
    if let Some(url) = given.as_deref().filter(|v| v.starts_with("http")) {
        return Some(Moto {
            child: None,
            endpoint: url.trim_end_matches('/').to_string(),
        });
    }
    let venv = std::env::var("HOME")
        .map(|h| format!("{h}/.cache/kring/target/test-env/venv/bin/moto_server"))
        .unwrap_or_default();
    let found = given
        .into_iter()
        .chain(["moto_server".to_string(), venv])
        .find(|c| {
            std::process::Command::new(c)
                .arg("--help")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        });
    let Some(cmd) = found else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI: no moto_server for the S3 media tests (install tests/clients/requirements-s3.txt)"
        );
        eprintln!(
            "SKIPPED: the S3 media test needs moto_server (pip install 'moto[server]') or KRING_TEST_MOTO"
        );
        return None;
    };
    let port = common::free_port();
    let child = std::process::Command::new(&cmd)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start moto_server");
    let moto = Moto {
        child: Some(child),
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..100 {
        if reqwest::get(&moto.endpoint).await.is_ok() {
            return Some(moto);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("moto_server did not answer on {}", moto.endpoint);
}

/// A fresh bucket on the S3 server, and the `[media.s3]` settings for it.
async fn s3_bucket(moto: &Moto) -> kring::config::S3Partial {
    let bucket = format!("kring-test-{:08x}", rand::random::<u32>());
    let res = reqwest::Client::new()
        .put(format!("{}/{bucket}", moto.endpoint))
        .send()
        .await
        .expect("create bucket");
    assert!(res.status().is_success(), "create bucket: {}", res.status());
    kring::config::S3Partial {
        bucket: Some(bucket.clone()),
        endpoint: Some(moto.endpoint.clone()),
        region: Some("us-east-1".into()),
        access_key_id: Some("testing".into()),
        secret_access_key: Some("testing-secret".into()),
    }
}

#[tokio::test]
async fn with_s3_uploads_go_to_the_bucket_are_served_from_it_and_leave_it_when_deleted() {
    let Some(moto) = moto().await else { return };
    {
        let s3 = s3_bucket(&moto).await;
        let s = TestServer::start_with(Partial {
            media: Some(MediaPartial {
                s3: Some(s3),
                ..Default::default()
            }),
            ..Partial::default()
        })
        .await;
        let alice = s.register("alice").await;
        let (st, m) = upload(
            &s,
            &alice.token,
            "/api/v2/media",
            &jpeg_with_gps(),
            "IMG_0002.jpg",
            &[("description", "In a bucket")],
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{m}");
        let url = m["url"].as_str().unwrap().to_string();
        let preview = m["preview_url"].as_str().unwrap().to_string();
        let key = url.rsplit_once("/media/").unwrap().1.to_string();
        let store = s.kring.media_storage().expect("media storage");
        let stored = store
            .get(&key)
            .await
            .unwrap()
            .expect("the object is in the bucket");
        assert!(stored.starts_with(&[0xff, 0xd8, 0xff]));
        assert!(!contains(&stored, b"Exif\0\0") && !contains(&stored, CAMERA));
        // Nothing is on the disk.
        let media_dir = s.kring.config.media.dir.clone().unwrap();
        assert!(files_under(&media_dir).is_empty());
        {
            // Served by Kring, read from the bucket, ranges as from the disk.
            assert!(url.starts_with(&s.url("/media/")), "{url}");
            let (st, h, served) = fetch(&url).await;
            assert_eq!(st, StatusCode::OK);
            assert_eq!(h["content-type"], "image/jpeg");
            assert_eq!(served, stored);
            let res = reqwest::Client::new()
                .get(&url)
                .header("Range", "bytes=0-9")
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
            assert_eq!(res.bytes().await.unwrap().to_vec(), served[..10].to_vec());
            assert_eq!(fetch(&preview).await.0, StatusCode::OK);
        }

        // Deleting the unused upload removes its object.
        let (st, _, _) = s
            .delete(
                &format!("/api/v1/media/{}", m["id"].as_str().unwrap()),
                Some(&alice.token),
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(store.get(&key).await.unwrap(), None);
        assert_eq!(fetch(&url).await.0, StatusCode::NOT_FOUND);
        drop(store);
        s.stop().await;
    }
}

/// `ffmpeg` for the video tests; None (skipped, saying so) without it, except in CI
/// (`CI=true`), where that fails: CI must check the real thing.
fn ffmpeg_here() -> bool {
    let found = ["ffmpeg", "ffprobe"].iter().all(|t| {
        std::process::Command::new(t)
            .arg("-version")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI: no ffmpeg/ffprobe for the video tests (apt-get install ffmpeg)"
        );
        eprintln!("SKIPPED: the video and audio tests need ffmpeg and ffprobe on PATH");
    }
    found
}

/// Text the test's video and audio carry in their tags: it must not survive.
const SECRET: &[u8] = b"SECRET-KRING-TAG";

/// A small file made by ffmpeg from its test sources (`args` choose the streams and codecs),
/// tagged with `SECRET` in its title and comment (and, for video, a stream's handler name).
fn made_by_ffmpeg(name: &str, args: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(name);
    let secret = std::str::from_utf8(SECRET).unwrap();
    let st = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error"])
        .args(args)
        .args(["-metadata", &format!("title={secret}")])
        .args(["-metadata", &format!("comment={secret} near 52.37N 4.89E")])
        .arg(&out)
        .status()
        .expect("ffmpeg");
    assert!(st.success(), "ffmpeg could not make {name}");
    let mut bytes = std::fs::read(&out).unwrap();
    if name.ends_with(".avif") {
        // ffmpeg writes no tags into an AVIF: a box of the text after the picture instead.
        bytes.extend_from_slice(&(8 + SECRET.len() as u32).to_be_bytes());
        bytes.extend_from_slice(b"free");
        bytes.extend_from_slice(SECRET);
    }
    assert!(
        contains(&bytes, SECRET),
        "the fixture {name} carries its tag"
    );
    bytes
}

/// What ffprobe says of some bytes (its JSON).
fn ffprobe(bytes: &[u8]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("probe");
    std::fs::write(&f, bytes).unwrap();
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
        ])
        .arg(&f)
        .output()
        .expect("ffprobe");
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn video_and_audio_lose_their_tags_get_a_thumbnail_and_a_duration_limit() {
    if !ffmpeg_here() {
        return;
    }
    let video = made_by_ffmpeg(
        "clip.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x120:rate=10",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440",
            "-t",
            "2",
            "-c:v",
            "mpeg4",
            "-c:a",
            "aac",
            "-metadata:s:v:0",
            "handler_name=SECRET-KRING-TAG",
        ],
    );
    let audio = made_by_ffmpeg(
        "song.ogg",
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440",
            "-t",
            "1",
            "-c:a",
            "libvorbis",
        ],
    );
    let mp3 = made_by_ffmpeg(
        "song.mp3",
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440",
            "-t",
            "1",
            "-c:a",
            "libmp3lame",
        ],
    );
    let s = TestServer::start().await;
    let alice = s.register("alice").await;
    let media_dir = s.kring.config.media.dir.clone().unwrap();

    // The video: its tags gone from the served bytes, still two seconds of picture and sound.
    let (st, m) = upload(
        &s,
        &alice.token,
        "/api/v2/media",
        &video,
        "clip.mp4",
        &[("description", "A test pattern")],
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{m}");
    assert_valid("MediaAttachment", &m);
    assert_eq!(m["type"], "video");
    let meta = &m["meta"];
    assert_eq!(meta["length"], "0:00:02.00", "{meta}");
    assert!(
        (meta["duration"].as_f64().unwrap() - 2.0).abs() < 0.1,
        "{meta}"
    );
    assert_eq!(meta["fps"], 10, "{meta}");
    assert_eq!(
        (meta["width"].as_u64(), meta["height"].as_u64()),
        (Some(160), Some(120))
    );
    assert_eq!(meta["size"], "160x120");
    assert_eq!(meta["original"]["frame_rate"], "10/1", "{meta}");
    assert!(meta["original"]["bitrate"].as_u64().unwrap() > 0, "{meta}");
    assert_eq!(meta["small"]["width"], 160, "{meta}");
    assert!(m["blurhash"].as_str().is_some_and(|b| b.len() >= 6), "{m}");
    let (st, h, served) = fetch(m["url"].as_str().unwrap()).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(h["content-type"], "video/mp4");
    assert!(!contains(&served, SECRET), "the served video keeps its tag");
    assert!(!contains(&served, b"52.37N"));
    let probe = ffprobe(&served);
    assert_eq!(probe["streams"].as_array().unwrap().len(), 2, "{probe}");
    assert!(probe["format"]["tags"]["title"].is_null(), "{probe}");
    // The thumbnail: a frame of it, as JPEG.
    let (st, h, thumb) = fetch(m["preview_url"].as_str().unwrap()).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(h["content-type"], "image/jpeg");
    let frame = image::load_from_memory(&thumb).unwrap();
    assert_eq!((frame.width(), frame.height()), (160, 120));

    // Audio: Ogg Vorbis (its comments) and MP3 (its ID3 tags); no picture for them.
    for (bytes, name, mime) in [
        (&audio, "song.ogg", "audio/ogg"),
        (&mp3, "song.mp3", "audio/mpeg"),
    ] {
        let (st, a) = upload(&s, &alice.token, "/api/v2/media", bytes, name, &[]).await;
        assert_eq!(st, StatusCode::OK, "{a}");
        assert_valid("MediaAttachment", &a);
        assert_eq!(a["type"], "audio");
        assert!(a["preview_url"].is_null(), "{a}");
        // One second (an MP3's frames round it up a little).
        assert!(
            a["meta"]["length"]
                .as_str()
                .unwrap()
                .starts_with("0:00:01."),
            "{a}"
        );
        let (_, h, served) = fetch(a["url"].as_str().unwrap()).await;
        assert_eq!(h["content-type"], mime);
        assert!(!contains(&served, SECRET), "{name} keeps its tag");
        assert!(ffprobe(&served)["streams"][0]["codec_type"] == "audio");
    }
    // An AVIF picture (AV1, as phones and browsers write them): decoded by ffmpeg, stored as
    // a JPEG with a thumbnail, without its tag.
    let avif = made_by_ffmpeg(
        "pattern.avif",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=64x48",
            "-frames:v",
            "1",
            "-c:v",
            "libaom-av1",
            "-still-picture",
            "1",
            "-cpu-used",
            "8",
        ],
    );
    let (st, p) = upload(
        &s,
        &alice.token,
        "/api/v2/media",
        &avif,
        "pattern.avif",
        &[],
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{p}");
    assert_valid("MediaAttachment", &p);
    assert_eq!(p["type"], "image");
    assert_eq!(p["meta"]["original"]["width"], 64, "{p}");
    assert_eq!(p["meta"]["original"]["height"], 48, "{p}");
    let (_, h, served) = fetch(p["url"].as_str().unwrap()).await;
    assert_eq!(h["content-type"], "image/jpeg");
    assert!(!contains(&served, SECRET));
    let (st, h, _) = fetch(p["preview_url"].as_str().unwrap()).await;
    assert_eq!(
        (st, &h["content-type"]),
        (StatusCode::OK, &"image/jpeg".parse().unwrap())
    );
    let types = s.ok("/api/v2/instance", None).await;
    assert!(
        types["configuration"]["media_attachments"]["supported_mime_types"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "image/avif")
    );

    // Nothing stored keeps a tag.
    let stored = files_under(&media_dir);
    assert_eq!(stored.len(), 6, "{stored:?}");
    for f in &stored {
        assert!(!contains(&std::fs::read(f).unwrap(), SECRET), "{f:?}");
    }
    // A post with the video, read back.
    let status = s
        .post_status(&alice, json!({"status": "", "media_ids": [m["id"]]}))
        .await;
    assert_eq!(status["media_attachments"][0]["meta"]["fps"], 10);

    // Longer than the limit: 422 with Mastodon's error, nothing left behind.
    let short = TestServer::start_with(Partial {
        media: Some(MediaPartial {
            video_duration_limit: Some(1),
            ..Default::default()
        }),
        ..Partial::default()
    })
    .await;
    let bob = short.register("bob").await;
    let (st, e) = upload(&short, &bob.token, "/api/v2/media", &video, "clip.mp4", &[]).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(
        e["error"],
        "Validation failed: Duration is too long (maximum is 1 seconds)"
    );
    // A "video" ffmpeg cannot read: 422.
    let mut broken = b"\0\0\0\x18ftypisom\0\0\0\0isom".to_vec();
    broken.extend_from_slice(&[0x42; 300]);
    let (st, e) = upload(
        &short,
        &bob.token,
        "/api/v2/media",
        &broken,
        "broken.mp4",
        &[],
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(files_under(&short.kring.config.media.dir.clone().unwrap()).is_empty());
}

#[tokio::test]
async fn without_ffmpeg_video_is_kept_as_sent_with_a_placeholder_thumbnail() {
    // The tools pointed at programs that do not exist (as on a server without ffmpeg).
    let s = TestServer::start_with(Partial {
        media: Some(MediaPartial {
            ffmpeg_path: Some("/nonexistent/kring-test/ffmpeg".into()),
            ffprobe_path: Some("/nonexistent/kring-test/ffprobe".into()),
            ..Default::default()
        }),
        ..Partial::default()
    })
    .await;
    let alice = s.register("alice").await;
    // An MP4's first box and bytes that could be anything (not read without ffmpeg).
    let mut video = b"\0\0\0\x18ftypisom\0\0\0\0isommp41".to_vec();
    video.extend_from_slice(&[0x17; 500]);
    let (st, m) = upload(&s, &alice.token, "/api/v2/media", &video, "clip.mp4", &[]).await;
    assert_eq!(st, StatusCode::OK, "{m}");
    assert_valid("MediaAttachment", &m);
    assert_eq!(m["type"], "video");
    let (_, h, served) = fetch(m["url"].as_str().unwrap()).await;
    assert_eq!(h["content-type"], "video/mp4");
    assert_eq!(served, video, "kept as sent");
    let (st, h, thumb) = fetch(m["preview_url"].as_str().unwrap()).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(h["content-type"], "image/jpeg");
    let placeholder = image::load_from_memory(&thumb).unwrap();
    assert_eq!((placeholder.width(), placeholder.height()), (640, 360));
    assert_eq!(m["meta"]["small"]["width"], 640);
    assert!(m["blurhash"].is_string(), "{m}");
    // An AVIF picture cannot be read without ffmpeg: refused as an unsupported type.
    let mut avif = b"\0\0\0\x20ftypavif\0\0\0\0avifmif1miafMA1A".to_vec();
    avif.extend_from_slice(&[0x17; 200]);
    let (st, e) = upload(&s, &alice.token, "/api/v2/media", &avif, "a.avif", &[]).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"], "Validation failed: File type is not supported");
    // Audio too: kept, an MP3 without its ID3 tag, no picture.
    let mut mp3 = b"ID3\x04\x00\x00\x00\x00\x00\x10".to_vec();
    mp3.extend_from_slice(SECRET);
    mp3.extend_from_slice(&[0xff, 0xfb, 0x90, 0x64, 0, 0, 0, 0]);
    let (st, a) = upload(&s, &alice.token, "/api/v2/media", &mp3, "a.mp3", &[]).await;
    assert_eq!(st, StatusCode::OK, "{a}");
    assert_eq!(a["type"], "audio");
    assert!(a["preview_url"].is_null());
    let (_, _, served) = fetch(a["url"].as_str().unwrap()).await;
    assert!(!contains(&served, SECRET));
}
