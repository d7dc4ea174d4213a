"""Redis serves a blocked client right after the command that made its key
ready, before the next command of the same pipeline runs."""

import socket

import redis

from tests.procs import wait_until


def test_push_serves_the_blocked_client_before_the_next_pipelined_pop(shared_node):
    r = redis.Redis(port=shared_node.port, protocol=2)
    r.delete("bq")
    blocked = socket.create_connection(("127.0.0.1", shared_node.port), timeout=5)
    blocked.sendall(b"BLPOP bq 5\r\n")
    wait_until(lambda: r.info("clients")["blocked_clients"] == 1, 5, what="blocked client")
    other = socket.create_connection(("127.0.0.1", shared_node.port), timeout=5)
    other.sendall(b"*3\r\n$5\r\nLPUSH\r\n$2\r\nbq\r\n$1\r\na\r\n*2\r\n$4\r\nLPOP\r\n$2\r\nbq\r\n")
    got = b""
    def both():
        nonlocal got
        got += other.recv(100)
        return got.count(b"\r\n") >= 2
    wait_until(both, 5, what="LPUSH and LPOP replies")
    assert got == b":1\r\n$-1\r\n"      # the LPOP found the list already served
    reply = b""
    def served():
        nonlocal reply
        reply += blocked.recv(100)
        return reply.endswith(b"a\r\n")
    wait_until(served, 5, what="the blocked client's reply")
    assert reply == b"*2\r\n$2\r\nbq\r\n$1\r\na\r\n"
    blocked.close()
    other.close()
    r.close()
