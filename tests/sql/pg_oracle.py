#!/usr/bin/env python3
"""Checks SQL case files (tests/sql/cases/*.test, format in tests/sql.rs) against a real
PostgreSQL: runs every statement through psql, renders the reply as the MemFlux spec
does (one compact JSON object per row, via row_to_json; timestamps with a space, time
zone offsets as `+00`), and reports each expectation PostgreSQL disagrees with.

  `#pg <sql>`     runs on PostgreSQL only (its side of a `!` command or a schemaless table)
  `#pg-skip ...`  the next statement is a documented MemFlux deviation: not run here
  `! ...`, `@spread ...` are MemFlux-only and skipped.
  An expected `ERR SQL syntax error*` (a parse error) only needs PostgreSQL to fail.

Usage: pg_oracle.py [-v] FILE...   (PGHOST, PGPORT, PGUSER as for psql; the database
`oracle_<file>` is dropped and created for each file). Exit status 1 on any disagreement.
"""

import json
import os
import re
import subprocess
import sys

VERBOSE = "-v" in sys.argv
FILES = [a for a in sys.argv[1:] if a != "-v"]


def psql(db, stmt):
    """(ok, lines) for one statement: output lines, or the error's first line."""
    p = subprocess.run(
        ["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", stmt],
        capture_output=True,
        text=True,
        env=dict(os.environ, PGTZ="UTC", PGOPTIONS="-c extra_float_digits=1"),
    )
    if p.returncode != 0:
        err = [l for l in p.stderr.splitlines() if l.startswith("ERROR:")]
        return False, [err[0][len("ERROR:") :].strip() if err else p.stderr.strip()]
    return True, [l for l in p.stdout.splitlines() if l != ""]


TS = re.compile(r"^(\d{4,}-\d\d-\d\d)T(\d\d:\d\d:\d\d(?:\.\d+)?)([+-]\d\d)(?::00)?$")
TS_NAIVE = re.compile(r"^(\d{4,}-\d\d-\d\d)T(\d\d:\d\d:\d\d(?:\.\d+)?)$")


class Raw(str):
    """A JSON number (or NaN/Infinity) kept as PostgreSQL printed it."""


class Obj(list):
    """A JSON object as its (key, value) pairs, in order."""


def compact(v):
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, Obj):
        return "{" + ",".join(compact(k) + ":" + compact(x) for k, x in v) + "}"
    if isinstance(v, list):
        return "[" + ",".join(compact(x) for x in v) + "]"
    if isinstance(v, str):
        # The spec's text forms: a space before the time, `+00` for the zone.
        v = TS_NAIVE.sub(r"\1 \2", TS.sub(r"\1 \2\3", v))
        return json.dumps(v, ensure_ascii=False)
    return json.dumps(v)


def render(line):
    """A row from row_to_json as MemFlux prints it: compact, numbers as PostgreSQL's."""
    try:
        v = json.loads(line, object_pairs_hook=Obj, parse_float=Raw,
                       parse_int=Raw, parse_constant=Raw)
    except ValueError:
        return line
    return compact(v)


def ordered(stmt):
    words = [w.lower() for w in re.split(r"[^A-Za-z0-9_]+", stmt) if w]
    return any(a == "order" and b == "by" for a, b in zip(words, words[1:]))


def first_word(stmt):
    m = re.match(r"\s*\(*\s*([A-Za-z]+)", stmt)
    return m.group(1).upper() if m else ""


def run(db, stmt):
    """The reply lines MemFlux should give, from PostgreSQL."""
    word = first_word(stmt)
    returning = re.search(r"\bRETURNING\b", stmt, re.I) is not None
    if word in ("SELECT", "VALUES", "WITH") and not returning:
        ok, out = psql(db, f"SELECT row_to_json(oracle_q)::text FROM ({stmt}) oracle_q")
        if not ok and "syntax error" in out[0]:
            # Not wrappable as a subquery (a trailing `;`...): run it as it is.
            ok, out = psql(db, stmt)
    elif returning:
        ok, out = psql(db, f"WITH oracle_q AS ({stmt}) SELECT row_to_json(oracle_q)::text FROM oracle_q")
    else:
        ok, out = psql(db, stmt)
        if ok:
            tag = out[-1] if out else ""
            m = re.match(r"(INSERT \d+|UPDATE|DELETE) (\d+)$", tag)
            if m:
                out = [m.group(2)]
            elif tag.split(" ")[0] in ("CREATE", "DROP", "TRUNCATE", "ALTER"):
                out = ["OK"]
    if not ok:
        return ["ERR SQL " + out[0]]
    if not out:
        return ["(empty)"]
    return [render(l) for l in out]


def agrees(stmt, expected, actual):
    if len(expected) == 1 and expected[0].endswith("*") and expected[0].startswith("ERR"):
        return len(actual) == 1 and actual[0].startswith("ERR SQL ")
    if ordered(stmt):
        return expected == actual
    return sorted(expected) == sorted(actual)


def check_file(path):
    name = "oracle_" + re.sub(r"\W", "_", os.path.basename(path).rsplit(".", 1)[0])
    subprocess.run(["psql", "-X", "-q", "-d", "postgres", "-c", f"DROP DATABASE IF EXISTS {name}"],
                   check=True, capture_output=True)
    subprocess.run(["psql", "-X", "-q", "-d", "postgres", "-c", f"CREATE DATABASE {name}"],
                   check=True, capture_output=True)
    steps = []  # (line, kind, text, expected)
    is_open = False
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            l = raw.rstrip("\n").rstrip()
            if not l.strip():
                is_open = False
            elif l.startswith("#pg-skip"):
                steps.append((n, "skip", l, []))
            elif l.startswith("#pg "):
                steps.append((n, "pg", l[4:], []))
            elif l.startswith("#"):
                pass
            elif l.startswith("> "):
                steps.append((n, "sql", l[2:].strip(), []))
                is_open = True
            elif l.startswith("! ") or l.startswith("@spread "):
                steps.append((n, "other", l, []))
                is_open = l.startswith("! ")
            elif is_open:
                steps[-1][3].append(l)
    bad = 0
    checked = 0
    skip = False
    for n, kind, text, expected in steps:
        if kind == "skip":
            skip = True
        elif kind == "pg":
            ok, out = psql(name, text)
            if not ok:
                bad += 1
                print(f"{path}:{n}: #pg failed: {text}\n  {out[0]}")
        elif kind == "sql":
            if skip:
                skip = False
                if VERBOSE:
                    print(f"{path}:{n}: skipped: {text}")
                continue
            checked += 1
            actual = run(name, text)
            if not agrees(text, expected, actual):
                bad += 1
                print(f"{path}:{n}: {text}\n  expected: " + "\n            ".join(expected)
                      + "\n  postgres: " + "\n            ".join(actual))
            elif VERBOSE and expected[0].endswith("*"):
                print(f"{path}:{n}: {text}\n  postgres: {actual[0]}")
    print(f"{path}: {checked} statements checked, {bad} disagreements")
    return bad


if __name__ == "__main__":
    sys.exit(1 if sum(check_file(p) for p in FILES) else 0)
