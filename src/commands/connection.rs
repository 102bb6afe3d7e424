//! Connection commands: PING, ECHO, HELLO, QUIT, SELECT, RESET, CLIENT.

use super::util::{db_arg, help_reply, int_arg, is, subcommand_arity, unknown_subcommand};
use super::{flags::*, spec, CmdError, CmdResult, CommandSpec, Cross, LocalBoxFuture, OwnedArgs, Run};
use crate::protocol::{Argv, Protocol, ReplyBuf};
use crate::server::client::Client;
use crate::shard::now_ms;
use crate::shard::ops::{OpResult, ShardOp};

/// # Format
/// `PING [message]`
fn ping(_c: &mut Client, argv: &Argv<'_>, out: &mut ReplyBuf) -> CmdResult {
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
    let databases = c.shard.config.borrow().databases;
    c.db = db_arg(argv.get(1), databases)?;
    c.info.borrow_mut().db = c.db;
    out.ok();
    Ok(())
}

/// # Format
/// `RESET` — back to a fresh connection's state.
fn reset(c: &mut Client, _argv: &Argv<'_>, out: &mut ReplyBuf) -> CmdResult {
    c.db = 0;
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
    while i < argv.len() {
        let more = argv.len() - i - 1;
        if is(argv.get(i), "AUTH") && more >= 2 {
            // No users or passwords are configured: every client is the default user,
            // which, as in Redis without requirepass, accepts any password.
            i += 3;
        } else if is(argv.get(i), "SETNAME") && more >= 1 {
            let n = argv.get(i + 1);
            if !valid_name(n) {
                return Err(CmdError::msg("ERR Client names cannot contain spaces, newlines or special characters."));
            }
            name = Some(n.to_vec());
            i += 2;
        } else {
            return Err(CmdError::msg(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(argv.get(i))
            )));
        }
    }
    c.proto = proto;
    {
        let mut info = c.info.borrow_mut();
        info.resp = proto as u8;
        if let Some(n) = name {
            info.name = n;
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
    "LIST [TYPE <normal|master|replica|pubsub>] [ID <id> [<id> ...]]",
    "    Return information about client connections.",
    "SETINFO <option> <value>",
    "    Set client meta attr. Options are:",
    "    * LIB-NAME: the client lib name.",
    "    * LIB-VER: the client lib version.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "HELP",
    "    Print this help.",
];

/// # Format
/// `CLIENT ID | GETNAME | SETNAME name | INFO | LIST [TYPE type] [ID id ...] |
///  SETINFO LIB-NAME|LIB-VER value | HELP`
fn client<'a>(c: &'a mut Client, args: OwnedArgs, out: &'a mut ReplyBuf) -> LocalBoxFuture<'a, CmdResult> {
    Box::pin(async move {
        let sub = args[1].to_ascii_lowercase();
        let arity_err = || subcommand_arity("client", &args[1]);
        match sub.as_slice() {
            b"id" if args.len() == 2 => out.int(c.id as i64),
            b"getname" if args.len() == 2 => {
                let info = c.info.borrow();
                if info.name.is_empty() {
                    out.null();
                } else {
                    out.bulk(&info.name);
                }
            }
            b"setname" if args.len() == 3 => {
                if !valid_name(&args[2]) {
                    return Err(CmdError::msg(
                        "ERR Client names cannot contain spaces, newlines or special characters.",
                    ));
                }
                c.info.borrow_mut().name = args[2].clone();
                out.ok();
            }
            b"setinfo" if args.len() == 4 => {
                let value = &args[3];
                if !valid_name(value) && !value.is_empty() {
                    return Err(CmdError::msg(format!(
                        "ERR {} cannot contain spaces, newlines or special characters.",
                        String::from_utf8_lossy(&args[2]).to_ascii_uppercase()
                    )));
                }
                let mut info = c.info.borrow_mut();
                if is(&args[2], "LIB-NAME") {
                    info.lib_name = value.clone();
                } else if is(&args[2], "LIB-VER") {
                    info.lib_ver = value.clone();
                } else {
                    return Err(CmdError::msg(format!(
                        "ERR Unrecognized option '{}'",
                        String::from_utf8_lossy(&args[2])
                    )));
                }
                out.ok();
            }
            b"info" if args.len() == 2 => {
                let line = c.info.borrow().line(now_ms()) + "\n";
                out.verbatim(b"txt", line.as_bytes());
            }
            b"list" => {
                let mut ids: Option<Vec<u64>> = None;
                let mut i = 2;
                while i < args.len() {
                    if is(&args[i], "TYPE") && i + 1 < args.len() {
                        let t = args[i + 1].to_ascii_lowercase();
                        match t.as_slice() {
                            b"normal" => {}
                            b"master" | b"replica" | b"slave" | b"pubsub" => ids = Some(Vec::new()),
                            _ => {
                                return Err(CmdError::msg(format!(
                                    "ERR Unknown client type '{}'",
                                    String::from_utf8_lossy(&args[i + 1])
                                )))
                            }
                        }
                        i += 2;
                    } else if is(&args[i], "ID") && i + 1 < args.len() {
                        let mut v = ids.take().unwrap_or_default();
                        i += 1;
                        while i < args.len() {
                            match int_arg(&args[i]) {
                                Ok(id) if id > 0 => v.push(id as u64),
                                _ => return Err(CmdError::msg("ERR Invalid client ID")),
                            }
                            i += 1;
                        }
                        ids = Some(v);
                    } else {
                        return Err(CmdError::Syntax);
                    }
                }
                let mut text = String::new();
                for r in c.shard.broadcast(|_| ShardOp::ClientList).await {
                    if let OpResult::Clients(lines) = r {
                        for l in lines {
                            let keep = match &ids {
                                None => true,
                                Some(ids) => ids.iter().any(|id| l.starts_with(&format!("id={id} "))),
                            };
                            if keep {
                                text.push_str(&l);
                                text.push('\n');
                            }
                        }
                    }
                }
                out.verbatim(b"txt", text.as_bytes());
            }
            b"help" if args.len() == 2 => help_reply(out, CLIENT_HELP),
            b"id" | b"getname" | b"setname" | b"setinfo" | b"info" | b"help" => return Err(arity_err()),
            _ => return Err(unknown_subcommand(&args[1], "client")),
        }
        Ok(())
    })
}

#[rustfmt::skip]
pub fn commands() -> Vec<CommandSpec> {
    let none = (0, 0, 0);
    vec![
        spec("ping", -1, FAST | STALE, none, "connection", "1.0.0", "Returns the server's liveliness response.", "O(1)", Run::Conn(ping), Cross::No),
        spec("echo", 2, FAST | LOADING | STALE, none, "connection", "1.0.0", "Returns the given string.", "O(1)", Run::Conn(echo), Cross::No),
        spec("quit", -1, FAST | NO_AUTH | LOADING | STALE, none, "connection", "1.0.0", "Closes the connection.", "O(1)", Run::Conn(quit), Cross::No),
        spec("select", 2, FAST | LOADING | STALE, none, "connection", "1.0.0", "Changes the selected database.", "O(1)", Run::Conn(select), Cross::No),
        spec("reset", 1, FAST | NO_AUTH | LOADING | STALE, none, "connection", "6.2.0", "Resets the connection.", "O(1)", Run::Conn(reset), Cross::No),
        spec("hello", -1, FAST | NO_AUTH | LOADING | STALE, none, "connection", "6.0.0", "Handshakes with the Redis server.", "O(1)", Run::Conn(hello), Cross::No),
        spec("client", -2, LOADING | STALE, none, "connection", "2.4.0", "A container for client connection commands.", "Depends on subcommand.", Run::Coord(client), Cross::No),
    ]
}
