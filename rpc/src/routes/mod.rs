//! Route handlers, one module per resource.

pub mod accounts;
pub mod blocks;
pub mod chain;
pub mod events;
pub mod node;
pub mod subnets;
pub mod txs;
pub mod validators;

use crate::views::{Envelope, Meta};
use crate::AppState;
use axum::Json;
use serde::Serialize;

/// Wraps data in the envelope with the head it was read at.
pub fn envelope<T: Serialize>(st: &AppState, data: T) -> Json<Envelope<T>> {
    Json(Envelope {
        data,
        meta: Meta::from(&st.api.ledger().head()),
    })
}
