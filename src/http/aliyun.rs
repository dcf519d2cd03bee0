//! Server verification, wire-compatible with Alibaba Cloud CAPTCHA 2.0's `VerifyIntelligentCaptcha`
//! and `VerifyCaptcha` (API version 2023-03-05, RPC style, ACS3-HMAC-SHA256 signatures), so
//! the official SDKs work once their endpoint points here.
//!
//! Authentication errors use the codes and HTTP statuses the SDKs understand
//! (`InvalidAccessKeyId.NotFound`, `SignatureDoesNotMatch`, `InvalidTimeStamp.Expired`,
//! `SignatureNonceUsed`, …); verification verdicts are always HTTP 200 with `Result`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::AppState;
use super::error::{current_request_id, refusal, retry_after};
use crate::acs3::{self, Authorization, Canonical};
use crate::crypto::ct_eq;
use crate::cycle::CycleError;

/// The API version spoken.
pub const API_VERSION: &str = "2023-03-05";

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(rpc).post(rpc))
}

/// An error in the shape the Alibaba Cloud SDKs parse.
struct AcsError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after_ms: Option<u64>,
}

impl AcsError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after_ms: None,
        }
    }
}

impl IntoResponse for AcsError {
    fn into_response(self) -> Response {
        let body = json!({
            "RequestId": current_request_id(),
            "HostId": "stile",
            "Code": self.code,
            "Message": self.message,
            "Recommend": "",
        });
        let mut resp = (self.status, axum::Json(body)).into_response();
        retry_after(&mut resp, self.retry_after_ms);
        resp
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn param<'a>(
    query: &'a [(String, String)],
    form: &'a [(String, String)],
    name: &str,
) -> Option<&'a str> {
    query
        .iter()
        .chain(form.iter())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

async fn rpc(
    State(state): State<AppState>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match handle(&state, &method, &uri, &headers, body).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    }
}

async fn handle(
    state: &AppState,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AcsError> {
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AcsError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "InvalidParameter.BodyTooLarge",
                "request body is too large",
            )
        } else {
            AcsError::new(
                StatusCode::BAD_REQUEST,
                "InvalidParameter",
                "request body could not be read",
            )
        }
    })?;
    let query: Vec<(String, String)> = serde_urlencoded::from_str(uri.query().unwrap_or(""))
        .map_err(|_| {
            AcsError::new(
                StatusCode::BAD_REQUEST,
                "InvalidParameter",
                "query string is malformed",
            )
        })?;
    let is_form = header_str(headers, "content-type").is_some_and(|c| {
        c.to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    });
    let form: Vec<(String, String)> = if is_form && !body.is_empty() {
        serde_urlencoded::from_bytes(&body).map_err(|_| {
            AcsError::new(
                StatusCode::BAD_REQUEST,
                "InvalidParameter",
                "form body is malformed",
            )
        })?
    } else {
        Vec::new()
    };

    let action = header_str(headers, "x-acs-action").or_else(|| param(&query, &form, "Action"));
    let Some(action) = action else {
        if method == Method::GET && headers.get(header::AUTHORIZATION).is_none() {
            // A person opening the server's root in a browser.
            return Ok(Redirect::to(if state.settings.demo {
                "/demo"
            } else {
                "/healthz"
            })
            .into_response());
        }
        return Err(AcsError::new(
            StatusCode::BAD_REQUEST,
            "MissingParameter",
            "Action is mandatory for this action.",
        ));
    };
    let version = header_str(headers, "x-acs-version").or_else(|| param(&query, &form, "Version"));
    if version != Some(API_VERSION) {
        return Err(AcsError::new(
            StatusCode::BAD_REQUEST,
            "InvalidVersion",
            format!(
                "Specified parameter Version is not valid; this endpoint speaks {API_VERSION}."
            ),
        ));
    }
    if action != "VerifyIntelligentCaptcha" && action != "VerifyCaptcha" {
        return Err(AcsError::new(
            StatusCode::NOT_FOUND,
            "InvalidAction.NotFound",
            format!("Specified api is not found, please check your url and method: {action}"),
        ));
    }

    let tenant_id = authenticate(state, method, uri, headers, &query, &body).await?;

    let verify_param = param(&query, &form, "CaptchaVerifyParam").unwrap_or("");
    let scene_id = param(&query, &form, "SceneId");
    let verdict = state
        .cycles
        .server_verify(&tenant_id, scene_id, verify_param)
        .await
        .map_err(|e| match e {
            CycleError::Refused(r) => {
                let (status, code, message, retry_after_ms) = refusal(r);
                AcsError {
                    retry_after_ms,
                    ..AcsError::new(status, code, message)
                }
            }
            e => {
                tracing::error!(request_id = %current_request_id(), cause = %e, "server verification failed");
                AcsError::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", "The request processing has failed due to some unknown error.")
            }
        })?;
    state.metrics.verification(
        "server",
        scene_id.unwrap_or("-"),
        "-",
        verdict.code.as_str(),
    );
    let mut result = json!({
        "VerifyResult": verdict.code.passed(),
        "VerifyCode": verdict.code.as_str(),
    });
    if let Some(c) = &verdict.certify_id {
        result["CertifyId"] = json!(c);
    }
    if let Some(a) = &verdict.assessment {
        result["RiskScore"] = json!(a.score);
        result["RiskReasons"] = json!(a.reasons);
    }
    let body = json!({
        "RequestId": current_request_id(),
        "Success": true,
        "Code": "Success",
        "Message": "success",
        "HttpStatusCode": 200,
        "Result": result,
    });
    Ok(axum::Json(body).into_response())
}

/// Check the ACS3 signature; returns the caller's tenant id.
async fn authenticate(
    state: &AppState,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    query: &[(String, String)],
    body: &[u8],
) -> Result<String, AcsError> {
    let incomplete =
        |m: &str| AcsError::new(StatusCode::BAD_REQUEST, "IncompleteSignature", m.to_owned());
    let auth_header = header_str(headers, "authorization").ok_or_else(|| {
        incomplete(
            "The request signature does not conform to Aliyun standards: Authorization is missing.",
        )
    })?;
    let auth = Authorization::parse(auth_header).map_err(|e| {
        incomplete(&format!("The request signature does not conform to Aliyun standards: {e}; only ACS3-HMAC-SHA256 is supported."))
    })?;
    for required in [
        "x-acs-date",
        "x-acs-signature-nonce",
        "x-acs-content-sha256",
        "host",
    ] {
        if !auth.signed_headers.iter().any(|h| h == required) {
            return Err(incomplete(&format!(
                "The request signature does not conform to Aliyun standards: {required} must be signed."
            )));
        }
    }
    let date = header_str(headers, "x-acs-date").unwrap_or("");
    let when = OffsetDateTime::parse(date, &Rfc3339).map_err(|_| {
        AcsError::new(
            StatusCode::BAD_REQUEST,
            "InvalidTimeStamp.Format",
            "Specified time stamp or date value is not well formatted.",
        )
    })?;
    let now_s = state.clock.now_s();
    if (now_s - when.unix_timestamp()).abs() > state.settings.limits.signature_skew_s {
        return Err(AcsError::new(
            StatusCode::BAD_REQUEST,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        ));
    }
    let nonce = header_str(headers, "x-acs-signature-nonce").unwrap_or("");
    if nonce.is_empty() || nonce.len() > 128 {
        return Err(AcsError::new(
            StatusCode::BAD_REQUEST,
            "MissingSignatureNonce",
            "SignatureNonce is mandatory for this action.",
        ));
    }
    if auth.access_key_id.len() > 128 {
        return Err(not_found_key());
    }
    let key = state
        .stores
        .config
        .access_key(&auth.access_key_id)
        .await
        .map_err(|e| {
            tracing::error!(cause = %e, "access key lookup failed");
            AcsError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "The request processing has failed due to some unknown error.",
            )
        })?
        .ok_or_else(not_found_key)?;
    if !key.enabled {
        return Err(AcsError::new(
            StatusCode::BAD_REQUEST,
            "InvalidAccessKeyId.Inactive",
            "Specified access key is disabled.",
        ));
    }
    let secret = state
        .master
        .open(&format!("access-key:{}", key.id), &key.sealed_secret)
        .map_err(|_| {
            AcsError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "The access key cannot be read.",
            )
        })?;
    let payload_hash = acs3::sha256_hex(body);
    let claimed_hash = header_str(headers, "x-acs-content-sha256").unwrap_or("");
    let header_pairs: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(n, v)| {
            v.to_str()
                .ok()
                .map(|v| (n.as_str().to_owned(), v.to_owned()))
        })
        .collect();
    let canonical = Canonical {
        method: method.as_str(),
        path: uri.path(),
        query,
        headers: &header_pairs,
        signed: &auth.signed_headers,
        payload_hash: &payload_hash,
    };
    let expected = canonical.signature(&secret);
    if !ct_eq(claimed_hash.as_bytes(), payload_hash.as_bytes())
        || !ct_eq(expected.as_bytes(), auth.signature.as_bytes())
    {
        return Err(AcsError::new(
            StatusCode::BAD_REQUEST,
            "SignatureDoesNotMatch",
            format!(
                "Specified signature is not matched with our calculation. server string to sign is:{}",
                acs3::string_to_sign(&canonical.request())
            ),
        ));
    }
    let now_ms = state.clock.now_ms();
    let window_ms = state.settings.limits.signature_skew_s * 2000;
    let fresh = state
        .stores
        .hot
        .first_use_volatile(
            "acs-nonce",
            &format!("{}:{nonce}", key.id),
            now_ms + window_ms,
            now_ms,
        )
        .await
        .map_err(|e| {
            tracing::error!(cause = %e, "nonce check failed");
            AcsError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "The request processing has failed due to some unknown error.",
            )
        })?;
    if !fresh {
        return Err(AcsError::new(
            StatusCode::BAD_REQUEST,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        ));
    }
    Ok(key.tenant_id)
}

fn not_found_key() -> AcsError {
    AcsError::new(
        StatusCode::NOT_FOUND,
        "InvalidAccessKeyId.NotFound",
        "Specified access key is not found.",
    )
}
