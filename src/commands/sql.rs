//! `SQL <statement>`: one SQL statement over the JSON rows of the selected database.
//! Several arguments are joined with single spaces, so `redis-cli SQL SELECT * FROM t`
//! works unquoted.

use super::{
    flags::*, spec, CmdError, CmdResult, CommandSpec, Cross, LocalBoxFuture, OwnedArgs, Run,
};
use crate::protocol::ReplyBuf;
use crate::server::client::Client;
use crate::sql::{self, SqlOutput};

fn sql_command<'a>(
    c: &'a mut Client,
    args: OwnedArgs,
    out: &'a mut ReplyBuf,
) -> LocalBoxFuture<'a, CmdResult> {
    Box::pin(async move {
        let mut text = Vec::new();
        for (i, a) in args[1..].iter().enumerate() {
            if i > 0 {
                text.push(b' ');
            }
            text.extend_from_slice(a);
        }
        let Ok(text) = String::from_utf8(text) else {
            return Err(CmdError::msg("ERR SQL the statement is not valid UTF-8"));
        };
        match sql::execute(&c.shard, c.db, &text).await {
            Ok(SqlOutput::Rows(rows)) | Ok(SqlOutput::Lines(rows)) => {
                out.array(rows.len());
                for r in &rows {
                    out.bulk(r.as_bytes());
                }
            }
            Ok(SqlOutput::Count(n)) => out.int(n),
            Ok(SqlOutput::Ok) => out.ok(),
            Err(e) => {
                // One line: a RESP error cannot hold a line break.
                let msg = e.0.replace(['\r', '\n'], " ");
                return Err(CmdError::msg(format!("ERR SQL {msg}")));
            }
        }
        Ok(())
    })
}

#[rustfmt::skip]
pub fn commands() -> Vec<CommandSpec> {
    vec![
        spec("sql", -2, WRITE, (0, 0, 0), "sql", "0.1.0", "Runs one SQL statement over the JSON documents stored as table rows.", "O(N) where N is the number of rows the statement reads", Run::Coord(sql_command), Cross::No),
    ]
}
