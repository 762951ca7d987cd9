//! Exact lookups of string ids, laid out for the CPU cache: a radix-partitioned hash join.
//!
//! Linking changes to deployments is a join on string ids: a deployment's listed change
//! ids against the changes' ids, a change's `deployment` against the deployments' ids. One
//! hash table over millions of ids outgrows the caches, so every probe costs a chain of
//! cache misses (the table's control bytes, its bucket, the heap string it compares
//! against) and the time per change grows with the data. Here the keys are first
//! scattered into partitions by bits of their hash, each with a copy of its bytes next to
//! the others of its partition, and the probes are scattered the same way (they keep
//! pointing at their own strings); each partition is then joined on its own, while its
//! table and bytes sit in the cache. Scattering reads the events in order and writes a
//! few hundred streams, so the join costs about the same per id at a thousand ids or ten
//! million (`docs/performance.md`).
//!
//! Keys are exact: a hash only chooses the partition and the bucket, and every match
//! compares the namespace and the bytes.

use std::cell::Cell;
use std::hash::{BuildHasher, Hasher};

use foldhash::quality::FixedState;
use hashbrown::HashTable;

/// About this many keys go to one partition: with the bytes of 40-character ids, a
/// partition's table and keys take a few hundred KiB, inside a core's L2 cache.
const KEYS_PER_PARTITION: usize = 8192;

/// At most 2^8 partitions: scattering writes to every partition's buffer in turn, and
/// more streams than that thrash the TLB.
const MAX_PARTITION_BITS: u32 = 8;

/// The partition is taken from these bits of the hash: hashbrown uses the lowest bits for
/// the bucket and the top seven as the tag it compares first, and both must still vary
/// inside a partition.
const PARTITION_SHIFT: u32 = 32;

/// A fixed seed: ids are not attacker-chosen keys of a long-lived table, and a fixed seed
/// keeps runs repeatable.
const HASHER: FixedState = FixedState::with_seed(0x666c_6f77_6d61_7021);

fn hash(namespace: u32, key: &str) -> u64 {
    let mut h = HASHER.build_hasher();
    h.write_u32(namespace);
    h.write(key.as_bytes());
    h.finish()
}

/// The hash a key is stored and probed under, for callers that probe one key against
/// several indexes ([`Probes::push_hashed`]) and so hash it once.
pub(crate) fn key_hash(namespace: u32, key: &str) -> u64 {
    hash(namespace, key)
}

fn partition(bits: u32, hash: u64) -> usize {
    ((hash >> PARTITION_SHIFT) as usize) & ((1 << bits) - 1)
}

/// Room for a partition's share of `total` items, with a margin for an uneven spread:
/// buffers are reserved up front, because growing hundreds of them as they fill costs
/// more than the scattering itself.
fn share(total: usize, bits: u32) -> usize {
    let even = total >> bits;
    even + even / 8 + 64
}

/// One build key in its partition, its bytes at `off..off + len` of the partition's arena.
#[derive(Clone, Copy)]
struct Record<V> {
    hash: u64,
    namespace: u32,
    off: u32,
    len: u32,
    value: V,
}

/// The keys of a [`KeyIndex`] to be, scattered into partitions with copies of their bytes.
pub(crate) struct Keys<V> {
    bits: u32,
    records: Vec<Vec<Record<V>>>,
    bytes: Vec<String>,
}

impl<V: Copy> Keys<V> {
    /// Room for `keys` keys of `bytes` bytes in all, in as many partitions as make each
    /// one's share fit in the cache.
    pub(crate) fn new(keys: usize, bytes: usize) -> Keys<V> {
        let partitions = keys.div_ceil(KEYS_PER_PARTITION).max(1);
        let bits = partitions
            .next_power_of_two()
            .trailing_zeros()
            .min(MAX_PARTITION_BITS);
        let n = 1usize << bits;
        Keys {
            bits,
            records: (0..n)
                .map(|_| Vec::with_capacity(share(keys, bits)))
                .collect(),
            bytes: (0..n)
                .map(|_| String::with_capacity(share(bytes, bits)))
                .collect(),
        }
    }

    /// Adds `key` in `namespace` with `value`. Keys of different namespaces never match.
    pub(crate) fn push(&mut self, namespace: u32, key: &str, value: V) {
        let hash = hash(namespace, key);
        let p = partition(self.bits, hash);
        let arena = &mut self.bytes[p];
        let off = arena.len() as u32;
        arena.push_str(key);
        self.records[p].push(Record {
            hash,
            namespace,
            off,
            len: key.len() as u32,
            value,
        });
    }
}

/// One probe in its partition: the key stays where it is, and is read only to confirm a
/// hash match.
struct Probe<'k, P> {
    hash: u64,
    namespace: u32,
    value: P,
    key: &'k str,
}

/// Keys to look up in a [`KeyIndex`], each with a value of the caller's, scattered into
/// the index's partitions ([`KeyIndex::probes`]).
pub(crate) struct Probes<'k, P> {
    bits: u32,
    records: Vec<Vec<Probe<'k, P>>>,
}

impl<'k, P: Copy> Probes<'k, P> {
    /// Adds a lookup of `key` in `namespace`, reported with `value`.
    pub(crate) fn push(&mut self, namespace: u32, key: &'k str, value: P) {
        self.push_hashed(hash(namespace, key), namespace, key, value);
    }

    /// [`Probes::push`] with the key's [`key_hash`] already computed.
    pub(crate) fn push_hashed(&mut self, hash: u64, namespace: u32, key: &'k str, value: P) {
        self.records[partition(self.bits, hash)].push(Probe {
            hash,
            namespace,
            value,
            key,
        });
    }
}

/// A key of the index with its (merged) value, and whether a probe found it.
struct Entry<V> {
    key: Record<V>,
    /// A cell, so that probing needs only `&self` and an index can be probed while the
    /// data its values point into is borrowed.
    found: Cell<bool>,
}

struct Partition<V> {
    bytes: String,
    table: HashTable<Entry<V>>,
}

fn key_of(bytes: &str, off: u32, len: u32) -> &str {
    // Offsets come from `push_str` of whole strings, so they are char boundaries.
    bytes.get(off as usize..(off + len) as usize).unwrap_or("")
}

/// Whether `entry`, with its bytes in `bytes`, is `key` in `namespace`.
fn is_key<V>(entry: &Entry<V>, bytes: &str, namespace: u32, key: &str) -> bool {
    entry.key.namespace == namespace && key_of(bytes, entry.key.off, entry.key.len) == key
}

impl<V> Partition<V> {
    fn find(&self, hash: u64, namespace: u32, key: &str) -> Option<&Entry<V>> {
        self.table
            .find(hash, |e| is_key(e, &self.bytes, namespace, key))
    }
}

/// String keys (within a namespace, such as a service) to values, built once from
/// [`Keys`]; then probed in bulk, partition by partition ([`KeyIndex::probe`]), or one key
/// at a time ([`KeyIndex::get`]).
pub(crate) struct KeyIndex<V> {
    bits: u32,
    partitions: Vec<Partition<V>>,
}

impl<V: Copy> KeyIndex<V> {
    /// Indexes `keys`. A key pushed more than once keeps `merge(kept, next)`, applied in
    /// the order the keys were pushed.
    pub(crate) fn build(keys: Keys<V>, mut merge: impl FnMut(V, V) -> V) -> KeyIndex<V> {
        let partitions = keys
            .records
            .into_iter()
            .zip(keys.bytes)
            .map(|(records, bytes)| {
                let mut part = Partition {
                    table: HashTable::with_capacity(records.len()),
                    bytes,
                };
                for r in records {
                    let key = key_of(&part.bytes, r.off, r.len);
                    let existing = part
                        .table
                        .find_mut(r.hash, |e| is_key(e, &part.bytes, r.namespace, key));
                    match existing {
                        Some(e) => e.key.value = merge(e.key.value, r.value),
                        None => {
                            let entry = Entry {
                                key: r,
                                found: Cell::new(false),
                            };
                            part.table.insert_unique(r.hash, entry, |e| e.key.hash);
                        }
                    }
                }
                part
            })
            .collect();
        KeyIndex {
            bits: keys.bits,
            partitions,
        }
    }

    /// Room for about `count` probes of this index, partitioned as it is.
    pub(crate) fn probes<'k, P: Copy>(&self, count: usize) -> Probes<'k, P> {
        Probes {
            bits: self.bits,
            records: (0..1usize << self.bits)
                .map(|_| Vec::with_capacity(share(count, self.bits)))
                .collect(),
        }
    }

    /// The value of `key` in `namespace`.
    pub(crate) fn get(&self, namespace: u32, key: &str) -> Option<V> {
        let hash = hash(namespace, key);
        self.partitions[partition(self.bits, hash)]
            .find(hash, namespace, key)
            .map(|e| e.key.value)
    }

    /// Looks up every probe, partition by partition, calling `found(probe value, value)`
    /// for each probe whose key is in the index (in no particular order), and marks those
    /// keys found.
    pub(crate) fn probe<P: Copy>(&self, probes: Probes<'_, P>, mut found: impl FnMut(P, V)) {
        debug_assert_eq!(probes.bits, self.bits);
        for (records, part) in probes.records.iter().zip(&self.partitions) {
            for r in records {
                if let Some(e) = part.find(r.hash, r.namespace, r.key) {
                    e.found.set(true);
                    found(r.value, e.key.value);
                }
            }
        }
    }

    /// The values of the keys that no probe found.
    pub(crate) fn not_found(&self) -> impl Iterator<Item = V> {
        self.partitions.iter().flat_map(|part| {
            part.table
                .iter()
                .filter(|e| !e.found.get())
                .map(|e| e.key.value)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    #[test]
    fn keys_match_exactly_within_their_namespace() {
        let mut build = Keys::new(3, 9);
        build.push(1, "abc", 10u32);
        build.push(1, "abc", 5);
        build.push(2, "abc", 7);
        build.push(1, "ab", 1);
        let index = KeyIndex::build(build, u32::min);
        assert_eq!(index.get(1, "abc"), Some(5));
        assert_eq!(index.get(2, "abc"), Some(7));
        assert_eq!(index.get(1, "ab"), Some(1));
        assert_eq!(index.get(3, "abc"), None);
        assert_eq!(index.get(1, "abcd"), None);

        let mut probes = index.probes(2);
        probes.push(1, "abc", 'x');
        probes.push(2, "nope", 'y');
        let mut hits = Vec::new();
        index.probe(probes, |p, v| hits.push((p, v)));
        assert_eq!(hits, [('x', 5)]);
        let mut missing: Vec<_> = index.not_found().collect();
        missing.sort();
        assert_eq!(missing, [1, 7]);
    }

    fn key(n: u32) -> String {
        // Short and long keys, some sharing prefixes.
        if n.is_multiple_of(3) {
            format!("{n}")
        } else {
            format!("change-{n:040}")
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        // Against a plain HashMap, with enough keys to spread over several partitions.
        #[test]
        fn agrees_with_a_hash_map(
            keys in proptest::collection::vec((0u32..3, 0u32..30_000), 0..30_000),
            probes in proptest::collection::vec((0u32..3, 0u32..40_000), 0..2_000),
        ) {
            let keys: Vec<(u32, String)> = keys.into_iter().map(|(ns, n)| (ns, key(n))).collect();
            let probes: Vec<(u32, String)> =
                probes.into_iter().map(|(ns, n)| (ns, key(n))).collect();
            let mut build = Keys::new(keys.len(), 0);
            let mut expected: HashMap<(u32, &str), u32> = HashMap::new();
            for (i, (ns, key)) in keys.iter().enumerate() {
                build.push(*ns, key, i as u32);
                expected.entry((*ns, key.as_str())).or_insert(i as u32);
            }
            let index = KeyIndex::build(build, |kept, _| kept);
            let mut scattered = index.probes(0);
            for (j, (ns, key)) in probes.iter().enumerate() {
                prop_assert_eq!(index.get(*ns, key), expected.get(&(*ns, key.as_str())).copied());
                scattered.push(*ns, key, j);
            }
            let mut hits = Vec::new();
            index.probe(scattered, |j, v| hits.push((j, v)));
            hits.sort();
            let want: Vec<(usize, u32)> = probes
                .iter()
                .enumerate()
                .filter_map(|(j, (ns, key))| expected.get(&(*ns, key.as_str())).map(|v| (j, *v)))
                .collect();
            prop_assert_eq!(hits, want);
            let found: std::collections::HashSet<(u32, &str)> =
                probes.iter().map(|(ns, k)| (*ns, k.as_str())).collect();
            let mut missing: Vec<u32> = index.not_found().collect();
            missing.sort();
            let mut want_missing: Vec<u32> = expected
                .iter()
                .filter(|(k, _)| !found.contains(k))
                .map(|(_, v)| *v)
                .collect();
            want_missing.sort();
            prop_assert_eq!(missing, want_missing);
        }
    }
}
