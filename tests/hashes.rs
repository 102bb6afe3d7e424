//! The hash command family against the real server: every command, its errors, RESP3
//! map replies, empty-key removal and encodings. Replies are compared as text.

mod common;

use common::Server;

#[test]
fn hash_commands() {
    let server = Server::start();
    let mut c = server.raw();
    assert_eq!(c.call(&["HSET", "h", "a", "1", "b", "2"]), ":2\r\n");
    assert_eq!(
        c.call(&["HSET", "h", "a"]),
        "-ERR wrong number of arguments for 'hset' command\r\n"
    );
    assert_eq!(c.call(&["HGET", "h", "a"]), "$1\r\n1\r\n");
    assert_eq!(c.call(&["HGET", "h", "zz"]), "$-1\r\n");
    assert_eq!(c.call(&["HSETNX", "h", "a", "9"]), ":0\r\n");
    assert_eq!(c.call(&["HMSET", "h", "c", "3"]), "+OK\r\n");
    assert_eq!(c.call(&["HLEN", "h"]), ":3\r\n");
    assert_eq!(c.call(&["HSTRLEN", "h", "c"]), ":1\r\n");
    assert_eq!(c.call(&["HEXISTS", "h", "c"]), ":1\r\n");
    assert_eq!(c.call(&["HINCRBY", "h", "a", "10"]), ":11\r\n");
    assert_eq!(
        c.call(&["HINCRBY", "h", "a", "9223372036854775807"]),
        "-ERR increment or decrement would overflow\r\n"
    );
    assert_eq!(c.call(&["HINCRBYFLOAT", "h", "b", "0.5"]), "$3\r\n2.5\r\n");
    assert_eq!(c.call(&["HSET", "h", "s", "x"]), ":1\r\n");
    assert_eq!(
        c.call(&["HINCRBY", "h", "s", "1"]),
        "-ERR hash value is not an integer\r\n"
    );
    assert_eq!(
        c.call(&["HINCRBYFLOAT", "h", "s", "1"]),
        "-ERR hash value is not a float\r\n"
    );
    assert_eq!(c.call(&["HDEL", "h", "a", "b", "c", "s"]), ":4\r\n");
    assert_eq!(c.call(&["EXISTS", "h"]), ":0\r\n");
    assert_eq!(c.call(&["SET", "str", "v"]), "+OK\r\n");
    assert!(c.call(&["HGET", "str", "a"]).starts_with("-WRONGTYPE"));
    assert_eq!(c.call(&["HSET", "h2", "f", "v"]), ":1\r\n");
    assert_eq!(c.call(&["HRANDFIELD", "h2"]), "$1\r\nf\r\n");
    assert_eq!(
        c.call(&["HSCAN", "h2", "0"]),
        "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
    );
    assert_eq!(c.call(&["OBJECT", "ENCODING", "h2"]), "$8\r\nlistpack\r\n");
}
