//! The block explorer every node serves at `/explorer/`: a handful of static files from
//! `rpc/explorer/`, embedded in the binary (no build step, no CDN: it works offline). The pages
//! are drawn in the browser from the public `/v1` API and the `/v1/events` stream alone, so what
//! a person sees is what any client can get. `/` redirects to it.

use crate::error::ApiError;
use crate::extract::ApiPath;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

/// Where the explorer lives; its pages are hash routes below it (`/explorer/#/subnet/1`).
pub const PATH: &str = "/explorer/";

/// Only this node's own files and API: no inline script, no other origin (the pages never load
/// anything from the network but the node that served them).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// One embedded file: its name under `/explorer/`, content type and bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset {
            name: $name,
            content_type: $type,
            body: include_bytes!(concat!("../explorer/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

const ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("ui.js", JS),
    asset!("charts.js", JS),
    asset!("overview.js", JS),
    asset!("blocks.js", JS),
    asset!("accounts.js", JS),
    asset!("validators.js", JS),
    asset!("subnets.js", JS),
];

/// The explorer's routes; they need no state.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(to_explorer))
        .route("/explorer", get(to_explorer))
        .route(PATH, get(index))
        .route("/explorer/{file}", get(file))
}

async fn to_explorer() -> Redirect {
    Redirect::temporary(PATH)
}

async fn index() -> Response {
    serve(&ASSETS[0])
}

async fn file(ApiPath(name): ApiPath<String>) -> Result<Response, ApiError> {
    ASSETS
        .iter()
        .find(|a| a.name == name)
        .map(serve)
        .ok_or_else(|| {
            ApiError::not_found(
                "asset_not_found",
                format!(
                    "the explorer has no file '{}'",
                    name.chars().take(40).collect::<String>()
                ),
            )
        })
}

fn serve(a: &Asset) -> Response {
    let mut response = a.body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(a.content_type),
    );
    // The files change with the binary: revalidate rather than keep a stale page after an upgrade.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    async fn get(uri: &str) -> (StatusCode, axum::http::HeaderMap, String) {
        let resp = routes::<()>()
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let (status, headers) = (resp.status(), resp.headers().clone());
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, headers, String::from_utf8_lossy(&bytes).into())
    }

    /// The file names a page or script refers to: `src="x"`, `href="x"` and `from './x'`.
    fn references(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for marker in ["src=\"", "href=\"", "from './"] {
            for part in text.split(marker).skip(1) {
                let end = part.find(['"', '\'']).unwrap_or(part.len());
                let name = &part[..end];
                // Fragments are pages, `/…` are the node's own routes (the API's docs).
                if !name.starts_with(['#', '/']) && !name.is_empty() {
                    out.push(name.trim_start_matches("./").to_string());
                }
            }
        }
        out
    }

    #[test]
    fn every_file_a_page_or_script_refers_to_is_embedded() {
        let names: Vec<&str> = ASSETS.iter().map(|a| a.name).collect();
        let mut checked = 0;
        for a in ASSETS
            .iter()
            .filter(|a| !a.content_type.starts_with("image"))
        {
            let text = std::str::from_utf8(a.body).expect("text assets are UTF-8");
            for name in references(text) {
                assert!(
                    names.contains(&name.as_str()),
                    "{} refers to {name}, which is not embedded",
                    a.name
                );
                checked += 1;
            }
            // The SVG namespace is a name, not an address anything is fetched from.
            let text = text.replace("http://www.w3.org/2000/svg", "");
            assert!(
                !text.contains("http://") && !text.contains("https://"),
                "{} names another origin: the explorer must work offline",
                a.name
            );
        }
        assert!(
            checked >= ASSETS.len() - 2,
            "only {checked} references seen"
        );
    }

    #[tokio::test]
    async fn pages_are_served_with_their_type_and_policy_and_unknown_files_are_named_errors() {
        let (status, headers, body) = get("/explorer/").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert!(headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("connect-src 'self'"));
        assert!(body.contains("<script type=\"module\" src=\"app.js\">"));

        let (status, headers, _) = get("/explorer/app.js").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], JS);

        for uri in ["/", "/explorer"] {
            let (status, headers, _) = get(uri).await;
            assert_eq!(status, StatusCode::TEMPORARY_REDIRECT, "{uri}");
            assert_eq!(headers[header::LOCATION], PATH);
        }

        let (status, _, body) = get("/explorer/nope.js").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("asset_not_found"), "{body}");
    }
}
