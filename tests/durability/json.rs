//! Durability scenarios for the json commands: each sets up state through one write
//! command and checks its reply (see `Scenario` in tests/durability.rs).

#[allow(unused_imports)]
use super::*;

pub const SCENARIOS: &[Scenario] = &[
    ("json.set", json_set),
    ("json.mset", json_mset),
    ("json.del", json_del),
    ("json.forget", json_forget),
    ("json.numincrby", json_numincrby),
    ("json.nummultby", json_nummultby),
    ("json.strappend", json_strappend),
    ("json.arrappend", json_arrappend),
    ("json.arrinsert", json_arrinsert),
    ("json.arrpop", json_arrpop),
    ("json.arrtrim", json_arrtrim),
    ("json.toggle", json_toggle),
    ("json.clear", json_clear),
];

fn json_set(s: &mut Session) {
    for shard in 0..SHARDS {
        let k = |name: &str| key_on(&format!("jset-{name}"), shard);
        s.expect(
            &["JSON.SET", &k("doc"), "$", r#"{"a":1,"b":{"c":[1,2]}}"#],
            "OK",
        );
        s.expect(&["JSON.SET", &k("doc"), "$.b.d", r#""new""#], "OK");
        s.expect(&["JSON.SET", &k("doc"), ".a", "2.5"], "OK");
        // The short form.
        s.expect(&["JSON.SET", &format!("{}.e", k("doc")), "true"], "OK");
        // A document with a TTL keeps it when replaced.
        s.expect(&["JSON.SET", &k("ttl"), "$", "[1]"], "OK");
        s.expect(&["EXPIRE", &k("ttl"), &FAR_S.to_string()], ":1");
        s.expect(&["JSON.SET", &k("ttl"), "$", "[2]"], "OK");
    }
    s.expect(&["JSON.SET", "jset-scalar", "$", r#""é\n""#], "OK");
}

fn json_mset(s: &mut Session) {
    let (a, b) = (key_on("jmset", 0), key_on("jmset", 1));
    s.expect(&["JSON.MSET", &a, "$", r#"{"x":1}"#, &b, "$", "[]"], "OK");
    s.expect(&["JSON.MSET", &a, "$.y", "2", &b, "$", r#"{"z":3}"#], "OK");
}

fn json_del(s: &mut Session) {
    s.expect(
        &["JSON.SET", "jdel-k", "$", r#"{"a":[1,2,3],"b":{"a":1}}"#],
        "OK",
    );
    s.expect(&["JSON.DEL", "jdel-k", "$..a"], ":2");
    s.expect(&["JSON.SET", "jdel-gone", "$", "1"], "OK");
    s.expect(&["JSON.DEL", "jdel-gone"], ":1");
}

fn json_forget(s: &mut Session) {
    s.expect(&["JSON.SET", "jforget-k", "$", r#"{"a":1,"b":2}"#], "OK");
    s.expect(&["JSON.FORGET", "jforget-k", ".a"], ":1");
}

fn json_numincrby(s: &mut Session) {
    s.expect(
        &["JSON.SET", "jincr-k", "$", r#"{"i":1,"f":1.5,"a":[1,2]}"#],
        "OK",
    );
    s.expect(&["JSON.NUMINCRBY", "jincr-k", ".i", "2"], "$3");
    s.expect(&["JSON.NUMINCRBY", "jincr-k", "$.f", "1"], "$[2.5]");
    s.expect(
        &["JSON.NUMINCRBY", "jincr-k", "$.a[*]", "0.5"],
        "$[1.5,2.5]",
    );
}

fn json_nummultby(s: &mut Session) {
    s.expect(&["JSON.SET", "jmult-k", "$", r#"{"i":3}"#], "OK");
    s.expect(&["JSON.NUMMULTBY", "jmult-k", ".i", "-4"], "$-12");
}

fn json_strappend(s: &mut Session) {
    s.expect(&["JSON.SET", "jstr-k", "$", r#"{"s":"ab"}"#], "OK");
    s.expect(&["JSON.STRAPPEND", "jstr-k", ".s", r#""cd""#], ":4");
}

fn json_arrappend(s: &mut Session) {
    s.expect(&["JSON.SET", "jappend-k", "$", r#"{"a":[]}"#], "OK");
    s.expect(
        &["JSON.ARRAPPEND", "jappend-k", ".a", "1", r#"{"x":null}"#],
        ":2",
    );
}

fn json_arrinsert(s: &mut Session) {
    s.expect(&["JSON.SET", "jinsert-k", "$", "[1,4]"], "OK");
    s.expect(&["JSON.ARRINSERT", "jinsert-k", ".", "1", "2", "3"], ":4");
}

fn json_arrpop(s: &mut Session) {
    s.expect(&["JSON.SET", "jpop-k", "$", "[1,2,3]"], "OK");
    s.expect(&["JSON.ARRPOP", "jpop-k", ".", "0"], "$1");
    s.expect(&["JSON.ARRPOP", "jpop-k"], "$3");
}

fn json_arrtrim(s: &mut Session) {
    s.expect(&["JSON.SET", "jtrim-k", "$", "[0,1,2,3,4]"], "OK");
    s.expect(&["JSON.ARRTRIM", "jtrim-k", "$", "1", "-2"], "[:3]");
}

fn json_toggle(s: &mut Session) {
    s.expect(&["JSON.SET", "jtoggle-k", "$", r#"{"t":true}"#], "OK");
    s.expect(&["JSON.TOGGLE", "jtoggle-k", ".t"], "$false");
}

fn json_clear(s: &mut Session) {
    s.expect(
        &["JSON.SET", "jclear-k", "$", r#"{"a":[1],"n":5,"s":"x"}"#],
        "OK",
    );
    s.expect(&["JSON.CLEAR", "jclear-k", "$.*"], ":2");
}
