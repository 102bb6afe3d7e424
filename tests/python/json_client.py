"""redis-py's JSON helpers against MemFlux: python3 json_client.py <port>.

Exits nonzero (an assertion's traceback) on the first reply that is not what redis-py
users get from RedisJSON.
"""

import sys

import redis
from redis.commands.json.path import Path


def main(port: int) -> None:
    r = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
    j = r.json()
    prefix = "pyjson:"
    for key in r.scan_iter(prefix + "*"):
        r.delete(key)
    doc = prefix + "doc"

    # set / get with the legacy root and with $.
    assert j.set(doc, Path.root_path(), {"name": "ann", "tags": ["a"], "n": 1, "ok": True})
    assert j.get(doc) == {"name": "ann", "tags": ["a"], "n": 1, "ok": True}
    assert j.get(doc, "$.name") == ["ann"]
    assert j.get(doc, ".name") == "ann"
    assert j.get(doc, "$..missing") == []
    assert j.get(doc, "$.name", "$.n") == {"$.name": ["ann"], "$.n": [1]}
    assert j.set(doc, "$.city", "Oslo")
    assert j.set(doc, "$.city", "Bergen", nx=True) is None
    assert j.set(doc, "$.zip", "0150", xx=True) is None
    assert j.get(doc, "$.city") == ["Oslo"]
    assert r.type(doc) == "ReJSON-RL"

    # Types.
    assert j.type(doc) == "object"
    assert j.type(doc, "$.tags") == ["array"]
    assert j.type(doc, Path(".n")) == "integer"

    # Numbers.
    assert j.numincrby(doc, "$.n", 2) == [3]
    assert j.numincrby(doc, Path(".n"), 1.5) == 4.5
    assert j.nummultby(doc, "$.n", 2) == [9.0]

    # Strings.
    assert j.strappend(doc, "!", "$.name") == [4]
    assert j.strlen(doc, "$.name") == [4]
    assert j.get(doc, ".name") == "ann!"

    # Arrays.
    assert j.arrappend(doc, "$.tags", "b", "c") == [3]
    assert j.arrappend(doc, Path(".tags"), {"d": 1}) == 4
    assert j.arrlen(doc, "$.tags") == [4]
    assert j.arrindex(doc, "$.tags", "c") == [2]
    assert j.arrinsert(doc, "$.tags", 0, "z") == [5]
    # redis-py leaves the JSONPath form's elements as JSON text.
    assert j.arrpop(doc, "$.tags") == ['{"d":1}']
    assert j.arrpop(doc, Path(".tags"), 0) == "z"
    assert j.arrtrim(doc, "$.tags", 0, 0) == [1]
    assert j.get(doc, "$.tags") == [["a"]]

    # Objects.
    assert j.objkeys(doc) == ["name", "tags", "n", "ok", "city"]
    assert j.objkeys(doc, "$") == [["name", "tags", "n", "ok", "city"]]
    assert j.objlen(doc, "$") == [5]

    # Toggle, clear, resp.
    assert j.toggle(doc, "$.ok") == [False]
    assert j.get(doc, "$.ok") == [False]
    assert j.resp(doc, "$.tags") == [["[", "a"]]

    # mget / mset across keys (on different shards in general).
    keys = [prefix + f"m{i}" for i in range(8)]
    assert j.mset([(k, Path.root_path(), {"i": i}) for i, k in enumerate(keys)])
    assert j.mget(keys + [prefix + "none"], "$.i") == [[i] for i in range(8)] + [None]
    assert j.mget(keys, Path(".i")) == list(range(8))

    # The short form from earlier docs, through execute_command.
    assert r.execute_command("JSON.SET", doc + ".city", '"Tromsø"')
    assert j.get(doc, ".city") == "Tromsø"
    got = r.execute_command("JSON.GET", doc + ".city")
    assert got in ('"Tromsø"', "Tromsø"), got  # raw, or decoded by redis-py's callback

    # Errors surface as exceptions.
    try:
        j.set(prefix + "new", "$.a", 1)
        raise AssertionError("creating a key below the root must fail")
    except redis.ResponseError as e:
        assert "new objects must be created at the root" in str(e), e
    r.set(prefix + "str", "x")
    try:
        j.get(prefix + "str")
        raise AssertionError("JSON.GET of a string must fail")
    except redis.ResponseError as e:
        assert "WRONGTYPE" in str(e), e

    # clear and delete.
    assert j.clear(doc, "$.tags") == 1
    assert j.delete(doc, "$.city") == 1
    assert j.forget(doc, "$.nothing") == 0
    assert j.delete(doc) == 1
    assert j.get(doc) is None
    for k in keys:
        j.delete(k)
    r.delete(prefix + "str")
    print("json_client: ok")


if __name__ == "__main__":
    main(int(sys.argv[1]))
