#!/usr/bin/env python3
"""Structure check: reads the paths of src/**/*.rs and fails when the layout breaks a rule.

A file-level dependency graph is built from every `crate::…`, `gadn::…`, `super::…` and
`self::…` path in the code (use lines and inline paths; comments and strings are
skipped). A path is resolved to the deepest file module it names; when it names an item
that the module file only re-exports (`pub use child::Item`), it is followed to the file
that defines it. Edges from a module file to its own submodules (the `mod` lines, and
re-exports of its children) are structure, not dependency, and are left out; any other
edge counts.

Rules (each names its offenders; exit status 1 when any fails):

  cycles    no import circle between files (sibling-module circles inside one folder
            count too).
  preview   nothing under src/preview/ uses crate::vcs, crate::sync, crate::git.
  store     nothing under src/store/ uses vcs, sync, git or preview.
  vcs       nothing under src/vcs/ uses sync, git or preview.
  sync      nothing under src/sync/ uses git or preview.
  cli       no file under src/cli/ uses store internals (`gadn::store::…`): the CLI
            calls vcs and ops, and the store types it names are re-exported by the
            crate root or vcs. Fails by default; STRICT_CLI=0 only reports.

Test code (`#[cfg(test)]` or `#[cfg(all(test, …))]` files and inline modules) is not
checked.

Usage: check-structure.py [SRC_DIR]    (default: src next to tools/)
       check-structure.py --self-test  (checks the checker on small fake trees)
"""

import os
import re
import shutil
import sys
import tempfile

# Circles another change of issue 14 is opening right now: reported, not failed. Remove
# an entry when its change lands (a circle that grows or changes shape fails again).
PENDING_CYCLES = []

# (rule name, source top module, forbidden top modules)
LAYERS = [
    ("preview", "preview", ["vcs", "sync", "git"]),
    ("store", "store", ["vcs", "sync", "git", "preview"]),
    ("vcs", "vcs", ["sync", "git", "preview"]),
    ("sync", "sync", ["git", "preview"]),
]

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"

# `#[cfg(test)]`, or `#[cfg(all(test, …))]` (test code behind a Cargo feature).
TEST_CFG = r"#\[cfg\((?:test|all\(\s*test\s*,[^\]]*\))\)\]"


def strip_code(text):
    """Blanks comments, string and char literals (keeps newlines and offsets)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:]) and (i == 0 or not re.match(r"\w", text[i - 1])):
            m = re.match(r'r(#*)"', text[i:])
            end = '"' + m.group(1)
            j = text.find(end, i + len(m.group(0)))
            j = n if j < 0 else j + len(end)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "'":
            m = re.match(r"'(\\.[^']*|[^\\'])'", text[i:])
            if m:
                out.append(" " * len(m.group(0)))
                i += len(m.group(0))
            else:  # a lifetime
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def blank_test_blocks(text):
    """Blanks inline `#[cfg(test)] mod name { … }` blocks (test code is not checked)."""
    out = text
    vis = r"(?:pub(?:\([^)]*\))?\s+)?"
    for m in re.finditer(TEST_CFG + r"\s*(?:#\[[^\]]*\]\s*)*" + vis + r"mod\s+" + IDENT + r"\s*\{", text):
        depth, j = 1, m.end()
        while j < len(text) and depth:
            if text[j] == "{":
                depth += 1
            elif text[j] == "}":
                depth -= 1
            j += 1
        out = out[: m.start()] + re.sub(r"[^\n]", " ", out[m.start() : j]) + out[j:]
    return out


def expand_use(tree):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e]; drops `as` renames."""
    tree = re.sub(r"\s+as\s+" + IDENT, "", tree)
    tree = re.sub(r"\s+", "", tree)

    def split_top(s):
        parts, depth, cur = [], 0, ""
        for ch in s:
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            if ch == "," and depth == 0:
                parts.append(cur)
                cur = ""
            else:
                cur += ch
        if cur:
            parts.append(cur)
        return parts

    def rec(s):
        i = s.find("{")
        if i < 0:
            return [s]
        prefix, inner = s[:i], s[i + 1 : s.rfind("}")]
        res = []
        for p in split_top(inner):
            for q in rec(p):
                if q == "self":
                    res.append(prefix.rstrip(":"))
                else:
                    res.append(prefix + q)
        return res

    return [p for p in rec(tree) if p]


class Crate:
    def __init__(self, src):
        self.src = src
        self.files = {}  # rel file -> module path tuple (with crate prefix)
        self.modfile = {}  # module path tuple -> rel file
        for root, _dirs, names in os.walk(src):
            for name in names:
                if not name.endswith(".rs"):
                    continue
                rel = os.path.relpath(os.path.join(root, name), src).replace(os.sep, "/")
                mp = self.module_of(rel)
                if mp is None:
                    continue
                self.files[rel] = mp
                self.modfile[mp] = rel
        self.text = {}
        for rel in self.files:
            with open(os.path.join(src, rel), encoding="utf-8") as f:
                self.text[rel] = blank_test_blocks(strip_code(f.read()))
        # files compiled only for tests (`#[cfg(test)] mod x;`) are not checked
        self.test_only = set()
        for rel, mp in self.files.items():
            for m in re.finditer(TEST_CFG + r"\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?mod\s+(" + IDENT + r")\s*;", self.text_raw(rel)):
                child = self.modfile.get(mp + (m.group(1),))
                if child is not None:
                    self.test_only.add(child)
        changed = True
        while changed:  # and everything below them
            changed = False
            for rel, mp in self.files.items():
                if rel in self.test_only:
                    continue
                parent = self.modfile.get(mp[:-1])
                if parent in self.test_only:
                    self.test_only.add(rel)
                    changed = True
        for rel in self.test_only:
            del self.files[rel]
        self.modfile = {mp: rel for rel, mp in self.files.items()}
        self.reexports = {rel: self.parse_reexports(rel) for rel in self.files}

    def text_raw(self, rel):
        return self.text[rel]

    @staticmethod
    def module_of(rel):
        """Module path of a file; the library is `gadn`, the binary (main.rs, cli) `bin`."""
        parts = rel[:-3].split("/")
        if parts[-1] == "mod":
            parts = parts[:-1]
        if parts == ["lib"]:
            return ("gadn",)
        if parts == ["main"]:
            return ("bin",)
        if parts[0] == "cli":
            return ("bin",) + tuple(parts)
        if parts[0] == "bin":
            return None  # extra binaries: not checked
        return ("gadn",) + tuple(parts)

    def is_dir_module(self, rel):
        return rel.endswith("/mod.rs") or rel in ("lib.rs", "main.rs")

    def paths_in(self, rel):
        """(absolute path tuple, is_use) for every crate-relative path in a file."""
        text = self.text[rel]
        base = self.files[rel]
        # inline `mod name {` blocks change what `self`/`super` mean
        spans = []  # (start, end, name)
        for m in re.finditer(r"\bmod\s+(" + IDENT + r")\s*\{", text):
            depth, j = 1, m.end()
            while j < len(text) and depth:
                if text[j] == "{":
                    depth += 1
                elif text[j] == "}":
                    depth -= 1
                j += 1
            spans.append((m.start(), j, m.group(1)))

        def module_at(pos):
            mp = base
            for s, e, name in spans:
                if s <= pos < e:
                    mp = mp + (name,)
            return mp

        found = []
        uses = []
        for m in re.finditer(r"(?:^|[;{}\s])(?:pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", text):
            for p in expand_use(m.group(1)):
                uses.append((m.start(1), p))
        use_spans = [(m.start(1), m.end(1)) for m in re.finditer(r"\buse\s+([^;]+);", text)]
        for m in re.finditer(r"(?<![\w:])((?:crate|gadn|super|self)(?:::(?:" + IDENT + r"|\*))+)", text):
            if any(s <= m.start() < e for s, e in use_spans):
                continue
            uses.append((m.start(), m.group(1)))
        for pos, p in uses:
            segs = p.split("::")
            cur = module_at(pos)
            if segs[0] == "crate":
                head, rest = (cur[0],), segs[1:]
            elif segs[0] == "gadn":
                head, rest = ("gadn",), segs[1:]
            elif segs[0] in ("super", "self"):
                head, rest = cur, segs
                while rest and rest[0] in ("super", "self"):
                    if rest[0] == "super":
                        head = head[:-1]
                    rest = rest[1:]
            else:
                continue  # external crate or local name
            found.append(head + tuple(rest))
        return found

    def parse_reexports(self, rel):
        """{item name: absolute path} for `pub use` lines in a file."""
        res = {}
        text = self.text[rel]
        base = self.files[rel]
        for m in re.finditer(r"\bpub(?:\([^)]*\))?\s+use\s+([^;]+);", text):
            for p in expand_use(m.group(1)):
                segs = p.split("::")
                if segs[-1] == "*":
                    continue
                if segs[0] == "crate":
                    full = (base[0],) + tuple(segs[1:])
                elif segs[0] == "gadn":
                    full = ("gadn",) + tuple(segs[1:])
                elif segs[0] == "super":
                    head, rest = base, segs
                    while rest and rest[0] in ("super", "self"):
                        head = head[:-1] if rest[0] == "super" else head
                        rest = rest[1:]
                    full = head + tuple(rest)
                elif segs[0] == "self":
                    full = base + tuple(segs[1:])
                else:
                    full = base + tuple(segs)  # `pub use child::Item` (2018 paths)
                res[segs[-1]] = full
        return res

    def resolve(self, path, depth=0):
        """The file an absolute path lands in (following re-exports), or None."""
        for k in range(len(path), 0, -1):
            rel = self.modfile.get(path[:k])
            if rel is None:
                continue
            rest = path[k:]
            if rest and depth < 8:
                target = self.reexports[rel].get(rest[0])
                if target is not None and target != path[:k] + rest[:1]:
                    hit = self.resolve(target + rest[1:], depth + 1)
                    if hit is not None:
                        return hit
            return rel
        return None

    def graph(self):
        edges = {rel: set() for rel in self.files}
        for rel in self.files:
            mine = self.files[rel]
            for p in self.paths_in(rel):
                dst = self.resolve(p)
                if dst is None or dst == rel:
                    continue
                theirs = self.files[dst]
                if len(theirs) > len(mine) and theirs[: len(mine)] == mine:
                    continue  # a module file and its own submodules
                edges[rel].add(dst)
        return edges


def cycles(edges):
    """Strongly connected components with more than one file (Tarjan)."""
    index, low, onstack, stack, out = {}, {}, set(), [], []
    counter = [0]
    sys.setrecursionlimit(10000)

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        onstack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in onstack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                onstack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            strong(v)
    return out


def check(src, strict_cli):
    crate = Crate(src)
    edges = crate.graph()
    failed = False
    for comp in cycles(edges):
        inside = set(comp)
        if inside in PENDING_CYCLES:
            print("cycle [pending, issue 14]: " + " <-> ".join(comp))
            continue
        failed = True
        print("cycle: " + " <-> ".join(comp))
        for a in comp:
            for b in sorted(edges[a] & inside):
                print(f"    {a} -> {b}")
    for name, top, banned in LAYERS:
        for rel in sorted(crate.files):
            mp = crate.files[rel]
            if mp[:2] != ("gadn", top):
                continue
            bad = sorted({".".join(p[1:3]) for p in crate.paths_in(rel) if p[0] == "gadn" and len(p) > 1 and p[1] in banned})
            if bad:
                failed = True
                print(f"layer {name}: src/{rel} uses {', '.join(bad)}")
    cli_bad = []
    for rel in sorted(crate.files):
        if crate.files[rel][:2] != ("bin", "cli"):
            continue
        if any(p[:2] == ("gadn", "store") for p in crate.paths_in(rel)):
            cli_bad.append(rel)
    if cli_bad:
        word = "FAIL" if strict_cli else "report only (STRICT_CLI=0)"
        print(f"cli [{word}]: {len(cli_bad)} file(s) use gadn::store internals: " + ", ".join("src/" + r for r in cli_bad))
        failed = failed or strict_cli
    return not failed


def self_test():
    cases = [
        # (name, files, strict_cli, expect pass)
        ("clean", {"lib.rs": "pub mod a;\npub mod b;\n", "a.rs": "use crate::b::Thing;\n", "b.rs": "pub struct Thing;\n"}, False, True),
        ("two-file cycle", {"lib.rs": "pub mod a;\npub mod b;\n", "a.rs": "use crate::b::B;\npub struct A;\n", "b.rs": "use crate::a::A;\npub struct B;\n"}, False, False),
        (
            "sibling cycle via super and a re-export",
            {
                "lib.rs": "pub mod v;\n",
                "v/mod.rs": "mod x;\nmod y;\npub use x::X;\npub use y::Y;\n",
                "v/x.rs": "use super::Y;\npub struct X;\n",
                "v/y.rs": "pub struct Y;\nfn f() -> crate::v::X { todo!() }\n",
            },
            False,
            False,
        ),
        (
            "grouped use cycle",
            {"lib.rs": "pub mod s;\n", "s/mod.rs": "pub mod p;\npub mod q;\n", "s/p.rs": "use super::{q::{Q, R as Z}};\npub struct P;\n", "s/q.rs": "use crate::s::p::P; // use crate::nothing;\npub struct Q; pub struct R;\n"},
            False,
            False,
        ),
        ("comment is not an import", {"lib.rs": "pub mod a;\npub mod b;\n", "a.rs": "use crate::b::B;\n", "b.rs": "// use crate::a::A;\n/* crate::a::A */ pub struct B; const S: &str = \"crate::a::A\";\n"}, False, True),
        ("parent using its child is no cycle", {"lib.rs": "pub mod m;\n", "m/mod.rs": "mod c;\npub use c::C;\npub fn f() -> c::C { c::C }\npub struct M;\n", "m/c.rs": "use super::M;\npub struct C;\n"}, False, True),
        ("test-only files behind a feature are not checked", {"lib.rs": "pub mod a;\n#[cfg(all(test, feature = \"x\"))]\nmod tests;\n", "a.rs": "pub struct A;\npub fn f(_: crate::tests::T) {}\n", "tests.rs": "use crate::a::A;\npub struct T;\n"}, False, True),
        ("pub(crate) test modules are not checked", {"lib.rs": "pub mod a;\npub mod b;\n", "a.rs": "use crate::b::B;\npub struct A;\n", "b.rs": "pub struct B;\n#[cfg(test)]\npub(crate) mod tests { use crate::a::A; }\n"}, False, True),
        ("test-only files are not checked", {"lib.rs": "pub mod a;\n#[cfg(test)]\nmod tests;\n", "a.rs": "pub struct A;\n#[cfg(test)]\nmod t { use crate::tests::T; }\n", "tests.rs": "use crate::a::A;\npub struct T;\n"}, False, True),
        ("preview uses vcs", {"lib.rs": "pub mod preview;\npub mod vcs;\n", "preview/mod.rs": "use crate::vcs::facts;\n", "vcs/mod.rs": "pub mod facts;\n", "vcs/facts.rs": ""}, False, False),
        ("store uses sync", {"lib.rs": "pub mod store;\npub mod sync;\n", "store/mod.rs": "fn f() { crate::sync::go(); }\n", "sync/mod.rs": "pub fn go() {}\n"}, False, False),
        ("cli store use reported", {"lib.rs": "pub mod store;\n", "store/mod.rs": "", "main.rs": "mod cli;\n", "cli/mod.rs": "use gadn::store::Store;\n"}, False, True),
        ("cli store use strict", {"lib.rs": "pub mod store;\n", "store/mod.rs": "", "main.rs": "mod cli;\n", "cli/mod.rs": "use gadn::store::Store;\n"}, True, False),
    ]
    ok = True
    for name, files, strict, expect in cases:
        tmp = tempfile.mkdtemp(prefix="check-structure-")
        try:
            for rel, body in files.items():
                path = os.path.join(tmp, rel)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(body)
            print(f"-- self-test: {name}")
            got = check(tmp, strict)
        finally:
            shutil.rmtree(tmp)
        if got != expect:
            ok = False
            print(f"SELF-TEST FAILED: {name}: expected {'pass' if expect else 'fail'}, got {'pass' if got else 'fail'}")
    print("self-test: ok" if ok else "self-test: FAILED")
    return ok


def main():
    args = sys.argv[1:]
    if args == ["--self-test"]:
        sys.exit(0 if self_test() else 1)
    src = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
    strict = os.environ.get("STRICT_CLI", "1") == "1"
    if check(os.path.normpath(src), strict):
        print("structure: ok")
        sys.exit(0)
    print("structure: FAILED")
    sys.exit(1)


if __name__ == "__main__":
    main()
