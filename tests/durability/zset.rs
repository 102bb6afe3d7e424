//! Durability scenarios for the zset commands: each sets up state through one write
//! command and checks its reply (see `Scenario` in tests/durability.rs).

#[allow(unused_imports)]
use super::*;

pub const SCENARIOS: &[Scenario] = &[
    ("zadd", zadd),
    ("zincrby", zincrby),
    ("zrem", zrem),
    ("zremrangebyrank", zremrangebyrank),
    ("zremrangebyscore", zremrangebyscore),
    ("zremrangebylex", zremrangebylex),
    ("zpopmin", zpopmin),
    ("zpopmax", zpopmax),
    ("zmpop", zmpop),
    ("zrangestore", zrangestore),
    ("zunionstore", zunionstore),
    ("zinterstore", zinterstore),
    ("zdiffstore", zdiffstore),
];

fn zadd(s: &mut Session) {
    for shard in 0..SHARDS {
        let k = |name: &str| key_on(&format!("zadd-{name}"), shard);
        s.expect(
            &["ZADD", &k("plain"), "1", "a", "2.5", "b", "-inf", "c"],
            ":3",
        );
        s.expect(&["ZADD", &k("plain"), "CH", "3", "a", "4", "d"], ":2");
        s.expect(&["ZADD", &k("plain"), "XX", "GT", "0", "a", "9", "b"], ":0");
        s.expect(&["ZADD", &k("plain"), "INCR", "0.5", "c"], "$-inf");
        s.expect(&["ZADD", &k("plain"), "NX", "100", "a", "5", "e"], ":1");
        // Updating a sorted set with a TTL keeps the TTL.
        s.expect(&["ZADD", &k("ttl"), "1", "a"], ":1");
        s.expect(&["EXPIRE", &k("ttl"), &FAR_S.to_string()], ":1");
        s.expect(&["ZADD", &k("ttl"), "2", "a", "3", "b"], ":1");
    }
    // Past the compact encoding, with ties ordered by member.
    let pairs: Vec<String> = (0..300)
        .flat_map(|i| [(i % 10).to_string(), format!("member-{i}")])
        .collect();
    let mut args = vec!["ZADD", "zadd-big"];
    args.extend(pairs.iter().map(String::as_str));
    s.expect(&args, ":300");
}

fn zincrby(s: &mut Session) {
    s.expect(&["ZINCRBY", "zincrby-k", "2", "a"], "$2");
    s.expect(&["ZINCRBY", "zincrby-k", "0.25", "a"], "$2.25");
    s.expect(&["ZINCRBY", "zincrby-k", "-1", "b"], "$-1");
}

fn zrem(s: &mut Session) {
    s.expect(&["ZADD", "zrem-k", "1", "a", "2", "b", "3", "c"], ":3");
    s.expect(&["ZREM", "zrem-k", "a", "z"], ":1");
    // Removing the last members deletes the key.
    s.expect(&["ZADD", "zrem-gone", "1", "a", "2", "b"], ":2");
    s.expect(&["ZREM", "zrem-gone", "a", "b"], ":2");
}

fn zremrangebyrank(s: &mut Session) {
    s.expect(
        &["ZADD", "zrrr-k", "1", "a", "2", "b", "3", "c", "4", "d"],
        ":4",
    );
    s.expect(&["ZREMRANGEBYRANK", "zrrr-k", "1", "2"], ":2");
    s.expect(&["ZADD", "zrrr-gone", "1", "a"], ":1");
    s.expect(&["ZREMRANGEBYRANK", "zrrr-gone", "0", "-1"], ":1");
}

fn zremrangebyscore(s: &mut Session) {
    s.expect(
        &["ZADD", "zrrs-k", "1", "a", "2", "b", "3", "c", "4", "d"],
        ":4",
    );
    s.expect(&["ZREMRANGEBYSCORE", "zrrs-k", "(1", "3"], ":2");
}

fn zremrangebylex(s: &mut Session) {
    s.expect(
        &["ZADD", "zrrl-k", "0", "a", "0", "b", "0", "c", "0", "d"],
        ":4",
    );
    s.expect(&["ZREMRANGEBYLEX", "zrrl-k", "[b", "(d"], ":2");
}

fn zpopmin(s: &mut Session) {
    s.expect(
        &["ZADD", "zpopmin-k", "1", "a", "2", "b", "3", "c", "4", "d"],
        ":4",
    );
    s.expect(&["ZPOPMIN", "zpopmin-k"], "[$a, $1]");
    s.expect(&["ZPOPMIN", "zpopmin-k", "2"], "[$b, $2, $c, $3]");
    s.expect(&["ZADD", "zpopmin-gone", "1", "a"], ":1");
    s.expect(&["ZPOPMIN", "zpopmin-gone", "5"], "[$a, $1]");
}

fn zpopmax(s: &mut Session) {
    s.expect(&["ZADD", "zpopmax-k", "1", "a", "2", "b", "3", "c"], ":3");
    s.expect(&["ZPOPMAX", "zpopmax-k", "2"], "[$c, $3, $b, $2]");
}

fn zmpop(s: &mut Session) {
    s.expect(&["ZADD", "{zmpop}b", "1", "a", "2", "b", "3", "c"], ":3");
    s.expect(
        &["ZMPOP", "2", "{zmpop}a", "{zmpop}b", "MAX", "COUNT", "2"],
        "[${zmpop}b, [[$c, $3], [$b, $2]]]",
    );
}

fn zrangestore(s: &mut Session) {
    s.expect(&["ZADD", "{zrs}src", "1", "a", "2", "b", "3", "c"], ":3");
    s.expect(&["SET", "{zrs}dst", "old", "EX", &FAR_S.to_string()], "OK");
    s.expect(
        &[
            "ZRANGESTORE",
            "{zrs}dst",
            "{zrs}src",
            "(1",
            "+inf",
            "BYSCORE",
        ],
        ":2",
    );
    s.expect(&["SET", "{zrs}gone", "old"], "OK");
    s.expect(&["ZRANGESTORE", "{zrs}gone", "{zrs}src", "5", "9"], ":0");
}

fn zunionstore(s: &mut Session) {
    s.expect(&["ZADD", "{zus}a", "1", "a", "2", "b"], ":2");
    s.expect(&["SADD", "{zus}s", "b", "c"], ":2");
    s.expect(
        &[
            "ZUNIONSTORE",
            "{zus}dst",
            "2",
            "{zus}a",
            "{zus}s",
            "WEIGHTS",
            "2",
            "3",
        ],
        ":3",
    );
    s.expect(&["ZUNIONSTORE", "{zus}a", "2", "{zus}a", "{zus}s"], ":3");
}

fn zinterstore(s: &mut Session) {
    s.expect(&["ZADD", "{zis}a", "1", "a", "2", "b", "3", "c"], ":3");
    s.expect(&["ZADD", "{zis}b", "10", "b", "20", "c"], ":2");
    s.expect(
        &[
            "ZINTERSTORE",
            "{zis}dst",
            "2",
            "{zis}a",
            "{zis}b",
            "AGGREGATE",
            "MAX",
        ],
        ":2",
    );
    s.expect(&["SET", "{zis}gone", "old"], "OK");
    s.expect(
        &["ZINTERSTORE", "{zis}gone", "2", "{zis}a", "{zis}none"],
        ":0",
    );
}

fn zdiffstore(s: &mut Session) {
    s.expect(&["ZADD", "{zds}a", "1", "a", "2", "b", "3", "c"], ":3");
    s.expect(&["ZADD", "{zds}b", "1", "b"], ":1");
    s.expect(&["ZDIFFSTORE", "{zds}dst", "2", "{zds}a", "{zds}b"], ":2");
}
