#!/usr/bin/env python3
"""Deterministic many-small-files tree for status / first-commit benchmarks.

    gen-tree.py [N] DIR [--seed S] [--per-dir 100]

Creates N files (default 100000) under DIR in three levels of directories
(DIR/dNN/dNN/dNN/), about 100 files per leaf directory, each 100 B - 8 KiB of
varied content: text-like files (scene/config/source-ish lines) and binary-ish
files (random with some structure). Every file embeds its own path, so no two
files are identical. DIR must not exist or be empty. Same arguments, same bytes
(file mtimes are whatever the clock says).
"""

import argparse
import json
import math
import os
import random
import sys

EXTS_TEXT = [".meta", ".json", ".txt", ".cfg", ".shader", ".lua", ".ini", ".xml"]
EXTS_BIN = [".bin", ".dat", ".uasset", ".png", ".wav", ".mesh"]
WORDS = (b"alpha beta gamma delta texture mesh shader sound level actor spawn light camera "
         b"player enemy door wall floor tree rock water fire ice wind path node graph value "
         b"index count scale offset rotate color normal albedo rough metal emissive").split()


def layout(n, per_dir):
    leaves = max(1, math.ceil(n / per_dir))
    fan = max(1, math.ceil(leaves ** (1 / 3)))
    while fan ** 3 < leaves:  # float cube roots can undershoot
        fan += 1
    return leaves, fan


def content(rng, pool, rel, size, text):
    head = rel.encode() + b"\n"
    if text:
        words = rng.choices(WORDS, k=size // 5 + 8)
        body = []
        total = len(head)
        i = 0
        while total < size:
            line = b"%s = %s %d\n" % (words[i % len(words)], words[(i * 7 + 3) % len(words)], rng.randrange(100000))
            body.append(line)
            total += len(line)
            i += 1
        return (head + b"".join(body))[:size]
    off = rng.randrange(0, len(pool) - size)
    return (head + pool[off : off + size])[:size]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("args", nargs="+", metavar="[N] DIR")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-dir", type=int, default=100)
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    if len(a.args) == 1:
        n, root = 100000, a.args[0]
    elif len(a.args) == 2:
        n, root = int(a.args[0]), a.args[1]
    else:
        ap.error("usage: gen-tree.py [N] DIR")
    if n < 1 or a.per_dir < 1:
        ap.error("N and --per-dir must be positive")
    if os.path.exists(root) and os.listdir(root):
        sys.exit(f"gen-tree.py: {root} exists and is not empty")
    rng = random.Random(f"gadn-tree:{a.seed}")
    pool = rng.randbytes(4 << 20)  # binary content is drawn from slices of this pool
    leaves, fan = layout(n, a.per_dir)
    made = 0
    total_bytes = 0
    for leaf in range(leaves):
        i, j, k = leaf // (fan * fan), (leaf // fan) % fan, leaf % fan
        d = os.path.join(root, f"d{i:02d}", f"d{j:02d}", f"d{k:02d}")
        os.makedirs(d, exist_ok=True)
        count = min(a.per_dir, n - made)
        for f in range(count):
            text = rng.random() < 0.6
            ext = rng.choice(EXTS_TEXT if text else EXTS_BIN)
            # sizes skewed towards small: log-uniform 100 B .. 8 KiB
            size = int(math.exp(rng.uniform(math.log(100), math.log(8192))))
            rel = f"d{i:02d}/d{j:02d}/d{k:02d}/f{f:03d}{ext}"
            data = content(rng, pool, rel, size, text)
            with open(os.path.join(root, rel), "wb") as fh:
                fh.write(data)
            made += 1
            total_bytes += len(data)
    if a.verbose:
        print(json.dumps({"dir": root, "files": made, "bytes": total_bytes, "leaf_dirs": leaves, "fanout": fan}),
              file=sys.stderr)


if __name__ == "__main__":
    main()
