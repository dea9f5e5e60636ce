//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` annotations.

use crate::routes;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "tensorchain REST API",
        description = "Every success is `{\"data\": …, \"meta\": {\"height\", \"hash\", \"finalized\"}}`; every \
error is `{\"error\": {\"code\", \"message\", \"hint\", \"details\"}}`. Amounts are decimal strings of rao."
    ),
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
        routes::accounts::hotkey,
        routes::accounts::hotkeys,
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
