//! Start-up, restarts and durability, operator-supplied credentials, operations endpoints,
//! and the OpenAPI document's coverage of the served routes.

use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use stile::model::VerificationType;

use crate::helpers::{spawn, spawn_in};

#[tokio::test]
async fn state_survives_a_restart_and_tokens_stay_single_use() {
    let app = spawn().await;
    let scene = app.scene(VerificationType::Slider);
    let (_, created) = app
        .admin(
            "POST",
            "/admin/v1/scenes",
            Some(json!({"name": "Durable", "type": "slider"})),
        )
        .await;
    let token = app.pass_token(&scene).await;
    assert_eq!(
        app.server_verify(&token, Some(&scene)).await["VerifyCode"],
        "T001"
    );
    let unused = app.pass_token(&scene).await;
    let (admin, ak, secret) = (
        app.admin_token.clone(),
        app.ak_id.clone(),
        app.ak_secret.clone(),
    );
    let dir = app.stop().await;

    let mut app = spawn_in(dir, |_| {}).await;
    assert!(app.demo.is_empty(), "a second start creates nothing");
    app.admin_token = admin;
    app.ak_id = ak;
    app.ak_secret = secret;
    let (s, got) = app
        .admin(
            "GET",
            &format!("/admin/v1/scenes/{}", created["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!((s, got["name"].as_str()), (StatusCode::OK, Some("Durable")));
    assert_eq!(
        app.server_verify(&token, Some(&scene)).await["VerifyCode"],
        "F008",
        "replay after restart"
    );
    assert_eq!(
        app.server_verify(&unused, Some(&scene)).await["VerifyCode"],
        "T001",
        "keys survive a restart"
    );
}

#[tokio::test]
async fn operator_credentials_from_settings_work() {
    let app = spawn_in(tempfile::tempdir().unwrap(), |s| {
        s.bootstrap.admin_token = Some("operator-admin-token-0123456789".into());
        s.bootstrap.access_key_id = Some("STKOPERATOR".into());
        s.bootstrap.access_key_secret = Some("operator-secret-0123456789".into());
    })
    .await;
    let (s, _) = app
        .admin_as(
            "operator-admin-token-0123456789",
            "GET",
            "/admin/v1/tenants",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let token = app.pass_token(&app.scene(VerificationType::Slider)).await;
    let (s, body) = app
        .signed_verify("STKOPERATOR", "operator-secret-0123456789", &token, None)
        .await;
    assert_eq!(
        (s, body["Result"]["VerifyCode"].as_str()),
        (StatusCode::OK, Some("T001"))
    );
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = spawn().await;
    let get = |p: &str| app.http.get(format!("{}{p}", app.base)).send();
    assert_eq!(get("/healthz").await.unwrap().status(), StatusCode::OK);
    assert_eq!(get("/readyz").await.unwrap().status(), StatusCode::OK);
    let scene = app.scene(VerificationType::Slider);
    let token = app.pass_token(&scene).await;
    app.server_verify(&token, Some(&scene)).await;
    let text = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(
        text.contains(
            "stile_http_requests_total{route=\"/api/v1/init\",method=\"POST\",status=\"200\"}"
        ),
        "{text}"
    );
    assert!(text.contains(&format!("stile_verifications_total{{stage=\"server\",scene=\"{scene}\",type=\"-\",code=\"T001\"}} 1")), "{text}");
    assert!(text.contains("stile_http_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn every_documented_route_is_served() {
    let app = spawn().await;
    let doc: Value = app
        .http
        .get(format!("{}/admin/v1/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 20);
    for (path, item) in paths {
        let concrete = path
            .replace("{id}", "zzzz")
            .replace("{image_id}", "img-zzzz")
            .replace("{scene}", &app.demo[1].1);
        for method in ["get", "post", "patch", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let resp = app
                .http
                .request(m, format!("{}{concrete}", app.base))
                .bearer_auth(&app.admin_token)
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            let status = resp.status();
            let body = resp.text().await.unwrap();
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert!(
                !body.contains("no such endpoint"),
                "{method} {path} is documented but not routed"
            );
            assert!(
                !status.is_server_error(),
                "{method} {path}: {status} {body}"
            );
        }
    }
}

/// The real binary on a data directory and a free port of its own.
struct Binary {
    port: u16,
}

impl Binary {
    fn new() -> Binary {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        Binary { port }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The command that starts it on `dir`, its output discarded.
    fn command(&self, dir: &std::path::Path) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_stile"));
        c.env("STILE_DATA_DIR", dir)
            .env("STILE_LISTEN", format!("127.0.0.1:{}", self.port))
            .env_remove("STILE_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    }

    async fn wait_ready(&self, http: &reqwest::Client) {
        for _ in 0..200 {
            if let Ok(r) = http.get(format!("{}/readyz", self.base())).send().await
                && r.status() == StatusCode::OK
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("server did not become ready");
    }
}

/// The real binary, killed with SIGKILL right after acknowledging a change, keeps it.
#[tokio::test]
async fn a_killed_process_loses_no_acknowledged_change() {
    let dir = tempfile::tempdir().unwrap();
    let bin = Binary::new();
    let start = || {
        bin.command(dir.path())
            .env("STILE_ADMIN_TOKEN", "kill-test-admin-token-000000")
            .spawn()
            .unwrap()
    };
    let http = reqwest::Client::new();
    let base = bin.base();
    let mut child = start();
    bin.wait_ready(&http).await;
    let mut ids = Vec::new();
    for i in 0..20 {
        let r = http
            .post(format!("{base}/admin/v1/scenes"))
            .bearer_auth("kill-test-admin-token-000000")
            .json(&json!({"name": format!("k{i}"), "type": "slider"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        ids.push(
            r.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let mut child = start();
    bin.wait_ready(&http).await;
    for id in &ids {
        let r = http
            .get(format!("{base}/admin/v1/scenes/{id}"))
            .bearer_auth("kill-test-admin-token-000000")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "scene {id} lost");
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

/// The real binary's log lines (written from a thread of their own) all reach stderr
/// when it is stopped with SIGTERM, in order and without colour codes in a pipe.
#[tokio::test]
async fn log_lines_reach_stderr_when_the_server_stops() {
    let dir = tempfile::tempdir().unwrap();
    let bin = Binary::new();
    let child = bin
        .command(dir.path())
        .env("STILE_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    bin.wait_ready(&reqwest::Client::new()).await;
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    let log = String::from_utf8(out.stderr).unwrap();
    let serving = log.find("serving").expect("no start-up line");
    let stopping = log
        .find("shutting down")
        .expect("the last lines were not written before exit");
    assert!(serving < stopping, "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "colour codes in a piped log: {log}"
    );
}
