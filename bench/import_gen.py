#!/usr/bin/env python3
"""Writes a synthetic Disqus export (or the same conversation as a Commento JSON
export) for the import benchmark (standard library only).

Usage: import_gen.py OUT --posts N [--threads T] [--message-bytes M] [--seed S]
                         [--format disqus|commento]

Threads come first, then posts in time order. About half the posts reply to an
earlier post of the same thread (so threads nest several levels deep), 2% are deleted
(a tombstone when something replies to them), 2% are spam, 1% are unapproved; messages
are HTML paragraphs of about M bytes; 5,000 authors, most with an email.
"""

import argparse
import json
import random

WORDS = ("harbour ferry council island vote timetable fares engine quay crossing "
         "market hall reader letter weather tide lighthouse village school bus road "
         "repair budget meeting plan opinion report evening morning summer winter").split()


def message(rng, size):
    words = []
    n = 0
    while n < size:
        w = rng.choice(WORDS)
        words.append(w)
        n += len(w) + 1
    text = " ".join(words)
    half = len(text) // 2
    return f"<p>{text[:half]}.</p><p>{text[half:]} <b>indeed</b>.</p>"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--posts", type=int, required=True)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--message-bytes", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--format", choices=("disqus", "commento"), default="disqus")
    a = ap.parse_args()
    if a.format == "commento":
        return commento(a)
    threads = a.threads or max(1, a.posts // 50)
    with open(a.out, "w", encoding="utf-8", buffering=1 << 20) as f:
        w = f.write
        w('<?xml version="1.0" encoding="utf-8"?>\n')
        w('<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">\n')
        w('  <category dsq:id="1"><forum>bench</forum><title>General</title></category>\n')
        for t in range(threads):
            w(f'  <thread dsq:id="{t + 1}">\n    <id>story-{t + 1}</id>\n'
              f'    <link>https://bench.example/{t + 1}</link>\n'
              f'    <title>Story number {t + 1}</title>\n'
              f'    <createdAt>2020-09-13T12:00:00Z</createdAt>\n  </thread>\n')
        for p, t, parent, r, author, html in conversation(a, threads):
            parent = "" if parent is None else f'\n    <parent dsq:id="{1_000_000 + parent}"/>'
            deleted = "true" if r < 0.02 else "false"
            spam = "true" if 0.02 <= r < 0.04 else "false"
            approved = "" if not (0.04 <= r < 0.05) else "\n    <isApproved>false</isApproved>"
            email = f"<email>reader{author}@bench.example</email>" if author % 10 else ""
            w(f'  <post dsq:id="{1_000_000 + p}">\n    <id/>\n'
              f'    <message><![CDATA[{html}]]></message>\n'
              f'    <createdAt>{iso(T0 + p * 7)}</createdAt>\n'
              f'    <isDeleted>{deleted}</isDeleted>\n    <isSpam>{spam}</isSpam>{approved}\n'
              f'    <author>{email}<name>Reader {author}</name></author>\n'
              f'    <thread dsq:id="{t}"/>{parent}\n  </post>\n')
        w('</disqus>\n')


T0 = 1_600_000_000


def conversation(a, threads):
    """The posts, the same whatever the format: (index, thread, the index of the post it
    replies to or None, a roll in [0, 1) for its status, author number, HTML message).
    About half reply to one of the last 40 posts of their thread."""
    rng = random.Random(a.seed)
    recent = {}  # thread -> indexes of its recent posts
    for p in range(a.posts):
        t = rng.randrange(threads) + 1
        posts = recent.setdefault(t, [])
        parent = None
        if posts and rng.random() < 0.5:
            parent = rng.choice(posts)
        posts.append(p)
        if len(posts) > 40:
            posts.pop(0)
        r = rng.random()
        author = rng.randrange(5000)
        yield p, t, parent, r, author, message(rng, a.message_bytes)


def commento(a):
    """The same kind of conversation as Commento's JSON export v1: comments (Markdown,
    parentHex "root" or the parent's hex, state approved/unapproved/flagged, deleted),
    then commenters."""
    threads = a.threads or max(1, a.posts // 50)
    with open(a.out, "w", encoding="utf-8", buffering=1 << 20) as f:
        w = f.write
        w('{"version": 1, "comments": [\n')
        for p, t, parent, r, author, html in conversation(a, threads):
            state = "flagged" if 0.02 <= r < 0.04 else "unapproved" if 0.04 <= r < 0.05 else "approved"
            body = html.replace("<p>", "").replace("</p>", "\n\n")
            body = body.replace("<b>", "**").replace("</b>", "**")
            comment = {
                "commentHex": f"{p + 1:064x}", "domain": "bench.example", "url": f"/{t}",
                "commenterHex": f"{author:064x}", "markdown": body, "html": "",
                "parentHex": "root" if parent is None else f"{parent + 1:064x}",
                "score": 0, "state": state,
                "creationDate": iso(T0 + p * 7), "direction": 0, "deleted": r < 0.02,
            }
            w(("," if p else "") + json.dumps(comment) + "\n")
        w('], "commenters": [\n')
        for author in range(5000):
            c = {"commenterHex": f"{author:064x}", "name": f"Reader {author}",
                 "email": f"reader{author}@bench.example" if author % 10 else "",
                 "link": "", "photo": "", "provider": "commento",
                 "joinDate": iso(T0), "isModerator": False}
            w(("," if author else "") + json.dumps(c) + "\n")
        w("]}\n")


def iso(ts):
    import time
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


if __name__ == "__main__":
    main()
