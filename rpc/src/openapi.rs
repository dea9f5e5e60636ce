//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` annotations.

use crate::routes;
use utoipa::openapi::{HeaderBuilder, ObjectBuilder, RefOr, ResponseBuilder, Type};
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
    modifiers(&Limits),
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

/// Adds the answers every route may give under load: 429 and 503, both with `Retry-After`.
struct Limits;

impl utoipa::Modify for Limits {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let refusal = |description: &str| {
            let seconds = ObjectBuilder::new().schema_type(Type::Integer).build();
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .header(
                        "Retry-After",
                        HeaderBuilder::new()
                            .schema(seconds)
                            .description(Some("seconds to wait before retrying"))
                            .build(),
                    )
                    .build(),
            )
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in operations.into_iter().flatten() {
                let responses = &mut op.responses.responses;
                responses.entry("429".into()).or_insert_with(|| {
                    refusal("rate_limited: over this client's or the node's request budget")
                });
                responses.entry("503".into()).or_insert_with(|| {
                    refusal("not ready, mempool_full or too_many_streams: retry later")
                });
            }
        }
    }
}

pub fn spec() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
