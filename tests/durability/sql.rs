//! Durability scenario for SQL: a schema, rows inserted, updated (also moving a row to
//! a new key), deleted and truncated — all of it journaled as the keys it changes (see
//! `Scenario` in tests/durability.rs).

#[allow(unused_imports)]
use super::*;

pub const SCENARIOS: &[Scenario] = &[("sql", sql)];

fn sql(s: &mut Session) {
    s.expect(
        &[
            "SQL",
            "CREATE TABLE dur (id INTEGER PRIMARY KEY, name TEXT NOT NULL, n INT DEFAULT 0)",
        ],
        "OK",
    );
    s.expect(
        &["SQL", "INSERT INTO dur (id, name) VALUES (11, 'a'), (12, 'b'), (13, 'c'), (14, 'd'), (15, 'e'), (16, 'f')"],
        ":6",
    );
    // Generated keys count up through a journaled sequence.
    s.expect(&["SQL", "INSERT INTO dur (name) VALUES ('g'), ('h')"], ":2");
    s.expect(&["SQL", "UPDATE dur SET n = n + 10 WHERE id > 13"], ":3");
    s.expect(&["SQL", "UPDATE dur SET id = 100 WHERE id = 11"], ":1");
    s.expect(&["SQL", "DELETE FROM dur WHERE id = 12"], ":1");
    s.expect(
        &["SQL", "INSERT INTO free (id, v) VALUES ('x', 1), ('y', 2)"],
        ":2",
    );
    s.expect(&["SQL", "TRUNCATE free"], "OK");
    s.expect(&["SQL", "INSERT INTO free (id, v) VALUES ('z', 3)"], ":1");
}
