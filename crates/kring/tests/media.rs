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
    let moto = moto().await;
    for w in storages(moto.as_ref()).await {
        photo_case(&w).await;
    }
}

async fn photo_case(w: &Where<'_>) {
    let s = w.server(MediaPartial::default()).await;
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
    let stored = w.stored(&s).await;
    assert_eq!(stored.len(), 2, "{}", w.name());
    for (f, b) in &stored {
        assert!(!contains(b, b"Exif") && !contains(b, CAMERA), "{f}");
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
    assert_eq!(w.stored(&s).await.len(), 2);
    let (st, _, _) = fetch(&url).await;
    assert_eq!(st, StatusCode::OK);
}

#[tokio::test]
async fn bad_files_are_refused_and_leave_nothing_behind() {
    let moto = moto().await;
    for w in storages(moto.as_ref()).await {
        bad_files_case(&w).await;
    }
}

async fn bad_files_case(w: &Where<'_>) {
    let s = w
        .server(MediaPartial {
            image_size_limit: Some(200_000),
            video_size_limit: Some(300_000),
            ..Default::default()
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
    let files = w.stored(&s).await;
    assert!(files.is_empty(), "{}: {} files left", w.name(), files.len());

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
    let moto = moto().await;
    for w in storages(moto.as_ref()).await {
        two_servers_case(&w).await;
    }
}

async fn two_servers_case(w: &Where<'_>) {
    use fed_common::{Node, eventually, follow};
    let mut a = Node::new();
    a.media = Some(w.media(MediaPartial::default()));
    a.start_in_process().await;
    let mut b = Node::new();
    b.media = Some(w.media(MediaPartial::default()));
    b.start_in_process().await;
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
    let moto = moto().await;
    for w in storages(moto.as_ref()).await {
        avatars_case(&w).await;
    }
}

async fn avatars_case(w: &Where<'_>) {
    let s = w.server(MediaPartial::default()).await;
    let alice = s.register("alice").await;
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
    assert_eq!(w.stored(&s).await.len(), 2);

    // A new avatar replaces the old one, file and all.
    let (st, _, me2) = update(&[("avatar", &png(50, 50))], &[]).await;
    assert_eq!(st, StatusCode::OK, "{me2}");
    assert_ne!(me2["avatar"], me["avatar"]);
    assert_eq!(me2["header"], me["header"]);
    assert_eq!(w.stored(&s).await.len(), 2);
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
    assert_eq!(w.stored(&s).await.len(), 2);

    // Mastodon 4.2's DELETE /api/v1/profile/avatar and /header: the default pictures again,
    // the files gone.
    for (path, field) in [
        ("/api/v1/profile/avatar", "avatar"),
        ("/api/v1/profile/header", "header"),
    ] {
        let (st, _, me3) = s
            .raw(
                reqwest::Method::DELETE,
                path,
                Some(&alice.token),
                None,
                Vec::new(),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{me3}");
        assert_valid("CredentialAccount", &me3);
        let url = me3[field].as_str().unwrap();
        assert!(!url.contains("/media/"), "{field}: {url}");
        let (st, _, _) = fetch(me2[field].as_str().unwrap()).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{field}");
    }
    assert!(w.stored(&s).await.is_empty());
}

#[tokio::test]
async fn groups_take_an_avatar_and_a_header_from_their_admins() {
    let moto = moto().await;
    for w in storages(moto.as_ref()).await {
        groups_case(&w).await;
    }
}

async fn groups_case(w: &Where<'_>) {
    let s = w.server(MediaPartial::default()).await;
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

/// Where a test's media files go: the folder under the data directory, or a fresh bucket on
/// the S3 server. Every media test runs on both (on the folder only, saying so, when there is
/// no moto outside CI).
struct Where<'a> {
    s3: Option<(&'a Moto, kring::config::S3Partial)>,
}

async fn storages(moto: Option<&Moto>) -> Vec<Where<'_>> {
    let mut out = vec![Where { s3: None }];
    if let Some(m) = moto {
        out.push(Where {
            s3: Some((m, s3_bucket(m).await)),
        });
    }
    out
}

impl Where<'_> {
    fn name(&self) -> &'static str {
        if self.s3.is_some() { "s3" } else { "folder" }
    }

    /// A `[media]` table with this storage.
    fn media(&self, m: MediaPartial) -> MediaPartial {
        MediaPartial {
            s3: self.s3.as_ref().map(|(_, c)| c.clone()),
            ..m
        }
    }

    async fn server(&self, m: MediaPartial) -> TestServer {
        TestServer::start_with(Partial {
            media: Some(self.media(m)),
            ..Partial::default()
        })
        .await
    }

    /// Every file in the storage (name, bytes); with S3, also that the folder is empty.
    async fn stored(&self, s: &TestServer) -> Vec<(String, Vec<u8>)> {
        let dir = s.kring.config.media.dir.clone().unwrap();
        let on_disk: Vec<(String, Vec<u8>)> = files_under(&dir)
            .into_iter()
            .map(|f| (f.display().to_string(), std::fs::read(&f).unwrap()))
            .collect();
        let Some((moto, c)) = &self.s3 else {
            return on_disk;
        };
        assert!(on_disk.is_empty(), "with S3, files on the disk");
        let store = s.kring.media_storage().unwrap();
        let mut out = Vec::new();
        for key in bucket_keys(moto, c.bucket.as_deref().unwrap()).await {
            let bytes = store.get(&key).await.unwrap().unwrap_or_default();
            out.push((key, bytes));
        }
        out
    }
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
        public_url: None,
    }
}

/// Issue 13: with `[media.s3] public_url` (here moto's own address of the bucket, which serves
/// objects at `endpoint/bucket/key`), apps are given the bucket's address for attachments —
/// the status's and the upload's `url` and `preview_url` — and the files are read from
/// there; the web page still shows them from this server (its `img-src 'self'`), and the
/// files stay served by Kring at `/media/<key>` too.
#[tokio::test]
async fn with_s3_public_url_apps_get_the_buckets_own_address() {
    let Some(moto) = moto().await else { return };
    let mut s3 = s3_bucket(&moto).await;
    let public = format!("{}/{}", moto.endpoint, s3.bucket.as_deref().unwrap());
    s3.public_url = Some(format!("{public}/"));
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
        "IMG_0004.jpg",
        &[("description", "From the bucket")],
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{m}");
    let url = m["url"].as_str().unwrap().to_string();
    let preview = m["preview_url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&format!("{public}/")), "{url}");
    assert!(preview.starts_with(&format!("{public}/")), "{preview}");
    let key = url.strip_prefix(&format!("{public}/")).unwrap().to_string();
    let stored = s
        .kring
        .media_storage()
        .unwrap()
        .get(&key)
        .await
        .unwrap()
        .expect("the object");
    // Read at that address from the bucket itself. (A real deployment makes the bucket
    // public by its policy; moto refuses anonymous reads of objects and cannot be given
    // such a policy, but does not check signatures: the reads carry a credential.)
    let from_bucket = |u: String| async move {
        let res = reqwest::Client::new()
            .get(&u)
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, \
                 SignedHeaders=host, Signature=00",
            )
            .send()
            .await
            .unwrap();
        (res.status(), res.bytes().await.unwrap().to_vec())
    };
    let (st, bytes) = from_bucket(url.clone()).await;
    assert_eq!(st, StatusCode::OK, "{url}");
    assert_eq!(bytes, stored);
    assert!(!contains(&bytes, CAMERA));
    let (st, thumb) = from_bucket(preview.clone()).await;
    assert_eq!(st, StatusCode::OK);
    assert!(thumb.starts_with(&[0xff, 0xd8, 0xff]));
    // Kring still serves the file itself.
    let (st, _, via_kring) = fetch(&s.url(&format!("/media/{key}"))).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(via_kring, stored);

    let posted = s
        .ok_post(
            "/api/v1/statuses",
            Some(&alice.token),
            json!({"status": "Bucket", "visibility": "public", "media_ids": [m["id"]]}),
        )
        .await;
    assert_eq!(posted["media_attachments"][0]["url"], url.as_str());
    let id = posted["id"].as_str().unwrap();
    let shown = s.ok(&format!("/api/v1/statuses/{id}"), None).await;
    assert_eq!(
        shown["media_attachments"][0]["preview_url"],
        preview.as_str()
    );
    // The post's page: paths on this server, not the bucket.
    let page = reqwest::get(shown["url"].as_str().unwrap())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("/media/{key}")), "{page}");
    assert!(!page.contains(&public), "the page names the bucket");
    s.stop().await;
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

/// Text an MP3's ID3 tag carries (the artist): it must not come through another server.
const ARTIST: &[u8] = b"KringTestArtist-Private";

/// A short MP3: an ID3v2.3 tag naming `ARTIST`, then MPEG frames of silence.
fn mp3_with_tag() -> Vec<u8> {
    let mut frame = b"TPE1".to_vec();
    frame.extend_from_slice(&((ARTIST.len() + 1) as u32).to_be_bytes());
    frame.extend_from_slice(&[0, 0, 0]);
    frame.extend_from_slice(ARTIST);
    let size = frame.len() as u32;
    let mut out = b"ID3\x03\x00\x00".to_vec();
    for shift in [21, 14, 7, 0] {
        out.push(((size >> shift) & 0x7f) as u8);
    }
    out.extend_from_slice(&frame);
    for _ in 0..20 {
        // MPEG-1 layer III, 128 kbit/s, 44.1 kHz: 417 bytes a frame.
        out.extend_from_slice(&[0xff, 0xfb, 0x90, 0x64]);
        out.extend_from_slice(&[0u8; 413]);
    }
    out
}

/// A short MP4: made by `ffmpeg` when there is one, else an `ftyp` box and some data (which
/// Kring takes as MP4 all the same: video is kept as sent).
fn mp4() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("clip.mp4");
    let made = std::process::Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=c=red:s=32x32:d=0.2",
        ])
        .args(["-pix_fmt", "yuv420p", "-movflags", "+faststart", "-y"])
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if made && let Ok(b) = std::fs::read(&out) {
        return b;
    }
    let mut b = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2".to_vec();
    b.extend_from_slice(b"\0\0\x10\x08mdat");
    b.extend((0..4096u32).map(|i| (i * 7 % 251) as u8));
    b
}

/// The keys of every object in a bucket on the S3 server (ListObjectsV2, read plainly).
async fn bucket_keys(moto: &Moto, bucket: &str) -> Vec<String> {
    let xml = reqwest::get(format!("{}/{bucket}?list-type=2", moto.endpoint))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    xml.split("<Key>")
        .skip(1)
        .filter_map(|s| s.split_once("</Key>").map(|(k, _)| k.to_string()))
        .collect()
}

/// Run `kring media prune ARGS` against a node's database and media storage.
async fn prune(node: &fed_common::Node, config: &std::path::Path, args: &[&str]) -> String {
    let out = node
        .console()
        .arg("--config")
        .arg(config)
        .args(["media", "prune"])
        .args(args)
        .output()
        .await
        .expect("run kring media prune");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "kring media prune {args:?}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// Issue 13: another server's picture, audio and video, shown through this server. Each is
/// fetched once with the guarded client, processed as uploads are (EXIF and ID3 gone), typed
/// from its bytes, and kept in the media storage (the S3 bucket when moto is here, else the
/// folder) under a key recorded in the database, so a second process of the server on the same
/// database serves the copies although the remote server is gone meanwhile; video and audio
/// with single byte ranges (206). `remote_cache = false` passes files through and keeps
/// nothing. `kring media prune` removes copies beyond a budget, least recently used first,
/// and by age; the hourly sweep by the configuration.
#[tokio::test]
async fn remote_media_are_cached_in_the_media_storage_and_shared_by_processes() {
    remote_media_cached(None).await;
    if let Some(m) = moto().await {
        remote_media_cached(Some(&m)).await;
    }
}

async fn remote_media_cached(moto: Option<&Moto>) {
    use fed_common::{Node, eventually, follow};
    let s3 = match moto {
        Some(m) => Some(s3_bucket(m).await),
        None => None,
    };
    let bucket = s3.as_ref().and_then(|c| c.bucket.clone());
    let mut a = Node::start().await;
    let mut b = Node::new();
    b.media = Some(MediaPartial {
        s3: s3.clone(),
        ..Default::default()
    });
    b.start_in_process().await;
    let alice = a.register("alice").await;
    let bob = b.register("bob").await;
    follow(&b, &bob, &alice).await;

    let mut ids = Vec::new();
    let video = mp4();
    for (file, name, claimed, alt) in [
        (jpeg_with_gps(), "IMG_0003.jpg", "image/jpeg", "A duck"),
        (mp3_with_tag(), "quack.mp3", "audio/mpeg", "A duck's quack"),
        (video.clone(), "clip.mp4", "video/mp4", "A red square"),
    ] {
        let (ct, body) = multipart(&file, name, claimed, &[("description", alt)]);
        let res = a
            .http
            .post(a.url("/api/v2/media"))
            .bearer_auth(&alice.token)
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{name}: {}", res.status());
        let m: Value = res.json().await.unwrap();
        ids.push(m["id"].clone());
    }
    let posted = a
        .post_status(
            &alice,
            json!({"status": "Ducks, loud", "visibility": "public", "media_ids": ids}),
        )
        .await;
    let uri = posted["uri"].as_str().unwrap().to_string();
    let arrived = eventually("the post arrives on b", async || {
        b.in_home(&bob, &uri).await
    })
    .await;
    let atts = arrived["media_attachments"].as_array().unwrap().clone();
    let kinds: Vec<&str> = atts.iter().map(|m| m["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["image", "audio", "video"], "{arrived}");
    let paths: Vec<String> = atts
        .iter()
        .map(|m| {
            let url = m["url"].as_str().unwrap();
            assert!(url.starts_with(&b.url("/proxy/media/")), "{url}");
            url.strip_prefix(&b.base).unwrap().to_string()
        })
        .collect();

    // Served by b: typed from the bytes, cleaned like uploads.
    let mut served = Vec::new();
    for (path, mime) in paths.iter().zip(["image/jpeg", "audio/mpeg", "video/mp4"]) {
        let (st, h, bytes) = fetch(&b.url(path)).await;
        assert_eq!(st, StatusCode::OK, "{path}");
        assert_eq!(h["content-type"], mime, "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert!(!contains(&bytes, b"Exif") && !contains(&bytes, CAMERA));
        assert!(
            !contains(&bytes, ARTIST),
            "{path}: the ID3 tag came through"
        );
        served.push(bytes);
    }
    assert!(
        served[1].starts_with(&[0xff, 0xfb]),
        "the MP3 starts at its frames"
    );
    assert!(contains(&served[2][..16], b"ftyp"));
    let (copies, total_bytes) = b.kring().remote_media_totals().await.unwrap();
    assert_eq!(copies, 3);
    assert_eq!(
        total_bytes as usize,
        served.iter().map(Vec::len).sum::<usize>(),
        "the copies are recorded with their sizes"
    );
    // Where the copies are: the bucket (and nothing on the disk), or the folder.
    let media_dir = b.data_dir().join("media");
    match (moto, &bucket) {
        (Some(m), Some(bucket)) => {
            assert_eq!(bucket_keys(m, bucket).await.len(), 3);
            assert!(files_under(&media_dir).is_empty());
        }
        _ => assert_eq!(files_under(&media_dir).len(), 3),
    }

    // Another process (web only) with `remote_cache = false`: it passes the files through,
    // keeping none.
    let through = b
        .another_process_with(|p| {
            p.role = Some(kring::config::Role::Web);
            if let Some(m) = &mut p.media {
                m.remote_cache = Some(false);
            }
        })
        .await;
    let (st, _, bytes) = fetch(&format!("{}{}", through.base_url(), paths[0])).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(bytes, served[0]);
    assert_eq!(b.kring().remote_media_totals().await.unwrap().0, 3);

    // The remote server goes away; a second process of b serves the first's copies.
    a.stop().await;
    let second = b.another_process().await;
    let base2 = second.base_url();
    for (path, bytes) in paths.iter().zip(&served) {
        let (st, _, again) = fetch(&format!("{base2}{path}")).await;
        assert_eq!(st, StatusCode::OK, "{path} from the shared cache");
        assert_eq!(&again, bytes);
    }
    // Single byte ranges of video and audio, for seeking.
    for (path, bytes) in paths.iter().zip(&served).skip(1) {
        let res = reqwest::Client::new()
            .get(format!("{base2}{path}"))
            .header("Range", "bytes=4-11")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(
            res.headers()["content-range"],
            format!("bytes 4-11/{}", bytes.len()).as_str()
        );
        assert_eq!(res.headers()["accept-ranges"], "bytes");
        assert_eq!(res.bytes().await.unwrap().to_vec(), bytes[4..12].to_vec());
    }
    // The pass-through process has nothing to give now.
    let (st, _, _) = fetch(&format!("{}{}", through.base_url(), paths[0])).await;
    assert_eq!(st, StatusCode::BAD_GATEWAY);

    // `kring media prune`: a budget one byte short removes the least recently used (the
    // picture, fetched first); then an age of 0 days removes the rest.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kring.toml");
    let mut toml = String::from("[media]\n");
    if let Some(c) = &s3 {
        toml.push_str(&format!(
            "[media.s3]\nbucket = {:?}\nendpoint = {:?}\naccess_key_id = \"testing\"\nsecret_access_key = \"testing-secret\"\n",
            c.bucket.as_deref().unwrap(),
            c.endpoint.as_deref().unwrap()
        ));
    }
    std::fs::write(&config, toml).unwrap();
    let out = prune(&b, &config, &["--budget", &(total_bytes - 1).to_string()]).await;
    assert_eq!(out.matches("removed ").count(), 1, "{out}");
    assert!(out.contains("image/jpeg"), "{out}");
    assert!(out.contains("Removed 1 cached remote files"), "{out}");
    assert_eq!(b.kring().remote_media_totals().await.unwrap().0, 2);
    let (st, _, _) = fetch(&format!("{base2}{}", paths[0])).await;
    assert_eq!(st, StatusCode::BAD_GATEWAY, "the picture's copy is gone");
    through.stop().await;
    let out = prune(&b, &config, &["--older-than", "0"]).await;
    assert_eq!(out.matches("removed ").count(), 2, "{out}");
    assert!(out.contains("0 left (0 bytes)"), "{out}");
    match (moto, &bucket) {
        (Some(m), Some(bucket)) => assert!(bucket_keys(m, bucket).await.is_empty()),
        _ => assert!(files_under(&media_dir).is_empty()),
    }
    for path in &paths {
        let (st, _, _) = fetch(&format!("{base2}{path}")).await;
        assert_eq!(st, StatusCode::BAD_GATEWAY, "{path}");
    }

    // The hourly sweep (the `media.sweep` job's work) prunes by the configuration: within the
    // defaults nothing goes; with a budget of 100 bytes none of them stays.
    a.start_in_process().await;
    for path in &paths {
        assert_eq!(fetch(&b.url(path)).await.0, StatusCode::OK, "{path}");
    }
    assert_eq!(b.kring().remote_media_totals().await.unwrap().0, 3);
    b.kring().media_sweep().await.unwrap();
    assert_eq!(b.kring().remote_media_totals().await.unwrap().0, 3);
    let small = b
        .another_process_with(|p| {
            p.role = Some(kring::config::Role::Web);
            if let Some(m) = &mut p.media {
                m.remote_cache_budget = Some(100);
            }
        })
        .await;
    small.kring.media_sweep().await.unwrap();
    assert_eq!(b.kring().remote_media_totals().await.unwrap(), (0, 0));
    small.stop().await;
    second.stop().await;
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
    let moto = moto().await;
    for w in storages(moto.as_ref()).await {
        video_case(&w).await;
    }
}

async fn video_case(w: &Where<'_>) {
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
    let s = w.server(MediaPartial::default()).await;
    let alice = s.register("alice").await;

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
    let stored = w.stored(&s).await;
    let names: Vec<&String> = stored.iter().map(|(n, _)| n).collect();
    assert_eq!(stored.len(), 6, "{}: {names:?}", w.name());
    for (name, bytes) in &stored {
        assert!(!contains(bytes, SECRET), "{}: {name}", w.name());
    }
    // A post with the video, read back.
    let status = s
        .post_status(&alice, json!({"status": "", "media_ids": [m["id"]]}))
        .await;
    assert_eq!(status["media_attachments"][0]["meta"]["fps"], 10);

    // Longer than the limit: 422 with Mastodon's error, nothing left behind (on S3 the
    // bucket is shared with the first server: nothing more in it).
    let short = w
        .server(MediaPartial {
            video_duration_limit: Some(1),
            ..Default::default()
        })
        .await;
    let bob = short.register("bob").await;
    let kept = w.stored(&short).await.len();
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
    assert_eq!(w.stored(&short).await.len(), kept, "{}", w.name());
}

#[tokio::test]
async fn without_ffmpeg_video_is_kept_as_sent_with_a_placeholder_thumbnail() {
    let moto = moto().await;
    for w in storages(moto.as_ref()).await {
        without_ffmpeg_case(&w).await;
    }
}

async fn without_ffmpeg_case(w: &Where<'_>) {
    // The tools pointed at programs that do not exist (as on a server without ffmpeg).
    let s = w
        .server(MediaPartial {
            ffmpeg_path: Some("/nonexistent/kring-test/ffmpeg".into()),
            ffprobe_path: Some("/nonexistent/kring-test/ffprobe".into()),
            ..Default::default()
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
