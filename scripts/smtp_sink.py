#!/usr/bin/python3
"""FeedbackHub SMTP capture sink (local development and tests only; binds to loopback).

Runs with Debian's /usr/bin/python3 and its python3-aiosmtpd package. Started by
scripts/services.sh; see docs/running-locally.md.

  --dir DIR   state folder. Inside it:
    mail/<UTC timestamp>-<n>.eml   every accepted message, raw RFC 5322 bytes, preceded by
                                   X-Envelope-From / X-Envelope-To headers. Written to
                                   mail/.tmp/ first and renamed, so a reader never sees half a file.
    smtp-log.jsonl                 one JSON line per refused RCPT/MAIL/DATA and per accepted message:
                                   {"ts", "event": "accepted"|"refused", "stage", "mail_from",
                                    "rcpt_tos", "code", "message", "file"?, "size"?, "refused"?}
    smtp-rules.json                optional fault injection, re-checked on every command that can be
                                   refused (so on every transaction); absent = accept everything:
      {"rules": [{"match": "substring of an address, or *", "code": 451,
                  "message": "4.3.0 try again later", "times": 3,
                  "stage": "rcpt" | "mail" | "data", "delay_ms": 0}]}
      match     case-insensitive substring of the RCPT address (stage rcpt, the default), of the
                MAIL FROM address (stage mail) or of any accepted recipient (stage data); "*" = all.
      times     how many times the rule refuses before it stops applying; absent = forever.
                Uses are counted in memory per (rule index, match); counters restart whenever the
                file is rewritten (new inode/mtime/size) or removed.
      delay_ms  optional pause before answering (for timeout tests); applies with or without code.
                A rule with "delay_ms" and no "code" only delays and then lets later rules / accept run.
      answer_delay_ms  stage data only: the message is stored (and logged as accepted) at once, and the
                250 answer comes this much later: a server that has the email but answers late, so a client
                that dies or gives up in between has had its email delivered without hearing so.
      The first applicable rule wins.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import json
import os
import signal
import sys
import time

from aiosmtpd.smtp import SMTP

DEFAULT_MESSAGES = {4: "4.3.0 Temporary failure (fault injection)", 5: "5.7.1 Rejected (fault injection)"}


class Rules:
    """Loads smtp-rules.json when it changes and counts rule uses per file generation."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.generation: tuple | None = None
        self.rules: list[dict] = []
        self.used: dict[tuple[int, str], int] = {}

    def _load(self) -> None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if self.generation is not None:
                self.generation, self.rules, self.used = None, [], {}
            return
        gen = (st.st_ino, st.st_mtime_ns, st.st_size)
        if gen == self.generation:
            return
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

    def pick(self, stage: str, addresses: list[str]) -> tuple[dict | None, float, float]:
        """Returns (refusing rule or None, delay seconds, answer delay seconds). Counts the use of a refusing rule."""
        self._load()
        delay = 0.0
        answer_delay = 0.0
        lowered = [a.lower() for a in addresses]
        for i, rule in enumerate(self.rules):
            if str(rule.get("stage", "rcpt")).lower() != stage:
                continue
            match = str(rule.get("match", "*"))
            if match != "*" and not any(match.lower() in a for a in lowered):
                continue
            key = (i, match)
            times = rule.get("times")
            if times is not None and self.used.get(key, 0) >= int(times):
                continue
            delay += float(rule.get("delay_ms", 0) or 0) / 1000.0
            answer_delay += float(rule.get("answer_delay_ms", 0) or 0) / 1000.0
            if "code" not in rule:
                continue
            self.used[key] = self.used.get(key, 0) + 1
            return rule, delay, answer_delay
        return None, delay, answer_delay


def reply_for(rule: dict) -> tuple[int, str]:
    code = int(rule.get("code", 451))
    message = str(rule.get("message") or DEFAULT_MESSAGES.get(code // 100, "Refused (fault injection)"))
    return code, f"{code} {message}"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class SinkHandler:
    def __init__(self, state_dir: str) -> None:
        self.mail_dir = os.path.join(state_dir, "mail")
        self.tmp_dir = os.path.join(self.mail_dir, ".tmp")
        self.log_path = os.path.join(state_dir, "smtp-log.jsonl")
        self.rules = Rules(os.path.join(state_dir, "smtp-rules.json"))
        self.seq = itertools.count(1)
        os.makedirs(self.tmp_dir, exist_ok=True)

    # -- helpers -------------------------------------------------------------------------------
    def log(self, entry: dict) -> None:
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n"
        with open(self.log_path, "a", encoding="utf-8") as f:  # by path: safe when truncated/removed
            f.write(line)

    def refused(self, stage: str, envelope, rcpts: list[str], code: int, text: str) -> None:
        self.log({"ts": utc_now().isoformat(timespec="milliseconds"), "event": "refused", "stage": stage,
                  "mail_from": envelope.mail_from, "rcpt_tos": rcpts, "code": code, "message": text[4:]})

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
            self.refused("mail", envelope, [], code, text)
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
            self.refused("rcpt", envelope, [address], code, text)
            return text
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        rule, delay, answer_delay = self.rules.pick("data", list(envelope.rcpt_tos))
        if delay:
            await asyncio.sleep(delay)
        if rule is not None:
            code, text = reply_for(rule)
            self.refused("data", envelope, list(envelope.rcpt_tos), code, text)
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
                 "mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos), "code": 250,
                 "message": "2.0.0 OK queued as " + name, "file": "mail/" + name, "size": len(body)}
        refused = envelope.__dict__.get("fh_refused")
        if refused:
            entry["refused"] = refused
        self.log(entry)
        if answer_delay:
            await asyncio.sleep(answer_delay)  # stored already: a client gone by now has still delivered it
        return "250 2.0.0 OK queued as " + name


async def serve(host: str, port: int, state_dir: str, pid_file: str | None) -> None:
    handler = SinkHandler(state_dir)
    loop = asyncio.get_running_loop()

    def factory():
        return SMTP(handler, hostname="feedbackhub-smtp-sink", ident="FeedbackHub SMTP sink",
                    decode_data=False, enable_SMTPUTF8=True, data_size_limit=50 * 1024 * 1024, loop=loop)

    server = await loop.create_server(factory, host=host, port=port, reuse_address=True, backlog=256)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if pid_file:
        with open(pid_file, "w", encoding="ascii") as f:
            f.write(f"{os.getpid()}\n")
    print(f"smtp_sink: listening on {host}:{port}, state {state_dir}", flush=True)
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
    p.add_argument("--dir", required=True, help="state folder (mail/, smtp-log.jsonl, smtp-rules.json)")
    p.add_argument("--pid-file")
    a = p.parse_args()
    if a.host not in ("127.0.0.1", "::1", "localhost") and not a.host.startswith("127."):
        print("smtp_sink: refusing to bind a non-loopback address", file=sys.stderr)
        return 2
    state_dir = os.path.abspath(a.dir)
    os.makedirs(os.path.join(state_dir, "mail"), exist_ok=True)
    asyncio.run(serve(a.host, a.port, state_dir, a.pid_file))
    return 0


if __name__ == "__main__":
    sys.exit(main())
