#!/usr/bin/env python3
"""Generate a small game-asset tree for preview benchmarks (standard library only).

    gen-assets.py OUT_DIR [SCALE]

Writes, deterministically, SCALE x: 4 PNG textures 2048x2048 (RGB, structured so
they compress like art), 2 WAV tracks of 60 s 48 kHz stereo 16-bit, 2 binary STL
meshes of 200,000 triangles, 2 OBJ meshes of 20,000 triangles, and 4 opaque 8 MiB
blobs (generic cards). About 200 MB per unit of SCALE.
"""
import math
import os
import random
import struct
import sys
import zlib


def png(path, w, h, seed):
    rnd = random.Random(seed)
    base = bytes(rnd.randrange(256) for _ in range(3 * w))
    raw = bytearray()
    for y in range(h):
        shift = (y * 7 + seed) % (3 * w)
        row = base[shift:] + base[:shift]
        raw += b"\x00" + bytes((b + y) & 0xFF for b in row[:64]) + row[64:]
    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(bytes(raw), 6)))
        f.write(chunk(b"IEND", b""))


def wav(path, seconds, seed):
    rate, n = 48000, 48000 * seconds
    table = [int(12000 * math.sin(2 * math.pi * i / 64)) for i in range(64)]
    step = 1 + seed % 5
    frames = bytearray()
    for i in range(n):
        s = table[(i * step // 3) % 64]
        frames += struct.pack("<hh", s, -s)
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 36 + len(frames)) + b"WAVE")
        f.write(b"fmt " + struct.pack("<IHHIIHH", 16, 1, 2, rate, rate * 4, 4, 16))
        f.write(b"data" + struct.pack("<I", len(frames)))
        f.write(frames)


def stl(path, tris, seed):
    side = int(math.sqrt(tris / 2))
    with open(path, "wb") as f:
        f.write(b"gadn bench mesh".ljust(80, b"\0"))
        f.write(struct.pack("<I", 2 * side * side))
        h = lambda x, y: math.sin(x * 0.05 + seed) * math.cos(y * 0.07) * 10
        for y in range(side):
            for x in range(side):
                a, b = (x, y, h(x, y)), (x + 1, y, h(x + 1, y))
                c, d = (x + 1, y + 1, h(x + 1, y + 1)), (x, y + 1, h(x, y + 1))
                for t in ((a, b, c), (a, c, d)):
                    f.write(struct.pack("<12fH", 0, 0, 0, *t[0], *t[1], *t[2], 0))


def obj(path, tris, seed):
    side = int(math.sqrt(tris / 2))
    with open(path, "w") as f:
        for y in range(side + 1):
            for x in range(side + 1):
                f.write("v %d %d %.4f\n" % (x, y, math.sin(x * 0.1 + seed) * math.cos(y * 0.1)))
        for y in range(side):
            for x in range(side):
                i = y * (side + 1) + x + 1
                f.write("f %d %d %d\nf %d %d %d\n" % (i, i + 1, i + side + 2, i, i + side + 2, i + side + 1))


def main():
    out = sys.argv[1]
    scale = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    for sub in ("textures", "audio", "meshes", "data"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    for s in range(scale):
        for i in range(4):
            png(os.path.join(out, "textures", "t%d_%d.png" % (s, i)), 2048, 2048, 10 * s + i)
        for i in range(2):
            wav(os.path.join(out, "audio", "a%d_%d.wav" % (s, i)), 60, 10 * s + i)
            stl(os.path.join(out, "meshes", "m%d_%d.stl" % (s, i)), 200_000, 10 * s + i)
            obj(os.path.join(out, "meshes", "o%d_%d.obj" % (s, i)), 20_000, 10 * s + i)
        for i in range(4):
            with open(os.path.join(out, "data", "b%d_%d.bin" % (s, i)), "wb") as f:
                f.write(random.Random(100 * s + i).randbytes(8 << 20))


if __name__ == "__main__":
    main()
