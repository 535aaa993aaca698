# shellcheck shell=bash disable=SC2034
# Shared helpers for the gadn benchmark scripts in tools/. Source it; don't run it.
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   bench_start NAME TIMEOUT_SECONDS "$@"   # re-execs under `timeout`, makes $RUN_DIR, traps cleanup
#
# Environment understood by every script:
#   BENCH_TMP      scratch root (default /tmp/gadn-bench); runs use $BENCH_TMP/NAME.XXXXXX,
#                  generated inputs are cached in $BENCH_TMP/cache and reused
#   GADN           gadn binary (default target/release/gadn, built with cargo if missing)
#   ROUNDS         interleaved repetitions (default 3; medians are reported)
#   BENCH_TIMEOUT  hard bound on the whole script's runtime, seconds
#   BENCH_KEEP=1   keep the run directory (for debugging)
#   BENCH_JSON_OUT also append the final JSON line to this file
#
# Exit status of the scripts: 0 all requirements met (or skipped), 3 a requirement
# failed, anything else: the benchmark itself failed.

set -euo pipefail
shopt -s inherit_errexit 2>/dev/null || true

TOOLS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$TOOLS_DIR/.." && pwd)"
BENCH_TMP="${BENCH_TMP:-/tmp/gadn-bench}"
CACHE_DIR="$BENCH_TMP/cache"
ROUNDS="${ROUNDS:-3}"
RUN_DIR=""
BENCH_NAME=""
REQ_FAILED=0
JSON_FIELDS=()
TIMEFMT_BIN="/usr/bin/time"

log() { printf '[%s %s] %s\n' "${BENCH_NAME:-bench}" "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[%s] error: %s\n' "${BENCH_NAME:-bench}" "$*" >&2; exit 2; }

# ---------------------------------------------------------------- lifecycle

# bench_start NAME TIMEOUT_SECONDS "$@": bound the runtime (re-exec of the calling script
# under coreutils timeout, which signals the whole process group), create the run dir
# and install the cleanup trap.
bench_start() {
	local name="$1" secs="$2"
	shift 2
	BENCH_NAME="$name"
	secs="${BENCH_TIMEOUT:-$secs}"
	if [[ -z "${_GADN_BENCH_BOUNDED:-}" ]]; then
		export _GADN_BENCH_BOUNDED=1
		# timeout runs the script in its own process group and signals the whole group;
		# INT/TERM sent to us are forwarded (a background job does not see the tty's ^C).
		local pid rc=0
		timeout -k 30 "$secs" bash "$0" "$@" &
		pid=$!
		trap 'kill -TERM "$pid" 2>/dev/null || true' INT TERM
		while :; do
			rc=0
			wait "$pid" || rc=$?
			kill -0 "$pid" 2>/dev/null || break
		done
		if ((rc == 124 || rc == 137)); then
			printf '[%s] error: timed out after %ss (set BENCH_TIMEOUT to allow more)\n' "$name" "$secs" >&2
		fi
		exit "$rc"
	fi
	[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, got '$ROUNDS'"
	mkdir -p "$BENCH_TMP" "$CACHE_DIR"
	RUN_DIR="$(mktemp -d "$BENCH_TMP/$name.XXXXXX")"
	trap bench_cleanup EXIT
	trap 'log "interrupted"; exit 130' INT
	trap 'log "terminated (timeout?)"; exit 143' TERM
	need_cmd "$TIMEFMT_BIN" time
	need_cmd python3 python3
	git_env
	gadn_env
}

# gadn's side of the same: an identity for its commits (a fresh machine has none, and
# gadn records no made-up one), its own home (no user config or key leaks in), and no
# background preview process racing the next measurement.
gadn_env() {
	export GADN_AUTHOR_NAME="${GADN_AUTHOR_NAME:-gadn bench}"
	export GADN_AUTHOR_EMAIL="${GADN_AUTHOR_EMAIL:-bench@gadn.invalid}"
	export GADN_HOME="${GADN_BENCH_HOME:-$RUN_DIR/gadn-home}"
	export GADN_PREVIEW_ON_COMMIT="${GADN_PREVIEW_ON_COMMIT:-off}"
}

bench_cleanup() {
	local rc=$?
	if [[ -n "$RUN_DIR" && -d "$RUN_DIR" ]]; then
		if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
			log "keeping $RUN_DIR"
		else
			chmod -R u+w "$RUN_DIR" 2>/dev/null || true
			rm -rf -- "$RUN_DIR"
		fi
	fi
	# remove half-written cache entries
	rm -f -- "$CACHE_DIR"/*.partial 2>/dev/null || true
	return "$rc"
}

# need_cmd CMD [DEBIAN_PACKAGE]
need_cmd() {
	command -v "$1" >/dev/null 2>&1 || die "'$1' not found${2:+ (apt-get install $2)}"
}

# Isolated, reproducible git configuration: no system/global config, no background
# gc/maintenance (it would run detached during the next measurement).
git_env() {
	need_cmd git git
	local cfg="$RUN_DIR/gitconfig"
	cat >"$cfg" <<-'EOF'
		[user]
			name = gadn bench
			email = bench@gadn.invalid
		[init]
			defaultBranch = main
		[gc]
			auto = 0
		[maintenance]
			auto = false
		[core]
			autocrlf = false
		[advice]
			detachedHead = false
	EOF
	export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL="$cfg"
	export GIT_AUTHOR_DATE="2024-01-01T00:00:00Z" GIT_COMMITTER_DATE="2024-01-01T00:00:00Z"
	export GIT_TERMINAL_PROMPT=0 GIT_LFS_SKIP_PUSH=1
}

need_lfs() {
	git lfs version >/dev/null 2>&1 || die "git-lfs not found (apt-get install git-lfs)"
}

# lfs_repo DIR PATTERN: fresh git repo with LFS installed locally and PATTERN tracked
# (.gitattributes committed, so the measured commit only carries the asset).
lfs_repo() {
	local dir="$1" pattern="$2"
	mkdir -p "$dir"
	git -C "$dir" init -q
	(cd "$dir" && git lfs install --local >/dev/null && git lfs track "$pattern" >/dev/null)
	git -C "$dir" add .gitattributes
	git -C "$dir" commit -qm "track $pattern"
}

# lfs_store_bytes DIR: bytes of LFS objects in DIR/.git/lfs/objects
lfs_store_bytes() {
	dir_bytes "$1/.git/lfs/objects"
}

# dir_bytes DIR: apparent size of all regular files below DIR (0 if missing)
dir_bytes() {
	if [[ -d "$1" ]]; then
		find "$1" -type f -printf '%s\n' | awk '{s+=$1} END{printf "%.0f\n", s}'
	else
		echo 0
	fi
}

# ---------------------------------------------------------------- gadn binary

# gadn_bin: sets GADN to an absolute path of a runnable gadn; builds it if missing.
gadn_bin() {
	local g="${GADN:-target/release/gadn}"
	[[ "$g" == /* ]] || g="$REPO_ROOT/$g"
	if [[ -n "${GADN:-}" ]]; then
		[[ -x "$g" ]] || die "GADN=$GADN is not an executable"
	else
		# Always (a no-op when up to date): a stale binary would measure old code.
		need_cmd cargo cargo
		log "building gadn: cargo build --release"
		(cd "$REPO_ROOT" && cargo build --release --quiet) >&2 || die "cargo build --release failed"
		[[ -x "$g" ]] || die "cargo build succeeded but $g does not exist"
	fi
	"$g" --help >/dev/null 2>&1 || die "$g --help fails; is the binary complete?"
	GADN="$g"
}

# gadn_has_cmd SUBCOMMAND: does this gadn know SUBCOMMAND?
gadn_has_cmd() {
	"$GADN" "$1" --help >/dev/null 2>&1
}

# gadn_stat JSON_KEY DIR: one numeric field of `gadn stats --json`
gadn_stat() {
	local key="$1" dir="$2" out
	out="$("$GADN" -C "$dir" stats --json)" || die "gadn stats --json failed in $dir"
	json_get "$key" <<<"$out"
}

# json_get KEY < JSON: print a top-level field (numbers as-is, missing -> empty)
json_get() {
	python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
v = d.get(sys.argv[1], "")
print(json.dumps(v) if isinstance(v, (dict, list)) else v)' "$1"
}

# ---------------------------------------------------------------- inputs

# size_bytes 2G -> 2147483648 (binary suffixes K M G T, optional iB/B)
size_bytes() {
	local s="${1%[bB]}"
	s="${s%[iI]}"
	[[ "$s" =~ ^[0-9]+(\.[0-9]+)?[kKmMgGtT]?$ ]] || die "bad size '$1' (use e.g. 512M, 2G, 10G)"
	numfmt --from=iec "${s^^}"
}

# human BYTES -> "2.0GiB"
human() { numfmt --to=iec-i --suffix=B --format='%.1f' "$1"; }

# disk_free DIR: available bytes on DIR's filesystem
disk_free() { df -B1 --output=avail "$1" | tail -1 | tr -d ' '; }

# cached_mixed SIZE_BYTES SEED: path of the gen-mixed.py file, generated once
cached_mixed() {
	local bytes="$1" seed="$2" f
	f="$CACHE_DIR/mixed-$bytes-s$seed.bin"
	if [[ ! -f "$f" ]]; then
		log "generating $(human "$bytes") mixed file (seed $seed) -> $f"
		python3 "$TOOLS_DIR/gen-mixed.py" --size "$bytes" --seed "$seed" "$f.partial"
		mv -f -- "$f.partial" "$f"
	fi
	echo "$f"
}

# cached_edit SRC SEED: the --edit version of SRC, generated once
cached_edit() {
	local src="$1" seed="$2" f
	f="${src%.bin}-edit$seed.bin"
	if [[ ! -f "$f" || "$f" -ot "$src" ]]; then
		log "generating edited version of $(basename "$src") -> $f"
		python3 "$TOOLS_DIR/gen-mixed.py" --edit "$src" "$f.partial" --seed "$seed"
		mv -f -- "$f.partial" "$f"
	fi
	echo "$f"
}

# warm FILE...: pull files into the page cache
warm() { cat -- "$@" >/dev/null; }

# place SRC DST: put SRC at DST without copying (hard link; copy if links fail)
place() { ln -f -- "$1" "$2" 2>/dev/null || cp -f -- "$1" "$2"; }

# file_sig FILE: size and mtime, to detect a tool writing through a hard link
file_sig() { stat -c '%s %Y' -- "$1"; }

# ---------------------------------------------------------------- timing

# timed LABEL CMD...: run CMD, set T_WALL (seconds, ns clock) and T_RSS_KIB (peak RSS
# of the largest process in the command's tree, from GNU time). Output goes to
# $RUN_DIR/LABEL.log; on failure its tail is shown and the script stops.
T_WALL=0
T_RSS_KIB=0
timed() {
	local label="$1" tf lf t0 t1 rc=0
	shift
	tf="$RUN_DIR/$label.time"
	lf="$RUN_DIR/$label.log"
	t0=$(date +%s%N)
	"$TIMEFMT_BIN" -f '%e %M' -o "$tf" -- "$@" >"$lf" 2>&1 || rc=$?
	t1=$(date +%s%N)
	if ((rc != 0)); then
		log "command failed (exit $rc): $*"
		tail -n 20 "$lf" >&2 || true
		exit 2
	fi
	T_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", (b-a)/1e9}')
	T_RSS_KIB=$(awk 'END{print $2}' "$tf")
}

# median NUM...: median of the arguments
median() {
	printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{
		if (NR == 0) { print "nan"; exit }
		m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2
		if (m == int(m)) printf "%.0f\n", m; else printf "%.4f\n", m }'
}

# max NUM...
max() { printf '%s\n' "$@" | sort -g | tail -1; }

# ratio A B [DECIMALS]: A/B
ratio() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN{ if (b == 0) print "inf"; else printf "%.*f\n", d, a/b }'; }

# mbps BYTES SECONDS: throughput in MB/s (10^6 bytes)
mbps() { awk -v n="$1" -v s="$2" 'BEGIN{ if (s == 0) print "inf"; else printf "%.1f\n", n/1e6/s }'; }

# pct PART WHOLE: percentage with 3 decimals
pct() { awk -v a="$1" -v b="$2" 'BEGIN{ printf "%.3f\n", 100*a/b }'; }

# kib_to_mib KIB
kib_to_mib() { awk -v k="$1" 'BEGIN{ printf "%.1f\n", k/1024 }'; }

# order_for_round R A B [C...]: the tools, rotated by round so each one goes first in turn
order_for_round() {
	local r="$1"
	shift
	local n=$# i
	local -a t=("$@")
	for ((i = 0; i < n; i++)); do
		printf '%s\n' "${t[$(((i + r - 1) % n))]}"
	done
}

# hf_medians JSON_OUT CMD_A CMD_B: hyperfine both (no shell, --warmup 2 --runs 10 unless
# HF_ARGS says otherwise); prints "median_a median_b" in seconds.
hf_medians() {
	local out="$1" a="$2" b="$3"
	# shellcheck disable=SC2086
	hyperfine -N ${HF_ARGS:---warmup 2 --runs 10} --style none --export-json "$out" "$a" "$b" >"$out.log" 2>&1 || {
		log "hyperfine failed:"
		tail -n 20 "$out.log" >&2
		exit 2
	}
	python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"]
print(r[0]["median"], r[1]["median"])' "$out"
}

# ---------------------------------------------------------------- reporting

# req KEY DESCRIPTION VALUE OP LIMIT: record (JSON field req_KEY) and print a requirement
# check; OP is one of < <= > >=
req() {
	local key="$1" name="$2" value="$3" op="$4" limit="$5" ok verdict
	ok=$(awk -v v="$value" -v l="$limit" -v op="$op" 'BEGIN{
		if (v == "inf" || v == "nan" || v == "") { print (v == "inf" && (op == ">" || op == ">=")) ? 1 : 0; exit }
		if (op == "<") r = v < l; else if (op == "<=") r = v <= l;
		else if (op == ">") r = v > l; else r = v >= l; print r+0 }')
	verdict=FAIL
	[[ "$ok" == 1 ]] && verdict=PASS
	[[ "$ok" == 1 ]] || REQ_FAILED=1
	printf '  %-50s %10s %-2s %-8s %s\n' "$name" "$value" "$op" "$limit" "$verdict"
	json_add "req_$key" "${verdict,,}"
}

# row COLS...: one line of the final table (first column wide)
row() {
	local first="$1"
	shift
	printf '  %-30s' "$first"
	printf ' %14s' "$@"
	printf '\n'
}
rule() { printf '  %s\n' "$(printf '%.0s-' {1..90})"; }

# json_add KEY VALUE: numbers, true/false/null and [..]/{..} go in raw, the rest quoted
json_add() {
	local k="$1" v="$2"
	if [[ "$v" =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ || "$v" =~ ^(true|false|null)$ || "$v" =~ ^\[.*\]$ || "$v" =~ ^\{.*\}$ ]]; then
		JSON_FIELDS+=("\"$k\":$v")
	else
		v="${v//\\/\\\\}"
		v="${v//\"/\\\"}"
		JSON_FIELDS+=("\"$k\":\"$v\"")
	fi
}

# json_arr NUM...: [a,b,c]
json_arr() {
	local IFS=,
	echo "[$*]"
}

# json_emit: print the one-line JSON summary (last line of output)
json_emit() {
	local IFS=,
	local line
	line="{\"bench\":\"$BENCH_NAME\",\"host\":\"$(hostname)\",\"cores\":$(nproc),\"date\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",\"rounds\":$ROUNDS,${JSON_FIELDS[*]}}"
	# validate before printing
	python3 -c 'import json,sys; json.loads(sys.argv[1])' "$line" || die "internal: invalid JSON summary: $line"
	echo "$line"
	if [[ -n "${BENCH_JSON_OUT:-}" ]]; then echo "$line" >>"$BENCH_JSON_OUT"; fi
}

# bench_finish: emit JSON and exit with 3 if a requirement failed
bench_finish() {
	json_add requirements_met "$([[ $REQ_FAILED == 0 ]] && echo true || echo false)"
	json_emit
	if ((REQ_FAILED)); then exit 3; fi
	exit 0
}

# bench_skip REASON: print a message and a JSON line marking the benchmark skipped
bench_skip() {
	log "SKIPPED: $1"
	echo "SKIPPED: $1"
	json_add skipped true
	json_add skip_reason "$1"
	json_emit
	exit 0
}

# ---------------------------------------------------------------- network benchmarks
# Shared by bench-sync.sh and bench-swarm.sh (which declare BG_PIDS and NETNS_MADE).

# need_pkg CMD PACKAGE: install PACKAGE with apt-get when CMD is missing (as root).
need_pkg() {
	command -v "$1" >/dev/null 2>&1 && return 0
	if ((EUID != 0)) || ! command -v apt-get >/dev/null 2>&1; then
		die "'$1' not found (apt-get install $2, as root)"
	fi
	log "installing $2 (for $1)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q --no-install-recommends "$2" >&2 ||
		{ apt-get update -q >&2 && apt-get install -y -q --no-install-recommends "$2" >&2; } ||
		die "apt-get install $2 failed"
	command -v "$1" >/dev/null 2>&1 || die "'$1' still missing after installing $2"
}

gib() { echo $((($1 + (1 << 30) - 1) >> 30)); }

# alive PID: the process exists and is not a zombie
alive() {
	local st
	st="$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" || return 1
	[[ -n "$st" && "$st" != Z ]]
}

# bg_start NS OUT ERR CMD...: CMD in the background (inside netns NS unless empty); BG_PID
# is CMD's own pid (bash and `ip netns exec` exec it, no wrapper process).
bg_start() {
	local ns="$1" out="$2" err="$3"
	shift 3
	# exist before the child opens them: callers poll OUT right away
	: >"$out"
	: >"$err"
	if [[ -n "$ns" ]]; then
		ip netns exec "$ns" "$@" >"$out" 2>"$err" &
	else
		"$@" >"$out" 2>"$err" &
	fi
	BG_PID=$!
	BG_PIDS+=("$BG_PID")
}

netns_teardown() {
	local ns
	for ns in "${NETNS_MADE[@]}"; do
		ip netns del "$ns" 2>/dev/null || log "warning: could not delete network namespace $ns"
	done
	NETNS_MADE=()
}

# vmhwm_kib PID: peak resident set size of a running process, KiB
vmhwm_kib() { awk '/^VmHWM:/{print $2}' "/proc/$1/status"; }

# start_nginx NS IP PORT LABEL ROOT: nginx (sendfile, one worker) serving ROOT on IP:PORT,
# inside NS unless empty, its own prefix under the run dir; waits until it answers
NGINX_PID=""
start_nginx() {
	local ns="$1" ip="$2" port="$3" label="$4" root="$5" i
	local prefix="$RUN_DIR/$label"
	local -a nsx=()
	[[ -n "$ns" ]] && nsx=(ip netns exec "$ns")
	mkdir -p "$prefix/tmp"
	{
		# workers must read files under the 0700 run dir
		((EUID == 0)) && echo "user root;"
		cat <<-EOF
			daemon off;
			worker_processes 1;
			pid $prefix/nginx.pid;
			error_log $prefix/error.log warn;
			events { worker_connections 64; }
			http {
				access_log off;
				sendfile on;
				tcp_nopush on;
				default_type application/octet-stream;
				client_body_temp_path $prefix/tmp/body;
				proxy_temp_path $prefix/tmp/proxy;
				fastcgi_temp_path $prefix/tmp/fastcgi;
				uwsgi_temp_path $prefix/tmp/uwsgi;
				scgi_temp_path $prefix/tmp/scgi;
				server {
					listen $ip:$port;
					root $root;
				}
			}
		EOF
	} >"$prefix/nginx.conf"
	bg_start "$ns" "$prefix/stdout" "$prefix/stderr" nginx -p "$prefix/" -c "$prefix/nginx.conf" -e "$prefix/error.log"
	NGINX_PID="$BG_PID"
	for ((i = 0; i < 100; i++)); do
		"${nsx[@]}" curl -sS --noproxy '*' --fail --max-time 2 -r 0-0 -o /dev/null "http://$ip:$port/asset.bin" 2>/dev/null && return 0
		alive "$NGINX_PID" || break
		sleep 0.1
	done
	tail -n 20 "$prefix/stderr" "$prefix/error.log" >&2 2>/dev/null || true
	die "nginx ($label) did not come up on $ip:$port"
}

# cached_random BYTES: path of a cached file of BYTES random bytes
cached_random() {
	local bytes="$1" f
	f="$CACHE_DIR/random-$bytes.bin"
	if [[ ! -f "$f" || "$(stat -c %s "$f")" != "$bytes" ]]; then
		log "generating $(human "$bytes") of random bytes -> $f"
		head -c "$bytes" /dev/urandom >"$f.partial"
		mv -f -- "$f.partial" "$f"
	fi
	echo "$f"
}
