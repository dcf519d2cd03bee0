//! The widget API (`/api/v1/init`, `/api/v1/answer`) and the widget script itself, served
//! minified (and readable at `/widget/AliyunCaptcha.src.js`). These endpoints are called
//! cross-origin from integrators' pages.

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::error::{ApiError, ApiJson};
use super::{AppState, Peer};
use crate::codes::VerifyCode;
use crate::cycle::{AnswerInput, AnswerOutput, InitInput, InitOutput};

/// The widget source, embedded at build time; `__STILE_TEXT__` marks where the text table goes.
const WIDGET_SRC: &str = include_str!("../../widget/AliyunCaptcha.js");

/// The built-in texts: 17 languages × 13 keys (strict JSON, also a JS expression).
pub const LANG_JSON: &str = include_str!("../../widget/lang.json");

/// The readable script: the source with its text table filled in
/// (`/widget/AliyunCaptcha.src.js`, for operators reading what their pages run).
pub static WIDGET_SOURCE_JS: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| WIDGET_SRC.replacen("__STILE_TEXT__", LANG_JSON.trim(), 1));

/// The script as served to pages: the readable one minified, its local names mangled
/// (made once, at the first request). Should the minifier ever fail on it, the readable
/// script is served instead and the failure logged.
pub static WIDGET_JS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    minify(&WIDGET_SOURCE_JS).unwrap_or_else(|e| {
        tracing::warn!("the widget could not be minified ({e}); serving it as written");
        WIDGET_SOURCE_JS.clone()
    })
});

/// `source` minified: compressed, local names mangled, whitespace and comments gone.
fn minify(source: &str) -> Result<String, String> {
    use oxc_allocator::Allocator;
    use oxc_codegen::{Codegen, CodegenOptions};
    use oxc_minifier::{Minifier, MinifierOptions};
    use oxc_parser::Parser;
    use oxc_span::SourceType;
    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, source, SourceType::script()).parse();
    if parsed.panicked || parsed.diagnostics.has_errors() {
        let first = parsed.diagnostics.errors().next().map(ToString::to_string);
        return Err(format!("parse error: {}", first.unwrap_or_default()));
    }
    let mut program = parsed.program;
    let minified = Minifier::new(MinifierOptions::default()).minify(&allocator, &mut program);
    let code = Codegen::new()
        .with_options(CodegenOptions::minify())
        .with_scoping(minified.scoping)
        .build(&program)
        .code;
    Ok(code)
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/init", post(init))
        .route("/api/v1/answer", post(answer))
        .route("/widget/AliyunCaptcha.js", get(script))
        .route("/widget/AliyunCaptcha.src.js", get(readable_script))
}

/// Where the served script holds the current codebook (`risk::dynamic::Codebook`).
const CODEBOOK_MARK: &str = "__STILE_DV__";

/// `script` with the current codebook written in.
fn with_codebook(script: &str, state: &AppState) -> String {
    script.replace(CODEBOOK_MARK, &state.cycles.current_codebook().to_js())
}

fn javascript(body: String) -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                "application/javascript; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-cache"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        body,
    )
}

async fn script(State(state): State<AppState>) -> impl IntoResponse {
    javascript(with_codebook(&WIDGET_JS, &state))
}

async fn readable_script(State(state): State<AppState>) -> impl IntoResponse {
    javascript(with_codebook(&WIDGET_SOURCE_JS, &state))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InitBody {
    scene_id: String,
    #[serde(default)]
    prefix: Option<String>,
    #[serde(default)]
    page_url: Option<String>,
    #[serde(default)]
    device_token: Option<String>,
    /// Encryption mode: the backend's `EncryptedSceneId` (F022 when missing or invalid).
    #[serde(default)]
    encrypted_scene_id: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    lang: Option<String>,
    /// The epoch of the codebook the widget was served with.
    #[serde(default)]
    dv_epoch: Option<i64>,
}

async fn init(
    State(state): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    ApiJson(body): ApiJson<InitBody>,
) -> Result<Json<InitOutput>, ApiError> {
    let page_url = body
        .page_url
        .filter(|u| !u.is_empty())
        .or_else(|| {
            headers
                .get(header::REFERER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    if page_url.len() > 4096 || body.prefix.as_ref().is_some_and(|p| p.len() > 64) {
        return Err(ApiError::verify(VerifyCode::F017, "parameter too long"));
    }
    let input = InitInput {
        scene_id: body.scene_id.clone(),
        prefix: body.prefix,
        page_url,
        client_ip: state.client_ip(&headers, peer.0),
        device_token: body.device_token,
        encrypted_scene_id: body.encrypted_scene_id,
        dv_epoch: body.dv_epoch,
    };
    match state.cycles.init(input).await {
        Ok(out) => {
            state
                .metrics
                .verification("init", &out.scene_id, out.kind.as_str(), "ok");
            Ok(Json(out))
        }
        Err(e) => {
            let err = ApiError::from(e);
            if err.status.is_client_error() {
                state.metrics.verification("init", "-", "-", &err.code);
            }
            Err(err)
        }
    }
}

async fn answer(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(mut body): ApiJson<AnswerInput>,
) -> Result<Json<AnswerOutput>, ApiError> {
    body.user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(400).collect());
    let out = state.cycles.answer(body).await?;
    let code = match (out.passed, out.code) {
        (true, _) => "pass",
        (false, Some(c)) => c.as_str(),
        (false, None) => "escalated",
    };
    state.metrics.verification("answer", "-", "-", code);
    Ok(Json(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TEXT_KEYS;

    const LANGUAGES: [&str; 17] = [
        "cn", "tw", "en", "ar", "de", "es", "fr", "in", "it", "ja", "ko", "pt", "ru", "ms", "th",
        "tr", "vi",
    ];

    #[test]
    fn every_built_in_language_has_every_key_translated() {
        let table: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(LANG_JSON).expect("widget/lang.json is strict JSON");
        let mut codes: Vec<&str> = table.keys().map(String::as_str).collect();
        codes.sort_unstable();
        let mut want = LANGUAGES.to_vec();
        want.sort_unstable();
        assert_eq!(codes, want);
        for (code, texts) in &table {
            let texts = texts.as_object().unwrap();
            assert_eq!(
                texts.len(),
                TEXT_KEYS.len(),
                "{code}: extra or missing keys"
            );
            for key in TEXT_KEYS {
                let text = texts.get(key).and_then(|v| v.as_str()).unwrap_or("");
                assert!(!text.trim().is_empty(), "{code}.{key} is empty");
                if code != "en" {
                    assert_ne!(
                        text, table["en"][key],
                        "{code}.{key} is untranslated English"
                    );
                }
            }
        }
    }

    #[test]
    fn the_served_script_carries_the_table() {
        assert!(!WIDGET_SOURCE_JS.contains("__STILE_TEXT__"));
        assert!(WIDGET_SOURCE_JS.contains("\"INPAINTING_TIP\""));
        assert!(WIDGET_SOURCE_JS.contains("اسحب"));
    }

    #[test]
    fn the_served_script_is_minified_and_mangled() {
        let min = minify(&WIDGET_SOURCE_JS).expect("the widget minifies");
        assert_eq!(*WIDGET_JS, min);
        // The codebook is written in where the mark is, in either form.
        assert_eq!(
            min.matches(CODEBOOK_MARK).count(),
            2,
            "typeof check and value"
        );
        assert_eq!(WIDGET_SOURCE_JS.matches(CODEBOOK_MARK).count(), 2);
        assert!(
            min.len() * 3 < WIDGET_SOURCE_JS.len() * 2,
            "{} of {} bytes",
            min.len(),
            WIDGET_SOURCE_JS.len()
        );
        // Comments and the readable local names are gone; the public API stays.
        assert!(!min.contains("Proof-of-work (server: risk::pow)"));
        for local in [
            "canonicalWords",
            "sha256Words",
            "solvePow",
            "leadingZeroBits",
        ] {
            assert!(!min.contains(local), "{local} survived");
        }
        assert!(min.contains("initAliyunCaptcha"));
        assert!(min.contains("INPAINTING_TIP"));
    }
}
