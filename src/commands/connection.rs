//! Connection commands: PING, ECHO, AUTH, HELLO, QUIT, SELECT, RESET, CLIENT.

use super::util::{db_arg, help_reply, int_arg, is, subcommand_arity, unknown_subcommand};
use super::{
    flags::*, spec, CmdError, CmdResult, CommandSpec, Cross, LocalBoxFuture, OwnedArgs, Run,
};
use crate::protocol::{Argv, Protocol, ReplyBuf};
use crate::server::client::Client;
use crate::shard::now_ms;
use crate::shard::ops::{OpResult, ShardOp};
use crate::util::numbers;

/// # Format
/// `PING [message]`
fn ping(c: &mut Client, argv: &Argv<'_>, out: &mut ReplyBuf) -> CmdResult {
    // The table's arity (-1) lets any count through; Redis accepts at most one message.
    if argv.len() > 2 {
        return Err(CmdError::wrong_arity("ping"));
    }
    // A subscribed RESP2 connection reads every reply as a message frame, so PING
    // answers in that shape: ["pong", message or ""].
    if c.proto == Protocol::Resp2 && c.pubsub.active() {
        out.array(2);
        out.bulk(b"pong");
        out.bulk(if argv.len() == 2 { argv.get(1) } else { b"" });
        return Ok(());
    }
    match argv.len() {
        1 => out.simple(b"PONG"),
        _ => out.bulk(argv.get(1)),
    }
    Ok(())
}

/// # Format
/// `ECHO message`
fn echo(_c: &mut Client, argv: &Argv<'_>, out: &mut ReplyBuf) -> CmdResult {
    out.bulk(argv.get(1));
    Ok(())
}

/// # Format
/// `QUIT` — replies OK, then the connection closes once pending replies are written.
fn quit(c: &mut Client, _argv: &Argv<'_>, out: &mut ReplyBuf) -> CmdResult {
    c.close_after_reply = true;
    out.ok();
    Ok(())
}

/// # Format
/// `SELECT index`
fn select(c: &mut Client, argv: &Argv<'_>, out: &mut ReplyBuf) -> CmdResult {
    // Redis reads the index as a C int: a 64-bit value outside it gets its own message
    // before the database range is checked.
    let n = int_arg(argv.get(1))?;
    if i32::try_from(n).is_err() {
        return Err(CmdError::msg(format!(
            "ERR value is out of range, value must between {} and {}",
            i32::MIN,
            i32::MAX
        )));
    }
    let databases = c.shard.config.borrow().databases;
    c.db = db_arg(argv.get(1), databases)?;
    c.info.borrow_mut().db = c.db;
    out.ok();
    Ok(())
}

/// # Format
/// `RESET` — back to a fresh connection's state.
fn reset(c: &mut Client, _argv: &Argv<'_>, out: &mut ReplyBuf) -> CmdResult {
    crate::server::pubsub::unsubscribe_all(c);
    c.db = 0;
    // Leaves MULTI; the watched keys are forgotten by the connection loop (it needs to
    // reach their shards).
    c.multi = None;
    c.proto = Protocol::Resp2;
    {
        let mut info = c.info.borrow_mut();
        info.db = 0;
        info.resp = 2;
        info.name.clear();
    }
    out.proto = Protocol::Resp2;
    out.simple(b"RESET");
    Ok(())
}

/// Client names may not contain spaces, newlines or other special characters.
fn valid_name(name: &[u8]) -> bool {
    name.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

/// No users or passwords are configured: every connection is the `default` user, which,
/// as in Redis without `requirepass`, accepts any password. Other user names do not exist.
fn check_credentials(user: &[u8]) -> bool {
    user == b"default"
}

fn wrong_pass() -> CmdError {
    CmdError::msg("WRONGPASS invalid username-password pair or user is disabled.")
}

/// # Format
/// `AUTH [username] password`
fn auth(_c: &mut Client, argv: &Argv<'_>, out: &mut ReplyBuf) -> CmdResult {
    match argv.len() {
        // The one-argument form authenticates the default user by password, which only
        // makes sense when it has one; Redis says so rather than accept it.
        2 => Err(CmdError::msg(
            "ERR AUTH <password> called without any password configured for the default user. \
             Are you sure your configuration is correct?",
        )),
        3 if check_credentials(argv.get(1)) => {
            out.ok();
            Ok(())
        }
        3 => Err(wrong_pass()),
        _ => Err(CmdError::Syntax),
    }
}

/// # Format
/// `HELLO [protover [AUTH username password] [SETNAME clientname]]`
fn hello(c: &mut Client, argv: &Argv<'_>, out: &mut ReplyBuf) -> CmdResult {
    let mut proto = c.proto;
    let mut i = 1;
    if argv.len() > 1 {
        let v = int_arg(argv.get(1))
            .map_err(|_| CmdError::msg("ERR Protocol version is not an integer or out of range"))?;
        proto = match v {
            2 => Protocol::Resp2,
            3 => Protocol::Resp3,
            _ => return Err(CmdError::msg("NOPROTO unsupported protocol version")),
        };
        i = 2;
    }
    let mut name = None;
    let mut auth_ok = true;
    while i < argv.len() {
        let more = argv.len() - i - 1;
        if is(argv.get(i), "AUTH") && more >= 2 {
            auth_ok = check_credentials(argv.get(i + 1));
            i += 3;
        } else if is(argv.get(i), "SETNAME") && more >= 1 {
            // Checked as it is read, so a bad name fails before the credentials are looked
            // at, as in Redis; the last valid one counts.
            let n = argv.get(i + 1);
            if !valid_name(n) {
                return Err(CmdError::msg(
                    "ERR Client names cannot contain spaces, newlines or special characters.",
                ));
            }
            name = Some(n);
            i += 2;
        } else {
            return Err(CmdError::msg(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(argv.get(i))
            )));
        }
    }
    // Every option parsed, then the credentials; nothing changes before both pass.
    if !auth_ok {
        return Err(wrong_pass());
    }
    c.proto = proto;
    {
        let mut info = c.info.borrow_mut();
        info.resp = proto as u8;
        if let Some(n) = name {
            info.name = n.to_vec();
        }
    }
    out.proto = proto;
    out.map(7);
    out.bulk(b"server");
    out.bulk(b"redis");
    out.bulk(b"version");
    out.bulk(crate::server::REDIS_VERSION.as_bytes());
    out.bulk(b"proto");
    out.int(proto as i64);
    out.bulk(b"id");
    out.int(c.id as i64);
    out.bulk(b"mode");
    out.bulk(b"standalone");
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"modules");
    out.array(0);
    Ok(())
}

const CLIENT_HELP: &[&str] = &[
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "    * ID <client-id> [<client-id> ...]",
    "      Return clients of specified IDs only.",
    "NO-EVICT (ON|OFF)",
    "    Protect the current client connection from eviction in the case of OOM, when",
    "    the memory limit is reached. MemFlux never evicts, so this only records the choice.",
    "SETINFO <option> <value>",
    "    Set client meta attr. Options are:",
    "    * LIB-NAME: the client lib name.",
    "    * LIB-VER: the client lib version.",
    "SETNAME <connection-name>",
    "    Assign the name <connection-name> to the current connection.",
    "HELP",
    "    Print this help.",
];

/// Which connections `CLIENT LIST` reports.
enum ListFilter {
    All,
    /// A client type no MemFlux connection has (master, replica, pubsub).
    Nothing,
    /// These ids, in this order (repeats repeat, as in Redis).
    Ids(Vec<i64>),
}

/// Parses the options of `CLIENT LIST`: nothing, `TYPE type`, or `ID id [id ...]`.
fn client_list_filter(args: &OwnedArgs) -> Result<ListFilter, CmdError> {
    if args.len() == 2 {
        return Ok(ListFilter::All);
    }
    if args.len() == 4 && is(&args[2], "TYPE") {
        let t = args[3].to_ascii_lowercase();
        return match t.as_slice() {
            b"normal" => Ok(ListFilter::All),
            b"master" | b"replica" | b"slave" | b"pubsub" => Ok(ListFilter::Nothing),
            _ => Err(CmdError::msg(format!(
                "ERR Unknown client type '{}'",
                String::from_utf8_lossy(&args[3])
            ))),
        };
    }
    if args.len() > 3 && is(&args[2], "ID") {
        let ids = args[3..]
            .iter()
            .map(|a| numbers::parse_i64(a).ok_or_else(|| CmdError::msg("ERR Invalid client ID")))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(ListFilter::Ids(ids));
    }
    Err(CmdError::Syntax)
}

/// The id a `CLIENT LIST` line starts with (`id=12 addr=...`).
fn line_id(line: &str) -> Option<i64> {
    line.strip_prefix("id=")?.split(' ').next()?.parse().ok()
}

/// # Format
/// `CLIENT ID | GETNAME | SETNAME name | INFO | LIST [TYPE type | ID id [id ...]] |
///  SETINFO LIB-NAME|LIB-VER value | NO-EVICT ON|OFF | HELP`
fn client<'a>(
    c: &'a mut Client,
    args: OwnedArgs,
    out: &'a mut ReplyBuf,
) -> LocalBoxFuture<'a, CmdResult> {
    Box::pin(async move {
        let sub = args[1].to_ascii_lowercase();
        // Each subcommand's exact argument count (negative: at least), as Redis declares it.
        let (arity, full_name): (i32, &'static str) = match sub.as_slice() {
            b"id" => (2, "client|id"),
            b"getname" => (2, "client|getname"),
            b"setname" => (3, "client|setname"),
            b"setinfo" => (4, "client|setinfo"),
            b"info" => (2, "client|info"),
            b"list" => (-2, "client|list"),
            b"no-evict" => (3, "client|no-evict"),
            b"help" => (2, "client|help"),
            _ => return Err(unknown_subcommand(&args[1], "client")),
        };
        let n = args.len() as i32;
        if (arity >= 0 && n != arity) || n < -arity {
            return Err(subcommand_arity("client", &args[1]));
        }
        // CLIENT LIST and CLIENT INFO report the subcommand, as Redis does (`client|list`).
        c.info.borrow_mut().last_cmd = full_name;
        match sub.as_slice() {
            b"id" => out.int(c.id as i64),
            b"getname" => {
                let info = c.info.borrow();
                if info.name.is_empty() {
                    out.null();
                } else {
                    out.bulk(&info.name);
                }
            }
            b"setname" => {
                if !valid_name(&args[2]) {
                    return Err(CmdError::msg(
                        "ERR Client names cannot contain spaces, newlines or special characters.",
                    ));
                }
                // An empty name clears it.
                c.info.borrow_mut().name = args[2].clone();
                out.ok();
            }
            b"setinfo" => {
                // The option is checked before the value, and errors name it as sent.
                let lib_name = is(&args[2], "LIB-NAME");
                if !lib_name && !is(&args[2], "LIB-VER") {
                    return Err(CmdError::msg(format!(
                        "ERR Unrecognized option '{}'",
                        String::from_utf8_lossy(&args[2])
                    )));
                }
                if !valid_name(&args[3]) {
                    return Err(CmdError::msg(format!(
                        "ERR {} cannot contain spaces, newlines or special characters.",
                        String::from_utf8_lossy(&args[2])
                    )));
                }
                let mut info = c.info.borrow_mut();
                if lib_name {
                    info.lib_name = args[3].clone();
                } else {
                    info.lib_ver = args[3].clone();
                }
                out.ok();
            }
            b"info" => {
                let line = c.info.borrow().line(now_ms()) + "\n";
                out.verbatim(b"txt", line.as_bytes());
            }
            b"list" => {
                let filter = client_list_filter(&args)?;
                if matches!(filter, ListFilter::Nothing) {
                    out.verbatim(b"txt", b"");
                    return Ok(());
                }
                // Every core lists its own connections.
                let mut lines = Vec::new();
                for r in c.shard.broadcast(|_| ShardOp::ClientList).await {
                    if let OpResult::Clients(l) = r {
                        lines.extend(l);
                    }
                }
                let mut text = String::new();
                let mut push = |l: &str| {
                    text.push_str(l);
                    text.push('\n');
                };
                match filter {
                    ListFilter::Ids(ids) => {
                        for id in ids {
                            if let Some(l) = lines.iter().find(|l| line_id(l) == Some(id)) {
                                push(l);
                            }
                        }
                    }
                    _ => {
                        lines.sort_by_key(|l| line_id(l));
                        lines.iter().for_each(|l| push(l));
                    }
                }
                out.verbatim(b"txt", text.as_bytes());
            }
            b"no-evict" => {
                if !is(&args[2], "ON") && !is(&args[2], "OFF") {
                    return Err(CmdError::Syntax);
                }
                out.ok();
            }
            _ => help_reply(out, CLIENT_HELP),
        }
        Ok(())
    })
}

#[rustfmt::skip]
pub fn commands() -> Vec<CommandSpec> {
    let none = (0, 0, 0);
    vec![
        spec("ping", -1, FAST, none, "connection", "1.0.0", "Returns the server's liveliness response.", "O(1)", Run::Conn(ping), Cross::No),
        spec("echo", 2, LOADING | STALE | FAST, none, "connection", "1.0.0", "Returns the given string.", "O(1)", Run::Conn(echo), Cross::No),
        spec("quit", -1, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH, none, "connection", "1.0.0", "Closes the connection.", "O(1)", Run::Conn(quit), Cross::No),
        spec("select", 2, LOADING | STALE | FAST, none, "connection", "1.0.0", "Changes the selected database.", "O(1)", Run::Conn(select), Cross::No),
        spec("reset", 1, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH, none, "connection", "6.2.0", "Resets the connection.", "O(1)", Run::Conn(reset), Cross::No),
        spec("auth", -2, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH, none, "connection", "1.0.0", "Authenticates the connection.", "O(N) where N is the number of passwords defined for the user", Run::Conn(auth), Cross::No),
        spec("hello", -1, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH, none, "connection", "6.0.0", "Handshakes with the Redis server.", "O(1)", Run::Conn(hello), Cross::No),
        spec("client", -2, 0, none, "connection", "2.4.0", "A container for client connection commands.", "Depends on subcommand.", Run::Coord(client), Cross::No),
    ]
}
