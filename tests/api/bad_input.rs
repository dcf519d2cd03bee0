//! Bad input: every endpoint answers malformed, oversized or mistyped requests with a stable
//! error code and never with a server error.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::spawn;

#[tokio::test]
async fn malformed_bodies_get_stable_codes() {
    let app = spawn().await;
    let url = format!("{}/api/v1/init", app.base);
    let r = app
        .http
        .post(&url)
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "InvalidParameter");
    let r = app
        .http
        .post(&url)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        r.json::<Value>().await.unwrap()["code"],
        "UnsupportedMediaType"
    );
    let big = format!("{{\"sceneId\":\"{}\"}}", "a".repeat(200_000));
    let r = app
        .http
        .post(&url)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "PayloadTooLarge");
    let r = app
        .http
        .get(format!("{}/no/such/thing", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let body = r.json::<Value>().await.unwrap();
    assert_eq!(body["code"], "NotFound");
    assert!(!body["requestId"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn hostile_answers_never_error_the_server() {
    let app = spawn().await;
    let init = app.init(&app.demo[1].1).await;
    let nasty = [
        serde_json::json!({"kind": "slider", "trackWidth": 300, "pointer": "mouse", "points": []}),
        serde_json::json!({"kind": "slider", "trackWidth": 1e308, "pointer": "mouse", "points": [[1, 2, 3]]}),
        serde_json::json!({"kind": "slider", "trackWidth": -1, "pointer": "mouse", "points": [[1, 2, 3]]}),
        serde_json::json!({"kind": "slider", "trackWidth": 300, "pointer": "mouse", "points": vec![[1.0, 2.0, 3.0]; 2100]}),
        serde_json::json!({"kind": "slider", "trackWidth": 300, "pointer": "mouse", "points": [[1, 2, 30], [2, 2, 10]]}),
    ];
    for (i, answer) in nasty.into_iter().enumerate() {
        let init = if i == 0 {
            init.clone()
        } else {
            app.init(&app.demo[1].1).await
        };
        let out = app.answer(&init, 1, answer).await;
        assert_eq!(out["code"], "F017", "case {i}: {out}");
    }
    for body in [
        serde_json::json!({"certifyId": "x", "nonce": "y", "attempt": -1, "answer": {"kind": "slider"}}),
        serde_json::json!({"certifyId": "x", "nonce": "y", "attempt": 1, "answer": {"kind": "teleport"}}),
        serde_json::json!({"certifyId": 5}),
        serde_json::json!([]),
    ] {
        let (s, out) = app.post_json("/api/v1/answer", &body).await;
        assert_eq!(
            (s, out["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("InvalidParameter")),
            "{body}"
        );
    }
}

#[tokio::test]
async fn random_bytes_at_every_endpoint_never_cause_a_5xx() {
    let app = spawn().await;
    let mut seed: u64 = 0x5eed;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let endpoints = [
        "/api/v1/init",
        "/api/v1/answer",
        "/",
        "/admin/v1/scenes",
        "/admin/v1/tenants",
        "/demo/api/abc/submit",
    ];
    for round in 0..60 {
        let len = (next() % 300) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let path = endpoints[round % endpoints.len()];
        let ctype = [
            "application/json",
            "application/x-www-form-urlencoded",
            "text/plain",
        ][round % 3];
        let resp = app
            .http
            .post(format!("{}{path}", app.base))
            .header("content-type", ctype)
            .bearer_auth(&app.admin_token)
            .body(bytes)
            .send()
            .await
            .unwrap();
        assert!(
            resp.status().is_client_error(),
            "{path} with {ctype} gave {}",
            resp.status()
        );
    }
}
