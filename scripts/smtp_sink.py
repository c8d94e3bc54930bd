#!/usr/bin/python3
"""FeedbackHub SMTP capture sink (local development and tests only; binds to loopback).

Runs with Debian's /usr/bin/python3 and its python3-aiosmtpd package. Started by
scripts/services.sh; see docs/running-locally.md.

  --dir DIR   state folder. Inside it:
    mail/<UTC timestamp>-<n>.eml   every accepted message, raw RFC 5322 bytes, preceded by
                                   X-Envelope-From / X-Envelope-To headers. Written to
                                   mail/.tmp/ first and renamed, so a reader never sees half a file.
    smtp-log.jsonl                 one JSON line per connection, per refused greeting/MAIL/RCPT/DATA and
                                   per accepted message:
                                   {"ts", "event": "connected", "conn", "tls"} and
                                   {"ts", "event": "accepted"|"refused", "stage", "conn", "tls", "auth",
                                    "mail_from", "rcpt_tos", "code", "message", "file"?, "size"?, "refused"?}
                                   conn: connection number (from 1, per sink process); tls: whether the
                                   connection was encrypted at that point (STARTTLS or implicit TLS);
                                   auth: the AUTH login name, or null.
    smtp-rules.json                optional fault injection, re-checked on every command that can be
    smtp-rules.d/*.json            refused (so on every transaction); absent = accept everything.
                                   smtp-rules.json first, then each smtp-rules.d/*.json in name order, as one
                                   list. One sink is shared by concurrent test processes: each writes only its
                                   own file in smtp-rules.d/ (named after itself) and removes it when done, so
                                   none replaces another's rules; and each rule matches an address unique to its
                                   test, so none applies to another's mail ("*" and stage connect hit every
                                   client: use them on a private sink). Each file:
      {"rules": [{"match": "substring of an address, or *", "code": 451,
                  "message": "4.3.0 try again later", "times": 3,
                  "stage": "connect" | "mail" | "rcpt" | "data", "delay_ms": 0}]}
      match     case-insensitive substring of the RCPT address (stage rcpt, the default), of the
                MAIL FROM address (stage mail) or of any accepted recipient (stage data); "*" = all.
                Stage connect refuses the greeting (e.g. 554) and closes the connection; its match is
                ignored (every new connection matches).
      times     how many times the rule refuses before it stops applying; absent = forever.
                Uses are counted in memory per (file, rule index, match); a file's counters restart
                whenever it is rewritten (new inode/mtime/size) or removed.
      delay_ms  optional pause before answering (for timeout tests); applies with or without code.
                A rule with "delay_ms" and no "code" only delays and then lets later rules / accept run.
      answer_delay_ms  stage data only: the message is stored (and logged as accepted) at once, and the
                250 answer comes this much later: a server that has the email but answers late, so a client
                that dies or gives up in between has had its email delivered without hearing so.
      answer_when_exists  stage data only: as answer_delay_ms, but the 250 comes once this file (a name in the
                state folder, whichever rules file says it) exists, at most 60 s later: a test decides when the
                answer comes.
      The first applicable rule wins.

TLS and AUTH (all optional; without them the sink speaks plain SMTP and accepts anyone):
  --tls-cert FILE --tls-key FILE   PEM certificate chain and key: STARTTLS is offered.
  --require-starttls               every command but EHLO/NOOP/QUIT/STARTTLS is refused (530) before STARTTLS.
  --implicit-tls                   the listener speaks TLS from the first byte (port 465 style); needs the
                                   certificate; STARTTLS is then not offered.
  --auth USER:PASSWORD             AUTH PLAIN and LOGIN with this one account, and required: MAIL FROM
                                   without it gets 530 5.7.0; a wrong password gets 535 5.7.8. AUTH is
                                   only accepted over TLS (538 otherwise) unless --auth-over-plaintext.
  --idle-timeout SECONDS           close a connection after this much client silence (default 300), as real
                                   servers do with idle pooled connections.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import json
import logging
import os
import signal
import ssl
import sys
import time
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

DEFAULT_MESSAGES = {4: "4.3.0 Temporary failure (fault injection)", 5: "5.7.1 Rejected (fault injection)"}


class RuleFile:
    """One rules file, loaded again when it changes; counts its rules' uses per file generation."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.generation: tuple | None = None
        self.rules: list[dict] = []
        self.used: dict[tuple[int, str], int] = {}

    def load(self) -> bool:
        """Reloads the file if it changed; False when it does not exist (any more)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self.generation, self.rules, self.used = None, [], {}
            return False
        gen = (st.st_ino, st.st_mtime_ns, st.st_size)
        if gen == self.generation:
            return True
        rules = None
        for _ in range(3):  # tolerate a writer caught half way (write + rename is the safe way)
            try:
                with open(self.path, "rb") as f:
                    doc = json.loads(f.read() or b"null")
                raw = doc.get("rules", []) if isinstance(doc, dict) else doc
                if not isinstance(raw, list):
                    raise ValueError("'rules' must be a list")
                rules = [r for r in raw if isinstance(r, dict)]
                break
            except FileNotFoundError:
                rules = []
                break
            except (ValueError, OSError) as e:  # json.JSONDecodeError is a ValueError
                err = e
                time.sleep(0.01)
        if rules is None:
            print(f"smtp_sink: ignoring invalid {self.path}: {err}", file=sys.stderr, flush=True)
            rules = []
        self.generation, self.rules, self.used = gen, rules, {}
        return True


class Rules:
    """The rules of smtp-rules.json and of every smtp-rules.d/*.json (one file per writer), in that order."""

    def __init__(self, state_dir: str) -> None:
        self.state_dir = state_dir
        self.main = os.path.join(state_dir, "smtp-rules.json")
        self.folder = os.path.join(state_dir, "smtp-rules.d")
        self.files: dict[str, RuleFile] = {}

    def _current(self) -> list[RuleFile]:
        paths = [self.main]
        try:
            with os.scandir(self.folder) as entries:
                names = sorted(e.name for e in entries if e.name.endswith(".json") and not e.name.startswith("."))
            paths += [os.path.join(self.folder, n) for n in names]
        except (FileNotFoundError, NotADirectoryError):
            pass
        current = []
        for path in paths:
            f = self.files.get(path) or RuleFile(path)
            if f.load():
                current.append(f)
        self.files = {f.path: f for f in current}  # a removed file's counters go with it
        return current

    def pick(self, stage: str, addresses: list[str]) -> tuple[dict | None, float, tuple[float, str | None]]:
        """Returns (refusing rule or None, delay seconds, (answer delay seconds, file the answer waits for or None)).
        Counts the use of a refusing rule."""
        delay = 0.0
        answer_delay = 0.0
        answer_when: str | None = None
        lowered = [a.lower() for a in addresses]
        for f in self._current():
            for i, rule in enumerate(f.rules):
                if str(rule.get("stage", "rcpt")).lower() != stage:
                    continue
                match = str(rule.get("match", "*"))
                if stage != "connect" and match != "*" and not any(match.lower() in a for a in lowered):
                    continue
                key = (i, match)
                times = rule.get("times")
                if times is not None and f.used.get(key, 0) >= int(times):
                    continue
                delay += float(rule.get("delay_ms", 0) or 0) / 1000.0
                answer_delay += float(rule.get("answer_delay_ms", 0) or 0) / 1000.0
                if rule.get("answer_when_exists"):
                    # In the state folder, whichever file holds the rule.
                    answer_when = os.path.join(self.state_dir, os.path.basename(str(rule["answer_when_exists"])))
                if "code" not in rule:
                    continue
                f.used[key] = f.used.get(key, 0) + 1
                return rule, delay, (answer_delay, answer_when)
        return None, delay, (answer_delay, answer_when)


def reply_for(rule: dict) -> tuple[int, str]:
    code = int(rule.get("code", 451))
    message = str(rule.get("message") or DEFAULT_MESSAGES.get(code // 100, "Refused (fault injection)"))
    return code, f"{code} {message}"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def connection_fields(server) -> dict:
    session = getattr(server, "session", None)
    auth_data = getattr(session, "auth_data", None) if session is not None and session.authenticated else None
    login = getattr(auth_data, "login", None)
    return {"conn": getattr(server, "fh_conn", None), "tls": server.fh_tls(),
            "auth": login.decode("utf-8", "replace") if isinstance(login, bytes) else login}


class SinkSMTP(SMTP):
    """aiosmtpd's SMTP with a connection number, implicit TLS awareness and a refusable greeting."""

    connections = itertools.count(1)

    def __init__(self, handler: "SinkHandler", *, implicit_tls: bool, **kwargs) -> None:
        super().__init__(handler, **kwargs)
        self.fh_handler = handler
        self.fh_implicit_tls = implicit_tls
        self.fh_conn: int | None = None

    def fh_tls(self) -> bool:
        return self.fh_implicit_tls or self._tls_protocol is not None

    def connection_made(self, transport) -> None:
        if self.fh_conn is None:  # not again after STARTTLS (same connection)
            self.fh_conn = next(SinkSMTP.connections)
            self.fh_handler.log({"ts": utc_now().isoformat(timespec="milliseconds"), "event": "connected",
                                 "conn": self.fh_conn, "tls": self.fh_implicit_tls})
        super().connection_made(transport)

    async def _handle_client(self):
        rule, delay, _ = self.fh_handler.rules.pick("connect", [])
        if delay:
            await asyncio.sleep(delay)
        if rule is not None:
            code, text = reply_for(rule)
            self.fh_handler.refused(self, "connect", None, [], code, text)
            await self.push(text)
            self.transport.close()
            return
        await super()._handle_client()


class SinkHandler:
    def __init__(self, state_dir: str) -> None:
        self.mail_dir = os.path.join(state_dir, "mail")
        self.tmp_dir = os.path.join(self.mail_dir, ".tmp")
        self.log_path = os.path.join(state_dir, "smtp-log.jsonl")
        self.rules = Rules(state_dir)
        self.seq = itertools.count(1)
        os.makedirs(self.tmp_dir, exist_ok=True)

    # -- helpers -------------------------------------------------------------------------------
    def log(self, entry: dict) -> None:
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n"
        with open(self.log_path, "a", encoding="utf-8") as f:  # by path: safe when truncated/removed
            f.write(line)

    def refused(self, server, stage: str, envelope, rcpts: list[str], code: int, text: str) -> None:
        self.log({"ts": utc_now().isoformat(timespec="milliseconds"), "event": "refused", "stage": stage,
                  **connection_fields(server), "mail_from": envelope.mail_from if envelope else None,
                  "rcpt_tos": rcpts, "code": code, "message": text[4:]})

    # -- aiosmtpd hooks ------------------------------------------------------------------------
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        # aiosmtpd reads commands one line at a time, so pipelined clients work; say so.
        return responses[:-1] + ["250-PIPELINING", responses[-1]]

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        rule, delay, _ = self.rules.pick("mail", [address])
        if delay:
            await asyncio.sleep(delay)
        if rule is not None:
            code, text = reply_for(rule)
            envelope.mail_from = address  # for the log line only
            self.refused(server, "mail", envelope, [], code, text)
            envelope.mail_from = None
            return text
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        rule, delay, _ = self.rules.pick("rcpt", [address])
        if delay:
            await asyncio.sleep(delay)
        if rule is not None:
            code, text = reply_for(rule)
            envelope.__dict__.setdefault("fh_refused", []).append({"rcpt": address, "code": code})
            self.refused(server, "rcpt", envelope, [address], code, text)
            return text
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        rule, delay, (answer_delay, answer_when) = self.rules.pick("data", list(envelope.rcpt_tos))
        if delay:
            await asyncio.sleep(delay)
        if rule is not None:
            code, text = reply_for(rule)
            self.refused(server, "data", envelope, list(envelope.rcpt_tos), code, text)
            return text
        now = utc_now()
        n = next(self.seq)
        name = f"{now:%Y%m%dT%H%M%S.%f}Z-{os.getpid()}-{n:06d}.eml"
        header = "".join(
            [f"X-Envelope-From: {envelope.mail_from}\r\n"]
            + [f"X-Envelope-To: {r}\r\n" for r in envelope.rcpt_tos]
        ).encode("utf-8", "replace")
        body = envelope.original_content or b""
        if isinstance(body, str):
            body = body.encode("utf-8", "surrogateescape")
        tmp = os.path.join(self.tmp_dir, name)
        try:
            with open(tmp, "wb") as f:
                f.write(header)
                f.write(body)
        except FileNotFoundError:  # mail/ was removed (reset-smtp); recreate
            os.makedirs(self.tmp_dir, exist_ok=True)
            with open(tmp, "wb") as f:
                f.write(header)
                f.write(body)
        os.replace(tmp, os.path.join(self.mail_dir, name))
        entry = {"ts": now.isoformat(timespec="milliseconds"), "event": "accepted", "stage": "data",
                 **connection_fields(server), "mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos), "code": 250,
                 "message": "2.0.0 OK queued as " + name, "file": "mail/" + name, "size": len(body)}
        refused = envelope.__dict__.get("fh_refused")
        if refused:
            entry["refused"] = refused
        self.log(entry)
        if answer_delay:
            await asyncio.sleep(answer_delay)  # stored already: a client gone by now has still delivered it
        if answer_when:
            deadline = time.monotonic() + 60
            while not os.path.exists(answer_when) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        return "250 2.0.0 OK queued as " + name


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def authenticator_for(account: str):
    user, _, password = account.partition(":")
    expected = (user.encode("utf-8"), password.encode("utf-8"))

    def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == expected
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    return authenticate


async def serve(host: str, port: int, state_dir: str, pid_file: str | None, a: argparse.Namespace) -> None:
    handler = SinkHandler(state_dir)
    loop = asyncio.get_running_loop()
    context = tls_context(a.tls_cert, a.tls_key) if a.tls_cert else None
    security: dict = {}
    if context is not None and not a.implicit_tls:
        security.update(tls_context=context, require_starttls=a.require_starttls)
    if a.auth:
        # With implicit TLS aiosmtpd does not know the connection is encrypted: allow AUTH, it is.
        security.update(authenticator=authenticator_for(a.auth), auth_required=True,
                        auth_require_tls=not (a.auth_over_plaintext or a.implicit_tls))

    def factory():
        return SinkSMTP(handler, implicit_tls=a.implicit_tls, hostname="feedbackhub-smtp-sink",
                        ident="FeedbackHub SMTP sink", decode_data=False, enable_SMTPUTF8=True,
                        data_size_limit=50 * 1024 * 1024, timeout=a.idle_timeout, loop=loop, **security)

    server = await loop.create_server(factory, host=host, port=port, reuse_address=True, backlog=256,
                                      ssl=context if a.implicit_tls else None)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if pid_file:
        with open(pid_file, "w", encoding="ascii") as f:
            f.write(f"{os.getpid()}\n")
    mode = "implicit TLS" if a.implicit_tls else "STARTTLS" + (" required" if a.require_starttls else "") if context else "plain"
    print(f"smtp_sink: listening on {host}:{port} ({mode}{', AUTH required' if a.auth else ''}), state {state_dir}", flush=True)
    await stop.wait()
    server.close()
    await server.wait_closed()
    if pid_file:
        try:
            os.remove(pid_file)
        except FileNotFoundError:
            pass
    print("smtp_sink: stopped", flush=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=2525)
    p.add_argument("--dir", required=True, help="state folder (mail/, smtp-log.jsonl, smtp-rules.json, smtp-rules.d/)")
    p.add_argument("--pid-file")
    p.add_argument("--tls-cert", help="PEM certificate (chain): offer STARTTLS")
    p.add_argument("--tls-key", help="PEM private key of --tls-cert")
    p.add_argument("--require-starttls", action="store_true", help="refuse mail before STARTTLS")
    p.add_argument("--implicit-tls", action="store_true", help="speak TLS from the first byte (needs --tls-cert)")
    p.add_argument("--auth", metavar="USER:PASSWORD", help="require AUTH (PLAIN, LOGIN) with this account")
    p.add_argument("--auth-over-plaintext", action="store_true", help="accept AUTH without TLS")
    p.add_argument("--idle-timeout", type=float, default=300.0, help="seconds of client silence before the sink closes the connection (300)")
    a = p.parse_args()
    if bool(a.tls_cert) != bool(a.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if (a.implicit_tls or a.require_starttls) and not a.tls_cert:
        p.error("--implicit-tls and --require-starttls need --tls-cert and --tls-key")
    if a.auth and ":" not in a.auth:
        p.error("--auth takes USER:PASSWORD")
    if a.host not in ("127.0.0.1", "::1", "localhost") and not a.host.startswith("127."):
        print("smtp_sink: refusing to bind a non-loopback address", file=sys.stderr)
        return 2
    # aiosmtpd cannot see implicit TLS, so it warns that AUTH does not require TLS; it does here. Its own use of a
    # deprecated attribute warns too. Neither helps a reader of smtp-sink.log.
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    warnings.filterwarnings("ignore", message="Session.login_data is deprecated")
    if a.implicit_tls:
        logging.getLogger("mail.log").addFilter(lambda record: "auth_require_tls" not in record.getMessage())
    state_dir = os.path.abspath(a.dir)
    os.makedirs(os.path.join(state_dir, "mail"), exist_ok=True)
    asyncio.run(serve(a.host, a.port, state_dir, a.pid_file, a))
    return 0


if __name__ == "__main__":
    sys.exit(main())
