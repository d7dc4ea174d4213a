"""bench/common.py's pure parts: redis-benchmark output (--csv and the plain
latency summary) and /proc/PID/stat and /proc/PID/status (no processes)."""

import pytest

from bench.common import (parse_csv, parse_csv_rows, parse_proc_stat, parse_summary,
                          parse_vmrss, summarize)

CSV_70 = (
    '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms",'
    '"p99_latency_ms","max_latency_ms"\n'
    '"SET","8707.01","5.344","0.104","4.151","13.751","24.527","47.711"\n'
    '"LPUSH (needed to benchmark LRANGE)","10582.01","0.421","0.056","0.215","1.671","3.703",'
    '"4.815"\n'
)

# redis-benchmark 7.0.15 --cluster -q --csv: the node list goes to stdout first
CSV_CLUSTER = (
    "Cluster has 2 master nodes:\n\n"
    "Master 0: a49816bc01a71b20ff1f38255959d67461c35d44 127.0.0.1:54883\n"
    "Master 1: ff7a57a724ddc259f890783546010b2c21fd7555 127.0.0.1:54884\n\n"
    '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms",'
    '"p99_latency_ms","max_latency_ms"\n'
    '"SET","264900.66","2.610","0.224","1.247","11.127","27.807","59.807"\n'
)

# redis-benchmark 7.0.15 without -q/--csv (the per-bucket lines left out)
PLAIN = (
    " \rSET: rps=0.0 (overall: -nan) avg_msec=-nan (overall: -nan)\r      \r"
    "====== SET ======\n"
    "  2000 requests completed in 0.16 seconds\n  10 parallel clients\n  3 bytes payload\n"
    "  keep alive: 1\n  host configuration \"save\": \n  multi-thread: no\n\n"
    "Latency by percentile distribution:\n0.000% <= 0.063 milliseconds (cumulative count 1)\n\n"
    "Cumulative distribution of latencies:\n\nSummary:\n"
    "  throughput summary: 12195.12 requests per second\n"
    "  latency summary (msec):\n"
    "          avg       min       p50       p95       p99       max\n"
    "        0.606     0.056     0.175     3.191     5.255     6.911\n"
    " \rLPUSH (needed to benchmark LRANGE): rps=6341.3 (overall: 18367.8)\r   \r"
    "====== LPUSH (needed to benchmark LRANGE) ======\n"
    "  2000 requests completed in 0.10 seconds\n\nSummary:\n"
    "  throughput summary: 19801.98 requests per second\n"
    "  latency summary (msec):\n"
    "          avg       min       p50       p95       p99       max\n"
    "        0.335     0.016     0.127     2.455     4.167     7.687\n"
)


def test_parse_csv_rows_latency_columns():
    rows = parse_csv_rows(CSV_70)
    assert list(rows) == ["SET", "LPUSH (needed to benchmark LRANGE)"]
    assert rows["SET"] == {"rps": 8707.01, "avg_ms": 5.344, "min_ms": 0.104, "p50_ms": 4.151,
                           "p95_ms": 13.751, "p99_ms": 24.527, "max_ms": 47.711}


def test_parse_csv_rows_cluster_preamble_is_skipped():
    assert parse_csv_rows(CSV_CLUSTER) == {"SET": {
        "rps": 264900.66, "avg_ms": 2.61, "min_ms": 0.224, "p50_ms": 1.247, "p95_ms": 11.127,
        "p99_ms": 27.807, "max_ms": 59.807}}


def test_parse_csv_rows_old_layout_has_rps_only():
    assert parse_csv_rows('"SET","1000.5"\n"GET","2000"\n') == {
        "SET": {"rps": 1000.5}, "GET": {"rps": 2000.0}}


def test_parse_csv_rows_bad_latency_cell_is_left_out():
    text = '"test","rps","p50_latency_ms","p99_latency_ms"\n"SET","10","nan?","2.5"\n'
    assert parse_csv_rows(text) == {"SET": {"rps": 10.0, "p99_ms": 2.5}}


def test_parse_csv_is_rps_of_rows():
    assert parse_csv(CSV_70) == {"SET": 8707.01, "LPUSH (needed to benchmark LRANGE)": 10582.01}


def test_parse_summary_plain_output():
    rows = parse_summary(PLAIN)
    assert list(rows) == ["SET", "LPUSH (needed to benchmark LRANGE)"]
    assert rows["SET"] == {"rps": 12195.12, "avg_ms": 0.606, "min_ms": 0.056, "p50_ms": 0.175,
                           "p95_ms": 3.191, "p99_ms": 5.255, "max_ms": 6.911}
    assert rows["LPUSH (needed to benchmark LRANGE)"]["p99_ms"] == 4.167


def test_parse_summary_nothing():
    assert parse_summary("") == {}
    assert parse_summary("Could not connect to Redis at 127.0.0.1:1: Connection refused\n") == {}


def test_parse_proc_stat():
    text = ("3965 (cat) R 3890 3890 28917 0 -1 4194304 101 0 0 0 17 5 0 0 20 0 1 0 282518 "
            "3133440 413 18446744073709551615\n")
    assert parse_proc_stat(text) == (17, 5)


def test_parse_proc_stat_command_with_spaces_and_parens():
    text = "42 (python (x) y) S 1 42 42 0 -1 4194560 5 0 0 0 1234 567 0 0 20 0 3 0 1 2 3\n"
    assert parse_proc_stat(text) == (1234, 567)


def test_parse_vmrss():
    text = "Name:\tredis-server\nVmPeak:\t  100 kB\nVmRSS:\t   15360 kB\nThreads:\t5\n"
    assert parse_vmrss(text) == 15360 * 1024
    with pytest.raises(ValueError):
        parse_vmrss("Name:\tzombie\n")


def test_summarize_odd_even_empty():
    assert summarize([3.0, 1.0, 2.0])["median"] == 2.0
    assert summarize([1.0, 4.0])["median"] == 2.5
    assert summarize([])["median"] is None
