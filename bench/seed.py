#!/usr/bin/env python3
"""Seed a running Parley server for the benchmark, through its public HTTP API only.

Standard library only. Creates (on the server's default site):
  * N reader accounts (POST /api/v1/accounts, bearer tokens),
  * story A with exactly 1,000 comments (200 top-level, 800 replies down to depth 3),
  * story B with exactly 10,000 comments (2,000 top-level, 8,000 replies to depth 3),
  * story S with exactly 200 comments (80 top-level, 120 replies down to depth 3), whose
    server-rendered page (GET /stories/{slug}) the story-page benchmark loads,
  * story P, empty, the target of the POST benchmark,
  * 10 small stories whose URLs the counts benchmark asks about,
and writes what the load scripts need (tokens, ids, URLs) as JSON to --out.

The staff account that writes the stories is created beforehand with the CLI
(`parley user create --role staff`); this script only signs it in.
"""

import argparse
import concurrent.futures
import http.client
import json
import sys
import threading
import time
import urllib.parse

# Replies per depth level, as fractions of the top-level count: for 200 top-level
# comments that is 400 at depth 1, 250 at depth 2, 150 at depth 3 (1,000 in all).
LEVEL_SHAPE = (1.0, 2.0, 1.25, 0.75)

# Story S, whose HTML page is benchmarked: exactly 200 comments, 80 top-level and
# 60 / 40 / 20 replies at depths 1 / 2 / 3, each level spread evenly over the whole
# level above (not round-robin from its start), so that the page's first 20 threads
# carry their share of the replies whichever end of the list the sort starts from.
PAGE_STORY_LEVELS = (80, 60, 40, 20)

WORDS = (
    "the council vote was closer than the headline suggests and I would like to see "
    "the minutes before anyone calls it a done deal; my street has waited three years "
    "for the crossing and the budget line is still marked provisional"
).split()


class Api:
    """One keep-alive connection per thread."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.local = threading.local()

    def _conn(self):
        c = getattr(self.local, "conn", None)
        if c is None:
            c = http.client.HTTPConnection(self.host, self.port, timeout=60)
            self.local.conn = c
        return c

    def call(self, method, path, body=None, token=None, expect=(200, 201)):
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = "Bearer " + token
        for attempt in range(3):
            conn = self._conn()
            try:
                conn.request(method, path, body=data, headers=headers)
                resp = conn.getresponse()
                raw = resp.read()
                break
            except (http.client.HTTPException, OSError):
                # A dropped keep-alive connection: reconnect and retry (reads only
                # would be safe; for writes we retry only when nothing was answered).
                conn.close()
                self.local.conn = None
                if attempt == 2:
                    raise
                time.sleep(0.2)
        if resp.status not in expect:
            raise RuntimeError(
                f"{method} {path} -> HTTP {resp.status}: {raw[:500].decode(errors='replace')}"
            )
        return json.loads(raw) if raw else None


def comment_text(i):
    n = 12 + i % 25
    words = [WORDS[(i * 7 + k) % len(WORDS)] for k in range(n)]
    return f"Comment {i}: " + " ".join(words) + "."


class Counter:
    """A thread-safe source of comment numbers (1, 2, 3...)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.n = 0

    def __next__(self):
        with self.lock:
            self.n += 1
            return self.n


def rss_kb(pid):
    """The server's VmRSS in KiB (None when unknown)."""
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def level_sizes(top):
    return [round(top * f) for f in LEVEL_SHAPE]


def seed_story(api, pool, story_id, top, readers, counter, sizes=None, even=False):
    """Posts `top` top-level comments, then each reply level (or the levels in `sizes`,
    top-level first). Replies go round-robin over the previous level, from its start;
    with `even`, spread at an even stride over all of it. Returns the number of
    comments posted."""
    sizes = sizes or level_sizes(top)
    parents = [None] * sizes[0]
    posted = 0
    for depth, size in enumerate(sizes):
        if depth == 0:
            targets = [None] * size
        elif even:
            targets = [parents[k * len(parents) // size] for k in range(size)]
        else:
            # spread replies over the previous level, round-robin
            targets = [parents[k % len(parents)] for k in range(size)]

        def post(k, parent):
            i = next(counter)
            body = {"body": comment_text(i)}
            if parent is not None:
                body["parent_id"] = parent
            token = readers[i % len(readers)]
            out = api.call(
                "POST", f"/api/v1/stories/{story_id}/comments", body, token, expect=(201,)
            )
            c = out["comment"]
            return c["id"]

        ids = list(pool.map(post, range(size), targets))
        posted += len(ids)
        parents = ids
    return posted


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="http://127.0.0.1:PORT")
    ap.add_argument("--staff-email", required=True)
    ap.add_argument("--password", required=True, help="password of staff and readers")
    ap.add_argument("--readers", type=int, default=20)
    ap.add_argument("--small-top", type=int, default=200, help="top-level comments of story A")
    ap.add_argument("--large-top", type=int, default=2000, help="top-level comments of story B")
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--server-pid", type=int, help="read the server's RSS after each phase")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    u = urllib.parse.urlsplit(args.base)
    api = Api(u.hostname, u.port)
    run_id = f"{int(time.time())}"
    t0 = time.monotonic()

    staff = api.call(
        "POST",
        "/api/v1/sessions",
        {"email": args.staff_email, "password": args.password, "session": "token"},
    )["token"]

    # Readers register one at a time: each registration hashes a password with Argon2
    # (12 MiB of memory per hash), and doing them in parallel would inflate the
    # server's peak RSS for reasons unrelated to serving comments.
    readers = []
    for r in range(args.readers):
        out = api.call(
            "POST",
            "/api/v1/accounts",
            {
                "email": f"reader{r}-{run_id}@bench.example.org",
                "display_name": f"Reader {r}",
                "password": args.password,
                "session": "token",
            },
            expect=(201,),
        )
        readers.append(out["token"])

    rss = {"after_readers": rss_kb(args.server_pid)}

    def story(slug, headline):
        url = f"https://news.bench.example.org/{run_id}/{slug}"
        out = api.call(
            "POST",
            "/api/v1/stories",
            {"url": url, "headline": headline, "body": f"Body of *{headline}*.\n\nSecond paragraph."},
            staff,
            expect=(200, 201),
        )
        return out["story"]["id"], url, out["story"]["slug"]

    a_id, a_url, _ = story("story-a", "Story A: a thousand comments")
    b_id, b_url, _ = story("story-b", "Story B: ten thousand comments")
    s_id, s_url, s_slug = story("story-page", "Story S: a story page with two hundred comments")
    p_id, p_url, _ = story("story-post", "Story P: the target of the posting benchmark")
    count_stories = [story(f"count-{k}", f"Homepage story {k}")[:2] for k in range(10)]

    ctr = Counter()
    expected = {}
    with concurrent.futures.ThreadPoolExecutor(args.threads) as pool:
        expected[a_id] = seed_story(api, pool, a_id, args.small_top, readers, ctr)
        rss["after_story_a"] = rss_kb(args.server_pid)
        expected[b_id] = seed_story(api, pool, b_id, args.large_top, readers, ctr)
        rss["after_story_b"] = rss_kb(args.server_pid)
        expected[s_id] = seed_story(
            api, pool, s_id, PAGE_STORY_LEVELS[0], readers, ctr, sizes=PAGE_STORY_LEVELS,
            even=True,
        )

        # a few comments on each homepage story, so the counts differ: 1, 2, ... 10
        def small(job):
            sid, n = job
            for _ in range(n):
                i = next(ctr)
                api.call(
                    "POST",
                    f"/api/v1/stories/{sid}/comments",
                    {"body": comment_text(i)},
                    readers[i % len(readers)],
                    expect=(201,),
                )
            return n

        jobs = [(sid, k + 1) for k, (sid, _) in enumerate(count_stories)]
        for (sid, _), n in zip(count_stories, pool.map(small, jobs)):
            expected[sid] = n

    # Check: the stories say what we posted, and the first pages answer.
    for sid, n in expected.items():
        got = api.call("GET", f"/api/v1/stories/{sid}")["story"]["comment_count"]
        if got != n:
            raise RuntimeError(f"story {sid}: comment_count is {got}, expected {n}")
    for sid in (a_id, b_id):
        page = api.call("GET", f"/api/v1/stories/{sid}/comments")
        if not page.get("comments"):
            raise RuntimeError(f"story {sid}: the first page is empty")

    out = {
        "staff_token": staff,
        "reader_tokens": readers,
        "reader_names": [f"Reader {r}" for r in range(len(readers))],
        "story_a": {"id": a_id, "url": a_url, "comments": expected[a_id]},
        "story_b": {"id": b_id, "url": b_url, "comments": expected[b_id]},
        "story_page": {"id": s_id, "url": s_url, "slug": s_slug, "comments": expected[s_id]},
        "story_post": {"id": p_id, "url": p_url},
        "count_urls": [url for _, url in count_stories],
        "seconds": round(time.monotonic() - t0, 1),
        "rss_kb": rss,
    }
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    print(
        f"seeded {len(readers)} readers, story A ({a_id}) with {expected[a_id]} comments, "
        f"story B ({b_id}) with {expected[b_id]}, story S ({s_id}, /stories/{s_slug}) with "
        f"{expected[s_id]}, 10 homepage stories, in {out['seconds']} s"
    )


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - a one-line reason for the runner
        print(f"seed failed: {e}", file=sys.stderr)
        sys.exit(1)
