#!/usr/bin/env python3
"""A real SMTP server for Parley's tests: it keeps every message it receives as a file.

    smtp_sink.py --port 2525 --dir /tmp/mails [--starttls --cert C --key K]
                 [--require-starttls] [--implicit-tls --cert C --key K]
                 [--auth USER:PASSWORD] [--reject "550 5.7.1 Refused"]

Listens on 127.0.0.1 only. Each message becomes DIR/<ns>-<n>.eml (the raw bytes as
received) with DIR/<ns>-<n>.json beside it (envelope sender and recipients, whether
the session was encrypted, the user who authenticated, the client's port). Both are written to a
temporary name and renamed, the .json first, so a reader never sees half a message.

--auth USER:PASSWORD requires AUTH (PLAIN or LOGIN) before MAIL; with STARTTLS it is
offered only once the session is encrypted. --reject answers every RCPT with the given
line (e.g. "550 5.1.1 No such user", or "451 4.3.0 Try later").

Prints "smtp_sink ready on 127.0.0.1:PORT" once listening. Exits on SIGTERM or SIGINT,
when its standard input closes, or when its parent process dies.
Needs aiosmtpd (scripts/test installs it; or `pip install aiosmtpd`, or Debian's
python3-aiosmtpd); exits with status 3 and says so when it is missing.
"""

import argparse
import asyncio
import itertools
import json
import os
import signal
import ssl
import sys
import time

try:
    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
except ImportError:
    print(
        "smtp_sink: the Python package aiosmtpd is missing: run scripts/test, "
        "or pip install aiosmtpd, or apt-get install python3-aiosmtpd",
        file=sys.stderr,
    )
    sys.exit(3)


class Sink:
    def __init__(self, directory, reject):
        self.directory = directory
        self.reject = reject
        self.counter = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject:
            return self.reject
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        name = f"{time.time_ns():020d}-{next(self.counter):06d}"
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            # STARTTLS sets session.ssl; implicit TLS shows on the transport.
            "tls": session.ssl is not None
            or server.transport.get_extra_info("sslcontext") is not None,
            "auth_user": session.auth_data.login.decode("utf-8", "replace")
            if isinstance(session.auth_data, LoginPassword)
            else None,
            # The client's port: messages over one connection share it.
            "peer_port": session.peer[1] if session.peer else None,
        }
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        self._write(name + ".json", json.dumps(meta).encode("utf-8"))
        self._write(name + ".eml", content)
        return "250 OK: kept as " + name

    def _write(self, filename, data):
        final = os.path.join(self.directory, filename)
        tmp = os.path.join(self.directory, "." + filename + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, final)


def authenticator_for(user, password):
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode("utf-8")
            and auth_data.password == password.encode("utf-8")
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    return authenticate


def tls_context(cert, key):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


async def watch_parent(stop, parent):
    # Reparented (the test process died): nobody will stop us, so stop now.
    while not stop.is_set():
        if os.getppid() != parent:
            stop.set()
        await asyncio.sleep(0.2)


def watch_stdin(loop, stop):
    def on_readable():
        try:
            data = os.read(sys.stdin.fileno(), 4096)
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(sys.stdin.fileno())
            stop.set()

    try:
        loop.add_reader(sys.stdin.fileno(), on_readable)
    except (OSError, ValueError, NotImplementedError):
        pass


async def main():
    parser = argparse.ArgumentParser(description="SMTP sink for Parley's tests")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--starttls", action="store_true", help="offer STARTTLS")
    parser.add_argument("--require-starttls", action="store_true")
    parser.add_argument("--implicit-tls", action="store_true", help="TLS from the first byte")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--auth", metavar="USER:PASSWORD")
    parser.add_argument("--reject", metavar="LINE", help='e.g. "550 5.1.1 No such user"')
    parser.add_argument("--hostname", default="localhost")
    args = parser.parse_args()

    os.makedirs(args.dir, exist_ok=True)
    if (args.starttls or args.implicit_tls) and not (args.cert and args.key):
        parser.error("--starttls and --implicit-tls need --cert and --key")
    if args.reject and not (args.reject[:3].isdigit() and args.reject[0] in "45"):
        parser.error("--reject takes an SMTP reply line starting with a 4xx or 5xx code")

    context = tls_context(args.cert, args.key) if (args.starttls or args.implicit_tls) else None
    smtp_options = {"hostname": args.hostname, "ident": "Parley test sink"}
    if args.starttls:
        smtp_options["tls_context"] = context
        smtp_options["require_starttls"] = args.require_starttls
    if args.auth:
        user, sep, password = args.auth.partition(":")
        if not sep:
            parser.error("--auth takes USER:PASSWORD")
        smtp_options["authenticator"] = authenticator_for(user, password)
        smtp_options["auth_required"] = True
        # Credentials only over TLS when TLS is on offer; a plain sink accepts them in clear.
        smtp_options["auth_require_tls"] = bool(args.starttls)

    handler = Sink(args.dir, args.reject)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, **smtp_options),
        host="127.0.0.1",
        port=args.port,
        ssl=context if args.implicit_tls else None,
        reuse_address=True,
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    watch_stdin(loop, stop)
    watcher = asyncio.create_task(watch_parent(stop, os.getppid()))
    print(f"smtp_sink ready on 127.0.0.1:{args.port}", flush=True)
    await stop.wait()
    watcher.cancel()
    # Open sessions end with the process; waiting for clients that keep pooled
    # connections open would stop nothing.
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
