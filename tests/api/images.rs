//! Custom jigsaw backgrounds through the admin API: validation of uploads, the 15-image
//! activation threshold, and per-image statistics.

use std::io::Cursor;

use reqwest::StatusCode;
use serde_json::{Value, json};
use stile::challenge::Secret;
use stile::model::VerificationType;

use crate::helpers::{TestApp, picture_answer, spawn};

/// A 300×200 picture, different for each `seed`, encoded as `format`.
fn picture(seed: u32, width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
    // Flat blocks of colour: compresses to a few KB in every format.
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        let v = ((x / 30 + y / 25 + seed) * 41) % 256;
        image::Rgb([
            v as u8,
            ((x / 50 + seed) * 29 % 200) as u8,
            ((y / 40) * 50 % 256) as u8,
        ])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// Random noise: incompressible, so its PNG is far over 50 KB.
fn noise_png() -> Vec<u8> {
    let mut x: u32 = 12345;
    let img = image::RgbImage::from_fn(300, 200, |_, _| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        image::Rgb([x as u8, (x >> 8) as u8, (x >> 16) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

async fn upload(app: &TestApp, token: &str, scene: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
    let resp = app
        .http
        .post(format!("{}/admin/v1/scenes/{scene}/images", app.base))
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn uploads_are_validated_with_clear_codes() {
    let app = spawn().await;
    let scene = app.scene(VerificationType::Jigsaw);
    let token = app.admin_token.clone();
    for (format, name) in [
        (image::ImageFormat::Png, "png"),
        (image::ImageFormat::Jpeg, "jpeg"),
        (image::ImageFormat::WebP, "webp"),
    ] {
        let bytes = picture(1, 300, 200, format);
        assert!(
            bytes.len() <= 51_200,
            "{name} sample is {} bytes",
            bytes.len()
        );
        let (s, body) = upload(&app, &token, &scene, bytes).await;
        assert_eq!(s, StatusCode::CREATED, "{name}: {body}");
        assert_eq!(body["format"], name);
    }
    let png = picture(2, 300, 200, image::ImageFormat::Png);
    let cases: Vec<(Vec<u8>, StatusCode, &str)> = vec![
        (
            picture(3, 301, 200, image::ImageFormat::Png),
            StatusCode::BAD_REQUEST,
            "ImageSizeInvalid",
        ),
        (
            picture(3, 300, 150, image::ImageFormat::Jpeg),
            StatusCode::BAD_REQUEST,
            "ImageSizeInvalid",
        ),
        (noise_png(), StatusCode::PAYLOAD_TOO_LARGE, "ImageTooLarge"),
        (
            // a GIF header: a real image format, not an accepted one
            [
                b"GIF89a".as_slice(),
                &[0x2c, 0x01, 0xc8, 0x00, 0, 0, 0],
                &[0; 64],
            ]
            .concat(),
            StatusCode::BAD_REQUEST,
            "ImageFormatUnsupported",
        ),
        (
            b"not an image at all".to_vec(),
            StatusCode::BAD_REQUEST,
            "ImageFormatUnsupported",
        ),
        (
            png[..png.len() / 2].to_vec(),
            StatusCode::BAD_REQUEST,
            "ImageUndecodable",
        ),
        (
            Vec::new(),
            StatusCode::BAD_REQUEST,
            "ImageFormatUnsupported",
        ),
    ];
    for (bytes, status, code) in cases {
        let (s, body) = upload(&app, &token, &scene, bytes).await;
        assert_eq!((s, body["code"].as_str()), (status, Some(code)), "{body}");
        assert!(!body["message"].as_str().unwrap_or("").is_empty());
    }
    let (_, pool) = app
        .admin("GET", &format!("/admin/v1/scenes/{scene}/images"), None)
        .await;
    assert_eq!(pool["count"], 3, "rejected uploads change nothing: {pool}");

    // A viewer may look but not upload; an unknown scene is a 404.
    let (_, viewer) = app
        .admin(
            "POST",
            "/admin/v1/admin-tokens",
            Some(json!({"role": "viewer"})),
        )
        .await;
    let viewer = viewer["token"].as_str().unwrap().to_owned();
    let (s, _) = upload(&app, &viewer, &scene, png.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = upload(&app, &token, "nosuchsc", png).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// The certify id's cycle secret: which pool image the jigsaw was cut from.
async fn image_of(app: &TestApp, certify_id: &str) -> Option<String> {
    let (cycle, _) = app
        .stores
        .hot
        .cycle(certify_id, app.clock.now_ms())
        .await
        .unwrap()
        .unwrap();
    match cycle.secret {
        Secret::Jigsaw(s) => s.image_id,
        other => panic!("not a jigsaw: {other:?}"),
    }
}

#[tokio::test]
async fn the_pool_is_used_from_15_images_and_counts_each_images_outcomes() {
    let app = spawn().await;
    let scene = app.scene(VerificationType::Jigsaw);
    let token = app.admin_token.clone();
    let mut ids = Vec::new();
    for i in 0..14 {
        let (s, body) = upload(
            &app,
            &token,
            &scene,
            picture(i, 300, 200, image::ImageFormat::Jpeg),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    let (_, pool) = app
        .admin("GET", &format!("/admin/v1/scenes/{scene}/images"), None)
        .await;
    assert_eq!(
        (pool["count"].as_u64(), pool["active"].as_bool()),
        (Some(14), Some(false))
    );
    let init = app.init(&scene).await;
    assert_eq!(
        image_of(&app, init["certifyId"].as_str().unwrap()).await,
        None,
        "14 images: procedural backgrounds"
    );

    let (_, body) = upload(
        &app,
        &token,
        &scene,
        picture(99, 300, 200, image::ImageFormat::Png),
    )
    .await;
    ids.push(body["id"].as_str().unwrap().to_owned());
    // A pool change is in force within a second (the pool's ids are cached that long).
    let init = app.init(&scene).await;
    assert_eq!(
        image_of(&app, init["certifyId"].as_str().unwrap()).await,
        None,
        "within the second, the cached state stands"
    );
    app.clock.advance_ms(1_001);
    let init = app.init(&scene).await;
    let certify = init["certifyId"].as_str().unwrap();
    let used = image_of(&app, certify)
        .await
        .expect("15 images: the pool is active");
    assert!(ids.contains(&used));
    let (target, part_w) = app.picture_target(certify).await;
    let out = app
        .answer(&init, 1, picture_answer("jigsaw", 3, target, part_w))
        .await;
    assert_eq!(out["passed"], true, "{out}");

    let (_, pool) = app
        .admin("GET", &format!("/admin/v1/scenes/{scene}/images"), None)
        .await;
    assert_eq!(pool["active"], true);
    let stats = pool["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == used.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (
            stats["shown"].as_u64(),
            stats["passed"].as_u64(),
            stats["failed"].as_u64()
        ),
        (Some(1), Some(1), Some(0)),
        "{stats}"
    );
    assert_eq!(stats["passRate"], 1.0);

    // Deleting one takes the pool below 15 again: the next init is procedural.
    let (s, _) = app
        .admin(
            "DELETE",
            &format!("/admin/v1/scenes/{scene}/images/{used}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app
        .admin(
            "DELETE",
            &format!("/admin/v1/scenes/{scene}/images/{used}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    app.clock.advance_ms(1_001);
    let init = app.init(&scene).await;
    assert_eq!(
        image_of(&app, init["certifyId"].as_str().unwrap()).await,
        None
    );
}
