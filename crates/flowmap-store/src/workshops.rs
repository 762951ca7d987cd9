//! Live workshops: their state (participants, notes, votes, phase, the documents being
//! written) and the log of every change, which is what keeps every screen in step.
//!
//! Every change runs in one transaction that first raises the workshop's `version` by one
//! (which also serialises changes to one workshop: SQLite's write lock, PostgreSQL's row
//! lock), then applies the change and appends the event numbered with that version. A
//! reader that has seen version N asks for the events after N and gets exactly the ones it
//! missed, on any server that shares the database, before or after a restart.
//!
//! The store enforces what must hold under concurrency — the phase a change needs, that a
//! participant edits only their own notes, the cap on a participant's dots, that a closed
//! workshop changes no more — because only inside the transaction is the state it checks
//! the state it changes. Who may ask for which change is the caller's (the application's).

use jiff::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Backend, MapFormat, Store, StoreError};

/// Who is acting in a workshop: its facilitator or one of its participants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyHolder {
    Facilitator,
    Participant { id: i64, name: String },
}

/// A workshop as stored, without its notes, participants and votes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredWorkshop {
    pub id: String,
    pub title: String,
    pub mandate: String,
    /// The value stream (map id) the workshop maps.
    pub stream: String,
    pub join_code: String,
    pub created_by: String,
    pub created_at: Timestamp,
    /// Each participant's dots in the vote phase.
    pub dots: u32,
    pub phase: String,
    /// When the brainstorm countdown ends (set when the brainstorm phase starts).
    pub countdown_ends: Option<Timestamp>,
    pub outcome: Option<(MapFormat, String)>,
    pub map: Option<(MapFormat, String)>,
    pub closed_at: Option<Timestamp>,
    /// The outcome and map versions saved at close.
    pub saved_outcome: Option<(String, u32)>,
    pub saved_map: Option<(String, u32)>,
    /// The number of the latest event.
    pub version: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredParticipant {
    pub id: i64,
    pub name: String,
    pub joined_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredNote {
    pub id: i64,
    /// The participant who wrote it; `None` for the facilitator.
    pub author: Option<i64>,
    pub text: String,
    pub category: Option<String>,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredVote {
    pub participant: i64,
    pub category: String,
    pub dots: u32,
}

/// A workshop's whole state, read in one snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkshopSnapshot {
    pub workshop: StoredWorkshop,
    pub participants: Vec<StoredParticipant>,
    pub notes: Vec<StoredNote>,
    pub votes: Vec<StoredVote>,
}

/// One change, as every screen receives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkshopEvent {
    pub seq: u64,
    pub at: Timestamp,
    pub kind: String,
    /// JSON written by the caller.
    pub data: String,
}

/// A new workshop.
#[derive(Clone, Copy, Debug)]
pub struct NewWorkshop<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub mandate: &'a str,
    pub stream: &'a str,
    pub join_code: &'a str,
    pub facilitator_key_digest: &'a str,
    pub created_by: &'a str,
    pub dots: u32,
    /// The map the workshop starts from (the stream's saved map, if any).
    pub map: Option<(MapFormat, &'a str)>,
}

/// A change to a workshop. Notes and participants are numbered with the event that
/// created them.
#[derive(Clone, Debug)]
pub enum Change<'a> {
    Join {
        name: &'a str,
        key_digest: &'a str,
        join_code: &'a str,
    },
    AddNote {
        by: &'a KeyHolder,
        text: &'a str,
    },
    EditNote {
        by: &'a KeyHolder,
        note: i64,
        text: Option<&'a str>,
        /// `Some(None)` clears the category.
        category: Option<Option<&'a str>>,
    },
    DeleteNote {
        by: &'a KeyHolder,
        note: i64,
    },
    Phase {
        phase: &'a str,
        countdown_ends: Option<Timestamp>,
    },
    Vote {
        participant: i64,
        category: &'a str,
        dots: u32,
    },
    Outcome {
        format: MapFormat,
        text: &'a str,
    },
    Map {
        format: MapFormat,
        text: &'a str,
    },
    Close {
        outcome: Option<(&'a str, u32)>,
        map: Option<(&'a str, u32)>,
    },
}

/// What a change did: its event number, the id of what it created, and the note as it is
/// after the change (for note changes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub seq: u64,
    pub note: Option<StoredNote>,
    pub participant: Option<StoredParticipant>,
    /// The participant's dots on every category after a vote.
    pub dots_used: u32,
}

fn now() -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(Timestamp::now().as_millisecond()).map_err(|e| {
        StoreError::Invalid {
            what: "clock".into(),
            problem: e.to_string(),
        }
    })
}

fn refused(problem: impl Into<String>) -> StoreError {
    StoreError::Refused(problem.into())
}

const WORKSHOP_COLUMNS: &str = "id, title, mandate, stream, join_code, created_by, created_at, \
     dots, phase, countdown_ends, outcome_format, outcome_text, map_format, map_text, \
     closed_at, outcome_id, outcome_version, map_id, map_version, version";

/// The phases in order, and `closed`.
pub const PHASES: [&str; 6] = ["mandate", "brainstorm", "group", "vote", "outcome", "map"];

impl Store {
    /// Creates a workshop in the mandate phase, at version 0.
    pub async fn create_workshop(&self, new: NewWorkshop<'_>) -> Result<(), StoreError> {
        let at = now()?;
        let (map_format, map_text) = match new.map {
            Some((format, text)) => (Some(format.as_str()), Some(text)),
            None => (None, None),
        };
        sqlx::query(
            "INSERT INTO workshops (id, title, mandate, stream, join_code, facilitator_key, \
             created_by, created_at, dots, phase, map_format, map_text, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'mandate', $10, $11, 0)",
        )
        .bind(new.id)
        .bind(new.title)
        .bind(new.mandate)
        .bind(new.stream)
        .bind(new.join_code)
        .bind(new.facilitator_key_digest)
        .bind(new.created_by)
        .bind(at.as_millisecond())
        .bind(i64::from(new.dots))
        .bind(map_format)
        .bind(map_text)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every workshop, newest first.
    pub async fn workshops(&self) -> Result<Vec<StoredWorkshop>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {WORKSHOP_COLUMNS} FROM workshops ORDER BY created_at DESC, id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decode_workshop).collect()
    }

    /// Who holds the key whose SHA-256 is `digest`, in workshop `id`; `None` for a key of
    /// another workshop or no key at all.
    pub async fn workshop_key(
        &self,
        id: &str,
        digest: &str,
    ) -> Result<Option<KeyHolder>, StoreError> {
        let facilitator =
            sqlx::query("SELECT 1 FROM workshops WHERE id = $1 AND facilitator_key = $2")
                .bind(id)
                .bind(digest)
                .fetch_optional(&self.pool)
                .await?;
        if facilitator.is_some() {
            return Ok(Some(KeyHolder::Facilitator));
        }
        let row = sqlx::query(
            "SELECT id, name FROM workshop_participants WHERE workshop_id = $1 AND key_digest = $2",
        )
        .bind(id)
        .bind(digest)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(KeyHolder::Participant {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
            })
        })
        .transpose()
    }

    /// The workshop's latest event number; `None` when there is no such workshop.
    pub async fn workshop_version(&self, id: &str) -> Result<Option<u64>, StoreError> {
        let row = sqlx::query("SELECT version FROM workshops WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| Ok(to_u64(row.try_get("version")?)))
            .transpose()
    }

    /// The events after number `after`, in order (at most `limit`).
    pub async fn workshop_events(
        &self,
        id: &str,
        after: u64,
        limit: u32,
    ) -> Result<Vec<WorkshopEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, at, kind, data FROM workshop_events \
             WHERE workshop_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(id)
        .bind(i64::try_from(after).unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(WorkshopEvent {
                    seq: to_u64(row.try_get("seq")?),
                    at: millis(row.try_get("at")?, "workshop_events", "at")?,
                    kind: row.try_get("kind")?,
                    data: row.try_get("data")?,
                })
            })
            .collect()
    }

    /// The whole state of workshop `id` in one consistent snapshot.
    pub async fn workshop(&self, id: &str) -> Result<Option<WorkshopSnapshot>, StoreError> {
        let mut tx = match self.backend {
            Backend::Sqlite => self.pool.begin().await?,
            Backend::Postgres => {
                self.pool
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ")
                    .await?
            }
        };
        let Some(row) = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {WORKSHOP_COLUMNS} FROM workshops WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        let workshop = decode_workshop(&row)?;
        let participants = sqlx::query(
            "SELECT id, name, joined_at FROM workshop_participants WHERE workshop_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| {
            Ok(StoredParticipant {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                joined_at: millis(row.try_get("joined_at")?, "workshop_participants", "joined_at")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        let notes = sqlx::query(
            "SELECT id, author, text, category, created_at FROM workshop_notes \
             WHERE workshop_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(decode_note)
        .collect::<Result<Vec<_>, StoreError>>()?;
        let votes = sqlx::query(
            "SELECT participant, category, dots FROM workshop_votes \
             WHERE workshop_id = $1 AND dots > 0 ORDER BY participant, category",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| {
            Ok(StoredVote {
                participant: row.try_get("participant")?,
                category: row.try_get("category")?,
                dots: to_u32(row.try_get("dots")?),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        tx.commit().await?;
        Ok(Some(WorkshopSnapshot {
            workshop,
            participants,
            notes,
            votes,
        }))
    }

    /// Applies `change` to workshop `id` and records its event, whose JSON `event` writes
    /// from what the change did, in one transaction. A change the workshop's state does not
    /// allow is [`StoreError::Refused`] (or [`StoreError::NotAllowed`] for someone else's
    /// note), and nothing is written.
    pub async fn change_workshop(
        &self,
        id: &str,
        change: Change<'_>,
        kind: &str,
        event: impl FnOnce(&Applied) -> String,
    ) -> Result<Applied, StoreError> {
        let mut tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        let Some(row) = sqlx::query(
            "UPDATE workshops SET version = version + 1 WHERE id = $1 \
             RETURNING version, phase, closed_at, join_code, dots",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Err(StoreError::NotFound(format!("no workshop {id:?}")));
        };
        // The change's time is when it holds the workshop, after any wait for other writers.
        let at = now()?;
        let seq_i64: i64 = row.try_get("version")?;
        let seq = to_u64(seq_i64);
        let phase: String = row.try_get("phase")?;
        let closed: Option<i64> = row.try_get("closed_at")?;
        let join_code: String = row.try_get("join_code")?;
        let cap = to_u32(row.try_get("dots")?);
        if closed.is_some() {
            return Err(StoreError::NotAllowed(
                "this workshop is closed: it is read-only".into(),
            ));
        }
        let mut applied = Applied {
            seq,
            note: None,
            participant: None,
            dots_used: 0,
        };
        let need_phase = |wanted: &[&str], what: &str| {
            if wanted.contains(&phase.as_str()) {
                Ok(())
            } else {
                Err(refused(format!(
                    "{what} in the {} phase, and the workshop is in the {phase} phase",
                    wanted.join(" or ")
                )))
            }
        };
        match change {
            Change::Join {
                name,
                key_digest,
                join_code: code,
            } => {
                if code != join_code {
                    return Err(StoreError::NotAllowed(
                        "join: the code is not this workshop's".into(),
                    ));
                }
                sqlx::query(
                    "INSERT INTO workshop_participants (workshop_id, id, name, key_digest, joined_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id)
                .bind(seq_i64)
                .bind(name)
                .bind(key_digest)
                .bind(at.as_millisecond())
                .execute(&mut *tx)
                .await?;
                applied.participant = Some(StoredParticipant {
                    id: seq_i64,
                    name: name.to_owned(),
                    joined_at: at,
                });
            }
            Change::AddNote { by, text } => {
                need_phase(&["brainstorm", "group"], "notes are added")?;
                let author = match by {
                    KeyHolder::Facilitator => None,
                    KeyHolder::Participant { id, .. } => Some(*id),
                };
                sqlx::query(
                    "INSERT INTO workshop_notes (workshop_id, id, author, text, created_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id)
                .bind(seq_i64)
                .bind(author)
                .bind(text)
                .bind(at.as_millisecond())
                .execute(&mut *tx)
                .await?;
                applied.note = Some(StoredNote {
                    id: seq_i64,
                    author,
                    text: text.to_owned(),
                    category: None,
                    created_at: at,
                });
            }
            Change::EditNote {
                by,
                note,
                text,
                category,
            } => {
                let mut current = note_for_change(&mut tx, id, note, by).await?;
                if text.is_some() {
                    need_phase(&["brainstorm", "group"], "notes are edited")?;
                }
                if category.is_some() {
                    need_phase(&["group"], "notes are sorted into categories")?;
                }
                if let Some(text) = text {
                    current.text = text.to_owned();
                }
                if let Some(category) = category {
                    current.category = category.map(str::to_owned);
                }
                sqlx::query(
                    "UPDATE workshop_notes SET text = $1, category = $2 \
                     WHERE workshop_id = $3 AND id = $4",
                )
                .bind(&current.text)
                .bind(current.category.as_deref())
                .bind(id)
                .bind(note)
                .execute(&mut *tx)
                .await?;
                applied.note = Some(current);
            }
            Change::DeleteNote { by, note } => {
                need_phase(&["brainstorm", "group"], "notes are deleted")?;
                let current = note_for_change(&mut tx, id, note, by).await?;
                sqlx::query("DELETE FROM workshop_notes WHERE workshop_id = $1 AND id = $2")
                    .bind(id)
                    .bind(note)
                    .execute(&mut *tx)
                    .await?;
                applied.note = Some(current);
            }
            Change::Phase {
                phase: next,
                countdown_ends,
            } => {
                if !PHASES.contains(&next) {
                    return Err(refused(format!(
                        "phase: expected one of {}, got {next:?}",
                        PHASES.join(", ")
                    )));
                }
                match countdown_ends {
                    Some(ends) => {
                        sqlx::query(
                            "UPDATE workshops SET phase = $1, countdown_ends = $2 WHERE id = $3",
                        )
                        .bind(next)
                        .bind(ends.as_millisecond())
                        .bind(id)
                        .execute(&mut *tx)
                        .await?
                    }
                    None => {
                        sqlx::query("UPDATE workshops SET phase = $1 WHERE id = $2")
                            .bind(next)
                            .bind(id)
                            .execute(&mut *tx)
                            .await?
                    }
                };
            }
            Change::Vote {
                participant,
                category,
                dots,
            } => {
                need_phase(&["vote"], "dots are placed")?;
                let exists = sqlx::query(
                    "SELECT 1 FROM workshop_notes WHERE workshop_id = $1 AND category = $2 LIMIT 1",
                )
                .bind(id)
                .bind(category)
                .fetch_optional(&mut *tx)
                .await?;
                if exists.is_none() {
                    return Err(refused(format!(
                        "category: no note is in the category {category:?}"
                    )));
                }
                let others: i64 = sqlx::query(
                    "SELECT CAST(COALESCE(SUM(dots), 0) AS BIGINT) FROM workshop_votes \
                     WHERE workshop_id = $1 AND participant = $2 AND category <> $3",
                )
                .bind(id)
                .bind(participant)
                .bind(category)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
                let used = to_u32(others).saturating_add(dots);
                if used > cap {
                    return Err(refused(format!(
                        "dots: {dots} here and {others} elsewhere would be {used}, \
                         but each participant has {cap}"
                    )));
                }
                sqlx::query(
                    "INSERT INTO workshop_votes (workshop_id, participant, category, dots) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (workshop_id, participant, category) \
                     DO UPDATE SET dots = excluded.dots",
                )
                .bind(id)
                .bind(participant)
                .bind(category)
                .bind(i64::from(dots))
                .execute(&mut *tx)
                .await?;
                applied.dots_used = used;
            }
            Change::Outcome { format, text } => {
                sqlx::query(
                    "UPDATE workshops SET outcome_format = $1, outcome_text = $2 WHERE id = $3",
                )
                .bind(format.as_str())
                .bind(text)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            Change::Map { format, text } => {
                sqlx::query("UPDATE workshops SET map_format = $1, map_text = $2 WHERE id = $3")
                    .bind(format.as_str())
                    .bind(text)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            Change::Close { outcome, map } => {
                sqlx::query(
                    "UPDATE workshops SET phase = 'closed', closed_at = $1, outcome_id = $2, \
                     outcome_version = $3, map_id = $4, map_version = $5 WHERE id = $6",
                )
                .bind(at.as_millisecond())
                .bind(outcome.map(|(id, _)| id))
                .bind(outcome.map(|(_, v)| i64::from(v)))
                .bind(map.map(|(id, _)| id))
                .bind(map.map(|(_, v)| i64::from(v)))
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
        }
        let data = event(&applied);
        sqlx::query(
            "INSERT INTO workshop_events (workshop_id, seq, at, kind, data) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(seq_i64)
        .bind(at.as_millisecond())
        .bind(kind)
        .bind(data)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(applied)
    }
}

/// Note `note` of workshop `id`, when `by` may change it: the facilitator any note, a
/// participant their own.
async fn note_for_change(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: &str,
    note: i64,
    by: &KeyHolder,
) -> Result<StoredNote, StoreError> {
    let row = sqlx::query(
        "SELECT id, author, text, category, created_at FROM workshop_notes \
         WHERE workshop_id = $1 AND id = $2",
    )
    .bind(id)
    .bind(note)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("no note {note} in workshop {id:?}")))?;
    let current = decode_note(&row)?;
    if let KeyHolder::Participant { id: who, .. } = by
        && current.author != Some(*who)
    {
        return Err(StoreError::NotAllowed(format!(
            "note {note} is someone else's: a participant changes only their own notes"
        )));
    }
    Ok(current)
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn to_u32(value: i64) -> u32 {
    u32::try_from(value).unwrap_or(0)
}

fn millis(value: i64, table: &'static str, column: &str) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(value).map_err(|e| StoreError::Corrupt {
        table,
        id: column.to_owned(),
        problem: e.to_string(),
    })
}

fn decode_note(row: &AnyRow) -> Result<StoredNote, StoreError> {
    Ok(StoredNote {
        id: row.try_get("id")?,
        author: row.try_get("author")?,
        text: row.try_get("text")?,
        category: row.try_get("category")?,
        created_at: millis(row.try_get("created_at")?, "workshop_notes", "created_at")?,
    })
}

fn document(
    format: Option<String>,
    text: Option<String>,
    id: &str,
) -> Result<Option<(MapFormat, String)>, StoreError> {
    match (format, text) {
        (Some(format), Some(text)) => {
            let format = MapFormat::from_name(&format).ok_or_else(|| StoreError::Corrupt {
                table: "workshops",
                id: id.to_owned(),
                problem: format!("format: unknown value {format:?}"),
            })?;
            Ok(Some((format, text)))
        }
        _ => Ok(None),
    }
}

fn decode_workshop(row: &AnyRow) -> Result<StoredWorkshop, StoreError> {
    let id: String = row.try_get("id")?;
    let optional_time = |column: &str| -> Result<Option<Timestamp>, StoreError> {
        row.try_get::<Option<i64>, _>(column)?
            .map(|ms| millis(ms, "workshops", column))
            .transpose()
    };
    let saved = |id_column: &str, version_column: &str| -> Result<_, StoreError> {
        let saved_id: Option<String> = row.try_get(id_column)?;
        let version: Option<i64> = row.try_get(version_column)?;
        Ok(saved_id.zip(version.map(to_u32)))
    };
    Ok(StoredWorkshop {
        title: row.try_get("title")?,
        mandate: row.try_get("mandate")?,
        stream: row.try_get("stream")?,
        join_code: row.try_get("join_code")?,
        created_by: row.try_get("created_by")?,
        created_at: millis(row.try_get("created_at")?, "workshops", "created_at")?,
        dots: to_u32(row.try_get("dots")?),
        phase: row.try_get("phase")?,
        countdown_ends: optional_time("countdown_ends")?,
        outcome: document(
            row.try_get("outcome_format")?,
            row.try_get("outcome_text")?,
            &id,
        )?,
        map: document(row.try_get("map_format")?, row.try_get("map_text")?, &id)?,
        closed_at: optional_time("closed_at")?,
        saved_outcome: saved("outcome_id", "outcome_version")?,
        saved_map: saved("map_id", "map_version")?,
        version: to_u64(row.try_get("version")?),
        id,
    })
}
