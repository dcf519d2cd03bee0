//! The widget side of the cycle: init and answers, with every failure code they produce.

use reqwest::StatusCode;
use serde_json::json;
use stile::model::VerificationType;

use crate::helpers::{fresh_seed, picture_answer, slider_answer, spawn};

#[tokio::test]
async fn init_returns_a_slider_challenge_with_a_fresh_nonce() {
    let app = spawn().await;
    let scene = app.scene(VerificationType::Slider);
    let a = app.init(&scene).await;
    let b = app.init(&scene).await;
    assert_eq!(a["type"], "slider");
    assert_eq!(a["challenge"]["kind"], "slider");
    assert_eq!(a["expiresIn"], 1200);
    assert_ne!(a["certifyId"], b["certifyId"]);
    assert_ne!(a["nonce"], b["nonce"]);
}

#[tokio::test]
async fn init_refuses_unknown_scenes_foreign_prefixes_and_pages() {
    let app = spawn().await;
    let (s, body) = app
        .post_json("/api/v1/init", &json!({"sceneId": "nosuchsc"}))
        .await;
    assert_eq!(
        (s, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("F005"))
    );
    let scene = app.scene(VerificationType::Slider);
    let (s, body) = app
        .post_json(
            "/api/v1/init",
            &json!({"sceneId": scene, "prefix": "otherpfx"}),
        )
        .await;
    assert_eq!(
        (s, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("F005")),
        "{body}"
    );
    let (s, _) = app
        .post_json(
            "/api/v1/init",
            &json!({"sceneId": scene, "prefix": app.prefix}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    let (s, _) = app
        .admin(
            "PATCH",
            &format!("/admin/v1/scenes/{scene}"),
            Some(json!({"allowedUrls": ["shop.test/checkout"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = app
        .post_json(
            "/api/v1/init",
            &json!({"sceneId": scene, "pageUrl": "http://evil.test/"}),
        )
        .await;
    assert_eq!(
        (s, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("F016"))
    );
    let (s, _) = app
        .post_json(
            "/api/v1/init",
            &json!({"sceneId": scene, "pageUrl": "https://shop.test/checkout?x"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn picture_challenges_pass_at_the_target_and_fail_elsewhere_with_a_new_picture() {
    let app = spawn().await;
    for (kind, name) in [
        (VerificationType::Jigsaw, "jigsaw"),
        (VerificationType::ImageRestoration, "image-restoration"),
    ] {
        let init = app.init(&app.scene(kind)).await;
        let ch = &init["challenge"];
        assert_eq!(ch["kind"], name, "{init}");
        assert!(
            ch["image"]
                .as_str()
                .unwrap()
                .starts_with("data:image/jpeg;base64,")
        );
        assert!(
            ch["part"]
                .as_str()
                .unwrap()
                .starts_with("data:image/png;base64,")
        );
        assert_eq!(
            (ch["width"].as_u64(), ch["height"].as_u64()),
            (Some(300), Some(200))
        );
        let certify = init["certifyId"].as_str().unwrap();
        let (target, part_w) = app.picture_target(certify).await;
        assert_eq!(ch["partW"].as_f64(), Some(part_w));
        assert!(
            ch.get("targetX").is_none() && !init.to_string().contains("target"),
            "the answer leaks: {init}"
        );

        // 20 px off: wrong (F015), and the retry comes with a fresh picture and secret.
        let off = if target > 150.0 {
            target - 20.0
        } else {
            target + 20.0
        };
        let out = app
            .answer(&init, 1, picture_answer(name, fresh_seed(), off, part_w))
            .await;
        assert_eq!(
            (out["passed"].as_bool(), out["code"].as_str()),
            (Some(false), Some("F015")),
            "{out}"
        );
        assert_eq!(out["retry"], true);
        let next = &out["challenge"];
        assert_eq!(next["kind"], name);
        assert_ne!(
            next["image"], ch["image"],
            "a retry must show a new picture"
        );
        let (target2, part_w2) = app.picture_target(certify).await;

        // The old answer position means nothing now; the new one passes.
        let out = app
            .answer(
                &init,
                2,
                picture_answer(name, fresh_seed(), target2 + 3.0, part_w2),
            )
            .await;
        assert_eq!(out["passed"], true, "{out}");
        let param = out["captchaVerifyParam"].as_str().unwrap();
        let verdict = app.server_verify(param, Some(&app.scene(kind))).await;
        assert_eq!(verdict["VerifyCode"], "T001", "{verdict}");
    }
}

#[tokio::test]
async fn a_picture_answer_whose_drag_does_not_lead_there_is_refused() {
    let app = spawn().await;
    let init = app.init(&app.scene(VerificationType::Jigsaw)).await;
    let (target, part_w) = app
        .picture_target(init["certifyId"].as_str().unwrap())
        .await;
    // The drag stops far from the gap; the reported position claims the gap.
    let span = 300.0 - part_w;
    let stop = if target > span / 2.0 { 0.15 } else { 0.85 };
    let mut a = picture_answer("jigsaw", 7, span * stop, part_w);
    a["x"] = json!(target);
    let out = app.answer(&init, 1, a).await;
    assert_eq!(
        (out["passed"].as_bool(), out["code"].as_str()),
        (Some(false), Some("F017")),
        "{out}"
    );
    assert_eq!(out["retry"], false);
}

#[tokio::test]
async fn switching_a_scene_type_changes_the_next_init_live() {
    let app = spawn().await;
    let scene = app.scene(VerificationType::Slider);
    assert_eq!(app.init(&scene).await["challenge"]["kind"], "slider");
    for (kind, shown) in [
        ("jigsaw", "jigsaw"),
        ("image-restoration", "image-restoration"),
        ("one-click", "one-click"),
        ("slider", "slider"),
    ] {
        let (s, body) = app
            .admin(
                "PATCH",
                &format!("/admin/v1/scenes/{scene}"),
                Some(json!({"type": kind})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let init = app.init(&scene).await;
        assert_eq!(
            (init["type"].as_str(), init["challenge"]["kind"].as_str()),
            (Some(kind), Some(shown))
        );
    }
}

#[tokio::test]
async fn a_full_human_drag_passes_and_a_second_answer_is_refused() {
    let app = spawn().await;
    let init = app.init(&app.scene(VerificationType::Slider)).await;
    let out = app.answer(&init, 1, slider_answer(3, 1.0)).await;
    assert_eq!(out["passed"], true, "{out}");
    let param: serde_json::Value =
        serde_json::from_str(out["captchaVerifyParam"].as_str().unwrap()).unwrap();
    assert_eq!(param["certifyId"], init["certifyId"]);
    // The cycle is spent: answering it again is a protocol anomaly.
    let again = app.answer(&init, 2, slider_answer(3, 1.0)).await;
    assert_eq!(
        (again["passed"].as_bool(), again["code"].as_str()),
        (Some(false), Some("F017"))
    );
}

#[tokio::test]
async fn a_short_drag_is_wrong_and_retries_run_out() {
    let app = spawn().await;
    let init = app.init(&app.scene(VerificationType::Slider)).await;
    for attempt in 1..=5u32 {
        let out = app
            .answer(&init, attempt, slider_answer(u64::from(attempt), 0.6))
            .await;
        assert_eq!(out["code"], "F015", "{out}");
        assert_eq!(out["retry"], attempt < 5, "attempt {attempt}: {out}");
    }
    let out = app.answer(&init, 6, slider_answer(9, 1.0)).await;
    assert_eq!(
        (out["passed"].as_bool(), out["code"].as_str()),
        (Some(false), Some("F015"))
    );
}

#[tokio::test]
async fn a_retry_after_a_wrong_answer_can_pass() {
    let app = spawn().await;
    let init = app.init(&app.scene(VerificationType::Slider)).await;
    assert_eq!(
        app.answer(&init, 1, slider_answer(1, 0.5)).await["retry"],
        true
    );
    assert_eq!(
        app.answer(&init, 2, slider_answer(2, 1.0)).await["passed"],
        true
    );
}

#[tokio::test]
async fn a_slider_retried_in_place_keeps_the_clock_of_its_first_rendering() {
    // The widget retries a slider in place without rendering it again: the second drag's
    // times run on from the first rendering, and the server must measure from there too.
    let app = spawn().await;
    let init = app.init(&app.scene(VerificationType::Slider)).await;
    let wrong = slider_answer(1, 0.5);
    let first_end = wrong["points"].as_array().unwrap().last().unwrap()[2]
        .as_f64()
        .unwrap();
    app.clock.advance_ms(first_end as i64 + 200);
    let body = crate::helpers::answer_body(&init, 1, wrong);
    let (_, first) = app.post_json("/api/v1/answer", &body).await;
    assert_eq!(first["retry"], true, "{first}");
    // The failure shown, 3 s to try again; the second drag starts then, by the widget's
    // clock counted from the first rendering.
    app.clock.advance_ms(3_000);
    let start = first_end + 3_100.0;
    let mut second = slider_answer(fresh_seed(), 1.0);
    let points = second["points"].as_array().unwrap().clone();
    let offset = start - points[0][2].as_f64().unwrap();
    let later: Vec<serde_json::Value> = points
        .iter()
        .map(|p| json!([p[0], p[1], p[2].as_f64().unwrap() + offset]))
        .collect();
    let drag = later.last().unwrap()[2].as_f64().unwrap() - start;
    second["points"] = json!(later);
    app.clock.advance_ms(drag as i64 + 300);
    let body = crate::helpers::answer_body(&init, 2, second);
    let (s, out) = app.post_json("/api/v1/answer", &body).await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert_eq!(out["passed"], true, "{out}");
}

#[tokio::test]
async fn forged_or_replayed_answers_are_f017_and_burn_the_cycle() {
    let app = spawn().await;
    let scene = app.scene(VerificationType::Slider);
    let mut init = app.init(&scene).await;
    let good_nonce = init["nonce"].clone();
    init["nonce"] = json!("forged");
    assert_eq!(
        app.answer(&init, 1, slider_answer(1, 1.0)).await["code"],
        "F017"
    );
    init["nonce"] = good_nonce;
    // Even the right nonce no longer works: the cycle was burnt.
    assert_eq!(
        app.answer(&init, 1, slider_answer(1, 1.0)).await["code"],
        "F017"
    );

    let init = app.init(&scene).await;
    assert_eq!(
        app.answer(&init, 1, slider_answer(1, 0.5)).await["code"],
        "F015"
    );
    // Replaying attempt 1 (a captured request) instead of sending attempt 2.
    assert_eq!(
        app.answer(&init, 1, slider_answer(1, 1.0)).await["code"],
        "F017"
    );
}

#[tokio::test]
async fn a_drag_labelled_keyboard_is_f024_and_real_key_steps_pass() {
    let app = spawn().await;
    let scene = app.scene(VerificationType::Slider);
    // A script's straight line, labelled "keyboard" to dodge the trajectory checks.
    let init = app.init(&scene).await;
    let line: Vec<[f64; 3]> = (0..=30)
        .map(|i| [f64::from(i) * 10.0, 15.0, 500.0 + f64::from(i) * 40.0])
        .collect();
    let out = app
        .answer(
            &init,
            1,
            json!({"kind": "slider", "trackWidth": 300, "pointer": "keyboard", "points": line}),
        )
        .await;
    assert_eq!(out["code"], "F024", "{out}");
    assert!(
        out["reasons"].is_null(),
        "the client is not told why: {out}"
    );
    // What the widget sends for twenty ArrowRight presses (step 300 / 20 = 15 px).
    let init = app.init(&scene).await;
    let mut keys = vec![[0.0, 20.0, 800.0]];
    keys.extend((1..=20).map(|i| [f64::from(i) * 15.0, 20.0, 800.0 + f64::from(i) * 70.0]));
    let out = app
        .answer(
            &init,
            1,
            json!({"kind": "slider", "trackWidth": 300, "pointer": "keyboard", "points": keys}),
        )
        .await;
    assert_eq!(out["passed"], true, "{out}");
}

#[tokio::test]
async fn scripted_drags_are_f024() {
    let app = spawn().await;
    let scene = app.scene(VerificationType::Slider);
    let init = app.init(&scene).await;
    let line: Vec<[f64; 3]> = (0..=30)
        .map(|i| [f64::from(i) * 10.0, 15.0, f64::from(i) * 16.0])
        .collect();
    let out = app
        .answer(
            &init,
            1,
            json!({"kind": "slider", "trackWidth": 300, "pointer": "mouse", "points": line}),
        )
        .await;
    assert_eq!(out["code"], "F024", "{out}");
    assert_eq!(out["retry"], false);
    assert!(
        out["reasons"].is_null(),
        "the client is not told why: {out}"
    );

    let init = app.init(&scene).await;
    let mut answer = slider_answer(2, 1.0);
    answer["env"]["webdriver"] = json!(true);
    assert_eq!(app.answer(&init, 1, answer).await["code"], "F024");
}

#[tokio::test]
async fn unknown_and_expired_cycles_are_f014() {
    let app = spawn().await;
    let fake = json!({"certifyId": "nosuchcycle", "nonce": "x"});
    assert_eq!(
        app.answer(&fake, 1, slider_answer(1, 1.0)).await["code"],
        "F014"
    );
    let init = app.init(&app.scene(VerificationType::Slider)).await;
    app.clock.advance_ms(20 * 60 * 1000 + 1);
    assert_eq!(
        app.answer(&init, 1, slider_answer(1, 1.0)).await["code"],
        "F014"
    );
}

#[tokio::test]
async fn an_answer_of_the_wrong_kind_is_an_anomaly() {
    let app = spawn().await;
    let init = app.init(&app.scene(VerificationType::Slider)).await;
    let out = app
        .answer(
            &init,
            1,
            json!({"kind": "one-click", "pointer": "mouse", "click": [1, 1, 900]}),
        )
        .await;
    assert_eq!(out["code"], "F017");
}

#[tokio::test]
async fn one_click_passes_with_an_approach_and_fails_without() {
    let app = spawn().await;
    let scene = app.scene(VerificationType::OneClick);
    let init = app.init(&scene).await;
    assert_eq!(init["challenge"]["kind"], "one-click");
    let out = app
        .answer(
            &init,
            1,
            crate::helpers::one_click_answer(crate::helpers::fresh_approach_seed()),
        )
        .await;
    assert_eq!(out["passed"], true, "{out}");
    let init = app.init(&scene).await;
    let out = app
        .answer(
            &init,
            1,
            json!({"kind": "one-click", "pointer": "mouse", "click": [20, 20, 520]}),
        )
        .await;
    assert_eq!(out["code"], "F024");
}

#[tokio::test]
async fn the_signing_codebook_rotates_hourly_and_a_page_may_keep_its_own_for_a_day() {
    use stile::risk::dynamic::{Codebook, EPOCH_MS};
    let app = spawn().await;
    let scene = app.scene(VerificationType::Slider);
    let init_with = |epoch: Option<i64>| {
        let mut body = json!({"sceneId": scene, "pageUrl": "http://shop.test/p"});
        if let Some(e) = epoch {
            body["dvEpoch"] = json!(e);
        }
        body
    };
    // The served script carries the current codebook, and init encodes with it.
    let (_, first) = app.post_json("/api/v1/init", &init_with(None)).await;
    let old = app.codebook(first["dvEpoch"].as_i64().unwrap()).await;
    // Three hours on, the script carries another one...
    app.clock.advance_ms(3 * EPOCH_MS);
    let (_, now) = app.post_json("/api/v1/init", &init_with(None)).await;
    let current = app.codebook(now["dvEpoch"].as_i64().unwrap()).await;
    assert_eq!(current.epoch, old.epoch + 3);
    assert_ne!((current.codes, current.mask), (old.codes, old.mask));
    // ...and a page still holding the old one says so and gets its program in that
    // encoding: its answer passes.
    let (_, init) = app
        .post_json("/api/v1/init", &init_with(Some(old.epoch)))
        .await;
    assert_eq!(init["dvEpoch"], old.epoch);
    let out = app.answer(&init, 1, slider_answer(fresh_seed(), 1.0)).await;
    assert_eq!(out["passed"], true, "{out}");
    // A day later that codebook is no longer used: a client still decoding with it (a
    // solver that hard-coded the script's encoding) signs with the wrong program.
    app.clock.advance_ms(24 * EPOCH_MS);
    let (_, mut init) = app
        .post_json("/api/v1/init", &init_with(Some(old.epoch)))
        .await;
    assert_eq!(init["dvEpoch"], old.epoch + 27, "the current one instead");
    init["_dvBook"] = json!(old.to_js());
    let out = app.answer(&init, 1, slider_answer(fresh_seed(), 1.0)).await;
    assert_eq!(out["code"], "F017", "{out}");
    // Codebooks are the installation's own: nothing else derives them.
    assert_ne!(Codebook::derive(&[0; 32], old.epoch), old);
}

#[tokio::test]
async fn pages_get_the_script_obfuscated_anew_each_hour_and_operators_get_it_readable() {
    use stile::risk::dynamic::{Codebook, EPOCH_MS};
    let app = spawn().await;
    let get = |path: &str, token: Option<&str>| {
        let mut req = app.http.get(format!("{}{path}", app.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move {
            let resp = req.send().await.unwrap();
            (resp.status(), resp.text().await.unwrap())
        }
    };
    let (status, served) = get("/widget/AliyunCaptcha.js", None).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    // Pages: neither the codebook nor the protocol's words can be read off the text.
    assert_eq!(Codebook::from_js(&served), None);
    for clear in [
        "certifyId",
        "dvCodes",
        "/api/v1/answer",
        "initAliyunCaptcha",
    ] {
        assert!(!served.contains(clear), "{clear} in the served script");
    }
    // Operators: the readable script with the same (current) codebook, behind the admin
    // token; the old public readable copy is gone.
    let (status, _) = get("/admin/v1/widget/source.js", None).await;
    assert_eq!(status, reqwest::StatusCode::UNAUTHORIZED);
    let (status, _) = get("/widget/AliyunCaptcha.src.js", None).await;
    assert_eq!(status, reqwest::StatusCode::NOT_FOUND);
    let (status, readable) = get("/admin/v1/widget/source.js", Some(&app.admin_token)).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert!(readable.contains("function canonicalWords("));
    let (_, init) = app
        .post_json(
            "/api/v1/init",
            &json!({"sceneId": app.scene(VerificationType::Slider), "pageUrl": "http://shop.test/p"}),
        )
        .await;
    let book = Codebook::from_js(&readable).expect("a codebook");
    assert_eq!(init["dvEpoch"], book.epoch);
    // The same hour, the same script; the next hour, another.
    assert_eq!(get("/widget/AliyunCaptcha.js", None).await.1, served);
    // A page revalidating within the hour gets 304 and no body; the next hour, the new one.
    let revalidate = |etag: String| {
        let req = app
            .http
            .get(format!("{}/widget/AliyunCaptcha.js", app.base))
            .header("if-none-match", etag);
        async move {
            let resp = req.send().await.unwrap();
            let etag = resp.headers()["etag"].to_str().unwrap().to_owned();
            (resp.status(), etag, resp.text().await.unwrap())
        }
    };
    let etag = app
        .http
        .get(format!("{}/widget/AliyunCaptcha.js", app.base))
        .send()
        .await
        .unwrap()
        .headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let (status, same, body) = revalidate(etag.clone()).await;
    assert_eq!(
        (status, same.as_str(), body.as_str()),
        (reqwest::StatusCode::NOT_MODIFIED, etag.as_str(), "")
    );
    app.clock.advance_ms(EPOCH_MS);
    let (status, new_etag, next) = revalidate(etag.clone()).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_ne!(new_etag, etag);
    assert_ne!(next, served);
}
