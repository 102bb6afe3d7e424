//! Per-shard store micro-benchmarks: the keyspace operations behind GET and SET, and the
//! reply encoding they end in.
//!
//! The command handlers themselves (`ShardCtx` and the family functions) are private to
//! the crate, so this measures the same steps through the public API: a GET is
//! `lookup_read` + `entry` + `ReplyBuf::bulk`, a SET is `insert` of a fresh `Value`.
//!
//! Run with `cargo bench --bench store`; add a filter (`cargo bench --bench store lookup`)
//! to run a subset.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use memflux::protocol::{Protocol, ReplyBuf};
use memflux::shard::keyspace::Keyspace;
use memflux::shard::value::Value;

const KEYS: usize = 100_000;
/// Operations per measured iteration of the lookup benchmarks.
const BATCH: usize = 1000;
/// A fixed clock: expiry checks compare against it.
const NOW: u64 = 1_700_000_000_000;

fn make_keys(prefix: &str, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("{prefix}:{i:08}").into_bytes())
        .collect()
}

fn filled(keys: &[Vec<u8>], value: &[u8]) -> Keyspace {
    let mut ks = Keyspace::new();
    for k in keys {
        ks.insert(k, Value::Str(value.to_vec()), None, NOW);
    }
    ks
}

/// A pseudo-random order over `n` items, so lookups do not walk memory in insert order.
fn shuffled(n: usize, take: usize) -> Vec<usize> {
    let mut rng = fastrand::Rng::with_seed(7);
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);
    order.truncate(take);
    order
}

fn insert(c: &mut Criterion) {
    let keys = make_keys("key", KEYS);
    let mut group = c.benchmark_group("keyspace_insert");
    group.throughput(Throughput::Elements(KEYS as u64));
    group.sample_size(20);
    group.bench_function("new_keys_100k", |b| {
        b.iter_batched(
            Keyspace::new,
            |mut ks| {
                for k in &keys {
                    ks.insert(k, Value::Str(b"value-of-sixteen".to_vec()), None, NOW);
                }
                ks
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("new_keys_100k_with_ttl", |b| {
        b.iter_batched(
            Keyspace::new,
            |mut ks| {
                for k in &keys {
                    ks.insert(
                        k,
                        Value::Str(b"value-of-sixteen".to_vec()),
                        Some(NOW + 60_000),
                        NOW,
                    );
                }
                ks
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();

    // Overwriting existing keys: SET on a key that is already there.
    let mut group = c.benchmark_group("keyspace_overwrite");
    group.throughput(Throughput::Elements(BATCH as u64));
    let mut ks = filled(&keys, b"value-of-sixteen");
    let order = shuffled(KEYS, BATCH);
    group.bench_function("existing_keys", |b| {
        b.iter(|| {
            for &i in &order {
                black_box(ks.insert(
                    &keys[i],
                    Value::Str(b"another-value-16".to_vec()),
                    None,
                    NOW,
                ));
            }
        })
    });
    group.finish();
}

fn lookup(c: &mut Criterion) {
    let keys = make_keys("key", KEYS);
    let absent = make_keys("absent", BATCH);
    let mut ks = filled(&keys, b"value-of-sixteen");
    let order = shuffled(KEYS, BATCH);
    let mut group = c.benchmark_group("keyspace_lookup");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("hit", |b| {
        b.iter(|| {
            for &i in &order {
                black_box(ks.lookup_read(&keys[i], NOW));
            }
        })
    });
    group.bench_function("miss", |b| {
        b.iter(|| {
            for k in &absent {
                black_box(ks.lookup_read(k, NOW));
            }
        })
    });
    // The existence check of EXISTS and SET NX: no access bookkeeping.
    group.bench_function("find_live_hit", |b| {
        b.iter(|| {
            for &i in &order {
                black_box(ks.find_live(&keys[i], NOW));
            }
        })
    });
    group.finish();

    // A whole GET minus the network: look up, then encode the value as a bulk reply.
    let mut group = c.benchmark_group("get_path");
    group.throughput(Throughput::Elements(BATCH as u64));
    let mut out = ReplyBuf::with_capacity(Protocol::Resp2, 64 * 1024);
    group.bench_function("lookup_and_encode", |b| {
        b.iter(|| {
            out.buf.clear();
            for &i in &order {
                match ks.lookup_read(&keys[i], NOW) {
                    Some(slot) => match &ks.entry(slot).value {
                        Value::Str(s) => out.bulk(s),
                        _ => out.null(),
                    },
                    None => out.null(),
                }
            }
            black_box(out.len())
        })
    });
    group.finish();
}

fn churn(c: &mut Criterion) {
    // Delete and re-insert: the slab's free list and the index's tombstones at work.
    let keys = make_keys("key", KEYS);
    let mut ks = filled(&keys, b"v");
    let order = shuffled(KEYS, BATCH);
    let mut group = c.benchmark_group("keyspace_churn");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("remove_then_insert", |b| {
        b.iter(|| {
            for &i in &order {
                black_box(ks.remove(&keys[i]));
            }
            for &i in &order {
                ks.insert(&keys[i], Value::Str(b"v".to_vec()), None, NOW);
            }
        })
    });
    group.finish();
}

fn reply_encoding(c: &mut Criterion) {
    let mut group = c.benchmark_group("reply_encode");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, size) in [
        ("bulk_16b", 16),
        ("bulk_1kib", 1024),
        ("bulk_64kib", 64 * 1024),
    ] {
        let value = vec![b'x'; size];
        let mut out = ReplyBuf::with_capacity(Protocol::Resp2, BATCH * (size + 16));
        group.bench_function(name, |b| {
            b.iter(|| {
                out.buf.clear();
                for _ in 0..BATCH {
                    out.bulk(black_box(&value));
                }
                black_box(out.len())
            })
        });
    }
    // An MGET-shaped reply: array header, then ten values with a miss among them.
    let value = vec![b'x'; 16];
    let mut out = ReplyBuf::with_capacity(Protocol::Resp3, BATCH * 300);
    group.bench_function("mget_10_resp3", |b| {
        b.iter(|| {
            out.buf.clear();
            for _ in 0..BATCH {
                out.array(10);
                for j in 0..10 {
                    if j == 3 {
                        out.null();
                    } else {
                        out.bulk(black_box(&value));
                    }
                }
            }
            black_box(out.len())
        })
    });
    group.bench_function("int", |b| {
        b.iter(|| {
            out.buf.clear();
            for i in 0..BATCH as i64 {
                out.int(black_box(i * 7919 - 100_000));
            }
            black_box(out.len())
        })
    });
    group.finish();
}

criterion_group!(benches, insert, lookup, churn, reply_encoding);
criterion_main!(benches);
