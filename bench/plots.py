"""PNG plots of the scaling and resharding experiments (matplotlib, Agg).

Every function takes the aggregated rows (``bench.scale.aggregate``) or the
per-second timelines (``bench.reshard.timeline``) plus the run's ``info``
dict, writes one PNG and returns its path.  Each figure carries the same
footnote as the summary table: how many cores the clients and servers
shared, and how many runs each point is the median of.
"""

from __future__ import annotations

import os
import shutil
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLORS = {"redis": "#c0392b", "shardis": "#2471a3"}
LABELS = {"redis": "Redis", "shardis": "shardis"}
SERVERS = ("redis", "shardis")
DPI = 80


def _panels(rows):
    """``{(test, pipeline): [rows by ascending shards]}`` in row order."""
    panels: dict[tuple, list] = {}
    for r in rows:
        panels.setdefault((r["test"], r["pipeline"]), []).append(r)
    for v in panels.values():
        v.sort(key=lambda r: r["shards"])
    return panels


def _grid(panels):
    tests = list(dict.fromkeys(t for t, _ in panels))
    pipes = sorted({p for _, p in panels})
    return tests, pipes


def _footnote(fig, info, extra=""):
    from .scale import honesty_note
    text = honesty_note(info) + "." + (" " + extra if extra else "")
    return _note(fig, text)


def _note(fig, text):
    """Small grey text at the bottom; returns the figure fraction it takes."""
    wrapped = textwrap.fill(text, _chars(fig))
    fig.text(0.01, 0.005, wrapped, fontsize=7, va="bottom", ha="left", color="#444444")
    return (len(wrapped.splitlines()) * 0.125 + 0.1) / fig.get_figheight()


def _chars(fig):
    """Characters of 7-point text that fit across the figure."""
    return int(fig.get_figwidth() * 15)


def _err(stats):
    """Error bar half-lengths (below, above) from median/min/max dicts."""
    lo = [0 if s["median"] is None else s["median"] - s["min"] for s in stats]
    hi = [0 if s["median"] is None else s["max"] - s["median"] for s in stats]
    return [lo, hi]


def _val(s):
    return float("nan") if s["median"] is None else s["median"]


def _figure(panels, title, info, extra=""):
    tests, pipes = _grid(panels)
    fig, axes = plt.subplots(len(tests), len(pipes), squeeze=False,
                             figsize=(4.6 * len(pipes) + 0.4, 3.0 * len(tests) + 1.2))
    fig.suptitle(title, fontsize=11, x=0.01, ha="left")
    return fig, axes, tests, pipes


def _save(fig, path, info, extra=""):
    bottom = _footnote(fig, info, extra)
    fig.tight_layout(rect=(0, bottom, 1, 0.93))
    _write(fig, path)
    return path


def _bars(ax, rows, metric, fmt_ratio, ratio_of):
    shards = [r["shards"] for r in rows]
    x = list(range(len(shards)))
    w = 0.38
    tops = []
    for i, server in enumerate(SERVERS):
        stats = [r[server][metric] for r in rows]
        xs = [v + (i - 0.5) * w for v in x]
        ax.bar(xs, [_val(s) for s in stats], w, yerr=_err(stats), capsize=3,
               color=COLORS[server], label=LABELS[server], alpha=0.9,
               error_kw={"elinewidth": 1, "ecolor": "#333333"})
        tops.append([s["max"] or 0 for s in stats])
    for j, r in enumerate(rows):
        ratio = ratio_of(r)
        if ratio is None:
            continue
        ax.annotate(fmt_ratio(ratio), (x[j], max(tops[0][j], tops[1][j])),
                    xytext=(0, 4), textcoords="offset points", ha="center", fontsize=8,
                    fontweight="bold")
    ax.set_xticks(x, [str(s) for s in shards])
    ax.set_xlabel("shards (master nodes)")
    ax.margins(y=0.18)


def plot_throughput(rows, info, path):
    """Grouped bars: ops/s per shard count, Redis and shardis side by side
    (median, whiskers min-max), the shardis/Redis ratio written above."""
    panels = _panels(rows)
    fig, axes, tests, pipes = _figure(
        panels, "Throughput vs shards - redis-benchmark --cluster against shardis and Redis",
        info)
    for (test, pipe), prow in panels.items():
        ax = axes[tests.index(test)][pipes.index(pipe)]
        _bars(ax, prow, "rps", lambda v: f"{v:.2f}x", lambda r: r["ratio"])
        ax.set_title(f"{test}, pipeline {pipe}", fontsize=10)
        ax.set_ylabel("ops/s")
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_kilo))
    _legend(fig, axes)
    return _save(fig, path, info, "Label above each pair: shardis ops/s / Redis ops/s.")


def plot_latency(rows, info, path):
    """p99 (solid) and p50 (dashed) latency per shard count, log scale."""
    panels = _panels(rows)
    fig, axes, tests, pipes = _figure(
        panels, "p99 latency vs shards (as reported by redis-benchmark)", info)
    for (test, pipe), prow in panels.items():
        ax = axes[tests.index(test)][pipes.index(pipe)]
        shards = [r["shards"] for r in prow]
        for server in SERVERS:
            p99 = [r[server]["p99_ms"] for r in prow]
            p50 = [r[server]["p50_ms"] for r in prow]
            ax.errorbar(shards, [_val(s) for s in p99], yerr=_err(p99), marker="o",
                        color=COLORS[server], label=f"{LABELS[server]} p99", capsize=3)
            ax.plot(shards, [_val(s) for s in p50], linestyle="--", marker=".",
                    color=COLORS[server], alpha=0.5, label=f"{LABELS[server]} p50")
        for r in prow:
            a, b = r["redis"]["p99_ms"]["median"], r["shardis"]["p99_ms"]["median"]
            if a and b is not None:
                ax.annotate(f"{b / a:.1f}x", (r["shards"], b), xytext=(6, 2),
                            textcoords="offset points", fontsize=8, color=COLORS["shardis"],
                            fontweight="bold")
        _log_y(ax)
        ax.margins(x=0.15)
        ax.set_xticks(shards, [str(s) for s in shards])
        ax.set_xlabel("shards (master nodes)")
        ax.set_ylabel("latency, ms (log)")
        ax.set_title(f"{test}, pipeline {pipe}", fontsize=10)
        ax.grid(True, which="both", alpha=0.25)
    _legend(fig, axes)
    return _save(fig, path, info, "Label: shardis p99 / Redis p99.")


def plot_cpu(rows, info, path):
    """Server CPU time per operation (all nodes' utime+stime / requests)."""
    panels = _panels(rows)
    fig, axes, tests, pipes = _figure(
        panels, "Server CPU time per operation vs shards (all nodes, utime+stime)", info)
    for (test, pipe), prow in panels.items():
        ax = axes[tests.index(test)][pipes.index(pipe)]

        def ratio(r):
            a, b = r["redis"]["cpu_us_per_op"]["median"], r["shardis"]["cpu_us_per_op"]["median"]
            return b / a if a and b is not None else None
        _bars(ax, prow, "cpu_us_per_op", lambda v: f"{v:.1f}x", ratio)
        ax.set_title(f"{test}, pipeline {pipe}", fontsize=10)
        ax.set_ylabel("CPU us per op")
    _legend(fig, axes)
    return _save(fig, path, info, "Label: shardis CPU per op / Redis CPU per op.")


def _legend(fig, axes):
    """One legend for the figure, above the panels (never over a label)."""
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper right", fontsize=8, ncol=len(labels),
               bbox_to_anchor=(0.99, 0.955), frameon=False)


def _log_y(ax):
    """Log y axis with plain numbers at 1-2-5 steps (0.5, 1, 2, 5, 10, 20...)."""
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _pos: f"{v:g}"))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def _kilo(v, _pos=None):
    if abs(v) >= 1e6:
        return f"{v / 1e6:.1f}M"
    if abs(v) >= 1e3:
        return f"{v / 1e3:.0f}k"
    return f"{v:.0f}"


def plot_timeline(runs, info, path):
    """Resharding timelines, one column per server: ops/s per second with the
    target rate, p50/p99 latency per second, redirections and errors per
    second; the migration window shaded in every panel."""
    fig, axes = plt.subplots(3, len(runs), squeeze=False, sharex="col",
                             figsize=(6.2 * len(runs) + 0.4, 8.2))
    fig.suptitle("Live resharding under a paced GET/SET load: adding one shard", fontsize=11)
    ymax_ops = max([max([r["ops"] for r in run["rows"]] or [0]) for run in runs] + [run["rate"]
                                                                              for run in runs])
    for col, run in enumerate(runs):
        ax_ops, ax_lat, ax_err = axes[0][col], axes[1][col], axes[2][col]
        t = [r["t"] for r in run["rows"]]
        start, end = run["migration"]
        for ax in (ax_ops, ax_lat, ax_err):
            if start is not None and end is not None:
                ax.axvspan(start, end, color="#f5b041", alpha=0.25,
                           label=_window_label(run) if ax is ax_ops else None)
            if run.get("node_added") is not None:
                ax.axvline(run["node_added"], color="#7d6608", linestyle="--", linewidth=1,
                           label="new node started + MEET" if ax is ax_ops else None)
            ax.grid(True, alpha=0.25)
        ax_ops.plot(t, [r["ops"] for r in run["rows"]], color=COLORS.get(run["server"], "k"),
                    marker=".", label="completed ops/s")
        ax_ops.axhline(run["rate"], color="#555555", linestyle=":", label=f"target {run['rate']}/s")
        ax_ops.set_ylim(0, ymax_ops * 1.5)  # headroom for the legend
        ax_ops.set_ylabel("ops/s")
        tot = run["totals"]
        ax_ops.set_title(f"{LABELS.get(run['server'], run['server'])}: {run['shards']} -> "
                         f"{run['shards'] + 1} shards, {run['keys']:,} keys, "
                         f"migration {end - start:.1f}s" if start is not None and end is not None
                         else LABELS.get(run["server"], run["server"]), fontsize=10)
        ax_ops.legend(fontsize=7, loc="upper left", ncol=2)

        ax_lat.plot(t, [r["p99_ms"] for r in run["rows"]], color=COLORS.get(run["server"], "k"),
                    marker=".", label="p99")
        ax_lat.plot(t, [r["p50_ms"] for r in run["rows"]], color=COLORS.get(run["server"], "k"),
                    linestyle="--", alpha=0.5, label="p50")
        _log_y(ax_lat)
        ax_lat.set_ylabel("latency, ms (log)")
        ax_lat.legend(fontsize=7, loc="upper left")

        bottom = [0] * len(t)
        for kind, color in (("moved", "#5dade2"), ("ask", "#48c9b0"), ("tryagain", "#af7ac5")):
            vals = [r[kind] for r in run["rows"]]
            ax_err.bar(t, vals, 0.8, bottom=bottom, color=color,
                       label=f"{kind.upper()} (retried) {tot[kind]:,}")
            bottom = [a + b for a, b in zip(bottom, vals)]
        ax_err.bar(t, [r["errors"] for r in run["rows"]], 0.8, bottom=bottom, color="#e74c3c",
                   label=f"errors {tot['errors']:,}")
        peak = max([a + r["errors"] for a, r in zip(bottom, run["rows"])] or [0])
        ax_err.set_ylim(0, max(1, peak) * 1.7)  # headroom for the legend
        ax_err.set_ylabel("per second")
        ax_err.set_xlabel("seconds since the load started")
        ax_err.legend(fontsize=7, loc="upper left")
    how = "; ".join(f"{LABELS.get(r['server'], r['server'])}: {r['method']}" for r in runs)
    extra = (f"{info['cpus']} CPU cores shared by the load client, the servers and the "
             f"resharding tool. Slots moved with {how}. Redirections are retried "
             f"as cluster clients do; 'errors' are everything else (error replies, wrong or "
             f"missing values, dropped connections).")
    bottom = _note(fig, extra)
    fig.tight_layout(rect=(0, bottom, 1, 0.96))
    _write(fig, path)
    return path


def _write(fig, path):
    """Save as a small PNG: 64-colour palette when Pillow is there (plots
    have few colours; it makes the file about three times smaller)."""
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(path) as im:
        small = im.convert("RGB").quantize(colors=64)
    small.save(path, optimize=True)


def _window_label(run):
    if run.get("method_short") == "add-shard" or str(run.get("method", "")).startswith(
            "shardis cluster add-shard"):
        return "add-shard --rebalance (node start, MEET, slot moves)"
    return "migration (redis-cli --cluster rebalance)"


def publish(paths, dest, prefix=""):
    """Copy plots to ``dest`` (e.g. bench/results/) as ``prefix + name``."""
    os.makedirs(dest, exist_ok=True)
    out = []
    for p in paths:
        target = os.path.join(dest, prefix + os.path.basename(p))
        shutil.copyfile(p, target)
        out.append(target)
    return out
