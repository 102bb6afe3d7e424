//! Test harness: starts the real `memflux` binary on a free port with a temporary data
//! directory, and stops it when dropped. Every integration test file includes this module.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// File in a server's working directory that `Server::start_logged` sends stderr to.
const STDERR_LOG: &str = "stderr.log";

pub struct Server {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Option<Child>,
    pub shards: usize,
}

/// Every shard binds the port separately; waits until each has a listener and answers,
/// by connecting until every core has accepted a connection that replies. Client ids are
/// handed out per core as `seq * shards + core`, so `CLIENT ID` names the accepting core.
/// Raw sockets with timeouts, so that a shard that accepts but never answers is caught.
fn wait_all_shards(port: u16, shards: usize) -> Result<(), String> {
    let mut seen = vec![false; shards.max(1)];
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.contains(&false) {
        if Instant::now() > deadline {
            return Err(format!("shards answering: {seen:?}"));
        }
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
            continue;
        };
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        if s.write_all(b"CLIENT ID\r\n").is_err() {
            continue;
        }
        let mut reply = Vec::new();
        let mut b = [0u8; 1];
        while !reply.ends_with(b"\r\n") {
            match s.read(&mut b) {
                Ok(1) => reply.push(b[0]),
                _ => {
                    return Err(format!(
                    "a shard accepted a connection but did not answer; shards answering: {seen:?}"
                ))
                }
            }
        }
        let id: usize = String::from_utf8_lossy(&reply[1..reply.len() - 2])
            .parse()
            .map_err(|e| format!("CLIENT ID: {e}"))?;
        let n = seen.len();
        seen[id % n] = true;
    }
    Ok(())
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    /// Starts a server with two shards (the case where routing matters).
    pub fn start() -> Server {
        Server::start_with(2, &[])
    }

    /// Starts a server with `shards` shards and extra command-line flags.
    pub fn start_with(shards: usize, extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir, shards, extra)
    }

    /// Starts a server whose working directory (and config.json) is `dir`.
    pub fn start_in(dir: tempfile::TempDir, shards: usize, extra: &[&str]) -> Server {
        Self::launch(dir, shards, extra, false)
    }

    /// Like `start_in`, but the server's stderr is appended to `<dir>/stderr.log` (read it
    /// with `stderr_log`) instead of the test's own, for tests that check what it logs.
    pub fn start_logged(dir: tempfile::TempDir, shards: usize, extra: &[&str]) -> Server {
        Self::launch(dir, shards, extra, true)
    }

    /// What the server wrote to stderr so far (servers started with `start_logged`).
    pub fn stderr_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join(STDERR_LOG)).unwrap_or_default()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    fn launch(dir: tempfile::TempDir, shards: usize, extra: &[&str], log: bool) -> Server {
        for _ in 0..5 {
            let port = free_port();
            let mut child = memflux_command(dir.path(), port, shards, extra)
                .stderr(if log {
                    Stdio::from(
                        std::fs::OpenOptions::new()
                            .create(true)
                            .append(true)
                            .open(dir.path().join(STDERR_LOG))
                            .unwrap(),
                    )
                } else {
                    Stdio::inherit()
                })
                .spawn()
                .expect("spawn memflux");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Some(status) = child.try_wait().unwrap() {
                    // Lost the race for the port to another test: try another one.
                    eprintln!("memflux exited at start with {status}; retrying");
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    if let Err(why) = wait_all_shards(port, shards) {
                        // A shard can hang while the shards connect to each other at
                        // start-up (seen on a loaded machine: glommio 0.9's shared-channel
                        // connect loses its waker). Start again rather than hang the test.
                        eprintln!("memflux on port {port} started badly ({why}); restarting it");
                        break;
                    }
                    return Server {
                        port,
                        dir,
                        child: Some(child),
                        shards,
                    };
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("memflux did not start");
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn client(&self) -> redis::Client {
        redis::Client::open(self.url()).unwrap()
    }

    /// A new connection (in database 0).
    pub fn con(&self) -> redis::Connection {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match self
                .client()
                .get_connection_with_timeout(Duration::from_secs(10))
            {
                Ok(c) => {
                    // A server that stops answering fails the test instead of hanging it.
                    c.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
                    return c;
                }
                Err(e) if Instant::now() > deadline => panic!("cannot connect: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }

    /// A connection accepted by each of the server's `shards` cores, in core order
    /// (`CLIENT ID` is `seq * shards + core`), so that commands for a shard run both on
    /// its own core and forwarded.
    pub fn con_on_each_core(&self, shards: usize) -> Vec<redis::Connection> {
        let mut found: Vec<Option<redis::Connection>> = (0..shards).map(|_| None).collect();
        for _ in 0..200 {
            let mut con = self.con();
            let id: usize = redis::cmd("CLIENT").arg("ID").query(&mut con).unwrap();
            found[id % shards].get_or_insert(con);
            if found.iter().all(Option::is_some) {
                return found.into_iter().map(Option::unwrap).collect();
            }
        }
        panic!("could not get a connection on every core");
    }

    /// A raw TCP connection for protocol-level tests.
    pub fn raw(&self) -> RawCon {
        let s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        RawCon { s }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("shards")
    }

    pub fn workdir(&self) -> &Path {
        self.dir.path()
    }

    /// Sends SIGKILL and waits.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends SIGTERM and waits for a clean exit; returns the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("running");
        unsafe_kill(c.id(), 15);
        wait_timeout(&mut c, Duration::from_secs(15))
    }

    /// Waits for the process to exit by itself (after SHUTDOWN).
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("running");
        wait_timeout(&mut c, Duration::from_secs(15))
    }

    /// Whether the server process is still running.
    pub fn alive(&mut self) -> bool {
        match &mut self.child {
            Some(c) => c.try_wait().unwrap().is_none(),
            None => false,
        }
    }

    /// Takes the data directory away so that the server can be restarted on it.
    pub fn restart(mut self) -> Server {
        self.terminate();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        Server::start_in(dir, self.shards, &[])
    }
}

/// The `memflux` binary set to run in `dir` on `port` with `shards` shards, quiet logs
/// and `extra` flags; stderr is left to the caller.
fn memflux_command(dir: &Path, port: u16, shards: usize, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_memflux"));
    cmd.current_dir(dir)
        .args([
            "--port",
            &port.to_string(),
            "--shards",
            &shards.to_string(),
            "--log_level",
            "warn",
        ])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    cmd
}

/// Starts a server on `dir` that is expected to refuse to start; returns its exit status
/// and what it wrote to stderr. Panics if it is still running after 20 s.
pub fn start_expecting_failure(
    dir: &Path,
    shards: usize,
    extra: &[&str],
) -> (std::process::ExitStatus, String) {
    let port = free_port();
    let mut child = memflux_command(dir, port, shards, extra)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn memflux");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let status = wait_timeout(&mut child, Duration::from_secs(20));
    (status, reader.join().unwrap())
}

fn wait_timeout(c: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(s) = c.try_wait().unwrap() {
            return s;
        }
        if Instant::now() > deadline {
            let _ = c.kill();
            panic!("memflux did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn unsafe_kill(pid: u32, sig: i32) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A raw socket speaking bytes.
pub struct RawCon {
    pub s: TcpStream,
}

impl RawCon {
    pub fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).unwrap();
    }

    /// Reads until `n` bytes have arrived (or the peer closes).
    pub fn read_n(&mut self, n: usize) -> Vec<u8> {
        let mut out = vec![0; n];
        let mut got = 0;
        while got < n {
            match self.s.read(&mut out[got..]) {
                Ok(0) => break,
                Ok(k) => got += k,
                Err(e) => panic!("read: {e}"),
            }
        }
        out.truncate(got);
        out
    }

    /// Reads exactly the bytes of `expected` and returns them as a string.
    pub fn expect(&mut self, expected: &str) {
        let got = self.read_n(expected.len());
        assert_eq!(String::from_utf8_lossy(&got), expected);
    }

    /// Reads one line (through CRLF).
    pub fn line(&mut self) -> String {
        let mut out = Vec::new();
        let mut b = [0u8; 1];
        while !out.ends_with(b"\r\n") {
            match self.s.read(&mut b) {
                Ok(0) => break,
                Ok(_) => out.push(b[0]),
                Err(e) => panic!("read: {e}"),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// True when the server closed the connection (EOF on the next read).
    pub fn closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.s.read(&mut b), Ok(0) | Err(_))
    }
}

/// Encodes a command as a RESP multibulk request.
pub fn encode<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        let a = a.as_ref();
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The error text Redis sends for a wrong argument count.
pub fn arity_err(name: &str) -> String {
    format!("-ERR wrong number of arguments for '{name}' command\r\n")
}

impl RawCon {
    /// Reads one complete reply (aggregates included) and returns its bytes as text.
    pub fn read_reply(&mut self) -> String {
        let mut out = String::new();
        self.read_reply_into(&mut out);
        out
    }

    fn read_reply_into(&mut self, out: &mut String) {
        let line = self.line();
        assert!(
            !line.is_empty(),
            "connection closed while reading a reply (so far: {out:?})"
        );
        out.push_str(&line);
        let n: i64 = line[1..].trim_end().parse().unwrap_or(0);
        match &line[..1] {
            "$" | "=" | "!" if n >= 0 => {
                out.push_str(&String::from_utf8_lossy(&self.read_n(n as usize + 2)))
            }
            "*" | "~" | ">" => (0..n.max(0)).for_each(|_| self.read_reply_into(out)),
            "%" | "|" => (0..2 * n.max(0)).for_each(|_| self.read_reply_into(out)),
            _ => {}
        }
    }

    /// Sends one command and returns its whole reply as text.
    pub fn call(&mut self, args: &[&str]) -> String {
        self.send(&encode(args));
        self.read_reply()
    }

    /// Sends one command and returns the first line of its reply, without CRLF.
    pub fn call_line(&mut self, args: &[&str]) -> String {
        self.send(&encode(args));
        self.line().trim_end().to_string()
    }
}

/// Keys that hash to shard `shard` of `n` (for tests that need keys on each shard).
pub fn keys_on_shard(shard: usize, n: usize, count: usize, prefix: &str) -> Vec<String> {
    (0..)
        .map(|i| format!("{prefix}{i}"))
        .filter(|k| memflux::shard::routing::shard_of(k.as_bytes(), n) == shard)
        .take(count)
        .collect()
}

/// A reply as text: `OK`, `:1`, `$value`, `nil`, arrays and sets as `[a, b]`, and an
/// error kept in its place (a pipeline with `ignore_errors`) as `-message`.
pub fn show(v: &redis::Value) -> String {
    use redis::Value;
    match v {
        Value::Nil => "nil".into(),
        Value::Okay => "OK".into(),
        Value::Int(n) => format!(":{n}"),
        Value::BulkString(b) => format!("${}", String::from_utf8_lossy(b)),
        Value::SimpleString(s) => s.clone(),
        Value::Array(items) | Value::Set(items) => {
            let items: Vec<String> = items.iter().map(show).collect();
            format!("[{}]", items.join(", "))
        }
        Value::ServerError(e) => format!("-{}", e.details().unwrap_or_default()),
        other => format!("{other:?}"),
    }
}
