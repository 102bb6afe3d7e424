//! The JSON command family against the real server: every command, legacy against
//! JSONPath reply shapes, filters and recursive descent, NX/XX, the short form, errors
//! (wrong type, bad JSON, bad paths, missing keys), JSON.MGET and JSON.MSET across
//! shards, the nesting cap and RESP3.

mod common;

use common::{keys_on_shard, Server};

/// A client over a raw socket that returns each reply's exact bytes.
struct Cli(common::RawCon);

impl Cli {
    fn new(server: &Server) -> Cli {
        Cli(server.raw())
    }

    fn call(&mut self, args: &[&[u8]]) -> String {
        let mut req = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            req.extend_from_slice(a);
            req.extend_from_slice(b"\r\n");
        }
        self.0.send(&req);
        let mut out = Vec::new();
        self.read_reply(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    fn read_reply(&mut self, out: &mut Vec<u8>) {
        let line = self.0.line();
        assert!(
            line.ends_with("\r\n"),
            "connection closed mid-reply: {line:?}"
        );
        out.extend_from_slice(line.as_bytes());
        let n = || line[1..line.len() - 2].parse::<i64>().unwrap();
        match line.as_bytes()[0] {
            b'$' if n() >= 0 => out.extend_from_slice(&self.0.read_n(n() as usize + 2)),
            b'*' | b'~' => (0..n().max(0)).for_each(|_| self.read_reply(out)),
            b'%' => (0..2 * n()).for_each(|_| self.read_reply(out)),
            _ => {}
        }
    }
}

macro_rules! q {
    ($c:expr, $($a:expr),+ $(,)?) => { $c.call(&[$(AsRef::<[u8]>::as_ref(&$a)),+]) };
}

const OK: &str = "+OK\r\n";
const NIL: &str = "$-1\r\n";
const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const NO_KEY: &str = "-ERR could not perform this operation on a key that doesn't exist\r\n";

fn int(n: i64) -> String {
    format!(":{n}\r\n")
}

fn bulk(s: &str) -> String {
    format!("${}\r\n{}\r\n", s.len(), s)
}

/// An array reply of the given already-encoded elements.
fn arr(items: &[&str]) -> String {
    format!("*{}\r\n{}", items.len(), items.concat())
}

fn err(msg: &str) -> String {
    format!("-{msg}\r\n")
}

const STORE: &str = r#"{"store":{"book":[{"title":"Sayings","price":8.95,"tags":["a"]},{"title":"Sword","price":12.99,"isbn":"1"},{"title":"Rings","price":22.99,"isbn":"2"}],"bicycle":{"color":"red","price":19.95}},"n":1}"#;

#[test]
fn set_and_get_root_and_paths() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    assert_eq!(
        q!(c, "JSON.SET", "doc", "$", r#"{"a":1,"b":{"c":"x"}}"#),
        OK
    );
    assert_eq!(q!(c, "JSON.GET", "doc"), bulk(r#"{"a":1,"b":{"c":"x"}}"#));
    assert_eq!(q!(c, "TYPE", "doc"), "+ReJSON-RL\r\n");
    // Legacy path: the value; JSONPath: the array of matches.
    assert_eq!(q!(c, "JSON.GET", "doc", ".b.c"), bulk(r#""x""#));
    assert_eq!(q!(c, "JSON.GET", "doc", "b.c"), bulk(r#""x""#));
    assert_eq!(q!(c, "JSON.GET", "doc", "$.b.c"), bulk(r#"["x"]"#));
    assert_eq!(q!(c, "JSON.GET", "doc", "$.nope"), bulk("[]"));
    assert_eq!(
        q!(c, "JSON.GET", "doc", ".nope"),
        err("ERR Path '$.nope' does not exist")
    );
    // Adding a key, replacing a value.
    assert_eq!(q!(c, "JSON.SET", "doc", "$.d", "[1,2]"), OK);
    assert_eq!(q!(c, "JSON.SET", "doc", ".a", "2.5"), OK);
    assert_eq!(
        q!(c, "JSON.GET", "doc"),
        bulk(r#"{"a":2.5,"b":{"c":"x"},"d":[1,2]}"#)
    );
    // Missing parents are not created.
    assert_eq!(q!(c, "JSON.SET", "doc", "$.x.y", "1"), NIL);
    assert_eq!(
        q!(c, "JSON.SET", "doc", "$.d[5]", "1"),
        err("ERR array index out of range")
    );
    assert_eq!(q!(c, "JSON.SET", "doc", "$.d[1]", "9"), OK);
    assert_eq!(q!(c, "JSON.GET", "doc", "$.d"), bulk("[[1,9]]"));
    // Only the root can create a key.
    assert_eq!(
        q!(c, "JSON.SET", "new", "$.a", "1"),
        err("ERR new objects must be created at the root")
    );
    assert_eq!(q!(c, "JSON.SET", "new", ".", "\"s\""), OK);
    assert_eq!(q!(c, "JSON.GET", "new"), bulk(r#""s""#));
    assert_eq!(q!(c, "JSON.GET", "missing"), NIL);
    assert_eq!(q!(c, "JSON.GET", "missing", "$"), NIL);
    // Every match is replaced.
    assert_eq!(
        q!(c, "JSON.SET", "m", "$", r#"{"a":{"x":1},"b":{"x":2}}"#),
        OK
    );
    assert_eq!(q!(c, "JSON.SET", "m", "$..x", "0"), OK);
    assert_eq!(q!(c, "JSON.GET", "m"), bulk(r#"{"a":{"x":0},"b":{"x":0}}"#));
    // A wildcard with nothing to replace cannot add keys.
    assert_eq!(
        q!(c, "JSON.SET", "m", "$.*.y", "0"),
        err("Err wrong static path")
    );
    // Keys keep their insertion order, unicode and escapes survive.
    assert_eq!(
        q!(c, "JSON.SET", "u", "$", r#"{"z":"é\n","a":"\u0001"}"#),
        OK
    );
    assert_eq!(
        q!(c, "JSON.GET", "u"),
        bulk("{\"z\":\"é\\n\",\"a\":\"\\u0001\"}")
    );
}

#[test]
fn set_nx_xx_and_syntax() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    assert_eq!(q!(c, "JSON.SET", "k", "$", "1", "XX"), NIL);
    assert_eq!(q!(c, "JSON.SET", "k", "$", r#"{"a":1}"#, "NX"), OK);
    assert_eq!(q!(c, "JSON.SET", "k", "$", "2", "NX"), NIL);
    assert_eq!(q!(c, "JSON.SET", "k", "$.a", "2", "NX"), NIL);
    assert_eq!(q!(c, "JSON.SET", "k", "$.b", "2", "XX"), NIL);
    assert_eq!(q!(c, "JSON.SET", "k", "$.a", "3", "xx"), OK);
    assert_eq!(q!(c, "JSON.SET", "k", "$.b", "4", "nx"), OK);
    assert_eq!(q!(c, "JSON.GET", "k"), bulk(r#"{"a":3,"b":4}"#));
    assert_eq!(
        q!(c, "JSON.SET", "k", "$", "1", "NX", "XX"),
        err("ERR syntax error")
    );
    assert_eq!(
        q!(c, "JSON.SET", "k", "$", "1", "FOO"),
        err("ERR syntax error")
    );
    assert_eq!(
        q!(c, "JSON.SET", "k", "$"),
        err("ERR wrong number of arguments for 'json.set' command")
    );
    // A whole new document keeps the TTL.
    assert_eq!(q!(c, "EXPIRE", "k", "1000"), int(1));
    assert_eq!(q!(c, "JSON.SET", "k", "$", "[]"), OK);
    assert_eq!(q!(c, "TTL", "k"), int(1000));
}

#[test]
fn errors() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    assert_eq!(q!(c, "SET", "str", "x"), OK);
    for cmd in [
        &["JSON.SET", "str", "$", "1"][..],
        &["JSON.GET", "str"],
        &["JSON.TYPE", "str"],
        &["JSON.DEL", "str", "$.a"],
        &["JSON.NUMINCRBY", "str", "$", "1"],
        &["JSON.ARRAPPEND", "str", "$", "1"],
        &["JSON.OBJKEYS", "str"],
        &["JSON.STRLEN", "str"],
        &["JSON.RESP", "str"],
    ] {
        assert_eq!(
            c.call(&cmd.iter().map(|a| a.as_bytes()).collect::<Vec<_>>()),
            WRONGTYPE,
            "{cmd:?}"
        );
    }
    // Bad JSON.
    assert_eq!(
        q!(c, "JSON.SET", "k", "$", "{bad"),
        err("ERR key must be a string at line 1 column 2")
    );
    assert_eq!(
        q!(c, "JSON.SET", "k", "$", ""),
        err("ERR EOF while parsing a value at line 1 column 0")
    );
    assert_eq!(
        q!(c, "JSON.SET", "k", "$", "nope"),
        err("ERR expected ident at line 1 column 2")
    );
    assert_eq!(
        q!(c, "JSON.SET", "k", "$", "1 2"),
        err("ERR trailing characters at line 1 column 3")
    );
    assert_eq!(q!(c, "EXISTS", "k"), int(0));
    // Bad paths.
    assert_eq!(q!(c, "JSON.SET", "k", "$", r#"{"a":[1]}"#), OK);
    let bad = q!(c, "JSON.GET", "k", "$.a[");
    assert!(
        bad.starts_with("-ERR invalid JSONPath syntax at offset 4"),
        "{bad}"
    );
    let bad = q!(c, "JSON.SET", "k", "$[?(@.x =~ 'a')]", "1");
    assert!(bad.starts_with("-ERR invalid JSONPath syntax"), "{bad}");
    let bad = q!(c, "JSON.GET", "k", ".a[?(@>0)]");
    assert!(
        bad.contains("filters are not allowed in legacy paths"),
        "{bad}"
    );
    // Missing keys for commands that change a document.
    for cmd in [
        &["JSON.NUMINCRBY", "nokey", "$.a", "1"][..],
        &["JSON.STRAPPEND", "nokey", "$", "\"a\""],
        &["JSON.ARRAPPEND", "nokey", "$", "1"],
        &["JSON.ARRPOP", "nokey"],
        &["JSON.TOGGLE", "nokey", "$"],
        &["JSON.CLEAR", "nokey"],
        &["JSON.ARRTRIM", "nokey", "$", "0", "1"],
        &["JSON.ARRINSERT", "nokey", "$", "0", "1"],
    ] {
        assert_eq!(
            c.call(&cmd.iter().map(|a| a.as_bytes()).collect::<Vec<_>>()),
            NO_KEY,
            "{cmd:?}"
        );
    }
    // The document is unchanged by every failed command above.
    assert_eq!(q!(c, "JSON.GET", "k"), bulk(r#"{"a":[1]}"#));
}

#[test]
fn deep_documents_are_capped() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    assert_eq!(q!(c, "JSON.SET", "deep", "$", nested(127)), OK);
    let r = q!(c, "JSON.SET", "deeper", "$", nested(128));
    assert!(r.starts_with("-ERR recursion limit exceeded"), "{r}");
    let r = q!(c, "JSON.SET", "hostile", "$", nested(100_000));
    assert!(r.starts_with("-ERR recursion limit exceeded"), "{r}");
    // Building deeper from pieces is refused too.
    assert_eq!(q!(c, "JSON.SET", "d", "$", r#"{"a":{}}"#), OK);
    let r = q!(c, "JSON.SET", "d", "$.a.b", nested(126));
    assert!(r.starts_with("-ERR recursion limit exceeded"), "{r}");
    assert_eq!(q!(c, "JSON.SET", "d", "$.a.b", nested(125)), OK);
    // $.a.b is 2 levels down and an array: an element of it is 3 levels down.
    let r = q!(c, "JSON.ARRAPPEND", "d", "$.a.b", nested(125));
    assert!(r.starts_with("-ERR recursion limit exceeded"), "{r}");
    let r = q!(c, "JSON.ARRINSERT", "d", "$.a.b", "0", nested(125));
    assert!(r.starts_with("-ERR recursion limit exceeded"), "{r}");
    assert_eq!(
        q!(c, "JSON.ARRAPPEND", "d", "$.a.b", nested(124)),
        arr(&[&int(2)])
    );
    assert_eq!(q!(c, "JSON.GET", "deep"), bulk(&nested(127)));
    let r = q!(c, "JSON.GET", "deep", "$..*");
    assert!(r.starts_with('$'), "{r}");
    assert_eq!(q!(c, "JSON.DEL", "deep"), int(1));
    assert_eq!(q!(c, "PING"), "+PONG\r\n");
}

#[test]
fn get_multiple_paths_and_layout() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    assert_eq!(
        q!(c, "JSON.SET", "doc", "$", r#"{"a":1,"b":[1,2],"c":{}}"#),
        OK
    );
    assert_eq!(
        q!(c, "JSON.GET", "doc", ".a", ".b"),
        bulk(r#"{".a":1,".b":[1,2]}"#)
    );
    assert_eq!(
        q!(c, "JSON.GET", "doc", "$.a", ".b"),
        bulk(r#"{"$.a":[1],".b":[[1,2]]}"#)
    );
    assert_eq!(
        q!(c, "JSON.GET", "doc", ".a", ".zz"),
        err("ERR Path '.zz' does not exist")
    );
    assert_eq!(
        q!(c, "JSON.GET", "doc", "$.a", "$.zz"),
        bulk(r#"{"$.a":[1],"$.zz":[]}"#)
    );
    assert_eq!(
        q!(c, "JSON.GET", "doc", "INDENT", "\t", "NEWLINE", "\n", "SPACE", " "),
        bulk("{\n\t\"a\": 1,\n\t\"b\": [\n\t\t1,\n\t\t2\n\t],\n\t\"c\": {}\n}")
    );
    assert_eq!(
        q!(c, "JSON.GET", "doc", "indent", "  ", "newline", "\n", "$.b"),
        bulk("[\n  [\n    1,\n    2\n  ]\n]")
    );
    assert_eq!(
        q!(c, "JSON.GET", "doc", "SPACE", " ", ".c", "NOESCAPE"),
        bulk("{}")
    );
    assert_eq!(
        q!(c, "JSON.GET", "doc", "INDENT"),
        err("ERR wrong number of arguments for 'json.get' command")
    );
}

#[test]
fn filters_and_recursive_descent() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    assert_eq!(q!(c, "JSON.SET", "s", "$", STORE), OK);
    assert_eq!(
        q!(c, "JSON.GET", "s", "$.store.book[?(@.price<15)].title"),
        bulk(r#"["Sayings","Sword"]"#)
    );
    assert_eq!(
        q!(
            c,
            "JSON.GET",
            "s",
            "$.store.book[?(@.isbn && @.price > 20)].title"
        ),
        bulk(r#"["Rings"]"#)
    );
    assert_eq!(
        q!(c, "JSON.GET", "s", "$..price"),
        bulk("[8.95,12.99,22.99,19.95]")
    );
    assert_eq!(
        q!(c, "JSON.GET", "s", "$..book[-1].title"),
        bulk(r#"["Rings"]"#)
    );
    assert_eq!(
        q!(c, "JSON.GET", "s", "$.store.book[0:2].title"),
        bulk(r#"["Sayings","Sword"]"#)
    );
    assert_eq!(
        q!(c, "JSON.GET", "s", "$.store.book[*].isbn"),
        bulk(r#"["1","2"]"#)
    );
    // A legacy path with a wildcard gives the first match.
    assert_eq!(
        q!(c, "JSON.GET", "s", ".store.book[*].title"),
        bulk(r#""Sayings""#)
    );
    assert_eq!(
        q!(
            c,
            "JSON.NUMINCRBY",
            "s",
            "$..book[?(@.price>10)].price",
            "1"
        ),
        bulk(&format!("[{},{}]", 12.99f64 + 1.0, 22.99f64 + 1.0))
    );
    assert_eq!(q!(c, "JSON.DEL", "s", "$..isbn"), int(2));
    assert_eq!(q!(c, "JSON.GET", "s", "$..isbn"), bulk("[]"));
    assert_eq!(
        q!(c, "JSON.TYPE", "s", "$..price"),
        arr(&[
            &bulk("number"),
            &bulk("number"),
            &bulk("number"),
            &bulk("number")
        ])
    );
    assert_eq!(
        q!(c, "JSON.DEL", "s", "$.store.book[?(@.price>20)]"),
        int(1)
    );
    assert_eq!(q!(c, "JSON.ARRLEN", "s", "$.store.book"), arr(&[&int(2)]));
}

#[test]
fn del_forget_type_clear_toggle() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    assert_eq!(
        q!(
            c,
            "JSON.SET",
            "d",
            "$",
            r#"{"a":1,"b":[1,2,3],"c":{"x":true},"f":false,"s":"t","z":null,"g":0.5}"#
        ),
        OK
    );
    assert_eq!(q!(c, "JSON.TYPE", "d"), bulk("object"));
    assert_eq!(q!(c, "JSON.TYPE", "d", ".a"), bulk("integer"));
    assert_eq!(q!(c, "JSON.TYPE", "d", ".g"), bulk("number"));
    assert_eq!(q!(c, "JSON.TYPE", "d", ".nope"), NIL);
    assert_eq!(q!(c, "JSON.TYPE", "d", "$.nope"), "*0\r\n");
    assert_eq!(
        q!(c, "JSON.TYPE", "d", "$.*"),
        arr(&[
            &bulk("integer"),
            &bulk("array"),
            &bulk("object"),
            &bulk("boolean"),
            &bulk("string"),
            &bulk("null"),
            &bulk("number"),
        ])
    );
    assert_eq!(q!(c, "JSON.TYPE", "nokey"), NIL);
    // TOGGLE: legacy gives the new value as text, JSONPath one element per match.
    assert_eq!(q!(c, "JSON.TOGGLE", "d", ".f"), bulk("true"));
    assert_eq!(q!(c, "JSON.TOGGLE", "d", "$.f"), arr(&[&int(0)]));
    assert_eq!(q!(c, "JSON.TOGGLE", "d", "$..x"), arr(&[&int(0)]));
    assert_eq!(q!(c, "JSON.TOGGLE", "d", "$.a"), arr(&[NIL]));
    assert_eq!(
        q!(c, "JSON.TOGGLE", "d", ".a"),
        err("ERR Path '$.a' does not exist or not a bool")
    );
    // CLEAR counts the values it changed.
    assert_eq!(q!(c, "JSON.CLEAR", "d", "$.*"), int(4));
    assert_eq!(
        q!(c, "JSON.GET", "d"),
        bulk(r#"{"a":0,"b":[],"c":{},"f":false,"s":"t","z":null,"g":0}"#)
    );
    assert_eq!(q!(c, "JSON.CLEAR", "d", "$.*"), int(0));
    // DEL / FORGET.
    assert_eq!(q!(c, "JSON.DEL", "d", "$.a"), int(1));
    assert_eq!(q!(c, "JSON.FORGET", "d", ".b"), int(1));
    assert_eq!(q!(c, "JSON.DEL", "d", "$.a"), int(0));
    assert_eq!(q!(c, "JSON.DEL", "d", ".nope"), int(0));
    assert_eq!(
        q!(c, "JSON.GET", "d"),
        bulk(r#"{"c":{},"f":false,"s":"t","z":null,"g":0}"#)
    );
    assert_eq!(q!(c, "JSON.CLEAR", "d"), int(1));
    assert_eq!(q!(c, "JSON.GET", "d"), bulk("{}"));
    assert_eq!(q!(c, "JSON.DEL", "d"), int(1));
    assert_eq!(q!(c, "EXISTS", "d"), int(0));
    assert_eq!(q!(c, "JSON.DEL", "d"), int(0));
    assert_eq!(q!(c, "JSON.SET", "d", "$", "[1]"), OK);
    assert_eq!(q!(c, "JSON.FORGET", "d", "$"), int(1));
    assert_eq!(q!(c, "EXISTS", "d"), int(0));
}

#[test]
fn numbers() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    assert_eq!(
        q!(
            c,
            "JSON.SET",
            "n",
            "$",
            r#"{"i":2,"f":2.0,"s":"x","a":[1,2.5]}"#
        ),
        OK
    );
    assert_eq!(q!(c, "JSON.NUMINCRBY", "n", ".i", "1"), bulk("3"));
    assert_eq!(q!(c, "JSON.NUMINCRBY", "n", ".f", "1"), bulk("3.0"));
    assert_eq!(q!(c, "JSON.NUMINCRBY", "n", ".i", "1.5"), bulk("4.5"));
    assert_eq!(q!(c, "JSON.NUMINCRBY", "n", "$.a[*]", "1"), bulk("[2,3.5]"));
    assert_eq!(
        q!(c, "JSON.NUMINCRBY", "n", "$.*", "1"),
        bulk("[5.5,4.0,null,null]")
    );
    assert_eq!(q!(c, "JSON.NUMMULTBY", "n", "$.a[*]", "2"), bulk("[4,7.0]"));
    assert_eq!(q!(c, "JSON.NUMMULTBY", "n", ".a[0]", "-3"), bulk("-12"));
    assert_eq!(q!(c, "JSON.NUMINCRBY", "n", "$.nope", "1"), bulk("[]"));
    assert_eq!(
        q!(c, "JSON.NUMINCRBY", "n", ".s", "1"),
        err("ERR Path '$.s' does not exist or does not contains a number")
    );
    assert_eq!(
        q!(c, "JSON.NUMINCRBY", "n", ".i", "\"1\""),
        err("ERR expected a number")
    );
    assert_eq!(
        q!(c, "JSON.NUMINCRBY", "n", ".i", "x"),
        err("ERR expected value at line 1 column 1")
    );
    // Past the i64 range the result is a float.
    assert_eq!(q!(c, "JSON.SET", "big", "$", "9223372036854775807"), OK);
    assert_eq!(
        q!(c, "JSON.NUMINCRBY", "big", "$", "1"),
        bulk("[9.223372036854776e+18]")
    );
    assert_eq!(q!(c, "JSON.SET", "big", "$", "1e308"), OK);
    assert_eq!(
        q!(c, "JSON.NUMMULTBY", "big", "$", "10"),
        err("ERR result is not a finite number")
    );
    assert_eq!(q!(c, "JSON.GET", "big"), bulk("1e+308"));
    assert_eq!(
        q!(c, "JSON.GET", "n"),
        bulk(r#"{"i":5.5,"f":4.0,"s":"x","a":[-12,7.0]}"#)
    );
}

#[test]
fn strings() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    assert_eq!(
        q!(
            c,
            "JSON.SET",
            "s",
            "$",
            r#"{"a":"foo","b":{"a":"x"},"n":1}"#
        ),
        OK
    );
    assert_eq!(q!(c, "JSON.STRAPPEND", "s", ".a", "\"bar\""), int(6));
    assert_eq!(
        q!(c, "JSON.STRAPPEND", "s", "$..a", "\"!\""),
        arr(&[&int(7), &int(2)])
    );
    assert_eq!(q!(c, "JSON.STRAPPEND", "s", "$.n", "\"!\""), arr(&[NIL]));
    assert_eq!(
        q!(c, "JSON.STRAPPEND", "s", ".n", "\"!\""),
        err("ERR Path '$.n' does not exist or not a string")
    );
    assert_eq!(
        q!(c, "JSON.STRAPPEND", "s", ".a", "42"),
        err("WRONGTYPE wrong type of path value - expected string but found 42")
    );
    assert_eq!(q!(c, "JSON.STRLEN", "s", ".a"), int(7));
    assert_eq!(q!(c, "JSON.STRLEN", "s", "$..a"), arr(&[&int(7), &int(2)]));
    assert_eq!(q!(c, "JSON.STRLEN", "s", "$.*"), arr(&[&int(7), NIL, NIL]));
    assert_eq!(
        q!(c, "JSON.STRLEN", "s", ".n"),
        err("WRONGTYPE wrong type of path value - expected string but found integer")
    );
    assert_eq!(
        q!(c, "JSON.STRLEN", "s", ".zz"),
        err("ERR Path '$.zz' does not exist")
    );
    assert_eq!(q!(c, "JSON.STRLEN", "nokey", ".a"), NIL);
    assert_eq!(q!(c, "JSON.STRLEN", "nokey", "$.a"), NO_KEY);
    // The path is optional: the root.
    assert_eq!(q!(c, "JSON.SET", "t", ".", "\"ab\""), OK);
    assert_eq!(q!(c, "JSON.STRAPPEND", "t", "\"c\""), int(3));
    assert_eq!(q!(c, "JSON.STRLEN", "t"), int(3));
    assert_eq!(q!(c, "JSON.GET", "t"), bulk(r#""abc""#));
}

#[test]
fn arrays() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    assert_eq!(
        q!(
            c,
            "JSON.SET",
            "a",
            "$",
            r#"{"x":[1],"y":{"x":[]},"s":"no"}"#
        ),
        OK
    );
    assert_eq!(q!(c, "JSON.ARRAPPEND", "a", ".x", "2", "\"t\""), int(3));
    assert_eq!(
        q!(c, "JSON.ARRAPPEND", "a", "$..x", "{}"),
        arr(&[&int(4), &int(1)])
    );
    assert_eq!(q!(c, "JSON.ARRAPPEND", "a", "$.s", "1"), arr(&[NIL]));
    assert_eq!(
        q!(c, "JSON.ARRAPPEND", "a", ".s", "1"),
        err("ERR Path '.s' does not exist or not an array")
    );
    assert_eq!(
        q!(c, "JSON.ARRAPPEND", "a", ".x", "bad"),
        err("ERR expected value at line 1 column 1")
    );
    assert_eq!(q!(c, "JSON.GET", "a", ".x"), bulk(r#"[1,2,"t",{}]"#));
    assert_eq!(q!(c, "JSON.ARRLEN", "a", ".x"), int(4));
    assert_eq!(q!(c, "JSON.ARRLEN", "a", "$..x"), arr(&[&int(4), &int(1)]));
    assert_eq!(q!(c, "JSON.ARRLEN", "a", "$.*"), arr(&[&int(4), NIL, NIL]));
    assert_eq!(
        q!(c, "JSON.ARRLEN", "a", ".s"),
        err("ERR Path '.s' does not exist or not an array")
    );
    assert_eq!(q!(c, "JSON.ARRLEN", "nokey", ".x"), NIL);
    // ARRINSERT: before the index, negative from the end, bounds checked.
    assert_eq!(q!(c, "JSON.ARRINSERT", "a", ".x", "0", "0"), int(5));
    assert_eq!(
        q!(c, "JSON.ARRINSERT", "a", "$.x", "-1", "\"b\"", "\"c\""),
        arr(&[&int(7)])
    );
    assert_eq!(q!(c, "JSON.ARRINSERT", "a", ".x", "7", "null"), int(8));
    assert_eq!(
        q!(c, "JSON.ARRINSERT", "a", ".x", "9", "1"),
        err("ERR index out of bounds")
    );
    assert_eq!(
        q!(c, "JSON.ARRINSERT", "a", ".x", "-9", "1"),
        err("ERR index out of bounds")
    );
    assert_eq!(
        q!(c, "JSON.ARRINSERT", "a", ".x", "x", "1"),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        q!(c, "JSON.GET", "a", ".x"),
        bulk(r#"[0,1,2,"t","b","c",{},null]"#)
    );
    // ARRINDEX: JSON equality, integers are not floats, start/stop ranges.
    assert_eq!(q!(c, "JSON.ARRINDEX", "a", ".x", "\"t\""), int(3));
    assert_eq!(q!(c, "JSON.ARRINDEX", "a", ".x", "{}"), int(6));
    assert_eq!(q!(c, "JSON.ARRINDEX", "a", ".x", "null"), int(7));
    assert_eq!(q!(c, "JSON.ARRINDEX", "a", ".x", "2.0"), int(-1));
    assert_eq!(q!(c, "JSON.ARRINDEX", "a", ".x", "1", "2"), int(-1));
    assert_eq!(q!(c, "JSON.ARRINDEX", "a", ".x", "\"c\"", "-3"), int(5));
    assert_eq!(
        q!(c, "JSON.ARRINDEX", "a", ".x", "\"c\"", "0", "5"),
        int(-1)
    );
    assert_eq!(
        q!(c, "JSON.ARRINDEX", "a", "$..x", "0"),
        arr(&[&int(0), &int(-1)])
    );
    assert_eq!(q!(c, "JSON.ARRINDEX", "a", "$.s", "0"), arr(&[NIL]));
    assert_eq!(
        q!(c, "JSON.ARRINDEX", "a", ".s", "0"),
        err("WRONGTYPE wrong type of path value - expected array but found string")
    );
    // ARRPOP: last by default, index clamped, the popped value as JSON text.
    assert_eq!(q!(c, "JSON.ARRPOP", "a", ".x"), bulk("null"));
    assert_eq!(q!(c, "JSON.ARRPOP", "a", ".x", "0"), bulk("0"));
    assert_eq!(q!(c, "JSON.ARRPOP", "a", ".x", "99"), bulk("{}"));
    assert_eq!(
        q!(c, "JSON.ARRPOP", "a", "$..x", "-99"),
        arr(&[&bulk("1"), &bulk("{}")])
    );
    assert_eq!(
        q!(c, "JSON.ARRPOP", "a", "$..x"),
        arr(&[&bulk(r#""c""#), NIL])
    );
    assert_eq!(q!(c, "JSON.ARRPOP", "a", ".y.x"), NIL);
    assert_eq!(
        q!(c, "JSON.ARRPOP", "a", ".s"),
        err("ERR Path '$.s' does not exist or not an array")
    );
    assert_eq!(q!(c, "JSON.GET", "a", ".x"), bulk(r#"[2,"t","b"]"#));
    // ARRTRIM: an inclusive range, clamped like LTRIM.
    assert_eq!(q!(c, "JSON.SET", "t", "$", "[0,1,2,3,4,5]"), OK);
    assert_eq!(q!(c, "JSON.ARRTRIM", "t", ".", "1", "-2"), int(4));
    assert_eq!(q!(c, "JSON.GET", "t"), bulk("[1,2,3,4]"));
    assert_eq!(q!(c, "JSON.ARRTRIM", "t", "$", "-3", "99"), arr(&[&int(3)]));
    assert_eq!(q!(c, "JSON.GET", "t"), bulk("[2,3,4]"));
    assert_eq!(q!(c, "JSON.ARRTRIM", "t", "$", "2", "1"), arr(&[&int(0)]));
    assert_eq!(q!(c, "JSON.GET", "t"), bulk("[]"));
    assert_eq!(q!(c, "EXISTS", "t"), int(1));
    // ARRPOP with no path pops from the root.
    assert_eq!(q!(c, "JSON.SET", "r", "$", "[1,[2]]"), OK);
    assert_eq!(q!(c, "JSON.ARRPOP", "r"), bulk("[2]"));
    assert_eq!(q!(c, "JSON.ARRPOP", "r"), bulk("1"));
    assert_eq!(q!(c, "JSON.ARRPOP", "r"), NIL);
}

#[test]
fn objects_and_resp() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    assert_eq!(
        q!(
            c,
            "JSON.SET",
            "o",
            "$",
            r#"{"b":1,"a":{"x":1,"y":[true,null,"s",1.5]}}"#
        ),
        OK
    );
    assert_eq!(q!(c, "JSON.OBJKEYS", "o"), arr(&[&bulk("b"), &bulk("a")]));
    assert_eq!(
        q!(c, "JSON.OBJKEYS", "o", "$.a"),
        arr(&[&arr(&[&bulk("x"), &bulk("y")])])
    );
    assert_eq!(
        q!(c, "JSON.OBJKEYS", "o", "$.*"),
        arr(&[NIL, &arr(&[&bulk("x"), &bulk("y")])])
    );
    assert_eq!(q!(c, "JSON.OBJKEYS", "o", ".nope"), NIL);
    assert_eq!(
        q!(c, "JSON.OBJKEYS", "o", ".b"),
        err("ERR Path '$.b' does not exist or not an object")
    );
    assert_eq!(q!(c, "JSON.OBJKEYS", "nokey"), NIL);
    assert_eq!(q!(c, "JSON.OBJLEN", "o"), int(2));
    assert_eq!(q!(c, "JSON.OBJLEN", "o", "$..a"), arr(&[&int(2)]));
    assert_eq!(q!(c, "JSON.OBJLEN", "o", "$.*"), arr(&[NIL, &int(2)]));
    assert_eq!(q!(c, "JSON.OBJLEN", "o", ".nope"), NIL);
    assert_eq!(
        q!(c, "JSON.OBJLEN", "o", ".b"),
        err("WRONGTYPE wrong type of path value - expected object but found integer")
    );
    assert_eq!(q!(c, "JSON.OBJLEN", "nokey"), NIL);
    // RESP: arrays lead with "[", objects with "{".
    assert_eq!(
        q!(c, "JSON.RESP", "o", ".a"),
        arr(&[
            "+{\r\n",
            &bulk("x"),
            &int(1),
            &bulk("y"),
            &arr(&["+[\r\n", "+true\r\n", NIL, &bulk("s"), &bulk("1.5")]),
        ])
    );
    assert_eq!(q!(c, "JSON.RESP", "o", "$.b"), arr(&[&int(1)]));
    assert_eq!(
        q!(c, "JSON.RESP", "o", ".zz"),
        err("ERR Path '$.zz' does not exist")
    );
    assert_eq!(q!(c, "JSON.RESP", "nokey"), NIL);
}

#[test]
fn mget_and_mset_across_shards() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    let a = keys_on_shard(0, 2, 2, "ja");
    let b = keys_on_shard(1, 2, 2, "jb");
    assert_eq!(
        q!(
            c,
            "JSON.MSET",
            a[0],
            "$",
            r#"{"v":1}"#,
            b[0],
            "$",
            r#"{"v":2}"#,
            a[1],
            "$",
            r#"{"w":3}"#
        ),
        OK
    );
    assert_eq!(q!(c, "SET", b[1], "str"), OK);
    assert_eq!(
        q!(c, "JSON.MGET", a[0], b[0], "nokey", a[1], b[1], "$.v"),
        arr(&[&bulk("[1]"), &bulk("[2]"), NIL, &bulk("[]"), NIL])
    );
    assert_eq!(
        q!(c, "JSON.MGET", b[0], a[0], a[1], ".v"),
        arr(&[&bulk("2"), &bulk("1"), NIL])
    );
    assert_eq!(q!(c, "JSON.MGET", a[0], ".v"), arr(&[&bulk("1")]));
    let bad = q!(c, "JSON.MGET", a[0], b[0], "$[");
    assert!(bad.starts_with("-ERR invalid JSONPath syntax"), "{bad}");
    assert_eq!(
        q!(c, "JSON.MGET", a[0]),
        err("ERR wrong number of arguments for 'json.mget' command")
    );
    // MSET on one shard: paths in existing documents; a bad triple changes nothing.
    assert_eq!(
        q!(c, "JSON.MSET", "{m}x", "$", r#"{"a":1}"#, "{m}y", "$", "[]"),
        OK
    );
    assert_eq!(
        q!(c, "JSON.MSET", "{m}x", "$.b", "2", "{m}y", "$", "[1]"),
        OK
    );
    assert_eq!(q!(c, "JSON.GET", "{m}x"), bulk(r#"{"a":1,"b":2}"#));
    assert_eq!(q!(c, "JSON.GET", "{m}y"), bulk("[1]"));
    // Triples are checked against the documents as they were before the command.
    assert_eq!(
        q!(c, "JSON.MSET", "{m}w", "$", "{}", "{m}w", "$.a", "1"),
        err("ERR new objects must be created at the root")
    );
    assert_eq!(q!(c, "EXISTS", "{m}w"), int(0));
    assert_eq!(
        q!(c, "JSON.MSET", "{m}x", "$.a", "5", "{m}z", "$.a", "1"),
        err("ERR new objects must be created at the root")
    );
    assert_eq!(
        q!(c, "JSON.MSET", "{m}x", "$.a", "5", "{m}y", "$", "{"),
        err("ERR EOF while parsing an object at line 1 column 1")
    );
    assert_eq!(q!(c, "JSON.GET", "{m}x", ".a"), bulk("1"));
    assert_eq!(
        q!(c, "JSON.MSET", "{m}x", "$.a"),
        err("ERR wrong number of arguments for 'json.mset' command")
    );
}

#[test]
fn short_form() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    assert_eq!(
        q!(c, "JSON.SET", "user", "$", r#"{"name":"ann","tags":[]}"#),
        OK
    );
    // `JSON.SET key.a value` is `JSON.SET key .a value`.
    assert_eq!(q!(c, "JSON.SET", "user.name", "\"bob\""), OK);
    assert_eq!(q!(c, "JSON.SET", "user.age", "7"), OK);
    assert_eq!(q!(c, "JSON.GET", "user.name"), bulk(r#""bob""#));
    assert_eq!(q!(c, "JSON.GET", "user.age"), bulk("7"));
    assert_eq!(
        q!(c, "JSON.GET", "user"),
        bulk(r#"{"name":"bob","tags":[],"age":7}"#)
    );
    assert_eq!(
        q!(c, "JSON.GET", "user.nope"),
        err("ERR Path '$.nope' does not exist")
    );
    // The key before the first dot routes: on another shard than "user.name" would.
    let far = keys_on_shard(1, 2, 1, "doc")[0].clone();
    let near = keys_on_shard(0, 2, 1, "doc")[0].clone();
    assert_eq!(q!(c, "JSON.SET", far, "$", r#"{"a":{"b":1}}"#), OK);
    assert_eq!(q!(c, "JSON.SET", near, "$", r#"{"a":{"b":2}}"#), OK);
    assert_eq!(q!(c, "JSON.GET", format!("{far}.a.b")), bulk("1"));
    assert_eq!(q!(c, "JSON.GET", format!("{near}.a.b")), bulk("2"));
    assert_eq!(q!(c, "JSON.SET", format!("{far}.a.c"), "[1]"), OK);
    assert_eq!(q!(c, "JSON.GET", far), bulk(r#"{"a":{"b":1,"c":[1]}}"#));
    // Creating a key through the short form needs the root, as any JSON.SET does.
    assert_eq!(
        q!(c, "JSON.SET", "fresh.a", "1"),
        err("ERR new objects must be created at the root")
    );
    assert_eq!(q!(c, "JSON.SET", "fresh.", "1"), OK);
    assert_eq!(q!(c, "JSON.GET", "fresh"), bulk("1"));
    // A key with a dot is reachable with an explicit path.
    assert_eq!(q!(c, "JSON.SET", "a.b", "$", r#"{"x":1}"#), OK);
    assert_eq!(q!(c, "JSON.GET", "a.b", "$"), bulk(r#"[{"x":1}]"#));
    assert_eq!(q!(c, "JSON.GET", "a.b", "."), bulk(r#"{"x":1}"#));
    assert_eq!(q!(c, "JSON.GET", "a.b"), NIL); // key "a", path ".b"
    assert_eq!(q!(c, "EXISTS", "a.b"), int(1));
    // No dot, or a leading dot: no rewrite.
    assert_eq!(
        q!(c, "JSON.SET", "user", "1"),
        err("ERR wrong number of arguments for 'json.set' command")
    );
    assert_eq!(
        q!(c, "JSON.SET", ".x", "1"),
        err("ERR wrong number of arguments for 'json.set' command")
    );
    // Pipelined, with the rewritten commands queued for the other shard.
    let mut req = Vec::new();
    for i in 0..50 {
        let (key, value) = (format!("{far}.p{i}"), i.to_string());
        req.extend_from_slice(&common::encode(&["JSON.SET", key.as_str(), value.as_str()]));
        req.extend_from_slice(&common::encode(&["JSON.GET", key.as_str()]));
    }
    c.0.send(&req);
    for i in 0..50 {
        assert_eq!(c.0.line(), "+OK\r\n");
        let v = i.to_string();
        assert_eq!(c.0.line(), format!("${}\r\n", v.len()));
        assert_eq!(c.0.line(), format!("{v}\r\n"));
    }
}

#[test]
fn resp3_replies() {
    let server = Server::start();
    let mut raw = server.raw();
    raw.send(b"HELLO 3\r\n");
    while raw.line() != "*0\r\n" {}
    let mut c = Cli(raw);
    assert_eq!(
        q!(
            c,
            "JSON.SET",
            "d",
            "$",
            r#"{"i":1,"f":1.5,"b":true,"s":"x","o":{}}"#
        ),
        OK
    );
    assert_eq!(q!(c, "JSON.GET", "d", "$.i"), bulk("[1]"));
    assert_eq!(q!(c, "JSON.GET", "nokey"), "_\r\n");
    assert_eq!(q!(c, "JSON.TYPE", "d", ".i"), arr(&[&bulk("integer")]));
    assert_eq!(
        q!(c, "JSON.TYPE", "d", "$.*"),
        arr(&[&arr(&[
            &bulk("integer"),
            &bulk("number"),
            &bulk("boolean"),
            &bulk("string"),
            &bulk("object"),
        ])])
    );
    assert_eq!(q!(c, "JSON.TYPE", "nokey"), arr(&["_\r\n"]));
    assert_eq!(
        q!(c, "JSON.NUMINCRBY", "d", "$.*", "1"),
        arr(&[":2\r\n", ",2.5\r\n", "_\r\n", "_\r\n", "_\r\n"])
    );
    assert_eq!(q!(c, "JSON.NUMINCRBY", "d", ".i", "1"), arr(&[":3\r\n"]));
    assert_eq!(q!(c, "JSON.TOGGLE", "d", "$.b"), arr(&["#f\r\n"]));
    assert_eq!(q!(c, "JSON.TOGGLE", "d", "$.i"), arr(&["_\r\n"]));
    assert_eq!(q!(c, "JSON.RESP", "d", ".f"), ",2.5\r\n");
    assert_eq!(q!(c, "JSON.ARRLEN", "d", "$.s"), arr(&["_\r\n"]));
    assert_eq!(q!(c, "JSON.OBJKEYS", "d", "$.o"), arr(&["*0\r\n"]));
    assert_eq!(
        q!(c, "JSON.MGET", "d", "nokey", ".s"),
        arr(&[&bulk(r#""x""#), "_\r\n"])
    );
}

#[test]
fn command_table() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    let info = q!(c, "COMMAND", "INFO", "json.mget", "json.mset");
    assert!(info.contains("json.mget\r\n:-3\r\n"), "{info}");
    assert!(info.contains("json.mset\r\n:-4\r\n"), "{info}");
    assert_eq!(
        q!(c, "COMMAND", "GETKEYS", "JSON.MGET", "a", "b", "$"),
        arr(&[&bulk("a"), &bulk("b")])
    );
    assert_eq!(
        q!(
            c,
            "COMMAND",
            "GETKEYS",
            "JSON.MSET",
            "a",
            "$",
            "1",
            "b",
            "$",
            "2"
        ),
        arr(&[&bulk("a"), &bulk("b")])
    );
}
