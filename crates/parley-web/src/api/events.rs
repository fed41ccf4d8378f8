//! GET /api/v1/stories/{id}/events: a story's live updates as Server-Sent Events,
//! resumable with Last-Event-ID.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use futures::StreamExt;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use crate::AppState;
use crate::error::ApiResult;
use crate::events::StoryEvent;

fn to_sse(e: &StoryEvent) -> Event {
    Event::default()
        .id(e.id.to_string())
        .event(e.kind.as_str())
        .data(serde_json::to_string(e).unwrap_or_default())
}

/// Tells the client it missed more than we kept: reload the conversation.
fn reset() -> Event {
    Event::default().event("reset").data("{}")
}

pub async fn stream(
    State(state): State<AppState>,
    Path(story_id): Path<i64>,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    state.story(story_id).await?;
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let sub = state.events.subscribe(story_id, last);
    let first: Vec<Event> = if sub.gap {
        vec![reset()]
    } else {
        sub.missed.iter().map(|e| to_sse(e)).collect()
    };
    // Ids follow delivery order only per node; skip what was replayed by id.
    let replayed: std::collections::HashSet<u64> = sub.missed.iter().map(|e| e.id).collect();
    let live = BroadcastStream::new(sub.live).filter_map(move |item| {
        std::future::ready(match item {
            Ok(e) if replayed.contains(&e.id) => None,
            Ok(e) => Some(to_sse(&e)),
            Err(BroadcastStreamRecvError::Lagged(_)) => Some(reset()),
        })
    });
    let open = state.metrics.sse_stream();
    let stream = futures::stream::iter(first)
        .chain(live)
        .take_until(state.shutting_down())
        .map(move |event| {
            // Counted as open until the client goes and the stream is dropped.
            let _open = &open;
            Ok(event)
        });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(20))))
}
