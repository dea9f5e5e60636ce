//! Request parsing that answers bad input with the API's error shape instead of axum's text.

use crate::error::ApiError;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
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

/// `axum::extract::Query`, with a malformed query (a negative or too large number, bad
/// percent-encoding) answered `bad_query` in the API's error shape.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| ApiQuery(v))
            .map_err(|r| {
                ApiError::bad_request(
                    "bad_query",
                    r.body_text(),
                    "see the route's parameters in /openapi.json",
                )
            })
    }
}

/// `axum::extract::Path`, with a segment that is not valid UTF-8 (or not the expected type)
/// answered `bad_path` in the API's error shape.
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ApiPath(v))
            .map_err(|r| {
                ApiError::bad_request(
                    "bad_path",
                    r.body_text(),
                    "path segments are UTF-8 identifiers; see /openapi.json",
                )
            })
    }
}

/// A list's page size: `limit` if given (at least 1, at most `MAX_PAGE`), else `DEFAULT_PAGE`.
pub fn page_limit(limit: Option<u32>) -> usize {
    limit.map_or(DEFAULT_PAGE, |l| l.clamp(1, MAX_PAGE)) as usize
}

/// Items per page when a list request gives no `limit`.
pub const DEFAULT_PAGE: u32 = 100;
/// Largest page any list serves: a page of 256 block headers is about 200 KB of JSON, and every
/// list the chain bounds itself (128 subnets) fits in one page.
pub const MAX_PAGE: u32 = 256;

/// A `cursor` that is an address (hotkey and coldkey lists).
pub fn parse_cursor_address(cursor: Option<&str>) -> Result<Option<AccountId>, ApiError> {
    cursor
        .map(|c| c.parse().map_err(|_| bad_cursor(c)))
        .transpose()
}

/// The answer to a `cursor` that no page of the list handed out.
pub fn bad_cursor(c: &str) -> ApiError {
    ApiError::bad_request(
        "bad_cursor",
        format!("'{c}' is not a cursor of this list"),
        "pass the next_cursor of the previous page unchanged",
    )
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
