//! Publish/subscribe against the real server: delivery between connections on the same
//! and on different cores, patterns, shard channels, subscription counts, the UNSUBSCRIBE
//! forms, the RESP2 subscribed context, RESP3 pushes among replies, PUBSUB introspection
//! over every core, clean-up on disconnect and RESET, and slow subscribers.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::{encode, RawCon, Server};

/// A connection accepted by core `core` (client ids are `seq * shards + core`).
fn on_core(server: &Server, core: usize) -> RawCon {
    for _ in 0..1000 {
        let mut c = server.raw();
        let id: usize = c.call(&["CLIENT", "ID"])[1..].trim_end().parse().unwrap();
        if id % server.shards == core {
            return c;
        }
    }
    panic!("no connection landed on core {core}");
}

/// A frame of bulk strings with header `kind` (`*` or `>`), then a trailing integer if
/// `count` is given (the shape of subscription confirmations).
fn frame(kind: char, parts: &[&str], count: Option<i64>) -> String {
    let n = parts.len() + count.is_some() as usize;
    let mut s = format!("{kind}{n}\r\n");
    for p in parts {
        s.push_str(&format!("${}\r\n{}\r\n", p.len(), p));
    }
    if let Some(c) = count {
        s.push_str(&format!(":{c}\r\n"));
    }
    s
}

fn message(ch: &str, payload: &str) -> String {
    frame('*', &["message", ch, payload], None)
}

fn pmessage(pattern: &str, ch: &str, payload: &str) -> String {
    frame('*', &["pmessage", pattern, ch, payload], None)
}

fn confirm(word: &str, name: &str, count: i64) -> String {
    frame('*', &[word, name], Some(count))
}

/// Reads `n` replies.
fn replies(c: &mut RawCon, n: usize) -> Vec<String> {
    (0..n).map(|_| c.read_reply()).collect()
}

/// Sends one command and reads its `n` reply frames, joined.
fn call_n(c: &mut RawCon, args: &[&str], n: usize) -> String {
    c.send(&encode(args));
    replies(c, n).concat()
}

/// Polls `f` until it returns true; gives up (failing) after a generous minute, so that a
/// broken server fails the test instead of hanging it.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !f() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn messages_reach_subscribers_on_every_core() {
    let server = Server::start();
    for sub_core in 0..2 {
        for pub_core in 0..2 {
            let mut sub = on_core(&server, sub_core);
            let mut publisher = on_core(&server, pub_core);
            let ch = format!("ch-{sub_core}-{pub_core}");
            assert_eq!(sub.call(&["SUBSCRIBE", &ch]), confirm("subscribe", &ch, 1));
            assert_eq!(publisher.call(&["PUBLISH", &ch, "hello"]), ":1\r\n");
            sub.expect(&message(&ch, "hello"));
            // Binary-safe payloads, empty ones, and order kept.
            assert_eq!(publisher.call(&["PUBLISH", &ch, ""]), ":1\r\n");
            assert_eq!(publisher.call(&["PUBLISH", &ch, "a\r\nb"]), ":1\r\n");
            sub.expect(&message(&ch, ""));
            sub.expect(&message(&ch, "a\r\nb"));
            assert_eq!(publisher.call(&["PUBLISH", "nobody", "x"]), ":0\r\n");
        }
    }
}

#[test]
fn publish_counts_receivers_over_all_cores() {
    let server = Server::start();
    let mut subs: Vec<RawCon> = (0..4).map(|i| on_core(&server, i % 2)).collect();
    for s in &mut subs {
        assert_eq!(
            s.call(&["SUBSCRIBE", "news"]),
            confirm("subscribe", "news", 1)
        );
    }
    let mut pattern_sub = on_core(&server, 1);
    assert_eq!(
        pattern_sub.call(&["PSUBSCRIBE", "n*"]),
        confirm("psubscribe", "n*", 1)
    );
    let mut publisher = on_core(&server, 0);
    assert_eq!(publisher.call(&["PUBLISH", "news", "m1"]), ":5\r\n");
    for s in &mut subs {
        s.expect(&message("news", "m1"));
    }
    pattern_sub.expect(&pmessage("n*", "news", "m1"));
}

#[test]
fn patterns_and_channels_on_one_connection() {
    let server = Server::start();
    let mut sub = on_core(&server, 0);
    let mut publisher = on_core(&server, 1);
    assert_eq!(
        call_n(&mut sub, &["PSUBSCRIBE", "news.*", "h?llo"], 2),
        confirm("psubscribe", "news.*", 1) + &confirm("psubscribe", "h?llo", 2)
    );
    assert_eq!(
        sub.call(&["SUBSCRIBE", "news.a"]),
        confirm("subscribe", "news.a", 3)
    );
    // Subscribed to the channel and a matching pattern: it receives (and counts) twice,
    // the channel's message first.
    assert_eq!(publisher.call(&["PUBLISH", "news.a", "1"]), ":2\r\n");
    sub.expect(&message("news.a", "1"));
    sub.expect(&pmessage("news.*", "news.a", "1"));
    assert_eq!(publisher.call(&["PUBLISH", "news.b", "2"]), ":1\r\n");
    sub.expect(&pmessage("news.*", "news.b", "2"));
    assert_eq!(publisher.call(&["PUBLISH", "hallo", "3"]), ":1\r\n");
    sub.expect(&pmessage("h?llo", "hallo", "3"));
    assert_eq!(publisher.call(&["PUBLISH", "other", "4"]), ":0\r\n");
    assert_eq!(
        sub.call(&["PUNSUBSCRIBE", "news.*"]),
        confirm("punsubscribe", "news.*", 2)
    );
    assert_eq!(publisher.call(&["PUBLISH", "news.b", "5"]), ":0\r\n");
    assert_eq!(publisher.call(&["PUBLISH", "news.a", "6"]), ":1\r\n");
    sub.expect(&message("news.a", "6"));
}

#[test]
fn subscription_counts_and_unsubscribe_forms() {
    let server = Server::start();
    let mut c = server.raw();
    assert_eq!(
        call_n(&mut c, &["SUBSCRIBE", "a", "b"], 2),
        confirm("subscribe", "a", 1) + &confirm("subscribe", "b", 2)
    );
    // Subscribing twice changes nothing; patterns add to the same count.
    assert_eq!(c.call(&["SUBSCRIBE", "a"]), confirm("subscribe", "a", 2));
    assert_eq!(
        c.call(&["PSUBSCRIBE", "p*"]),
        confirm("psubscribe", "p*", 3)
    );
    assert_eq!(
        c.call(&["UNSUBSCRIBE", "zz"]),
        confirm("unsubscribe", "zz", 3)
    );
    // Without arguments: every channel, one frame each, the count going down.
    c.send(&encode(&["UNSUBSCRIBE"]));
    let frames = replies(&mut c, 2);
    let names: BTreeSet<String> = frames
        .iter()
        .map(|f| f.split("\r\n").nth(4).unwrap().to_string())
        .collect();
    assert_eq!(names, ["a", "b"].map(String::from).into());
    assert!(frames[0].ends_with(":2\r\n") && frames[1].ends_with(":1\r\n"));
    // No channel left: one frame with a nil channel and the remaining count.
    assert_eq!(
        c.call(&["UNSUBSCRIBE"]),
        "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:1\r\n"
    );
    assert_eq!(c.call(&["PUNSUBSCRIBE"]), confirm("punsubscribe", "p*", 0));
    assert_eq!(
        c.call(&["PUNSUBSCRIBE"]),
        "*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n"
    );
    // Out of the subscribed context again.
    assert_eq!(c.call(&["PING"]), "+PONG\r\n");
    assert_eq!(c.call(&["SUBSCRIBE"]), common::arity_err("subscribe"));
    assert_eq!(c.call(&["PUBLISH", "a"]), common::arity_err("publish"));
}

#[test]
fn resp2_subscribed_context_allows_only_some_commands() {
    let server = Server::start();
    let mut c = server.raw();
    assert_eq!(c.call(&["SUBSCRIBE", "a"]), confirm("subscribe", "a", 1));
    let refused = |cmd: &str| {
        format!("-ERR Can't execute '{cmd}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n")
    };
    assert_eq!(c.call(&["GET", "x"]), refused("get"));
    assert_eq!(c.call(&["set", "x", "1"]), refused("set"));
    assert_eq!(c.call(&["PUBLISH", "a", "x"]), refused("publish"));
    assert_eq!(c.call(&["CLIENT", "ID"]), refused("client|id"));
    assert_eq!(c.call(&["PUBSUB", "NUMPAT"]), refused("pubsub|numpat"));
    // Arity is checked first, as in Redis; unknown commands are unknown.
    assert_eq!(c.call(&["GET"]), common::arity_err("get"));
    assert!(c
        .call(&["NOSUCH"])
        .starts_with("-ERR unknown command 'NOSUCH'"));
    assert_eq!(c.call(&["PING"]), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    assert_eq!(c.call(&["PING", "hi"]), "*2\r\n$4\r\npong\r\n$2\r\nhi\r\n");
    // Still subscribed with only a pattern or a shard channel.
    assert_eq!(c.call(&["SSUBSCRIBE", "s"]), confirm("ssubscribe", "s", 1));
    assert_eq!(
        c.call(&["UNSUBSCRIBE", "a"]),
        confirm("unsubscribe", "a", 0)
    );
    assert_eq!(c.call(&["GET", "x"]), refused("get"));
    // RESET leaves the context and drops every subscription.
    assert_eq!(
        c.call(&["PSUBSCRIBE", "p*"]),
        confirm("psubscribe", "p*", 1)
    );
    assert_eq!(c.call(&["RESET"]), "+RESET\r\n");
    assert_eq!(c.call(&["GET", "x"]), "$-1\r\n");
    assert_eq!(c.call(&["PUBLISH", "pp", "x"]), ":0\r\n");
    assert_eq!(c.call(&["SPUBLISH", "s", "x"]), ":0\r\n");
    assert_eq!(c.call(&["PUBSUB", "NUMPAT"]), ":0\r\n");
    // QUIT is allowed and closes.
    assert_eq!(c.call(&["SUBSCRIBE", "a"]), confirm("subscribe", "a", 1));
    assert_eq!(c.call(&["QUIT"]), "+OK\r\n");
    assert!(c.closed());
}

#[test]
fn resp3_pushes_interleave_with_replies() {
    let server = Server::start();
    let mut sub = on_core(&server, 0);
    let mut publisher = on_core(&server, 1);
    assert!(sub.call(&["HELLO", "3"]).starts_with("%7\r\n"));
    assert_eq!(
        sub.call(&["SUBSCRIBE", "ch"]),
        frame('>', &["subscribe", "ch"], Some(1))
    );
    // Any command works while subscribed.
    assert_eq!(sub.call(&["SET", "k", "v"]), "+OK\r\n");
    assert_eq!(sub.call(&["PING"]), "+PONG\r\n");
    let push = |p: &str| frame('>', &["message", "ch", p], None);
    assert_eq!(publisher.call(&["PUBLISH", "ch", "one"]), ":1\r\n");
    // The push was sent before GET's reply was asked for; each arrives whole.
    sub.send(&encode(&["GET", "k"]));
    assert_eq!(
        replies(&mut sub, 2),
        vec![push("one"), "$1\r\nv\r\n".into()]
    );
    // Pushes arriving while a pipeline runs land between replies, never inside one.
    let mut pipeline = Vec::new();
    for _ in 0..200 {
        pipeline.extend(encode(&["GET", "k"]));
    }
    sub.send(&pipeline);
    for i in 0..20 {
        assert_eq!(publisher.call(&["PUBLISH", "ch", &i.to_string()]), ":1\r\n");
    }
    let (mut gets, mut pushes) = (0, Vec::new());
    while gets < 200 || pushes.len() < 20 {
        let r = sub.read_reply();
        if r == "$1\r\nv\r\n" {
            gets += 1;
        } else {
            pushes.push(r);
        }
    }
    let want: Vec<String> = (0..20).map(|i| push(&i.to_string())).collect();
    assert_eq!(pushes, want);
    // Its own message comes before PUBLISH's reply, patterns too.
    assert_eq!(
        sub.call(&["PSUBSCRIBE", "c*"]),
        frame('>', &["psubscribe", "c*"], Some(2))
    );
    sub.send(&encode(&["PUBLISH", "ch", "self"]));
    assert_eq!(
        replies(&mut sub, 3),
        vec![
            push("self"),
            frame('>', &["pmessage", "c*", "ch", "self"], None),
            ":2\r\n".into()
        ]
    );
    assert_eq!(
        sub.call(&["UNSUBSCRIBE"]),
        frame('>', &["unsubscribe", "ch"], Some(1))
    );
    assert_eq!(
        sub.call(&["UNSUBSCRIBE"]),
        ">3\r\n$11\r\nunsubscribe\r\n_\r\n:1\r\n"
    );
}

#[test]
fn pubsub_introspection_over_all_cores() {
    let server = Server::start();
    let mut a = on_core(&server, 0);
    let mut b = on_core(&server, 1);
    let mut q = on_core(&server, 1);
    call_n(&mut a, &["SUBSCRIBE", "c1", "shared"], 2);
    call_n(&mut a, &["SUBSCRIBE", "c1", "shared"], 2);
    call_n(&mut b, &["SUBSCRIBE", "c2", "shared"], 2);
    a.call(&["PSUBSCRIBE", "p*"]);
    call_n(&mut b, &["PSUBSCRIBE", "p*", "q*"], 2);
    a.call(&["SSUBSCRIBE", "s1"]);
    call_n(&mut b, &["SSUBSCRIBE", "s1", "s2"], 2);
    let bulks = |names: &[&str]| {
        let mut s = format!("*{}\r\n", names.len());
        for n in names {
            s.push_str(&format!("${}\r\n{n}\r\n", n.len()));
        }
        s
    };
    assert_eq!(
        q.call(&["PUBSUB", "CHANNELS"]),
        bulks(&["c1", "c2", "shared"])
    );
    assert_eq!(q.call(&["PUBSUB", "channels", "c*"]), bulks(&["c1", "c2"]));
    assert_eq!(q.call(&["PUBSUB", "CHANNELS", "zz*"]), "*0\r\n");
    assert_eq!(
        q.call(&["PUBSUB", "NUMSUB", "shared", "c1", "nope", "p*"]),
        "*8\r\n$6\r\nshared\r\n:2\r\n$2\r\nc1\r\n:1\r\n$4\r\nnope\r\n:0\r\n$2\r\np*\r\n:0\r\n"
    );
    assert_eq!(q.call(&["PUBSUB", "NUMSUB"]), "*0\r\n");
    // One pattern on two cores is one pattern.
    assert_eq!(q.call(&["PUBSUB", "NUMPAT"]), ":2\r\n");
    assert_eq!(q.call(&["PUBSUB", "SHARDCHANNELS"]), bulks(&["s1", "s2"]));
    assert_eq!(q.call(&["PUBSUB", "SHARDCHANNELS", "*2"]), bulks(&["s2"]));
    assert_eq!(
        q.call(&["PUBSUB", "SHARDNUMSUB", "s1", "c1"]),
        "*4\r\n$2\r\ns1\r\n:2\r\n$2\r\nc1\r\n:0\r\n"
    );
    // Subscribers show in CLIENT LIST.
    let list = q.call(&["CLIENT", "LIST"]);
    assert!(list.contains("flags=P db=0 sub=2 psub=1 ssub=1"), "{list}");
    assert!(list.contains("flags=P db=0 sub=2 psub=2 ssub=2"), "{list}");
    assert!(list.contains("flags=N db=0 sub=0 psub=0 ssub=0"), "{list}");
    // Errors.
    assert_eq!(
        q.call(&["PUBSUB", "FOO"]),
        "-ERR unknown subcommand 'FOO'. Try PUBSUB HELP.\r\n"
    );
    assert_eq!(
        q.call(&["PUBSUB", "NUMPAT", "x"]),
        "-ERR wrong number of arguments for 'pubsub|numpat' command\r\n"
    );
    assert_eq!(
        q.call(&["PUBSUB", "CHANNELS", "a", "b"]),
        "-ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.\r\n"
    );
    assert_eq!(q.call(&["PUBSUB"]), common::arity_err("pubsub"));
    assert!(q
        .call(&["PUBSUB", "HELP"])
        .starts_with("*14\r\n+PUBSUB <subcommand>"));
    let info = q.call(&["COMMAND", "INFO", "subscribe", "spublish"]);
    assert!(
        info.contains("+pubsub\r\n+noscript\r\n+loading\r\n+stale\r\n"),
        "{info}"
    );
    assert!(
        info.contains("+pubsub\r\n+loading\r\n+stale\r\n+fast\r\n"),
        "{info}"
    );
}

#[test]
fn shard_channels_are_their_own_namespace() {
    let server = Server::start();
    let mut sub = on_core(&server, 1);
    let mut publisher = on_core(&server, 0);
    assert_eq!(sub.call(&["SUBSCRIBE", "x"]), confirm("subscribe", "x", 1));
    // Shard channels are counted on their own.
    assert_eq!(
        call_n(&mut sub, &["SSUBSCRIBE", "x", "y"], 2),
        confirm("ssubscribe", "x", 1) + &confirm("ssubscribe", "y", 2)
    );
    assert_eq!(publisher.call(&["SPUBLISH", "x", "s"]), ":1\r\n");
    sub.expect(&frame('*', &["smessage", "x", "s"], None));
    assert_eq!(publisher.call(&["PUBLISH", "x", "p"]), ":1\r\n");
    sub.expect(&message("x", "p"));
    assert_eq!(publisher.call(&["SPUBLISH", "z", "s"]), ":0\r\n");
    // Patterns do not see shard messages.
    assert_eq!(
        sub.call(&["PSUBSCRIBE", "*"]),
        confirm("psubscribe", "*", 2)
    );
    assert_eq!(publisher.call(&["SPUBLISH", "y", "s2"]), ":1\r\n");
    sub.expect(&frame('*', &["smessage", "y", "s2"], None));
    assert_eq!(
        sub.call(&["SUNSUBSCRIBE", "y"]),
        confirm("sunsubscribe", "y", 1)
    );
    assert_eq!(sub.call(&["SUNSUBSCRIBE"]), confirm("sunsubscribe", "x", 0));
    assert_eq!(
        sub.call(&["SUNSUBSCRIBE"]),
        "*3\r\n$12\r\nsunsubscribe\r\n$-1\r\n:0\r\n"
    );
}

fn numsub(c: &mut RawCon, ch: &str) -> String {
    c.call(&["PUBSUB", "NUMSUB", ch])
}

#[test]
fn disconnect_unsubscribes_everything() {
    let server = Server::start();
    let mut q = on_core(&server, 0);
    let mut subs: Vec<RawCon> = (0..4).map(|i| on_core(&server, i % 2)).collect();
    for s in &mut subs {
        s.call(&["SUBSCRIBE", "gone"]);
        s.call(&["PSUBSCRIBE", "g*"]);
        s.call(&["SSUBSCRIBE", "sgone"]);
    }
    assert_eq!(numsub(&mut q, "gone"), "*2\r\n$4\r\ngone\r\n:4\r\n");
    assert_eq!(q.call(&["PUBLISH", "gone", "x"]), ":8\r\n");
    drop(subs);
    eventually("subscribers of closed connections are gone", || {
        numsub(&mut q, "gone") == "*2\r\n$4\r\ngone\r\n:0\r\n"
    });
    eventually("pattern subscriptions are gone", || {
        q.call(&["PUBSUB", "NUMPAT"]) == ":0\r\n"
    });
    assert_eq!(q.call(&["PUBSUB", "CHANNELS"]), "*0\r\n");
    assert_eq!(q.call(&["PUBSUB", "SHARDCHANNELS"]), "*0\r\n");
    assert_eq!(q.call(&["PUBLISH", "gone", "x"]), ":0\r\n");
}

#[test]
fn subscriber_that_stops_reading_is_disconnected() {
    let server = Server::start();
    let mut slow = on_core(&server, 1);
    assert_eq!(
        slow.call(&["SUBSCRIBE", "flood"]),
        confirm("subscribe", "flood", 1)
    );
    let mut healthy = on_core(&server, 0);
    assert_eq!(
        healthy.call(&["SUBSCRIBE", "other"]),
        confirm("subscribe", "other", 1)
    );
    let mut publisher = on_core(&server, 0);
    let payload = "x".repeat(1 << 20);
    // The slow subscriber reads nothing: once the socket buffers are full, its queue
    // grows to the 32 MiB limit and it is cut off (then PUBLISH finds no receiver).
    let mut cut_off = false;
    for _ in 0..1000 {
        if publisher.call(&["PUBLISH", "flood", &payload]) == ":0\r\n" {
            cut_off = true;
            break;
        }
    }
    assert!(cut_off, "the slow subscriber was never disconnected");
    assert_eq!(
        numsub(&mut publisher, "flood"),
        "*2\r\n$5\r\nflood\r\n:0\r\n"
    );
    // Its connection ends (after whatever the kernel had buffered).
    slow.s
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match std::io::Read::read(&mut slow.s, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    // Everyone else is fine.
    assert_eq!(
        publisher.call(&["PUBLISH", "other", "still here"]),
        ":1\r\n"
    );
    healthy.expect(&message("other", "still here"));
    assert_eq!(publisher.call(&["PING"]), "+PONG\r\n");
}

#[test]
fn redis_crate_pubsub_api() {
    let server = Server::start();
    let mut con = server.con();
    let mut publisher = server.con();
    let mut pubsub = con.as_pubsub();
    pubsub
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    pubsub.subscribe(&["alpha", "beta"]).unwrap();
    pubsub.psubscribe("gam*").unwrap();
    let n: i64 = redis::cmd("PUBLISH")
        .arg("alpha")
        .arg("first")
        .query(&mut publisher)
        .unwrap();
    assert_eq!(n, 1);
    let msg = pubsub.get_message().unwrap();
    assert_eq!(msg.get_channel_name(), "alpha");
    assert_eq!(msg.get_payload::<String>().unwrap(), "first");
    assert!(!msg.from_pattern());
    let n: i64 = redis::cmd("PUBLISH")
        .arg("gamma")
        .arg("second")
        .query(&mut publisher)
        .unwrap();
    assert_eq!(n, 1);
    let msg = pubsub.get_message().unwrap();
    assert_eq!(msg.get_channel_name(), "gamma");
    assert_eq!(msg.get_pattern::<String>().unwrap(), "gam*");
    assert_eq!(msg.get_payload::<String>().unwrap(), "second");
    pubsub.unsubscribe("alpha").unwrap();
    let n: i64 = redis::cmd("PUBLISH")
        .arg("alpha")
        .arg("x")
        .query(&mut publisher)
        .unwrap();
    assert_eq!(n, 0);
    drop(pubsub);
    // Leaving pub/sub mode unsubscribes from everything; the connection works again.
    let v: Option<String> = redis::cmd("GET").arg("nokey").query(&mut con).unwrap();
    assert_eq!(v, None);
    let n: i64 = redis::cmd("PUBLISH")
        .arg("beta")
        .arg("x")
        .query(&mut publisher)
        .unwrap();
    assert_eq!(n, 0);
}
