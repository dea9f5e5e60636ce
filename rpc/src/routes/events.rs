//! Server-sent events. Each event's id is the block height it belongs to, so a client that
//! reconnects with `Last-Event-ID` gets the blocks it missed from storage before live ones.

use crate::api::BlockEvent;
use crate::error::ApiError;
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use serde_json::json;
use std::convert::Infallible;
use std::time::Duration;
use tensorchain_ledger::Event as LedgerEvent;
use tokio_stream::wrappers::BroadcastStream;
use utoipa::IntoParams;

pub const TOPICS: [&str; 6] = [
    "block",
    "finalized",
    "tx",
    "epoch",
    "registration",
    "weights",
];
/// Most blocks replayed to a reconnecting client.
const MAX_REPLAY: u64 = 1000;

#[derive(Deserialize, IntoParams)]
pub struct EventsQuery {
    /// Comma-separated topics: block, finalized, tx, epoch, registration, weights (default: all).
    pub topics: Option<String>,
}

fn events_for(block: &BlockEvent, topics: &[String]) -> Vec<Event> {
    let id = block.height.to_string();
    let mut out = Vec::new();
    for topic in topics {
        match topic.as_str() {
            "block" | "finalized" => out.push(
                Event::default()
                    .event(topic.as_str())
                    .id(id.clone())
                    .json_data(block)
                    .expect("block event serializes"),
            ),
            "epoch" => out.extend(block.epochs.iter().map(|(netuid, summary)| {
                let mut data = serde_json::to_value(summary).unwrap_or_default();
                data["netuid"] = json!(netuid);
                Event::default()
                    .event("epoch")
                    .id(id.clone())
                    .data(data.to_string())
            })),
            "registration" | "weights" => out.extend(
                block
                    .events
                    .iter()
                    .filter(|e| {
                        let registration = matches!(
                            e,
                            LedgerEvent::SubnetRegistered { .. }
                                | LedgerEvent::NeuronRegistered { .. }
                        );
                        let weights = matches!(
                            e,
                            LedgerEvent::WeightsSet { .. } | LedgerEvent::WeightsCommitted { .. }
                        );
                        if topic == "registration" {
                            registration
                        } else {
                            weights
                        }
                    })
                    .map(|e| {
                        let data = serde_json::to_value(e).unwrap_or_default();
                        Event::default()
                            .event(topic.as_str())
                            .id(id.clone())
                            .data(data.to_string())
                    }),
            ),
            "tx" => out.extend(block.tx_hashes.iter().map(|h| {
                Event::default().event("tx").id(id.clone()).data(
                    json!({"hash": h, "height": block.height, "status": "included"}).to_string(),
                )
            })),
            _ => {}
        }
    }
    out
}

/// Subscribe to new blocks, finality and included transactions.
#[utoipa::path(get, path = "/v1/events", tag = "events", params(EventsQuery),
    responses((status = 200, description = "text/event-stream"), (status = 400, description = "unknown_topic")))]
pub async fn events(
    State(st): State<AppState>,
    Query(q): Query<EventsQuery>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let topics: Vec<String> = match q.topics.as_deref() {
        None | Some("") => TOPICS.iter().map(|t| t.to_string()).collect(),
        Some(list) => list.split(',').map(|t| t.trim().to_string()).collect(),
    };
    if let Some(bad) = topics.iter().find(|t| !TOPICS.contains(&t.as_str())) {
        return Err(ApiError::bad_request(
            "unknown_topic",
            format!("unknown topic '{bad}'"),
            "topics are block, finalized, tx, epoch, registration, weights",
        ));
    }
    // Subscribe before reading the head so no block falls between replay and live.
    let live = st.api.subscribe();
    let ledger = st.api.ledger();
    let head = ledger.head().height;
    let last_seen = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut replay = Vec::new();
    if let Some(last) = last_seen {
        let from = (last + 1).max(head.saturating_sub(MAX_REPLAY - 1));
        for h in from..=head {
            if let Ok(Some(ev)) = BlockEvent::of_block(ledger, h) {
                replay.extend(events_for(&ev, &topics));
            }
        }
    }
    let replayed_to = if last_seen.is_some() { head } else { 0 };
    let live_topics = topics.clone();
    let live = BroadcastStream::new(live).filter_map(move |msg| {
        let out = match msg {
            Ok(block) if last_seen.is_none() || block.height > replayed_to => {
                events_for(&block, &live_topics)
            }
            Ok(_) => vec![],
            // A slow client missed events; it can reconnect with Last-Event-ID to fill the gap.
            Err(_) => vec![Event::default().event("lagged").data("{}")],
        };
        futures::future::ready(Some(stream::iter(out)))
    });
    let stream = stream::iter(replay).chain(live.flatten()).map(Ok);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
