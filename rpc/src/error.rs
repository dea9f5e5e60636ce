//! The one error shape of the API: `{"error": {"code", "message", "hint", "details"}}` with a
//! fitting HTTP status. Codes are stable snake_case strings clients can match on.

use crate::api::SubmitError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;
use tensorchain_ledger::{StoreError, TxError};
use utoipa::ToSchema;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub hint: &'static str,
    pub details: serde_json::Value,
    /// Sent as `Retry-After` (seconds) on refusals a client should retry (429, 503).
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
        hint: &'static str,
    ) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            hint,
            details: json!({}),
            retry_after_secs: None,
        }
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>, hint: &'static str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message, hint)
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            code,
            message,
            "check the identifier; lists are at /v1/blocks",
        )
    }
}

/// The body of every error response.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code clients match on.
    pub code: &'static str,
    pub message: String,
    /// What to do about it.
    pub hint: &'static str,
    /// Structured facts of the error (an object; empty when there are none).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

impl ApiError {
    /// The error as a body carries it (`{code, message, hint, details}`), for answers that hold
    /// several, such as a batch's results.
    pub fn detail(self) -> ErrorDetail {
        ErrorDetail {
            code: self.code,
            message: self.message,
            hint: self.hint,
            details: self.details,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let retry_after = self.retry_after_secs;
        let body = ErrorBody {
            error: self.detail(),
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(secs) = retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(secs),
            );
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "storage failure while serving a request");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            e.to_string(),
            "the node's storage failed; check its logs",
        )
    }
}

impl From<TxError> for ApiError {
    fn from(e: TxError) -> Self {
        let status = match e {
            TxError::BadNonce { .. } => StatusCode::CONFLICT,
            TxError::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        let code = e.code();
        ApiError::new(status, code, e.to_string(), crate::hints::tx_hint(code))
            .with_details(e.details())
    }
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> Self {
        match e {
            SubmitError::Rejected(tx) => tx.into(),
            SubmitError::AlreadyKnown(hash) => ApiError::new(
                StatusCode::CONFLICT,
                "tx_already_known",
                e.to_string(),
                "query its status at /v1/txs/{hash}",
            )
            .with_details(json!({ "hash": hash })),
            SubmitError::MempoolFull(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "mempool_full",
                e.to_string(),
                "retry after the next block",
            ),
            SubmitError::Overloaded => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                e.to_string(),
                "retry in a second, or send fewer transactions at once",
            )
            .with_retry_after(1),
            SubmitError::TooManyPending(_) => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_pending",
                e.to_string(),
                "wait for some of the signer's transactions to be included",
            ),
        }
    }
}
