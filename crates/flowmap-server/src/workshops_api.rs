//! The workshops part of the JSON API (the workshop pages use it too).
//!
//! Creating and listing workshops are ordinary API calls (editor and viewer access).
//! Everything under `/api/v1/workshops/{id}/` is asked with a workshop key as the bearer
//! token — the facilitator's or a participant's — which acts only within its workshop;
//! joining needs the join code instead. `GET …/events` is a server-sent event stream of
//! every change, numbered: `?after=N` (or `Last-Event-ID`) resumes after event N.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use flowmap_app::Actor;
use flowmap_app::workshops::{CreateWorkshop, WorkshopView};
use flowmap_store::{KeyHolder, StoredWorkshop};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::bearer_token;
use crate::error::ApiError;
use crate::query::Query;

/// The origin join links start with: the public URL, else the host the request came to.
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.config().access.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// The link participants join with.
pub fn join_url(base: &str, workshop: &StoredWorkshop) -> String {
    format!(
        "{base}/workshops/{}/join?code={}",
        workshop.id, workshop.join_code
    )
}

fn summary(workshop: &StoredWorkshop) -> Value {
    json!({
        "id": workshop.id,
        "title": workshop.title,
        "phase": workshop.phase,
        "stream": workshop.stream,
        "created_at": workshop.created_at,
        "created_by": workshop.created_by,
        "closed_at": workshop.closed_at,
    })
}

pub async fn workshops(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let items: Vec<Value> = state.app().workshops().await?.iter().map(summary).collect();
    Ok(Json(json!({ "workshops": items })))
}

#[derive(Debug, Deserialize)]
pub struct CreateBody {
    title: String,
    #[serde(default)]
    mandate: String,
    stream: String,
    dots: Option<u32>,
}

pub async fn create_workshop(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    headers: HeaderMap,
    Json(body): Json<CreateBody>,
) -> Result<Response, ApiError> {
    let created = state
        .app()
        .create_workshop(
            &actor,
            CreateWorkshop {
                title: &body.title,
                mandate: &body.mandate,
                stream: &body.stream,
                dots: body.dots,
            },
        )
        .await?;
    let base = base_url(&state, &headers);
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": created.id,
            "join_url": format!("{base}/workshops/{}/join?code={}", created.id, created.join_code),
            "facilitator_key": created.facilitator_key,
        })),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
pub struct JoinBody {
    name: String,
    join: String,
}

pub async fn join(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<JoinBody>,
) -> Result<Response, ApiError> {
    let (participant, key) = state
        .app()
        .join_workshop(&id, &body.name, &body.join)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "participant_key": key, "id": participant.id, "name": participant.name })),
    )
        .into_response())
}

/// Who the request's workshop key belongs to.
pub async fn holder(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
) -> Result<KeyHolder, ApiError> {
    Ok(state
        .app()
        .workshop_holder(id, bearer_token(headers))
        .await?)
}

/// The whole state as `GET /api/v1/workshops/{id}` answers it.
pub fn state_json(view: &WorkshopView, base: &str) -> Value {
    let snapshot = &view.snapshot;
    let w = &snapshot.workshop;
    let names: std::collections::HashMap<i64, &str> = snapshot
        .participants
        .iter()
        .map(|p| (p.id, p.name.as_str()))
        .collect();
    let notes: Vec<Value> = snapshot
        .notes
        .iter()
        .map(|n| {
            json!({
                "id": n.id,
                "text": n.text,
                "category": n.category,
                "author": n.author,
                "author_name": n.author.map_or("facilitator", |a| names.get(&a).copied().unwrap_or("")),
                "mine": match &view.holder {
                    KeyHolder::Facilitator => n.author.is_none(),
                    KeyHolder::Participant { id, .. } => n.author == Some(*id),
                },
            })
        })
        .collect();
    let participants: Vec<Value> = snapshot
        .participants
        .iter()
        .map(|p| json!({ "id": p.id, "name": p.name }))
        .collect();
    let document = |doc: &Option<(flowmap_store::MapFormat, String)>| {
        doc.as_ref()
            .map(|(format, text)| json!({ "format": format.as_str(), "text": text }))
    };
    let mut value = json!({
        "id": w.id,
        "title": w.title,
        "mandate": w.mandate,
        "stream": w.stream,
        "phase": w.phase,
        "version": w.version,
        "dots": w.dots,
        "server_time": jiff::Timestamp::now().as_millisecond(),
        "countdown_ends": w.countdown_ends.map(|t| t.as_millisecond()),
        "notes": notes,
        "categories": view.categories,
        "participants": participants,
        "outcome": document(&w.outcome),
        "map": document(&w.map),
        "closed_at": w.closed_at,
        "saved": {
            "outcome": w.saved_outcome.as_ref().map(|(i, v)| json!({"id": i, "version": v})),
            "map": w.saved_map.as_ref().map(|(i, v)| json!({"id": i, "version": v})),
        },
    });
    if let Some(tally) = &view.tally {
        let votes: serde_json::Map<String, Value> = tally
            .iter()
            .map(|(category, dots)| (category.clone(), json!(dots)))
            .collect();
        value["votes"] = Value::Object(votes);
    }
    match &view.holder {
        KeyHolder::Facilitator => {
            value["you"] = json!({ "role": "facilitator" });
            if w.closed_at.is_none() {
                value["join_url"] = json!(join_url(base, w));
            }
        }
        KeyHolder::Participant { id, name } => {
            let mine: serde_json::Map<String, Value> = view
                .my_votes
                .iter()
                .map(|(category, dots)| (category.clone(), json!(dots)))
                .collect();
            value["you"] = json!({ "role": "participant", "id": id, "name": name, "votes": mine });
        }
    }
    value
}

pub async fn workshop(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let holder = holder(&state, &id, &headers).await?;
    let view = state.app().workshop_view(&id, holder).await?;
    Ok(Json(state_json(&view, &base_url(&state, &headers))))
}

fn note_value(note: &flowmap_store::StoredNote) -> Value {
    json!({ "id": note.id, "text": note.text, "category": note.category, "author": note.author })
}

#[derive(Debug, Deserialize)]
pub struct NoteBody {
    text: String,
}

pub async fn add_note(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<NoteBody>,
) -> Result<Response, ApiError> {
    let holder = holder(&state, &id, &headers).await?;
    let note = state.app().add_note(&id, &holder, &body.text).await?;
    Ok((StatusCode::CREATED, Json(note_value(&note))).into_response())
}

/// `category` absent leaves it, `null` or `""` clears it.
#[derive(Debug, Deserialize)]
pub struct NotePatch {
    text: Option<String>,
    #[serde(default, deserialize_with = "present")]
    category: Option<Option<String>>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

pub async fn edit_note(
    State(state): State<AppState>,
    Path((id, note)): Path<(String, i64)>,
    headers: HeaderMap,
    Json(body): Json<NotePatch>,
) -> Result<Json<Value>, ApiError> {
    let holder = holder(&state, &id, &headers).await?;
    let note = state
        .app()
        .edit_note(
            &id,
            &holder,
            note,
            body.text.as_deref(),
            body.category.as_ref().map(|c| c.as_deref()),
        )
        .await?;
    Ok(Json(note_value(&note)))
}

pub async fn delete_note(
    State(state): State<AppState>,
    Path((id, note)): Path<(String, i64)>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let holder = holder(&state, &id, &headers).await?;
    state.app().delete_note(&id, &holder, note).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub struct PhaseBody {
    phase: String,
    seconds: Option<u32>,
}

pub async fn phase(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<PhaseBody>,
) -> Result<Json<Value>, ApiError> {
    let holder = holder(&state, &id, &headers).await?;
    let ends = state
        .app()
        .set_phase(&id, &holder, &body.phase, body.seconds)
        .await?;
    Ok(Json(json!({
        "phase": body.phase,
        "countdown_ends": ends.map(|t| t.as_millisecond()),
    })))
}

#[derive(Debug, Deserialize)]
pub struct VoteBody {
    category: String,
    dots: u32,
}

pub async fn vote(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<VoteBody>,
) -> Result<Json<Value>, ApiError> {
    let holder = holder(&state, &id, &headers).await?;
    let used = state
        .app()
        .vote(&id, &holder, &body.category, body.dots)
        .await?;
    Ok(Json(
        json!({ "category": body.category, "dots": body.dots, "dots_used": used }),
    ))
}

/// The workshop's outcome or map as the room is writing it: text and format (`yaml` by
/// default); it becomes a saved version when the workshop closes.
#[derive(Debug, Deserialize)]
pub struct DraftBody {
    format: Option<String>,
    text: String,
}

pub async fn put_outcome(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<DraftBody>,
) -> Result<Json<Value>, ApiError> {
    holder(&state, &id, &headers).await?;
    let format = flowmap_app::documents::format_named(body.format.as_deref())?;
    let version = state
        .app()
        .put_workshop_outcome(&id, format, &body.text)
        .await?;
    Ok(Json(
        json!({ "format": format.as_str(), "version": version }),
    ))
}

pub async fn put_map(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<DraftBody>,
) -> Result<Json<Value>, ApiError> {
    holder(&state, &id, &headers).await?;
    let format = flowmap_app::documents::format_named(body.format.as_deref())?;
    let version = state
        .app()
        .put_workshop_map(&id, format, &body.text)
        .await?;
    Ok(Json(
        json!({ "format": format.as_str(), "version": version }),
    ))
}

pub async fn close(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let holder = holder(&state, &id, &headers).await?;
    let closed = state.app().close_workshop(&id, &holder).await?;
    let saved =
        |s: &Option<(String, u32)>| s.as_ref().map(|(i, v)| json!({ "id": i, "version": v }));
    Ok(Json(json!({
        "outcome": saved(&closed.outcome),
        "map": saved(&closed.map),
    })))
}

#[derive(Debug, Deserialize)]
pub struct EventParams {
    after: Option<u64>,
}

/// How many events one read of the log returns at most.
const EVENT_BATCH: u32 = 500;

struct Stream {
    state: AppState,
    id: String,
    receiver: tokio::sync::watch::Receiver<u64>,
    after: u64,
    pending: VecDeque<flowmap_store::WorkshopEvent>,
}

/// `GET …/events`: every change after `after` (default: from now on), as
/// `id: N`, `event: KIND`, `data: {"seq", "kind", "at", "data"}`.
pub async fn events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(params): Query<EventParams>,
) -> Result<Response, ApiError> {
    holder(&state, &id, &headers).await?;
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let after = match params.after.or(last_event_id) {
        Some(after) => after,
        None => state
            .store()
            .workshop_version(&id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no workshop {id:?}")))?,
    };
    let receiver = state.app().live().subscribe(&id);
    let start = Stream {
        state,
        id,
        receiver,
        after,
        pending: VecDeque::new(),
    };
    let stream = futures_util::stream::unfold(start, |mut s| async move {
        loop {
            if let Some(event) = s.pending.pop_front() {
                s.after = event.seq;
                let data = format!(
                    "{{\"seq\":{},\"kind\":{},\"at\":{},\"data\":{}}}",
                    event.seq,
                    Value::String(event.kind.clone()),
                    event.at.as_millisecond(),
                    event.data
                );
                let sse = Event::default()
                    .id(event.seq.to_string())
                    .event(event.kind)
                    .data(data);
                return Some((Ok::<_, Infallible>(sse), s));
            }
            // Mark the current version seen before reading, so a change committed while
            // reading wakes the wait below.
            s.receiver.borrow_and_update();
            match s
                .state
                .app()
                .workshop_events(&s.id, s.after, EVENT_BATCH)
                .await
            {
                Ok(events) if !events.is_empty() => {
                    s.pending.extend(events);
                    continue;
                }
                Ok(_) => {}
                Err(err) => {
                    let _ = ApiError::from(err);
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            }
            if s.receiver.changed().await.is_err() {
                return None;
            }
        }
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}
