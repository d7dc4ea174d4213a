"""bench/node_vs_redis.py's pure parts: reading redis-benchmark --csv output
and summarising samples into the result table (no processes)."""

import pytest

from bench.node_vs_redis import build_rows, format_table, parse_csv, summarize

# redis-benchmark 7.0.15 -q --csv, as captured
CSV_70 = (
    '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms",'
    '"p99_latency_ms","max_latency_ms"\n'
    '"SET","9174.31","0.504","0.088","0.359","1.079","3.631","5.863"\n'
    '"GET","11560.69","0.387","0.080","0.215","0.999","3.023","8.687"\n'
    '"LPUSH","11904.76","0.371","0.064","0.175","1.607","4.135","5.711"\n'
    '"LPUSH (needed to benchmark LRANGE)","10582.01","0.421","0.056","0.215","1.671","3.703","4.815"\n'
    '"LRANGE_100 (first 100 elements)","4056.80","1.113","0.144","0.639","3.695","5.951","23.423"\n'
    '"MSET (10 keys)","8230.45","0.569","0.048","0.167","2.887","6.655","9.575"\n'
)


def test_parse_csv_70():
    assert parse_csv(CSV_70) == {
        "SET": 9174.31, "GET": 11560.69, "LPUSH": 11904.76,
        "LPUSH (needed to benchmark LRANGE)": 10582.01,
        "LRANGE_100 (first 100 elements)": 4056.80, "MSET (10 keys)": 8230.45,
    }
    assert list(parse_csv(CSV_70))[:2] == ["SET", "GET"]  # order kept


def test_parse_csv_old_two_columns_and_noise():
    text = (
        "WARNING: Could not fetch server CONFIG\n"
        'SET: rps=12345.0 (overall: 12000.0) avg_msec=0.3 (overall: 0.3)\r'
        '"SET","123456.79"\r\n'
        "\n"
        'GET: rps=1.0\r"GET","200000.00"\n'
        "Error from server: ERR unknown command 'x'\n"
        '"PING_INLINE","not-a-number"\n'
        '"test","rps"\n'
    )
    assert parse_csv(text) == {"SET": 123456.79, "GET": 200000.0}


def test_parse_csv_quoted_title_with_comma():
    text = '"test","rps"\n"EVAL ""return 1"", 0","5000.50","0.1"\n'
    assert parse_csv(text) == {'EVAL "return 1", 0': 5000.5}


@pytest.mark.parametrize("text", ["", '"test","rps","avg_latency_ms"\n',
                                  "Error from server: ERR unknown command 'nosuchcmd'\n"])
def test_parse_csv_nothing(text):
    assert parse_csv(text) == {}


def test_summarize():
    assert summarize([3.0, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0,
                                          "samples": [3.0, 1.0, 2.0]}
    assert summarize([4.0, 1.0])["median"] == 2.5
    assert summarize([]) == {"median": None, "min": None, "max": None, "samples": []}


def test_build_rows_and_ratio():
    samples = {
        ("redis", "SET", 16): [1000.0, 1200.0, 1100.0],
        ("shardis", "SET", 16): [500.0, 550.0, 600.0],
        ("redis", "SET", 1): [100.0],
        ("shardis", "SET", 1): [50.0],
        ("redis", "GET", 1): [200.0],
        ("shardis", "GET", 1): [100.0],
        ("redis", "LPUSH", 1): [10.0],           # shardis had no result for it
    }
    rows = build_rows(samples)
    assert [(r["test"], r["pipeline"]) for r in rows] == [
        ("SET", 1), ("SET", 16), ("GET", 1), ("LPUSH", 1)]
    set16 = rows[1]
    assert set16["redis"]["median"] == 1100.0 and set16["shardis"]["median"] == 550.0
    assert set16["ratio"] == pytest.approx(0.5)
    assert rows[3]["ratio"] is None and rows[3]["shardis"]["median"] is None


def test_format_table():
    rows = build_rows({("redis", "SET", 1): [100000.0, 90000.0, 110000.0],
                       ("shardis", "SET", 1): [45000.0, 50000.0, 55000.0]})
    lines = format_table(rows).splitlines()
    assert lines[0].split() == ["test", "P", "redis", "ops/s", "median", "redis", "min-max",
                                "shardis", "ops/s", "median", "shardis", "min-max",
                                "shardis/redis"]
    assert set(lines[1]) <= {"-", " "}
    assert lines[2].split() == ["SET", "1", "100,000", "90,000-110,000", "50,000",
                                "45,000-55,000", "0.50"]
