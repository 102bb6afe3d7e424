//! Durability scenarios for the set commands: each sets up state through one write
//! command and checks its reply (see `Scenario` in tests/durability.rs).

#[allow(unused_imports)]
use super::*;

pub const SCENARIOS: &[Scenario] = &[
    ("sadd", sadd),
    ("srem", srem),
    ("spop", spop),
    ("smove", smove),
    ("sinterstore", sinterstore),
    ("sunionstore", sunionstore),
    ("sdiffstore", sdiffstore),
];

fn sadd(s: &mut Session) {
    for shard in 0..SHARDS {
        let k = |name: &str| key_on(&format!("sadd-{name}"), shard);
        s.expect(&["SADD", &k("ints"), "1", "2", "3"], ":3");
        s.expect(&["SADD", &k("ints"), "2", "4"], ":1");
        s.expect(&["SADD", &k("mixed"), "a", "b", "1"], ":3");
        // Adding to a set with a TTL keeps the TTL.
        s.expect(&["SADD", &k("ttl"), "a"], ":1");
        s.expect(&["EXPIRE", &k("ttl"), &FAR_S.to_string()], ":1");
        s.expect(&["SADD", &k("ttl"), "b"], ":1");
    }
    let many: Vec<String> = (0..200).map(|i| format!("member-{i}")).collect();
    let mut args = vec!["SADD", "sadd-big"];
    args.extend(many.iter().map(String::as_str));
    s.expect(&args, ":200");
}

fn srem(s: &mut Session) {
    s.expect(&["SADD", "srem-k", "a", "b", "c"], ":3");
    s.expect(&["SREM", "srem-k", "a", "z"], ":1");
    // Removing the last members deletes the key.
    s.expect(&["SADD", "srem-gone", "a", "b"], ":2");
    s.expect(&["SREM", "srem-gone", "a", "b"], ":2");
}

fn spop(s: &mut Session) {
    let members: Vec<String> = (0..50).map(|i| format!("p{i}")).collect();
    let mut args = vec!["SADD", "spop-k"];
    args.extend(members.iter().map(String::as_str));
    s.expect(&args, ":50");
    // Which members go is random: the journal must record the ones actually popped.
    let one = s.call(&["SPOP", "spop-k"]);
    assert!(one.starts_with("$p"), "{one}");
    let some = s.call(&["SPOP", "spop-k", "10"]);
    assert_eq!(some.matches("$p").count(), 10, "{some}");
    s.expect(&["SCARD", "spop-k"], ":39");
    s.expect(&["SADD", "spop-all", "a", "b"], ":2");
    let all = s.call(&["SPOP", "spop-all", "5"]);
    assert_eq!(all.matches('$').count(), 2, "{all}");
}

fn smove(s: &mut Session) {
    s.expect(&["SADD", "{smove}a", "x", "y", "z"], ":3");
    s.expect(&["SMOVE", "{smove}a", "{smove}b", "x"], ":1");
    s.expect(&["SMOVE", "{smove}a", "{smove}b", "y"], ":1");
    s.expect(&["SADD", "{smove}c", "only"], ":1");
    s.expect(&["SMOVE", "{smove}c", "{smove}new", "only"], ":1");
}

fn sinterstore(s: &mut Session) {
    s.expect(&["SADD", "{sis}a", "1", "2", "3"], ":3");
    s.expect(&["SADD", "{sis}b", "2", "3", "4"], ":3");
    s.expect(&["SET", "{sis}dst", "old", "EX", &FAR_S.to_string()], "OK");
    s.expect(&["SINTERSTORE", "{sis}dst", "{sis}a", "{sis}b"], ":2");
    s.expect(&["SET", "{sis}gone", "old"], "OK");
    s.expect(&["SINTERSTORE", "{sis}gone", "{sis}a", "{sis}none"], ":0");
}

fn sunionstore(s: &mut Session) {
    s.expect(&["SADD", "{sus}a", "a", "b"], ":2");
    s.expect(&["SADD", "{sus}b", "b", "c"], ":2");
    s.expect(&["SUNIONSTORE", "{sus}dst", "{sus}a", "{sus}b"], ":3");
    s.expect(&["SUNIONSTORE", "{sus}a", "{sus}a", "{sus}b"], ":3");
}

fn sdiffstore(s: &mut Session) {
    s.expect(&["SADD", "{sds}a", "a", "b", "c"], ":3");
    s.expect(&["SADD", "{sds}b", "b"], ":1");
    s.expect(&["SDIFFSTORE", "{sds}dst", "{sds}a", "{sds}b"], ":2");
    s.expect(&["SADD", "{sds}gone", "x"], ":1");
    s.expect(&["SDIFFSTORE", "{sds}gone", "{sds}b", "{sds}b"], ":0");
}
