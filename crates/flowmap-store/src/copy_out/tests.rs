//! The binary `COPY` reader against streams built here: every split of a stream into
//! messages reads the same rows, and malformed input is an error, never a panic.

use proptest::prelude::*;

use super::*;

#[derive(Clone, Debug, PartialEq)]
enum Value {
    Null,
    Text(String),
    Int(i64),
}

/// `rows` in the binary `COPY` format, with a header extension of `extension` bytes.
fn encode(rows: &[Vec<Value>], extension: usize) -> Vec<u8> {
    let mut out = SIGNATURE.to_vec();
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(&u32::try_from(extension).unwrap().to_be_bytes());
    out.extend(std::iter::repeat_n(7u8, extension));
    for row in rows {
        out.extend_from_slice(&i16::try_from(row.len()).unwrap().to_be_bytes());
        for value in row {
            match value {
                Value::Null => out.extend_from_slice(&(-1i32).to_be_bytes()),
                Value::Text(text) => {
                    out.extend_from_slice(&i32::try_from(text.len()).unwrap().to_be_bytes());
                    out.extend_from_slice(text.as_bytes());
                }
                Value::Int(n) => {
                    out.extend_from_slice(&8i32.to_be_bytes());
                    out.extend_from_slice(&n.to_be_bytes());
                }
            }
        }
    }
    out.extend_from_slice(&(-1i16).to_be_bytes());
    out
}

/// `bytes` cut at `cuts` (positions, in any order) into messages.
fn split(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    let mut messages = Vec::new();
    let mut from = 0;
    for cut in cuts.into_iter().chain([bytes.len()]) {
        messages.push(bytes[from..cut].to_vec());
        from = cut;
    }
    messages
}

/// Reads `messages` to the end, each row's fields as `Value`s by the types of `like`
/// (the first row's, when given).
fn read(messages: Vec<Vec<u8>>, like: &[Value]) -> Result<Vec<Vec<Value>>, StoreError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut out = CopyOut::new(futures_util::stream::iter(
            messages.into_iter().map(Ok::<_, sqlx::Error>),
        ));
        let mut rows = Vec::new();
        while out
            .next_rows(|row| {
                let values = like
                    .iter()
                    .enumerate()
                    .map(|(at, kind)| {
                        let value = match kind {
                            Value::Int(_) => row.opt_int(at)?.map(Value::Int),
                            _ => row.opt_str(at)?.map(|s| Value::Text(s.to_owned())),
                        };
                        Ok(value.unwrap_or(Value::Null))
                    })
                    .collect::<Result<Vec<Value>, String>>()
                    .map_err(|problem| malformed(&problem))?;
                rows.push(values);
                Ok(())
            })
            .await?
        {}
        Ok(rows)
    })
}

/// Rows of one shape: a text, an integer and a field that may be either or NULL.
fn rows() -> impl Strategy<Value = Vec<Vec<Value>>> {
    let text = ".{0,12}".prop_map(Value::Text);
    let row = (
        text.clone(),
        any::<i64>().prop_map(Value::Int),
        prop_oneof![Just(Value::Null), text],
    )
        .prop_map(|(a, b, c)| vec![a, b, c]);
    proptest::collection::vec(row, 0..20)
}

/// The shape `read` decodes `rows` by: the third field as text (NULL reads as NULL).
const SHAPE: [Value; 3] = [Value::Null, Value::Int(0), Value::Null];

proptest! {
    #[test]
    fn every_split_reads_the_rows_written(
        rows in rows(),
        extension in 0usize..6,
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let bytes = encode(&rows, extension);
        let read = read(split(&bytes, &cuts), &SHAPE).unwrap();
        prop_assert_eq!(read, rows);
    }

    #[test]
    fn any_bytes_are_rows_or_an_error(
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
        signed in any::<bool>(),
    ) {
        let mut input = if signed { encode(&[], 0)[..19].to_vec() } else { Vec::new() };
        input.extend(bytes);
        let _ = read(split(&input, &cuts), &SHAPE);
    }

    #[test]
    fn a_stream_cut_short_is_an_error(rows in rows(), keep in any::<usize>()) {
        let bytes = encode(&rows, 0);
        let keep = keep % bytes.len();
        prop_assert!(read(vec![bytes[..keep].to_vec()], &SHAPE).is_err());
    }
}

#[test]
fn malformed_streams_say_what_is_wrong() {
    let problem = |bytes: Vec<u8>, like: &[Value]| match read(vec![bytes], like) {
        Err(StoreError::Invalid { problem, .. }) => problem,
        other => panic!("expected an error, got {other:?}"),
    };
    assert_eq!(
        problem(b"COPY but not binary....".to_vec(), &SHAPE),
        "the header's signature is wrong"
    );
    let mut negative = encode(&[], 0);
    negative.truncate(19);
    negative.extend_from_slice(&(-5i16).to_be_bytes());
    assert_eq!(problem(negative, &SHAPE), "a tuple claims -5 fields");
    let mut after = encode(&[], 0);
    after.extend_from_slice(&(-1i16).to_be_bytes());
    assert_eq!(problem(after, &SHAPE), "data after the trailer");
    // A 4-byte integer where the schema has 8 bytes.
    let mut short = encode(&[], 0);
    short.truncate(19);
    short.extend_from_slice(&1i16.to_be_bytes());
    short.extend_from_slice(&4i32.to_be_bytes());
    short.extend_from_slice(&7i32.to_be_bytes());
    short.extend_from_slice(&(-1i16).to_be_bytes());
    assert_eq!(
        problem(short, &[Value::Int(0)]),
        "expected an 8-byte integer, found 4 bytes"
    );
    // A row narrower than the decoder reads.
    let narrow = encode(&[vec![Value::Text("a".into())]], 0);
    assert_eq!(problem(narrow, &SHAPE), "no field 2 in a row of 1");
}
