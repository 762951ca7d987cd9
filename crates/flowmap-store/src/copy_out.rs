//! Rows of PostgreSQL's binary `COPY … TO STDOUT (FORMAT binary)`, read as [`Cells`].
//!
//! A `COPY` streams every row of its query without a round trip per batch and without
//! sqlx building a row object per row, which cost about a third of the loader's time of a
//! report over every service. The binary format is:
//!
//! - a header: the 11-byte signature, a 32-bit flags field and a 32-bit length of a header
//!   extension, then the extension;
//! - one tuple per row: a 16-bit field count, then per field a 32-bit length (`-1` for
//!   NULL) and that many bytes, in the type's binary form (UTF-8 for `TEXT`, eight
//!   big-endian bytes for `BIGINT`);
//! - a trailer: a field count of `-1`.
//!
//! All integers are big-endian. The server sends the stream in messages of any size
//! (one per row in practice); a tuple cut by a message boundary is carried into the next.
//! Invariant: malformed input is an error naming what was wrong, never a panic, and never
//! costs more memory than the largest tuple.

use futures_util::{Stream, StreamExt};

use crate::StoreError;
use crate::native::Cells;

const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// A `COPY` in binary format being read, message by message.
pub(crate) struct CopyOut<S> {
    messages: S,
    /// The start of a tuple that a message boundary cut, waiting for the rest.
    carry: Vec<u8>,
    /// The spans of the fields of the tuple being read, reused from tuple to tuple.
    spans: Vec<Option<(usize, usize)>>,
    header_read: bool,
    trailer_read: bool,
}

/// One tuple: the fields' spans in the bytes it borrows.
pub(crate) struct CopyRow<'b> {
    bytes: &'b [u8],
    /// `(start, length)` per field; `None` for NULL.
    spans: &'b [Option<(usize, usize)>],
}

impl<S, B> CopyOut<S>
where
    S: Stream<Item = Result<B, sqlx::Error>> + Unpin,
    B: AsRef<[u8]>,
{
    pub(crate) fn new(messages: S) -> Self {
        Self {
            messages,
            carry: Vec::new(),
            spans: Vec::new(),
            header_read: false,
            trailer_read: false,
        }
    }

    /// Reads the next message and calls `each` with every tuple it completes; `false` once
    /// the stream has ended (after the trailer).
    pub(crate) async fn next_rows(
        &mut self,
        mut each: impl FnMut(&CopyRow<'_>) -> Result<(), StoreError>,
    ) -> Result<bool, StoreError> {
        let Some(message) = self.messages.next().await.transpose()? else {
            if !self.trailer_read || !self.carry.is_empty() {
                return Err(malformed("the stream ended before its trailer"));
            }
            return Ok(false);
        };
        let message = message.as_ref();
        if self.carry.is_empty() {
            let used = self.parse(message, &mut each)?;
            self.carry.extend_from_slice(&message[used..]);
        } else {
            let mut joined = std::mem::take(&mut self.carry);
            joined.extend_from_slice(message);
            let used = self.parse(&joined, &mut each)?;
            joined.drain(..used);
            self.carry = joined;
        }
        Ok(true)
    }

    /// Parses the whole tuples at the start of `bytes` (and the header first, if not yet
    /// read); returns how many bytes they took.
    fn parse(
        &mut self,
        bytes: &[u8],
        each: &mut impl FnMut(&CopyRow<'_>) -> Result<(), StoreError>,
    ) -> Result<usize, StoreError> {
        let mut at = 0;
        if !self.header_read {
            match header(bytes)? {
                Some(length) => at = length,
                None => return Ok(0),
            }
            self.header_read = true;
        }
        while at < bytes.len() {
            if self.trailer_read {
                return Err(malformed("data after the trailer"));
            }
            match tuple(&bytes[at..], &mut self.spans)? {
                Parsed::Incomplete => break,
                Parsed::Trailer => {
                    self.trailer_read = true;
                    at += 2;
                }
                Parsed::Row(row, length) => {
                    each(&row)?;
                    at += length;
                }
            }
        }
        Ok(at)
    }
}

/// The header's length, or `None` if `bytes` does not hold all of it yet.
fn header(bytes: &[u8]) -> Result<Option<usize>, StoreError> {
    let fixed = SIGNATURE.len() + 8;
    if bytes.len() < fixed {
        return if SIGNATURE.starts_with(&bytes[..bytes.len().min(SIGNATURE.len())]) {
            Ok(None)
        } else {
            Err(malformed("the header's signature is wrong"))
        };
    }
    if &bytes[..SIGNATURE.len()] != SIGNATURE {
        return Err(malformed("the header's signature is wrong"));
    }
    let extension = u32::from_be_bytes([bytes[15], bytes[16], bytes[17], bytes[18]]);
    let length = fixed
        .checked_add(usize::try_from(extension).unwrap_or(usize::MAX))
        .ok_or_else(|| malformed("the header's extension is too long"))?;
    Ok((bytes.len() >= length).then_some(length))
}

enum Parsed<'b> {
    Incomplete,
    Trailer,
    /// A row and the bytes it took.
    Row(CopyRow<'b>, usize),
}

/// The tuple at the start of `bytes`, its fields' spans kept in `spans`.
fn tuple<'b>(
    bytes: &'b [u8],
    spans: &'b mut Vec<Option<(usize, usize)>>,
) -> Result<Parsed<'b>, StoreError> {
    let Some(count) = bytes.get(..2) else {
        return Ok(Parsed::Incomplete);
    };
    let count = i16::from_be_bytes([count[0], count[1]]);
    if count == -1 {
        return Ok(Parsed::Trailer);
    }
    let count =
        usize::try_from(count).map_err(|_| malformed(&format!("a tuple claims {count} fields")))?;
    spans.clear();
    let mut at = 2;
    for _ in 0..count {
        let Some(length) = bytes.get(at..at + 4) else {
            return Ok(Parsed::Incomplete);
        };
        let length = i32::from_be_bytes([length[0], length[1], length[2], length[3]]);
        at += 4;
        if length == -1 {
            spans.push(None);
            continue;
        }
        let length = usize::try_from(length)
            .map_err(|_| malformed(&format!("a field claims {length} bytes")))?;
        if bytes.len() - at < length {
            return Ok(Parsed::Incomplete);
        }
        spans.push(Some((at, length)));
        at += length;
    }
    Ok(Parsed::Row(CopyRow { bytes, spans }, at))
}

fn malformed(problem: &str) -> StoreError {
    StoreError::Invalid {
        what: "COPY data from PostgreSQL".into(),
        problem: problem.to_owned(),
    }
}

impl CopyRow<'_> {
    fn field(&self, at: usize) -> Result<Option<&[u8]>, String> {
        let span = self
            .spans
            .get(at)
            .ok_or_else(|| format!("no field {} in a row of {}", at + 1, self.spans.len()))?;
        Ok(span.map(|(start, length)| &self.bytes[start..start + length]))
    }
}

impl Cells for CopyRow<'_> {
    fn opt_str(&self, at: usize) -> Result<Option<&str>, String> {
        self.field(at)?
            .map(|bytes| std::str::from_utf8(bytes).map_err(|e| e.to_string()))
            .transpose()
    }

    fn opt_int(&self, at: usize) -> Result<Option<i64>, String> {
        self.field(at)?
            .map(|bytes| {
                <[u8; 8]>::try_from(bytes)
                    .map(i64::from_be_bytes)
                    .map_err(|_| format!("expected an 8-byte integer, found {} bytes", bytes.len()))
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests;
