//! Server verification: every verdict code, test mode with all presets, key rotation,
//! concurrency, and the signature checks.

use reqwest::StatusCode;
use serde_json::json;
use stile::model::VerificationType;

use crate::helpers::{TestApp, slider_answer, spawn};

async fn test_scene(app: &TestApp, kind: &str, preset: &str) -> String {
    let (s, body) = app
        .admin(
            "POST",
            "/admin/v1/scenes",
            Some(json!({"name": format!("test {preset}"), "type": kind, "status": "test", "testPreset": preset})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_token_verifies_once() {
    let app = spawn().await;
    let scene = app.scene(VerificationType::Slider);
    let token = app.pass_token(&scene).await;
    let r = app.server_verify(&token, Some(&scene)).await;
    assert_eq!(
        (r["VerifyResult"].as_bool(), r["VerifyCode"].as_str()),
        (Some(true), Some("T001"))
    );
    let r = app.server_verify(&token, Some(&scene)).await;
    assert_eq!(
        (r["VerifyResult"].as_bool(), r["VerifyCode"].as_str()),
        (Some(false), Some("F008"))
    );
}

#[tokio::test]
async fn concurrent_verifications_of_one_token_pass_exactly_once() {
    let app = spawn().await;
    let scene = app.scene(VerificationType::Slider);
    let token = app.pass_token(&scene).await;
    let results = futures_join(&app, &token, &scene, 8).await;
    assert_eq!(
        results.iter().filter(|c| *c == "T001").count(),
        1,
        "{results:?}"
    );
    assert!(
        results.iter().filter(|c| *c != "T001").all(|c| c == "F008"),
        "{results:?}"
    );
}

async fn futures_join(app: &TestApp, token: &str, scene: &str, n: usize) -> Vec<String> {
    let mut handles = Vec::new();
    for _ in 0..n {
        let (base, http, ak, secret) = (
            app.base.clone(),
            app.http.clone(),
            app.ak_id.clone(),
            app.ak_secret.clone(),
        );
        let (token, scene) = (token.to_owned(), scene.to_owned());
        handles.push(tokio::spawn(async move {
            let body = serde_urlencoded::to_string([
                ("CaptchaVerifyParam", token.as_str()),
                ("SceneId", scene.as_str()),
            ])
            .unwrap();
            let date = crate::helpers::acs_date(time::OffsetDateTime::now_utc().unix_timestamp());
            let headers = stile::acs3::sign_rpc_form(
                &stile::acs3::RpcCall {
                    host: base.trim_start_matches("http://"),
                    action: "VerifyIntelligentCaptcha",
                    version: "2023-03-05",
                    body: &body,
                    date: &date,
                    nonce: &stile::ids::nonce(12),
                },
                &ak,
                &secret,
            );
            let mut req = http.post(format!("{base}/")).body(body);
            for (n, v) in headers.iter().filter(|(n, _)| n != "host") {
                req = req.header(n.as_str(), v.as_str());
            }
            let v: serde_json::Value = req.send().await.unwrap().json().await.unwrap();
            v["Result"]["VerifyCode"].as_str().unwrap().to_owned()
        }));
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn empty_malformed_and_tampered_tokens() {
    let app = spawn().await;
    assert_eq!(app.server_verify("", None).await["VerifyCode"], "F002");
    assert_eq!(
        app.server_verify("not a token!", None).await["VerifyCode"],
        "F003"
    );
    let token = app.pass_token(&app.scene(VerificationType::Slider)).await;
    let mut v: serde_json::Value = serde_json::from_str(&token).unwrap();
    let sealed = v["securityToken"].as_str().unwrap().to_owned();
    let flipped: String = sealed
        .char_indices()
        .map(|(i, c)| {
            if i == sealed.len() / 2 {
                if c == 'A' { 'B' } else { 'A' }
            } else {
                c
            }
        })
        .collect();
    v["securityToken"] = json!(flipped);
    assert_eq!(
        app.server_verify(&v.to_string(), None).await["VerifyCode"],
        "F003"
    );
    // Changing the readable wrapper does not change what the sealed part says.
    let mut w: serde_json::Value = serde_json::from_str(&token).unwrap();
    w["sceneId"] = json!("othersce");
    assert_eq!(
        app.server_verify(&w.to_string(), None).await["VerifyCode"],
        "T001"
    );
}

#[tokio::test]
async fn scene_binding_f005_and_f012() {
    let app = spawn().await;
    let scene = app.scene(VerificationType::Slider);
    let other = app.scene(VerificationType::OneClick);
    let token = app.pass_token(&scene).await;
    assert_eq!(
        app.server_verify(&token, Some(&other)).await["VerifyCode"],
        "F012"
    );
    assert_eq!(
        app.server_verify(&token, Some("nosuchsc")).await["VerifyCode"],
        "F005"
    );
    // Neither failure consumed the token.
    assert_eq!(
        app.server_verify(&token, Some(&scene)).await["VerifyCode"],
        "T001"
    );
}

#[tokio::test]
async fn a_token_is_bound_to_its_tenant() {
    let app = spawn().await;
    let (_, tenant) = app
        .admin("POST", "/admin/v1/tenants", Some(json!({"name": "Other"})))
        .await;
    let tid = tenant["id"].as_str().unwrap();
    let (_, key) = app
        .admin(
            "POST",
            &format!("/admin/v1/tenants/{tid}/access-keys"),
            None,
        )
        .await;
    let token = app.pass_token(&app.scene(VerificationType::Slider)).await;
    let (s, body) = app
        .signed_verify(
            key["id"].as_str().unwrap(),
            key["secret"].as_str().unwrap(),
            &token,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        body["Result"]["VerifyCode"], "F003",
        "another tenant's token is not a token to this one"
    );
}

#[tokio::test]
async fn the_90_second_window_is_f019() {
    let app = spawn().await;
    let scene = app.scene(VerificationType::Slider);
    let token = app.pass_token(&scene).await;
    app.clock.advance_ms(91_000);
    assert_eq!(
        app.server_verify(&token, Some(&scene)).await["VerifyCode"],
        "F019"
    );
    let token = app.pass_token(&scene).await;
    app.clock.advance_ms(85_000);
    assert_eq!(
        app.server_verify(&token, Some(&scene)).await["VerifyCode"],
        "T001"
    );
}

#[tokio::test]
async fn test_mode_presets_for_visual_types() {
    let app = spawn().await;
    let pass = test_scene(&app, "slider", "pass").await;
    let fail = test_scene(&app, "slider", "fail").await;
    for (scene, code) in [(&pass, "T005"), (&fail, "F004")] {
        // Any answer passes the widget in test mode; the preset decides the verdict.
        let init = app.init(scene).await;
        let out = app.answer(&init, 1, slider_answer(1, 0.3)).await;
        assert_eq!(out["passed"], true, "{out}");
        let r = app
            .server_verify(out["captchaVerifyParam"].as_str().unwrap(), Some(scene))
            .await;
        assert_eq!(r["VerifyCode"], code);
        assert_eq!(r["VerifyResult"], code == "T005");
    }
}

#[tokio::test]
async fn test_mode_presets_for_no_captcha() {
    let app = spawn().await;
    let silent_pass = test_scene(&app, "no-captcha", "silent-pass").await;
    let init = app.init(&silent_pass).await;
    assert_eq!(init["challenge"]["kind"], "silent");
    let out = app
        .answer(&init, 1, json!({"kind": "silent", "env": {}}))
        .await;
    assert_eq!(out["passed"], true, "{out}");
    assert_eq!(
        app.server_verify(out["captchaVerifyParam"].as_str().unwrap(), None)
            .await["VerifyCode"],
        "T005"
    );

    for (preset, code) in [
        ("silent-fail-secondary-pass", "T005"),
        ("silent-fail-secondary-fail", "F004"),
    ] {
        let scene = test_scene(&app, "no-captcha", preset).await;
        let init = app.init(&scene).await;
        assert_eq!(
            init["challenge"]["kind"], "slider",
            "the secondary challenge is shown: {init}"
        );
        let out = app.answer(&init, 1, slider_answer(4, 1.0)).await;
        assert_eq!(out["passed"], true);
        assert_eq!(
            app.server_verify(out["captchaVerifyParam"].as_str().unwrap(), None)
                .await["VerifyCode"],
            code
        );
    }
}

#[tokio::test]
async fn production_no_captcha_escalates_to_its_secondary_challenge() {
    let app = spawn().await;
    let scene = app.scene(VerificationType::NoCaptcha);
    let init = app.init(&scene).await;
    assert_eq!(init["challenge"]["kind"], "silent");
    let out = app.answer(&init, 1, json!({"kind": "silent"})).await;
    assert_eq!(
        (out["passed"].as_bool(), out["secondary"]["kind"].as_str()),
        (Some(false), Some("slider")),
        "{out}"
    );
    let out = app.answer(&init, 2, slider_answer(5, 1.0)).await;
    assert_eq!(out["passed"], true, "{out}");
    assert_eq!(
        app.server_verify(out["captchaVerifyParam"].as_str().unwrap(), Some(&scene))
            .await["VerifyCode"],
        "T001"
    );
}

#[tokio::test]
async fn key_rotation_keeps_tokens_in_flight_valid() {
    let app = spawn().await;
    let scene = app.scene(VerificationType::Slider);
    let before = app.pass_token(&scene).await;
    let (s, body) = app.admin("POST", "/admin/v1/token-keys/rotate", None).await;
    assert_eq!(
        (s, body["currentKeyId"].as_u64()),
        (StatusCode::OK, Some(2))
    );
    let after = app.pass_token(&scene).await;
    assert_eq!(
        app.server_verify(&before, Some(&scene)).await["VerifyCode"],
        "T001"
    );
    assert_eq!(
        app.server_verify(&after, Some(&scene)).await["VerifyCode"],
        "T001"
    );
}

#[tokio::test]
async fn signature_failures_use_the_sdk_error_codes() {
    let app = spawn().await;
    let (s, body) = app
        .signed_verify(&app.ak_id, "wrong-secret-wrong-secret", "x", None)
        .await;
    assert_eq!(
        (s, body["Code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("SignatureDoesNotMatch"))
    );
    let (s, body) = app
        .signed_verify("STKNOPE", "whatever-secret-value", "x", None)
        .await;
    assert_eq!(
        (s, body["Code"].as_str()),
        (StatusCode::NOT_FOUND, Some("InvalidAccessKeyId.NotFound"))
    );
    // Unsigned and wrongly-versioned requests.
    let resp = app
        .http
        .post(format!("{}/", app.base))
        .header("x-acs-action", "VerifyIntelligentCaptcha")
        .header("x-acs-version", "2023-03-05")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        resp.json::<serde_json::Value>().await.unwrap()["Code"],
        "IncompleteSignature"
    );
    let resp = app
        .http
        .post(format!("{}/", app.base))
        .header("x-acs-action", "VerifyIntelligentCaptcha")
        .header("x-acs-version", "2019-01-01")
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.json::<serde_json::Value>().await.unwrap()["Code"],
        "InvalidVersion"
    );
    let resp = app
        .http
        .post(format!("{}/", app.base))
        .header("x-acs-action", "DescribeSomething")
        .header("x-acs-version", "2023-03-05")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        resp.json::<serde_json::Value>().await.unwrap()["Code"],
        "InvalidAction.NotFound"
    );
}

#[tokio::test]
async fn a_changed_body_breaks_the_signature() {
    let app = spawn().await;
    let body = "CaptchaVerifyParam=abc";
    let headers = stile::acs3::sign_rpc_form(
        &stile::acs3::RpcCall {
            host: app.base.trim_start_matches("http://"),
            action: "VerifyIntelligentCaptcha",
            version: "2023-03-05",
            body,
            date: &crate::helpers::acs_date(app.clock.now_s()),
            nonce: "n-123",
        },
        &app.ak_id,
        &app.ak_secret,
    );
    let mut req = app
        .http
        .post(format!("{}/", app.base))
        .body("CaptchaVerifyParam=abd");
    for (n, v) in headers.iter().filter(|(n, _)| n != "host") {
        req = req.header(n.as_str(), v.as_str());
    }
    let resp = req.send().await.unwrap();
    assert_eq!(
        resp.json::<serde_json::Value>().await.unwrap()["Code"],
        "SignatureDoesNotMatch"
    );
}
