"""Leaf functions of the samples whose stack reaches FitEngine.Fit (perf script -F comm,tid,ip,sym output), as shares.

usage: python3 fit_thread_profile.py PERF_SCRIPT_TXT [TOP]
"""
import collections
import re
import sys


def samples(path):
    current = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.strip():
                if current:
                    yield current
                current = []
            elif line.startswith((" ", "\t")):
                current.append(line.strip())
            else:
                current = [line]
    if current:
        yield current


def name(frame):
    m = re.search(r"\] ([\w.`+<>]+::[\w<>]+)", frame)
    return (m.group(1) if m else frame[:60]).replace("RegService.Numerics.", "")


def main():
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    leaves = collections.Counter()
    total = 0
    for sample in samples(sys.argv[1]):
        frames = sample[1:]
        if not frames or not any("FitEngine::Fit" in f for f in frames):
            continue
        total += 1
        leaves[name(frames[0])] += 1
    print(f"samples on the fit's thread: {total}")
    for leaf, count in leaves.most_common(top):
        print(f"{100 * count / max(total, 1):5.1f}%  {leaf}")


if __name__ == "__main__":
    main()
