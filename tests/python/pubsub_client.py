#!/usr/bin/env python3
"""MemFlux pub/sub through redis-py: subscribe, psubscribe, get_message, publish from
another client, in RESP2 and in RESP3. Usage: pubsub_client.py PORT. Exits nonzero on
the first failure."""

import sys
import time

import redis


def next_message(p, timeout=10.0):
    """The next real message (skipping subscription confirmations), or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = p.get_message(ignore_subscribe_messages=True, timeout=0.5)
        if m is not None:
            return m
    raise AssertionError("no message arrived")


def check(got, want):
    if got != want:
        raise AssertionError(f"got {got!r}, want {want!r}")


def scenario(port, protocol):
    publisher = redis.Redis(port=port, protocol=protocol)
    subscriber = redis.Redis(port=port, protocol=protocol)
    p = subscriber.pubsub()
    p.subscribe("news", "sport")
    p.psubscribe("w*")
    # Wait for the three confirmations, so that the subscriptions are in place.
    confirmations = []
    while len(confirmations) < 3:
        m = p.get_message(timeout=5)
        if m is None:
            raise AssertionError("subscription not confirmed")
        confirmations.append(m["type"])
    check(sorted(confirmations), ["psubscribe", "subscribe", "subscribe"])
    check(publisher.pubsub_numsub("news", "none"), [(b"news", 1), (b"none", 0)])
    check(publisher.pubsub_numpat(), 1)

    check(publisher.publish("news", "hello"), 1)
    m = next_message(p)
    check((m["type"], m["channel"], m["data"]), ("message", b"news", b"hello"))

    check(publisher.publish("weather", b"\x00rain\r\n"), 1)
    m = next_message(p)
    check(
        (m["type"], m["pattern"], m["channel"], m["data"]),
        ("pmessage", b"w*", b"weather", b"\x00rain\r\n"),
    )

    # A callback handler, as applications use it.
    seen = []
    p.subscribe(**{"cb": lambda msg: seen.append(msg["data"])})
    while p.get_message(timeout=0.5) is not None or not publisher.pubsub_numsub("cb")[0][1]:
        pass
    check(publisher.publish("cb", "via callback"), 1)
    deadline = time.monotonic() + 10
    while not seen and time.monotonic() < deadline:
        p.get_message(timeout=0.5)
    check(seen, [b"via callback"])

    p.unsubscribe()
    p.punsubscribe()
    while p.get_message(timeout=0.5) is not None:
        pass
    check(publisher.publish("news", "x"), 0)
    check(publisher.pubsub_numpat(), 0)
    p.close()
    publisher.close()
    subscriber.close()


def main():
    port = int(sys.argv[1])
    scenario(port, 2)
    scenario(port, 3)
    print("pubsub_client: ok")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # any failure is a nonzero exit with the reason
        print(f"pubsub_client: FAILED: {e!r}", file=sys.stderr)
        sys.exit(1)
