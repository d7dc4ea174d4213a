"""proxy.server.encode_request: the same bytes as hiredis.pack_command."""

import random

import hiredis

from proxy.server import encode_request


def test_same_bytes_as_pack_command():
    rng = random.Random(7)
    lengths = [0, 1, 9, 10, 99, 100, 1023, 1024, 5000]
    for n in list(range(1, 6)) + [63, 64, 100]:
        for _ in range(20):
            argv = [rng.randbytes(rng.choice(lengths)) for _ in range(n)]
            assert encode_request(argv) == hiredis.pack_command(tuple(argv)), [len(a) for a in argv]


def test_arguments_with_protocol_bytes_inside():
    argv = [b"SET", b"k\r\n*1\r\n", b"$3\r\nabc\r\n"]
    assert encode_request(argv) == hiredis.pack_command(tuple(argv))
    assert encode_request((b"GET", b"")) == b"*2\r\n$3\r\nGET\r\n$0\r\n\r\n"


def test_other_argument_types_fall_back_to_pack_command():
    argv = [b"SET", "k\u00e9", 5]
    assert encode_request(argv) == hiredis.pack_command(tuple(argv))
