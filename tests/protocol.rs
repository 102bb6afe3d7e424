//! Protocol robustness, driven over raw sockets: malformed requests get Redis's exact
//! error and lose their connection while the server and every other client carry on;
//! limits hold at their boundaries; inline commands, pipelines, split reads, many
//! connections at once and large values all work.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::{keys_on_shard, RawCon, Server};

/// Encodes one command as a RESP multibulk request.
fn resp(args: &[&[u8]]) -> Vec<u8> {
    common::encode(args)
}

fn bulk(v: &[u8]) -> Vec<u8> {
    let mut out = format!("${}\r\n", v.len()).into_bytes();
    out.extend_from_slice(v);
    out.extend_from_slice(b"\r\n");
    out
}

/// The connection answers: a PING gets its PONG.
fn assert_open(con: &mut RawCon) {
    con.send(b"PING\r\n");
    con.expect("+PONG\r\n");
}

/// The server closed the connection, and sent nothing more before closing. Unlike
/// `RawCon::closed`, a connection that stays open fails this (instead of timing out
/// into "closed").
fn assert_closed(con: &mut RawCon) {
    con.s
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut b = [0u8; 256];
    match con.s.read(&mut b) {
        Ok(0) => {}
        Ok(n) => panic!(
            "expected the connection to be closed, got {:?}",
            String::from_utf8_lossy(&b[..n])
        ),
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        Err(e) => {
            panic!("expected the connection to be closed, read failed with {e} (still open?)")
        }
    }
}

/// Nothing has arrived on the connection within `wait`.
fn assert_silent(con: &mut RawCon, wait: Duration) {
    std::thread::sleep(wait);
    con.s.set_nonblocking(true).unwrap();
    let mut b = [0u8; 256];
    let r = con.s.read(&mut b);
    con.s.set_nonblocking(false).unwrap();
    match r {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        Ok(0) => panic!("connection closed unexpectedly"),
        Ok(n) => panic!(
            "unexpected early reply {:?}",
            String::from_utf8_lossy(&b[..n])
        ),
        Err(e) => panic!("read: {e}"),
    }
}

/// Sends `request` on a fresh connection and checks that the reply is exactly
/// `expected` followed by the server closing the connection; meanwhile a bystander
/// connection opened before keeps working, and so does a new one opened after.
fn expect_protocol_error(server: &Server, request: &[u8], expected: &str) {
    let mut bystander = server.raw();
    assert_open(&mut bystander);
    let mut con = server.raw();
    con.send(request);
    con.expect(expected);
    assert_closed(&mut con);
    assert_open(&mut bystander);
    assert_open(&mut server.raw());
}

#[test]
fn invalid_multibulk_length() {
    let server = Server::start();
    let err = "-ERR Protocol error: invalid multibulk length\r\n";
    expect_protocol_error(&server, b"*abc\r\n", err);
    // Redis's integer rules: no sign, no leading zeros, no spaces.
    expect_protocol_error(&server, b"*+1\r\n", err);
    expect_protocol_error(&server, b"*01\r\n", err);
    expect_protocol_error(&server, b"* 1\r\n", err);
    expect_protocol_error(&server, b"*\r\n", err);
    expect_protocol_error(&server, b"*99999999999999999999\r\n", err);
}

#[test]
fn commands_before_a_protocol_error_are_answered() {
    let server = Server::start();
    let a = &keys_on_shard(0, 2, 1, "before")[0];
    let b = &keys_on_shard(1, 2, 1, "before")[0];
    let mut con = server.raw();
    // Both keys' SETs run (one of them on the other core) before the error is sent.
    let mut req = resp(&[b"SET", a.as_bytes(), b"1"]);
    req.extend(resp(&[b"SET", b.as_bytes(), b"2"]));
    req.extend_from_slice(b"PING\r\n*1\r\n$3\r\nGET\r\n*x\r\nPING\r\n");
    con.send(&req);
    con.expect(
        "+OK\r\n+OK\r\n+PONG\r\n-ERR wrong number of arguments for 'get' command\r\n\
         -ERR Protocol error: invalid multibulk length\r\n",
    );
    assert_closed(&mut con);
    let mut check = server.con();
    let v: Vec<String> = redis::cmd("MGET").arg(a).arg(b).query(&mut check).unwrap();
    assert_eq!(v, ["1", "2"]);
}

#[test]
fn expected_dollar() {
    let server = Server::start();
    expect_protocol_error(
        &server,
        b"*1\r\n+foo\r\n",
        "-ERR Protocol error: expected '$', got '+'\r\n",
    );
    expect_protocol_error(
        &server,
        b"*2\r\n$3\r\nGET\r\n:1\r\n",
        "-ERR Protocol error: expected '$', got ':'\r\n",
    );
    // A CR where the `$` should be is shown as a space so the reply stays one line.
    expect_protocol_error(
        &server,
        b"*1\r\n\r\n",
        "-ERR Protocol error: expected '$', got ' '\r\n",
    );
}

#[test]
fn bulk_length_limit() {
    let server = Server::start_with(2, &["--proto_max_bulk_len", "1mb"]);
    let err = "-ERR Protocol error: invalid bulk length\r\n";
    expect_protocol_error(&server, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n", err);
    expect_protocol_error(&server, b"*1\r\n$-1\r\n", err);
    expect_protocol_error(&server, b"*1\r\n$-5\r\n", err);
    expect_protocol_error(&server, b"*1\r\n$abc\r\n", err);
    expect_protocol_error(&server, b"*1\r\n$99999999999999999999\r\n", err);
    // Exactly at the limit is accepted.
    let value = vec![b'v'; 1024 * 1024];
    let mut con = server.raw();
    con.send(&resp(&[b"SET", b"k", &value]));
    con.expect("+OK\r\n");
    con.send(&resp(&[b"GET", b"k"]));
    let expected = bulk(&value);
    assert_eq!(con.read_n(expected.len()), expected);
    assert_open(&mut con);
}

#[test]
fn multibulk_count_limit() {
    let server = Server::start();
    expect_protocol_error(
        &server,
        b"*1048577\r\n",
        "-ERR Protocol error: invalid multibulk length\r\n",
    );
    // The largest count allowed: DEL with 1048575 keys, all the same key.
    let mut con = server.raw();
    con.send(b"SET k v\r\n");
    con.expect("+OK\r\n");
    let mut req = b"*1048576\r\n$3\r\nDEL\r\n".to_vec();
    for _ in 0..1048575 {
        req.extend_from_slice(b"$1\r\nk\r\n");
    }
    con.send(&req);
    con.expect(":1\r\n");
    assert_open(&mut con);
}

#[test]
fn too_big_inline_and_header_lines() {
    let server = Server::start();
    let long = vec![b'a'; 70 * 1024];
    expect_protocol_error(
        &server,
        &long,
        "-ERR Protocol error: too big inline request\r\n",
    );
    let mut count = b"*".to_vec();
    count.extend(std::iter::repeat_n(b'1', 70 * 1024));
    expect_protocol_error(
        &server,
        &count,
        "-ERR Protocol error: too big mbulk count string\r\n",
    );
    let mut header = b"*1\r\n$".to_vec();
    header.extend(std::iter::repeat_n(b'1', 70 * 1024));
    expect_protocol_error(
        &server,
        &header,
        "-ERR Protocol error: too big bulk count string\r\n",
    );
    // Just under the inline limit, with its newline, is an ordinary command.
    let mut con = server.raw();
    let word = vec![b'x'; 60 * 1024];
    let mut line = b"ECHO ".to_vec();
    line.extend_from_slice(&word);
    line.extend_from_slice(b"\r\n");
    con.send(&line);
    let expected = bulk(&word);
    assert_eq!(con.read_n(expected.len()), expected);
    assert_open(&mut con);
}

#[test]
fn unbalanced_quotes() {
    let server = Server::start();
    let err = "-ERR Protocol error: unbalanced quotes in request\r\n";
    expect_protocol_error(&server, b"set \"k\r\n", err);
    expect_protocol_error(&server, b"set k 'v\r\n", err);
    // A closing quote must be followed by a space or the end of the line.
    expect_protocol_error(&server, b"set k 'a'b\r\n", err);
    expect_protocol_error(&server, b"set k \"a\"b\r\n", err);
}

#[test]
fn query_buffer_limit_closes_the_client() {
    let server = Server::start_with(
        2,
        &[
            "--proto_max_bulk_len",
            "8mb",
            "--client_query_buffer_limit",
            "2mb",
        ],
    );
    let mut bystander = server.con();
    // A command under the limit is fine.
    let ok_value = vec![b'o'; 1536 * 1024];
    let _: () = redis::cmd("SET")
        .arg("fits")
        .arg(&ok_value)
        .query(&mut bystander)
        .unwrap();

    // A 4 MiB bulk (allowed by proto_max_bulk_len) sent slowly: once more than 2 MiB of
    // it is buffered, the client is told why and disconnected. Sending stops a little
    // past the limit so that the server has read everything when it closes: a close
    // with unread input becomes a reset, which would make the test depend on timing.
    let mut con = server.raw();
    con.send(b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$4194304\r\n");
    let chunk = vec![b'b'; 64 * 1024];
    let mut sent = 0;
    while sent < 2 * 1024 * 1024 + chunk.len() {
        con.send(&chunk);
        sent += chunk.len();
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(
        con.line(),
        "-ERR Protocol error: client query buffer exceeds client_query_buffer_limit\r\n"
    );
    assert_closed(&mut con);

    let got: Vec<u8> = redis::cmd("GET").arg("fits").query(&mut bystander).unwrap();
    assert_eq!(got, ok_value);
    let exists: i64 = redis::cmd("EXISTS")
        .arg("big")
        .query(&mut bystander)
        .unwrap();
    assert_eq!(exists, 0);
    assert_open(&mut server.raw());
}

#[test]
fn inline_commands() {
    let server = Server::start();
    let mut con = server.raw();
    con.send(b"PING\r\n");
    con.expect("+PONG\r\n");
    con.send(b"PING\n");
    con.expect("+PONG\r\n");
    con.send(b"set k \"a b\"\r\nget k\r\n");
    con.expect("+OK\r\n$3\r\na b\r\n");
    // Escapes in double quotes, single quotes, tabs and repeated spaces as separators.
    con.send(b"SET  k2\t\"\\x41\\n\\\"\"\r\nGET 'k2'\r\n");
    con.expect("+OK\r\n$3\r\nA\n\"\r\n");
    con.send(b"set k3 'it\\'s'\r\nget k3\r\n");
    con.expect("+OK\r\n$4\r\nit's\r\n");
    // Blank lines are ignored: only the PING answers.
    con.send(b"\n\r\n   \n\t\r\nPING\r\n");
    con.expect("+PONG\r\n");
    assert_silent(&mut con, Duration::from_millis(100));
    // Inline and multibulk mix freely in one write.
    let mut req = b"ECHO one\r\n".to_vec();
    req.extend(resp(&[b"ECHO", b"two"]));
    req.extend_from_slice(b"ECHO three\n");
    con.send(&req);
    con.expect("$3\r\none\r\n$3\r\ntwo\r\n$5\r\nthree\r\n");
}

#[test]
fn empty_multibulk_is_ignored() {
    let server = Server::start();
    let mut con = server.raw();
    con.send(b"*0\r\n");
    con.send(b"*-1\r\n*-10\r\n*0\r\nPING\r\n");
    con.expect("+PONG\r\n");
    assert_silent(&mut con, Duration::from_millis(100));
    assert_open(&mut con);
}

#[test]
fn wrong_arity_and_unknown_command_keep_the_connection() {
    let server = Server::start();
    let mut con = server.raw();
    con.send(b"*1\r\n$3\r\nGET\r\n");
    con.expect("-ERR wrong number of arguments for 'get' command\r\n");
    con.send(b"get\r\n");
    con.expect("-ERR wrong number of arguments for 'get' command\r\n");
    con.send(b"MSET a 1 b\r\n");
    con.expect("-ERR wrong number of arguments for 'mset' command\r\n");
    con.send(b"FOO bar baz\r\n");
    con.expect("-ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' \r\n");
    con.send(&resp(&[b"nosuch"]));
    con.expect("-ERR unknown command 'nosuch', with args beginning with: \r\n");
    assert_open(&mut con);
    con.send(b"SET k v\r\nGET k\r\n");
    con.expect("+OK\r\n$1\r\nv\r\n");
}

#[test]
fn quit_closes_after_its_reply() {
    let server = Server::start();
    let mut con = server.raw();
    con.send(b"PING\r\nQUIT\r\nPING\r\n");
    con.expect("+PONG\r\n+OK\r\n");
    assert_closed(&mut con);
}

/// Sends `req` from a second thread while this one reads `expected_len` bytes, so a
/// large request and its replies cannot deadlock on full socket buffers.
fn send_and_read(con: &mut RawCon, req: Vec<u8>, expected_len: usize) -> Vec<u8> {
    let mut writer = con.s.try_clone().unwrap();
    let t = std::thread::spawn(move || writer.write_all(&req).unwrap());
    let got = con.read_n(expected_len);
    t.join().unwrap();
    got
}

#[test]
fn pipeline_of_ten_thousand_commands() {
    let server = Server::start();
    let on0 = keys_on_shard(0, 2, 1250, "p0:");
    let on1 = keys_on_shard(1, 2, 1250, "p1:");
    // Alternate shards; each key is set, read, overwritten and read again, so a reply
    // out of pipeline order shows up as a wrong value.
    let mut req = Vec::new();
    let mut expected = Vec::new();
    for i in 0..1250 {
        for key in [&on0[i], &on1[i]] {
            let (v1, v2) = (format!("first-{key}"), format!("second-{key}"));
            req.extend(resp(&[b"SET", key.as_bytes(), v1.as_bytes()]));
            req.extend(resp(&[b"GET", key.as_bytes()]));
            req.extend(resp(&[b"SET", key.as_bytes(), v2.as_bytes()]));
            req.extend(resp(&[b"GET", key.as_bytes()]));
            expected.extend_from_slice(b"+OK\r\n");
            expected.extend(bulk(v1.as_bytes()));
            expected.extend_from_slice(b"+OK\r\n");
            expected.extend(bulk(v2.as_bytes()));
        }
    }
    // Run on several connections so both cores' connections are exercised (the kernel
    // spreads connections over the cores).
    for round in 0..4 {
        let mut con = server.raw();
        let got = send_and_read(&mut con, req.clone(), expected.len());
        if got != expected {
            let at = got
                .iter()
                .zip(&expected)
                .position(|(a, b)| a != b)
                .unwrap_or(got.len());
            panic!(
                "round {round}: replies differ at byte {at}: got {:?}, expected {:?}",
                String::from_utf8_lossy(&got[at.saturating_sub(40)..(at + 40).min(got.len())]),
                String::from_utf8_lossy(
                    &expected[at.saturating_sub(40)..(at + 40).min(expected.len())]
                )
            );
        }
        assert_silent(&mut con, Duration::from_millis(20));
    }
    let mut con = server.con();
    let n: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(n, 2500);
}

#[test]
fn huge_reads_flush_replies_in_order() {
    // A big value first makes the connection's input buffer big, so what follows can
    // arrive in a few large reads: thousands of remote commands from one read (more than
    // are queued for a shard before they are sent) and replies larger than what is
    // buffered before writing, interleaved with local ones.
    let server = Server::start();
    let on0 = keys_on_shard(0, 2, 3000, "h0:");
    let on1 = keys_on_shard(1, 2, 3000, "h1:");
    let big = vec![b'B'; 4 * 1024 * 1024];
    let medium = vec![b'm'; 100 * 1024];
    for round in 0..4 {
        let mut req = resp(&[b"SET", on0[0].as_bytes(), &big]);
        let mut expected = b"+OK\r\n".to_vec();
        req.extend(resp(&[b"SET", on1[0].as_bytes(), &medium]));
        expected.extend_from_slice(b"+OK\r\n");
        for i in 1..3000 {
            for key in [&on0[i], &on1[i]] {
                let v = format!("{round}:{key}");
                req.extend(resp(&[b"SET", key.as_bytes(), v.as_bytes()]));
                req.extend(resp(&[b"GET", key.as_bytes()]));
                expected.extend_from_slice(b"+OK\r\n");
                expected.extend(bulk(v.as_bytes()));
            }
            if i >= 2000 && i % 200 == 0 {
                // Large replies, from both shards, in the middle of the small ones (only
                // in the second half, so the first half is thousands of small ones).
                req.extend(resp(&[b"GET", on1[0].as_bytes()]));
                req.extend(resp(&[b"GET", on0[0].as_bytes()]));
                req.extend(resp(&[b"GET", on1[0].as_bytes()]));
                expected.extend(bulk(&medium));
                expected.extend(bulk(&big));
                expected.extend(bulk(&medium));
            }
        }
        let mut con = server.raw();
        let got = send_and_read(&mut con, req, expected.len());
        if got != expected {
            let at = got
                .iter()
                .zip(&expected)
                .position(|(a, b)| a != b)
                .unwrap_or(got.len());
            panic!(
                "round {round}: {} of {} bytes, first difference at {at}: got {:?}, expected {:?}",
                got.len(),
                expected.len(),
                String::from_utf8_lossy(&got[at.saturating_sub(40)..(at + 40).min(got.len())]),
                String::from_utf8_lossy(
                    &expected[at.saturating_sub(40)..(at + 40).min(expected.len())]
                )
            );
        }
        assert_open(&mut con);
    }
}

#[test]
fn requests_split_byte_by_byte() {
    let server = Server::start();
    let a = &keys_on_shard(0, 2, 1, "split")[0];
    let b = &keys_on_shard(1, 2, 1, "split")[0];
    for _ in 0..2 {
        let mut con = server.raw();
        con.s.set_nodelay(true).unwrap();
        let first = resp(&[b"SET", a.as_bytes(), b"hello\r\nworld"]);
        // Everything but the last byte of the first command: no reply yet.
        for &byte in &first[..first.len() - 1] {
            con.send(&[byte]);
            std::thread::sleep(Duration::from_micros(200));
        }
        assert_silent(&mut con, Duration::from_millis(50));
        con.send(&first[first.len() - 1..]);
        con.expect("+OK\r\n");

        let mut rest = resp(&[b"SET", b.as_bytes(), b""]);
        rest.extend(resp(&[b"MGET", a.as_bytes(), b.as_bytes()]));
        rest.extend_from_slice(format!("GET \"{b}\"\r\n").as_bytes());
        rest.extend_from_slice(b"*0\r\n\n");
        rest.extend_from_slice(b"ECHO 'x y'\r\n");
        for &byte in &rest {
            con.send(&[byte]);
            std::thread::sleep(Duration::from_micros(200));
        }
        con.expect("+OK\r\n*2\r\n$12\r\nhello\r\nworld\r\n$0\r\n\r\n$0\r\n\r\n$3\r\nx y\r\n");
        assert_silent(&mut con, Duration::from_millis(20));
    }
}

#[test]
fn ten_megabyte_values() {
    let server = Server::start();
    let mut con = server.con();
    let mut rng = fastrand::Rng::with_seed(42);
    let a = &keys_on_shard(0, 2, 1, "big")[0];
    let b = &keys_on_shard(1, 2, 1, "big")[0];
    let va: Vec<u8> = (0..10 * 1024 * 1024).map(|_| rng.u8(..)).collect();
    let vb: Vec<u8> = (0..10 * 1024 * 1024 + 7).map(|_| rng.u8(..)).collect();
    let _: () = redis::cmd("SET").arg(a).arg(&va).query(&mut con).unwrap();
    let _: () = redis::cmd("SET").arg(b).arg(&vb).query(&mut con).unwrap();
    let got: Vec<u8> = redis::cmd("GET").arg(a).query(&mut con).unwrap();
    assert!(got == va, "value on shard 0 differs");
    let got: Vec<u8> = redis::cmd("GET").arg(b).query(&mut con).unwrap();
    assert!(got == vb, "value on shard 1 differs");
    let both: Vec<Vec<u8>> = redis::cmd("MGET").arg(b).arg(a).query(&mut con).unwrap();
    assert!(
        both.len() == 2 && both[0] == vb && both[1] == va,
        "MGET of both values differs"
    );

    // The same through a raw socket in one write, followed by a small command.
    let mut raw = server.raw();
    let mut req = resp(&[b"SET", b"rawbig", &va]);
    req.extend_from_slice(b"GET rawbig\r\n");
    let mut expected = b"+OK\r\n".to_vec();
    expected.extend(bulk(&va));
    let got = send_and_read(&mut raw, req, expected.len());
    assert!(got == expected, "raw 10 MB round trip differs");
    assert_open(&mut raw);
}

fn read_expect(stream: &mut TcpStream, want: &[u8]) -> Result<(), String> {
    let mut got = vec![0; want.len()];
    stream
        .read_exact(&mut got)
        .map_err(|e| format!("read: {e}"))?;
    if got != want {
        return Err(format!(
            "got {:?}, want {:?}",
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(want)
        ));
    }
    Ok(())
}

fn write_all(stream: &mut TcpStream, bytes: &[u8]) -> Result<(), String> {
    stream.write_all(bytes).map_err(|e| format!("write: {e}"))
}

/// What one short-lived connection does in `many_connections_come_and_go`.
fn short_lived(stream: &mut TcpStream, kind: usize, key: &str) -> Result<(), String> {
    match kind % 5 {
        0 => {
            write_all(stream, b"PING\r\n")?;
            read_expect(stream, b"+PONG\r\n")
        }
        1 => {
            write_all(stream, &resp(&[b"SET", key.as_bytes(), key.as_bytes()]))?;
            read_expect(stream, b"+OK\r\n")?;
            write_all(stream, &resp(&[b"GET", key.as_bytes()]))?;
            read_expect(stream, &bulk(key.as_bytes()))
        }
        // Leaves without reading its reply.
        2 => write_all(stream, &resp(&[b"SET", key.as_bytes(), b"unread"])),
        // Leaves in the middle of a command.
        3 => write_all(stream, b"*3\r\n$3\r\nSET\r\n$3\r\nabc\r\n$100\r\nxyz"),
        // A protocol error.
        _ => {
            write_all(stream, b"*abc\r\n")?;
            read_expect(stream, b"-ERR Protocol error: invalid multibulk length\r\n")
        }
    }
}

#[test]
fn many_connections_come_and_go() {
    const THREADS: usize = 10;
    const PER_THREAD: usize = 100;
    let server = Server::start();
    let port = server.port;
    let started = Instant::now();

    // A steady client keeps working with keys on both shards throughout.
    let stop = Arc::new(AtomicBool::new(false));
    let steady = {
        let stop = stop.clone();
        let mut con = server.con();
        let keys = [
            keys_on_shard(0, 2, 1, "steady")[0].clone(),
            keys_on_shard(1, 2, 1, "steady")[0].clone(),
        ];
        std::thread::spawn(move || {
            let mut rounds = 0u64;
            while !stop.load(Ordering::Relaxed) || rounds < 10 {
                let key = &keys[(rounds % 2) as usize];
                let value = format!("v{rounds}");
                let _: () = redis::cmd("SET")
                    .arg(key)
                    .arg(&value)
                    .query(&mut con)
                    .unwrap();
                let got: String = redis::cmd("GET").arg(key).query(&mut con).unwrap();
                assert_eq!(got, value);
                rounds += 1;
            }
            rounds
        })
    };

    // All connections are open at the same time before any of them sends.
    let barrier = Arc::new(Barrier::new(THREADS));
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let barrier = barrier.clone();
            std::thread::spawn(move || -> Vec<String> {
                let mut streams: Vec<TcpStream> = (0..PER_THREAD)
                    .map(|_| {
                        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
                        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                        s
                    })
                    .collect();
                barrier.wait();
                let mut errors = Vec::new();
                for (i, s) in streams.iter_mut().enumerate() {
                    let key = format!("conn:{t}:{i}");
                    if let Err(e) = short_lived(s, t * PER_THREAD + i, &key) {
                        errors.push(format!("connection {t}/{i}: {e}"));
                    }
                }
                errors
            })
        })
        .collect();
    let errors: Vec<String> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    assert!(
        errors.is_empty(),
        "{} failures, first: {:?}",
        errors.len(),
        &errors[..errors.len().min(5)]
    );
    stop.store(true, Ordering::Relaxed);
    let rounds = steady.join().unwrap();
    assert!(rounds >= 10);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );

    // Every connection that did a SET and GET left its key behind.
    let mut con = server.con();
    for t in 0..THREADS {
        for i in 0..PER_THREAD {
            if (t * PER_THREAD + i) % 5 == 1 {
                let key = format!("conn:{t}:{i}");
                let v: String = redis::cmd("GET").arg(&key).query(&mut con).unwrap();
                assert_eq!(v, key);
            }
        }
    }
    // The server forgets the closed connections: soon only this one is listed.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut con).unwrap();
        let n = list.lines().count();
        if n == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "{n} clients still listed");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_open(&mut server.raw());
}

#[test]
fn maxclients_rejects_the_extra_connection() {
    let server = Server::start_with(2, &["--maxclients", "3"]);
    let mut first = server.con();
    // The harness's start-up connection is released asynchronously: wait until only
    // this one is counted.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut first).unwrap();
        if list.lines().count() == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "old connections still listed: {list}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut second = server.raw();
    assert_open(&mut second);
    let mut third = server.raw();
    assert_open(&mut third);
    let mut fourth = server.raw();
    fourth.expect("-ERR max number of clients reached\r\n");
    assert_closed(&mut fourth);
    // Those admitted are unaffected, and a slot freed is a slot reusable.
    assert_open(&mut second);
    drop(third);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut again = server.raw();
        again.send(b"PING\r\n");
        match again.line().as_str() {
            "+PONG\r\n" => break,
            "-ERR max number of clients reached\r\n" => {}
            other => panic!("unexpected reply {other:?}"),
        }
        assert!(
            Instant::now() < deadline,
            "the freed connection slot was never reused"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let _: () = redis::cmd("PING").query(&mut first).unwrap();
}

#[test]
fn idle_clients_time_out() {
    let server = Server::start_with(2, &["--timeout", "1"]);
    let mut idle = server.raw();
    assert_open(&mut idle);
    let mut busy = server.raw();
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(2500) {
        assert_open(&mut busy);
        std::thread::sleep(Duration::from_millis(250));
    }
    // Closed without a word, as Redis does.
    assert_closed(&mut idle);
    assert_open(&mut busy);
}

/// Announcing a huge bulk and sending nothing must not make the server commit the
/// announced size: twenty such clients would otherwise pin 10 GB.
#[test]
fn announced_huge_bulks_do_not_reserve_their_size() {
    let server = Server::start();
    let mut idle: Vec<RawCon> = (0..20).map(|_| server.raw()).collect();
    for r in &mut idle {
        r.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$500000000\r\nsome bytes");
    }
    std::thread::sleep(Duration::from_millis(300));
    let mut con = server.con();
    let info: String = redis::cmd("INFO").arg("memory").query(&mut con).unwrap();
    let rss: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("used_memory_rss:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("used_memory_rss");
    assert!(
        rss < 1024 * 1024 * 1024,
        "RSS {rss} after 20 announced 500 MB bulks"
    );
    let _: () = redis::cmd("SET")
        .arg("still")
        .arg("fine")
        .query(&mut con)
        .unwrap();
}
