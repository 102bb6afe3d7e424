//! Durability scenarios for the list commands: each sets up state through one write
//! command and checks its reply (see `Scenario` in tests/durability.rs).

#[allow(unused_imports)]
use super::*;

pub const SCENARIOS: &[Scenario] = &[
    ("lpush", lpush),
    ("rpush", rpush),
    ("lpushx", lpushx),
    ("rpushx", rpushx),
    ("lpop", lpop),
    ("rpop", rpop),
    ("lset", lset),
    ("linsert", linsert),
    ("lrem", lrem),
    ("ltrim", ltrim),
    ("lmove", lmove),
    ("rpoplpush", rpoplpush),
    ("lmpop", lmpop),
];

fn lpush(s: &mut Session) {
    for shard in 0..SHARDS {
        let k = |name: &str| key_on(&format!("lpush-{name}"), shard);
        s.expect(&["LPUSH", &k("k"), "a", "b", "c"], ":3");
        s.expect(&["LPUSH", &k("k"), "d"], ":4");
        // Pushing onto a list with a TTL keeps the TTL.
        s.expect(&["LPUSH", &k("ttl"), "a"], ":1");
        s.expect(&["EXPIRE", &k("ttl"), &FAR_S.to_string()], ":1");
        s.expect(&["LPUSH", &k("ttl"), "b", "c"], ":3");
    }
    // Big enough to be a quicklist.
    let many: Vec<String> = (0..200).map(|i| format!("item-{i}")).collect();
    let mut args = vec!["LPUSH", "lpush-big"];
    args.extend(many.iter().map(String::as_str));
    s.expect(&args, ":200");
}

fn rpush(s: &mut Session) {
    s.expect(&["RPUSH", "rpush-k", "a", "b"], ":2");
    s.expect(&["RPUSH", "rpush-k", "c"], ":3");
    s.expect(&["RPUSH", "rpush-bin", "\u{0}\r\n", ""], ":2");
}

fn lpushx(s: &mut Session) {
    s.expect(&["LPUSHX", "lpushx-none", "a"], ":0");
    s.expect(&["RPUSH", "lpushx-k", "a"], ":1");
    s.expect(&["LPUSHX", "lpushx-k", "b", "c"], ":3");
}

fn rpushx(s: &mut Session) {
    s.expect(&["RPUSHX", "rpushx-none", "a"], ":0");
    s.expect(&["RPUSH", "rpushx-k", "a"], ":1");
    s.expect(&["RPUSHX", "rpushx-k", "b", "c"], ":3");
}

fn lpop(s: &mut Session) {
    s.expect(&["RPUSH", "lpop-k", "a", "b", "c", "d", "e"], ":5");
    s.expect(&["LPOP", "lpop-k"], "$a");
    s.expect(&["LPOP", "lpop-k", "2"], "[$b, $c]");
    // Popping everything deletes the key.
    s.expect(&["RPUSH", "lpop-gone", "a", "b"], ":2");
    s.expect(&["LPOP", "lpop-gone", "5"], "[$a, $b]");
}

fn rpop(s: &mut Session) {
    s.expect(&["RPUSH", "rpop-k", "a", "b", "c", "d", "e"], ":5");
    s.expect(&["RPOP", "rpop-k"], "$e");
    s.expect(&["RPOP", "rpop-k", "2"], "[$d, $c]");
    s.expect(&["RPUSH", "rpop-gone", "a"], ":1");
    s.expect(&["RPOP", "rpop-gone"], "$a");
}

fn lset(s: &mut Session) {
    s.expect(&["RPUSH", "lset-k", "a", "b", "c"], ":3");
    s.expect(&["LSET", "lset-k", "1", "B"], "OK");
    s.expect(&["LSET", "lset-k", "-1", "C"], "OK");
}

fn linsert(s: &mut Session) {
    s.expect(&["RPUSH", "linsert-k", "a", "c"], ":2");
    s.expect(&["LINSERT", "linsert-k", "BEFORE", "c", "b"], ":3");
    s.expect(&["LINSERT", "linsert-k", "AFTER", "c", "d"], ":4");
    // Rewrites journal the whole value: the TTL must survive too.
    s.expect(&["RPUSH", "linsert-ttl", "a"], ":1");
    s.expect(&["PEXPIRE", "linsert-ttl", &FAR_MS.to_string()], ":1");
    s.expect(&["LINSERT", "linsert-ttl", "AFTER", "a", "b"], ":2");
}

fn lrem(s: &mut Session) {
    s.expect(&["RPUSH", "lrem-k", "a", "b", "a", "c", "a"], ":5");
    s.expect(&["LREM", "lrem-k", "-1", "a"], ":1");
    s.expect(&["LREM", "lrem-k", "1", "a"], ":1");
    s.expect(&["RPUSH", "lrem-gone", "x", "x"], ":2");
    s.expect(&["LREM", "lrem-gone", "0", "x"], ":2");
}

fn ltrim(s: &mut Session) {
    s.expect(&["RPUSH", "ltrim-k", "a", "b", "c", "d", "e"], ":5");
    s.expect(&["LTRIM", "ltrim-k", "1", "-2"], "OK");
    s.expect(&["RPUSH", "ltrim-gone", "a", "b"], ":2");
    s.expect(&["LTRIM", "ltrim-gone", "5", "10"], "OK");
}

fn lmove(s: &mut Session) {
    s.expect(&["RPUSH", "{lmove}a", "1", "2", "3"], ":3");
    s.expect(&["LMOVE", "{lmove}a", "{lmove}b", "LEFT", "RIGHT"], "$1");
    s.expect(&["LMOVE", "{lmove}a", "{lmove}b", "RIGHT", "LEFT"], "$3");
    s.expect(&["LMOVE", "{lmove}b", "{lmove}b", "LEFT", "RIGHT"], "$3");
    s.expect(&["RPUSH", "{lmove}c", "only"], ":1");
    s.expect(&["LMOVE", "{lmove}c", "{lmove}a", "LEFT", "LEFT"], "$only");
}

fn rpoplpush(s: &mut Session) {
    s.expect(&["RPUSH", "{rpl}a", "1", "2", "3"], ":3");
    s.expect(&["RPOPLPUSH", "{rpl}a", "{rpl}b"], "$3");
    s.expect(&["RPOPLPUSH", "{rpl}a", "{rpl}a"], "$2");
    s.expect(&["RPUSH", "{rpl}c", "only"], ":1");
    s.expect(&["RPOPLPUSH", "{rpl}c", "{rpl}b"], "$only");
}

fn lmpop(s: &mut Session) {
    s.expect(&["RPUSH", "{lmpop}b", "1", "2", "3", "4"], ":4");
    s.expect(
        &["LMPOP", "2", "{lmpop}a", "{lmpop}b", "LEFT"],
        "[${lmpop}b, [$1]]",
    );
    s.expect(
        &["LMPOP", "1", "{lmpop}b", "RIGHT", "COUNT", "2"],
        "[${lmpop}b, [$4, $3]]",
    );
    s.expect(&["RPUSH", "{lmpop}gone", "x"], ":1");
    s.expect(
        &["LMPOP", "1", "{lmpop}gone", "LEFT", "COUNT", "9"],
        "[${lmpop}gone, [$x]]",
    );
}
