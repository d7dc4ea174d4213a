"""bench/plots.py draws every figure from synthetic results: the files are
PNGs of a sensible size, missing data does not break them, and the ratio
labels are computed from the medians."""

import struct

import pytest

pytest.importorskip("matplotlib")

from bench import plots  # noqa: E402
from bench.reshard import timeline  # noqa: E402
from bench.scale import aggregate  # noqa: E402

INFO = {"machine": "x86_64, 2 CPU cores", "cpus": 2, "repeat": 3, "clients": 50,
        "requests": 1000, "keyspace": 100, "loadavg_start": 1.5}


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def samples():
    out = []
    for n in (1, 2, 3):
        for pipe in (1, 16):
            for test in ("SET", "GET"):
                for rnd, jitter in enumerate((0.9, 1.0, 1.1)):
                    out.append({"server": "redis", "shards": n, "pipeline": pipe, "test": test,
                                "round": rnd + 1, "rps": 20000.0 * pipe * jitter,
                                "p50_ms": 0.5, "p99_ms": 2.0 * jitter,
                                "cpu_us_per_op": 10.0 / pipe, "rss_mib": 10.0 * n, "wall_s": 3})
                    out.append({"server": "shardis", "shards": n, "pipeline": pipe,
                                "test": test, "round": rnd + 1,
                                "rps": 5000.0 * n * pipe ** 0.5 * jitter, "p50_ms": 2.0,
                                "p99_ms": 8.0 / n, "cpu_us_per_op": 40.0 / pipe ** 0.5,
                                "rss_mib": 30.0 * n, "wall_s": 6})
    return out


@pytest.mark.parametrize("fn", [plots.plot_throughput, plots.plot_latency, plots.plot_cpu])
def test_scale_plots(tmp_path, fn):
    path = fn(aggregate(samples()), INFO, str(tmp_path / "p.png"))
    w, h = png_size(path)
    assert 500 < w < 1200 and 400 < h < 1000       # two panels wide, two high, 80 dpi
    assert (tmp_path / "p.png").stat().st_size < 200_000


def test_scale_plots_with_a_missing_server_and_one_panel(tmp_path):
    rows = aggregate([s for s in samples()
                      if s["test"] == "SET" and s["pipeline"] == 1
                      and not (s["server"] == "shardis" and s["shards"] == 3)])
    assert rows[-1]["ratio"] is None
    for fn in (plots.plot_throughput, plots.plot_latency, plots.plot_cpu):
        png_size(fn(rows, INFO, str(tmp_path / f"{fn.__name__}.png")))


def test_throughput_ratio_labels(tmp_path, monkeypatch):
    labels = []
    real = plots.matplotlib.axes.Axes.annotate

    def spy(self, text, *a, **kw):
        labels.append(text)
        return real(self, text, *a, **kw)
    monkeypatch.setattr(plots.matplotlib.axes.Axes, "annotate", spy)
    rows = aggregate([s for s in samples() if s["test"] == "SET" and s["pipeline"] == 1])
    plots.plot_throughput(rows, INFO, str(tmp_path / "t.png"))
    assert labels == ["0.25x", "0.50x", "0.75x"]


def run(server, migration, errors=0):
    buckets = {t: {"ops": 1000, "lat": [0.001] * 990 + [0.01] * 10,
                   "moved": 5 if migration[0] <= t < migration[1] else 0, "ask": 1,
                   "tryagain": 0, "errors": errors} for t in range(20)}
    return {"server": server, "rows": timeline(buckets, migration, seconds=20), "rate": 1000,
            "migration": list(migration), "node_added": migration[0] - 1.0, "shards": 3,
            "keys": 1000, "method": "redis-cli --cluster rebalance",
            "totals": {"ops": 20000, "moved": 25, "ask": 20, "tryagain": 0,
                       "errors": 20 * errors}}


def test_timeline_plot(tmp_path):
    path = plots.plot_timeline([run("shardis", (5.2, 10.4)), run("redis", (5.0, 7.0))],
                               {"cpus": 2}, str(tmp_path / "tl.png"))
    w, h = png_size(path)
    assert w > h > 400
    one = plots.plot_timeline([run("shardis", (5.2, 10.4), errors=1)], {"cpus": 2},
                              str(tmp_path / "one.png"))
    assert png_size(one)[0] < w


def test_publish_copies_with_prefix(tmp_path):
    src = tmp_path / "a.png"
    src.write_bytes(b"x")
    got = plots.publish([str(src)], str(tmp_path / "pub"), prefix="scale-")
    assert got == [str(tmp_path / "pub" / "scale-a.png")]
    assert (tmp_path / "pub" / "scale-a.png").read_bytes() == b"x"
