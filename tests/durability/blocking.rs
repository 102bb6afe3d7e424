//! Durability scenarios for the blocking pops: each is run once on a key that already
//! holds data (served at once) and once on an empty key that another connection fills
//! while the pop waits (served by the wake-up), since the two take different paths to
//! the journal (see `Scenario` in tests/durability.rs).

#[allow(unused_imports)]
use super::*;

pub const SCENARIOS: &[Scenario] = &[
    ("blpop", blpop),
    ("brpop", brpop),
    ("blmove", blmove),
    ("brpoplpush", brpoplpush),
    ("blmpop", blmpop),
    ("bzpopmin", bzpopmin),
    ("bzpopmax", bzpopmax),
    ("bzmpop", bzmpop),
];

/// Runs `push` on a second connection as soon as `CLIENT LIST` shows a blocked client,
/// then runs `pop` on the session's own connection and checks its reply.
fn woken(s: &mut Session, push: &[&str], pop: &[&str], want: &str) {
    let mut other = s.client.get_connection().unwrap();
    let push: Vec<String> = push.iter().map(|a| a.to_string()).collect();
    let pusher = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let clients: String = redis::cmd("CLIENT").arg("LIST").query(&mut other).unwrap();
            if clients.lines().any(|l| {
                l.split(' ')
                    .any(|f| f.starts_with("flags=") && f.contains('b'))
            }) {
                break;
            }
            assert!(Instant::now() < deadline, "no client blocked: {clients}");
            std::thread::sleep(Duration::from_millis(5));
        }
        let args: Vec<&str> = push.iter().map(String::as_str).collect();
        call(&mut other, &args)
    });
    s.expect(pop, want);
    let pushed = pusher.join().unwrap();
    assert!(pushed.starts_with(':'), "push reply: {pushed}");
}

fn blpop(s: &mut Session) {
    for shard in 0..SHARDS {
        let k = |name: &str| key_on(&format!("blpop-{name}"), shard);
        s.expect(&["RPUSH", &k("ready"), "a", "b"], ":2");
        s.expect(
            &["BLPOP", &k("none"), &k("ready"), "1"],
            &format!("[${}, $a]", k("ready")),
        );
        woken(
            s,
            &["RPUSH", &k("woken"), "x", "y"],
            &["BLPOP", &k("woken"), "10"],
            &format!("[${}, $x]", k("woken")),
        );
    }
    // Keys on both shards: the pop runs across them.
    let (k0, k1) = (key_on("blpop-across", 0), key_on("blpop-across", 1));
    woken(
        s,
        &["RPUSH", &k1, "z"],
        &["BLPOP", &k0, &k1, "10"],
        &format!("[${k1}, $z]"),
    );
    // The push lands on the second of the keys waited on.
    woken(
        s,
        &["RPUSH", "{blpop}b", "z"],
        &["BLPOP", "{blpop}a", "{blpop}b", "10"],
        "[${blpop}b, $z]",
    );
}

fn brpop(s: &mut Session) {
    s.expect(&["RPUSH", "brpop-ready", "a", "b", "c"], ":3");
    s.expect(&["BRPOP", "brpop-ready", "1"], "[$brpop-ready, $c]");
    woken(
        s,
        &["RPUSH", "brpop-woken", "x", "y"],
        &["BRPOP", "brpop-woken", "10"],
        "[$brpop-woken, $y]",
    );
}

fn blmove(s: &mut Session) {
    s.expect(&["RPUSH", "{blmove}src", "1", "2", "3"], ":3");
    s.expect(
        &["BLMOVE", "{blmove}src", "{blmove}dst", "LEFT", "RIGHT", "1"],
        "$1",
    );
    // From one shard to the other, woken by the push.
    let (src, dst) = (key_on("blmove-src", 0), key_on("blmove-dst", 1));
    woken(
        s,
        &["RPUSH", &src, "across"],
        &["BLMOVE", &src, &dst, "LEFT", "RIGHT", "10"],
        "$across",
    );
    woken(
        s,
        &["LPUSH", "{blmove}empty", "w", "v"],
        &[
            "BLMOVE",
            "{blmove}empty",
            "{blmove}dst",
            "RIGHT",
            "LEFT",
            "10",
        ],
        "$w",
    );
}

fn brpoplpush(s: &mut Session) {
    s.expect(&["RPUSH", "{brpl}a", "1", "2"], ":2");
    s.expect(&["BRPOPLPUSH", "{brpl}a", "{brpl}b", "1"], "$2");
    woken(
        s,
        &["RPUSH", "{brpl}empty", "only"],
        &["BRPOPLPUSH", "{brpl}empty", "{brpl}b", "10"],
        "$only",
    );
}

fn blmpop(s: &mut Session) {
    s.expect(&["RPUSH", "{blmpop}b", "1", "2", "3"], ":3");
    s.expect(
        &[
            "BLMPOP",
            "1",
            "2",
            "{blmpop}a",
            "{blmpop}b",
            "RIGHT",
            "COUNT",
            "2",
        ],
        "[${blmpop}b, [$3, $2]]",
    );
    woken(
        s,
        &["RPUSH", "{blmpop}c", "x", "y", "z"],
        &["BLMPOP", "10", "1", "{blmpop}c", "LEFT", "COUNT", "2"],
        "[${blmpop}c, [$x, $y]]",
    );
}

fn bzpopmin(s: &mut Session) {
    s.expect(&["ZADD", "bzpopmin-ready", "1", "a", "2", "b"], ":2");
    s.expect(
        &["BZPOPMIN", "bzpopmin-ready", "1"],
        "[$bzpopmin-ready, $a, $1]",
    );
    woken(
        s,
        &["ZADD", "bzpopmin-woken", "5", "x", "3", "y"],
        &["BZPOPMIN", "bzpopmin-woken", "10"],
        "[$bzpopmin-woken, $y, $3]",
    );
}

fn bzpopmax(s: &mut Session) {
    s.expect(&["ZADD", "bzpopmax-ready", "1", "a", "2", "b"], ":2");
    s.expect(
        &["BZPOPMAX", "bzpopmax-ready", "1"],
        "[$bzpopmax-ready, $b, $2]",
    );
    // The last member popped deletes the key.
    woken(
        s,
        &["ZADD", "bzpopmax-woken", "7", "x"],
        &["BZPOPMAX", "bzpopmax-woken", "10"],
        "[$bzpopmax-woken, $x, $7]",
    );
}

fn bzmpop(s: &mut Session) {
    s.expect(&["ZADD", "{bzmpop}b", "1", "a", "2", "b", "3", "c"], ":3");
    s.expect(
        &[
            "BZMPOP",
            "1",
            "2",
            "{bzmpop}a",
            "{bzmpop}b",
            "MIN",
            "COUNT",
            "2",
        ],
        "[${bzmpop}b, [[$a, $1], [$b, $2]]]",
    );
    woken(
        s,
        &["ZADD", "{bzmpop}c", "1", "x", "2", "y"],
        &["BZMPOP", "10", "1", "{bzmpop}c", "MAX"],
        "[${bzmpop}c, [[$y, $2]]]",
    );
}
