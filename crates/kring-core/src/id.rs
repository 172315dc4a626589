//! Time-sortable 64-bit ids, as Mastodon's: milliseconds since the epoch in the high 48 bits and a
//! per-process sequence with random start in the low 16. Sorting by id is sorting by creation time,
//! which is what keeps every timeline chronological without a second index.
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Id(pub i64);

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

impl Id {
    /// A new id for "now".
    pub fn generate() -> Id {
        Id::at_millis(chrono::Utc::now().timestamp_millis())
    }

    /// A new id for the given time (used for remote objects, which keep their own publication time).
    pub fn at_millis(millis: i64) -> Id {
        let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
        let seq = if seq == 0 {
            // Start at a random point so two processes rarely collide within one millisecond.
            let start = rand::random::<u16>() as u64;
            SEQUENCE.store(start + 1, Ordering::Relaxed);
            start
        } else {
            seq
        };
        Id((millis.max(0) << 16) | (seq & 0xffff) as i64)
    }

    /// The smallest id for a given time: for `max_id`/`min_id` bounds derived from dates.
    pub fn floor_for_millis(millis: i64) -> Id {
        Id(millis.max(0) << 16)
    }

    pub fn millis(self) -> i64 {
        self.0 >> 16
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for Id {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim().parse::<i64>().map(Id)
    }
}

/// Mastodon serialises ids as strings (JavaScript cannot hold 64-bit integers).
impl Serialize for Id {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            S(String),
            N(i64),
        }
        match Raw::deserialize(d)? {
            Raw::S(s) => s.parse().map_err(serde::de::Error::custom),
            Raw::N(n) => Ok(Id(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time_and_are_unique() {
        let a = Id::at_millis(1_000);
        let b = Id::at_millis(1_000);
        let c = Id::at_millis(2_000);
        assert_ne!(a, b);
        assert!(c > a && c > b);
        assert_eq!(c.millis(), 2_000);
    }

    #[test]
    fn serialises_as_string() {
        assert_eq!(serde_json::to_string(&Id(42)).unwrap(), "\"42\"");
        assert_eq!(serde_json::from_str::<Id>("\"42\"").unwrap(), Id(42));
        assert_eq!(serde_json::from_str::<Id>("42").unwrap(), Id(42));
    }
}
