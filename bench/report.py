#!/usr/bin/env python3
"""Turns the records bench/run collected (JSON lines) into the Markdown report.

Usage: report.py META_JSON RESULTS_JSONL
Standard library only."""

import json
import sys

FLOOR_SMALL_RPS = 20_000  # first page of the 1,000-comment story, req/s
FLOOR_LARGE_RATIO = 0.80  # 10,000-comment story: within 20% of the 1,000-comment one
FLOOR_POSTS = 2_000  # durable comment posts/s
FLOOR_IDLE_MB = 20  # idle RSS, MB (10^6 bytes; VmRSS is in KiB)
FLOOR_STORY_PAGE = 5_000  # story page (HTML) with 200 comments, pages/s (issue 3)

SCENARIOS = [
    ("page_a", "(a) GET first page, story A (1,000 comments)"),
    ("page_b", "(b) GET first page, story B (10,000 comments)"),
    ("counts", "(c) GET /api/v1/counts, 10 URLs"),
    ("post", "(d) POST comment (durable)"),
    ("story_page", "(f) GET story page HTML, 200 comments, anonymous"),
    ("story_page_signed", "(g) GET story page HTML, 200 comments, signed-in reader"),
]

SIZE_UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


def transfer_bytes(t):
    """wrk's "Transfer/sec" (e.g. "1.23GB", binary units) in bytes, or None."""
    if not t:
        return None
    for unit in ("TB", "GB", "MB", "KB", "B"):
        if t.endswith(unit):
            try:
                return float(t[: -len(unit)]) * SIZE_UNITS[unit]
            except ValueError:
                return None
    return None


def num(x, digits=0):
    if x is None:
        return "n/a"
    return f"{x:,.{digits}f}"


def lat(x):
    if x is None:
        return "n/a"
    if x < 1:
        return f"{x * 1000:.0f} µs"
    if x < 100:
        return f"{x:.2f} ms"
    return f"{x:,.0f} ms"


def mib(kb):
    return "n/a" if kb is None else f"{kb / 1024:.1f} MiB"


def mb(kb):
    return None if kb is None else kb * 1024 / 1e6


def main():
    meta = json.load(open(sys.argv[1]))
    recs = [json.loads(line) for line in open(sys.argv[2]) if line.strip()]
    runs = {(r["backend"], r["scenario"]): r for r in recs if r["kind"] == "wrk"}
    mem = {r["backend"]: r for r in recs if r["kind"] == "memory"}
    seeds = {r["backend"]: r for r in recs if r["kind"] == "seed"}
    pages = {r["backend"]: r for r in recs if r["kind"] == "page"}
    backends = meta["backends"]

    w = print
    w(f"# Parley benchmark, {meta['date']}")
    w()
    w(f"- Commit: `{meta['commit']}`")
    w(f"- Machine: {meta['nproc']} CPUs (`nproc` = {meta['nproc']}), {meta['cpu_model']}; "
      f"memory: {meta['free']}")
    w(f"- Kernel: {meta['kernel']}; wrk: {meta['wrk_version']}")
    w(f"- Command: `{meta['command']}`")
    w(f"- Load: `wrk -t{meta['threads']} -c{meta['connections']} -d{meta['duration']}s --latency`"
      f" per scenario, after a {meta['warmup']} s warm-up for the GETs. wrk runs on the same "
      f"{meta['nproc']} cores as the server, so every number below is the server's share of "
      f"a machine it splits with the load generator.")
    w("- Data (seeded through the HTTP API): 20 readers; story A with 1,000 comments "
      "(200 top-level, replies to depth 3), story B with 10,000 (2,000 top-level, replies "
      "to depth 3), story S with 200 (80 top-level, 60 / 40 / 20 replies at depths 1 / 2 / 3) "
      "for the story page, 10 homepage stories for the counts; default settings "
      "(page size 20, 5 replies per thread).")
    for b in backends:
        s = seeds.get(b)
        if s:
            w(f"- Seeding ({b}): {s['seconds']} s")
    w()
    cap = meta["nproc"] * 100
    w(f"| Scenario | Backend | Requests/s | p50 | p99 | Requests | Errors (non-2xx / socket) "
      f"| CPU server / wrk / other (of {cap}%) | Server CPU per request |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for key, label in SCENARIOS:
        for b in backends:
            r = runs.get((b, key))
            if not r:
                w(f"| {label} | {b} | not run | | | | | | |")
                continue
            unit = " posts/s" if key == "post" else ""
            cpu = per = "n/a"
            if r.get("server_cpu_pct") is not None:
                cpu = (f"{r['server_cpu_pct']:.0f}% / {r.get('wrk_cpu_pct', 0):.0f}% / "
                       f"{r.get('other_cpu_pct', 0):.0f}%")
            if r.get("requests"):
                per = f"{r['server_cpu_s'] / r['requests'] * 1e6:.0f} µs"
            w(f"| {label} | {b} | {num(r['rps'])}{unit} | {lat(r['p50_ms'])} | "
              f"{lat(r['p99_ms'])} | {num(r['requests'])} | {r['non2xx']} / "
              f"{r['socket_errors']} | {cpu} | {per} |")
    for b in backends:
        m = mem.get(b)
        if not m:
            continue
        phases = (seeds.get(b) or {}).get("rss_kb") or {}
        rows = [
            ("idle RSS right after start (VmRSS)", m["idle_rss_kb"]),
            (f"RSS after registering {meta.get('readers', 20)} readers", phases.get("after_readers")),
            ("RSS after seeding story A", phases.get("after_story_a")),
            ("RSS after seeding story B", phases.get("after_story_b")),
            ("RSS after all load (VmRSS)", m["end_rss_kb"]),
            ("**peak RSS (VmHWM)**", m["peak_hwm_kb"]),
        ]
        for what, kb in rows:
            w(f"| (e) memory: {what} | {b} | {mib(kb)} | | | | | | |")
    w()
    w(f"CPU columns: CPU time used during the measured run by the server process, by wrk, "
      f"and by everything else on the machine (other people's builds, say), each as a share "
      f"of one core ({cap}% = all {meta['nproc']} cores busy). Server CPU per request = "
      f"server CPU time / requests completed. In PostgreSQL rows, \"other\" includes "
      f"PostgreSQL's own processes.")
    for b in backends:
        pg = pages.get(b)
        if not pg:
            continue
        sizes = []
        for key, kind in (("story_page", "anon"), ("story_page_signed", "signed")):
            r = runs.get((b, key)) or {}
            per = transfer_bytes(r.get("transfer_per_sec"))
            avg = (f", {per / r['rps'] / 1024:.1f} KiB per response on the wire incl. headers"
                   if per and r.get("rps") else "")
            who = "anonymous" if kind == "anon" else f"signed in as {pg['reader_name']}"
            sizes.append(f"{who}: {pg[kind + '_bytes']:,} bytes of HTML "
                         f"({pg[kind + '_bytes'] / 1024:.1f} KiB, uncompressed; "
                         f"{pg[kind + '_shown']} of the story's {pg['story_comments']} comments "
                         f"on the first page; `Cache-Control: {pg[kind + '_cache_control']}`"
                         f"{avg})")
        w(f"- Story page response ({b}, `/stories/{pg['slug']}`): " + "; ".join(sizes) + ".")
    for b in backends:
        r = runs.get((b, "post"))
        if r and "stored" in r:
            acked = (r["requests"] or 0) - r["non2xx"]
            verdict = "OK" if r["stored"] >= acked else "MISMATCH: fewer stored than acknowledged"
            w(f"- Durability check ({b}): {acked:,} posts answered 201 during the run; "
              f"the story's comment count grew by {r['stored']:,} ({verdict}; a few more can "
              f"be stored than counted, from requests still in flight when wrk stopped).")
    w()
    w("## Floors")
    w()
    w("| Floor | Backend | Target | Measured | Result |")
    w("|---|---|---|---|---|")
    for b in backends:
        a = runs.get((b, "page_a"))
        bb = runs.get((b, "page_b"))
        p = runs.get((b, "post"))
        m = mem.get(b)

        def ok(cond):
            return "n/a" if cond is None else ("met" if cond else "**MISSED**")

        def clean(r):
            return r is not None and r["non2xx"] == 0 and r["socket_errors"] == 0

        if a:
            c = a["rps"] >= FLOOR_SMALL_RPS if a["rps"] else False
            w(f"| First page, 1,000-comment story | {b} | >= {FLOOR_SMALL_RPS:,} req/s | "
              f"{num(a['rps'])} req/s | {ok(c and clean(a))} |")
        if a and bb and a["rps"] and bb["rps"]:
            ratio = bb["rps"] / a["rps"]
            w(f"| First page, 10,000-comment story | {b} | within 20% of story A "
              f"(>= {num(a['rps'] * FLOOR_LARGE_RATIO)} req/s) | {num(bb['rps'])} req/s "
              f"({ratio:.0%} of A) | {ok(ratio >= FLOOR_LARGE_RATIO and clean(bb))} |")
            w(f"| First page, 10,000-comment story, absolute | {b} | >= "
              f"{num(FLOOR_SMALL_RPS * FLOOR_LARGE_RATIO)} req/s (80% of the 20,000 floor) | "
              f"{num(bb['rps'])} req/s | "
              f"{ok(bb['rps'] >= FLOOR_SMALL_RPS * FLOOR_LARGE_RATIO and clean(bb))} |")
        if p:
            c = p["rps"] >= FLOOR_POSTS if p["rps"] else False
            w(f"| Durable comment posts | {b} | >= {FLOOR_POSTS:,} posts/s | "
              f"{num(p['rps'])} posts/s | {ok(c and clean(p))} |")
        f = runs.get((b, "story_page"))
        if f:
            c = f["rps"] >= FLOOR_STORY_PAGE if f["rps"] else False
            w(f"| Story page with 200 comments (anonymous) | {b} | >= {FLOOR_STORY_PAGE:,} "
              f"pages/s | {num(f['rps'])} pages/s | {ok(c and clean(f))} |")
        g = runs.get((b, "story_page_signed"))
        if g:
            c = g["rps"] >= FLOOR_STORY_PAGE if g["rps"] else False
            w(f"| Story page with 200 comments, signed-in reader (same target; rendered "
              f"per request) | {b} | >= {FLOOR_STORY_PAGE:,} pages/s | {num(g['rps'])} "
              f"pages/s | {ok(c and clean(g))} |")
        if m and m.get("idle_rss_kb") is not None:
            v = mb(m["idle_rss_kb"])
            w(f"| Idle memory | {b} | <= {FLOOR_IDLE_MB} MB | {v:.1f} MB "
              f"({mib(m['idle_rss_kb'])}) | {ok(v <= FLOOR_IDLE_MB)} |")
    w()
    w("A floor counts as met only if the run also had no errors.")
    notes = [r for r in recs if r["kind"] == "note"]
    if notes:
        w()
        w("## Notes from the run")
        w()
        for n in notes:
            w(f"- {n['text']}")


if __name__ == "__main__":
    main()
