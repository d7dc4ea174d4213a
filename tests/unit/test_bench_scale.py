"""bench/scale.py's pure parts: the run plan, samples from one
redis-benchmark run, aggregation into rows, the summary table and the
CSV/JSON files (no processes)."""

import csv
import json

import pytest

from bench.scale import (CSV_COLUMNS, aggregate, benchmark_args, format_summary, honesty_note,
                         make_samples, parse_int_list, plan_runs, requests_per_pipeline,
                         write_csv, write_json)

INFO = {"machine": "x86_64, 2 CPU cores", "cpus": 2, "repeat": 3, "clients": 50,
        "requests": 1000, "keyspace": 100, "loadavg_start": 1.5, "shards": [1, 2],
        "redis_server_version": "Redis server v=7.0.15 sha=00000000:0",
        "shardis_version": "shardis node v=0.1.0"}


def sample(server, shards, pipeline, test, rps, p99=1.0, cpu=10.0, rss=20.0, wall=5.0, rnd=1):
    return {"server": server, "shards": shards, "pipeline": pipeline, "test": test,
            "round": rnd, "rps": rps, "p50_ms": p99 / 2, "p99_ms": p99, "cpu_us_per_op": cpu,
            "rss_mib": rss, "wall_s": wall}


def test_parse_int_list():
    assert parse_int_list("1, 2,4,2", "--shards") == [1, 2, 4]
    with pytest.raises(ValueError, match="comma-separated"):
        parse_int_list("1,x", "--shards")
    with pytest.raises(ValueError, match=">= 1"):
        parse_int_list("0,1", "--shards")
    with pytest.raises(ValueError):
        parse_int_list("", "--pipeline")


def test_requests_per_pipeline():
    assert requests_per_pipeline("1000", [1, 16]) == {1: 1000, 16: 1000}
    assert requests_per_pipeline("1000,8000", [1, 16]) == {1: 1000, 16: 8000}
    with pytest.raises(ValueError, match="2 values for 3"):
        requests_per_pipeline("1,2", [1, 4, 16])
    with pytest.raises(ValueError):
        requests_per_pipeline("0", [1])


def test_honesty_note_names_requests_per_pipeline():
    note = honesty_note(dict(INFO, requests={"1": 1000, "16": 8000}))
    assert "-n 1000 at -P 1, -n 8000 at -P 16" in note
    assert "-n 1000," in honesty_note(INFO)


def test_plan_covers_everything_and_alternates():
    plan = plan_runs([1, 2], 2, [1, 16], ["set", "get"])
    assert len(plan) == 2 * 2 * 2 * 2 * 2
    assert len(set(plan)) == len(plan)
    # shard counts run one after the other (one pair of clusters at a time)
    assert [p[0] for p in plan] == [1] * 16 + [2] * 16
    # both servers back to back for each (round, pipeline, test)...
    pairs = [plan[i:i + 2] for i in range(0, len(plan), 2)]
    for a, b in pairs:
        assert a[:4] == b[:4] and {a[4], b[4]} == {"shardis", "redis"}
    # ...and the one going first alternates
    firsts = [a[4] for a, _ in pairs[:8]]
    assert firsts.count("shardis") == firsts.count("redis") == 4
    assert firsts[0] != firsts[1]


def test_benchmark_args_cluster_flag_only_for_two_or_more_nodes():
    one = benchmark_args("rb", 7000, 1, "set", 50, 1000, 16, 100)
    assert "--cluster" not in one
    assert one == ["rb", "-h", "127.0.0.1", "-p", "7000", "-t", "set", "-c", "50", "-n", "1000",
                   "-P", "16", "-r", "100", "-q", "--csv"]
    assert benchmark_args("rb", 7000, 3, "get", 50, 1000, 1, 100)[:2] == ["rb", "--cluster"]


def test_make_samples_shares_cpu_among_titles():
    rows = {"LPUSH (needed to benchmark LRANGE)": {"rps": 100.0, "p99_ms": 2.0},
            "LRANGE_100 (first 100 elements)": {"rps": 50.0, "p50_ms": 1.0, "p99_ms": 3.0}}
    got = make_samples("redis", 2, 16, 0, rows, requests=1000, wall_s=1.23456,
                       server_cpu_s=0.5, client_cpu_s=0.25, rss=3 * 2**20, loadavg=0.7)
    assert [s["test"] for s in got] == list(rows)
    s = got[1]
    assert s["server"] == "redis" and s["shards"] == 2 and s["pipeline"] == 16
    assert s["round"] == 1 and s["rps"] == 50.0 and s["p99_ms"] == 3.0 and s["avg_ms"] is None
    assert s["cpu_us_per_op"] == pytest.approx(0.5 / 2000 * 1e6)  # 2 titles x 1000 requests
    assert s["rss_mib"] == 3.0 and s["wall_s"] == 1.235 and s["loadavg_1m"] == 0.7
    assert s["client_cpu_s"] == 0.25 and s["client_cpu_pct"] == round(100 * 0.25 / 1.23456, 1)


def test_aggregate_medians_ratio_speedup_and_order():
    samples = [sample("shardis", 2, 1, "SET", v) for v in (90.0, 100.0, 110.0)]
    samples += [sample("redis", 2, 1, "SET", v, p99=0.5) for v in (380.0, 400.0, 420.0)]
    samples += [sample("shardis", 1, 1, "SET", 50.0), sample("redis", 1, 1, "SET", 300.0)]
    samples += [sample("redis", 1, 16, "SET", 1000.0)]        # no shardis sample
    samples += [sample("shardis", 1, 1, "GET", 70.0), sample("redis", 1, 1, "GET", 0.0)]
    rows = aggregate(samples)
    assert [(r["test"], r["pipeline"], r["shards"]) for r in rows] == [
        ("SET", 1, 1), ("SET", 1, 2), ("SET", 16, 1), ("GET", 1, 1)]
    two = rows[1]
    assert two["shardis"]["rps"] == {"median": 100.0, "min": 90.0, "max": 110.0,
                                     "samples": [90.0, 100.0, 110.0]}
    assert two["redis"]["p99_ms"]["median"] == 0.5
    assert two["ratio"] == pytest.approx(0.25)
    assert two["speedup"] == {"shardis": pytest.approx(2.0), "redis": pytest.approx(400 / 300)}
    assert rows[0]["speedup"] == {"shardis": 1.0, "redis": 1.0}
    assert rows[2]["ratio"] is None and rows[2]["shardis"]["runs"] == 0
    assert rows[3]["ratio"] is None  # redis median 0: no ratio rather than a division error


def test_format_summary_is_honest():
    samples = [sample("shardis", n, 1, "SET", 100.0 * n, wall=1.0) for n in (1, 2)]
    samples += [sample("redis", n, 1, "SET", 400.0 * n, rss=10.0 * n, wall=12.0) for n in (1, 2)]
    text = format_summary(aggregate(samples), INFO)
    assert "2 CPU cores shared by redis-benchmark and every server process" in text
    assert "3 run(s) per point, median (min-max)" in text
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("test"))
    # the shardis number always sits next to Redis's, with the ratio
    assert "Redis ops/s" in lines[header] and "S/R" in lines[header]
    row = lines[header + 2].split()
    assert row[:6] == ["SET", "1", "1", "400", "100", "0.25"]
    assert "without --cluster" in text
    # redis-benchmark --cluster rounds a run's time to its 250 ms timer
    assert "WARNING: 2 point(s) had runs shorter than 10 s" in text
    assert "250 ms timer" in text
    assert "2 shards: redis 20 / shardis 20" in text
    assert len(lines) < 40


def test_write_csv_and_json(tmp_path):
    samples = [sample("shardis", 1, 1, "SET", 100.0), sample("redis", 1, 1, "SET", 400.0)]
    samples[0]["avg_ms"] = None
    rows = aggregate(samples)
    write_csv(samples, str(tmp_path / "s.csv"))
    with open(tmp_path / "s.csv") as f:
        got = list(csv.DictReader(f))
    assert list(got[0]) == CSV_COLUMNS
    assert got[0]["server"] == "shardis" and got[0]["rps"] == "100.0" and got[0]["avg_ms"] == ""
    write_json(INFO, samples, rows, str(tmp_path / "s.json"))
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["info"]["cpus"] == 2 and len(data["samples"]) == 2
    assert data["rows"][0]["ratio"] == 0.25
