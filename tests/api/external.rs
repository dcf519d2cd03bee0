//! Tests that drive the server with real outside clients: the official Alibaba Cloud Python
//! SDK, and Chromium through Playwright. They skip, saying why, when the tool is not
//! installed — unless `STILE_REQUIRE_EXTERNAL=1` (set by CI), which turns a skip into a
//! failure.

use std::path::Path;
use std::process::Command;

use stile::model::VerificationType;

use crate::helpers::spawn;

/// Whether to run a test whose prerequisite is `available`; panics in CI when it is not.
fn prerequisite(what: &str, available: bool) -> bool {
    if available {
        return true;
    }
    if std::env::var("STILE_REQUIRE_EXTERNAL").is_ok_and(|v| v == "1") {
        panic!("{what} is required (STILE_REQUIRE_EXTERNAL=1) but not installed; see .ci/run");
    }
    eprintln!("SKIPPED: {what} is not installed; see README (Tests) for how to install it");
    false
}

fn command_succeeds(cmd: &mut Command) -> bool {
    cmd.output().is_ok_and(|o| o.status.success())
}

#[tokio::test]
async fn official_aliyun_python_sdk_verifies_against_stile() {
    let has_sdk = command_succeeds(
        Command::new("python3").args(["-c", "import alibabacloud_captcha20230305"]),
    );
    if !prerequisite(
        "python3 with alibabacloud-captcha20230305 (pip install -r tests/sdk/requirements.txt)",
        has_sdk,
    ) {
        return;
    }
    let app = spawn().await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/aliyun_sdk_check.py");
    let args = [
        app.base.clone(),
        app.ak_id.clone(),
        app.ak_secret.clone(),
        app.scene(VerificationType::Slider),
        app.scene(VerificationType::OneClick),
        app.admin_token.clone(),
        app.tenant_id.clone(),
    ];
    let out = tokio::process::Command::new("python3")
        .arg(script)
        .args(&args)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "SDK checks failed:\n{stdout}");
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}

/// Whether Chromium, node and playwright-core are there (see `prerequisite`).
pub(crate) fn browser_ready(root: &Path) -> bool {
    let ready = Path::new("/usr/bin/chromium").exists()
        && root
            .join("tests/browser/node_modules/playwright-core")
            .exists()
        && command_succeeds(Command::new("node").arg("--version"));
    prerequisite(
        "chromium + node + playwright-core (cd tests/browser && npm ci)",
        ready,
    )
}

/// Run a browser script with `args`; assert it ran and reported no failure. On a failure the
/// server's side of the story is printed too: what the risk engine recorded for every answer
/// in `recorded` (scenes in recording mode), since the client is never told why it was refused.
async fn run_browser_script(
    app: &crate::helpers::TestApp,
    recorded: &[&str],
    script: &str,
    args: &[String],
) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tokio::process::Command::new("node")
        .arg(root.join("tests/browser").join(script))
        .args(args)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let passed = out.status.success() && stdout.contains(" passed, 0 failed");
    if !passed || std::env::var_os("STILE_SHOW_VERDICTS").is_some() {
        for scene in recorded {
            println!("the server's verdicts for scene {scene}:");
            for line in recorded_verdicts(app, scene).await {
                println!("  {line}");
            }
        }
    }
    assert!(passed, "browser checks failed:\n{stdout}");
}

/// One line per recorded answer of `scene`: outcome, pointer, point count and the reasons.
async fn recorded_verdicts(app: &crate::helpers::TestApp, scene: &str) -> Vec<String> {
    let text = app.traces(scene).await;
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap_or_default();
            format!(
                "{} {} {} points, reasons {}",
                v["outcome"],
                v["pointer"],
                v["points"].as_array().map_or(0, Vec::len),
                v["reasons"]
            )
        })
        .collect()
}

/// A new slider scene in Basic mode with recording on, so that a failed browser run can show
/// why the server refused what it refused.
/// `pow_bits` fixes the proof-of-work asked (base and ceiling), or leaves the default.
async fn recorded_slider_scene(app: &crate::helpers::TestApp, pow_bits: Option<u8>) -> String {
    recorded_scene(app, "slider", pow_bits).await
}

/// A new scene of `kind` in Basic mode with recording on (see [`recorded_slider_scene`]).
async fn recorded_scene(app: &crate::helpers::TestApp, kind: &str, pow_bits: Option<u8>) -> String {
    let mut policy = serde_json::json!({"maxAttempts": 5, "shadow": false, "record": true});
    if let Some(bits) = pow_bits {
        policy["pow"] = serde_json::json!({"base": bits, "max": bits});
    }
    let scene = serde_json::json!({"name": "browser", "type": kind, "mode": "basic",
                                   "policy": policy});
    let (s, body) = app.admin("POST", "/admin/v1/scenes", Some(scene)).await;
    assert_eq!(s, reqwest::StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// Turn recording on for an existing scene, its policy otherwise as it was.
async fn record_on(app: &crate::helpers::TestApp, scene: &str) {
    let path = format!("/admin/v1/scenes/{scene}");
    let (s, body) = app.admin("GET", &path, None).await;
    assert_eq!(s, reqwest::StatusCode::OK, "{body}");
    let mut policy = body["policy"].clone();
    policy["record"] = true.into();
    let patch = serde_json::json!({ "policy": policy });
    let (s, body) = app.admin("PATCH", &path, Some(patch)).await;
    assert_eq!(s, reqwest::StatusCode::OK, "{body}");
}

/// For a browser check: a running app and the screenshot folder, or `None` (said so) when
/// Chromium, node or playwright-core is missing.
async fn browser_app() -> Option<(crate::helpers::TestApp, std::path::PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if !browser_ready(root) {
        return None;
    }
    let shots = root.join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    Some((spawn().await, shots))
}

#[tokio::test]
async fn slider_passes_on_the_demo_in_real_chromium() {
    let Some((app, shots)) = browser_app().await else {
        return;
    };
    let scene = recorded_slider_scene(&app, None).await;
    let heavy = recorded_slider_scene(&app, Some(18)).await;
    let args = [
        app.base.clone(),
        scene.clone(),
        shots.display().to_string(),
        heavy.clone(),
    ];
    run_browser_script(&app, &[&scene, &heavy], "slider.mjs", &args).await;
}

/// A test-only oracle for the browser run: what a person *sees* in a picture challenge
/// (where the gap or the missing object is), read from the app's own store. It runs in the
/// test process on its own port; the server under test has no such endpoint.
async fn picture_oracle(app: &crate::helpers::TestApp) -> String {
    use axum::extract::{Path as UrlPath, State};
    use stile::challenge::Secret;
    let stores = app.stores.clone();
    let clock = app.clock.clone();
    let router = axum::Router::new()
        .route(
            "/secret/{certify_id}",
            axum::routing::get(
                |State((stores, clock)): State<(stile::store::Stores, stile::clock::Clock)>,
                 UrlPath(id): UrlPath<String>| async move {
                    let cycle = stores.hot.cycle(&id, clock.now_ms()).await.ok().flatten();
                    match cycle.map(|(c, _)| c.secret) {
                        Some(Secret::Jigsaw(s) | Secret::ImageRestoration(s)) => axum::Json(
                            serde_json::json!({"targetX": s.target_x, "partW": s.part_w}),
                        ),
                        _ => axum::Json(serde_json::json!({})),
                    }
                },
            ),
        )
        .with_state((stores, clock));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn every_type_works_in_real_chromium() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if !browser_ready(root) {
        return;
    }
    let app = spawn().await;
    let oracle = picture_oracle(&app).await;
    let mut scenes: serde_json::Map<String, serde_json::Value> = app
        .demo
        .iter()
        .map(|(k, id)| (k.as_str().to_owned(), serde_json::Value::from(id.clone())))
        .collect();
    // Every demo scene records, so a failed run shows why the server refused what it did.
    let mut recorded: Vec<String> = Vec::new();
    for (_, id) in &app.demo {
        record_on(&app, id).await;
        recorded.push(id.clone());
    }
    // One-click on a recorded scene: what the approach model makes of Chromium's events.
    let one_click = recorded_scene(&app, "one-click", None).await;
    scenes.insert("one-click".into(), one_click.clone().into());
    recorded.push(one_click.clone());
    let shots = root.join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let args = [
        app.base.clone(),
        oracle,
        serde_json::Value::Object(scenes).to_string(),
        shots.display().to_string(),
    ];
    let recorded: Vec<&str> = recorded.iter().map(String::as_str).collect();
    run_browser_script(&app, &recorded, "types.mjs", &args).await;
    // Every mouse approach the browser made, judged again by the approach model; kept for
    // `risk::behaviour::inspect`. A person's approach is flagged 3% of the time by design;
    // most of them flagged would mean the model has learnt something real browsers do not
    // do (as the drag model once had: docs/MODEL_CARD.md).
    let text = app.traces(&one_click).await;
    let approaches: Vec<Vec<[f64; 3]>> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["pointer"] == "mouse")
        .filter_map(|v| serde_json::from_value(v["points"].clone()).ok())
        .collect();
    let flagged = approaches
        .iter()
        .filter(|p| {
            let (click, points) = p.split_last().unwrap();
            !stile::risk::behaviour::assess_approach(points, *click).is_empty()
        })
        .count();
    let lines: Vec<String> = approaches
        .iter()
        .map(|p| serde_json::to_string(p).unwrap())
        .collect();
    std::fs::write(shots.join("approaches.jsonl"), lines.join("\n") + "\n").unwrap();
    println!(
        "approach model: {flagged} of {} Chromium approaches flagged",
        approaches.len()
    );
    assert!(
        !approaches.is_empty(),
        "the one-click checks recorded no approach"
    );
    assert!(
        flagged * 2 <= approaches.len(),
        "{flagged} of {} approaches flagged",
        approaches.len()
    );
}

#[tokio::test]
async fn a_throttled_widget_says_the_network_is_busy_in_real_chromium() {
    let Some((app, shots)) = browser_app().await else {
        return;
    };
    let scene = app.scene(stile::model::VerificationType::Slider);
    let (s, body) = app
        .admin(
            "PATCH",
            &format!("/admin/v1/tenants/{}", app.tenant_id),
            Some(serde_json::json!({"qpsQuota": 1, "criticalShare": 0})),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::OK, "{body}");
    // Ten seconds of in-flight work (server verifications) at a quota of one per second
    // keep new inits out for about ten seconds.
    let mut admitted = 0;
    loop {
        let (status, _) = app
            .signed_verify(&app.ak_id, &app.ak_secret, "not-a-token", None)
            .await;
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            break;
        }
        admitted += 1;
        assert!(admitted <= 12, "verifications were never throttled");
    }
    let back_at = app.clock.now_ms() + 10_500;
    let args = [
        app.base.clone(),
        scene.clone(),
        shots.display().to_string(),
        back_at.to_string(),
    ];
    run_browser_script(&app, &[], "throttled.mjs", &args).await;
}
