#!/usr/bin/env python3
"""Summarises a dotnet-trace speedscope file (profile dotnet-sampled-thread-time): where the busy samples go.

Usage: bench/tools/profile_summary.py TRACE.speedscope.json [N]
Busy = samples whose stack ends in CPU_TIME (threads waiting in native code end in UNMANAGED_CODE_TIME and are left out).
Prints the top N frames by self time (the frame just under CPU_TIME) and by inclusive time among FeedbackHub, EF Core,
Npgsql, MassTransit and HTTP frames.
"""
import collections
import json
import sys

KEYS = ("FeedbackHub", "EntityFrameworkCore!", "Npgsql!", "MassTransit!", "System.Net.Http!")


def main() -> None:
    path = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    data = json.load(open(path))
    frames = [f["name"] for f in data["shared"]["frames"]]
    self_time: collections.Counter = collections.Counter()
    inclusive: collections.Counter = collections.Counter()
    busy = 0.0
    for profile in data["profiles"]:
        stack: list[int] = []
        last = None
        for event in profile["events"]:
            at = event["at"]
            if stack and last is not None and frames[stack[-1]] == "CPU_TIME":
                span = at - last
                busy += span
                self_time[frames[stack[-2]] if len(stack) > 1 else "?"] += span
                for frame in set(stack):
                    inclusive[frames[frame]] += span
            last = at
            if event["type"] == "O":
                stack.append(event["frame"])
            elif stack:
                stack.pop()
    if busy == 0:
        sys.exit("no busy samples (was the profile dotnet-sampled-thread-time?)")
    print(f"busy thread time: {busy / 1000:.1f} s")
    print("-- self")
    for name, span in self_time.most_common(top):
        print(f"{span / busy * 100:5.1f}%  {name[:150]}")
    print("-- inclusive (FeedbackHub, EF Core, Npgsql, MassTransit, HTTP)")
    shown = 0
    for name, span in inclusive.most_common():
        if any(k in name for k in KEYS) and ("MoveNext" in name or "FeedbackHub" in name):
            print(f"{span / busy * 100:5.1f}%  {name[:150]}")
            shown += 1
            if shown == top:
                break


if __name__ == "__main__":
    main()
