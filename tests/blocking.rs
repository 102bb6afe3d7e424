//! Blocking list and sorted-set pops against the real server: timeouts, wake-ups from
//! connections on other cores, FIFO order among waiters, every command's reply shape,
//! errors, keys on several shards, MULTI, disconnected waiters, durability of served pops, shutdown.
//!
//! A test never guesses with sleeps whether a client is blocked yet: it waits until
//! CLIENT LIST shows the client with flag `b` (set once its pop has parked, or is on
//! its way to the owning shard, ahead of any later message from this test).

mod common;

use std::time::{Duration, Instant};

use common::{encode, keys_on_shard, RawCon, Server};

fn bulk(s: &str) -> String {
    format!("${}\r\n{}\r\n", s.len(), s)
}

fn arr(items: &[&str]) -> String {
    let mut s = format!("*{}\r\n", items.len());
    for i in items {
        s.push_str(&bulk(i));
    }
    s
}

fn int(n: i64) -> String {
    format!(":{n}\r\n")
}

const NIL_ARRAY: &str = "*-1\r\n";

fn client_id(c: &mut RawCon) -> u64 {
    c.call_line(&["CLIENT", "ID"])[1..].parse().unwrap()
}

/// A connection accepted by core `core` of a server with `shards` cores.
fn con_on(server: &Server, core: u64) -> (RawCon, u64) {
    for _ in 0..200 {
        let mut c = server.raw();
        let id = client_id(&mut c);
        if id % server.shards as u64 == core {
            return (c, id);
        }
    }
    panic!("no connection landed on core {core}");
}

/// The CLIENT LIST line of client `id`, if connected.
fn client_line(probe: &mut RawCon, id: u64) -> Option<String> {
    let reply = probe.call(&["CLIENT", "LIST"]);
    reply
        .lines()
        .find(|l| l.contains(&format!("id={id} ")))
        .map(str::to_string)
}

/// Waits until client `id` is blocked.
fn wait_blocked(probe: &mut RawCon, id: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if client_line(probe, id).is_some_and(|l| l.contains(" flags=b ")) {
            return;
        }
        assert!(Instant::now() < deadline, "client {id} never blocked");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits until client `id` is gone from CLIENT LIST (its connection fully closed).
fn wait_gone(probe: &mut RawCon, id: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while client_line(probe, id).is_some() {
        assert!(Instant::now() < deadline, "client {id} never went away");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Sends a blocking command on `c` (client `id`) and waits until it is blocked.
fn block(c: &mut RawCon, id: u64, probe: &mut RawCon, args: &[&str]) {
    c.send(&encode(args));
    wait_blocked(probe, id);
}

#[test]
fn timeout_returns_nil_after_the_timeout() {
    let server = Server::start();
    let mut c = server.raw();
    let start = Instant::now();
    assert_eq!(c.call(&["BLPOP", "nothing", "0.2"]), NIL_ARRAY);
    assert!(start.elapsed() >= Duration::from_millis(200));
    assert_eq!(c.call(&["BZPOPMIN", "nothing", "0.01"]), NIL_ARRAY);
    assert_eq!(
        c.call(&["BLMOVE", "nothing", "d", "LEFT", "RIGHT", "0.01"]),
        NIL_ARRAY
    );
    assert_eq!(c.call(&["BRPOPLPUSH", "nothing", "d", "0.01"]), NIL_ARRAY);
    assert_eq!(
        c.call(&["BLMPOP", "0.01", "1", "nothing", "LEFT"]),
        NIL_ARRAY
    );
    assert_eq!(
        c.call(&["BZMPOP", "0.01", "1", "nothing", "MAX"]),
        NIL_ARRAY
    );
    // The connection works on after a timeout; RESP3 says nil as `_`.
    c.call(&["HELLO", "3"]);
    assert_eq!(c.call(&["BRPOP", "nothing", "0.01"]), "_\r\n");
    assert_eq!(c.call(&["PING"]), "+PONG\r\n");
}

#[test]
fn pops_at_once_when_there_is_something() {
    let server = Server::start();
    let mut c = server.raw();
    c.call(&["RPUSH", "{k}b", "1", "2"]);
    // The first key in argument order that holds something.
    assert_eq!(c.call(&["BLPOP", "{k}a", "{k}b", "0"]), arr(&["{k}b", "1"]));
    c.call(&["RPUSH", "{k}a", "x"]);
    assert_eq!(c.call(&["BRPOP", "{k}a", "{k}b", "0"]), arr(&["{k}a", "x"]));
    assert_eq!(c.call(&["BRPOP", "{k}a", "{k}b", "0"]), arr(&["{k}b", "2"]));
    assert_eq!(c.call(&["EXISTS", "{k}a", "{k}b"]), int(0));
}

#[test]
fn push_from_another_core_wakes_the_waiter() {
    let server = Server::start_with(2, &[]);
    let (mut probe, _) = con_on(&server, 0);
    for waiter_core in 0..2u64 {
        let (mut waiter, wid) = con_on(&server, waiter_core);
        let (mut pusher, _) = con_on(&server, 1 - waiter_core);
        // Keys owned by either core: the waiter's and the pusher's.
        for key_shard in 0..2 {
            let key = &keys_on_shard(key_shard, 2, 1, &format!("wake{waiter_core}-"))[0];
            block(&mut waiter, wid, &mut probe, &["BLPOP", key, "0"]);
            assert_eq!(pusher.call(&["RPUSH", key, "hello"]), int(1));
            assert_eq!(waiter.read_reply(), arr(&[key, "hello"]));
            // Popped for the waiter: the list is gone.
            assert_eq!(pusher.call(&["EXISTS", key]), int(0));
        }
    }
}

#[test]
fn waiters_are_served_first_blocked_first() {
    let server = Server::start_with(2, &[]);
    let (mut probe, _) = con_on(&server, 0);
    let key = &keys_on_shard(1, 2, 1, "fifo-")[0];
    // Waiters on both cores, the key on core 1.
    let mut waiters: Vec<(RawCon, u64)> =
        vec![con_on(&server, 0), con_on(&server, 1), con_on(&server, 0)];
    for (c, id) in waiters.iter_mut() {
        block(c, *id, &mut probe, &["BRPOP", key, "0"]);
    }
    let mut pusher = server.raw();
    for (i, (c, _)) in waiters.iter_mut().enumerate() {
        let item = format!("item{i}");
        assert_eq!(pusher.call(&["LPUSH", key, &item]), int(1));
        assert_eq!(c.read_reply(), arr(&[key, &item]));
    }
}

#[test]
fn one_push_of_several_elements_serves_several_waiters() {
    let server = Server::start_with(2, &[]);
    let (mut probe, _) = con_on(&server, 0);
    let mut waiters: Vec<(RawCon, u64)> = (0..3)
        .map(|_| {
            let mut c = server.raw();
            let id = client_id(&mut c);
            (c, id)
        })
        .collect();
    for (c, id) in waiters.iter_mut() {
        block(c, *id, &mut probe, &["BLPOP", "multi", "0"]);
    }
    let mut pusher = server.raw();
    assert_eq!(pusher.call(&["RPUSH", "multi", "a", "b", "c", "d"]), int(4));
    for ((c, _), want) in waiters.iter_mut().zip(["a", "b", "c"]) {
        assert_eq!(c.read_reply(), arr(&["multi", want]));
    }
    // What nobody waited for stays.
    assert_eq!(pusher.call(&["LRANGE", "multi", "0", "-1"]), arr(&["d"]));
}

#[test]
fn brpop_and_multi_key_waits() {
    let server = Server::start();
    let (mut probe, _) = con_on(&server, 0);
    let mut c = server.raw();
    let id = client_id(&mut c);
    let mut pusher = server.raw();
    block(&mut c, id, &mut probe, &["BRPOP", "{m}a", "{m}b", "0"]);
    assert_eq!(pusher.call(&["RPUSH", "{m}b", "1", "2", "3"]), int(3));
    assert_eq!(c.read_reply(), arr(&["{m}b", "3"]));
    // Served once: no longer waiting on {m}a either.
    assert_eq!(pusher.call(&["RPUSH", "{m}a", "x"]), int(1));
    assert_eq!(pusher.call(&["LLEN", "{m}a"]), int(1));
    assert_eq!(
        pusher.call(&["LRANGE", "{m}b", "0", "-1"]),
        arr(&["1", "2"])
    );
}

#[test]
fn blmove_and_brpoplpush_push_to_the_destination() {
    let server = Server::start_with(2, &[]);
    let (mut probe, _) = con_on(&server, 0);
    let mut c = server.raw();
    let id = client_id(&mut c);
    let mut pusher = server.raw();
    block(
        &mut c,
        id,
        &mut probe,
        &["BLMOVE", "{mv}src", "{mv}dst", "RIGHT", "LEFT", "0"],
    );
    pusher.call(&["RPUSH", "{mv}dst", "old"]);
    assert_eq!(pusher.call(&["RPUSH", "{mv}src", "a", "b"]), int(2));
    assert_eq!(c.read_reply(), bulk("b"));
    assert_eq!(
        pusher.call(&["LRANGE", "{mv}dst", "0", "-1"]),
        arr(&["b", "old"])
    );
    assert_eq!(pusher.call(&["LRANGE", "{mv}src", "0", "-1"]), arr(&["a"]));
    pusher.call(&["DEL", "{mv}src"]);

    block(
        &mut c,
        id,
        &mut probe,
        &["BRPOPLPUSH", "{mv}src", "{mv}dst", "0"],
    );
    assert_eq!(pusher.call(&["LPUSH", "{mv}src", "x", "y"]), int(2));
    assert_eq!(c.read_reply(), bulk("x"));
    assert_eq!(
        pusher.call(&["LRANGE", "{mv}dst", "0", "-1"]),
        arr(&["x", "b", "old"])
    );

    // A client waiting on the destination is served by the move.
    let mut w2 = server.raw();
    let id2 = client_id(&mut w2);
    pusher.call(&["DEL", "{mv}src", "{mv}dst"]);
    block(
        &mut c,
        id,
        &mut probe,
        &["BLMOVE", "{mv}src", "{mv}dst", "LEFT", "RIGHT", "0"],
    );
    block(&mut w2, id2, &mut probe, &["BLPOP", "{mv}dst", "0"]);
    assert_eq!(pusher.call(&["RPUSH", "{mv}src", "z"]), int(1));
    assert_eq!(c.read_reply(), bulk("z"));
    assert_eq!(w2.read_reply(), arr(&["{mv}dst", "z"]));
    assert_eq!(pusher.call(&["EXISTS", "{mv}src", "{mv}dst"]), int(0));
}

#[test]
fn blmpop_with_count() {
    let server = Server::start();
    let (mut probe, _) = con_on(&server, 0);
    let mut c = server.raw();
    let id = client_id(&mut c);
    let mut pusher = server.raw();
    block(
        &mut c,
        id,
        &mut probe,
        &["BLMPOP", "0", "2", "{p}a", "{p}b", "RIGHT", "COUNT", "2"],
    );
    assert_eq!(pusher.call(&["RPUSH", "{p}b", "1", "2", "3"]), int(3));
    assert_eq!(
        c.read_reply(),
        format!("*2\r\n{}{}", bulk("{p}b"), arr(&["3", "2"]))
    );
    // With something there, at once; COUNT larger than the list takes it all.
    assert_eq!(
        c.call(&["BLMPOP", "1", "2", "{p}a", "{p}b", "LEFT", "COUNT", "10"]),
        format!("*2\r\n{}{}", bulk("{p}b"), arr(&["1"]))
    );
}

#[test]
fn sorted_set_pops() {
    let server = Server::start_with(2, &[]);
    let (mut probe, _) = con_on(&server, 0);
    let mut c = server.raw();
    let id = client_id(&mut c);
    let mut pusher = server.raw();

    block(&mut c, id, &mut probe, &["BZPOPMIN", "{z}a", "{z}b", "0"]);
    assert_eq!(
        pusher.call(&["ZADD", "{z}b", "2", "two", "1", "one"]),
        int(2)
    );
    assert_eq!(c.read_reply(), arr(&["{z}b", "one", "1"]));

    block(&mut c, id, &mut probe, &["BZPOPMAX", "{z}a", "0"]);
    assert_eq!(
        pusher.call(&["ZADD", "{z}a", "5", "five", "7", "seven"]),
        int(2)
    );
    assert_eq!(c.read_reply(), arr(&["{z}a", "seven", "7"]));

    pusher.call(&["DEL", "{z}a", "{z}b"]);
    block(
        &mut c,
        id,
        &mut probe,
        &["BZMPOP", "0", "2", "{z}a", "{z}b", "MIN", "COUNT", "2"],
    );
    assert_eq!(
        pusher.call(&["ZADD", "{z}b", "3", "c", "1", "a", "2", "b"]),
        int(3)
    );
    assert_eq!(
        c.read_reply(),
        "*2\r\n$4\r\n{z}b\r\n*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
    assert_eq!(pusher.call(&["ZRANGE", "{z}b", "0", "-1"]), arr(&["c"]));

    // RESP3: scores are doubles.
    c.call(&["HELLO", "3"]);
    assert_eq!(
        c.call(&["BZPOPMIN", "{z}b", "0"]),
        "*3\r\n$4\r\n{z}b\r\n$1\r\nc\r\n,3\r\n"
    );
    // A list pushed to a key a sorted-set waiter waits on does not wake it.
    block(&mut c, id, &mut probe, &["BZPOPMIN", "{z}q", "0.3"]);
    pusher.call(&["RPUSH", "{z}q", "x"]);
    assert_eq!(c.read_reply(), "_\r\n");
    assert_eq!(pusher.call(&["LLEN", "{z}q"]), int(1));
}

#[test]
fn timeout_zero_waits_until_woken() {
    let server = Server::start_with(2, &[]);
    let (mut probe, _) = con_on(&server, 0);
    let mut c = server.raw();
    let id = client_id(&mut c);
    block(&mut c, id, &mut probe, &["BLPOP", "forever", "0"]);
    // Still blocked after a while, then served.
    std::thread::sleep(Duration::from_millis(300));
    wait_blocked(&mut probe, id);
    let mut pusher = server.raw();
    pusher.call(&["RPUSH", "forever", "late"]);
    assert_eq!(c.read_reply(), arr(&["forever", "late"]));
    assert!(!client_line(&mut probe, id).unwrap().contains(" flags=b "));
}

#[test]
fn errors() {
    let server = Server::start();
    let mut c = server.raw();
    let neg = "-ERR timeout is negative\r\n";
    let nf = "-ERR timeout is not a float or out of range\r\n";
    assert_eq!(c.call(&["BLPOP", "l", "-1"]), neg);
    assert_eq!(c.call(&["BLPOP", "l", "-0.5"]), neg);
    assert_eq!(c.call(&["BLPOP", "l", "inf"]), neg);
    assert_eq!(c.call(&["BLPOP", "l", "abc"]), nf);
    assert_eq!(c.call(&["BLPOP", "l", "nan"]), nf);
    assert_eq!(c.call(&["BLPOP", "l", ""]), nf);
    assert_eq!(c.call(&["BRPOP", "l", " 1"]), nf);
    assert_eq!(c.call(&["BZPOPMAX", "l", "x"]), nf);
    assert_eq!(
        c.call(&["BLMOVE", "{e}a", "{e}b", "LEFT", "RIGHT", "-1"]),
        neg
    );
    assert_eq!(
        c.call(&["BLMOVE", "{e}a", "{e}b", "LEFT", "UP", "-1"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(c.call(&["BRPOPLPUSH", "{e}a", "{e}b", "x"]), nf);
    assert_eq!(c.call(&["BLMPOP", "-1", "1", "l", "LEFT"]), neg);
    assert_eq!(
        c.call(&["BLMPOP", "0", "0", "l", "LEFT"]),
        "-ERR numkeys should be greater than 0\r\n"
    );
    assert_eq!(
        c.call(&["BLMPOP", "abc", "1", "l", "FOO"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        c.call(&["BZMPOP", "0", "1", "z", "MIN", "COUNT", "0"]),
        "-ERR count should be greater than 0\r\n"
    );
    assert_eq!(
        c.call(&["BLPOP", "l"]),
        "-ERR wrong number of arguments for 'blpop' command\r\n"
    );
    let wrongtype = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    c.call(&["SET", "{t}s", "v"]);
    c.call(&["RPUSH", "{t}l", "x"]);
    assert_eq!(c.call(&["BLPOP", "{t}s", "0"]), wrongtype);
    assert_eq!(c.call(&["BLPOP", "{t}missing", "{t}s", "0"]), wrongtype);
    assert_eq!(c.call(&["BZPOPMIN", "{t}l", "0"]), wrongtype);
    assert_eq!(c.call(&["BZMPOP", "0", "1", "{t}s", "MIN"]), wrongtype);
    assert_eq!(
        c.call(&["BLMOVE", "{t}l", "{t}s", "LEFT", "LEFT", "0"]),
        wrongtype
    );
    assert_eq!(c.call(&["LLEN", "{t}l"]), int(1));
    // The connection is usable afterwards.
    assert_eq!(c.call(&["PING"]), "+PONG\r\n");
}

#[test]
fn keys_on_different_shards_block_and_wake() {
    let server = Server::start_with(2, &[]);
    let a = &keys_on_shard(0, 2, 1, "cs-a")[0];
    let b = &keys_on_shard(1, 2, 1, "cs-b")[0];
    let mut probe = server.raw();
    for core in 0..2 {
        let (mut c, id) = con_on(&server, core);
        // Nothing on either shard: nil after the timeout.
        let start = Instant::now();
        assert_eq!(c.call(&["BLPOP", a, b, "0.2"]), NIL_ARRAY);
        assert!(start.elapsed() >= Duration::from_millis(200));
        // Something already there: served at once.
        probe.call(&["RPUSH", b, "ready"]);
        assert_eq!(c.call(&["BLPOP", a, b, "0"]), arr(&[b, "ready"]));
        // A push on either shard wakes the pop.
        for (key, value) in [(a, "x"), (b, "y")] {
            block(&mut c, id, &mut probe, &["BLPOP", a, b, "0"]);
            probe.call(&["RPUSH", key, value]);
            assert_eq!(c.read_reply(), arr(&[key, value]));
        }
        assert_eq!(probe.call(&["EXISTS", a, b]), int(0));
        // BLMOVE from one shard to the other, woken by the push.
        block(
            &mut c,
            id,
            &mut probe,
            &["BLMOVE", a, b, "LEFT", "RIGHT", "0"],
        );
        probe.call(&["RPUSH", a, "moved"]);
        assert_eq!(c.read_reply(), bulk("moved"));
        assert_eq!(probe.call(&["LRANGE", b, "0", "-1"]), arr(&["moved"]));
        assert_eq!(probe.call(&["EXISTS", a]), int(0));
        probe.call(&["DEL", b]);
        // Sorted sets, and a key of the wrong type.
        block(&mut c, id, &mut probe, &["BZMPOP", "0", "2", a, b, "MIN"]);
        probe.call(&["ZADD", b, "1", "m"]);
        assert_eq!(
            c.read_reply(),
            format!("*2\r\n{}*1\r\n*2\r\n{}{}", bulk(b), bulk("m"), bulk("1"))
        );
        probe.call(&["SET", a, "string"]);
        assert!(c.call(&["BLPOP", a, b, "0"]).starts_with("-WRONGTYPE"));
        probe.call(&["DEL", a]);
    }
    // A waiter that went away takes nothing with it.
    let (mut c, id) = con_on(&server, 1);
    block(&mut c, id, &mut probe, &["BLPOP", a, b, "0"]);
    drop(c);
    wait_gone(&mut probe, id);
    probe.call(&["RPUSH", a, "kept"]);
    assert_eq!(probe.call(&["LRANGE", a, "0", "-1"]), arr(&["kept"]));
    // The non-blocking forms work across shards too.
    assert_eq!(
        probe.call(&["LMPOP", "2", b, a, "LEFT"]),
        format!("*2\r\n{}{}", bulk(a), arr(&["kept"]))
    );
}

#[test]
fn inside_multi_nothing_blocks() {
    let server = Server::start_with(2, &[]);
    let mut c = server.raw();
    c.call(&["RPUSH", "{x}full", "1"]);
    assert_eq!(c.call(&["MULTI"]), "+OK\r\n");
    for cmd in [
        &["BLPOP", "{x}empty", "0"][..],
        &["BLMOVE", "{x}empty", "{x}d", "LEFT", "RIGHT", "0"],
        &["BRPOPLPUSH", "{x}empty", "{x}d", "0"],
        &["BLMPOP", "0", "1", "{x}empty", "LEFT"],
        &["BZPOPMIN", "{x}empty", "0"],
        &["BZMPOP", "0", "1", "{x}empty", "MAX"],
        &["BRPOP", "{x}full", "0"],
    ] {
        assert_eq!(c.call(cmd), "+QUEUED\r\n");
    }
    assert_eq!(
        c.call(&["EXEC"]),
        format!(
            "*7\r\n*-1\r\n$-1\r\n$-1\r\n*-1\r\n*-1\r\n*-1\r\n{}",
            arr(&["{x}full", "1"])
        )
    );
}

#[test]
fn a_transaction_is_not_split_by_a_waiter() {
    let server = Server::start();
    let (mut probe, _) = con_on(&server, 0);
    let mut w = server.raw();
    let id = client_id(&mut w);
    let mut c = server.raw();
    block(&mut w, id, &mut probe, &["BLPOP", "txn", "0"]);
    c.call(&["MULTI"]);
    c.call(&["RPUSH", "txn", "a"]);
    c.call(&["LPOP", "txn"]);
    c.call(&["RPUSH", "txn", "b"]);
    assert_eq!(
        c.call(&["EXEC"]),
        format!("*3\r\n{}{}{}", int(1), bulk("a"), int(1))
    );
    // Served after the transaction, with what it left.
    assert_eq!(w.read_reply(), arr(&["txn", "b"]));
}

#[test]
fn a_disconnected_waiter_does_not_swallow_the_next_push() {
    let server = Server::start_with(2, &[]);
    let (mut probe, _) = con_on(&server, 0);
    for waiter_core in 0..2 {
        let key = &keys_on_shard(1, 2, 1, &format!("gone{waiter_core}-"))[0];
        let (mut w, id) = con_on(&server, waiter_core);
        block(&mut w, id, &mut probe, &["BLPOP", key, "0"]);
        drop(w);
        wait_gone(&mut probe, id);
        let mut pusher = server.raw();
        assert_eq!(pusher.call(&["RPUSH", key, "kept"]), int(1));
        assert_eq!(pusher.call(&["LRANGE", key, "0", "-1"]), arr(&["kept"]));
    }
}

#[test]
fn commands_pipelined_behind_a_blocked_one_wait_for_it() {
    let server = Server::start();
    let (mut probe, _) = con_on(&server, 0);
    let mut c = server.raw();
    let id = client_id(&mut c);
    let mut req = encode(&["PING"]);
    req.extend(encode(&["BLPOP", "pipe", "0"]));
    req.extend(encode(&["LLEN", "pipe"]));
    c.send(&req);
    // The reply before the blocked command is not held back.
    assert_eq!(c.read_reply(), "+PONG\r\n");
    wait_blocked(&mut probe, id);
    let mut pusher = server.raw();
    pusher.call(&["RPUSH", "pipe", "a", "b"]);
    assert_eq!(c.read_reply(), arr(&["pipe", "a"]));
    assert_eq!(c.read_reply(), int(1));
}

#[test]
fn a_served_pop_survives_a_restart() {
    let server = Server::start_with(2, &[]);
    let (mut probe, _) = con_on(&server, 0);
    let key = &keys_on_shard(1, 2, 1, "dur-")[0];
    let (mut w, id) = con_on(&server, 0);
    block(&mut w, id, &mut probe, &["BLPOP", key, "0"]);
    let (mut z, zid) = con_on(&server, 1);
    block(&mut z, zid, &mut probe, &["BZPOPMAX", "dur-z", "0"]);
    let mut pusher = server.raw();
    assert_eq!(pusher.call(&["RPUSH", key, "a", "b", "c"]), int(3));
    assert_eq!(w.read_reply(), arr(&[key, "a"]));
    assert_eq!(pusher.call(&["ZADD", "dur-z", "1", "x", "2", "y"]), int(2));
    assert_eq!(z.read_reply(), arr(&["dur-z", "y", "2"]));
    drop((w, z, pusher, probe));
    let server = server.restart();
    let mut c = server.raw();
    assert_eq!(c.call(&["LRANGE", key, "0", "-1"]), arr(&["b", "c"]));
    assert_eq!(c.call(&["ZRANGE", "dur-z", "0", "-1"]), arr(&["x"]));
}

#[test]
fn shutdown_is_not_held_up_by_blocked_clients() {
    let mut server = Server::start_with(2, &[]);
    let (mut probe, _) = con_on(&server, 0);
    let mut waiters = Vec::new();
    for i in 0..4 {
        let mut c = server.raw();
        let id = client_id(&mut c);
        block(&mut c, id, &mut probe, &["BLPOP", &format!("sd{i}"), "0"]);
        waiters.push(c);
    }
    probe.send(&encode(&["SHUTDOWN", "NOSAVE"]));
    assert!(server.wait_exit().success());
    for mut c in waiters {
        assert!(c.closed());
    }
}
