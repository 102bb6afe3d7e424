//! Durability scenarios for the hash commands: each sets up state through one write
//! command and checks its reply (see `Scenario` in tests/durability.rs).

#[allow(unused_imports)]
use super::*;

pub const SCENARIOS: &[Scenario] = &[
    ("hset", hset),
    ("hsetnx", hsetnx),
    ("hmset", hmset),
    ("hdel", hdel),
    ("hincrby", hincrby),
    ("hincrbyfloat", hincrbyfloat),
];

fn hset(s: &mut Session) {
    for shard in 0..SHARDS {
        let k = |name: &str| key_on(&format!("hset-{name}"), shard);
        s.expect(&["HSET", &k("a"), "f1", "v1", "f2", "v2"], ":2");
        s.expect(&["HSET", &k("a"), "f1", "new", "f3", "v3"], ":1");
        // Setting a field of a hash with a TTL keeps the TTL.
        s.expect(&["HSET", &k("ttl"), "f", "v"], ":1");
        s.expect(&["EXPIRE", &k("ttl"), &FAR_S.to_string()], ":1");
        s.expect(&["HSET", &k("ttl"), "g", "w"], ":1");
    }
    let fields: Vec<String> = (0..200).map(|i| format!("field-{i}")).collect();
    let mut args = vec!["HSET", "hset-big"];
    for f in &fields {
        args.push(f);
        args.push("x");
    }
    s.expect(&args, ":200");
}

fn hsetnx(s: &mut Session) {
    s.expect(&["HSETNX", "hsetnx-k", "f", "first"], ":1");
    s.expect(&["HSETNX", "hsetnx-k", "f", "second"], ":0");
    s.expect(&["HSETNX", "hsetnx-k", "g", "other"], ":1");
}

fn hmset(s: &mut Session) {
    s.expect(&["HMSET", "hmset-k", "a", "1", "b", "2"], "OK");
    s.expect(&["HMSET", "hmset-k", "a", "3"], "OK");
}

fn hdel(s: &mut Session) {
    s.expect(&["HSET", "hdel-k", "a", "1", "b", "2", "c", "3"], ":3");
    s.expect(&["HDEL", "hdel-k", "a", "zz"], ":1");
    s.expect(&["HSET", "hdel-gone", "a", "1"], ":1");
    s.expect(&["HDEL", "hdel-gone", "a"], ":1");
}

fn hincrby(s: &mut Session) {
    s.expect(&["HINCRBY", "hincrby-k", "n", "5"], ":5");
    s.expect(&["HINCRBY", "hincrby-k", "n", "-7"], ":-2");
}

fn hincrbyfloat(s: &mut Session) {
    s.expect(&["HINCRBYFLOAT", "hincrbyfloat-k", "x", "1.5"], "$1.5");
    s.expect(&["HINCRBYFLOAT", "hincrbyfloat-k", "x", "2"], "$3.5");
}
