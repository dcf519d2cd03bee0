//! The demo at `/demo`: a page per demo scene with a sample business form, and that form's
//! own backend, which verifies the widget's token through the real server-verification API
//! over HTTP (signed with ACS3-HMAC-SHA256, exactly as an integrator's backend would).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::aliyun::API_VERSION;
use super::error::{ApiError, ApiJson};
use crate::acs3;
use crate::ids;

const PAGE: &str = include_str!("../../widget/demo.html");
const INDEX: &str = include_str!("../../widget/demo-index.html");
const FORM_PAGE: &str = include_str!("../../widget/demo-form.html");

/// The meta key listing the demo scenes' ids.
pub const DEMO_SCENES_META: &str = "demo-scenes";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/demo", get(index))
        .route("/demo/{scene}", get(page))
        .route("/demo/api/{scene}/submit", post(submit))
        .route("/demo/form/{scene}", get(form_page).post(form_submit))
}

/// Escape text for HTML element and attribute content.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

async fn demo_scene_ids(st: &AppState) -> Result<Vec<String>, ApiError> {
    let raw = st
        .stores
        .config
        .meta(DEMO_SCENES_META)
        .await?
        .unwrap_or_default();
    Ok(serde_json::from_slice(&raw).unwrap_or_default())
}

async fn index(State(st): State<AppState>) -> Result<Html<String>, ApiError> {
    let mut items = String::new();
    for id in demo_scene_ids(&st).await? {
        if let Some(scene) = st.stores.config.scene(&id).await? {
            items.push_str(&format!(
                "<li><a href=\"/demo/{id}\"><span class=\"name\">{}</span><span class=\"type\">{}</span></a></li>\n",
                html_escape(&scene.name),
                scene.kind,
                id = html_escape(&scene.id),
            ));
        }
    }
    Ok(Html(INDEX.replace("{{SCENE_LIST}}", &items)))
}

#[derive(Deserialize)]
struct PageQuery {
    mode: Option<String>,
    style: Option<String>,
    lang: Option<String>,
}

/// The page for an unknown demo scene.
fn no_such_scene() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html("<h1>No such demo scene</h1><p><a href=\"/demo\">All demos</a></p>".to_owned()),
    )
        .into_response()
}

/// The language a demo page asks for, when built in; else the scene's default.
fn page_lang(asked: Option<String>, scene: &crate::model::Scene) -> String {
    asked
        .filter(|l| crate::model::LANGUAGES.contains(&l.as_str()))
        .unwrap_or_else(|| scene.language.clone())
}

async fn page(
    State(st): State<AppState>,
    Path(scene_id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, ApiError> {
    let scene = match st.stores.config.scene(&scene_id).await? {
        Some(scene) => scene,
        None => return Ok(no_such_scene()),
    };
    let prefix = st
        .stores
        .config
        .tenant(&scene.tenant_id)
        .await?
        .map(|t| t.prefix)
        .unwrap_or_default();
    let mode = if q.mode.as_deref() == Some("embed") {
        "embed"
    } else {
        "popup"
    };
    let style = if q.style.as_deref() == Some("success") {
        "success"
    } else {
        "callback"
    };
    let lang = page_lang(q.lang, &scene);
    let html = PAGE
        .replace("{{SCENE_ID}}", &html_escape(&scene.id))
        .replace("{{SCENE_NAME}}", &html_escape(&scene.name))
        .replace("{{TYPE}}", scene.kind.as_str())
        .replace("{{PREFIX}}", &html_escape(&prefix))
        .replace("{{MODE}}", mode)
        .replace("{{STYLE}}", style)
        .replace("{{LANG}}", &lang);
    Ok(Html(html).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubmitBody {
    captcha_verify_param: String,
    #[serde(default)]
    #[allow(dead_code)]
    username: String,
}

/// The sample business backend: verify the token over HTTP, then "create the account".
async fn submit(
    State(st): State<AppState>,
    Path(scene_id): Path<String>,
    ApiJson(body): ApiJson<SubmitBody>,
) -> Result<Json<Value>, ApiError> {
    let reply = verify_over_http(&st, &scene_id, &body.captcha_verify_param).await?;
    let verify_result = reply["Result"]["VerifyResult"].as_bool().unwrap_or(false);
    Ok(Json(json!({
        "captchaResult": verify_result,
        "bizResult": verify_result,
        "verifyCode": reply["Result"]["VerifyCode"],
        "requestId": reply["RequestId"],
        "error": reply.get("Code").filter(|c| *c != "Success"),
    })))
}

/// Call `VerifyIntelligentCaptcha` on this server over HTTP with the demo's access key, as an
/// integrator's backend would; the JSON reply.
async fn verify_over_http(st: &AppState, scene_id: &str, param: &str) -> Result<Value, ApiError> {
    let creds = st
        .demo
        .get()
        .ok_or_else(|| ApiError::internal("demo credentials are not configured"))?;
    let base = st
        .base_url
        .get()
        .ok_or_else(|| ApiError::internal("base URL unknown"))?;
    let host = base
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .trim_end_matches('/');
    let form = serde_urlencoded::to_string([("CaptchaVerifyParam", param), ("SceneId", scene_id)])
        .map_err(ApiError::internal)?;
    let date = time::OffsetDateTime::now_utc()
        .format(&time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
        .map_err(ApiError::internal)?;
    let headers = acs3::sign_rpc_form(
        &acs3::RpcCall {
            host,
            action: "VerifyIntelligentCaptcha",
            version: API_VERSION,
            body: &form,
            date: &date,
            nonce: &ids::nonce(16),
        },
        &creds.access_key_id,
        &creds.access_key_secret,
    );
    let mut req = st
        .http
        .post(format!("{}/", base.trim_end_matches('/')))
        .body(form);
    for (name, value) in headers.iter().filter(|(n, _)| n != "host") {
        req = req.header(name.as_str(), value.as_str());
    }
    let resp = req.send().await.map_err(ApiError::internal)?;
    resp.json().await.map_err(ApiError::internal)
}

/// The declarative integration: two plain HTML forms on one page, each with a
/// `<div class="stile-captcha">` that fills a hidden field; a classic form POST.
async fn form_page(
    State(st): State<AppState>,
    Path(scene_id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, ApiError> {
    let scene = match st.stores.config.scene(&scene_id).await? {
        Some(scene) => scene,
        None => return Ok(no_such_scene()),
    };
    let lang = page_lang(q.lang, &scene);
    let html = FORM_PAGE
        .replace("{{SCENE_ID}}", &html_escape(&scene.id))
        .replace("{{SCENE_NAME}}", &html_escape(&scene.name))
        .replace("{{LANG}}", &lang);
    Ok(Html(html).into_response())
}

#[derive(Deserialize)]
struct FormPost {
    #[serde(default, rename = "captchaVerifyParam")]
    captcha_verify_param: String,
    #[serde(default)]
    form: String,
}

/// The form's backend: verify the hidden field's token, answer with a small HTML page.
async fn form_submit(
    State(st): State<AppState>,
    Path(scene_id): Path<String>,
    axum::Form(post): axum::Form<FormPost>,
) -> Result<Html<String>, ApiError> {
    let reply = verify_over_http(&st, &scene_id, &post.captcha_verify_param).await?;
    let code = reply["Result"]["VerifyCode"]
        .as_str()
        .unwrap_or("-")
        .to_owned();
    let ok = reply["Result"]["VerifyResult"].as_bool().unwrap_or(false);
    Ok(Html(format!(
        "<!doctype html><meta charset=utf-8><title>Verdict</title>\
         <body style=\"font:16px system-ui;margin:40px\"><h1>{}</h1>\
         <p id=verdict data-code=\"{code}\" data-result=\"{ok}\" data-form=\"{}\">VerifyCode {code}</p>\
         <p><a href=\"/demo/form/{}\">Back</a></p>",
        if ok {
            "Signed up"
        } else {
            "Verification failed"
        },
        html_escape(&post.form),
        html_escape(&scene_id),
    )))
}
