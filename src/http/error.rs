//! The one HTTP error type of the JSON APIs: a stable machine-readable `code`, a message, the
//! request id. 5xx bodies say nothing internal; the cause is logged once, here.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::capacity::Refusal;
use crate::codes::VerifyCode;
use crate::cycle::CycleError;
use crate::model::ValidationError;
use crate::store::StoreError;

tokio::task_local! {
    /// The id of the request being served, set by the request-id middleware.
    pub static REQUEST_ID: String;
}

/// The current request id, or an empty string outside a request.
pub fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

/// An error answer of the admin and widget APIs.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub field: Option<&'static str>,
    /// For a throttled request: when the same request would be admitted again.
    pub retry_after_ms: Option<u64>,
}

/// How a refusal by admission control (`capacity`) is answered on every API: status, code,
/// message and, for throttling, when to retry.
pub fn refusal(r: Refusal) -> (StatusCode, &'static str, &'static str, Option<u64>) {
    match r {
        Refusal::Throttled {
            retry_after_ms,
            node: false,
        } => (
            StatusCode::TOO_MANY_REQUESTS,
            "Throttling",
            "Request was denied due to the tenant's QPS quota.",
            Some(retry_after_ms),
        ),
        Refusal::Throttled {
            retry_after_ms,
            node: true,
        } => (
            StatusCode::TOO_MANY_REQUESTS,
            "Throttling",
            "Request was denied because this node is at its capacity.",
            Some(retry_after_ms),
        ),
        Refusal::NotServed => (
            StatusCode::MISDIRECTED_REQUEST,
            "TenantNotServed",
            "This node is dedicated to other tenants.",
            None,
        ),
    }
}

/// `Retry-After` (whole seconds, at least 1) for a wait of `ms`.
pub fn retry_after(resp: &mut Response, ms: Option<u64>) {
    if let Some(ms) = ms {
        resp.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(ms.div_ceil(1000).max(1)),
        );
    }
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
            field: None,
            retry_after_ms: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InvalidParameter", message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("{what} not found"),
        )
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "Conflict", message)
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(request_id = %current_request_id(), %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "internal error; see the server log",
        )
    }

    /// A verification code as an error (widget API).
    pub fn verify(code: VerifyCode, message: &str) -> Self {
        let status = match code {
            VerifyCode::F005 => StatusCode::NOT_FOUND,
            VerifyCode::F016 | VerifyCode::F022 => StatusCode::FORBIDDEN,
            VerifyCode::F010 | VerifyCode::F011 => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::BAD_REQUEST,
        };
        Self::new(status, code.as_str(), message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "code": self.code,
            "message": self.message,
            "requestId": current_request_id(),
        });
        if let Some(field) = self.field {
            body["field"] = json!(field);
        }
        if let Some(ms) = self.retry_after_ms {
            body["retryAfterMs"] = json!(ms);
        }
        let mut resp = (self.status, Json(body)).into_response();
        retry_after(&mut resp, self.retry_after_ms);
        resp
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        Self {
            field: Some(e.field),
            ..Self::invalid(e.to_string())
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => Self::conflict(m),
            StoreError::Backend(m) => Self::internal(m),
        }
    }
}

impl From<CycleError> for ApiError {
    fn from(e: CycleError) -> Self {
        match e {
            CycleError::Code(code, message) => Self::verify(code, message),
            CycleError::Unavailable(u) => Self::new(
                StatusCode::NOT_IMPLEMENTED,
                "TypeUnavailable",
                u.to_string(),
            ),
            CycleError::Busy => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "challenge generation is unavailable, try again",
            ),
            CycleError::Refused(r) => {
                let (status, code, message, retry_after_ms) = refusal(r);
                Self {
                    retry_after_ms,
                    ..Self::new(status, code, message)
                }
            }
            CycleError::Store(s) => s.into(),
        }
    }
}

/// Map a body rejection (size, type, syntax) to a stable error.
pub fn rejection(status: StatusCode, text: String) -> ApiError {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(status, "PayloadTooLarge", "request body is too large")
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            status,
            "UnsupportedMediaType",
            "expected Content-Type: application/json",
        ),
        _ => ApiError::invalid(text),
    }
}

/// `Json<T>` whose rejections are [`ApiError`]s.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Self(v)),
            Err(r @ JsonRejection::JsonDataError(_))
            | Err(r @ JsonRejection::JsonSyntaxError(_)) => Err(ApiError::invalid(r.body_text())),
            Err(r) => Err(rejection(r.status(), r.body_text())),
        }
    }
}
