#!/usr/bin/env bash
# History queries on a long history: gadn (index-backed) vs git, side by side in one run.
#
#   tools/bench-history.sh [N]          N commits, default 10000; ROUNDS default 3
#
# One deterministic change list (embedded generator, seeded) is applied twice, cached in
# $CACHE_DIR/history-N-s1 (rebuilt when missing):
#   gadn  the real binary, one `gadn commit -a` per commit (`gadn add` / `gadn mv` before
#         it when the commit adds or renames a file); no dev-only shortcut
#   git   the same trees through `git fast-import` (one pack), same paths and bytes
# The history: 300 files in 30 directories; every commit edits 2 random files; the hot
# file assets/d00/hot.txt changes in every 4th commit (N/4 revisions), the cold file
# assets/d29/cold.txt in 3 commits; every 500th commit adds a file, every 1000th renames
# one (never hot or cold).
# Measured (hyperfine -N --warmup 3 --runs 15, output discarded, ROUNDS rounds with the
# order rotated; the median of the per-round medians is reported), for hot and cold:
#   gadn history PATH        gadn log --path PATH
#   git log -- PATH          git log --follow -- PATH
# Also timed once: the first gadn query on a copy of the repository with an empty index
# (full index build), and the first query after one more commit (incremental catch-up).
# Requirements: gadn history and log --path < 50 ms warm and <= git log -- PATH.
# shellcheck source=tools/lib.sh disable=SC2317,SC2016
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N="${1:-${N:-10000}}"
[[ "$N" =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer"
((N >= 8)) || die "N must be at least 8"
bench_start history $((1800 + N / 5)) "$@"
need_cmd hyperfine hyperfine
json_add commits "$N"
gadn_bin

HOT=assets/d00/hot.txt
COLD=assets/d29/cold.txt

cache="$CACHE_DIR/history-$N-s1"
if [[ ! -f "$cache/done" ]]; then
	log "building the $N-commit gadn and git repositories -> $cache (once; cached)"
	rm -rf -- "$cache"
	mkdir -p -- "$cache"
	git init -q "$cache/git"
	"$GADN" -q init "$cache/gadn" >/dev/null
	timed build-repos python3 - "$N" "$cache" "$GADN" <<-'EOF'
		import os, random, subprocess, sys
		n, cache, gadn = int(sys.argv[1]), sys.argv[2], sys.argv[3]
		work = os.path.join(cache, "gadn")
		env = dict(os.environ, GADN_AUTHOR_NAME="gadn bench", GADN_AUTHOR_EMAIL="bench@gadn.invalid")
		rng = random.Random(1)
		HOT, COLD = "assets/d00/hot.txt", "assets/d29/cold.txt"
		files = {f"assets/d{d:02}/f{i:03}.bin": 0 for d in range(30) for i in range(10)}
		files[HOT] = 0
		files[COLD] = 0
		cold_at = {n // 4, n // 2, (3 * n) // 4}
		def body(path, v):
		    return (f"{path} revision {v}\n" * (4 + v % 7)).encode()
		def write(path, v):
		    p = os.path.join(work, path)
		    os.makedirs(os.path.dirname(p), exist_ok=True)
		    with open(p, "wb") as f:
		        f.write(body(path, v))
		def gadn_run(*args):
		    subprocess.run([gadn, "-q", "-C", work, *args], check=True, env=env, stdout=subprocess.DEVNULL)
		fi = subprocess.Popen(["git", "-C", os.path.join(cache, "git"), "fast-import", "--quiet"],
		                      stdin=subprocess.PIPE)
		out = fi.stdin
		def git_commit(i, ops):
		    msg = f"commit {i}\n".encode()
		    out.write(b"commit refs/heads/main\n")
		    out.write(f"committer gadn bench <bench@gadn.invalid> {1700000000 + i} +0000\n".encode())
		    out.write(b"data %d\n" % len(msg) + msg)
		    for op in ops:
		        if op[0] == "M":
		            data = body(op[1], files[op[1]])
		            out.write(f"M 100644 inline {op[1]}\n".encode())
		            out.write(b"data %d\n" % len(data) + data + b"\n")
		        else:
		            out.write(f"R {op[1]} {op[2]}\n".encode())
		    out.write(b"\n")
		for path in files:
		    write(path, 0)
		gadn_run("add", ".")
		gadn_run("commit", "-m", "commit 0")
		git_commit(0, [("M", p) for p in sorted(files)])
		plain = sorted(p for p in files if p not in (HOT, COLD))
		for i in range(1, n):
		    ops, new = [], []
		    if i % 1000 == 0:
		        src = rng.choice(plain)
		        dst = src.replace(".bin", f".r{i}.bin")
		        gadn_run("mv", src, dst)
		        files[dst] = files.pop(src)
		        plain[plain.index(src)] = dst
		        ops.append(("R", src, dst))
		    if i % 500 == 0:
		        path = f"assets/d{rng.randrange(30):02}/new{i}.bin"
		        files[path] = 0
		        plain.append(path)
		        write(path, 0)
		        new.append(path)
		        ops.append(("M", path))
		    touched = set(rng.sample(plain, 2))
		    if i % 4 == 0:
		        touched.add(HOT)
		    if i in cold_at:
		        touched.add(COLD)
		    for path in sorted(touched):
		        files[path] += 1
		        write(path, files[path])
		        ops.append(("M", path))
		    if new:
		        gadn_run("add", *new)
		    gadn_run("commit", "-a", "-m", f"commit {i}")
		    git_commit(i, ops)
		    if i % 1000 == 0:
		        print(f"  {i} commits", file=sys.stderr, flush=True)
		out.close()
		if fi.wait() != 0:
		    sys.exit("git fast-import failed")
	EOF
	[[ "$T_WALL" != 0 ]] || die "building the repositories failed"
	log "built in ${T_WALL}s"
	touch "$cache/done"
fi
gr="$RUN_DIR/gadn"
tr="$cache/git"
log "copying the gadn repository"
cp -a -- "$cache/gadn" "$gr"

# Both must agree on what they hold.
g_hot=$(git -C "$tr" log --format=%H -- "$HOT" | wc -l)
g_cold=$(git -C "$tr" log --format=%H -- "$COLD" | wc -l)
g_all=$(git -C "$tr" rev-list --count HEAD)
((g_all == N)) || die "git has $g_all commits, expected $N"

# Index build from scratch (the cached repository was never queried), then warm.
timed index-build "$GADN" -C "$gr" log --oneline --path "$HOT"
T_BUILD=$T_WALL
log "first query (index build over $N commits): ${T_BUILD}s, peak $(kib_to_mib "$T_RSS_KIB") MiB"
a_hot=$("$GADN" -C "$gr" log --oneline --path "$HOT" | wc -l)
a_cold=$("$GADN" -C "$gr" log --oneline --path "$COLD" | wc -l)
h_hot=$("$GADN" -C "$gr" history "$HOT" | tail -n +2 | wc -l)
h_cold=$("$GADN" -C "$gr" history "$COLD" | tail -n +2 | wc -l)
a_all=$("$GADN" -C "$gr" log --oneline | wc -l)
((a_all == N)) || die "gadn has $a_all commits, expected $N"
((a_hot == g_hot && h_hot == g_hot)) || die "hot file: gadn log $a_hot / history $h_hot, git $g_hot revisions"
((a_cold == g_cold && h_cold == g_cold)) || die "cold file: gadn log $a_cold / history $h_cold, git $g_cold revisions"
log "both agree: hot $g_hot revisions, cold $g_cold"

# hf_many OUT CMD...: hyperfine medians of CMD..., in the given order, one per line.
hf_many() {
	local out="$1"
	shift
	# shellcheck disable=SC2086
	hyperfine -N ${HF_ARGS:---warmup 3 --runs 15} --style none --export-json "$out" "$@" >"$out.log" 2>&1 || {
		log "hyperfine failed:"
		tail -n 20 "$out.log" >&2
		exit 2
	}
	python3 -c '
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print("%.5f" % r["median"])' "$out"
}

[[ "$gr" != *" "* && "$tr" != *" "* ]] || die "hyperfine -N needs paths without spaces"
declare -A M=()
NAMES=(history log git git_follow)
for which in hot cold; do
	path=$HOT
	[[ $which == cold ]] && path=$COLD
	cmds=("$GADN -C $gr history $path" "$GADN -C $gr log --path $path"
		"git -C $tr log -- $path" "git -C $tr log --follow -- $path")
	declare -a per_history=() per_log=() per_git=() per_git_follow=()
	for ((r = 1; r <= ROUNDS; r++)); do
		# rotate the order each round
		order=()
		for ((k = 0; k < 4; k++)); do order+=($(((k + r - 1) % 4))); done
		ordered=()
		for k in "${order[@]}"; do ordered+=("${cmds[$k]}"); done
		mapfile -t med < <(hf_many "$RUN_DIR/hf-$which-$r.json" "${ordered[@]}")
		((${#med[@]} == 4)) || die "hyperfine gave ${#med[@]} results"
		for ((k = 0; k < 4; k++)); do
			eval "per_${NAMES[${order[$k]}]}+=(\"${med[$k]}\")"
		done
		log "round $r ($which): history ${per_history[-1]}s, log --path ${per_log[-1]}s, git log ${per_git[-1]}s, git log --follow ${per_git_follow[-1]}s"
	done
	for name in "${NAMES[@]}"; do
		eval "vals=(\"\${per_${name}[@]}\")"
		M[$which-$name]=$(median "${vals[@]}")
		json_add "${which}_${name}_s" "$(json_arr "${vals[@]}")"
	done
	unset per_history per_log per_git per_git_follow
done

# Incremental catch-up: one more commit, then the first query pays for indexing it.
printf 'one more\n' >>"$gr/$HOT"
"$GADN" -q -C "$gr" commit -a -m "one more" >/dev/null
timed catch-up "$GADN" -C "$gr" history "$HOT"
T_CATCH=$T_WALL

ms() { awk -v s="$1" 'BEGIN{ printf "%.1f\n", s*1000 }'; }
echo
echo "$N commits; hot file $g_hot revisions, cold file $g_cold; $ROUNDS interleaved rounds, medians"
row "" "gadn ms" "git log ms" "gadn / git" "--follow ms"
rule
for which in hot cold; do
	for q in history log; do
		label="gadn $q ($which)"
		[[ $q == log ]] && label="gadn log --path ($which)"
		row "$label" "$(ms "${M[$which-$q]}")" "$(ms "${M[$which-git]}")" \
			"$(ratio "${M[$which-$q]}" "${M[$which-git]}")" "$(ms "${M[$which-git_follow]}")"
	done
done
rule
echo "  first query with an empty index (builds it over $N commits): $(ms "$T_BUILD") ms"
echo "  first query after one new commit (incremental catch-up): $(ms "$T_CATCH") ms"
echo
echo "requirements:"
for which in hot cold; do
	for q in history log; do
		req "${which}_${q}_ms" "gadn $q ($which) ms" "$(ms "${M[$which-$q]}")" "<" 50
		req "${which}_${q}_vs_git" "gadn $q ($which) / git log -- PATH" \
			"$(ratio "${M[$which-$q]}" "${M[$which-git]}")" "<=" 1.0
	done
done
json_add index_build_s "$T_BUILD"
json_add catch_up_s "$T_CATCH"
json_add hot_revisions "$g_hot"
json_add cold_revisions "$g_cold"
bench_finish
