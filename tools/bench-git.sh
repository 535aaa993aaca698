#!/usr/bin/env bash
# gadn inside Git vs git-lfs on the same assets, side by side in one run.
#
#   tools/bench-git.sh [SIZE]       SIZE default 1G (also SIZE=… env); ROUNDS default 3,
#                                   VERSIONS default 10
#
# Input: SIZE bytes of mixed assets, 12 files of varied types and sizes (25 % down to
# 2.5 % of SIZE each: .fbx .blend .psd .umap .wav .png .tga .exr .dds .uasset), made by
# gen-mixed.py and cached. Repositories: `git init` + `gadn git install` (its default
# patterns must cover every asset), and `git init` + `git lfs install --local` +
# `git lfs track` of the same extensions; .gitattributes committed untimed.
# Per round, in rotating order, fresh repositories, inputs in the page cache:
#   add       `git add -A && git commit -qm v0` — clean of every asset through the
#             tool's long-running filter process (`gadn git filter-process` /
#             `git lfs filter-process`)
#   checkout  all asset files deleted (untimed), then `git checkout -- .` — smudge of
#             every asset from the repository's own store; contents compared with `cmp`
#             and `git status --porcelain` required empty (untimed)
#   clone     a fresh `git clone` of that repository (a local path) with the tool
#             configured globally (`gadn git install --global` / `git lfs install`, in
#             a GIT_CONFIG_GLOBAL file of the run): git-lfs copies the LFS objects from
#             the origin with its standalone file transfer, gadn's filter copies the
#             chunks from the origin's store (verified) into the clone's new store;
#             both then smudge every asset. Verified like checkout (untimed).
# Once (not timed): VERSIONS edited versions committed on top of v0 in one more repo per
# tool; version k re-edits 3 of the 12 assets (rotating) with `gen-mixed.py --edit`
# (1 MiB inserted, 20 × 4 KiB overwritten); then the store sizes are compared:
# apparent bytes of `.git/gadn` (packs, SQLite, everything) vs `.git/lfs/objects`.
# Requirements: gadn wall time <= git-lfs for add, checkout and clone (median ratio <= 1.00),
# gadn store < git-lfs store after VERSIONS versions, and `gadn git fsck` clean then.
# shellcheck source=tools/lib.sh disable=SC2317,SC2016
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SIZE_ARG="${1:-${SIZE:-1G}}"
BYTES="$(size_bytes "$SIZE_ARG")"
GIB=$(((BYTES + (1 << 30) - 1) >> 30))
VERSIONS="${VERSIONS:-10}"
[[ "$VERSIONS" =~ ^[1-9][0-9]*$ ]] || die "VERSIONS must be a positive integer, got '$VERSIONS'"
bench_start git $((900 + GIB * 1500)) "$@"
need_lfs
need_cmd cmp diffutils

json_add size "$BYTES"
json_add versions "$VERSIONS"

# name:per-mille of SIZE (the last one takes the remainder, so the total is exact)
ASSETS=(
	scene.fbx:250 albedo.psd:150 normal.psd:150 hero.blend:100 level.umap:100
	ambience.wav:100 ui.png:25 icons.tga:25 sky.exr:25 rock.dds:25 props.uasset:25
	logo.png:25
)
NAMES=()
for a in "${ASSETS[@]}"; do NAMES+=("${a%%:*}"); done
EXTS="$(printf '%s\n' "${NAMES[@]##*.}" | sort -u | tr '\n' ' ')"
EDITS_PER_VERSION=3

# --- disk space: inputs (~1 + 2.5 × SIZE with the edited versions), per round one gadn
# store and one LFS copy plus two checked-out trees, and the version repos (git-lfs keeps
# every edited file whole): about 10 × SIZE at most
free=$(disk_free "$BENCH_TMP")
if ((free < 10 * BYTES)); then
	bench_skip "needs 10x$SIZE_ARG = $(human $((10 * BYTES))) free in $BENCH_TMP, have $(human "$free")"
fi

gadn_bin
# `gadn git install` writes a filter command that may name `gadn` through PATH.
PATH="$(dirname "$GADN"):$PATH"
export PATH
"$GADN" git install --help >/dev/null 2>&1 || die "$GADN has no 'git install'"

# --- inputs: $SET/v0/NAME, and $SET/vK/NAME for the files edited in version K
SET="$CACHE_DIR/gitset-$BYTES"
mkdir -p "$SET/v0"
left=$BYTES
for i in "${!ASSETS[@]}"; do
	name="${ASSETS[$i]%%:*}"
	pm="${ASSETS[$i]##*:}"
	if ((i == ${#ASSETS[@]} - 1)); then n=$left; else n=$((BYTES * pm / 1000)); fi
	left=$((left - n))
	f="$SET/v0/$name"
	if [[ ! -f "$f" || "$(stat -c %s "$f")" != "$n" ]]; then
		log "generating $name ($(human "$n"))"
		python3 "$TOOLS_DIR/gen-mixed.py" --size "$n" --seed $((100 + i)) "$f"
	fi
done

# edited_in K: indexes of the assets version K edits
edited_in() {
	local k="$1" j
	for ((j = 0; j < EDITS_PER_VERSION; j++)); do
		echo $((((k - 1) * EDITS_PER_VERSION + j) % ${#ASSETS[@]}))
	done
}

# CUR[i]: the newest version of asset i up to the version being built
declare -a CUR=()
for i in "${!NAMES[@]}"; do CUR[i]="$SET/v0/${NAMES[$i]}"; done
declare -A VERSION_FILES=() # "k/name" -> path
logical_versions=$BYTES     # bytes of distinct file versions (what git-lfs must keep)
for ((k = 1; k <= VERSIONS; k++)); do
	mkdir -p "$SET/v$k"
	while read -r i; do
		name="${NAMES[$i]}"
		f="$SET/v$k/$name"
		if [[ ! -f "$f" || "$f" -ot "${CUR[$i]}" ]]; then
			log "generating version $k of $name"
			python3 "$TOOLS_DIR/gen-mixed.py" --edit "${CUR[$i]}" "$f" --seed $((1000 + k))
		fi
		CUR[i]="$f"
		VERSION_FILES["$k/$name"]="$f"
		logical_versions=$((logical_versions + $(stat -c %s "$f")))
	done < <(edited_in "$k")
done

declare -A SIG=()
for f in "$SET"/v*/*; do SIG["$f"]="$(file_sig "$f")"; done
check_inputs() {
	local f
	for f in "${!SIG[@]}"; do
		[[ "$(file_sig "$f")" == "${SIG[$f]}" ]] || die "input $f changed during the run (written through a hard link?)"
	done
}

# --- repositories

# gadn_git_repo DIR: git repo with `gadn git install`, attributes committed; every asset
# name must get filter=gadn from the default patterns.
gadn_git_repo() {
	local dir="$1" name attr
	mkdir -p "$dir"
	git -C "$dir" init -q
	(cd "$dir" && "$GADN" -q git install) >"$dir.install.log" 2>&1 || {
		tail -n 20 "$dir.install.log" >&2
		die "gadn git install failed in $dir"
	}
	for name in "${NAMES[@]}"; do
		attr="$(git -C "$dir" check-attr filter -- "$name")"
		[[ "$attr" == "$name: filter: gadn" ]] || die "gadn git install's patterns do not cover $name ($attr)"
	done
	git -C "$dir" add .gitattributes
	git -C "$dir" commit -qm "gadn attributes"
}

# lfs_git_repo DIR: git repo with git-lfs tracking the same extensions.
lfs_git_repo() {
	local dir="$1" e name attr
	local -a pats=()
	for e in $EXTS; do pats+=("*.$e"); done
	mkdir -p "$dir"
	git -C "$dir" init -q
	(cd "$dir" && git lfs install --local >/dev/null && git lfs track "${pats[@]}" >/dev/null)
	for name in "${NAMES[@]}"; do
		attr="$(git -C "$dir" check-attr filter -- "$name")"
		[[ "$attr" == "$name: filter: lfs" ]] || die "git lfs track did not cover $name ($attr)"
	done
	git -C "$dir" add .gitattributes
	git -C "$dir" commit -qm "track assets"
}

new_repo() { # TOOL DIR
	case "$1" in
	gadn) gadn_git_repo "$2" ;;
	lfs) lfs_git_repo "$2" ;;
	*) die "internal: tool $1" ;;
	esac
}

place_version() { # DIR K: put version K's files (K=0: all of v0) into DIR
	local dir="$1" k="$2" name i
	if ((k == 0)); then
		for name in "${NAMES[@]}"; do place "$SET/v0/$name" "$dir/$name"; done
	else
		while read -r i; do
			name="${NAMES[$i]}"
			place "${VERSION_FILES["$k/$name"]}" "$dir/$name"
		done < <(edited_in "$k")
	fi
}

# verify_tree DIR: every asset byte-identical to v0, git status clean
verify_tree() {
	local dir="$1" name st
	for name in "${NAMES[@]}"; do
		cmp -s -- "$SET/v0/$name" "$dir/$name" || die "$dir/$name differs from the committed content after checkout"
	done
	st="$(git -C "$dir" status --porcelain)"
	[[ -z "$st" ]] || die "git status not clean after checkout in $dir: $st"
}

declare -a W_add_gadn=() W_add_lfs=() W_co_gadn=() W_co_lfs=() W_cl_gadn=() W_cl_lfs=()

# Global Git configs that install each tool for every repository (used by the clones).
GLOBAL_gadn="$RUN_DIR/gadn.gitconfig"
GLOBAL_lfs="$RUN_DIR/lfs.gitconfig"
: >"$GLOBAL_gadn"
: >"$GLOBAL_lfs"
GIT_CONFIG_GLOBAL="$GLOBAL_gadn" "$GADN" -q git install --global || die "gadn git install --global failed"
GIT_CONFIG_GLOBAL="$GLOBAL_lfs" git lfs install --skip-repo >/dev/null || die "git lfs install failed"


run_tool() { # TOOL ROUND
	local tool="$1" r="$2" repo="$RUN_DIR/$1-$2" name
	new_repo "$tool" "$repo"
	place_version "$repo" 0
	warm "$SET"/v0/*
	sync
	timed "add-$tool-$r" bash -c 'cd "$1" && git add -A && git commit -qm v0' _ "$repo"
	local w_add="$T_WALL"
	[[ -z "$(git -C "$repo" status --porcelain)" ]] || die "git status not clean after the commit in $repo"
	for name in "${NAMES[@]}"; do rm -f -- "${repo:?}/$name"; done
	sync
	timed "checkout-$tool-$r" bash -c 'cd "$1" && git checkout -- .' _ "$repo"
	local w_co="$T_WALL"
	verify_tree "$repo"
	local global_var="GLOBAL_$tool"
	sync
	timed "clone-$tool-$r" env GIT_CONFIG_GLOBAL="${!global_var}" git clone -q "$repo" "$repo-clone"
	local w_cl="$T_WALL"
	GIT_CONFIG_GLOBAL="${!global_var}" verify_tree "$repo-clone"
	eval "W_add_$tool+=(\"\$w_add\")"
	eval "W_co_$tool+=(\"\$w_co\")"
	eval "W_cl_$tool+=(\"\$w_cl\")"
	log "round $r $tool: add+commit ${w_add}s, checkout ${w_co}s, clone ${w_cl}s"
	rm -rf -- "$repo" "$repo-clone" "$repo.install.log"
	sync
}

load_start="$(cut -d' ' -f1 /proc/loadavg)"
if awk -v l="$load_start" -v c="$(nproc)" 'BEGIN{exit !(l > c / 2)}'; then
	log "warning: load average $load_start on $(nproc) cores before the timed rounds; other work will blur the figures"
fi
json_add loadavg_start "$load_start"

for ((r = 1; r <= ROUNDS; r++)); do
	while read -r tool; do
		run_tool "$tool" "$r"
		check_inputs
	done < <(order_for_round "$r" gadn lfs)
done

# --- store size after VERSIONS edited versions
declare -A STORE=() W_VERS=()
versions_tool() { # TOOL
	local tool="$1" repo="$RUN_DIR/$1-versions" k t0 t1
	new_repo "$tool" "$repo"
	place_version "$repo" 0
	t0=$(date +%s%N)
	(cd "$repo" && git add -A && git commit -qm v0) >"$repo.log" 2>&1 || die "$tool: commit v0 failed"
	for ((k = 1; k <= VERSIONS; k++)); do
		place_version "$repo" "$k"
		(cd "$repo" && git add -A && git commit -qm "v$k") >>"$repo.log" 2>&1 || die "$tool: commit v$k failed"
	done
	t1=$(date +%s%N)
	[[ "$(git -C "$repo" rev-list --count HEAD)" == $((VERSIONS + 2)) ]] || die "$tool: expected $((VERSIONS + 2)) commits"
	[[ -z "$(git -C "$repo" status --porcelain)" ]] || die "$tool: git status not clean after v$VERSIONS"
	if [[ "$tool" == gadn ]]; then
		if "$GADN" -C "$repo" git fsck >"$repo.fsck.log" 2>&1; then fsck_ok=ok; else
			fsck_ok=FAILED
			log "gadn git fsck failed after $VERSIONS versions:"
			tail -n 20 "$repo.fsck.log" >&2
		fi
	fi
	case "$tool" in
	gadn) STORE[$tool]="$(dir_bytes "$repo/.git/gadn")" ;;
	lfs) STORE[$tool]="$(dir_bytes "$repo/.git/lfs/objects")" ;;
	esac
	W_VERS[$tool]=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", (b-a)/1e9}')
	log "$tool: $((VERSIONS + 1)) versions committed in ${W_VERS[$tool]}s, store $(human "${STORE[$tool]}")"
	rm -rf -- "$repo" "$repo.log" "$repo.install.log" "$repo.fsck.log"
	sync
}
fsck_ok="not run"
versions_tool gadn
versions_tool lfs
check_inputs

a_gadn=$(median "${W_add_gadn[@]}")
a_lfs=$(median "${W_add_lfs[@]}")
c_gadn=$(median "${W_co_gadn[@]}")
c_lfs=$(median "${W_co_lfs[@]}")
r_add=$(ratio "$a_gadn" "$a_lfs")
r_co=$(ratio "$c_gadn" "$c_lfs")
l_gadn=$(median "${W_cl_gadn[@]}")
l_lfs=$(median "${W_cl_lfs[@]}")
r_cl=$(ratio "$l_gadn" "$l_lfs")
r_store=$(ratio "${STORE[gadn]}" "${STORE[lfs]}" 3)

echo
echo "gadn vs git-lfs inside Git: ${#NAMES[@]} mixed assets, $(human "$BYTES") ($BYTES bytes), $ROUNDS interleaved rounds, medians"
row "" "gadn" "git-lfs" "gadn / git-lfs"
rule
row "git add -A + commit, s" "$a_gadn" "$a_lfs" "$r_add"
row "  MB/s" "$(mbps "$BYTES" "$a_gadn")" "$(mbps "$BYTES" "$a_lfs")" ""
row "checkout (smudge all), s" "$c_gadn" "$c_lfs" "$r_co"
row "  MB/s" "$(mbps "$BYTES" "$c_gadn")" "$(mbps "$BYTES" "$c_lfs")" ""
row "fresh git clone, s" "$l_gadn" "$l_lfs" "$r_cl"
row "  MB/s" "$(mbps "$BYTES" "$l_gadn")" "$(mbps "$BYTES" "$l_lfs")" ""
row "store after $VERSIONS versions, B" "${STORE[gadn]}" "${STORE[lfs]}" "$r_store"
row "  human" "$(human "${STORE[gadn]}")" "$(human "${STORE[lfs]}")" ""
row "$((VERSIONS + 1)) commits, s (info)" "${W_VERS[gadn]}" "${W_VERS[lfs]}" "$(ratio "${W_VERS[gadn]}" "${W_VERS[lfs]}")"
rule
echo "  gadn git fsck after $VERSIONS versions: $fsck_ok"
echo "  distinct file versions: $(human "$logical_versions") ($logical_versions bytes); $EDITS_PER_VERSION of ${#NAMES[@]} assets edited per version"
echo "  per-round wall s: add gadn ${W_add_gadn[*]} | add lfs ${W_add_lfs[*]} | checkout gadn ${W_co_gadn[*]} | checkout lfs ${W_co_lfs[*]} | clone gadn ${W_cl_gadn[*]} | clone lfs ${W_cl_lfs[*]}"
echo
echo "requirements:"
req add_vs_lfs "git add+commit time gadn / git-lfs" "$r_add" "<=" 1.00
req checkout_vs_lfs "checkout time gadn / git-lfs" "$r_co" "<=" 1.00
req clone_vs_lfs "fresh clone time gadn / git-lfs" "$r_cl" "<=" 1.00
req store_vs_lfs "store bytes gadn / git-lfs after $VERSIONS versions" "$r_store" "<" 1.000
[[ "$fsck_ok" == ok ]] || REQ_FAILED=1

json_add loadavg_end "$(cut -d' ' -f1 /proc/loadavg)"
json_add files "${#NAMES[@]}"
json_add gadn_add_wall_s "$(json_arr "${W_add_gadn[@]}")"
json_add lfs_add_wall_s "$(json_arr "${W_add_lfs[@]}")"
json_add gadn_checkout_wall_s "$(json_arr "${W_co_gadn[@]}")"
json_add lfs_checkout_wall_s "$(json_arr "${W_co_lfs[@]}")"
json_add gadn_clone_wall_s "$(json_arr "${W_cl_gadn[@]}")"
json_add lfs_clone_wall_s "$(json_arr "${W_cl_lfs[@]}")"
json_add ratio_clone "$r_cl"
json_add ratio_add "$r_add"
json_add ratio_checkout "$r_co"
json_add gadn_store_bytes "${STORE[gadn]}"
json_add lfs_store_bytes "${STORE[lfs]}"
json_add ratio_store "$r_store"
json_add logical_version_bytes "$logical_versions"
json_add gadn_fsck "$fsck_ok"
bench_finish
