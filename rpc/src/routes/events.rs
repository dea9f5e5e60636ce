//! Server-sent events. Each event's id is the block height it belongs to, so a client that
//! reconnects with `Last-Event-ID` gets the blocks it missed from storage before live ones.
//!
//! Bounded on every side: streams take a slot (in all and per client, else 503
//! `too_many_streams`); a replay covers at most `MAX_REPLAY` blocks, read `REPLAY_CHUNK` at a time
//! on the blocking pool as the client consumes them; a subscriber that falls more than the
//! broadcast channel's capacity behind gets a final `dropped` event and the stream ends, so
//! nothing is buffered for it beyond that channel.

use crate::api::BlockEvent;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::limits::TooManyStreams;
use crate::{client_ip, AppState, NodeApi};
use axum::extract::State;
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use serde_json::json;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tensorchain_ledger::Event as LedgerEvent;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
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
/// Most blocks replayed to a reconnecting client (about 17 minutes of one-second blocks); an
/// older gap is for `/v1/blocks`, and the stream says so with a `replay_truncated` event.
pub const MAX_REPLAY: u64 = 1000;
/// Blocks read per blocking-pool task of a replay: small enough that a replay never holds a
/// thread for long, large enough that a full replay is a few dozen tasks.
const REPLAY_CHUNK: u64 = 32;
/// Seconds a client refused a stream is asked to wait: streams last long, slots free slowly.
const STREAM_RETRY_AFTER_SECS: u64 = 30;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Comma-separated topics: block, finalized, tx, epoch, registration, weights (default: all).
    pub topics: Option<String>,
}

fn events_for(block: &BlockEvent, topics: &[&'static str]) -> Vec<Event> {
    let id = block.height.to_string();
    let mut out = Vec::new();
    for &topic in topics {
        match topic {
            "block" | "finalized" => out.push(
                Event::default()
                    .event(topic)
                    .id(id.clone())
                    .data(serde_json::to_string(block).unwrap_or_default()),
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
                            .event(topic)
                            .id(id.clone())
                            .data(data.to_string())
                    }),
            ),
            "tx" => {
                out.extend(block.tx_hashes.iter().map(|h| {
                    Event::default().event("tx").id(id.clone()).data(
                        json!({"hash": h, "height": block.height, "status": "included"})
                            .to_string(),
                    )
                }));
                // Those that left the mempool unincluded since the previous block: failed
                // (rejected when a block was built, or dropped behind a nonce gap) or evicted.
                out.extend(block.tx_fates.iter().map(|fate| {
                    let mut data = serde_json::to_value(fate).unwrap_or_default();
                    data["height"] = json!(block.height);
                    Event::default()
                        .event("tx")
                        .id(id.clone())
                        .data(data.to_string())
                }));
            }
            _ => {}
        }
    }
    out
}

/// The requested topics, each once, in the order given (all of them if none are given).
fn parse_topics(list: Option<&str>) -> Result<Vec<&'static str>, ApiError> {
    let Some(list) = list.filter(|l| !l.is_empty()) else {
        return Ok(TOPICS.to_vec());
    };
    let mut topics = Vec::new();
    for name in list.split(',').map(str::trim) {
        let topic = TOPICS.iter().find(|t| **t == name).ok_or_else(|| {
            // The name is echoed back cut short: it is whatever the client sent.
            let shown: String = name.chars().take(40).collect();
            ApiError::bad_request(
                "unknown_topic",
                format!("unknown topic '{shown}'"),
                "topics are block, finalized, tx, epoch, registration, weights",
            )
        })?;
        if !topics.contains(topic) {
            topics.push(*topic);
        }
    }
    Ok(topics)
}

/// `Last-Event-ID`, a block height, if sent.
fn parse_last_event_id(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get("last-event-id") else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::bad_request(
                "bad_last_event_id",
                "Last-Event-ID is not a block height",
                "send the id of the last event you received (a decimal height), or no header",
            )
        })
}

/// The blocks to replay after `last_seen` with the head at `head`: (first, last, first asked for).
fn replay_range(last_seen: u64, head: u64) -> Option<(u64, u64, u64)> {
    let asked = last_seen.checked_add(1).filter(|from| *from <= head)?;
    let earliest = head.saturating_sub(MAX_REPLAY - 1);
    Some((asked.max(earliest), head, asked))
}

/// The events of blocks `from..=to`, read a chunk at a time on the blocking pool as the client
/// takes them.
fn replay(
    api: Arc<dyn NodeApi>,
    from: u64,
    to: u64,
    topics: Vec<&'static str>,
) -> impl Stream<Item = Event> {
    stream::unfold(Some(from), move |next| {
        let (api, topics) = (api.clone(), topics.clone());
        async move {
            let start = next.filter(|h| *h <= to)?;
            let end = start.saturating_add(REPLAY_CHUNK - 1).min(to);
            let events = tokio::task::spawn_blocking(move || {
                let mut out = Vec::new();
                for h in start..=end {
                    match BlockEvent::of_block(api.ledger(), h) {
                        Ok(Some(ev)) => out.extend(events_for(&ev, &topics)),
                        Ok(None) => {}
                        Err(e) => tracing::warn!(height = h, error = %e, "replay read failed"),
                    }
                }
                out
            })
            .await
            .unwrap_or_default();
            Some((stream::iter(events), end.checked_add(1)))
        }
    })
    .flatten()
}

fn too_many_streams(refused: TooManyStreams) -> ApiError {
    let (scope, limit) = match refused {
        TooManyStreams::Total(n) => ("node", n),
        TooManyStreams::PerClient(n) => ("client", n),
    };
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "too_many_streams",
        format!("the {scope} already has {limit} event streams open, the most it may"),
        "close a stream you do not need (one stream can carry every topic), then retry",
    )
    .with_details(json!({ "scope": scope, "limit": limit }))
    .with_retry_after(STREAM_RETRY_AFTER_SECS)
}

/// The last event a subscriber that fell behind gets before its stream ends.
fn dropped(missed: u64) -> Event {
    Event::default().event("dropped").data(
        json!({
            "reason": "slow_subscriber",
            "missed": missed,
            "hint": "read faster; reconnect with Last-Event-ID to resume where you stopped",
        })
        .to_string(),
    )
}

/// Subscribe to new blocks, finality, included transactions, epochs, registrations and weights.
/// With `Last-Event-ID` (a height), the blocks after it (at most 1000) are replayed first.
#[utoipa::path(get, path = "/v1/events", tag = "events", params(EventsQuery,
        ("Last-Event-ID" = Option<u64>, Header, description = "height of the last event received: replay from the next block")),
    responses((status = 200, description = "text/event-stream; a final `dropped` event ends a stream that fell behind"),
        (status = 400, description = "unknown_topic, bad_last_event_id"),
        (status = 503, description = "too_many_streams (with Retry-After)")))]
pub async fn events(
    State(st): State<AppState>,
    ApiQuery(q): ApiQuery<EventsQuery>,
    headers: HeaderMap,
    extensions: Extensions,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let topics = parse_topics(q.topics.as_deref())?;
    let last_seen = parse_last_event_id(&headers)?;
    let client = client_ip(&extensions);
    let permit = st
        .streams
        .acquire(client, st.limits.limits(client))
        .map_err(too_many_streams)?;
    // Subscribe before reading the head so no block falls between replay and live.
    let live = st.api.subscribe();
    let head = st.api.ledger().head().height;
    let range = last_seen.and_then(|last| replay_range(last, head));
    let truncated = range
        .filter(|(from, _, asked)| from > asked)
        .map(|(from, _, asked)| {
            Event::default().event("replay_truncated").data(
                json!({"asked_from": asked, "from": from, "hint": "older blocks are at /v1/blocks"})
                    .to_string(),
            )
        });
    let replayed = match range {
        Some((from, to, _)) => replay(st.api.clone(), from, to, topics.clone()).left_stream(),
        None => stream::empty().right_stream(),
    };
    // After a Last-Event-ID, live blocks the replay already covered are skipped.
    let live_after = last_seen.map(|_| head);
    let live = BroadcastStream::new(live)
        .scan(false, move |ended, msg| {
            let out = match msg {
                _ if *ended => return futures::future::ready(None),
                Ok(block) if live_after.is_none_or(|h| block.height > h) => {
                    events_for(&block, &topics)
                }
                Ok(_) => vec![],
                Err(BroadcastStreamRecvError::Lagged(missed)) => {
                    *ended = true;
                    vec![dropped(missed)]
                }
            };
            futures::future::ready(Some(stream::iter(out)))
        })
        .flatten();
    let stream = stream::iter(truncated)
        .chain(replayed)
        .chain(live)
        .map(move |event| {
            // The slot is held as long as the stream lives and freed when it is dropped.
            let _slot = &permit;
            Ok(event)
        });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_ranges_never_overflow_and_stay_bounded() {
        assert_eq!(replay_range(u64::MAX, 10), None);
        assert_eq!(replay_range(10, 10), None);
        assert_eq!(replay_range(3, 10), Some((4, 10, 4)));
        assert_eq!(replay_range(0, 5_000), Some((4_001, 5_000, 1)));
        assert_eq!(
            replay_range(u64::MAX - 1, u64::MAX),
            Some((u64::MAX, u64::MAX, u64::MAX))
        );
    }

    #[test]
    fn topics_are_deduplicated_and_validated() {
        assert_eq!(
            parse_topics(Some("block,block, tx,block")).unwrap(),
            ["block", "tx"]
        );
        assert_eq!(parse_topics(None).unwrap(), TOPICS);
        assert_eq!(
            parse_topics(Some("block,gossip")).unwrap_err().code,
            "unknown_topic"
        );
    }
}
