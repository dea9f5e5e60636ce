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

/// A list's page size: `limit` if given, else `DEFAULT_PAGE`; outside 1..=`MAX_PAGE` it is
/// refused (`bad_limit`) rather than clamped, so a client never mistakes a short page for the end.
pub fn page_limit(limit: Option<u32>) -> Result<usize, ApiError> {
    match limit {
        None => Ok(DEFAULT_PAGE as usize),
        Some(l @ 1..=MAX_PAGE) => Ok(l as usize),
        Some(l) => Err(ApiError::bad_request(
            "bad_limit",
            format!("limit {l} is outside 1..={MAX_PAGE}"),
            "ask for at most 256 items and follow next_cursor for more",
        )),
    }
}

/// Items per page when a list request gives no `limit`.
pub const DEFAULT_PAGE: u32 = 100;
/// Largest page any list serves: a page of 256 block headers is about 200 KB of JSON, and every
/// list the chain bounds itself (128 subnets) fits in one page.
pub const MAX_PAGE: u32 = 256;

/// A list's `cursor`: one of the list's own keys (an address, a netuid, a height), at most
/// `MAX_CURSOR_CHARS` long; anything else is `bad_cursor`.
pub fn parse_cursor<T: std::str::FromStr>(cursor: Option<&str>) -> Result<Option<T>, ApiError> {
    cursor
        .map(|c| {
            c.parse()
                .ok()
                .filter(|_| c.len() <= MAX_CURSOR_CHARS)
                .ok_or_else(|| bad_cursor(c))
        })
        .transpose()
}

/// Cursors are a list's own keys; the longest, a 0x-hex key, has 66 characters.
pub const MAX_CURSOR_CHARS: usize = 66;

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
