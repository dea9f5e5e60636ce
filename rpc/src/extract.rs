//! Request parsing that answers bad input with the API's error shape instead of axum's text.

use crate::error::ApiError;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use tensorchain_primitives::{AccountId, Hash};

/// `axum::Json`, with rejections mapped to `invalid_json` / `payload_too_large`.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(r: JsonRejection) -> ApiError {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "request body is larger than {} bytes",
                crate::MAX_BODY_BYTES
            ),
            "send one transaction per request",
        );
    }
    ApiError::bad_request(
        "invalid_json",
        r.body_text(),
        "send a JSON object with Content-Type: application/json",
    )
}

pub fn parse_address(s: &str) -> Result<AccountId, ApiError> {
    s.parse()
        .map_err(|e: tensorchain_primitives::AddressError| {
            ApiError::bad_request(
                "bad_address",
                e.to_string(),
                "use an SS58 address (5...) or 0x-prefixed hex public key",
            )
        })
}

pub fn parse_hash(s: &str) -> Result<Hash, ApiError> {
    s.parse()
        .map_err(|e: tensorchain_primitives::HashParseError| {
            ApiError::bad_request(
                "bad_hash",
                e.to_string(),
                "use 0x followed by 64 hex digits",
            )
        })
}
