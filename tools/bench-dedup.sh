#!/usr/bin/env bash
# Store growth for a small edit of a big file: gadn vs git-lfs, with xdelta3 as reference.
#
#   tools/bench-dedup.sh [SIZE]         SIZE default 2G (also SIZE=... env); ROUNDS default 3
#
# v1 = gen-mixed.py --size SIZE --seed 1; v2 = gen-mixed.py --edit v1 (1 MiB inserted in the
# middle, 4 KiB overwritten at 20 places). Per round, in rotating order, fresh repos:
#   gadn     commit v1 as asset.bin, `gadn stats --json` stored_bytes; replace asset.bin by v2,
#            add+commit (timed), stored_bytes again; growth = difference. The growth of the
#            whole .gadn directory (SQLite, indexes) is reported too.
#   git-lfs  same with git add/commit in an LFS repo; growth = bytes added to .git/lfs/objects
#            (a whole second copy) plus .git/objects.
# Once: `xdelta3 -e -s v1 v2` delta size (default settings) as the "ideal delta" reference.
# Sizes are deterministic, rounds only make the v2 commit times medians (and check that
# gadn's sizes repeat exactly). Requirement: gadn growth < 2% of the file size.
# shellcheck source=tools/lib.sh disable=SC2317,SC2016
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SIZE_ARG="${1:-${SIZE:-2G}}"
BYTES="$(size_bytes "$SIZE_ARG")"
GIB=$(((BYTES + (1 << 30) - 1) >> 30))
bench_start dedup $((900 + GIB * 600)) "$@"
need_lfs
need_cmd xdelta3 xdelta3

json_add size "$BYTES"

# --- disk: v1 + v2 cached, plus a gadn store and two LFS copies at once
v1="$CACHE_DIR/mixed-$BYTES-s1.bin"
cached=0
[[ -f "$v1" ]] && cached=$((cached + BYTES))
[[ -f "${v1%.bin}-edit1.bin" ]] && cached=$((cached + BYTES))
free=$(disk_free "$BENCH_TMP")
if ((free + cached < 5 * BYTES)); then
	bench_skip "needs 5x$SIZE_ARG = $(human $((5 * BYTES))) free in $BENCH_TMP, have $(human "$free") (+$(human "$cached") cached inputs)"
fi

gadn_bin
v1="$(cached_mixed "$BYTES" 1)"
v2="$(cached_edit "$v1" 1)"
V2_BYTES=$(stat -c %s "$v2")
sig1="$(file_sig "$v1")"
sig2="$(file_sig "$v2")"
log "warming page cache"
warm "$v1" "$v2"

declare -a G_S1=() G_S2=() G_D1=() G_D2=() G_T2=() G_LOG=() L_S1=() L_S2=() L_T2=()
fsck_ok="not run"

run_gadn() {
	local r="$1" repo="$RUN_DIR/gadn-$1"
	mkdir -p "$repo"
	"$GADN" init "$repo" >/dev/null
	place "$v1" "$repo/asset.bin"
	timed "gadn-v1-$r" "$GADN" -C "$repo" add asset.bin
	timed "gadn-v1c-$r" "$GADN" -C "$repo" commit -m v1
	G_S1+=("$(gadn_stat stored_bytes "$repo")")
	G_D1+=("$(dir_bytes "$repo/.gadn")")
	rm -f -- "$repo/asset.bin"
	place "$v2" "$repo/asset.bin"
	# shellcheck disable=SC2016
	timed "gadn-v2-$r" bash -c '"$1" -C "$2" add asset.bin && "$1" -C "$2" commit -m v2' _ "$GADN" "$repo"
	G_T2+=("$T_WALL")
	G_S2+=("$(gadn_stat stored_bytes "$repo")")
	G_D2+=("$(dir_bytes "$repo/.gadn")")
	G_LOG+=("$(gadn_stat logical_bytes "$repo")")
	if ((r == 1)); then
		"$GADN" -C "$repo" stats --json >"$RUN_DIR/gadn-stats.json" || true
		if "$GADN" -C "$repo" fsck >"$RUN_DIR/fsck.log" 2>&1; then fsck_ok=ok; else
			fsck_ok=FAILED
			log "gadn fsck failed:"
			tail -n 20 "$RUN_DIR/fsck.log" >&2
		fi
	fi
	log "round $r gadn: stored ${G_S1[-1]} -> ${G_S2[-1]} (+$((G_S2[-1] - G_S1[-1]))), v2 add+commit ${T_WALL}s"
	rm -rf -- "$repo"
}

run_lfs() {
	local r="$1" repo="$RUN_DIR/lfs-$1"
	lfs_repo "$repo" '*.bin'
	place "$v1" "$repo/asset.bin"
	timed "lfs-v1-$r" bash -c 'cd "$1" && git add asset.bin && git commit -qm v1' _ "$repo"
	L_S1+=($(($(lfs_store_bytes "$repo") + $(dir_bytes "$repo/.git/objects"))))
	rm -f -- "$repo/asset.bin"
	place "$v2" "$repo/asset.bin"
	timed "lfs-v2-$r" bash -c 'cd "$1" && git add asset.bin && git commit -qm v2' _ "$repo"
	L_T2+=("$T_WALL")
	L_S2+=($(($(lfs_store_bytes "$repo") + $(dir_bytes "$repo/.git/objects"))))
	log "round $r git-lfs: store ${L_S1[-1]} -> ${L_S2[-1]} (+$((L_S2[-1] - L_S1[-1]))), v2 add+commit ${T_WALL}s"
	rm -rf -- "$repo"
}

for ((r = 1; r <= ROUNDS; r++)); do
	while read -r tool; do
		"run_$tool" "$r"
		sync
		[[ "$(file_sig "$v1")" == "$sig1" && "$(file_sig "$v2")" == "$sig2" ]] ||
			die "cached input changed during the run (written through a hard link?)"
	done < <(order_for_round "$r" gadn lfs)
done

log "xdelta3 -e -s v1 v2 (reference)"
timed xdelta3 xdelta3 -e -f -s "$v1" "$v2" "$RUN_DIR/v1-v2.xd3"
X_BYTES=$(stat -c %s "$RUN_DIR/v1-v2.xd3")
X_T=$T_WALL
rm -f -- "$RUN_DIR/v1-v2.xd3"

# gadn sizes must not depend on the round
g_grow=()
for ((i = 0; i < ROUNDS; i++)); do g_grow+=($((G_S2[i] - G_S1[i]))); done
deterministic=true
for g in "${g_grow[@]}"; do [[ "$g" == "${g_grow[0]}" ]] || deterministic=false; done
[[ $deterministic == true ]] || log "WARNING: gadn growth differs between rounds: ${g_grow[*]}"

g_growth=$(median "${g_grow[@]}")
g_s1=$(median "${G_S1[@]}")
g_s2=$(median "${G_S2[@]}")
g_dgrowth=$(($(median "${G_D2[@]}") - $(median "${G_D1[@]}")))
l_s1=$(median "${L_S1[@]}")
l_s2=$(median "${L_S2[@]}")
l_growth=$((l_s2 - l_s1))
g_t2=$(median "${G_T2[@]}")
l_t2=$(median "${L_T2[@]}")

echo
echo "store growth for v2 = v1 + 1 MiB insert + 20 x 4 KiB overwrites; v1 $(human "$BYTES"), v2 $V2_BYTES bytes"
row "" "after v1" "after v2" "growth" "% of file" "v2 commit s"
rule
row "gadn (stats stored_bytes)" "$g_s1" "$g_s2" "$g_growth" "$(pct "$g_growth" "$V2_BYTES")" "$g_t2"
row "gadn (whole .gadn dir)" "$(median "${G_D1[@]}")" "$(median "${G_D2[@]}")" "$g_dgrowth" "$(pct "$g_dgrowth" "$V2_BYTES")" ""
row "git-lfs (.git/lfs + objects)" "$l_s1" "$l_s2" "$l_growth" "$(pct "$l_growth" "$V2_BYTES")" "$l_t2"
row "xdelta3 -e -s v1 v2" "" "" "$X_BYTES" "$(pct "$X_BYTES" "$V2_BYTES")" "$X_T"
rule
echo "  growth ratios: gadn/git-lfs $(ratio "$g_growth" "$l_growth" 4), gadn/xdelta3 $(ratio "$g_growth" "$X_BYTES")"
echo "  v2 commit time ratio gadn/git-lfs $(ratio "$g_t2" "$l_t2") (lower is better); gadn logical_bytes $(median "${G_LOG[@]}")"
echo "  gadn growth identical in every round: $deterministic; fsck (round 1): $fsck_ok"
[[ -s "$RUN_DIR/gadn-stats.json" ]] && echo "  gadn stats after v2 (round 1): $(tr -d '\n' <"$RUN_DIR/gadn-stats.json")"
echo
echo "requirements:"
req dedup_growth_pct "gadn store growth, % of file size" "$(pct "$g_growth" "$V2_BYTES")" "<" 2
[[ "$fsck_ok" == ok ]] || REQ_FAILED=1

json_add v2_size "$V2_BYTES"
json_add gadn_stored_v1 "$(json_arr "${G_S1[@]}")"
json_add gadn_stored_v2 "$(json_arr "${G_S2[@]}")"
json_add gadn_growth_bytes "$g_growth"
json_add gadn_growth_pct "$(pct "$g_growth" "$V2_BYTES")"
json_add gadn_dir_growth_bytes "$g_dgrowth"
json_add gadn_growth_deterministic "$deterministic"
json_add gadn_v2_commit_s "$(json_arr "${G_T2[@]}")"
json_add lfs_growth_bytes "$l_growth"
json_add lfs_v2_commit_s "$(json_arr "${L_T2[@]}")"
json_add xdelta3_bytes "$X_BYTES"
json_add xdelta3_s "$X_T"
json_add ratio_growth_gadn_vs_lfs "$(ratio "$g_growth" "$l_growth" 4)"
json_add ratio_growth_gadn_vs_xdelta3 "$(ratio "$g_growth" "$X_BYTES")"
json_add gadn_fsck "$fsck_ok"
bench_finish
