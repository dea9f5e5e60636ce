//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` annotations.

use crate::error::ErrorBody;
use crate::openapi_shapes::Shapes;
use crate::routes;
use crate::views::Meta;
use std::sync::OnceLock;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "tensorchain REST API",
        description = "Every success is `{\"data\": …, \"meta\": {\"height\", \"hash\", \"finalized\"}}`; every \
error is `{\"error\": {\"code\", \"message\", \"hint\", \"details\"}}`. Amounts are decimal strings of rao. \
Limits (docs/api-limits.md): every request is charged to a per-client and a global budget (heavy routes cost 10, \
others 1) and refused with 429 `rate_limited` and `Retry-After` beyond them; lists are paged (`?limit=` up to 256, \
`next_cursor`); event streams are capped in all and per client (503 `too_many_streams`); requests time out (408). \
On any route, a path segment that is not UTF-8 is refused with 400 `bad_path` and a malformed query parameter \
(a negative `limit`, say) with 400 `bad_query`."
    ),
    modifiers(&Shapes),
    components(schemas(Meta, ErrorBody)),
    paths(
        routes::node::health,
        routes::node::version,
        routes::node::identity,
        routes::node::syncing,
        routes::node::peers,
        routes::validators::list,
        routes::chain::chain,
        routes::chain::supply,
        routes::blocks::list,
        routes::blocks::get,
        routes::txs::submit,
        routes::txs::simulate,
        routes::txs::batch,
        routes::txs::status,
        routes::accounts::get,
        routes::accounts::stakes,
        routes::accounts::txs,
        routes::accounts::hotkey,
        routes::accounts::hotkeys,
        routes::accounts::nominators,
        routes::events::events,
        routes::subnets::list,
        routes::subnets::lock_cost,
        routes::subnets::get,
        routes::subnets::hyperparameters,
        routes::subnets::burn_cost,
        routes::subnets::metagraph,
        routes::subnets::neuron,
        routes::subnets::weights,
        routes::subnets::bonds,
        routes::subnets::epochs,
        routes::subnets::root,
    )
)]
struct ApiDoc;

pub fn spec() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as served at `/openapi.json`, built once.
pub fn document() -> &'static serde_json::Value {
    static DOC: OnceLock<serde_json::Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = serde_json::to_value(spec()).expect("the OpenAPI document serializes");
        camel_case_links(&mut doc);
        doc
    })
}

/// utoipa 5.5 serializes link objects' fields in snake_case (`operation_ref`), which no OpenAPI
/// tool reads; the specification spells them `operationRef`, `operationId`, `requestBody`.
fn camel_case_links(doc: &mut serde_json::Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    let responses = paths
        .values_mut()
        .filter_map(|item| item.as_object_mut())
        .flat_map(|item| item.values_mut())
        .filter_map(|op| op["responses"].as_object_mut())
        .flat_map(|r| r.values_mut());
    for response in responses {
        let Some(links) = response.get_mut("links").and_then(|l| l.as_object_mut()) else {
            continue;
        };
        for link in links.values_mut().filter_map(|l| l.as_object_mut()) {
            for (snake, camel) in [
                ("operation_ref", "operationRef"),
                ("operation_id", "operationId"),
                ("request_body", "requestBody"),
            ] {
                if let Some(v) = link.remove(snake) {
                    link.insert(camel.into(), v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    /// Every `/v1` route the router serves is in the document (a route added without an
    /// annotation would be invisible to generated clients and to schemathesis).
    #[test]
    fn every_route_is_documented() {
        let spec = super::spec();
        let router_source = include_str!("lib.rs");
        let routes: Vec<&str> = router_source
            .split(".route(")
            .skip(1)
            .filter_map(|s| s.trim_start().strip_prefix('"')?.split('"').next())
            .filter(|p| p.starts_with("/v1/"))
            .collect();
        assert!(routes.len() > 25, "found only {routes:?} in lib.rs");
        let served = super::document();
        for route in routes {
            assert!(
                spec.paths.paths.contains_key(route),
                "{route} is served but not in /openapi.json"
            );
        }
        let link = &served["paths"]["/v1/blocks"]["get"]["responses"]["200"]["links"]["v1_blocks"];
        assert_eq!(link["operationRef"], "#/paths/~1v1~1blocks~1{id}/get");
    }
}
