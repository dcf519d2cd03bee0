//! The admin API: authentication and roles, tenants, access keys, scenes and validation.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::spawn;

#[tokio::test]
async fn admin_api_requires_a_token_and_viewers_only_read() {
    let app = spawn().await;
    let (s, body) = app.admin_as("", "GET", "/admin/v1/scenes", None).await;
    assert_eq!(
        (s, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("Unauthorized"))
    );
    let (s, _) = app
        .admin_as("stile_not_a_real_token", "GET", "/admin/v1/scenes", None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, body) = app
        .admin(
            "POST",
            "/admin/v1/admin-tokens",
            Some(json!({"role": "viewer", "label": "ro"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let viewer = body["token"].as_str().unwrap();
    let (s, body) = app.admin_as(viewer, "GET", "/admin/v1/scenes", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        body["scenes"].as_array().unwrap().len(),
        5,
        "one demo scene per type"
    );
    let (s, body) = app
        .admin_as(
            viewer,
            "POST",
            "/admin/v1/scenes",
            Some(json!({"name": "x", "type": "slider"})),
        )
        .await;
    assert_eq!(
        (s, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("Forbidden"))
    );
}

#[tokio::test]
async fn scene_crud_with_every_field() {
    let app = spawn().await;
    let spec = json!({
        "name": "Checkout", "type": "no-captcha", "secondaryType": "jigsaw", "integration": "webview",
        "status": "test", "testPreset": "silent-fail-secondary-pass", "mode": "advanced",
        "policy": {"maxAttempts": 3, "shadow": true, "allowIps": ["203.0.113.0/24"], "record": true,
                   "limits": {"ipPerHour": 100, "ipPerDay": 200, "devicePerHour": 10,
                              "devicePerDay": 20, "initsPerMinute": 30},
                   "pow": {"base": 10, "max": 16}},
        "language": "ar",
        "customText": {"SLIDE_TIP": "اسحب"}, "allowedUrls": ["shop.test"], "encryption": false
    });
    let (s, created) = app.admin("POST", "/admin/v1/scenes", Some(spec)).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    assert_eq!(id.len(), 8);
    assert_eq!(created["tenantId"], app.tenant_id.as_str());
    let (s, got) = app
        .admin("GET", &format!("/admin/v1/scenes/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(got, created);
    for (field, value) in [
        ("secondaryType", json!("jigsaw")),
        ("integration", json!("webview")),
        ("mode", json!("advanced")),
        (
            "policy",
            json!({"maxAttempts": 3, "shadow": true, "allowIps": ["203.0.113.0/24"], "record": true,
                   "limits": {"ipPerHour": 100, "ipPerDay": 200, "devicePerHour": 10,
                              "devicePerDay": 20, "initsPerMinute": 30},
                   "pow": {"base": 10, "max": 16}}),
        ),
        ("language", json!("ar")),
        ("allowedUrls", json!(["shop.test"])),
    ] {
        assert_eq!(got[field], value, "{field}");
    }
    let (s, patched) = app
        .admin(
            "PATCH",
            &format!("/admin/v1/scenes/{id}"),
            Some(json!({"name": "Checkout 2", "mode": "basic"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (patched["name"].as_str(), patched["mode"].as_str()),
        (Some("Checkout 2"), Some("basic"))
    );
    let (s, list) = app
        .admin(
            "GET",
            &format!("/admin/v1/scenes?tenantId={}", app.tenant_id),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["scenes"].as_array().unwrap().len(), 6);
    let (s, _) = app
        .admin("DELETE", &format!("/admin/v1/scenes/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, body) = app
        .admin("GET", &format!("/admin/v1/scenes/{id}"), None)
        .await;
    assert_eq!(
        (s, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("NotFound"))
    );
    let (s, _) = app
        .admin("DELETE", &format!("/admin/v1/scenes/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn scene_validation_names_the_field_and_changes_nothing() {
    let app = spawn().await;
    let cases = [
        (json!({"name": "", "type": "slider"}), "name"),
        (json!({"name": "x".repeat(33), "type": "slider"}), "name"),
        (json!({"type": "slider"}), "name"),
        (json!({"name": "a"}), "type"),
        (
            json!({"name": "a", "type": "slider", "secondaryType": "jigsaw"}),
            "secondaryType",
        ),
        (
            json!({"name": "a", "type": "no-captcha", "secondaryType": "no-captcha"}),
            "secondaryType",
        ),
        (
            json!({"name": "a", "type": "slider", "testPreset": "silent-pass"}),
            "testPreset",
        ),
        (
            json!({"name": "a", "type": "slider", "language": "xx"}),
            "language",
        ),
        (
            json!({"name": "a", "type": "slider", "policy": {"maxAttempts": 0, "shadow": false}}),
            "policy.maxAttempts",
        ),
        (
            json!({"name": "a", "type": "slider", "customText": {"NOPE": "x"}}),
            "customText",
        ),
    ];
    for (body, field) in cases {
        let (s, err) = app
            .admin("POST", "/admin/v1/scenes", Some(body.clone()))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            (err["code"].as_str(), err["field"].as_str()),
            (Some("InvalidParameter"), Some(field)),
            "{body}: {err}"
        );
    }
    for body in [
        json!({"name": "a", "type": "captcha"}),
        json!({"name": "a", "type": "slider", "bogus": 1}),
    ] {
        let (s, err) = app
            .admin("POST", "/admin/v1/scenes", Some(body.clone()))
            .await;
        assert_eq!(
            (s, err["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("InvalidParameter")),
            "{body}"
        );
    }
    let (_, list) = app.admin("GET", "/admin/v1/scenes", None).await;
    assert_eq!(
        list["scenes"].as_array().unwrap().len(),
        5,
        "no failed request created a scene"
    );

    let scene = app.demo[1].1.clone();
    let (_, before) = app
        .admin("GET", &format!("/admin/v1/scenes/{scene}"), None)
        .await;
    let (s, err) = app
        .admin(
            "PATCH",
            &format!("/admin/v1/scenes/{scene}"),
            Some(json!({"integration": "webview"})),
        )
        .await;
    assert_eq!(
        (s, err["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("integration"))
    );
    let (s, _) = app
        .admin(
            "PATCH",
            &format!("/admin/v1/scenes/{scene}"),
            Some(json!({"name": "ok", "language": "zz"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, after) = app
        .admin("GET", &format!("/admin/v1/scenes/{scene}"), None)
        .await;
    assert_eq!(before, after, "a refused patch changes nothing");
}

#[tokio::test]
async fn tenants_and_access_keys() {
    let app = spawn().await;
    let (s, t) = app
        .admin(
            "POST",
            "/admin/v1/tenants",
            Some(json!({"name": "Shop", "prefix": "shop01", "qpsQuota": 50})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let tid = t["id"].as_str().unwrap().to_owned();
    let (s, e) = app
        .admin(
            "POST",
            "/admin/v1/tenants",
            Some(json!({"name": "Dup", "prefix": "shop01"})),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("Conflict"))
    );
    let (s, e) = app
        .admin(
            "POST",
            "/admin/v1/tenants",
            Some(json!({"name": "Bad", "prefix": "Has Space"})),
        )
        .await;
    assert_eq!(
        (s, e["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("prefix"))
    );
    let (s, e) = app
        .admin(
            "PATCH",
            &format!("/admin/v1/tenants/{tid}"),
            Some(json!({"qpsQuota": 0})),
        )
        .await;
    assert_eq!(
        (s, e["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("qpsQuota"))
    );
    let (s, t2) = app
        .admin(
            "PATCH",
            &format!("/admin/v1/tenants/{tid}"),
            Some(json!({"qpsQuota": 2000})),
        )
        .await;
    assert_eq!((s, t2["qpsQuota"].as_u64()), (StatusCode::OK, Some(2000)));

    let (s, key) = app
        .admin(
            "POST",
            &format!("/admin/v1/tenants/{tid}/access-keys"),
            Some(json!({"description": "backend"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(key["secret"].as_str().unwrap().len(), 30);
    let kid = key["id"].as_str().unwrap();
    let (_, list) = app
        .admin("GET", &format!("/admin/v1/tenants/{tid}/access-keys"), None)
        .await;
    let keys = list["accessKeys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert!(
        keys[0].get("secret").is_none(),
        "secrets are shown once only"
    );
    let (s, k) = app
        .admin(
            "PATCH",
            &format!("/admin/v1/access-keys/{kid}"),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!((s, k["enabled"].as_bool()), (StatusCode::OK, Some(false)));
    let (s, _) = app
        .admin("DELETE", &format!("/admin/v1/access-keys/{kid}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app
        .admin("GET", &format!("/admin/v1/access-keys/{kid}"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // A scene of the new tenant, then the tenant's deletion takes it along.
    let (s, scene) = app
        .admin(
            "POST",
            "/admin/v1/scenes",
            Some(json!({"tenantId": tid, "name": "s", "type": "slider"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = app
        .admin("DELETE", &format!("/admin/v1/tenants/{tid}"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app
        .admin(
            "GET",
            &format!("/admin/v1/scenes/{}", scene["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .admin(
            "POST",
            "/admin/v1/scenes",
            Some(json!({"tenantId": tid, "name": "s", "type": "slider"})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_codes_table_is_served() {
    let app = spawn().await;
    let (s, body) = app.admin("GET", "/admin/v1/codes", None).await;
    assert_eq!(s, StatusCode::OK);
    let codes = body["codes"].as_array().unwrap();
    assert_eq!(codes.len(), 21);
    assert!(codes.iter().any(|c| c["code"] == "S001"));
    assert!(
        codes
            .iter()
            .any(|c| c["code"] == "F008" && c["meaning"].as_str().unwrap().contains("replay"))
    );
}
