"""bench/cli.py: option parsing, the message when redis-benchmark is
missing, and `shardis bench plot` redrawing a run from its JSON (no
servers, no redis-benchmark)."""

import json

import pytest

from bench.cli import build_parser, main
from bench.reshard import timeline
from bench.scale import aggregate


def test_defaults():
    a = build_parser().parse_args(["scale"])
    assert (a.shards, a.pipeline, a.clients, a.requests, a.tests, a.repeat) == (
        "1,2,3", "1,16", 50, "200000", "set,get", 3)
    assert a.compare_redis is True
    r = build_parser().parse_args(["reshard", "--keys", "10", "--rate", "5"])
    assert (r.keys, r.rate, r.shards, r.compare_redis, r.method) == (10, 5, 3, False, "auto")


def test_scale_without_redis_benchmark_says_how_to_install(capsys, tmp_path):
    code = main(["scale", "--redis-benchmark", str(tmp_path / "missing"), "--out", str(tmp_path)])
    assert code == 2
    assert "apt-get install redis-tools" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["scale", "--shards", "0"], ["scale", "--pipeline", "x"],
                                  ["scale", "--requests", "1,2,3"], ["scale", "--repeat", "0"]])
def test_scale_bad_options(argv, capsys):
    assert main(argv) == 2
    assert "shardis bench scale" in capsys.readouterr().err


def test_reshard_bad_options(capsys):
    assert main(["reshard", "--keys", "1", "--clients", "2"]) == 2


def test_plot_redraws_a_scale_run(tmp_path):
    pytest.importorskip("matplotlib")
    samples = [{"server": sv, "shards": n, "pipeline": 1, "test": "SET", "round": 1,
                "rps": rps * n, "p50_ms": 1.0, "p99_ms": 2.0, "cpu_us_per_op": 9.0,
                "rss_mib": 5.0, "wall_s": 3.0}
               for n in (1, 2) for sv, rps in (("redis", 100.0), ("shardis", 40.0))]
    info = {"cpus": 2, "repeat": 1, "clients": 5, "requests": {"1": 10}, "keyspace": 10,
            "loadavg_start": 0.1}
    (tmp_path / "scale.json").write_text(json.dumps(
        {"info": info, "samples": samples, "rows": aggregate(samples)}))
    assert main(["plot", str(tmp_path), "--publish", str(tmp_path / "pub")]) == 0
    for name in ("throughput.png", "p99.png", "cpu.png", "pub/scale-throughput.png"):
        assert (tmp_path / name).stat().st_size > 1000


def test_plot_redraws_a_reshard_run(tmp_path):
    pytest.importorskip("matplotlib")
    buckets = {t: {"ops": 10, "lat": [0.001] * 10, "moved": 1, "ask": 0, "tryagain": 0,
                   "errors": 0} for t in range(6)}
    run = {"server": "shardis", "rows": timeline(buckets, (2.0, 3.5), seconds=6), "rate": 10,
           "migration": [2.0, 3.5], "node_added": None, "shards": 3, "keys": 100,
           "method": "shardis cluster add-shard --rebalance", "method_short": "add-shard",
           "totals": {"ops": 60, "moved": 6, "ask": 0, "tryagain": 0, "errors": 0}}
    (tmp_path / "reshard.json").write_text(json.dumps({"info": {"cpus": 2}, "runs": [run]}))
    assert main(["plot", str(tmp_path)]) == 0
    assert (tmp_path / "reshard-timeline.png").stat().st_size > 1000


def test_plot_of_an_empty_directory(tmp_path, capsys):
    assert main(["plot", str(tmp_path)]) == 1
    assert "no scale.json or reshard.json" in capsys.readouterr().err
