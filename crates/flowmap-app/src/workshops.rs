//! Live workshops: a facilitator runs the outcome-mapping exercise and the first map with
//! a group, everyone's screen updated as the state changes.
//!
//! Who is asking is a key: the facilitator's (issued to the editor who creates the
//! workshop) or a participant's (issued when they join with the workshop's secret code).
//! Keys act only within their workshop and are stored as their SHA-256. The facilitator
//! changes phases and closes; everyone adds notes and edits their own; the facilitator
//! edits any note. Closing saves the outcome and the map through the same use cases as
//! any save ([`App::save_outcome`], [`App::save_map`]), by the editor who created the
//! workshop, so the result is the team's outcome and map with their histories.
//!
//! Every change is one store transaction that appends a numbered event; [`Live`] tells
//! every listener in this process when a workshop's number moved — at once for changes
//! made here, within [`POLL_INTERVAL`] for changes made by another server on the same
//! database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flowmap_core::map::parse_map;
use flowmap_store::{
    Applied, Change, Expected, KeyHolder, MapFormat, NewWorkshop, Store, StoredNote,
    StoredParticipant, StoredWorkshop, WorkshopEvent, WorkshopSnapshot,
};
use jiff::Timestamp;
use serde_json::json;
use tokio::sync::watch;

use crate::access::{digest, random_secret};
use crate::maps::SaveMap;
use crate::outcomes::SaveOutcome;
use crate::{Actor, App, AppError, Role};

/// Each participant's dots when the workshop does not say.
pub const DEFAULT_DOTS: u32 = 3;
/// The brainstorm countdown when the facilitator does not say: five minutes.
pub const DEFAULT_BRAINSTORM_SECONDS: u32 = 300;
/// How often a watched workshop's version is read, to notice changes made by another
/// server on the same database.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// The longest note, participant name, title or mandate, in characters.
pub const MAX_TEXT: usize = 2000;
/// The most dots a workshop may give each participant.
pub const MAX_DOTS: u32 = 20;

/// A workshop to create.
#[derive(Clone, Copy, Debug)]
pub struct CreateWorkshop<'a> {
    pub title: &'a str,
    pub mandate: &'a str,
    /// The value stream to map: the id its map is saved under at close.
    pub stream: &'a str,
    /// Each participant's dots (default [`DEFAULT_DOTS`]).
    pub dots: Option<u32>,
}

/// A created workshop: its id and the secrets, shown once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedWorkshop {
    pub id: String,
    pub join_code: String,
    pub facilitator_key: String,
}

/// What a holder of a key sees of a workshop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkshopView {
    pub snapshot: WorkshopSnapshot,
    pub holder: KeyHolder,
    /// The total dots on each category, sorted by category, once the vote is revealed
    /// (the facilitator left the vote phase); `None` before.
    pub tally: Option<Vec<(String, u32)>>,
    /// The holder's own dots per category (participants).
    pub my_votes: Vec<(String, u32)>,
    /// The categories notes are sorted into, sorted.
    pub categories: Vec<String>,
}

/// What closing saved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Closed {
    pub outcome: Option<(String, u32)>,
    pub map: Option<(String, u32)>,
}

fn checked_text(what: &str, text: &str, allow_empty: bool) -> Result<String, AppError> {
    let text = text.trim();
    if text.is_empty() && !allow_empty {
        return Err(AppError::Invalid(format!("{what}: must not be empty")));
    }
    if text.chars().count() > MAX_TEXT {
        return Err(AppError::Invalid(format!(
            "{what}: longer than {MAX_TEXT} characters"
        )));
    }
    Ok(text.to_owned())
}

fn facilitator_only(holder: &KeyHolder, action: &str) -> Result<(), AppError> {
    match holder {
        KeyHolder::Facilitator => Ok(()),
        KeyHolder::Participant { .. } => Err(AppError::Denied(format!(
            "only the facilitator may {action}"
        ))),
    }
}

fn note_json(note: &StoredNote) -> serde_json::Value {
    json!({
        "id": note.id,
        "author": note.author,
        "text": note.text,
        "category": note.category,
    })
}

impl App {
    /// Creates a workshop; `actor` (an editor) becomes its facilitator and the author of
    /// what it saves at close.
    pub async fn create_workshop(
        &self,
        actor: &Actor,
        create: CreateWorkshop<'_>,
    ) -> Result<CreatedWorkshop, AppError> {
        actor.require(Role::Editor, "run workshops")?;
        let title = checked_text("title", create.title, false)?;
        let mandate = checked_text("mandate", create.mandate, true)?;
        let stream = create.stream.trim();
        if !flowmap_store::valid_map_id(stream) {
            return Err(AppError::Invalid(format!(
                "stream: {stream:?} must be 1-64 characters of a-z, 0-9, - and _ (the id its map is saved under)"
            )));
        }
        let dots = create.dots.unwrap_or(DEFAULT_DOTS);
        if dots == 0 || dots > MAX_DOTS {
            return Err(AppError::Invalid(format!(
                "dots: expected 1 to {MAX_DOTS}, got {dots}"
            )));
        }
        let id = random_secret("")?[..12].to_owned();
        let join_code = random_secret("")?[..16].to_owned();
        let facilitator_key = random_secret("fmw_")?;
        let start_map = self.store.map(stream, None).await?;
        self.store
            .create_workshop(NewWorkshop {
                id: &id,
                title: &title,
                mandate: &mandate,
                stream,
                join_code: &join_code,
                facilitator_key_digest: &digest(&facilitator_key),
                created_by: &actor.name,
                dots,
                map: start_map.as_ref().map(|m| (m.format, m.text.as_str())),
            })
            .await?;
        self.audit(actor, "create workshop", &id, "created").await?;
        Ok(CreatedWorkshop {
            id,
            join_code,
            facilitator_key,
        })
    }

    /// Every workshop, newest first.
    pub async fn workshops(&self) -> Result<Vec<StoredWorkshop>, AppError> {
        Ok(self.store.workshops().await?)
    }

    /// Who holds `key` in workshop `id`: [`AppError::Unauthenticated`] for a key of
    /// another workshop, an unknown key or none.
    pub async fn workshop_holder(
        &self,
        id: &str,
        key: Option<&str>,
    ) -> Result<KeyHolder, AppError> {
        let Some(key) = key else {
            return Err(AppError::Unauthenticated(
                "send this workshop's key: Authorization: Bearer <key>",
            ));
        };
        self.store
            .workshop_key(id, &digest(key))
            .await?
            .ok_or(AppError::Unauthenticated("not a key of this workshop"))
    }

    /// Adds a participant called `name` when `code` is the workshop's join code; returns
    /// the participant and their key (shown once).
    pub async fn join_workshop(
        &self,
        id: &str,
        name: &str,
        code: &str,
    ) -> Result<(StoredParticipant, String), AppError> {
        let name = checked_text("name", name, false)?;
        if name.chars().count() > 60 {
            return Err(AppError::Invalid("name: longer than 60 characters".into()));
        }
        let key = random_secret("fmw_")?;
        let key_digest = digest(&key);
        let applied = self
            .change(
                id,
                Change::Join {
                    name: &name,
                    key_digest: &key_digest,
                    join_code: code,
                },
                "participant_joined",
                |a| {
                    let p = a.participant.as_ref();
                    json!({ "id": p.map(|p| p.id), "name": p.map(|p| p.name.as_str()) })
                },
            )
            .await?;
        let participant = applied
            .participant
            .ok_or(AppError::Background("joining a workshop"))?;
        Ok((participant, key))
    }

    /// The workshop as `holder` sees it.
    pub async fn workshop_view(
        &self,
        id: &str,
        holder: KeyHolder,
    ) -> Result<WorkshopView, AppError> {
        let snapshot = self
            .store
            .workshop(id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no workshop {id:?}")))?;
        let revealed = matches!(
            snapshot.workshop.phase.as_str(),
            "outcome" | "map" | "closed"
        );
        let mut totals: std::collections::BTreeMap<String, u32> = Default::default();
        let mut my_votes = Vec::new();
        for vote in &snapshot.votes {
            *totals.entry(vote.category.clone()).or_default() += vote.dots;
            if let KeyHolder::Participant { id: me, .. } = &holder
                && vote.participant == *me
            {
                my_votes.push((vote.category.clone(), vote.dots));
            }
        }
        let mut categories: Vec<String> = snapshot
            .notes
            .iter()
            .filter_map(|n| n.category.clone())
            .collect();
        categories.sort();
        categories.dedup();
        Ok(WorkshopView {
            tally: revealed.then(|| totals.into_iter().collect()),
            my_votes,
            categories,
            snapshot,
            holder,
        })
    }

    /// Adds a concern note (brainstorm and group phases).
    pub async fn add_note(
        &self,
        id: &str,
        holder: &KeyHolder,
        text: &str,
    ) -> Result<StoredNote, AppError> {
        let text = checked_text("text", text, false)?;
        let applied = self
            .change(
                id,
                Change::AddNote {
                    by: holder,
                    text: &text,
                },
                "note_added",
                |a| a.note.as_ref().map_or(json!(null), note_json),
            )
            .await?;
        applied.note.ok_or(AppError::Background("adding a note"))
    }

    /// Changes a note's text and/or category (`Some(None)` clears it): a participant their
    /// own notes, the facilitator any.
    pub async fn edit_note(
        &self,
        id: &str,
        holder: &KeyHolder,
        note: i64,
        text: Option<&str>,
        category: Option<Option<&str>>,
    ) -> Result<StoredNote, AppError> {
        let text = text.map(|t| checked_text("text", t, false)).transpose()?;
        let category = match category {
            Some(Some(c)) => {
                let c = checked_text("category", c, true)?;
                Some((!c.is_empty()).then_some(c))
            }
            Some(None) => Some(None),
            None => None,
        };
        let applied = self
            .change(
                id,
                Change::EditNote {
                    by: holder,
                    note,
                    text: text.as_deref(),
                    category: category.as_ref().map(|c| c.as_deref()),
                },
                "note_changed",
                |a| a.note.as_ref().map_or(json!(null), note_json),
            )
            .await?;
        applied.note.ok_or(AppError::Background("changing a note"))
    }

    /// Deletes a note: a participant their own, the facilitator any.
    pub async fn delete_note(
        &self,
        id: &str,
        holder: &KeyHolder,
        note: i64,
    ) -> Result<(), AppError> {
        self.change(
            id,
            Change::DeleteNote { by: holder, note },
            "note_deleted",
            |_| json!({ "id": note }),
        )
        .await?;
        Ok(())
    }

    /// Moves the workshop to `phase` (the facilitator); entering the brainstorm starts
    /// the shared countdown of `seconds` (default [`DEFAULT_BRAINSTORM_SECONDS`]).
    pub async fn set_phase(
        &self,
        id: &str,
        holder: &KeyHolder,
        phase: &str,
        seconds: Option<u32>,
    ) -> Result<Option<Timestamp>, AppError> {
        facilitator_only(holder, "change the phase")?;
        let countdown_ends = if phase == "brainstorm" {
            let seconds = seconds.unwrap_or(DEFAULT_BRAINSTORM_SECONDS);
            if seconds == 0 || seconds > 24 * 3600 {
                return Err(AppError::Invalid(format!(
                    "seconds: expected 1 to 86400, got {seconds}"
                )));
            }
            let ends = Timestamp::now().as_millisecond() + i64::from(seconds) * 1000;
            Some(
                Timestamp::from_millisecond(ends)
                    .map_err(|e| AppError::Invalid(format!("seconds: {e}")))?,
            )
        } else {
            None
        };
        self.change(
            id,
            Change::Phase {
                phase,
                countdown_ends,
            },
            "phase",
            |_| {
                json!({
                    "phase": phase,
                    "countdown_ends": countdown_ends.map(|t| t.as_millisecond()),
                })
            },
        )
        .await?;
        Ok(countdown_ends)
    }

    /// Places `dots` of a participant's dots on `category`, replacing what they had
    /// there; returns the dots they have placed in all.
    pub async fn vote(
        &self,
        id: &str,
        holder: &KeyHolder,
        category: &str,
        dots: u32,
    ) -> Result<u32, AppError> {
        let KeyHolder::Participant {
            id: participant, ..
        } = holder
        else {
            return Err(AppError::Denied(
                "only participants place dots (join with the link to vote)".into(),
            ));
        };
        let applied = self
            .change(
                id,
                Change::Vote {
                    participant: *participant,
                    category,
                    dots,
                },
                "votes",
                // The tally stays hidden until it is revealed: the event says who voted,
                // not where.
                |a| json!({ "participant": participant, "dots_used": a.dots_used }),
            )
            .await?;
        Ok(applied.dots_used)
    }

    /// Replaces the outcome being written; it must be a valid outcome file.
    pub async fn put_workshop_outcome(
        &self,
        id: &str,
        format: MapFormat,
        text: &str,
    ) -> Result<u64, AppError> {
        self.check_outcome(&format!("outcome.{}", format.as_str()), text, format)
            .await?;
        let applied = self
            .change(
                id,
                Change::Outcome { format, text },
                "outcome",
                |_| json!({ "format": format.as_str() }),
            )
            .await?;
        Ok(applied.seq)
    }

    /// Replaces the map being drawn; it must be a valid map.
    pub async fn put_workshop_map(
        &self,
        id: &str,
        format: MapFormat,
        text: &str,
    ) -> Result<u64, AppError> {
        if let Err(diagnostics) = parse_map(text, format) {
            return Err(AppError::InvalidMap {
                file: format!("map.{}", format.as_str()),
                diagnostics,
            });
        }
        let applied = self
            .change(
                id,
                Change::Map { format, text },
                "map",
                |_| json!({ "format": format.as_str() }),
            )
            .await?;
        Ok(applied.seq)
    }

    /// Closes the workshop (the facilitator): saves its outcome and map as new versions
    /// under the stream's id, by the editor who created it, then makes it read-only.
    pub async fn close_workshop(&self, id: &str, holder: &KeyHolder) -> Result<Closed, AppError> {
        facilitator_only(holder, "close the workshop")?;
        let snapshot = self
            .store
            .workshop(id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no workshop {id:?}")))?;
        let workshop = snapshot.workshop;
        if workshop.closed_at.is_some() {
            return Err(AppError::Denied(
                "this workshop is closed: it is read-only".into(),
            ));
        }
        let author = Actor::new(workshop.created_by.clone(), Role::Editor);
        let mut closed = Closed {
            outcome: None,
            map: None,
        };
        if let Some((format, text)) = &workshop.map {
            let saved = self
                .save_map(
                    &author,
                    SaveMap {
                        id: &workshop.stream,
                        format: *format,
                        text,
                        expected: Expected::Any,
                    },
                )
                .await?;
            closed.map = Some((saved.id, saved.version));
        }
        // After the map: an outcome may name the map's steps.
        if let Some((format, text)) = &workshop.outcome {
            let saved = self
                .save_outcome(
                    &author,
                    SaveOutcome {
                        id: &workshop.stream,
                        format: *format,
                        text,
                        expected: Expected::Any,
                    },
                )
                .await?;
            closed.outcome = Some((saved.id, saved.version));
        }
        let outcome = closed.outcome.as_ref().map(|(i, v)| (i.as_str(), *v));
        let map = closed.map.as_ref().map(|(i, v)| (i.as_str(), *v));
        self.change(id, Change::Close { outcome, map }, "closed", |_| {
            json!({
                "outcome": outcome.map(|(i, v)| json!({"id": i, "version": v})),
                "map": map.map(|(i, v)| json!({"id": i, "version": v})),
            })
        })
        .await?;
        Ok(closed)
    }

    /// The events of workshop `id` after number `after`, at most `limit`.
    pub async fn workshop_events(
        &self,
        id: &str,
        after: u64,
        limit: u32,
    ) -> Result<Vec<WorkshopEvent>, AppError> {
        Ok(self.store.workshop_events(id, after, limit).await?)
    }

    /// Who is told when a workshop changes.
    pub fn live(&self) -> &Live {
        &self.live
    }

    async fn change(
        &self,
        id: &str,
        change: Change<'_>,
        kind: &str,
        event: impl FnOnce(&Applied) -> serde_json::Value,
    ) -> Result<Applied, AppError> {
        let applied = self
            .store
            .change_workshop(id, change, kind, |a| event(a).to_string())
            .await?;
        self.live.written(id, applied.seq);
        Ok(applied)
    }
}

/// The latest event number of every workshop someone in this process listens to.
///
/// A change made through this process is announced at once; a poller per watched
/// workshop reads its version every [`POLL_INTERVAL`] to catch changes made by other
/// servers on the same database, and stops when the last listener has gone.
#[derive(Clone, Debug)]
pub struct Live {
    store: Store,
    watched: Arc<Mutex<HashMap<String, watch::Sender<u64>>>>,
}

impl Live {
    pub(crate) fn new(store: Store) -> Live {
        Live {
            store,
            watched: Arc::default(),
        }
    }

    /// A receiver of workshop `id`'s latest event number: it changes whenever an event is
    /// added (read the events from the store after it changes). Needs a tokio runtime.
    pub fn subscribe(&self, id: &str) -> watch::Receiver<u64> {
        let mut watched = match self.watched.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(sender) = watched.get(id) {
            return sender.subscribe();
        }
        let (sender, receiver) = watch::channel(0);
        watched.insert(id.to_owned(), sender.clone());
        let live = self.clone();
        let id = id.to_owned();
        tokio::spawn(async move { live.poll(id, sender).await });
        receiver
    }

    fn written(&self, id: &str, seq: u64) {
        let watched = match self.watched.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(sender) = watched.get(id) {
            raise(sender, seq);
        }
    }

    async fn poll(self, id: String, sender: watch::Sender<u64>) {
        loop {
            if let Ok(Some(version)) = self.store.workshop_version(&id).await {
                raise(&sender, version);
            }
            tokio::time::sleep(POLL_INTERVAL).await;
            let mut watched = match self.watched.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            if sender.receiver_count() == 0 {
                watched.remove(&id);
                return;
            }
        }
    }
}

fn raise(sender: &watch::Sender<u64>, seq: u64) {
    sender.send_if_modified(|current| {
        if seq > *current {
            *current = seq;
            true
        } else {
            false
        }
    });
}
