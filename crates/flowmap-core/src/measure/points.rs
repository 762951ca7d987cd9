//! Lifecycle points and segments: the names a map binds its steps to (`pr_opened`,
//! `deployed@staging`, `event:qa_passed`) and `FROM..TO` pairs of them.
//!
//! Parsing checks a point against the map's stream, so that a typo gets a suggestion and
//! a point of the other stream says which stream it belongs to.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::map::Stream;

/// One lifecycle point: a time every item of a stream has or lacks.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Point {
    // Delivery: a change's own fields.
    FirstCommit,
    Authored,
    Committed,
    PrOpened,
    FirstReview,
    Approved,
    Merged,
    // Delivery: the change's build and deployments.
    BuildStarted,
    BuildFinished,
    DeployStarted,
    Deployed,
    /// `deployed@ENV`: the change's deployment to environment ENV.
    DeployedAt(String),
    // Recovery.
    Failed,
    IncidentStarted,
    Detected,
    Acknowledged,
    FixDeployed,
    Recovered,
    /// `event:NAME`: the earliest milestone NAME of the item (both streams).
    Event(String),
}

/// The plain points of each stream by name, in lifecycle order.
const DELIVERY: &[(&str, Point)] = &[
    ("first_commit", Point::FirstCommit),
    ("authored", Point::Authored),
    ("committed", Point::Committed),
    ("pr_opened", Point::PrOpened),
    ("first_review", Point::FirstReview),
    ("approved", Point::Approved),
    ("merged", Point::Merged),
    ("build_started", Point::BuildStarted),
    ("build_finished", Point::BuildFinished),
    ("deploy_started", Point::DeployStarted),
    ("deployed", Point::Deployed),
];
const RECOVERY: &[(&str, Point)] = &[
    ("failed", Point::Failed),
    ("incident_started", Point::IncidentStarted),
    ("detected", Point::Detected),
    ("acknowledged", Point::Acknowledged),
    ("fix_deployed", Point::FixDeployed),
    ("recovered", Point::Recovered),
];

fn stream_name(stream: Stream) -> &'static str {
    match stream {
        Stream::Delivery => "delivery",
        Stream::Recovery => "recovery",
    }
}

fn points_of(stream: Stream) -> &'static [(&'static str, Point)] {
    match stream {
        Stream::Delivery => DELIVERY,
        Stream::Recovery => RECOVERY,
    }
}

/// Whether `name` is a valid milestone name: `[a-z0-9_-]+`.
pub fn is_milestone_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

impl Point {
    /// Reads a point of `stream`'s items. The error says what is wrong in words: an
    /// unknown name (with the closest known one), or a point of the other stream.
    pub fn parse(text: &str, stream: Stream) -> Result<Point, String> {
        let text = text.trim();
        if let Some(name) = text.strip_prefix("event:") {
            return if is_milestone_name(name) {
                Ok(Point::Event(name.to_owned()))
            } else {
                Err(format!(
                    "`{text}`: a milestone name uses lowercase letters, digits, `_` and `-`"
                ))
            };
        }
        if let Some(env) = text.strip_prefix("deployed@") {
            if stream == Stream::Recovery {
                return Err(format!(
                    "`{text}` is a point of the delivery stream, and this is a recovery map"
                ));
            }
            return if env.is_empty() || env.chars().any(char::is_whitespace) {
                Err(format!(
                    "`{text}`: name an environment after `@`, as in `deployed@staging`"
                ))
            } else {
                Ok(Point::DeployedAt(env.to_owned()))
            };
        }
        if let Some((_, point)) = points_of(stream).iter().find(|(n, _)| *n == text) {
            return Ok(point.clone());
        }
        let other = match stream {
            Stream::Delivery => Stream::Recovery,
            Stream::Recovery => Stream::Delivery,
        };
        if points_of(other).iter().any(|(n, _)| *n == text) {
            return Err(format!(
                "`{text}` is a point of the {} stream, and this is a {} map",
                stream_name(other),
                stream_name(stream)
            ));
        }
        let names: Vec<&str> = points_of(stream).iter().map(|(n, _)| *n).collect();
        let hint = match crate::map::closest_name(text, &names) {
            Some(near) => format!("did you mean `{near}`?"),
            None => format!(
                "the {} points are {}, `deployed@ENV` and `event:NAME`",
                stream_name(stream),
                names.join(", ")
            ),
        };
        Err(format!("unknown lifecycle point `{text}`: {hint}"))
    }
}

impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Point::DeployedAt(env) => write!(f, "deployed@{env}"),
            Point::Event(name) => write!(f, "event:{name}"),
            plain => {
                let name = DELIVERY
                    .iter()
                    .chain(RECOVERY)
                    .find(|(_, p)| p == plain)
                    .map_or("?", |(n, _)| n);
                f.write_str(name)
            }
        }
    }
}

impl Serialize for Point {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A stretch of an item's life, from one point to a later one: `pr_opened..first_review`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Segment {
    pub from: Point,
    pub to: Point,
}

impl Segment {
    /// Reads `FROM..TO` of `stream`'s points.
    ///
    /// ```
    /// use flowmap_core::map::Stream;
    /// use flowmap_core::measure::{Point, Segment};
    /// let s = Segment::parse("pr_opened..first_review", Stream::Delivery).unwrap();
    /// assert_eq!((s.from, s.to), (Point::PrOpened, Point::FirstReview));
    /// let err = Segment::parse("failed..recovered", Stream::Delivery).unwrap_err();
    /// assert!(err.contains("`failed` is a point of the recovery stream"));
    /// ```
    pub fn parse(text: &str, stream: Stream) -> Result<Segment, String> {
        let Some((from, to)) = text.split_once("..") else {
            return Err(format!(
                "`{text}` is not a segment: write `FROM..TO`, as in `pr_opened..first_review`"
            ));
        };
        let from = Point::parse(from, stream)?;
        let to = Point::parse(to, stream)?;
        if from == to {
            return Err(format!(
                "segment `{text}` starts and ends at the same point `{from}`: it would always \
                 measure 0"
            ));
        }
        Ok(Segment { from, to })
    }

    /// The default end-to-end segment of a stream: `committed..deployed` for delivery,
    /// `failed..recovered` for recovery.
    pub fn default_lead_time(stream: Stream) -> Segment {
        match stream {
            Stream::Delivery => Segment {
                from: Point::Committed,
                to: Point::Deployed,
            },
            Stream::Recovery => Segment {
                from: Point::Failed,
                to: Point::Recovered,
            },
        }
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.from, self.to)
    }
}

impl Serialize for Segment {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_point_reads_back_from_its_name() {
        for (stream, list) in [(Stream::Delivery, DELIVERY), (Stream::Recovery, RECOVERY)] {
            for (name, point) in list {
                assert_eq!(Point::parse(name, stream).as_ref(), Ok(point));
                assert_eq!(point.to_string(), *name);
            }
        }
        let env = Point::parse("deployed@staging", Stream::Delivery).unwrap();
        assert_eq!(env, Point::DeployedAt("staging".into()));
        assert_eq!(env.to_string(), "deployed@staging");
        let event = Point::parse("event:qa_passed", Stream::Recovery).unwrap();
        assert_eq!(event.to_string(), "event:qa_passed");
    }

    #[test]
    fn mistakes_are_named() {
        let typo = Point::parse("pr_openned", Stream::Delivery).unwrap_err();
        assert!(typo.contains("did you mean `pr_opened`"), "{typo}");
        let other = Point::parse("merged", Stream::Recovery).unwrap_err();
        assert!(
            other.contains("`merged` is a point of the delivery stream"),
            "{other}"
        );
        let same = Segment::parse("merged..merged", Stream::Delivery).unwrap_err();
        assert!(same.contains("same point"), "{same}");
        assert!(Point::parse("event:QA", Stream::Delivery).is_err());
        assert!(Point::parse("deployed@", Stream::Delivery).is_err());
        assert!(Segment::parse("merged", Stream::Delivery).is_err());
    }
}
