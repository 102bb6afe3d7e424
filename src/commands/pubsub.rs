//! Pub/sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, PUBSUB,
//! and the shard-channel forms SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH.
//!
//! Subscriptions live in the connection's core (`server::pubsub`); publishing and the
//! PUBSUB queries ask every core, since subscribers may sit on any of them.

use std::sync::Arc;

use hashbrown::HashSet;

use super::util::{help_reply, subcommand_arity, unknown_subcommand};
use super::{
    flags::*, spec, CmdError, CmdResult, CommandSpec, Cross, LocalBoxFuture, OwnedArgs, Run,
};
use crate::protocol::{Argv, ReplyBuf};
use crate::server::client::Client;
use crate::server::pubsub::{self, Kind};
use crate::shard::ops::{OpResult, ShardOp};

/// # Format
/// `SUBSCRIBE channel [channel ...]`
fn subscribe(c: &mut Client, argv: &Argv<'_>, out: &mut ReplyBuf) -> CmdResult {
    pubsub::subscribe(c, Kind::Channel, argv, out);
    Ok(())
}

/// # Format
/// `UNSUBSCRIBE [channel [channel ...]]`
fn unsubscribe(c: &mut Client, argv: &Argv<'_>, out: &mut ReplyBuf) -> CmdResult {
    pubsub::unsubscribe(c, Kind::Channel, argv, out);
    Ok(())
}

/// # Format
/// `PSUBSCRIBE pattern [pattern ...]`
fn psubscribe(c: &mut Client, argv: &Argv<'_>, out: &mut ReplyBuf) -> CmdResult {
    pubsub::subscribe(c, Kind::Pattern, argv, out);
    Ok(())
}

/// # Format
/// `PUNSUBSCRIBE [pattern [pattern ...]]`
fn punsubscribe(c: &mut Client, argv: &Argv<'_>, out: &mut ReplyBuf) -> CmdResult {
    pubsub::unsubscribe(c, Kind::Pattern, argv, out);
    Ok(())
}

/// # Format
/// `SSUBSCRIBE shardchannel [shardchannel ...]`
fn ssubscribe(c: &mut Client, argv: &Argv<'_>, out: &mut ReplyBuf) -> CmdResult {
    pubsub::subscribe(c, Kind::Shard, argv, out);
    Ok(())
}

/// # Format
/// `SUNSUBSCRIBE [shardchannel [shardchannel ...]]`
fn sunsubscribe(c: &mut Client, argv: &Argv<'_>, out: &mut ReplyBuf) -> CmdResult {
    pubsub::unsubscribe(c, Kind::Shard, argv, out);
    Ok(())
}

/// Delivers `args[2]` on channel `args[1]` on every core; replies with the receiver count.
async fn deliver(c: &mut Client, args: &OwnedArgs, sharded: bool, out: &mut ReplyBuf) {
    let channel: Arc<[u8]> = args[1].as_slice().into();
    let message: Arc<[u8]> = args[2].as_slice().into();
    let receivers: i64 = c
        .shard
        .broadcast(|_| ShardOp::Publish {
            sharded,
            channel: channel.clone(),
            message: message.clone(),
        })
        .await
        .into_iter()
        .map(|r| match r {
            OpResult::Int(n) => n,
            _ => 0,
        })
        .sum();
    // A RESP3 client that receives its own message gets it before the reply, as from
    // Redis (the message was delivered while the command ran).
    if let Some(h) = &c.pubsub.handle {
        h.drain_into(&mut out.buf);
    }
    out.int(receivers);
}

/// # Format
/// `PUBLISH channel message`
fn publish<'a>(
    c: &'a mut Client,
    args: OwnedArgs,
    out: &'a mut ReplyBuf,
) -> LocalBoxFuture<'a, CmdResult> {
    Box::pin(async move {
        deliver(c, &args, false, out).await;
        Ok(())
    })
}

/// # Format
/// `SPUBLISH shardchannel message`
fn spublish<'a>(
    c: &'a mut Client,
    args: OwnedArgs,
    out: &'a mut ReplyBuf,
) -> LocalBoxFuture<'a, CmdResult> {
    Box::pin(async move {
        deliver(c, &args, true, out).await;
        Ok(())
    })
}

const PUBSUB_HELP: &[&str] = &[
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    List the channels that have subscribers, those matching <pattern> if given.",
    "NUMPAT",
    "    Count the distinct patterns clients are subscribed to.",
    "NUMSUB [<channel> ...]",
    "    Give the subscriber count of each <channel>; pattern subscriptions do not",
    "    count.",
    "SHARDCHANNELS [<pattern>]",
    "    List the shard channels that have subscribers, those matching <pattern> if given.",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Give the subscriber count of each shard channel.",
    "HELP",
    "    Print this help.",
];

/// Every core's names of `kind` (matching `pattern`), without repeats, sorted.
async fn all_names(c: &Client, kind: Kind, pattern: Option<&[u8]>) -> Vec<Vec<u8>> {
    let mut names: HashSet<Vec<u8>> = HashSet::new();
    let results = c
        .shard
        .broadcast(|_| ShardOp::PubSubNames {
            kind,
            pattern: pattern.map(<[u8]>::to_vec),
        })
        .await;
    for r in results {
        if let OpResult::Keys(k) = r {
            names.extend(k);
        }
    }
    let mut names: Vec<_> = names.into_iter().collect();
    names.sort_unstable();
    names
}

/// # Format
/// `PUBSUB CHANNELS [pattern] | NUMSUB [channel ...] | NUMPAT | SHARDCHANNELS [pattern] |
///  SHARDNUMSUB [shardchannel ...] | HELP`
fn pubsub_cmd<'a>(
    c: &'a mut Client,
    args: OwnedArgs,
    out: &'a mut ReplyBuf,
) -> LocalBoxFuture<'a, CmdResult> {
    Box::pin(async move {
        let sub = args[1].to_ascii_lowercase();
        let (arity, full_name): (i32, &'static str) = match sub.as_slice() {
            b"channels" => (-2, "pubsub|channels"),
            b"numsub" => (-2, "pubsub|numsub"),
            b"numpat" => (2, "pubsub|numpat"),
            b"shardchannels" => (-2, "pubsub|shardchannels"),
            b"shardnumsub" => (-2, "pubsub|shardnumsub"),
            b"help" => (2, "pubsub|help"),
            _ => return Err(unknown_subcommand(&args[1], "pubsub")),
        };
        let n = args.len() as i32;
        if (arity >= 0 && n != arity) || n < -arity {
            return Err(subcommand_arity("pubsub", &args[1]));
        }
        c.info.borrow_mut().last_cmd = full_name;
        match sub.as_slice() {
            b"channels" | b"shardchannels" => {
                // The table allows any count; only one optional pattern makes sense.
                if args.len() > 3 {
                    return Err(CmdError::msg(format!(
                        "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
                        String::from_utf8_lossy(&args[1])
                    )));
                }
                let kind = if sub == b"channels" {
                    Kind::Channel
                } else {
                    Kind::Shard
                };
                let names = all_names(c, kind, args.get(2).map(Vec::as_slice)).await;
                out.array(names.len());
                for name in &names {
                    out.bulk(name);
                }
            }
            b"numsub" | b"shardnumsub" => {
                let kind = if sub == b"numsub" {
                    Kind::Channel
                } else {
                    Kind::Shard
                };
                let names: Vec<Vec<u8>> = args[2..].to_vec();
                let mut totals = vec![0i64; names.len()];
                if !names.is_empty() {
                    let results = c
                        .shard
                        .broadcast(|_| ShardOp::PubSubCounts {
                            kind,
                            names: names.clone(),
                        })
                        .await;
                    for r in results {
                        if let OpResult::Ints(counts) = r {
                            totals.iter_mut().zip(counts).for_each(|(t, n)| *t += n);
                        }
                    }
                }
                out.array(2 * names.len());
                for (name, count) in names.iter().zip(totals) {
                    out.bulk(name);
                    out.int(count);
                }
            }
            // The same pattern subscribed on several cores is still one pattern.
            b"numpat" => out.int(all_names(c, Kind::Pattern, None).await.len() as i64),
            _ => help_reply(out, PUBSUB_HELP),
        }
        Ok(())
    })
}

#[rustfmt::skip]
pub fn commands() -> Vec<CommandSpec> {
    let none = (0, 0, 0);
    let subscribe_flags = PUBSUB | NOSCRIPT | LOADING | STALE;
    vec![
        spec("subscribe", -2, subscribe_flags, none, "pubsub", "2.0.0", "Listens for messages published to channels.", "O(N) where N is the number of channels to subscribe to.", Run::Conn(subscribe), Cross::No),
        spec("unsubscribe", -1, subscribe_flags, none, "pubsub", "2.0.0", "Stops listening to messages posted to channels.", "O(N) where N is the number of channels to unsubscribe.", Run::Conn(unsubscribe), Cross::No),
        spec("psubscribe", -2, subscribe_flags, none, "pubsub", "2.0.0", "Listens for messages published to channels that match one or more patterns.", "O(N) where N is the number of patterns to subscribe to.", Run::Conn(psubscribe), Cross::No),
        spec("punsubscribe", -1, subscribe_flags, none, "pubsub", "2.0.0", "Stops listening to messages published to channels that match one or more patterns.", "O(N) where N is the number of patterns to unsubscribe.", Run::Conn(punsubscribe), Cross::No),
        spec("publish", 3, PUBSUB | LOADING | STALE | FAST, none, "pubsub", "2.0.0", "Posts a message to a channel.", "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).", Run::Coord(publish), Cross::No),
        spec("pubsub", -2, 0, none, "pubsub", "2.8.0", "A container for Pub/Sub commands.", "Depends on subcommand.", Run::Coord(pubsub_cmd), Cross::No),
        // Shard channels count as keys (a cluster routes them by slot), as Redis declares.
        spec("ssubscribe", -2, subscribe_flags, (1, -1, 1), "pubsub", "7.0.0", "Listens for messages published to shard channels.", "O(N) where N is the number of shard channels to subscribe to.", Run::Conn(ssubscribe), Cross::No),
        spec("sunsubscribe", -1, subscribe_flags, (1, -1, 1), "pubsub", "7.0.0", "Stops listening to messages posted to shard channels.", "O(N) where N is the number of shard channels to unsubscribe.", Run::Conn(sunsubscribe), Cross::No),
        spec("spublish", 3, PUBSUB | LOADING | STALE | FAST, (1, 1, 1), "pubsub", "7.0.0", "Post a message to a shard channel", "O(N) where N is the number of clients subscribed to the receiving shard channel.", Run::Coord(spublish), Cross::No),
    ]
}
