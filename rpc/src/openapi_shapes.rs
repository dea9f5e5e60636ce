//! What the handlers' annotations leave implicit, added to the OpenAPI document in one place so
//! that a client generated from it (or a fuzzer such as schemathesis) sees the API as it is:
//! every success wrapped in the `{data, meta}` envelope, every error in the `{error: …}` shape,
//! the answers any route may give (400, 408, 429, 503; 404 and 410 with `?at=`), and the format
//! of every path and paging parameter, with an example that names something a devnet has.

use crate::extract::MAX_CURSOR_CHARS;
use tensorchain_primitives::Keypair;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder};
use utoipa::openapi::schema::{Object, ObjectBuilder, Schema, Type};
use utoipa::openapi::{Content, HeaderBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};

/// SS58 (prefix 42: a `5` and 47 base58 characters) or a 0x-hex public key.
const ADDRESS_PATTERN: &str = "^(5[1-9A-HJ-NP-Za-km-z]{47}|0x[0-9a-fA-F]{64})$";
const HASH_PATTERN: &str = "^0x[0-9a-fA-F]{64}$";
/// A height (a u64 has at most 20 digits), a block hash or a name.
const BLOCK_ID_PATTERN: &str = "^([0-9]{1,20}|0x[0-9a-fA-F]{64}|head|latest|finalized|genesis)$";

pub struct Shapes;

impl utoipa::Modify for Shapes {
    fn modify(&self, openapi: &mut OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in operations.into_iter().flatten() {
                add_links(path, op);
                let stream = path == "/v1/events";
                // Shapes first: it wraps what the handler declared, then the generic answers
                // join, already in the error shape.
                shape_responses(op, stream);
                common_answers(path, op);
                for p in op.parameters.iter_mut().flatten() {
                    describe_parameter(p);
                }
            }
        }
    }
}

/// Where a response names something another route serves: the links a stateful client (or
/// schemathesis' stateful phase) follows from a list to its items.
const LINKS: &[(&str, &str, &str, &str)] = &[
    // (from, to, the parameter of `to`, where in the response it is)
    ("/v1/blocks", "/v1/blocks/{id}", "id", "/data/items/0/hash"),
    (
        "/v1/subnets",
        "/v1/subnets/{netuid}",
        "netuid",
        "/data/items/0/netuid",
    ),
    (
        "/v1/subnets",
        "/v1/subnets/{netuid}/metagraph",
        "netuid",
        "/data/items/0/netuid",
    ),
    (
        "/v1/subnets",
        "/v1/subnets/{netuid}/epochs",
        "netuid",
        "/data/items/0/netuid",
    ),
    (
        "/v1/subnets",
        "/v1/subnets/{netuid}/weights",
        "netuid",
        "/data/items/0/netuid",
    ),
    (
        "/v1/subnets",
        "/v1/subnets/{netuid}/bonds",
        "netuid",
        "/data/items/0/netuid",
    ),
    (
        "/v1/subnets",
        "/v1/subnets/{netuid}/hyperparameters",
        "netuid",
        "/data/items/0/netuid",
    ),
    (
        "/v1/subnets",
        "/v1/subnets/{netuid}/registration-cost",
        "netuid",
        "/data/items/0/netuid",
    ),
    (
        "/v1/hotkeys",
        "/v1/hotkeys/{hk}",
        "hk",
        "/data/items/0/hotkey",
    ),
    (
        "/v1/hotkeys",
        "/v1/hotkeys/{hk}/nominators",
        "hk",
        "/data/items/0/hotkey",
    ),
    (
        "/v1/validators",
        "/v1/hotkeys/{hk}",
        "hk",
        "/data/validators/0/hotkey",
    ),
    (
        "/v1/hotkeys/{hk}",
        "/v1/accounts/{addr}",
        "addr",
        "/data/owner",
    ),
    (
        "/v1/hotkeys/{hk}",
        "/v1/accounts/{addr}/stakes",
        "addr",
        "/data/owner",
    ),
    ("/v1/txs", "/v1/txs/{hash}", "hash", "/data/hash"),
];

fn add_links(path: &str, op: &mut Operation) {
    let Some(RefOr::T(ok)) = op.responses.responses.get_mut("200") else {
        return;
    };
    for &(_, to, param, pointer) in LINKS.iter().filter(|l| l.0 == path) {
        let target = format!("#/paths/{}/get", to.replace('~', "~0").replace('/', "~1"));
        let link = LinkBuilder::new()
            .operation_ref(target)
            .parameter(param, format!("$response.body#{pointer}"))
            .build();
        // Named by the target's fixed segments (`v1_subnets_metagraph`): unique per response.
        let name = to
            .split('/')
            .filter(|s| !s.is_empty() && !s.starts_with('{'))
            .collect::<Vec<_>>()
            .join("_");
        ok.links.insert(name, RefOr::T(link));
    }
}

/// Successes become envelopes around what the handler declared; errors get the error shape.
fn shape_responses(op: &mut Operation, stream: bool) {
    for (status, response) in op.responses.responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        let is_error = status.starts_with('4') || status.starts_with('5');
        if stream && !is_error {
            continue; // text/event-stream, documented by its handler
        }
        match response.content.get_mut("application/json") {
            Some(content) => {
                if let Some(data) = content.schema.take() {
                    content.schema = Some(envelope(data));
                }
            }
            None if is_error => json_body(response, RefOr::Ref(Ref::from_schema_name("ErrorBody"))),
            None => json_body(response, envelope(RefOr::T(Schema::Object(Object::new())))),
        }
    }
}

fn json_body(response: &mut Response, schema: RefOr<Schema>) {
    response
        .content
        .insert("application/json".into(), Content::new(Some(schema)));
}

fn envelope(data: RefOr<Schema>) -> RefOr<Schema> {
    RefOr::T(Schema::Object(
        ObjectBuilder::new()
            .property("data", data)
            .property("meta", Ref::from_schema_name("Meta"))
            .required("data")
            .required("meta")
            .build(),
    ))
}

/// The answers of the layers every request passes (`lib.rs`): rate limits and load shedding on
/// every route; on routes with path parameters a segment that is not UTF-8 (`bad_path`); on
/// paged lists a malformed query (`bad_query`) or a page size outside 1..=256 (`bad_limit`). The
/// 400 codes join those the handler documents, so each route lists exactly what it can answer.
fn common_answers(path: &str, op: &mut Operation) {
    let has = |name: &str| op.parameters.iter().flatten().any(|p| p.name == name);
    let (paged, at) = (has("limit"), has("at"));
    let mut bad_request = Vec::new();
    if path.contains('{') {
        bad_request.push("bad_path");
    }
    if paged {
        bad_request.extend(["bad_query", "bad_limit"]);
    }
    if at {
        bad_request.push("bad_at");
    }
    let responses = &mut op.responses.responses;
    if at {
        // `?at=` names a block that may not exist (yet), or whose state is pruned.
        match responses.get_mut("404") {
            Some(RefOr::T(r)) => r.description = format!("{}, block_not_found", r.description),
            _ => {
                responses.insert(
                    "404".into(),
                    RefOr::T(error_response("block_not_found", false)),
                );
            }
        }
        responses.insert(
            "410".into(),
            RefOr::T(error_response(
                "state_pruned: ?at= is older than the state history this node keeps",
                false,
            )),
        );
    }
    if !bad_request.is_empty() {
        let codes = bad_request.join(", ");
        match responses.get_mut("400") {
            Some(RefOr::T(r)) => r.description = format!("{}, {codes}", r.description),
            _ => {
                responses.insert("400".into(), RefOr::T(error_response(&codes, false)));
            }
        }
    }
    for (status, description) in [
        (
            "429",
            "rate_limited: over this client's or the node's request budget",
        ),
        (
            "503",
            "not ready, mempool_full or too_many_streams: retry later",
        ),
    ] {
        responses
            .entry(status.into())
            .or_insert_with(|| RefOr::T(error_response(description, true)));
    }
}

fn error_response(description: &str, retry_after: bool) -> Response {
    let mut builder = ResponseBuilder::new().description(description).content(
        "application/json",
        Content::new(Some(RefOr::Ref(Ref::from_schema_name("ErrorBody")))),
    );
    if retry_after {
        let seconds = ObjectBuilder::new().schema_type(Type::Integer).build();
        builder = builder.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(seconds)
                .description(Some("seconds to wait before retrying"))
                .build(),
        );
    }
    builder.build()
}

/// One table of parameter formats, keyed by the names every route shares.
fn describe_parameter(p: &mut Parameter) {
    // Dev keys: on a devnet alice's coldkey holds TAO and her hotkey validates.
    let alice = Keypair::dev("alice").account().to_ss58();
    let alice_hot = Keypair::dev("alice/hot").account().to_ss58();
    let (schema, example) = match p.name.as_str() {
        "netuid" => (integer(0, u16::MAX as u64), serde_json::json!(1)),
        "uid" => (integer(0, u16::MAX as u64), serde_json::json!(0)),
        "addr" => (string(ADDRESS_PATTERN, 66), serde_json::json!(alice)),
        "hk" => (string(ADDRESS_PATTERN, 66), serde_json::json!(alice_hot)),
        "hash" => (
            string(HASH_PATTERN, 66),
            serde_json::json!(format!("0x{}", "0".repeat(64))),
        ),
        "id" => (string(BLOCK_ID_PATTERN, 66), serde_json::json!("head")),
        "at" => (string(BLOCK_ID_PATTERN, 66), serde_json::json!("head")),
        "limit" => (
            integer(1, crate::extract::MAX_PAGE as u64),
            serde_json::json!(10),
        ),
        "cursor" => {
            let mut s = ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(MAX_CURSOR_CHARS))
                .build();
            s.description = Some("the `next_cursor` of the previous page".into());
            (s, serde_json::Value::Null)
        }
        _ => return,
    };
    p.schema = Some(RefOr::T(Schema::Object(schema)));
    if !example.is_null() {
        *p = ParameterBuilder::from(p.clone())
            .example(Some(example))
            .build();
    }
}

fn integer(min: u64, max: u64) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(min as f64))
        .maximum(Some(max as f64))
        .build()
}

fn string(pattern: &str, max_len: usize) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .max_length(Some(max_len))
        .build()
}
