//! Admission control over HTTP (SPEC §7): tenant quotas refuse at once with `Throttling`,
//! answers and server verifications go ahead of new inits, a critical scene keeps its share,
//! and a node can have a ceiling and be dedicated to chosen tenants.

use reqwest::StatusCode;
use serde_json::{Value, json};
use stile::model::VerificationType;

use crate::helpers::{TestApp, answer_body, fresh_seed, slider_answer, spawn, spawn_in};

/// POST inits on `scene` until one is refused (at most `cap`): how many went through, and
/// the refusal (status, body, Retry-After).
async fn inits_until_refused(
    app: &TestApp,
    scene: &str,
    cap: usize,
) -> (usize, Option<(StatusCode, Value, Option<String>)>) {
    for admitted in 0..cap {
        let resp = app
            .http
            .post(format!("{}/api/v1/init", app.base))
            .json(&json!({"sceneId": scene, "pageUrl": "http://shop.test/p"}))
            .send()
            .await
            .unwrap();
        let status = resp.status();
        if status != StatusCode::OK {
            let retry = resp
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            return (admitted, Some((status, resp.json().await.unwrap(), retry)));
        }
    }
    (cap, None)
}

async fn set_quota(app: &TestApp, qps: u32, share: u8) {
    let (status, body) = app
        .admin(
            "PATCH",
            &format!("/admin/v1/tenants/{}", app.tenant_id),
            Some(json!({"qpsQuota": qps, "criticalShare": share})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["qpsQuota"], qps);
    assert_eq!(body["criticalShare"], share);
}

#[tokio::test]
async fn over_the_quota_inits_are_throttled_but_answers_and_verifications_pass() {
    let app = spawn().await;
    let scene = app.scene(VerificationType::Slider);
    set_quota(&app, 10, 0).await;

    // A cycle a person has started, before the flood.
    let init = app.init(&scene).await;
    let body = answer_body(&init, 1, slider_answer(fresh_seed(), 1.0));
    app.live_through(&body);

    // A flood of new inits uses the whole quota (one second's worth at most, as the clock
    // moved on while the person dragged) and is then refused at once.
    let (admitted, refused) = inits_until_refused(&app, &scene, 100).await;
    assert!((9..=13).contains(&admitted), "admitted {admitted}");
    let (status, err, retry) = refused.expect("the flood is throttled");
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(err["code"], "Throttling", "{err}");
    assert!(err["retryAfterMs"].as_u64().unwrap() >= 1, "{err}");
    assert_eq!(retry.as_deref(), Some("1"));

    // The person's answer still goes through, and so does the server verification of the
    // token it earned, while new inits stay refused.
    let (status, out) = app.post_json("/api/v1/answer", &body).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["passed"], true, "{out}");
    let (admitted, refused) = inits_until_refused(&app, &scene, 5).await;
    assert_eq!(admitted, 0);
    assert!(refused.is_some());
    let token = out["captchaVerifyParam"].as_str().unwrap();
    let result = app.server_verify(token, Some(&scene)).await;
    assert_eq!(result["VerifyCode"], "T001", "{result}");
    assert_eq!(inits_until_refused(&app, &scene, 5).await.0, 0);

    // A second later the quota is back.
    app.clock.advance_ms(1_000);
    let (admitted, _) = inits_until_refused(&app, &scene, 5).await;
    assert_eq!(admitted, 5);
}

#[tokio::test]
async fn a_quota_change_is_in_force_at_once() {
    let app = spawn().await;
    let scene = app.scene(VerificationType::Slider);
    set_quota(&app, 3, 0).await;
    let (admitted, refused) = inits_until_refused(&app, &scene, 50).await;
    assert!((3..=4).contains(&admitted), "admitted {admitted}");
    assert!(refused.is_some());
    set_quota(&app, 1000, 0).await;
    let (admitted, refused) = inits_until_refused(&app, &scene, 20).await;
    assert_eq!(admitted, 20, "{refused:?}");

    // Bad values change nothing.
    for body in [
        json!({"qpsQuota": 0}),
        json!({"criticalShare": 95}),
        json!({"criticalShare": -1}),
    ] {
        let (status, err) = app
            .admin(
                "PATCH",
                &format!("/admin/v1/tenants/{}", app.tenant_id),
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
        assert_eq!(err["code"], "InvalidParameter");
    }
    let (_, tenant) = app
        .admin("GET", &format!("/admin/v1/tenants/{}", app.tenant_id), None)
        .await;
    assert_eq!(tenant["qpsQuota"], 1000);
    assert_eq!(tenant["criticalShare"], 0);
}

#[tokio::test]
async fn a_critical_scene_keeps_its_share_while_ordinary_inits_are_refused() {
    let app = spawn().await;
    let ordinary = app.scene(VerificationType::Slider);
    let (status, critical) = app
        .admin(
            "POST",
            "/admin/v1/scenes",
            Some(json!({"name": "checkout", "type": "slider", "critical": true})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{critical}");
    assert_eq!(critical["critical"], true);
    let critical = critical["id"].as_str().unwrap().to_owned();
    set_quota(&app, 20, 50).await;

    let (ordinary_admitted, refused) = inits_until_refused(&app, &ordinary, 100).await;
    assert!(
        (10..=12).contains(&ordinary_admitted),
        "ordinary {ordinary_admitted}"
    );
    assert_eq!(refused.unwrap().1["code"], "Throttling");
    // The checkout still has the reserved half of the quota.
    let (critical_admitted, refused) = inits_until_refused(&app, &critical, 100).await;
    assert!(
        (9..=12).contains(&critical_admitted),
        "critical {critical_admitted}"
    );
    assert!(refused.is_some());

    // Without the mark, the same scene is ordinary again.
    let (status, _) = app
        .admin(
            "PATCH",
            &format!("/admin/v1/scenes/{critical}"),
            Some(json!({"critical": false})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    app.clock.advance_ms(2_000);
    let (admitted, _) = inits_until_refused(&app, &critical, 100).await;
    assert!((10..=12).contains(&admitted), "{admitted}");
}

#[tokio::test]
async fn a_node_dedicated_to_other_tenants_refuses_this_one() {
    let app = spawn_in(tempfile::tempdir().unwrap(), |s| {
        s.capacity.dedicated_to = vec!["t-someone-else".into()];
    })
    .await;
    let scene = app.scene(VerificationType::Slider);
    let (status, err) = app
        .post_json(
            "/api/v1/init",
            &json!({"sceneId": scene, "pageUrl": "http://shop.test/p"}),
        )
        .await;
    assert_eq!(status, StatusCode::MISDIRECTED_REQUEST, "{err}");
    assert_eq!(err["code"], "TenantNotServed");
    let (status, err) = app
        .signed_verify(&app.ak_id, &app.ak_secret, "anything", None)
        .await;
    assert_eq!(status, StatusCode::MISDIRECTED_REQUEST, "{err}");
    assert_eq!(err["Code"], "TenantNotServed");
    // The admin API is the operator's, not a tenant's: it still works.
    let (status, _) = app.admin("GET", "/admin/v1/tenants", None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_node_ceiling_binds_every_tenant_and_says_so() {
    let app = spawn_in(tempfile::tempdir().unwrap(), |s| {
        s.capacity.node_qps = 5;
    })
    .await;
    let scene = app.scene(VerificationType::Slider);
    let (admitted, refused) = inits_until_refused(&app, &scene, 50).await;
    assert!((4..=5).contains(&admitted), "admitted {admitted}");
    let (status, err, _) = refused.unwrap();
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(err["code"], "Throttling");
    assert!(err["message"].as_str().unwrap().contains("node"), "{err}");
}

#[tokio::test]
async fn throttled_server_verification_speaks_the_sdk_error_shape() {
    let app = spawn().await;
    set_quota(&app, 1, 0).await;
    // In-flight work may run ten seconds of quota ahead: ten, then refusal.
    let mut codes = Vec::new();
    for _ in 0..11 {
        let (status, body) = app
            .signed_verify(&app.ak_id, &app.ak_secret, "not-a-token", None)
            .await;
        codes.push((status, body["Code"].as_str().map(str::to_owned)));
    }
    assert!(
        codes[..10].iter().all(|(s, _)| *s == StatusCode::OK),
        "{codes:?}"
    );
    assert_eq!(
        codes[10],
        (StatusCode::TOO_MANY_REQUESTS, Some("Throttling".into()))
    );
}
