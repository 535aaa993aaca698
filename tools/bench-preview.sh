#!/usr/bin/env bash
# Cost of previews at commit time: `gadn add . && gadn commit` of a fresh asset tree
# with preview.on-commit = off, background (the default) and wait, side by side in one
# run (order rotated per round), plus how long the background previews take to finish.
#
#   tools/bench-preview.sh [SCALE]     asset tree of gen-assets.py SCALE (default 1,
#                                      ~200 MB: textures, audio, meshes, blobs)
#
# Requirement (issue 6): committing with preview generation on costs at most 1.2x
# committing with it off. "On" is the default mode (background); `wait` (previews made
# before commit returns) is reported for information.
# shellcheck source=tools/lib.sh disable=SC2317,SC2016
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SCALE="${1:-${SCALE:-1}}"
[[ "$SCALE" =~ ^[1-9][0-9]*$ ]] || die "SCALE must be a positive integer"
bench_start preview $((900 * SCALE)) "$@"
gadn_bin

assets="$CACHE_DIR/assets-$SCALE"
if [[ ! -d "$assets" ]]; then
	log "generating asset tree (scale $SCALE) -> $assets"
	rm -rf -- "$assets.partial"
	python3 "$TOOLS_DIR/gen-assets.py" "$assets.partial" "$SCALE"
	mv -- "$assets.partial" "$assets"
fi
ASSET_BYTES=$(dir_bytes "$assets")
FILES=$(find "$assets" -type f | wc -l)
json_add asset_bytes "$ASSET_BYTES"
json_add files "$FILES"
log "$FILES files, $(human "$ASSET_BYTES")"
warm "$assets"/*/*

declare -a T_off=() T_background=() T_wait=() T_bgdone=()

run_mode() {
	local mode="$1" r="$2" repo="$RUN_DIR/repo-$mode"
	rm -rf -- "$repo"
	cp -a -- "$assets" "$repo"
	"$GADN" init "$repo" >/dev/null
	"$GADN" -C "$repo" config set preview.on-commit "$mode"
	timed "commit-$mode-$r" env -u GADN_PREVIEW_ON_COMMIT bash -c 'cd "$1" && "$2" -q add . && "$2" -q commit -m assets' _ "$repo" "$GADN"
	local t="$T_WALL"
	case "$mode" in
	off) T_off+=("$t") ;;
	background)
		T_background+=("$t")
		# `preview --all` waits for the background batch (one at a time), then finds
		# everything made: the time until previews are ready.
		local t0 t1
		t0=$(date +%s%N)
		"$GADN" -C "$repo" -q preview --all >/dev/null
		t1=$(date +%s%N)
		T_bgdone+=("$(awk -v a="$t0" -v b="$t1" -v c="$t" 'BEGIN{printf "%.3f", c + (b-a)/1e9}')")
		;;
	wait) T_wait+=("$t") ;;
	esac
	log "round $r $mode: commit ${t}s"
	rm -rf -- "$repo"
}

for ((r = 1; r <= ROUNDS; r++)); do
	while read -r mode; do run_mode "$mode" "$r"; done < <(order_for_round "$r" off background wait)
done

m_off=$(median "${T_off[@]}")
m_bg=$(median "${T_background[@]}")
m_wait=$(median "${T_wait[@]}")
m_done=$(median "${T_bgdone[@]}")
echo
echo "Commit of $FILES asset files ($(human "$ASSET_BYTES")), median of $ROUNDS rounds:"
rule
row "mode" "commit s" "x off"
rule
row "off" "$m_off" "1.00"
row "background (default)" "$m_bg" "$(ratio "$m_bg" "$m_off")"
row "  previews ready after" "$m_done" "$(ratio "$m_done" "$m_off")"
row "wait" "$m_wait" "$(ratio "$m_wait" "$m_off")"
rule
json_add commit_off_s "$m_off"
json_add commit_background_s "$m_bg"
json_add previews_ready_s "$m_done"
json_add commit_wait_s "$m_wait"
req commit_ratio "commit with previews (background) / off" "$(ratio "$m_bg" "$m_off")" "<=" 1.2
bench_finish
