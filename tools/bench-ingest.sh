#!/usr/bin/env bash
# Ingest throughput of one big mixed file: gadn vs git-lfs, side by side in one run.
#
#   tools/bench-ingest.sh [SIZE]        SIZE default 2G (also SIZE=10G env); ROUNDS default 3
#
# Per round, in rotating order (fresh repositories every time, input in page cache):
#   gadn      `gadn init R && gadn -C R add asset.bin && gadn -C R commit -m x`, timed as a whole
#   lfs-add   `git add asset.bin && git commit -qm x` in a repo prepared with
#             `git lfs install --local` + `git lfs track '*.bin'` (setup untimed): git runs
#             git-lfs as its long-running filter process, exactly what a user's `git add` does
#   lfs-clean `git lfs clean -- asset.bin < asset.bin > /dev/null` in such a repo: the clean
#             filter alone (hash + copy into .git/lfs/objects), no git overhead
# Reported: MB/s (10^6 bytes/s) from median wall times, ratios gadn/peer, peak RSS of
# gadn (max over rounds). Requirements: gadn >= 1.5x git-lfs (checked against both
# git-lfs variants), gadn peak RSS < 200 MiB.
# BENCH_SYNC=1 appends `sync` inside every timed command (durable-write comparison).
# shellcheck source=tools/lib.sh disable=SC2317,SC2016
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SIZE_ARG="${1:-${SIZE:-2G}}"
BYTES="$(size_bytes "$SIZE_ARG")"
GIB=$(((BYTES + (1 << 30) - 1) >> 30))
bench_start ingest $((900 + GIB * 400)) "$@"
need_lfs

json_add size "$BYTES"

# --- disk space: the input plus one gadn store plus one LFS copy live at once (3x SIZE)
free=$(disk_free "$BENCH_TMP")
input="$CACHE_DIR/mixed-$BYTES-s1.bin"
have_input=0
[[ -f "$input" ]] && have_input=$BYTES
if ((free + have_input < 3 * BYTES)); then
	bench_skip "needs 3x$SIZE_ARG = $(human $((3 * BYTES))) free in $BENCH_TMP, have $(human "$free") (+$(human "$have_input") cached input)"
fi

gadn_bin
input="$(cached_mixed "$BYTES" 1)"
sig="$(file_sig "$input")"
log "warming page cache"
warm "$input"

SYNC_SUFFIX=""
[[ "${BENCH_SYNC:-0}" == 1 ]] && SYNC_SUFFIX=" && sync"
json_add sync_in_timing "$([[ -n $SYNC_SUFFIX ]] && echo true || echo false)"

declare -a W_gadn=() W_add=() W_clean=() RSS_gadn=() RSS_add=() RSS_clean=() STORED_gadn=()
fsck_ok="not run"

run_gadn() {
	local r="$1" repo="$RUN_DIR/gadn-$1"
	mkdir -p "$repo"
	place "$input" "$repo/asset.bin"
	# shellcheck disable=SC2016
	timed "gadn-$r" bash -c '"$1" init "$2" && "$1" -C "$2" add asset.bin && "$1" -C "$2" commit -m x'"$SYNC_SUFFIX" _ "$GADN" "$repo"
	W_gadn+=("$T_WALL")
	RSS_gadn+=("$T_RSS_KIB")
	STORED_gadn+=("$(gadn_stat stored_bytes "$repo")")
	if ((r == 1)); then
		if "$GADN" -C "$repo" fsck >"$RUN_DIR/fsck.log" 2>&1; then fsck_ok=ok; else
			fsck_ok="FAILED"
			log "gadn fsck failed:"
			tail -n 20 "$RUN_DIR/fsck.log" >&2
		fi
	fi
	log "round $r gadn: ${T_WALL}s, $(kib_to_mib "$T_RSS_KIB") MiB peak, stored $(human "${STORED_gadn[-1]}")"
	rm -rf -- "$repo"
}

check_lfs_object() {
	local repo="$1" n
	n=$(find "$repo/.git/lfs/objects" -type f -size "${BYTES}c" 2>/dev/null | wc -l)
	((n == 1)) || die "git-lfs did not store a $BYTES-byte object in $repo/.git/lfs/objects"
}

run_lfs_add() {
	local r="$1" repo="$RUN_DIR/lfs-add-$1"
	lfs_repo "$repo" '*.bin'
	place "$input" "$repo/asset.bin"
	# shellcheck disable=SC2016
	timed "lfs-add-$r" bash -c 'cd "$1" && git add asset.bin && git commit -qm x'"$SYNC_SUFFIX" _ "$repo"
	W_add+=("$T_WALL")
	RSS_add+=("$T_RSS_KIB")
	check_lfs_object "$repo"
	log "round $r git-lfs add+commit: ${T_WALL}s, $(kib_to_mib "$T_RSS_KIB") MiB peak"
	rm -rf -- "$repo"
}

run_lfs_clean() {
	local r="$1" repo="$RUN_DIR/lfs-clean-$1"
	lfs_repo "$repo" '*.bin'
	place "$input" "$repo/asset.bin"
	# shellcheck disable=SC2016
	timed "lfs-clean-$r" bash -c 'cd "$1" && git lfs clean -- asset.bin < asset.bin > /dev/null'"$SYNC_SUFFIX" _ "$repo"
	W_clean+=("$T_WALL")
	RSS_clean+=("$T_RSS_KIB")
	check_lfs_object "$repo"
	log "round $r git-lfs clean: ${T_WALL}s, $(kib_to_mib "$T_RSS_KIB") MiB peak"
	rm -rf -- "$repo"
}

for ((r = 1; r <= ROUNDS; r++)); do
	while read -r tool; do
		"run_$tool" "$r"
		sync # flush this run's dirty pages before the next one is timed
		[[ "$(file_sig "$input")" == "$sig" ]] || die "input $input changed during the run (written through a hard link?)"
	done < <(order_for_round "$r" gadn lfs_add lfs_clean)
done

w_gadn=$(median "${W_gadn[@]}")
w_add=$(median "${W_add[@]}")
w_clean=$(median "${W_clean[@]}")
t_gadn=$(mbps "$BYTES" "$w_gadn")
t_add=$(mbps "$BYTES" "$w_add")
t_clean=$(mbps "$BYTES" "$w_clean")
rss_gadn=$(max "${RSS_gadn[@]}")
r_add=$(ratio "$t_gadn" "$t_add")
r_clean=$(ratio "$t_gadn" "$t_clean")
stored=$(median "${STORED_gadn[@]}")

echo
echo "ingest of a $(human "$BYTES") mixed file ($BYTES bytes), $ROUNDS interleaved rounds, medians"
row "" "wall s" "MB/s" "peak RSS MiB" "gadn / this"
rule
row "gadn init+add+commit" "$w_gadn" "$t_gadn" "$(kib_to_mib "$rss_gadn")" "1.00"
row "git-lfs: git add+commit" "$w_add" "$t_add" "$(kib_to_mib "$(max "${RSS_add[@]}")")" "$r_add"
row "git-lfs: git lfs clean" "$w_clean" "$t_clean" "$(kib_to_mib "$(max "${RSS_clean[@]}")")" "$r_clean"
rule
echo "  gadn stored_bytes $stored ($(pct "$stored" "$BYTES")% of input), fsck (round 1): $fsck_ok"
echo "  per-round wall s: gadn ${W_gadn[*]} | lfs add ${W_add[*]} | lfs clean ${W_clean[*]}"
echo
echo "requirements:"
req ingest_vs_lfs_add "throughput gadn / git-lfs (git add+commit)" "$r_add" ">=" 1.5
req ingest_vs_lfs_clean "throughput gadn / git-lfs (git lfs clean)" "$r_clean" ">=" 1.5
req gadn_peak_rss "gadn peak RSS MiB (max of rounds)" "$(kib_to_mib "$rss_gadn")" "<" 200
[[ "$fsck_ok" == ok ]] || REQ_FAILED=1

json_add gadn_wall_s "$(json_arr "${W_gadn[@]}")"
json_add lfs_add_wall_s "$(json_arr "${W_add[@]}")"
json_add lfs_clean_wall_s "$(json_arr "${W_clean[@]}")"
json_add gadn_mbps "$t_gadn"
json_add lfs_add_mbps "$t_add"
json_add lfs_clean_mbps "$t_clean"
json_add ratio_gadn_vs_lfs_add "$r_add"
json_add ratio_gadn_vs_lfs_clean "$r_clean"
json_add gadn_peak_rss_kib "$rss_gadn"
json_add lfs_add_peak_rss_kib "$(max "${RSS_add[@]}")"
json_add lfs_clean_peak_rss_kib "$(max "${RSS_clean[@]}")"
json_add gadn_stored_bytes "$stored"
json_add gadn_fsck "$fsck_ok"
bench_finish
