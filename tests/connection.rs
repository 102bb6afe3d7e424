//! Connection commands against the real server: PING, ECHO, AUTH, HELLO, SELECT, QUIT,
//! RESET, CLIENT, and the unknown-command error. Exact replies are checked on raw sockets.

mod common;

use std::collections::HashSet;

use common::{arity_err, keys_on_shard, RawCon, Server};

/// Sends one command and returns its whole reply as text.
fn call(r: &mut RawCon, args: &[&str]) -> String {
    r.call(args)
}

fn client_id(con: &mut redis::Connection) -> i64 {
    redis::cmd("CLIENT").arg("ID").query(con).unwrap()
}

#[test]
fn ping_and_echo() {
    let server = Server::start();
    let mut r = server.raw();
    assert_eq!(call(&mut r, &["PING"]), "+PONG\r\n");
    assert_eq!(
        call(&mut r, &["ping", "hello world"]),
        "$11\r\nhello world\r\n"
    );
    assert_eq!(call(&mut r, &["PING", "a", "b"]), arity_err("ping"));
    assert_eq!(call(&mut r, &["ECHO", "x y"]), "$3\r\nx y\r\n");
    assert_eq!(call(&mut r, &["ECHO", ""]), "$0\r\n\r\n");
    assert_eq!(call(&mut r, &["ECHO"]), arity_err("echo"));
    assert_eq!(call(&mut r, &["ECHO", "a", "b"]), arity_err("echo"));
    // Inline commands work too.
    r.send(b"PING\r\n");
    assert_eq!(r.read_reply(), "+PONG\r\n");
    // RESP3 changes neither reply.
    assert!(call(&mut r, &["HELLO", "3"]).starts_with("%7\r\n"));
    assert_eq!(call(&mut r, &["PING"]), "+PONG\r\n");
    assert_eq!(call(&mut r, &["PING", "m"]), "$1\r\nm\r\n");
}

#[test]
fn unknown_command_error_text() {
    let server = Server::start();
    let mut r = server.raw();
    assert_eq!(
        call(&mut r, &["foo", "a", "b"]),
        "-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n"
    );
    assert_eq!(
        call(&mut r, &["FOO"]),
        "-ERR unknown command 'FOO', with args beginning with: \r\n"
    );
    // The arguments are quoted while their text stays under 128 bytes; the last one is cut
    // to what is left of that budget.
    let x100 = "x".repeat(100);
    let expected = format!(
        "-ERR unknown command 'nope', with args beginning with: '{}' '{}' \r\n",
        x100,
        "x".repeat(128 - 103)
    );
    assert_eq!(call(&mut r, &["nope", &x100, &x100, &x100]), expected);
    // The name is cut at 128 bytes.
    let long = "n".repeat(300);
    assert_eq!(
        call(&mut r, &[&long]),
        format!(
            "-ERR unknown command '{}', with args beginning with: \r\n",
            "n".repeat(128)
        )
    );
    // Newlines in arguments cannot break the reply line.
    assert_eq!(
        call(&mut r, &["foo", "a\r\nb"]),
        "-ERR unknown command 'foo', with args beginning with: 'a  b' \r\n"
    );
    // The connection is still usable.
    assert_eq!(call(&mut r, &["PING"]), "+PONG\r\n");
}

#[test]
fn select_range_errors() {
    let server = Server::start();
    let mut r = server.raw();
    assert_eq!(call(&mut r, &["SELECT", "15"]), "+OK\r\n");
    assert_eq!(call(&mut r, &["SELECT", "0"]), "+OK\r\n");
    assert_eq!(
        call(&mut r, &["SELECT", "16"]),
        "-ERR DB index is out of range\r\n"
    );
    assert_eq!(
        call(&mut r, &["SELECT", "-1"]),
        "-ERR DB index is out of range\r\n"
    );
    assert_eq!(
        call(&mut r, &["SELECT", "x"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        call(&mut r, &["SELECT", "1.5"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        call(&mut r, &["SELECT", "4294967296"]),
        "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"
    );
    assert_eq!(call(&mut r, &["SELECT"]), arity_err("select"));
    assert_eq!(call(&mut r, &["SELECT", "1", "2"]), arity_err("select"));
    // A failed SELECT leaves the database as it was.
    assert!(call(&mut r, &["CLIENT", "INFO"]).contains(" db=0 "));
    assert_eq!(call(&mut r, &["SELECT", "7"]), "+OK\r\n");
    assert!(call(&mut r, &["CLIENT", "INFO"]).contains(" db=7 "));
}

#[test]
fn select_isolates_databases_across_shards() {
    let server = Server::start();
    let mut a = server.con();
    let mut b = server.con();
    let k0 = keys_on_shard(0, 2, 3, "sel:");
    let k1 = keys_on_shard(1, 2, 3, "sel:");
    let _: () = redis::cmd("SELECT").arg(9).query(&mut a).unwrap();
    for k in k0.iter().chain(&k1) {
        let _: () = redis::cmd("SET")
            .arg(k)
            .arg(format!("db9-{k}"))
            .query(&mut a)
            .unwrap();
    }
    // Database 0 on another connection sees none of them, on either shard.
    for k in k0.iter().chain(&k1) {
        let v: Option<String> = redis::cmd("GET").arg(k).query(&mut b).unwrap();
        assert_eq!(v, None, "{k} leaked into db 0");
    }
    let n: i64 = redis::cmd("DBSIZE").query(&mut b).unwrap();
    assert_eq!(n, 0);
    let n: i64 = redis::cmd("DBSIZE").query(&mut a).unwrap();
    assert_eq!(n, 6);
    // Same key names in db 0 hold their own values.
    let _: () = redis::cmd("SET")
        .arg(&k0[0])
        .arg("db0")
        .query(&mut b)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg(&k1[0])
        .arg("db0")
        .query(&mut b)
        .unwrap();
    let v: Vec<String> = redis::cmd("MGET")
        .arg(&k0[0])
        .arg(&k1[0])
        .query(&mut a)
        .unwrap();
    assert_eq!(v, vec![format!("db9-{}", k0[0]), format!("db9-{}", k1[0])]);
    let v: Vec<String> = redis::cmd("MGET")
        .arg(&k0[0])
        .arg(&k1[0])
        .query(&mut b)
        .unwrap();
    assert_eq!(v, vec!["db0", "db0"]);
    // A second connection selecting 9 sees db 9's keys on both shards.
    let mut c = server.con();
    let _: () = redis::cmd("SELECT").arg(9).query(&mut c).unwrap();
    let n: i64 = redis::cmd("EXISTS")
        .arg(&k0[1])
        .arg(&k1[1])
        .arg(&k0[2])
        .arg(&k1[2])
        .query(&mut c)
        .unwrap();
    assert_eq!(n, 4);
}

#[test]
fn hello3_returns_map_and_resp3_nulls() {
    let server = Server::start();
    let mut r = server.raw();
    // RESP2 first.
    assert_eq!(call(&mut r, &["GET", "missing"]), "$-1\r\n");
    let id = call(&mut r, &["CLIENT", "ID"]);
    let id = id.trim_start_matches(':').trim_end();
    let reply = call(&mut r, &["HELLO", "3"]);
    let expected = format!(
        "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.2.0\r\n$5\r\nproto\r\n:3\r\n\
         $2\r\nid\r\n:{id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n\
         $7\r\nmodules\r\n*0\r\n"
    );
    assert_eq!(reply, expected);
    // RESP3 nulls, locally and on the other shard.
    for k in [
        &keys_on_shard(0, 2, 1, "h3:")[0],
        &keys_on_shard(1, 2, 1, "h3:")[0],
    ] {
        assert_eq!(call(&mut r, &["GET", k]), "_\r\n");
    }
    assert_eq!(call(&mut r, &["CLIENT", "GETNAME"]), "_\r\n");
    assert!(call(&mut r, &["CLIENT", "INFO"]).contains(" resp=3 "));
    // HELLO without a version reports the current protocol.
    assert!(call(&mut r, &["HELLO"]).contains("$5\r\nproto\r\n:3\r\n"));
    // Back to RESP2: a flat array of 14 and `$-1` nulls.
    let reply = call(&mut r, &["HELLO", "2"]);
    assert!(reply.starts_with("*14\r\n$6\r\nserver\r\n"), "{reply}");
    assert_eq!(call(&mut r, &["GET", "missing"]), "$-1\r\n");
}

#[test]
fn hello_errors_leave_protocol_unchanged() {
    let server = Server::start();
    let mut r = server.raw();
    assert_eq!(
        call(&mut r, &["HELLO", "4"]),
        "-NOPROTO unsupported protocol version\r\n"
    );
    assert_eq!(
        call(&mut r, &["HELLO", "1"]),
        "-NOPROTO unsupported protocol version\r\n"
    );
    assert_eq!(
        call(&mut r, &["HELLO", "x"]),
        "-ERR Protocol version is not an integer or out of range\r\n"
    );
    assert_eq!(
        call(&mut r, &["HELLO", "3", "foo"]),
        "-ERR Syntax error in HELLO option 'foo'\r\n"
    );
    assert_eq!(
        call(&mut r, &["HELLO", "3", "AUTH", "a"]),
        "-ERR Syntax error in HELLO option 'AUTH'\r\n"
    );
    assert_eq!(
        call(&mut r, &["HELLO", "3", "setname"]),
        "-ERR Syntax error in HELLO option 'setname'\r\n"
    );
    assert_eq!(
        call(&mut r, &["HELLO", "3", "AUTH", "nobody", "pw"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(
        call(&mut r, &["HELLO", "3", "SETNAME", "bad name"]),
        "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
    );
    // None of the failures switched protocol.
    assert_eq!(call(&mut r, &["GET", "missing"]), "$-1\r\n");
    // The default user accepts any password.
    assert!(call(&mut r, &["HELLO", "3", "AUTH", "default", "whatever"]).starts_with("%7\r\n"));
    assert_eq!(call(&mut r, &["GET", "missing"]), "_\r\n");
}

#[test]
fn hello_setname() {
    let server = Server::start();
    let mut r = server.raw();
    let reply = call(
        &mut r,
        &["HELLO", "2", "SETNAME", "first", "SETNAME", "second"],
    );
    assert!(reply.starts_with("*14\r\n"), "{reply}");
    assert_eq!(call(&mut r, &["CLIENT", "GETNAME"]), "$6\r\nsecond\r\n");
    // A failed HELLO changes no name.
    call(&mut r, &["HELLO", "2", "SETNAME", "x y"]);
    assert_eq!(call(&mut r, &["CLIENT", "GETNAME"]), "$6\r\nsecond\r\n");
    call(
        &mut r,
        &["HELLO", "3", "AUTH", "nobody", "pw", "SETNAME", "third"],
    );
    assert_eq!(call(&mut r, &["CLIENT", "GETNAME"]), "$6\r\nsecond\r\n");
    // Names are checked as they are read: before the credentials, and every one of them.
    let bad = "-ERR Client names cannot contain spaces, newlines or special characters.\r\n";
    assert_eq!(
        call(
            &mut r,
            &["HELLO", "3", "SETNAME", "bad name", "AUTH", "nobody", "pw"]
        ),
        bad
    );
    assert_eq!(
        call(
            &mut r,
            &["HELLO", "2", "SETNAME", "bad name", "SETNAME", "fine"]
        ),
        bad
    );
    assert_eq!(call(&mut r, &["CLIENT", "GETNAME"]), "$6\r\nsecond\r\n");
    assert!(call(&mut r, &["CLIENT", "INFO"]).contains(" name=second "));
}

#[test]
fn auth_without_users() {
    let server = Server::start();
    let mut r = server.raw();
    assert_eq!(
        call(&mut r, &["AUTH", "pw"]),
        "-ERR AUTH <password> called without any password configured for the default user. \
         Are you sure your configuration is correct?\r\n"
    );
    assert_eq!(call(&mut r, &["AUTH", "default", "anything"]), "+OK\r\n");
    assert_eq!(
        call(&mut r, &["AUTH", "someone", "pw"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(
        call(&mut r, &["AUTH", "a", "b", "c"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(call(&mut r, &["AUTH"]), arity_err("auth"));
}

#[test]
fn client_id_names_and_info() {
    let server = Server::start();
    let mut r = server.raw();
    let id = call(&mut r, &["CLIENT", "ID"]);
    assert!(id.starts_with(':'), "{id}");
    let id: i64 = id[1..].trim_end().parse().unwrap();
    assert!(id > 0);
    assert_eq!(call(&mut r, &["CLIENT", "GETNAME"]), "$-1\r\n");
    assert_eq!(call(&mut r, &["CLIENT", "SETNAME", "worker-1"]), "+OK\r\n");
    assert_eq!(call(&mut r, &["client", "getname"]), "$8\r\nworker-1\r\n");
    let bad = "-ERR Client names cannot contain spaces, newlines or special characters.\r\n";
    assert_eq!(call(&mut r, &["CLIENT", "SETNAME", "a b"]), bad);
    assert_eq!(call(&mut r, &["CLIENT", "SETNAME", "a\nb"]), bad);
    assert_eq!(call(&mut r, &["CLIENT", "SETNAME", "caf\u{e9}"]), bad);
    assert_eq!(call(&mut r, &["CLIENT", "GETNAME"]), "$8\r\nworker-1\r\n");
    let info = call(&mut r, &["CLIENT", "INFO"]);
    assert!(info.starts_with('$'), "{info}");
    assert!(info.contains(&format!("id={id} addr=127.0.0.1:")), "{info}");
    assert!(info.contains(" name=worker-1 "), "{info}");
    assert!(info.contains(" cmd=client|info "), "{info}");
    assert!(info.ends_with("\n\r\n"), "{info}");
    // An empty name clears it.
    assert_eq!(call(&mut r, &["CLIENT", "SETNAME", ""]), "+OK\r\n");
    assert_eq!(call(&mut r, &["CLIENT", "GETNAME"]), "$-1\r\n");
    // Each connection has its own id.
    let mut other = server.raw();
    let other_id = call(&mut other, &["CLIENT", "ID"]);
    assert_ne!(other_id, format!(":{id}\r\n"));
    // RESP3: CLIENT INFO is a verbatim string.
    call(&mut r, &["HELLO", "3"]);
    let info = call(&mut r, &["CLIENT", "INFO"]);
    assert!(
        info.starts_with('=') && info.contains("\r\ntxt:id="),
        "{info}"
    );
}

#[test]
fn client_errors() {
    let server = Server::start();
    let mut r = server.raw();
    assert_eq!(call(&mut r, &["CLIENT"]), arity_err("client"));
    assert_eq!(call(&mut r, &["CLIENT", "ID", "x"]), arity_err("client|id"));
    assert_eq!(
        call(&mut r, &["CLIENT", "GETNAME", "x"]),
        arity_err("client|getname")
    );
    assert_eq!(
        call(&mut r, &["CLIENT", "SETNAME"]),
        arity_err("client|setname")
    );
    assert_eq!(
        call(&mut r, &["CLIENT", "SETNAME", "a", "b"]),
        arity_err("client|setname")
    );
    assert_eq!(
        call(&mut r, &["CLIENT", "INFO", "x"]),
        arity_err("client|info")
    );
    assert_eq!(
        call(&mut r, &["CLIENT", "SETINFO", "lib-name"]),
        arity_err("client|setinfo")
    );
    assert_eq!(
        call(&mut r, &["CLIENT", "HELP", "x"]),
        arity_err("client|help")
    );
    assert_eq!(
        call(&mut r, &["CLIENT", "NO-EVICT"]),
        arity_err("client|no-evict")
    );
    assert_eq!(
        call(&mut r, &["CLIENT", "FOO"]),
        "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n"
    );
    assert_eq!(call(&mut r, &["CLIENT", "NO-EVICT", "on"]), "+OK\r\n");
    assert_eq!(call(&mut r, &["CLIENT", "NO-EVICT", "OFF"]), "+OK\r\n");
    assert_eq!(
        call(&mut r, &["CLIENT", "NO-EVICT", "maybe"]),
        "-ERR syntax error\r\n"
    );
    let help = call(&mut r, &["CLIENT", "HELP"]);
    assert!(
        help.starts_with('*') && help.contains("+CLIENT <subcommand>"),
        "{help}"
    );
    assert!(help.contains("+SETNAME <connection-name>\r\n"), "{help}");
}

#[test]
fn client_setinfo() {
    let server = Server::start();
    let mut r = server.raw();
    assert_eq!(
        call(&mut r, &["CLIENT", "SETINFO", "LIB-NAME", "mylib"]),
        "+OK\r\n"
    );
    assert_eq!(
        call(&mut r, &["CLIENT", "SETINFO", "lib-ver", "1.2.3"]),
        "+OK\r\n"
    );
    let info = call(&mut r, &["CLIENT", "INFO"]);
    assert!(info.contains(" lib-name=mylib lib-ver=1.2.3"), "{info}");
    assert_eq!(
        call(&mut r, &["CLIENT", "SETINFO", "foo", "bar"]),
        "-ERR Unrecognized option 'foo'\r\n"
    );
    // The option is checked first, and the error names it as sent.
    assert_eq!(
        call(&mut r, &["CLIENT", "SETINFO", "foo", "a b"]),
        "-ERR Unrecognized option 'foo'\r\n"
    );
    assert_eq!(
        call(&mut r, &["CLIENT", "SETINFO", "lib-name", "a b"]),
        "-ERR lib-name cannot contain spaces, newlines or special characters.\r\n"
    );
    assert_eq!(
        call(&mut r, &["CLIENT", "SETINFO", "LIB-VER", "1\n2"]),
        "-ERR LIB-VER cannot contain spaces, newlines or special characters.\r\n"
    );
    let info = call(&mut r, &["CLIENT", "INFO"]);
    assert!(info.contains(" lib-name=mylib lib-ver=1.2.3"), "{info}");
}

/// The ids and names in a CLIENT LIST reply.
fn listed(text: &str) -> Vec<(i64, String)> {
    text.lines()
        .filter(|l| l.contains("id="))
        .map(|l| {
            let l = l.trim_start_matches(|c| c != 'i');
            let field = |name: &str| {
                l.split(' ')
                    .find_map(|f| f.strip_prefix(name).map(str::to_string))
                    .unwrap_or_default()
            };
            (field("id=").parse().unwrap(), field("name="))
        })
        .collect()
}

#[test]
fn client_list_shows_clients_of_every_core() {
    let server = Server::start();
    // Client ids are handed out per core as `seq * shards + shard`, so an id tells the core
    // that accepted the connection. Open connections until both cores have some.
    let mut cons = Vec::new();
    let mut cores = HashSet::new();
    while cons.len() < 8 || (cores.len() < 2 && cons.len() < 64) {
        let mut con = server.con();
        let id = client_id(&mut con);
        cores.insert(id % 2);
        let name = format!("conn-{}", cons.len());
        let _: () = redis::cmd("CLIENT")
            .arg("SETNAME")
            .arg(&name)
            .query(&mut con)
            .unwrap();
        cons.push((con, id, name));
    }
    assert_eq!(
        cores.len(),
        2,
        "the kernel never gave the second core a connection"
    );
    let mut r = server.raw();
    call(&mut r, &["CLIENT", "SETNAME", "lister"]);
    let text = call(&mut r, &["CLIENT", "LIST"]);
    let all = listed(&text);
    for (_, id, name) in &cons {
        assert!(
            all.contains(&(*id, name.clone())),
            "{id} {name} missing from {text}"
        );
    }
    assert!(all.iter().any(|(_, n)| n == "lister"));
    assert_eq!(all.len(), cons.len() + 1, "{text}");
    assert!(text.contains(" cmd=client|list "), "{text}");
    // Sorted by id.
    let ids: Vec<i64> = all.iter().map(|(id, _)| *id).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);

    // TYPE filters.
    assert_eq!(
        listed_count(&mut r, &["CLIENT", "LIST", "TYPE", "normal"]),
        cons.len() + 1
    );
    assert_eq!(
        call(&mut r, &["CLIENT", "LIST", "TYPE", "pubsub"]),
        "$0\r\n\r\n"
    );
    assert_eq!(
        call(&mut r, &["CLIENT", "LIST", "TYPE", "Replica"]),
        "$0\r\n\r\n"
    );
    assert_eq!(
        call(&mut r, &["CLIENT", "LIST", "TYPE", "foo"]),
        "-ERR Unknown client type 'foo'\r\n"
    );
    // ID filters: the ids asked for, in that order, from both cores.
    let even = cons.iter().find(|c| c.1 % 2 == 0).unwrap();
    let odd = cons.iter().find(|c| c.1 % 2 == 1).unwrap();
    let text = call(
        &mut r,
        &[
            "CLIENT",
            "LIST",
            "ID",
            &odd.1.to_string(),
            "999999",
            &even.1.to_string(),
        ],
    );
    assert_eq!(
        listed(&text),
        vec![(odd.1, odd.2.clone()), (even.1, even.2.clone())]
    );
    assert_eq!(call(&mut r, &["CLIENT", "LIST", "ID", "-5"]), "$0\r\n\r\n");
    assert_eq!(
        call(&mut r, &["CLIENT", "LIST", "ID", "x"]),
        "-ERR Invalid client ID\r\n"
    );
    assert_eq!(
        call(&mut r, &["CLIENT", "LIST", "ID"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        call(&mut r, &["CLIENT", "LIST", "foo"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        call(&mut r, &["CLIENT", "LIST", "TYPE", "normal", "x"]),
        "-ERR syntax error\r\n"
    );

    // Closed connections leave the list.
    let gone = cons.pop().unwrap();
    drop(gone.0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let ids: Vec<i64> = listed(&call(&mut r, &["CLIENT", "LIST"]))
            .iter()
            .map(|x| x.0)
            .collect();
        if !ids.contains(&gone.1) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "closed client {} still listed",
            gone.1
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn listed_count(r: &mut RawCon, args: &[&str]) -> usize {
    listed(&call(r, args)).len()
}

#[test]
fn quit_closes_after_earlier_replies() {
    let server = Server::start();
    let mut r = server.raw();
    assert_eq!(call(&mut r, &["QUIT"]), "+OK\r\n");
    assert!(r.closed());
    // In a pipeline, replies before QUIT arrive; nothing after it runs.
    let mut r = server.raw();
    let key = &keys_on_shard(1, 2, 1, "quit:")[0];
    let mut pipeline = common::encode(&["PING"]);
    pipeline.extend(common::encode(&["SET", key, "v"]));
    pipeline.extend(common::encode(&["QUIT"]));
    pipeline.extend(common::encode(&["DEL", key]));
    r.send(&pipeline);
    assert_eq!(r.read_reply(), "+PONG\r\n");
    assert_eq!(r.read_reply(), "+OK\r\n");
    assert_eq!(r.read_reply(), "+OK\r\n");
    assert!(r.closed());
    let mut con = server.con();
    let v: Option<String> = redis::cmd("GET").arg(key).query(&mut con).unwrap();
    assert_eq!(v.as_deref(), Some("v"), "the command after QUIT ran");
}

#[test]
fn reset_restores_a_fresh_connection() {
    let server = Server::start();
    let mut r = server.raw();
    assert!(call(&mut r, &["HELLO", "3"]).starts_with('%'));
    assert_eq!(call(&mut r, &["SELECT", "5"]), "+OK\r\n");
    assert_eq!(call(&mut r, &["CLIENT", "SETNAME", "before"]), "+OK\r\n");
    assert_eq!(
        call(&mut r, &["CLIENT", "SETINFO", "LIB-NAME", "keepme"]),
        "+OK\r\n"
    );
    let id = call(&mut r, &["CLIENT", "ID"]);
    assert_eq!(call(&mut r, &["RESET"]), "+RESET\r\n");
    // RESP2 again, no name, database 0, same connection (same id); the library name stays.
    assert_eq!(call(&mut r, &["CLIENT", "GETNAME"]), "$-1\r\n");
    assert_eq!(call(&mut r, &["CLIENT", "ID"]), id);
    let info = call(&mut r, &["CLIENT", "INFO"]);
    assert!(info.starts_with('$'), "{info}");
    assert!(
        info.contains(" db=0 ") && info.contains(" resp=2 ") && info.contains(" lib-name=keepme"),
        "{info}"
    );
    assert_eq!(call(&mut r, &["RESET", "x"]), arity_err("reset"));
}

/// Each request read by a connection used to leave a waker behind in the shard's
/// shutdown event; glommio counts a task's wakers in an i16, so the 32768th read of one
/// connection panicked its whole shard.
#[test]
fn a_connection_outlives_many_thousands_of_requests() {
    // No syncs to wait for: the test is about the number of reads.
    let server = Server::start_with(2, &["--durability", "no"]);
    let mut con = server.con();
    let keys = [
        keys_on_shard(0, 2, 1, "long:"),
        keys_on_shard(1, 2, 1, "long:"),
    ]
    .concat();
    for i in 0..40_000u32 {
        // One request per round trip, so that every one is a read of its own.
        let key = &keys[i as usize % 2];
        let n: u32 = redis::cmd("INCR").arg(key).query(&mut con).unwrap();
        assert_eq!(n, i / 2 + 1);
    }
    // Both shards still answer, on a new connection too.
    let mut other = server.con();
    for key in &keys {
        let v: u32 = redis::cmd("GET").arg(key).query(&mut other).unwrap();
        assert_eq!(v, 20_000);
    }
}
