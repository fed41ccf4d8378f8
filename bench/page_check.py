#!/usr/bin/env python3
"""Checks the story page before the story-page scenarios load it, and prints one JSON
record (kind "page") with what it found. Standard library only.

Usage: page_check.py BASE SLUG READER_TOKEN SEED_JSON BACKEND

* GET /stories/{slug} without a cookie must answer 200 with a whole HTML page that
  does not say anyone is signed in;
* the same with `Cookie: parley_session=<reader token>` must answer 200 with
  "Signed in as" followed by that reader's name in <strong> (the name links to the
  account page) (a token from the API names a
  row of the same session table the cookie is looked up in).
Exits non-zero, with the reason, if either is not so.
"""

import json
import re
import sys
import urllib.request

# Comments in the numbered list carry id="c{id}"; copies in the selected block have
# id="selected-c{id}" and are not counted.
ARTICLE = re.compile(r'<article class="comment[^"]*" id="c(\d+)"')


def get(base, slug, cookie=None):
    req = urllib.request.Request(f"{base}/stories/{slug}")
    if cookie:
        req.add_header("Cookie", f"parley_session={cookie}")
    r = urllib.request.urlopen(req, timeout=10)
    body = r.read()
    text = body.decode()
    ctype = r.headers.get("Content-Type", "")
    if r.status != 200 or "text/html" not in ctype or "</html>" not in text:
        sys.exit(f"GET /stories/{slug}: HTTP {r.status}, {ctype}: not a whole HTML page")
    return {
        "bytes": len(body),
        "shown": len(set(ARTICLE.findall(text))),
        "cache_control": r.headers.get("Cache-Control", ""),
        "text": text,
    }


def main():
    base, slug, token, seed_path, backend = sys.argv[1:6]
    seed = json.load(open(seed_path))
    name = seed["reader_names"][0]
    anon = get(base, slug)
    signed = get(base, slug, token)
    if "Signed in as" in anon["text"]:
        sys.exit("the anonymous story page says someone is signed in")
    signed_in = re.compile(r"Signed in as (?:<a [^>]*>)?<strong>" + re.escape(name) + "</strong>")
    if not signed_in.search(signed["text"]):
        sys.exit(f"the story page with the reader's cookie does not say 'Signed in as {name}'")
    print(
        f"200 {anon['bytes']:,} bytes /stories/{slug} anonymous ({anon['shown']} comments "
        f"shown, Cache-Control: {anon['cache_control']}); 200 {signed['bytes']:,} bytes "
        f"signed in as {name} ({signed['shown']} shown, Cache-Control: "
        f"{signed['cache_control']})",
        file=sys.stderr,
    )
    print(
        json.dumps(
            {
                "kind": "page",
                "backend": backend,
                "slug": slug,
                "story_comments": seed["story_page"]["comments"],
                "reader_name": name,
                "anon_bytes": anon["bytes"],
                "anon_shown": anon["shown"],
                "anon_cache_control": anon["cache_control"],
                "signed_bytes": signed["bytes"],
                "signed_shown": signed["shown"],
                "signed_cache_control": signed["cache_control"],
            }
        )
    )


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - a one-line reason for the runner
        print(f"page check failed: {e}", file=sys.stderr)
        sys.exit(1)
