#!/usr/bin/env python3
"""Deterministic large test files for gadn benchmarks (stdlib only, streaming).

Generate a file mixing incompressible (random) extents with compressible extents
that look a little like game asset data (YAML-ish scene text, vertex buffers,
texture rows, string tables), in alternating extents of 1-8 MiB:

    gen-mixed.py --size 2G --seed 1 OUT

Produce a second version of such a file: 1 MiB of new random bytes inserted in
the middle and 4 KiB overwritten with new random bytes at 20 scattered places:

    gen-mixed.py --edit SRC DST [--seed 1]

Neither mode ever holds more than a few MiB in memory. The same arguments always
give byte-identical output (Python >= 3.9; the Mersenne Twister stream is stable).
Sizes take binary suffixes: K, M, G, T (optionally followed by iB or B).
"""

import argparse
import json
import operator
import os
import random
import re
import struct
import sys

KIB = 1024
MIB = 1024 * KIB
BLOCK = MIB  # generation / copy granularity

EDIT_INSERT = 1 * MIB
EDIT_OVERWRITES = 20
EDIT_OVERWRITE_LEN = 4 * KIB


def parse_size(text):
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?\s*", text, re.IGNORECASE)
    if not m:
        raise argparse.ArgumentTypeError(f"bad size: {text!r} (use e.g. 512M, 2G, 10GiB, 1048576)")
    mult = 1024 ** ("KMGT".index(m.group(2).upper()) + 1) if m.group(2) else 1
    return int(float(m.group(1)) * mult)


# --------------------------------------------------------------------------- themes
# A compressible extent picks one theme. Each theme has a small vocabulary of
# fragments (built per extent from the extent's own random stream, so extents
# differ) that are drawn at random and interleaved with a few bytes of noise.
# The small vocabulary keeps repetition dense inside every 64 KiB window, so the
# data also compresses when chunks are compressed one by one; the noise keeps
# the ratio in the 3-5x range and makes every chunk unique (no accidental dedup).

DIGITS = bytes((ord("0") + b % 10) for b in range(256))
HEXDIG = bytes(b"0123456789abcdef"[b % 16] for b in range(256))
LOWBITS = bytes((b & 0x0F) for b in range(256))

YAML_KEYS = [
    b"m_LocalPosition", b"m_LocalRotation", b"m_LocalScale", b"m_Name", b"m_Enabled",
    b"m_Materials", b"m_Mesh", b"m_Father", b"m_Children", b"m_Layer", b"m_TagString",
    b"m_CastShadows", b"m_ReceiveShadows", b"m_Script", b"m_GameObject", b"serializedVersion",
    b"m_Component", b"m_IsActive", b"m_StaticEditorFlags", b"m_LightmapIndex", b"guid",
    b"m_Color", b"m_Intensity", b"m_Range", b"m_SpotAngle", b"m_Center", b"m_Size",
]
WORDS = [
    b"rock", b"tree", b"wall", b"door", b"crate", b"barrel", b"lamp", b"floor", b"roof",
    b"player", b"enemy", b"spawn", b"trigger", b"light", b"camera", b"grass", b"water",
    b"metal", b"wood", b"stone", b"diffuse", b"normal", b"rough", b"emissive", b"lod0",
    b"lod1", b"lod2", b"collider", b"anim", b"idle", b"walk", b"run", b"jump", b"attack",
]


def theme_scene_text(rng):
    """Unity-YAML-like scene text: keys, indentation, ids, numbers."""
    frags = []
    for _ in range(rng.randrange(48, 96)):
        key = rng.choice(YAML_KEYS)
        indent = b"  " * rng.randrange(1, 4)
        kind = rng.randrange(5)
        if kind == 0:
            frags.append(b"\n" + indent + key + b": {x: ")
        elif kind == 1:
            frags.append(b", y: -")
        elif kind == 2:
            frags.append(b"}\n" + indent + b"- {fileID: ")
        elif kind == 3:
            frags.append(b"\n" + indent + key + b": " + rng.choice(WORDS) + b"_")
        else:
            frags.append(b"\n--- !u!" + str(rng.randrange(1, 200)).encode() + b" &")
    return frags, 4, DIGITS


def theme_vertex_buffer(rng):
    """Interleaved vertex records: position/normal/uv floats, mostly shared prefixes."""
    frags = []
    for _ in range(rng.randrange(64, 160)):
        px, py, pz = (round(rng.uniform(-8, 8), 1) for _ in range(3))
        nx, ny, nz = rng.choice([(0, 0, 1), (0, 1, 0), (1, 0, 0), (0, 0, -1), (0, -1, 0), (-1, 0, 0)])
        u, v = round(rng.random(), 2), round(rng.random(), 2)
        rec = struct.pack("<8f", px, py, pz, nx, ny, nz, u, v)
        frags.append(rec[: rng.randrange(12, 32)])
    return frags, 3, None


def theme_texture_rows(rng):
    """RGBA pixel runs: gradients and flat areas with small per-run noise."""
    frags = []
    for _ in range(rng.randrange(32, 96)):
        r, g, b = rng.randrange(256), rng.randrange(256), rng.randrange(256)
        dr, dg, db = rng.randrange(-3, 4), rng.randrange(-3, 4), rng.randrange(-3, 4)
        n = rng.randrange(2, 9)
        frags.append(bytes(
            c for i in range(n) for c in ((r + dr * i) & 255, (g + dg * i) & 255, (b + db * i) & 255, 255)
        ))
    return frags, 4, LOWBITS


def theme_string_table(rng):
    """Asset path / string table: NUL-separated paths with hex ids."""
    frags = []
    for _ in range(rng.randrange(48, 128)):
        depth = rng.randrange(1, 4)
        path = b"Assets/" + b"/".join(rng.choice(WORDS).capitalize() for _ in range(depth))
        frags.append(b"\x00" + path + b"/" + rng.choice(WORDS) + b"_")
    return frags, 6, HEXDIG


THEMES = [theme_scene_text, theme_vertex_buffer, theme_texture_rows, theme_string_table]


class Compressible:
    """Streams one compressible extent of a given theme."""

    BATCH = 4096  # tokens generated per step

    def __init__(self, rng, theme):
        self.rng = rng
        frags, self.noise, self.table = theme(rng)
        # stretch the vocabulary to 256 entries (repeats make it non-uniform, which is realistic)
        self.frags = [frags[i % len(frags)] for i in range(256)]
        rng.shuffle(self.frags)
        self.pending = b""
        # C speed: split BATCH*noise random bytes into BATCH pieces of `noise` bytes
        self.split = struct.Struct(f"{self.noise}s" * self.BATCH).unpack

    def take(self, n):
        out = [self.pending]
        have = len(self.pending)
        rng = self.rng
        while have < n:
            k = self.BATCH
            # C speed: each random byte indexes the 256-entry vocabulary 
            toks = operator.itemgetter(*rng.randbytes(k))(self.frags)
            noise = rng.randbytes(k * self.noise)
            if self.table is not None:
                noise = noise.translate(self.table)
            parts = [None] * (2 * k)
            parts[0::2] = toks
            parts[1::2] = self.split(noise)
            piece = b"".join(parts)
            out.append(piece)
            have += len(piece)
        data = b"".join(out)
        self.pending = data[n:]
        return data[:n]


def generate(out_path, size, seed, verbose):
    layout = random.Random(f"gadn-mixed:{seed}:layout")
    data = random.Random(f"gadn-mixed:{seed}:data")
    written = 0
    extents = []
    kind_random = layout.random() < 0.5
    tmp = out_path + ".partial" if out_path != "-" else None
    f = open(tmp, "wb") if tmp else sys.stdout.buffer
    try:
        while written < size:
            length = min(size - written, layout.randrange(1 * MIB, 8 * MIB))
            if kind_random:
                extents.append(("random", written, length))
                left = length
                while left:
                    n = min(BLOCK, left)
                    f.write(data.randbytes(n))
                    left -= n
            else:
                theme = layout.choice(THEMES)
                extents.append((theme.__name__[6:], written, length))
                gen = Compressible(random.Random(data.getrandbits(64)), theme)
                left = length
                while left:
                    n = min(BLOCK, left)
                    f.write(gen.take(n))
                    left -= n
            written += length
            kind_random = not kind_random
        if tmp:
            f.flush()
            f.close()
            os.replace(tmp, out_path)
    except BaseException:
        if tmp:
            f.close()
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        raise
    if verbose:
        rnd = sum(l for k, _, l in extents if k == "random")
        print(json.dumps({"file": out_path, "size": size, "seed": seed, "extents": len(extents),
                          "random_bytes": rnd, "compressible_bytes": size - rnd}), file=sys.stderr)


def edit_plan(size, seed):
    """Edit positions, in SRC offsets: one insertion and EDIT_OVERWRITES overwrites."""
    if size < 4 * EDIT_OVERWRITES * EDIT_OVERWRITE_LEN:
        raise SystemExit(f"gen-mixed.py: --edit needs a source of at least "
                         f"{4 * EDIT_OVERWRITES * EDIT_OVERWRITE_LEN} bytes, got {size}")
    rng = random.Random(f"gadn-mixed:{seed}:edit-plan")
    insert_at = size // 2
    seg = size // EDIT_OVERWRITES
    overwrites = []
    for i in range(EDIT_OVERWRITES):
        lo, hi = i * seg, (i + 1) * seg - EDIT_OVERWRITE_LEN
        pos = rng.randrange(lo, hi)
        if pos < insert_at < pos + EDIT_OVERWRITE_LEN:  # keep the insertion point clean
            pos = insert_at
        overwrites.append(pos)
    return insert_at, overwrites


def edit(src, dst, seed, verbose):
    size = os.path.getsize(src)
    insert_at, overwrites = edit_plan(size, seed)
    new = random.Random(f"gadn-mixed:{seed}:edit-data")
    # events sorted by source offset; the insertion goes before an overwrite at the same offset
    events = sorted([(p, 1, "overwrite") for p in overwrites] + [(insert_at, 0, "insert")])
    tmp = dst + ".partial"
    try:
        with open(src, "rb") as fi, open(tmp, "wb") as fo:
            pos = 0

            def copy_to(end):
                nonlocal pos
                while pos < end:
                    chunk = fi.read(min(BLOCK, end - pos))
                    if not chunk:
                        raise SystemExit(f"gen-mixed.py: {src} shrank while reading")
                    fo.write(chunk)
                    pos += len(chunk)

            for at, _, what in events:
                copy_to(at)
                if what == "insert":
                    left = EDIT_INSERT
                    while left:
                        n = min(BLOCK, left)
                        fo.write(new.randbytes(n))
                        left -= n
                else:
                    fo.write(new.randbytes(EDIT_OVERWRITE_LEN))
                    fi.seek(EDIT_OVERWRITE_LEN, os.SEEK_CUR)
                    pos += EDIT_OVERWRITE_LEN
            copy_to(size)
        os.replace(tmp, dst)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if verbose:
        print(json.dumps({"src": src, "dst": dst, "src_size": size, "dst_size": size + EDIT_INSERT,
                          "insert_at": insert_at, "insert_len": EDIT_INSERT,
                          "overwrites": overwrites, "overwrite_len": EDIT_OVERWRITE_LEN}), file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=parse_size, help="size of the generated file, e.g. 512M, 2G, 10G")
    ap.add_argument("--seed", type=int, default=1, help="seed (default 1)")
    ap.add_argument("--edit", nargs=2, metavar=("SRC", "DST"), help="write the edited version of SRC to DST")
    ap.add_argument("-v", "--verbose", action="store_true", help="print a JSON summary to stderr")
    ap.add_argument("out", nargs="?", help="output file ('-' for stdout)")
    a = ap.parse_args()
    if a.edit:
        if a.out or a.size is not None:
            ap.error("--edit takes SRC DST and no --size / OUT")
        edit(a.edit[0], a.edit[1], a.seed, a.verbose)
    else:
        if a.size is None or not a.out:
            ap.error("need --size and OUT (or --edit SRC DST)")
        generate(a.out, a.size, a.seed, a.verbose)


if __name__ == "__main__":
    main()
