//! Expiry end to end: lazy and active expiry, EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT with
//! NX/XX/GT/LT, TTL/PTTL/EXPIRETIME/PEXPIRETIME, PERSIST — on keys of both shards.

mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{keys_on_shard, RawCon, Server};
use redis::Connection;

/// Sends one command on a raw socket and returns its single-line reply.
fn raw(con: &mut RawCon, args: &[&str]) -> String {
    con.call_line(args)
}

fn int(con: &mut Connection, args: &[&str]) -> i64 {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(con).unwrap()
}

fn set(con: &mut Connection, k: &str, v: &str) {
    let _: () = redis::cmd("SET").arg(k).arg(v).query(con).unwrap();
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A key on shard 0 and a key on shard 1.
fn both(prefix: &str) -> [String; 2] {
    [
        keys_on_shard(0, 2, 1, prefix).remove(0),
        keys_on_shard(1, 2, 1, prefix).remove(0),
    ]
}

#[test]
fn lazy_expiry_hides_and_deletes_keys() {
    let server = Server::start();
    let mut con = server.con();
    for k in both("lazy") {
        let _: () = redis::cmd("SET")
            .arg(&k)
            .arg("v")
            .arg("PX")
            .arg(50)
            .query(&mut con)
            .unwrap();
        let v: Option<String> = redis::cmd("GET").arg(&k).query(&mut con).unwrap();
        assert_eq!(v.as_deref(), Some("v"), "alive before its time");
        let t = int(&mut con, &["PTTL", &k]);
        assert!(t > 0 && t <= 50, "pttl {t}");
    }
    std::thread::sleep(Duration::from_millis(120));
    for k in both("lazy") {
        let v: Option<String> = redis::cmd("GET").arg(&k).query(&mut con).unwrap();
        assert_eq!(v, None);
        assert_eq!(int(&mut con, &["EXISTS", &k]), 0);
        assert_eq!(int(&mut con, &["TTL", &k]), -2);
        assert_eq!(int(&mut con, &["PTTL", &k]), -2);
    }
}

#[test]
fn active_expiry_removes_keys_nobody_reads() {
    let server = Server::start();
    let mut con = server.con();
    let memory_before = used_memory(&mut con);
    const N: usize = 20_000;
    let mut pipe = redis::pipe();
    for i in 0..N {
        pipe.cmd("SET")
            .arg(format!("vol:{i}"))
            .arg("some value")
            .arg("PX")
            .arg(100)
            .ignore();
    }
    // Keys without a TTL must survive the cycle.
    let keep: Vec<String> = keys_on_shard(0, 2, 50, "keep:")
        .into_iter()
        .chain(keys_on_shard(1, 2, 50, "keep:"))
        .collect();
    for k in &keep {
        pipe.cmd("SET").arg(k).arg("v").ignore();
    }
    let _: () = pipe.query(&mut con).unwrap();
    let size = int(&mut con, &["DBSIZE"]);
    assert!(size > 100, "the volatile keys are there at first ({size})");
    let memory_loaded = used_memory(&mut con);
    assert!(
        memory_loaded > memory_before + N as u64 * 20,
        "{memory_before} -> {memory_loaded}"
    );

    // DBSIZE counts keys whether or not they are past their TTL (as in Redis), so it only
    // drops when the active cycle deletes them; nothing here reads a volatile key.
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut size;
    loop {
        std::thread::sleep(Duration::from_millis(100));
        size = int(&mut con, &["DBSIZE"]);
        if size == keep.len() as i64 || Instant::now() > deadline {
            break;
        }
    }
    assert_eq!(
        size,
        keep.len() as i64,
        "active expiry did not remove the volatile keys in time"
    );
    assert_eq!(int(&mut con, &["EXISTS", &keep[0], &keep[99]]), 2);
    // The memory comes back: what is left is the kept keys' share.
    let memory_after = used_memory(&mut con);
    assert!(
        memory_after < memory_before + (memory_loaded - memory_before) / 20,
        "used_memory {memory_before} -> {memory_loaded} -> {memory_after}"
    );
}

/// INFO's used_memory: the keyspaces' bytes summed over shards.
fn used_memory(con: &mut Connection) -> u64 {
    let info: String = redis::cmd("INFO").arg("memory").query(con).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("INFO memory has used_memory")
}

#[test]
fn expire_conditions_matrix() {
    let server = Server::start();
    let mut con = server.con();
    let mut r = server.raw();
    for k in both("cond") {
        let k = k.as_str();
        // No TTL yet: NX sets, XX and GT refuse, LT sets (no TTL counts as infinite).
        set(&mut con, k, "v");
        assert_eq!(int(&mut con, &["EXPIRE", k, "100", "XX"]), 0);
        assert_eq!(int(&mut con, &["EXPIRE", k, "100", "GT"]), 0);
        assert_eq!(int(&mut con, &["TTL", k]), -1);
        assert_eq!(int(&mut con, &["EXPIRE", k, "100", "NX"]), 1);
        assert_eq!(int(&mut con, &["TTL", k]), 100);
        // Has a TTL: NX refuses.
        assert_eq!(int(&mut con, &["EXPIRE", k, "300", "nx"]), 0);
        assert_eq!(int(&mut con, &["TTL", k]), 100);
        // XX sets.
        assert_eq!(int(&mut con, &["EXPIRE", k, "200", "XX"]), 1);
        assert_eq!(int(&mut con, &["TTL", k]), 200);
        // GT: only a later time.
        assert_eq!(int(&mut con, &["EXPIRE", k, "150", "GT"]), 0);
        assert_eq!(
            int(
                &mut con,
                &["EXPIREAT", k, &(now_ms() / 1000 + 200).to_string(), "GT"]
            ),
            0
        );
        assert_eq!(int(&mut con, &["EXPIRE", k, "250", "GT"]), 1);
        assert_eq!(int(&mut con, &["TTL", k]), 250);
        // LT: only an earlier time.
        assert_eq!(int(&mut con, &["EXPIRE", k, "400", "LT"]), 0);
        assert_eq!(int(&mut con, &["EXPIRE", k, "120", "LT"]), 1);
        assert_eq!(int(&mut con, &["TTL", k]), 120);
        // Equal times are neither greater nor less.
        let at = (now_ms() + 500_000).to_string();
        assert_eq!(int(&mut con, &["PEXPIREAT", k, &at]), 1);
        assert_eq!(int(&mut con, &["PEXPIREAT", k, &at, "GT"]), 0);
        assert_eq!(int(&mut con, &["PEXPIREAT", k, &at, "LT"]), 0);
        // XX combines with GT or LT.
        assert_eq!(int(&mut con, &["PEXPIRE", k, "900000", "XX", "GT"]), 1);
        assert_eq!(int(&mut con, &["PEXPIRE", k, "800000", "GT", "XX"]), 0);
        assert_eq!(int(&mut con, &["PEXPIRE", k, "700000", "XX", "LT"]), 1);
        let _: i64 = redis::cmd("PERSIST").arg(k).query(&mut con).unwrap();
        assert_eq!(
            int(&mut con, &["PEXPIRE", k, "700000", "XX", "LT"]),
            0,
            "XX needs a TTL"
        );
        assert_eq!(
            int(&mut con, &["EXPIRE", k, "700", "LT"]),
            1,
            "LT passes without a TTL"
        );
        // Repeating an option is fine.
        assert_eq!(int(&mut con, &["EXPIRE", k, "600", "GT", "GT"]), 0);
        // Missing keys: 0 whatever the options.
        for opt in ["NX", "XX", "GT", "LT"] {
            assert_eq!(int(&mut con, &["EXPIRE", "missing", "10", opt]), 0);
        }

        let nx_err = "-ERR NX and XX, GT or LT options at the same time are not compatible";
        assert_eq!(raw(&mut r, &["EXPIRE", k, "10", "NX", "XX"]), nx_err);
        assert_eq!(raw(&mut r, &["EXPIRE", k, "10", "GT", "NX"]), nx_err);
        assert_eq!(raw(&mut r, &["PEXPIRE", k, "10", "nx", "lt"]), nx_err);
        assert_eq!(raw(&mut r, &["EXPIRE", k, "10", "NX", "GT", "LT"]), nx_err);
        assert_eq!(
            raw(&mut r, &["EXPIREAT", k, "10", "GT", "LT"]),
            "-ERR GT and LT options at the same time are not compatible"
        );
        assert_eq!(
            raw(&mut r, &["PEXPIREAT", k, "10", "XX", "LT", "GT"]),
            "-ERR GT and LT options at the same time are not compatible"
        );
        assert_eq!(
            raw(&mut r, &["EXPIRE", k, "10", "FOO"]),
            "-ERR Unsupported option FOO"
        );
        assert_eq!(
            raw(&mut r, &["EXPIRE", k, "10", "NX", "bar"]),
            "-ERR Unsupported option bar"
        );
        // Options are checked before the time.
        assert_eq!(raw(&mut r, &["EXPIRE", k, "abc", "NX", "XX"]), nx_err);
        assert_eq!(
            int(&mut con, &["TTL", k]),
            700,
            "failed calls changed nothing"
        );
    }
}

#[test]
fn expire_in_the_past_deletes() {
    let server = Server::start();
    let mut con = server.con();
    let now_s = (now_ms() / 1000).to_string();
    let past_ms = (now_ms() - 10_000).to_string();
    let cases: [&[&str]; 6] = [
        &["EXPIRE", "-1"],
        &["EXPIRE", "0"],
        &["PEXPIRE", "-100"],
        &["PEXPIRE", "0"],
        &["EXPIREAT", &now_s],
        &["PEXPIREAT", &past_ms],
    ];
    for k in both("past") {
        for case in cases {
            set(&mut con, &k, "v");
            assert_eq!(int(&mut con, &[case[0], &k, case[1]]), 1, "{case:?}");
            assert_eq!(int(&mut con, &["EXISTS", &k]), 0, "{case:?} deletes");
        }
        // A past time still obeys the conditions: GT fails on a key without TTL...
        set(&mut con, &k, "v");
        assert_eq!(int(&mut con, &["EXPIRE", &k, "-5", "GT"]), 0);
        assert_eq!(int(&mut con, &["EXPIRE", &k, "-5", "XX"]), 0);
        assert_eq!(int(&mut con, &["EXISTS", &k]), 1);
        // ...and LT passes, deleting it.
        assert_eq!(int(&mut con, &["EXPIRE", &k, "-5", "LT"]), 1);
        assert_eq!(int(&mut con, &["EXISTS", &k]), 0);
        assert_eq!(int(&mut con, &["PEXPIREAT", &k, "1"]), 0, "missing key");
    }
}

#[test]
fn expire_time_overflow_and_bad_numbers() {
    let server = Server::start();
    let mut con = server.con();
    let mut r = server.raw();
    for k in both("ovf") {
        set(&mut con, &k, "v");
        let k = k.as_str();
        let invalid = |cmd: &str| format!("-ERR invalid expire time in '{cmd}' command");
        assert_eq!(
            raw(&mut r, &["EXPIRE", k, "9223372036854775807"]),
            invalid("expire")
        );
        assert_eq!(
            raw(&mut r, &["EXPIRE", k, "9223372036854776"]),
            invalid("expire")
        );
        assert_eq!(
            raw(&mut r, &["expire", k, "-9223372036854776"]),
            invalid("expire")
        );
        assert_eq!(
            raw(&mut r, &["PEXPIRE", k, "9223372036854775807"]),
            invalid("pexpire")
        );
        assert_eq!(
            raw(&mut r, &["EXPIREAT", k, "9223372036854776"]),
            invalid("expireat")
        );
        assert_eq!(
            raw(&mut r, &["EXPIRE", k, "abc"]),
            "-ERR value is not an integer or out of range"
        );
        assert_eq!(
            raw(&mut r, &["PEXPIRE", k, "1.5"]),
            "-ERR value is not an integer or out of range"
        );
        assert_eq!(
            raw(&mut r, &["EXPIREAT", k, ""]),
            "-ERR value is not an integer or out of range"
        );
        assert_eq!(
            raw(&mut r, &["PEXPIREAT", k, "9223372036854775808"]),
            "-ERR value is not an integer or out of range"
        );
        assert_eq!(
            raw(&mut r, &["EXPIRE", "missing", "x"]),
            "-ERR value is not an integer or out of range"
        );
        assert_eq!(int(&mut con, &["TTL", k]), -1, "errors leave the key alone");
        // The largest representable times are accepted.
        assert_eq!(raw(&mut r, &["EXPIREAT", k, "9223372036854775"]), ":1");
        assert_eq!(
            int(&mut con, &["PEXPIRETIME", k]),
            9_223_372_036_854_775_000
        );
        assert_eq!(raw(&mut r, &["PEXPIREAT", k, "9223372036854775807"]), ":1");
        assert_eq!(int(&mut con, &["PEXPIRETIME", k]), i64::MAX);
        assert_eq!(
            int(&mut con, &["EXPIRETIME", k]),
            9_223_372_036_854_776,
            "rounded, not overflowed"
        );
        let ttl = int(&mut con, &["TTL", k]);
        assert!(ttl > 9_000_000_000_000_000, "ttl {ttl}");
        for cmd in ["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"] {
            assert_eq!(
                raw(&mut r, &[cmd, k]),
                format!(
                    "-ERR wrong number of arguments for '{}' command",
                    cmd.to_lowercase()
                )
            );
        }
    }
}

#[test]
fn ttl_and_pttl_report_and_round() {
    let server = Server::start();
    let mut con = server.con();
    let mut r = server.raw();
    for k in both("ttl") {
        let k = k.as_str();
        assert_eq!(int(&mut con, &["TTL", k]), -2);
        assert_eq!(int(&mut con, &["PTTL", k]), -2);
        set(&mut con, k, "v");
        assert_eq!(int(&mut con, &["TTL", k]), -1);
        assert_eq!(int(&mut con, &["PTTL", k]), -1);
        // TTL rounds to the nearest second: (ms + 500) / 1000. 2900 ms left reads 3 (not
        // 2 as truncation would give), 2100 ms reads 2 (not 3 as rounding up would).
        assert_eq!(int(&mut con, &["PEXPIRE", k, "2900"]), 1);
        assert_eq!(int(&mut con, &["TTL", k]), 3);
        assert_eq!(int(&mut con, &["PEXPIRE", k, "2100"]), 1);
        assert_eq!(int(&mut con, &["TTL", k]), 2);
        assert_eq!(int(&mut con, &["PEXPIRE", k, "400"]), 1);
        assert_eq!(int(&mut con, &["TTL", k]), 0);
        assert_eq!(int(&mut con, &["EXPIRE", k, "100"]), 1);
        assert_eq!(int(&mut con, &["TTL", k]), 100);
        let p = int(&mut con, &["PTTL", k]);
        assert!(p > 99_000 && p <= 100_000, "pttl {p}");
        assert_eq!(
            raw(&mut r, &["TTL"]),
            "-ERR wrong number of arguments for 'ttl' command"
        );
        assert_eq!(
            raw(&mut r, &["PTTL", k, k]),
            "-ERR wrong number of arguments for 'pttl' command"
        );
    }
}

#[test]
fn expiretime_reports_absolute_times() {
    let server = Server::start();
    let mut con = server.con();
    let mut r = server.raw();
    // A second boundary well in the future.
    let base_s = now_ms() / 1000 + 100_000;
    for k in both("abs") {
        let k = k.as_str();
        assert_eq!(int(&mut con, &["EXPIRETIME", k]), -2);
        assert_eq!(int(&mut con, &["PEXPIRETIME", k]), -2);
        set(&mut con, k, "v");
        assert_eq!(int(&mut con, &["EXPIRETIME", k]), -1);
        assert_eq!(int(&mut con, &["PEXPIRETIME", k]), -1);
        assert_eq!(int(&mut con, &["EXPIREAT", k, &base_s.to_string()]), 1);
        assert_eq!(int(&mut con, &["EXPIRETIME", k]), base_s);
        assert_eq!(int(&mut con, &["PEXPIRETIME", k]), base_s * 1000);
        // EXPIRETIME rounds milliseconds to the nearest second.
        let t = base_s * 1000 + 499;
        assert_eq!(int(&mut con, &["PEXPIREAT", k, &t.to_string()]), 1);
        assert_eq!(int(&mut con, &["PEXPIRETIME", k]), t);
        assert_eq!(int(&mut con, &["EXPIRETIME", k]), base_s);
        let t = base_s * 1000 + 500;
        assert_eq!(int(&mut con, &["PEXPIREAT", k, &t.to_string()]), 1);
        assert_eq!(int(&mut con, &["EXPIRETIME", k]), base_s + 1);
        // Relative expiries land at now + ttl.
        let before = now_ms();
        assert_eq!(int(&mut con, &["PEXPIRE", k, "50000"]), 1);
        let after = now_ms();
        let at = int(&mut con, &["PEXPIRETIME", k]);
        assert!(
            at >= before + 50_000 && at <= after + 50_000,
            "{before} {at} {after}"
        );
        assert_eq!(
            raw(&mut r, &["EXPIRETIME"]),
            "-ERR wrong number of arguments for 'expiretime' command"
        );
        assert_eq!(
            raw(&mut r, &["PEXPIRETIME", k, k]),
            "-ERR wrong number of arguments for 'pexpiretime' command"
        );
    }
}

#[test]
fn persist_removes_the_ttl() {
    let server = Server::start();
    let mut con = server.con();
    let mut r = server.raw();
    for k in both("persist") {
        let k = k.as_str();
        assert_eq!(int(&mut con, &["PERSIST", k]), 0, "missing key");
        set(&mut con, k, "v");
        assert_eq!(int(&mut con, &["PERSIST", k]), 0, "no TTL to remove");
        assert_eq!(int(&mut con, &["PEXPIRE", k, "150"]), 1);
        assert_eq!(int(&mut con, &["PERSIST", k]), 1);
        assert_eq!(int(&mut con, &["TTL", k]), -1);
        assert_eq!(int(&mut con, &["PERSIST", k]), 0);
        assert_eq!(
            raw(&mut r, &["PERSIST"]),
            "-ERR wrong number of arguments for 'persist' command"
        );
    }
    // Well past the removed TTL, the keys (never read since) are still there.
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(int(&mut con, &["DBSIZE"]), 2);
    for k in both("persist") {
        assert_eq!(int(&mut con, &["EXISTS", &k]), 1);
    }
}

#[test]
fn set_without_ttl_clears_it_and_expire_keeps_the_value() {
    let server = Server::start();
    let mut con = server.con();
    for k in both("keepval") {
        set(&mut con, &k, "value");
        assert_eq!(int(&mut con, &["EXPIRE", &k, "50"]), 1);
        let v: String = redis::cmd("GET").arg(&k).query(&mut con).unwrap();
        assert_eq!(v, "value");
        set(&mut con, &k, "again");
        assert_eq!(int(&mut con, &["TTL", &k]), -1);
        // Overwriting an expiry replaces it.
        assert_eq!(int(&mut con, &["EXPIRE", &k, "50"]), 1);
        assert_eq!(int(&mut con, &["EXPIRE", &k, "500"]), 1);
        assert_eq!(int(&mut con, &["TTL", &k]), 500);
    }
}
