#!/usr/bin/env bash
# Many small files: first commit and status, gadn vs git, side by side in one run.
#
#   tools/bench-status.sh [N]           N files, default 100000; ROUNDS default 3
#
# One tree (gen-tree.py N, cached, copied into the run dir) holds both .git and .gadn;
# .gitignore excludes .gadn/ and .gadnignore excludes .git/ (both tools commit both files).
#   first commit  per round: drop both stores, `git init` / `gadn init` (untimed), then time
#                 `gadn add . && gadn commit -m x` and `git add -A && git commit -qm x`
#                 (order rotates per round)
#   status clean  hyperfine -N --warmup 2 --runs 10 on `gadn status` and `git status`, once per
#                 round with the order rotated; the median of the per-round medians is reported
#   status dirty  the same after appending a line to 10 files spread over the tree
# Stock git settings apart from gc.auto=0 / maintenance.auto=false (no detached gc during
# the next measurement); no fsmonitor, no untracked cache, no feature.manyFiles.
# Requirements: gadn status <= git status (clean and dirty); gadn first commit <= git's.
# shellcheck source=tools/lib.sh disable=SC2317,SC2016
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N="${1:-${N:-100000}}"
[[ "$N" =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer"
bench_start status $((900 + N / 50)) "$@"
need_cmd hyperfine hyperfine

json_add files "$N"
free=$(disk_free "$BENCH_TMP")
# ~2 KiB average per file, x3 (cached tree, copy, stores) plus inode slack
if ((free < N * 24 * 1024)); then
	bench_skip "needs ~$(human $((N * 24 * 1024))) free in $BENCH_TMP, have $(human "$free")"
fi

gadn_bin

tree_cache="$CACHE_DIR/tree-$N-s1"
if [[ ! -d "$tree_cache" ]]; then
	log "generating $N-file tree -> $tree_cache"
	rm -rf -- "$tree_cache.partial"
	python3 "$TOOLS_DIR/gen-tree.py" "$N" "$tree_cache.partial"
	mv -- "$tree_cache.partial" "$tree_cache"
fi
tree="$RUN_DIR/tree"
log "copying tree"
cp -a -- "$tree_cache" "$tree"
printf '.gadn/\n' >"$tree/.gitignore"
printf '.git/\n' >"$tree/.gadnignore"
TREE_BYTES=$(dir_bytes "$tree")

declare -a C_gadn=() C_git=() RSS_C_gadn=()

commit_gadn() {
	local r="$1"
	rm -rf -- "$tree/.gadn"
	"$GADN" init "$tree" >/dev/null
	timed "gadn-commit-$r" bash -c 'cd "$1" && "$2" add . && "$2" commit -m x' _ "$tree" "$GADN"
	C_gadn+=("$T_WALL")
	RSS_C_gadn+=("$T_RSS_KIB")
	log "round $r gadn first commit: ${T_WALL}s, $(kib_to_mib "$T_RSS_KIB") MiB peak"
}

commit_git() {
	local r="$1"
	rm -rf -- "$tree/.git"
	git -C "$tree" init -q
	timed "git-commit-$r" bash -c 'cd "$1" && git add -A && git commit -qm x' _ "$tree"
	C_git+=("$T_WALL")
	log "round $r git first commit: ${T_WALL}s"
}

for ((r = 1; r <= ROUNDS; r++)); do
	while read -r tool; do
		"commit_$tool" "$r"
		sync
	done < <(order_for_round "$r" gadn git)
done

# both commits must have captured everything
git_files=$(git -C "$tree" ls-files | wc -l)
((git_files == N + 2)) || die "git committed $git_files files, expected $((N + 2))"
git_dirty=$(git -C "$tree" status --porcelain | wc -l)
((git_dirty == 0)) || die "git status not clean after commit ($git_dirty lines)"
"$GADN" -C "$tree" status >"$RUN_DIR/gadn-status-clean.txt" || die "gadn status failed"
gadn_clean_lines=$(grep -c . "$RUN_DIR/gadn-status-clean.txt" || true)

# status_phase LABEL: hyperfine both, ROUNDS times with rotated order; sets PH_gadn PH_git
status_phase() {
	local label="$1" r a b med
	local -a mg=() mt=()
	for ((r = 1; r <= ROUNDS; r++)); do
		if ((r % 2)); then
			med=$(hf_medians "$RUN_DIR/hf-$label-$r.json" "$GADN -C $tree status" "git -C $tree status")
			read -r a b <<<"$med"
		else
			med=$(hf_medians "$RUN_DIR/hf-$label-$r.json" "git -C $tree status" "$GADN -C $tree status")
			read -r b a <<<"$med"
		fi
		a=$(printf '%.4f' "$a")
		b=$(printf '%.4f' "$b")
		mg+=("$a")
		mt+=("$b")
		log "round $r status ($label): gadn ${a}s git ${b}s"
	done
	PH_gadn=$(median "${mg[@]}")
	PH_git=$(median "${mt[@]}")
	json_add "status_${label}_gadn_s" "$(json_arr "${mg[@]}")"
	json_add "status_${label}_git_s" "$(json_arr "${mt[@]}")"
}

[[ "$tree" != *" "* ]] || die "hyperfine -N needs a run dir without spaces: $tree"
status_phase clean
S_clean_gadn=$PH_gadn
S_clean_git=$PH_git

# touch 10 files' content, spread over the tree
mapfile -t all < <(cd "$tree" && find . -path ./.git -prune -o -path ./.gadn -prune -o -type f -name 'f*' -printf '%P\n' | sort)
edited=()
for ((i = 0; i < 10; i++)); do
	f="${all[$(((i * ${#all[@]} / 10 + 7) % ${#all[@]}))]}"
	printf 'edited by bench-status %d\n' "$i" >>"$tree/$f"
	edited+=("$f")
done
git_mod=$(git -C "$tree" status --porcelain | wc -l)
((git_mod == 10)) || die "git status shows $git_mod changes after editing 10 files"
"$GADN" -C "$tree" status >"$RUN_DIR/gadn-status-dirty.txt" || die "gadn status failed after edits"
gadn_seen=0
for f in "${edited[@]}"; do grep -qF -- "$f" "$RUN_DIR/gadn-status-dirty.txt" && gadn_seen=$((gadn_seen + 1)); done
((gadn_seen == 10)) || log "WARNING: gadn status names only $gadn_seen of the 10 edited files"

status_phase dirty
S_dirty_gadn=$PH_gadn
S_dirty_git=$PH_git

c_gadn=$(median "${C_gadn[@]}")
c_git=$(median "${C_git[@]}")
r_commit=$(ratio "$c_gadn" "$c_git")
r_clean=$(ratio "$S_clean_gadn" "$S_clean_git")
r_dirty=$(ratio "$S_dirty_gadn" "$S_dirty_git")

echo
echo "$N files ($(human "$TREE_BYTES")) in 3 directory levels; $ROUNDS interleaved rounds, medians"
row "" "gadn s" "git s" "gadn / git"
rule
row "first commit (add+commit)" "$c_gadn" "$c_git" "$r_commit"
row "status, nothing changed" "$S_clean_gadn" "$S_clean_git" "$r_clean"
row "status, 10 files edited" "$S_dirty_gadn" "$S_dirty_git" "$r_dirty"
rule
echo "  gadn first-commit peak RSS $(kib_to_mib "$(max "${RSS_C_gadn[@]}")") MiB; per-round commit s: gadn ${C_gadn[*]} | git ${C_git[*]}"
echo "  gadn status output lines when clean: $gadn_clean_lines; edited files named by gadn status: $gadn_seen/10"
echo
echo "requirements:"
req status_clean "status (clean) gadn / git" "$r_clean" "<=" 1.0
req status_dirty "status (10 edited) gadn / git" "$r_dirty" "<=" 1.0
req first_commit "first commit gadn / git" "$r_commit" "<=" 1.0
((gadn_seen == 10)) || REQ_FAILED=1

json_add tree_bytes "$TREE_BYTES"
json_add commit_gadn_s "$(json_arr "${C_gadn[@]}")"
json_add commit_git_s "$(json_arr "${C_git[@]}")"
json_add commit_gadn_peak_rss_kib "$(max "${RSS_C_gadn[@]}")"
json_add ratio_commit "$r_commit"
json_add ratio_status_clean "$r_clean"
json_add ratio_status_dirty "$r_dirty"
json_add gadn_status_clean_lines "$gadn_clean_lines"
json_add gadn_status_edited_seen "$gadn_seen"
bench_finish
