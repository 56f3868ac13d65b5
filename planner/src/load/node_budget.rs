//! Counts a YAML document's nodes, aliases expanded, without building it, and stops at a budget.
//!
//! A few kilobytes of anchors and aliases can stand for billions of nodes (one anchor of 6,000 items
//! referenced 6,000 times is 36 million). serde_yaml_ng replays an anchor's events at each alias, so walking
//! the document with a visitor that keeps nothing counts every node that parsing would materialize; the walk
//! stops as soon as the budget is spent, so the cost is bounded by the budget, not by the expansion.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};

/// Marker in the error that stops the walk, so it can be told apart from a YAML syntax error.
const SPENT: &str = "yaml node budget spent";

/// What counting found.
#[derive(Debug, PartialEq, Eq)]
pub enum NodeCount {
    WithinBudget,
    OverBudget,
    /// The text is not valid YAML (or exceeds the parser's own repetition or depth limits): why, with where.
    Unparsable(String),
}

/// Walks `text` and tells whether it has at most `budget` nodes after alias expansion.
pub fn count_nodes(text: &str, budget: usize) -> NodeCount {
    let left = Cell::new(budget);
    let walker = Walker { left: &left };
    match walker.deserialize(serde_yaml::Deserializer::from_str(text)) {
        Ok(()) => NodeCount::WithinBudget,
        Err(e) if e.to_string().contains(SPENT) => NodeCount::OverBudget,
        Err(e) => NodeCount::Unparsable(e.to_string()),
    }
}

#[derive(Clone, Copy)]
struct Walker<'a> {
    left: &'a Cell<usize>,
}

impl Walker<'_> {
    fn spend<E: de::Error>(self) -> Result<(), E> {
        match self.left.get().checked_sub(1) {
            Some(left) => {
                self.left.set(left);
                Ok(())
            }
            None => Err(E::custom(SPENT)),
        }
    }
}

impl<'de> DeserializeSeed<'de> for Walker<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walker<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML node")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.spend()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.spend()
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<(), E> {
        self.spend()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.spend()
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<(), E> {
        self.spend()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.spend()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.spend()
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<(), E> {
        self.spend()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.spend()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.spend()
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.deserialize(d)
    }
    fn visit_newtype_struct<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.spend()?;
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.spend()?;
        while map.next_key_seed(self)?.is_some() {
            map.next_value_seed(self)?;
        }
        Ok(())
    }

    /// A tagged node (`!tag value`): the tag is refused later; its value is counted here.
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        self.spend()?;
        let (_tag, variant) = data.variant::<de::IgnoredAny>()?;
        variant.newtype_variant_seed(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_plain_documents() {
        assert_eq!(count_nodes("a: [1, 2, 3]", 10), NodeCount::WithinBudget);
        assert_eq!(count_nodes("a: [1, 2, 3]", 3), NodeCount::OverBudget);
        assert!(matches!(
            count_nodes("a: [1, 2", 10),
            NodeCount::Unparsable(_)
        ));
        assert_eq!(count_nodes("a: !x 1", 10), NodeCount::WithinBudget);
    }

    #[test]
    fn alias_fan_out_is_refused_without_expanding_it() {
        let items = vec!["x"; 6000].join(", ");
        let refs = vec!["*a"; 6000].join(", ");
        let bomb = format!("x-a: &a [{items}]\nx-b: [{refs}]\n");
        assert!(bomb.len() < 60_000);
        let started = std::time::Instant::now();
        assert_eq!(count_nodes(&bomb, 100_000), NodeCount::OverBudget);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
}
