//! A map file read into a tree of values that remember where they were written.
//!
//! YAML, JSON and TOML all become the same [`Node`] tree, so the schema checks in
//! `parse.rs` are written once and every error can name `line:column` in any format.
//! JSON is read by the YAML parser (JSON is YAML's flow style) after `serde_json` has
//! confirmed it is valid JSON, so JSON syntax errors keep JSON's own wording.

use std::marker::PhantomData;

use serde::de::{self, Deserialize, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};

/// A 1-based line and column in a source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

/// One value of the document and where it starts.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Node {
    pub value: Value,
    pub pos: Pos,
}

/// A mapping key and where it is written.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Key {
    pub name: String,
    pub pos: Pos,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

impl Value {
    /// What the value is, in words for an error message.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "nothing",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// A syntax error: the document could not be read at all.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

/// The syntax a map file is written in, chosen by its extension. The one map-format
/// vocabulary: files, stored maps and the API all name formats with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    Yaml,
    Toml,
    Json,
}

impl Format {
    /// The format for a file name: `.yaml`/`.yml`, `.toml` or `.json`.
    pub fn from_path(path: &str) -> Option<Format> {
        Format::from_name(path.rsplit_once('.')?.1)
    }

    /// The format a file extension or stored name announces (`yml` is YAML), in any case.
    pub fn from_name(name: &str) -> Option<Format> {
        match name.to_ascii_lowercase().as_str() {
            "yaml" | "yml" => Some(Format::Yaml),
            "toml" => Some(Format::Toml),
            "json" => Some(Format::Json),
            _ => None,
        }
    }

    /// `yaml`, `toml` or `json`: the stored name, and a file extension.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Yaml => "yaml",
            Format::Toml => "toml",
            Format::Json => "json",
        }
    }

    /// The media type a file in this format is served as.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Yaml => "application/yaml; charset=utf-8",
            Format::Toml => "application/toml; charset=utf-8",
            Format::Json => "application/json; charset=utf-8",
        }
    }
}

/// Reads `text` in `format` into a [`Node`] tree.
pub(crate) fn parse(text: &str, format: Format) -> Result<Node, SyntaxError> {
    match format {
        Format::Yaml => parse_yaml(text),
        Format::Json => {
            if let Err(err) = serde_json::from_str::<de::IgnoredAny>(text) {
                return Err(SyntaxError {
                    pos: Pos {
                        line: err.line() as u32,
                        column: err.column() as u32,
                    },
                    message: strip_json_position(&err.to_string()),
                });
            }
            parse_yaml(text)
        }
        Format::Toml => parse_toml(text),
    }
}

fn strip_json_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

fn parse_yaml(text: &str) -> Result<Node, SyntaxError> {
    if text.trim().is_empty() {
        return Ok(Node {
            value: Value::Null,
            pos: Pos { line: 1, column: 1 },
        });
    }
    // The parser's own depth and size budget stops a hostile document before recursion
    // can exhaust the stack (deep flow nesting overflowed a 2 MiB thread at 50 levels).
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: super::limits::MAX_NESTING,
            max_nodes: super::limits::MAX_MAP_VALUES,
        },
    };
    serde_saphyr::from_str_with_options::<serde_saphyr::Spanned<Tree<Yaml>>>(text, options)
        .map(|spanned| Yaml::node(spanned, &()))
        .map_err(|err| {
            let pos = err
                .location()
                .map(|loc| Pos {
                    line: loc.line() as u32,
                    column: loc.column() as u32,
                })
                .unwrap_or(Pos { line: 1, column: 1 });
            SyntaxError {
                pos,
                message: first_line(&err.without_snippet().to_string()),
            }
        })
}

fn parse_toml(text: &str) -> Result<Node, SyntaxError> {
    let lines = LineIndex::new(text);
    toml::from_str::<toml::Spanned<Tree<Toml>>>(text)
        .map(|spanned| Toml::node(spanned, &lines))
        .map_err(|err| SyntaxError {
            pos: err
                .span()
                .map(|span| lines.pos(span.start))
                .unwrap_or(Pos { line: 1, column: 1 }),
            message: first_line(err.message()),
        })
}

/// The first line of a parser's message; a parser's depth or size guard is reworded as
/// the map limit it enforces, so every format says the same thing.
fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or(message).trim();
    if line.starts_with("budget breached: Depth")
        || line.starts_with("recursion limit exceeded")
        || line.contains("max recursion depth")
    {
        format!(
            "lists and mappings nest more than {} levels deep here",
            super::limits::MAX_NESTING
        )
    } else if line.starts_with("budget breached: Nodes") {
        format!(
            "the map holds more than {} values; this is the limit",
            super::limits::MAX_MAP_VALUES
        )
    } else {
        line.to_string()
    }
}

/// Byte offset → line and column, for formats whose spans are byte ranges.
struct LineIndex {
    text: String,
    line_starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex {
            text: text.to_string(),
            line_starts,
        }
    }

    fn pos(&self, offset: usize) -> Pos {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let start = self.line_starts[line];
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        Pos {
            line: line as u32 + 1,
            column: column as u32 + 1,
        }
    }
}

/// How one serde format wraps a value with its location.
///
/// The tree's `Deserialize` impl is written once, generic over this, because YAML
/// (`serde_saphyr::Spanned`) and TOML (`toml::Spanned`) each have their own wrapper.
trait Flavor: Sized + 'static {
    type Spanned<T: DeserializeOwned>: DeserializeOwned;
    type Context;

    fn split<T: DeserializeOwned>(spanned: Self::Spanned<T>, context: &Self::Context) -> (T, Pos);

    fn node(spanned: Self::Spanned<Tree<Self>>, context: &Self::Context) -> Node {
        let (tree, pos) = Self::split(spanned, context);
        tree.into_node(pos, context)
    }
}

struct Yaml;

impl Flavor for Yaml {
    type Spanned<T: DeserializeOwned> = serde_saphyr::Spanned<T>;
    type Context = ();

    fn split<T: DeserializeOwned>(spanned: Self::Spanned<T>, _: &()) -> (T, Pos) {
        let pos = Pos {
            line: spanned.referenced.line() as u32,
            column: spanned.referenced.column() as u32,
        };
        (spanned.value, pos)
    }
}

struct Toml;

impl Flavor for Toml {
    type Spanned<T: DeserializeOwned> = toml::Spanned<T>;
    type Context = LineIndex;

    fn split<T: DeserializeOwned>(spanned: Self::Spanned<T>, lines: &LineIndex) -> (T, Pos) {
        let pos = lines.pos(spanned.span().start);
        (spanned.into_inner(), pos)
    }
}

/// The tree as the format's deserializer hands it over, before locations are resolved.
enum Tree<F: Flavor> {
    Leaf(Value),
    Seq(Vec<F::Spanned<Tree<F>>>),
    Map(Vec<Entry<F>>),
}

/// A mapping entry: the key and the value, each with its location.
type Entry<F> = (
    <F as Flavor>::Spanned<KeyText>,
    <F as Flavor>::Spanned<Tree<F>>,
);

impl<F: Flavor> Tree<F> {
    fn into_node(self, pos: Pos, context: &F::Context) -> Node {
        let value = match self {
            Tree::Leaf(value) => value,
            Tree::Seq(items) => {
                Value::Seq(items.into_iter().map(|i| F::node(i, context)).collect())
            }
            Tree::Map(entries) => Value::Map(
                entries
                    .into_iter()
                    .map(|(key, value)| {
                        let (KeyText(name), key_pos) = F::split(key, context);
                        (Key { name, pos: key_pos }, F::node(value, context))
                    })
                    .collect(),
            ),
        };
        Node { value, pos }
    }
}

impl<'de, F: Flavor> Deserialize<'de> for Tree<F> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TreeVisitor(PhantomData))
    }
}

struct TreeVisitor<F>(PhantomData<F>);

impl<'de, F: Flavor> Visitor<'de> for TreeVisitor<F> {
    type Value = Tree<F>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any value")
    }

    fn visit_unit<E>(self) -> Result<Tree<F>, E> {
        Ok(Tree::Leaf(Value::Null))
    }

    fn visit_none<E>(self) -> Result<Tree<F>, E> {
        Ok(Tree::Leaf(Value::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Tree<F>, D::Error> {
        Tree::deserialize(deserializer)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Tree<F>, E> {
        Ok(Tree::Leaf(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Tree<F>, E> {
        Ok(Tree::Leaf(Value::Int(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Tree<F>, E> {
        Ok(Tree::Leaf(match i64::try_from(v) {
            Ok(v) => Value::Int(v),
            Err(_) => Value::Float(v as f64),
        }))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Tree<F>, E> {
        Ok(Tree::Leaf(Value::Float(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Tree<F>, E> {
        Ok(Tree::Leaf(Value::Str(v.to_string())))
    }

    fn visit_string<E>(self, v: String) -> Result<Tree<F>, E> {
        Ok(Tree::Leaf(Value::Str(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree<F>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Tree::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tree<F>, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Tree::Map(entries))
    }
}

/// A mapping key: any scalar, read as text.
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = KeyText;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a text key")
            }
            fn visit_str<E>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
        }
        deserializer.deserialize_any(KeyVisitor)
    }
}
