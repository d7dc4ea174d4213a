"""node/rdb.py without a server: CRC64, LZF, the string encodings, listpacks,
ziplists, intsets, zipmaps, DUMP payloads and whole RDB files.

The ``REDIS_*`` vectors are DUMP payloads produced by real servers (Redis
6.2.5 writes RDB 9 with ziplists, Redis 7.0.15 RDB 10 with listpacks).
"""

from collections import deque

import pytest

import node.commands  # noqa: F401  (registers the value types)
from node import rdb
from node.commands.zsets import ZSet

CFG = {"zset-max-listpack-entries": 128, "zset-max-listpack-value": 64}

# Redis 7.0.15: SET s "hello world"*5 (LZF-compressed), SADD st 1 2 3 (intset),
# HSET h a 1 b xx (listpack), ZADD z 1.5 a -2 b inf c (listpack).
REDIS7_STRING_LZF = b"\x00\xc3\x137\x0bhello worldh\xe0 \n\x01ld\n\x00\x86;\xd8.a\x9cA\xfb"
REDIS7_INTSET = (b"\x0b\x0e\x02\x00\x00\x00\x03\x00\x00\x00\x01\x00\x02\x00\x03\x00\n\x00"
                 b"\xa5\x02\\\xe2mnM\x1b")
REDIS7_HASH_LISTPACK = (b"\x10\x13\x13\x00\x00\x00\x04\x00\x81a\x02\x01\x01\x81b\x02\x82xx\x03"
                        b"\xff\n\x00s\"@\x08\xfd\xdav\xd5")
REDIS7_ZSET_LISTPACK = (b"\x11\x1d\x1d\x00\x00\x00\x06\x00\x81b\x02\xdf\xfe\x02\x81a\x02\x831.5"
                        b"\x04\x81c\x02\x83inf\x04\xff\n\x00sV\xadl\xc2HJ\xd0")
# Redis 6.2.5: RPUSH l a 1 -300 hello (quicklist of ziplists), HSET h f v n 12
# (ziplist), ZADD z 1.5 a -2 b (ziplist), a stream with a group (RDB 9 stream).
REDIS6_LIST = (b"\x0e\x01\x1b\x1b\x00\x00\x00\x13\x00\x00\x00\x04\x00\x00\x01a\x03\xf2\x02"
               b"\xc0\xd4\xfe\x04\x05hello\xff\t\x00\x98\x1d\xf4\x88L\x88\x10\xaf")
REDIS6_HASH = (b"\r\x16\x16\x00\x00\x00\x13\x00\x00\x00\x04\x00\x00\x01f\x03\x01v\x03\x01n"
               b"\x03\xfd\xff\t\x00b/\xf1x\xb38\xa4(")
REDIS6_ZSET = (b"\x0c\x19\x19\x00\x00\x00\x13\x00\x00\x00\x04\x00\x00\x01b\x03\xfe\xfe\x03"
               b"\x01a\x03\x031.5\xff\t\x00\xdd\x0cT\xb3\x81\xb0\x1c\xd7")
REDIS6_STREAM = (
    b"\x0f\x01\x10\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x01\x1d\x1d"
    b"\x00\x00\x00\n\x00\x01\x01\x00\x01\x01\x01\x81f\x02\x00\x01\x02\x01\x00\x01\x00\x01"
    b"\x81v\x02\x04\x01\xff\x01\x05\x01\x01\x01g\x05\x01\x01\x00\x00\x00\x00\x00\x00\x00"
    b"\x05\x00\x00\x00\x00\x00\x00\x00\x01=\r\x99\xfe\xa1\x01\x00\x00\x01\x01\x01c=\r\x99"
    b"\xfe\xa1\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00"
    b"\x01\t\x00h\x1f\x8c\x15\x1d{\x19\x00")


# -- CRC64 -------------------------------------------------------------------

def test_crc64_redis_test_vector():
    assert rdb.crc64(b"123456789") == 0xE9C6D914C4B8D9CA


def test_crc64_continues_and_matches_bytewise():
    data = bytes(range(256)) * 7 + b"tail"
    whole = rdb.crc64(data)
    assert rdb.crc64(data[100:], rdb.crc64(data[:100])) == whole
    crc = 0
    for b in data:                      # the reference one-byte-at-a-time loop
        crc = rdb._T0[(crc ^ b) & 0xFF] ^ (crc >> 8)
    assert crc == whole
    assert rdb.crc64(b"") == 0


# -- strings: integer encodings and LZF --------------------------------------

@pytest.mark.parametrize("raw, value", [
    (b"\xc0\x7b", b"123"),
    (b"\xc0\xff", b"-1"),
    (b"\xc0\x80", b"-128"),
    (b"\xc1\x39\x30", b"12345"),
    (b"\xc1\x00\x80", b"-32768"),
    (b"\xc2\x15\xcd\x5b\x07", b"123456789"),
    (b"\xc2\x00\x00\x00\x80", b"-2147483648"),
    (b"\x05hello", b"hello"),
    (b"\x40\x40" + b"x" * 64, b"x" * 64),
    (b"\x80\x00\x00\x40\x00" + b"y" * 16384, b"y" * 16384),
    (b"\x00", b""),
])
def test_string_decoding(raw, value):
    assert rdb.Reader(raw).string() == value


@pytest.mark.parametrize("value, raw", [
    (b"0", b"\xc0\x00"),
    (b"-128", b"\xc0\x80"),
    (b"128", b"\xc1\x80\x00"),
    (b"2147483647", b"\xc2\xff\xff\xff\x7f"),
    (b"2147483648", b"\x0a2147483648"),     # does not fit 32 bits: verbatim
    (b"007", b"\x03007"),                   # not canonical: verbatim
    (b"-0", b"\x02-0"),
    (b"+1", b"\x02+1"),
])
def test_string_encoding(value, raw):
    assert rdb.enc_string(value) == raw
    assert rdb.Reader(raw).string() == value


def test_lzf_string_hand_made():
    # literal "a", then a back reference of 9 bytes at distance 1 -> "a" * 10
    block = b"\x00a\xe0\x00\x00"
    assert rdb.lzf_decompress(block, 10) == b"a" * 10
    raw = b"\xc3\x05\x0a" + block
    assert rdb.Reader(raw).string() == b"a" * 10
    # literal "abc", back reference of 3 at distance 3 -> "abcabc"
    assert rdb.lzf_decompress(b"\x02abc\x20\x02", 6) == b"abcabc"


def test_lzf_rejects_bad_blocks():
    with pytest.raises(rdb.RDBError):
        rdb.lzf_decompress(b"\x00a\xe0\x00\x00", 11)      # wrong length
    with pytest.raises(rdb.RDBError):
        rdb.lzf_decompress(b"\x20\x05", 5)                # reference before the start
    with pytest.raises(rdb.RDBError):
        rdb.lzf_decompress(b"\x05ab", 6)                  # literal past the input


def test_lzf_compress_round_trip():
    data = b"hello world" * 50 + bytes(range(200)) + b"z" * 1000
    block = rdb.lzf_compress(data)
    assert block is not None and len(block) < len(data)
    assert rdb.lzf_decompress(block, len(data)) == data
    assert rdb.lzf_compress(b"abcd") is None
    enc = rdb.enc_string(data, compress=True)
    assert enc[0] == 0xC3
    assert rdb.Reader(enc).string() == data


def test_redis7_compressed_string_payload():
    assert rdb.verify_payload(REDIS7_STRING_LZF)
    assert rdb.load_payload(REDIS7_STRING_LZF) == b"hello world" * 5


# -- lengths -----------------------------------------------------------------

@pytest.mark.parametrize("n", [0, 63, 64, 16383, 16384, 2**32 - 1, 2**32, 2**64 - 1])
def test_lengths(n):
    raw = rdb.enc_len(n)
    r = rdb.Reader(raw)
    assert r.length() == n and r.pos == len(raw)


# -- listpack / ziplist / intset / zipmap ------------------------------------

LP_ITEMS = [0, 127, 128, -1, -4096, 4095, 4096, -32768, 32767, 32768, -8388608, 8388607,
            8388608, -2**31, 2**31 - 1, 2**31, -2**63, 2**63 - 1,
            b"", b"a", b"x" * 63, b"x" * 64, b"y" * 4095, b"y" * 4096, b"-0", b"01"]


def test_listpack_round_trip():
    lp = rdb.listpack_encode(LP_ITEMS)
    assert int.from_bytes(lp[:4], "little") == len(lp) and lp[-1] == 0xFF
    got = rdb.listpack_decode(lp, as_bytes=False)
    assert got == LP_ITEMS
    assert rdb.listpack_decode(lp) == [b"%d" % x if isinstance(x, int) else x for x in LP_ITEMS]
    # integer-looking strings are stored as integers, like lpAppend
    assert rdb.listpack_encode([b"12"]) == rdb.listpack_encode([12])


def test_listpack_corruption():
    lp = bytearray(rdb.listpack_encode([b"abc", 5]))
    with pytest.raises(rdb.RDBError):
        rdb.listpack_decode(bytes(lp[:-1]))
    lp[4] = 9       # wrong element count
    with pytest.raises(rdb.RDBError):
        rdb.listpack_decode(bytes(lp))


def _ziplist(entries: list) -> bytes:
    """A ziplist built by hand (prevlen, encoding, data)."""
    body = b""
    prev = 0
    for enc in entries:
        pl = bytes((prev,)) if prev < 254 else b"\xfe" + prev.to_bytes(4, "little")
        e = pl + enc
        body += e
        prev = len(e)
    total = 10 + len(body) + 1
    return (total.to_bytes(4, "little") + (10).to_bytes(4, "little")
            + len(entries).to_bytes(2, "little") + body + b"\xff")


def test_ziplist_decoding():
    zl = _ziplist([b"\x03abc", b"\xf1", b"\xfd", b"\xfe\xff", b"\xc0\x00\x80",
                   b"\xf0\xff\xff\x7f", b"\xd0\x00\x00\x00\x80", b"\xe0" + (2**63 - 1).to_bytes(8, "little"),
                   b"\x40\x41" + b"q" * 65])
    assert rdb.ziplist_decode(zl) == [b"abc", b"0", b"12", b"-1", b"-32768", b"8388607",
                                      b"-2147483648", b"%d" % (2**63 - 1), b"q" * 65]


def test_intset_and_zipmap():
    blob = (4).to_bytes(4, "little") + (2).to_bytes(4, "little") + \
        (-5).to_bytes(4, "little", signed=True) + (70000).to_bytes(4, "little")
    assert rdb.intset_decode(blob) == [b"-5", b"70000"]
    with pytest.raises(rdb.RDBError):
        rdb.intset_decode(blob[:-1])
    zm = b"\x02\x03foo\x03\x00bar\x05hello\x05\x02world!!\xff"
    assert rdb.zipmap_decode(zm) == [b"foo", b"bar", b"hello", b"world"]
    r = rdb.Reader(rdb.enc_string(zm))
    assert rdb.decode_value(rdb.TYPE_HASH_ZIPMAP, r) == {b"foo": b"bar", b"hello": b"world"}


# -- real payloads -----------------------------------------------------------

def test_redis7_payloads():
    for p in (REDIS7_INTSET, REDIS7_HASH_LISTPACK, REDIS7_ZSET_LISTPACK):
        assert rdb.verify_payload(p)
    assert rdb.load_payload(REDIS7_INTSET) == {b"1", b"2", b"3"}
    assert rdb.load_payload(REDIS7_HASH_LISTPACK) == {b"a": b"1", b"b": b"xx"}
    z = rdb.load_payload(REDIS7_ZSET_LISTPACK, CFG)
    assert list(z.sl) == [(-2.0, b"b"), (1.5, b"a"), (float("inf"), b"c")]


def test_redis6_payloads():
    for p in (REDIS6_LIST, REDIS6_HASH, REDIS6_ZSET, REDIS6_STREAM):
        assert rdb.verify_payload(p)            # RDB 9 < 10: accepted
        assert p[-10] == 9
    assert rdb.load_payload(REDIS6_LIST) == deque([b"a", b"1", b"-300", b"hello"])
    h = rdb.load_payload(REDIS6_HASH)
    assert h == {b"f": b"v", b"n": b"12"} and list(h) == [b"f", b"n"]
    assert list(rdb.load_payload(REDIS6_ZSET, CFG).sl) == [(-2.0, b"b"), (1.5, b"a")]
    s = rdb.load_payload(REDIS6_STREAM, CFG)
    assert s.ids == [(5 << 64) | 1]
    assert s.entries[s.ids[0]] == [b"5-1", [b"f", b"v"]]
    assert s.last_id == (5 << 64) | 1 and s.entries_added == 1
    g = s.groups[b"g"]
    assert g.last_id == (5 << 64) | 1 and g.entries_read == 1     # estimated, as Redis does
    assert list(g.pel) == [(5 << 64) | 1] and g.pel[(5 << 64) | 1].consumer.name == b"c"
    assert list(g.consumers[b"c"].pel) == [(5 << 64) | 1]


def test_stream_reencodes_to_redis7_bytes():
    """Redis 6.2's stream, re-saved, is exactly what Redis 7.0 would write
    (STREAM_LISTPACKS_2: same listpack, plus first ID, max deleted ID,
    entries added and the groups' entries read)."""
    s = rdb.load_payload(REDIS6_STREAM, CFG)
    enc = rdb.encode_value(s)
    assert enc[0] == rdb.TYPE_STREAM_LISTPACKS_2
    assert enc[1:] == rdb.encode_value(rdb.decode_value(enc[0], rdb.Reader(enc, 1), CFG))[1:]
    # the node listpack is byte for byte Redis's
    lp_start = REDIS6_STREAM.index(b"\x1d\x1d\x00\x00")
    lp = REDIS6_STREAM[lp_start:lp_start + 0x1d]
    assert lp in enc


def test_payload_verification():
    p = rdb.dump_payload(b"value")
    assert p[-10:-8] == b"\x0a\x00"
    assert rdb.verify_payload(p)
    bad = bytearray(p)
    bad[1] ^= 1
    assert not rdb.verify_payload(bytes(bad))
    newer = p[:-10] + b"\x0b\x00"
    newer += rdb.crc64(newer).to_bytes(8, "little")
    assert not rdb.verify_payload(newer)              # RDB 11: refused
    assert not rdb.verify_payload(b"short")


def test_bad_data_raises():
    body = b"\x63garbage" + b"\x0a\x00"                # type 99
    p = body + rdb.crc64(body).to_bytes(8, "little")
    assert rdb.verify_payload(p)
    with pytest.raises(rdb.RDBError):
        rdb.load_payload(p)
    truncated = b"\x00\x10abc" + b"\x0a\x00"
    p = truncated + rdb.crc64(truncated).to_bytes(8, "little")
    with pytest.raises(rdb.RDBError):
        rdb.load_payload(p)
    dup = b"\x02\x02\x01a\x01a" + b"\x0a\x00"          # a set with a duplicate
    p = dup + rdb.crc64(dup).to_bytes(8, "little")
    with pytest.raises(rdb.RDBError):
        rdb.load_payload(p)
    empty = b"\x04\x00" + b"\x0a\x00"                  # an empty hash
    p = empty + rdb.crc64(empty).to_bytes(8, "little")
    with pytest.raises(rdb.EmptyKeyError):
        rdb.load_payload(p)


# -- round trips of every type ------------------------------------------------

def test_value_round_trips():
    z = ZSet.from_pairs([(1.0, b"a"), (-0.5, b"b"), (float("-inf"), b"c"), (2.5, b"x" * 100)],
                        CFG)
    values = [
        b"", b"plain", b"-17", b"99999999999", bytearray(b"grown"),
        deque([b"a", b"1", b"-99999", b"z" * 9000, b""] * 3),
        {b"1", b"2", b"-3"}, {b"a", b"b" * 70},
        {b"f": b"v", b"n": b"1", b"big": b"x" * 300},
    ]
    for v in values:
        p = rdb.dump_payload(v)
        assert rdb.verify_payload(p)
        got = rdb.load_payload(p)
        assert got == (bytes(v) if isinstance(v, bytearray) else v)
    got = rdb.load_payload(rdb.dump_payload(z), CFG)
    assert list(got.sl) == list(z.sl) and got.d == z.d


def test_list_nodes_split_at_8kb():
    items = deque(b"%05d" % i + b"x" * 95 for i in range(500))
    enc = rdb.encode_value(items)
    assert enc[0] == rdb.TYPE_LIST_QUICKLIST_2
    r = rdb.Reader(enc, 1)
    nodes = r.length()
    assert nodes > 1
    for _ in range(nodes):
        assert r.length() == rdb.QUICKLIST_PACKED
        assert len(r.string()) <= 8192
    assert rdb.decode_value(enc[0], rdb.Reader(enc, 1)) == items


# -- whole files ---------------------------------------------------------------

def test_rdb_file_round_trip():
    dbs = [
        (0, 2, 1, iter([(b"k1", b"v1", -1), (b"k2", {b"m"}, 1234567890123)])),
        (5, 1, 0, iter([(b"h", {b"f": b"v"}, -1)])),
    ]
    data = b"".join(rdb.write_rdb(dbs, [(b"redis-ver", b"7.0.15")]))
    assert data.startswith(b"REDIS0010")
    assert int.from_bytes(data[-8:], "little") == rdb.crc64(data[:-8])
    events = list(rdb.read_rdb(data))
    assert ("aux", b"redis-ver", b"7.0.15") in events
    keys = [e for e in events if e[0] == "key"]
    assert keys == [("key", 0, b"k1", b"v1", -1, -1, -1),
                    ("key", 0, b"k2", {b"m"}, 1234567890123, -1, -1),
                    ("key", 5, b"h", {b"f": b"v"}, -1, -1, -1)]
    bad = bytearray(data)
    bad[20] ^= 0x55
    with pytest.raises(rdb.RDBError):
        list(rdb.read_rdb(bytes(bad)))
    nocrc = b"".join(rdb.write_rdb([], checksum=False))
    assert nocrc[-8:] == bytes(8)
    assert list(rdb.read_rdb(nocrc)) == []


def test_rdb_file_old_opcodes():
    """EXPIRETIME (seconds), IDLE and FREQ, an RDB version 6 file."""
    body = (b"REDIS0006" + b"\xfd" + (1000).to_bytes(4, "little") + b"\x00\x01a\x01b"
            + b"\xf8\x05\x00\x01c\x01d" + b"\xf9\x07\x00\x01e\x01f" + b"\xff")
    data = body + rdb.crc64(body).to_bytes(8, "little")
    keys = [e for e in rdb.read_rdb(data) if e[0] == "key"]
    assert keys == [("key", 0, b"a", b"b", 1000000, -1, -1),
                    ("key", 0, b"c", b"d", -1, 5, -1),
                    ("key", 0, b"e", b"f", -1, -1, 7)]
    with pytest.raises(rdb.RDBError):
        list(rdb.read_rdb(b"REDIS0011" + b"\xff" + bytes(8)))


def test_rdb_file_function_library_is_reported():
    code = b"#!lua name=lib\nredis.register_function('f', function() return 1 end)"
    body = b"REDIS0010" + b"\xf5" + rdb.enc_string(code) + b"\x00\x01k\x01v" + b"\xff"
    data = body + rdb.crc64(body).to_bytes(8, "little")
    events = list(rdb.read_rdb(data))
    assert events == [("function", code), ("key", 0, b"k", b"v", -1, -1, -1)]
    body = b"REDIS0010\xf7\x01\x02\x02\xff"                      # module AUX data
    with pytest.raises(rdb.RDBError):
        list(rdb.read_rdb(body + rdb.crc64(body).to_bytes(8, "little")))
