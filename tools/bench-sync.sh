#!/usr/bin/env bash
# Sync throughput: `gadn clone` from `gadn serve` vs `curl` from nginx (sendfile), side by
# side in one run, plus the memory of both gadn ends while moving a big file.
#
#   sudo tools/bench-sync.sh        sizes by env: SIZE_A (default 1G), SIZE_B (2G),
#                                   MEM_SIZE (10G); ROUNDS default 3; WARMUP (untimed
#                                   rounds first, default 1); DROP_CACHES (empty
#                                   the page cache first, default 1); PARTS default abc
#
# Runs as root: part (a) makes network namespaces and shapes a link; missing tools
# (nginx, iproute2, curl, GNU time) are installed with apt-get. Inputs are random,
# incompressible files (`head -c N /dev/urandom`, cached for (a) and (b)). The server is
# `gadn init` + `gadn add .` + `gadn commit` of the asset, with the client's key added as
# a member (`gadn peer add client KEY`); `gadn serve --no-lan` serves it. nginx (a config
# and prefix of the run's own, `sendfile on`, one worker) serves the same file. Both run
# for the whole part; each round, in rotating order, times end to end (what a user waits
# for; outputs land on the same filesystem; `sync` before each):
#   gadn   `gadn clone KEY@ADDR:PORT DIR --json` into a fresh DIR (fetch, verify, land in
#          the store, check the file out); the file is compared with `cmp` afterwards
#   curl   `curl -o FILE http://ADDR:PORT/asset.bin`, compared with `cmp`
# and, for information, the checkout share: the cloned file deleted and written again
# from the clone's local store with `gadn restore asset.bin`.
#   (a) shaped link: two new network namespaces joined by a veth pair (10.99.0.1/24
#       server, 10.99.0.2/24 client, inside those namespaces only); the server's egress
#       shaped with `tc qdisc … tbf rate RATE_MBIT(200)mbit burst 256kbit latency 50ms`;
#       RTT_MS (default 20) of added delay, half each way, with netem when the kernel has
#       it (otherwise none, and the output says so). SIZE_A, need gadn >= 90 % of the
#       shaped rate. Skipped with a message when namespaces cannot be made.
#   (b) unshaped loopback (127.0.0.1), SIZE_B, need gadn rate >= 0.50 x curl's.
#   (c) memory: MEM_SIZE generated straight into the server's work tree, committed, then
#       deleted there (serve reads the store); one `gadn clone` over loopback; peak RSS of
#       the serve process (VmHWM) and of the clone (GNU time), need each < 512 MiB.
#       Skipped when the disk lacks 3 x MEM_SIZE + 1 GiB.
# Everything the script starts (namespaces, nginx, serve) is torn down in an EXIT trap.
# shellcheck source=tools/lib.sh disable=SC2317,SC2016
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PATH="$PATH:/usr/sbin:/sbin"
SIZE_A_ARG="${SIZE_A:-1G}"
SIZE_B_ARG="${SIZE_B:-2G}"
MEM_ARG="${MEM_SIZE:-10G}"
BYTES_A="$(size_bytes "$SIZE_A_ARG")"
BYTES_B="$(size_bytes "$SIZE_B_ARG")"
BYTES_M="$(size_bytes "$MEM_ARG")"
RATE_MBIT="${RATE_MBIT:-200}"
RTT_MS="${RTT_MS:-20}"
PARTS="${PARTS:-abc}"
RSS_LIMIT_MIB=512
WARMUP="${WARMUP:-1}"
[[ "$WARMUP" =~ ^[0-9]+$ ]] || die "WARMUP must be a non-negative integer, got '$WARMUP'"
[[ "$RATE_MBIT" =~ ^[1-9][0-9]*$ ]] || die "RATE_MBIT must be a positive integer (Mbit/s), got '$RATE_MBIT'"
[[ "$RTT_MS" =~ ^[0-9]+$ ]] || die "RTT_MS must be a non-negative integer (ms), got '$RTT_MS'"
[[ "$PARTS" =~ ^[abc]+$ ]] || die "PARTS must be letters out of 'abc', got '$PARTS'"
want() { [[ "$PARTS" == *"$1"* ]]; }

# before bench_start: it needs GNU time itself
need_pkg "$TIMEFMT_BIN" time
need_pkg curl curl
need_pkg nginx nginx
if want a; then
	need_pkg ip iproute2
	need_pkg tc iproute2
fi

A_SECS=$((BYTES_A * 8 / (RATE_MBIT * 1000000) + 1))
bound=300
want a && bound=$((bound + 120 + (ROUNDS + WARMUP) * (3 * A_SECS + 60) + $(gib "$BYTES_A") * 30))
want b && bound=$((bound + 60 + (ROUNDS + WARMUP) * $(gib "$BYTES_B") * 60))
want c && bound=$((bound + 60 + $(gib "$BYTES_M") * 120))
bench_start sync "$bound" "$@"

export GADN_AUTHOR_NAME="gadn bench"
json_add size_a "$BYTES_A"
json_add size_b "$BYTES_B"
json_add mem_size "$BYTES_M"
json_add rate_mbit "$RATE_MBIT"
json_add parts "$PARTS"

# ---------------------------------------------------------------- processes and cleanup

declare -a BG_PIDS=() NETNS_MADE=()
BG_PID=""

# stop_pid PID: TERM, up to 10 s, then KILL; reaps it
stop_pid() {
	local p="$1" i
	kill -TERM "$p" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		alive "$p" || break
		sleep 0.2
	done
	if alive "$p"; then
		log "pid $p ignored TERM for 10 s; killing it"
		kill -KILL "$p" 2>/dev/null || true
	fi
	wait "$p" 2>/dev/null || true
	local -a keep=()
	for i in "${BG_PIDS[@]}"; do [[ "$i" == "$p" ]] || keep+=("$i"); done
	BG_PIDS=("${keep[@]}")
}

sync_cleanup() {
	local p
	for p in "${BG_PIDS[@]}"; do stop_pid "$p"; done
	netns_teardown
}
trap 'sync_cleanup; bench_cleanup' EXIT

# ---------------------------------------------------------------- building blocks

gadn_bin
SRV_HOME="$RUN_DIR/home-server"
CLI_HOME="$RUN_DIR/home-client"
mkdir -p "$SRV_HOME" "$CLI_HOME"
SRV_KEY="$(GADN_HOME="$SRV_HOME" "$GADN" id 2>"$RUN_DIR/id-server.log")" || die "gadn id (server) failed"
CLI_KEY="$(GADN_HOME="$CLI_HOME" "$GADN" id 2>"$RUN_DIR/id-client.log")" || die "gadn id (client) failed"

# server_repo DIR: gadn init, `add .` + commit of whatever DIR holds, the client as member
server_repo() {
	local dir="$1"
	{
		GADN_HOME="$SRV_HOME" "$GADN" -C "$dir" init &&
			GADN_HOME="$SRV_HOME" "$GADN" -C "$dir" add . &&
			GADN_HOME="$SRV_HOME" "$GADN" -C "$dir" commit -m asset &&
			GADN_HOME="$SRV_HOME" "$GADN" -C "$dir" peer add client "$CLI_KEY"
	} >"$dir.setup.log" 2>&1 || {
		tail -n 20 "$dir.setup.log" >&2
		die "setting up the server repository $dir failed"
	}
}

# start_serve NS REPO IP LABEL: `gadn serve` on IP:0 (inside NS unless empty); sets
# SERVE_PID and SERVE_ADDR (from its "Serving … on ADDR:PORT" line)
SERVE_PID=""
SERVE_ADDR=""
start_serve() {
	local ns="$1" repo="$2" ip="$3" label="$4" i
	local out="$RUN_DIR/$label.out" err="$RUN_DIR/$label.err"
	bg_start "$ns" "$out" "$err" env GADN_HOME="$SRV_HOME" "$GADN" -C "$repo" serve --listen "$ip:0" --no-lan
	SERVE_PID="$BG_PID"
	SERVE_ADDR=""
	for ((i = 0; i < 150; i++)); do
		SERVE_ADDR="$(sed -n 's/^Serving .* on \([0-9.]*:[0-9]*\).*$/\1/p' "$out" | head -n 1)"
		[[ -n "$SERVE_ADDR" ]] && return 0
		alive "$SERVE_PID" || break
		sleep 0.2
	done
	tail -n 20 "$err" >&2 || true
	die "gadn serve ($label) did not report its address"
}

# cpu_s PID: user + system CPU seconds a running process has used so far
cpu_s() {
	sed 's/^.*) //' "/proc/$1/stat" | awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f\n", ($12 + $13) / hz}'
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# clone_json_field LABEL KEY: a field of the --json line in a timed clone's log
clone_json_field() {
	local line
	line="$(grep '^{' "$RUN_DIR/$1.log" | tail -n 1)" || die "no JSON line in $RUN_DIR/$1.log"
	json_get "$2" <<<"$line"
}

# mbit BYTES SECONDS: Mbit/s (10^6 bits)
mbit() { awk -v n="$1" -v s="$2" 'BEGIN{ if (s == 0) print "inf"; else printf "%.1f\n", n*8/1e6/s }'; }

# One part's rounds. Globals per part P: W_gadn_P W_curl_P W_co_P WIRE_P (arrays).
# run_gadn P R NSX_NAME SRC: clone, cmp, then the checkout share (info)
run_gadn() {
	local p="$1" r="$2" ns="$3" src="$4" dest="$RUN_DIR/$1-clone-$2"
	local -a nsx=()
	[[ -n "$ns" ]] && nsx=(ip netns exec "$ns")
	sync
	timed "$p-gadn-$r" "${nsx[@]}" "$TIMEFMT_BIN" -f '%U %S' -o "$RUN_DIR/$p-gadn-$r.cpu" \
		env GADN_HOME="$CLI_HOME" "$GADN" clone "$SRV_KEY@$SERVE_ADDR" "$dest" --json
	local w="$T_WALL" rss="$T_RSS_KIB" wire cpu
	wire="$(clone_json_field "$p-gadn-$r" wire_bytes)"
	cpu="$(awk 'END{printf "%.2f\n", $1 + $2}' "$RUN_DIR/$p-gadn-$r.cpu")"
	cmp -s -- "$src" "$dest/asset.bin" || die "($p) round $r: the cloned asset.bin differs from the served file"
	rm -f -- "$dest/asset.bin"
	sync
	timed "$p-restore-$r" env GADN_HOME="$CLI_HOME" "$GADN" -C "$dest" restore asset.bin
	local co="$T_WALL"
	[[ "$(stat -c %s "$dest/asset.bin")" == "$(stat -c %s "$src")" ]] || die "($p) round $r: restored asset.bin has the wrong size"
	[[ -n "$WARMING" ]] || eval "W_gadn_$p+=(\"\$w\"); W_co_$p+=(\"\$co\"); WIRE_$p+=(\"\$wire\"); RSS_$p+=(\"\$rss\"); CPU_$p+=(\"\$cpu\")"
	log "($p) round $r gadn: clone ${w}s ($(mbps "$(stat -c %s "$src")" "$w") MB/s, CPU ${cpu}s, wire $wire B, peak RSS $(kib_to_mib "$rss") MiB), restore ${co}s"
	rm -rf -- "$dest"
}

# run_curl P R NS URL SRC
run_curl() {
	local p="$1" r="$2" ns="$3" url="$4" src="$5" out="$RUN_DIR/$1-curl-$2.bin"
	local -a nsx=()
	[[ -n "$ns" ]] && nsx=(ip netns exec "$ns")
	sync
	timed "$p-curl-$r" "${nsx[@]}" curl -sS --noproxy '*' --fail -o "$out" "$url"
	local w="$T_WALL"
	cmp -s -- "$src" "$out" || die "($p) round $r: curl's file differs from the served file"
	[[ -n "$WARMING" ]] || eval "W_curl_$p+=(\"\$w\")"
	log "($p) round $r curl: ${w}s ($(mbps "$(stat -c %s "$src")" "$w") MB/s)"
	rm -f -- "$out"
}

# rounds P NS URL SRC: WARMUP untimed rounds (not counted), then ROUNDS interleaved
# rounds of gadn and curl. The warm-up matters on virtual machines: the first run after
# boot writes gigabytes into guest memory the host has never backed, and pays several
# times over for it, whichever tool happens to run first.
WARMING=""
rounds() {
	local p="$1" ns="$2" url="$3" src="$4" r tool
	WARMING=1
	for ((r = 1; r <= WARMUP; r++)); do
		run_gadn "$p" "warmup$r" "$ns" "$src"
		run_curl "$p" "warmup$r" "$ns" "$url" "$src"
	done
	WARMING=""
	for ((r = 1; r <= ROUNDS; r++)); do
		while read -r tool; do
			case "$tool" in
			gadn) run_gadn "$p" "$r" "$ns" "$src" ;;
			curl) run_curl "$p" "$r" "$ns" "$url" "$src" ;;
			esac
		done < <(order_for_round "$r" gadn curl)
	done
}

# warm_server REPO FILE: the served file and the server's store into the page cache
warm_server() {
	find "$1/.gadn" -type f -exec cat -- {} + >/dev/null
	warm "$2"
}

declare -a W_gadn_a=() W_curl_a=() W_co_a=() WIRE_a=() RSS_a=() CPU_a=()
declare -a W_gadn_b=() W_curl_b=() W_co_b=() WIRE_b=() RSS_b=() CPU_b=()
SKIP_a="" SKIP_b="" SKIP_c=""
want a || SKIP_a="not in PARTS"
want b || SKIP_b="not in PARTS"
want c || SKIP_c="not in PARTS"
SERVE_RSS_a="" SERVE_RSS_b="" SERVE_CPU_a="" SERVE_CPU_b="" RTT_ADDED=0 RTT_NOTE=""

# need_space BYTES: is there BYTES free in BENCH_TMP?
need_space() { (($(disk_free "$BENCH_TMP") >= $1)); }

# prepare_asset P BYTES: cached random input, hard-linked into a server repo and a www dir;
# sets SRC (the cached file) and SRV_REPO
prepare_asset() {
	local p="$1" bytes="$2"
	SRC="$(cached_random "$bytes")"
	SRV_REPO="$RUN_DIR/$p-server"
	mkdir -p "$SRV_REPO" "$RUN_DIR/$p-www"
	place "$SRC" "$SRV_REPO/asset.bin"
	place "$SRC" "$RUN_DIR/$p-www/asset.bin"
	log "($p) committing $(human "$bytes") in the server repository"
	server_repo "$SRV_REPO"
}

# Start from an empty page cache (DROP_CACHES=1, the default, as root): after a build
# or a test run the cache holds gigabytes, and every page either tool then writes
# first makes the kernel reclaim one. That cost is the machine's state, not the tools':
# one run here measured gadn at 0.41x curl with 15 GiB cached and 0.53x right after
# dropping it. The servers' files are read back into the cache before timing.
if [[ "${DROP_CACHES:-1}" == 1 ]] && ((EUID == 0)); then
	sync
	echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || log "warning: cannot drop the page cache"
fi
load_start="$(cut -d' ' -f1 /proc/loadavg)"
if awk -v l="$load_start" -v c="$(nproc)" 'BEGIN{exit !(l > c / 2)}'; then
	log "warning: load average $load_start on $(nproc) cores before the timed rounds; other work will blur the figures"
fi
json_add loadavg_start "$load_start"

# ---------------------------------------------------------------- (a) shaped link

NS_SRV="gadnb-srv-$$"
NS_CLI="gadnb-cli-$$"
VETH_S="gbs$$"
VETH_C="gbc$$"
SRV_IP=10.99.0.1
CLI_IP=10.99.0.2

# netns_setup: the two namespaces, the veth pair and the shaping; fails (status 1, with a
# message in $RUN_DIR/netns.log) when not permitted
netns_setup() {
	{
		ip netns add "$NS_SRV" && NETNS_MADE+=("$NS_SRV") &&
			ip netns add "$NS_CLI" && NETNS_MADE+=("$NS_CLI") &&
			ip link add "$VETH_S" netns "$NS_SRV" type veth peer name "$VETH_C" netns "$NS_CLI" &&
			ip -n "$NS_SRV" addr add "$SRV_IP/24" dev "$VETH_S" &&
			ip -n "$NS_CLI" addr add "$CLI_IP/24" dev "$VETH_C" &&
			ip -n "$NS_SRV" link set lo up &&
			ip -n "$NS_CLI" link set lo up &&
			ip -n "$NS_SRV" link set "$VETH_S" up &&
			ip -n "$NS_CLI" link set "$VETH_C" up &&
			tc -n "$NS_SRV" qdisc add dev "$VETH_S" root handle 1: tbf rate "${RATE_MBIT}mbit" burst 256kbit latency 50ms
	} >"$RUN_DIR/netns.log" 2>&1 || return 1
	if ((RTT_MS > 0)); then
		local half_us=$((RTT_MS * 500))
		if tc -n "$NS_SRV" qdisc add dev "$VETH_S" parent 1:1 handle 10: netem delay "${half_us}us" >>"$RUN_DIR/netns.log" 2>&1 &&
			tc -n "$NS_CLI" qdisc add dev "$VETH_C" root netem delay "${half_us}us" >>"$RUN_DIR/netns.log" 2>&1; then
			RTT_ADDED="$RTT_MS"
			RTT_NOTE=""
		else
			RTT_NOTE=" (RTT_MS=$RTT_MS asked, but this kernel has no netem)"
			tc -n "$NS_SRV" qdisc del dev "$VETH_S" parent 1:1 handle 10: >/dev/null 2>&1 || true
			log "warning: netem is not available in this kernel ($(tail -n 1 "$RUN_DIR/netns.log")); no delay added (RTT_MS=$RTT_MS ignored)"
		fi
	fi
	return 0
}

if want a; then
	if ! need_space $((5 * BYTES_A + (1 << 30))); then
		SKIP_a="needs 5x$SIZE_A_ARG + 1GiB free in $BENCH_TMP, have $(human "$(disk_free "$BENCH_TMP")")"
	elif ((EUID != 0)); then
		SKIP_a="not root: cannot make network namespaces"
	elif ! netns_setup; then
		SKIP_a="cannot set up network namespaces / tc shaping (no CAP_NET_ADMIN?): $(tail -n 1 "$RUN_DIR/netns.log")"
		netns_teardown
	fi
	if [[ -n "$SKIP_a" ]]; then
		log "SKIPPED part (a): $SKIP_a"
	else
		log "(a) $NS_SRV ($SRV_IP, egress tbf ${RATE_MBIT}mbit) <-> $NS_CLI ($CLI_IP), added RTT ${RTT_ADDED} ms"
		prepare_asset a "$BYTES_A"
		start_serve "$NS_SRV" "$SRV_REPO" "$SRV_IP" a-serve
		start_nginx "$NS_SRV" "$SRV_IP" 8080 a-nginx "$RUN_DIR/a-www"
		warm_server "$SRV_REPO" "$SRC"
		rounds a "$NS_CLI" "http://$SRV_IP:8080/asset.bin" "$SRC"
		SERVE_RSS_a="$(vmhwm_kib "$SERVE_PID")"
		SERVE_CPU_a="$(cpu_s "$SERVE_PID")"
		stop_pid "$SERVE_PID"
		stop_pid "$NGINX_PID"
		tc -n "$NS_SRV" -s qdisc show dev "$VETH_S" >"$RUN_DIR/a-qdisc.log" 2>&1 || true
		netns_teardown
		rm -rf -- "$SRV_REPO" "$RUN_DIR/a-www"
	fi
fi
json_add rtt_added_ms "$RTT_ADDED"

# ---------------------------------------------------------------- (b) loopback

if want b; then
	if ! need_space $((5 * BYTES_B + (1 << 30))); then
		SKIP_b="needs 5x$SIZE_B_ARG + 1GiB free in $BENCH_TMP, have $(human "$(disk_free "$BENCH_TMP")")"
		log "SKIPPED part (b): $SKIP_b"
	else
		prepare_asset b "$BYTES_B"
		start_serve "" "$SRV_REPO" 127.0.0.1 b-serve
		port="$(free_port)"
		start_nginx "" 127.0.0.1 "$port" b-nginx "$RUN_DIR/b-www"
		warm_server "$SRV_REPO" "$SRC"
		rounds b "" "http://127.0.0.1:$port/asset.bin" "$SRC"
		SERVE_RSS_b="$(vmhwm_kib "$SERVE_PID")"
		SERVE_CPU_b="$(cpu_s "$SERVE_PID")"
		stop_pid "$SERVE_PID"
		stop_pid "$NGINX_PID"
		rm -rf -- "$SRV_REPO" "$RUN_DIR/b-www"
	fi
fi

# ---------------------------------------------------------------- (c) memory

RSS_SERVE_c="" RSS_CLONE_c="" W_c=""
if want c; then
	if ! need_space $((3 * BYTES_M + (1 << 30))); then
		SKIP_c="needs 3x$MEM_ARG + 1GiB = $(human $((3 * BYTES_M + (1 << 30)))) free in $BENCH_TMP, have $(human "$(disk_free "$BENCH_TMP")")"
		log "SKIPPED part (c): $SKIP_c"
	else
		repo="$RUN_DIR/c-server"
		mkdir -p "$repo"
		log "(c) generating $(human "$BYTES_M") of random bytes in the server's work tree"
		head -c "$BYTES_M" /dev/urandom >"$repo/asset.bin"
		log "(c) committing it"
		server_repo "$repo"
		rm -f -- "$repo/asset.bin"
		start_serve "" "$repo" 127.0.0.1 c-serve
		dest="$RUN_DIR/c-clone"
		sync
		timed c-gadn env GADN_HOME="$CLI_HOME" "$GADN" clone "$SRV_KEY@$SERVE_ADDR" "$dest" --json
		W_c="$T_WALL"
		RSS_CLONE_c="$T_RSS_KIB"
		RSS_SERVE_c="$(vmhwm_kib "$SERVE_PID")"
		stop_pid "$SERVE_PID"
		[[ "$(stat -c %s "$dest/asset.bin")" == "$BYTES_M" ]] || die "(c) the cloned asset.bin has the wrong size"
		log "(c) clone ${W_c}s, serve peak RSS $(kib_to_mib "$RSS_SERVE_c") MiB, clone peak RSS $(kib_to_mib "$RSS_CLONE_c") MiB"
		rm -rf -- "$repo" "$dest"
	fi
fi

# ---------------------------------------------------------------- report

echo
echo "gadn clone vs curl from nginx (sendfile): random files, $ROUNDS interleaved rounds, medians; $(nproc) cores, load average $load_start at start, $(cut -d' ' -f1 /proc/loadavg) at end"
row "" "gadn" "curl" "gadn / curl"
rule
if [[ -z "$SKIP_a" ]]; then
	ga=$(median "${W_gadn_a[@]}")
	ca=$(median "${W_curl_a[@]}")
	ga_mbit=$(mbit "$BYTES_A" "$ga")
	ca_mbit=$(mbit "$BYTES_A" "$ca")
	r_a=$(ratio "$ca" "$ga")
	row "(a) ${RATE_MBIT} Mbit/s link, $(human "$BYTES_A"): s" "$ga" "$ca" ""
	row "  Mbit/s" "$ga_mbit" "$ca_mbit" "$r_a"
	row "  % of the shaped rate" "$(pct "$ga_mbit" "$RATE_MBIT")" "$(pct "$ca_mbit" "$RATE_MBIT")" ""
	row "  clone CPU user+sys, s" "$(median "${CPU_a[@]}")" "" ""
	row "  serve CPU per clone, s" "$(ratio "$SERVE_CPU_a" "$((ROUNDS + WARMUP))")" "" ""
	row "  checkout share (restore), s" "$(median "${W_co_a[@]}")" "" ""
	row "  wire bytes / file bytes" "$(ratio "$(median "${WIRE_a[@]}")" "$BYTES_A" 4)" "" ""
	row "  peak RSS serve, MiB" "$(kib_to_mib "$SERVE_RSS_a")" "" ""
	row "  peak RSS clone, MiB" "$(kib_to_mib "$(max "${RSS_a[@]}")")" "" ""
	json_add a_gadn_wall_s "$(json_arr "${W_gadn_a[@]}")"
	json_add a_curl_wall_s "$(json_arr "${W_curl_a[@]}")"
	json_add a_gadn_restore_s "$(json_arr "${W_co_a[@]}")"
	json_add a_gadn_clone_cpu_s "$(json_arr "${CPU_a[@]}")"
	json_add a_serve_cpu_s "$SERVE_CPU_a"
	json_add a_gadn_wire_bytes "$(json_arr "${WIRE_a[@]}")"
	json_add a_gadn_mbit "$ga_mbit"
	json_add a_curl_mbit "$ca_mbit"
	json_add a_ratio_rate "$r_a"
	json_add a_serve_rss_kib "$SERVE_RSS_a"
	json_add a_clone_rss_kib "$(max "${RSS_a[@]}")"
else
	row "(a) shaped link: skipped" "" "" ""
	json_add a_skipped "$SKIP_a"
fi
if [[ -z "$SKIP_b" ]]; then
	gb=$(median "${W_gadn_b[@]}")
	cb=$(median "${W_curl_b[@]}")
	r_b=$(ratio "$cb" "$gb")
	row "(b) loopback, $(human "$BYTES_B"): s" "$gb" "$cb" ""
	row "  MB/s" "$(mbps "$BYTES_B" "$gb")" "$(mbps "$BYTES_B" "$cb")" "$r_b"
	row "  clone CPU user+sys, s" "$(median "${CPU_b[@]}")" "" ""
	row "  serve CPU per clone, s" "$(ratio "$SERVE_CPU_b" "$((ROUNDS + WARMUP))")" "" ""
	row "  checkout share (restore), s" "$(median "${W_co_b[@]}")" "" ""
	row "  wire bytes / file bytes" "$(ratio "$(median "${WIRE_b[@]}")" "$BYTES_B" 4)" "" ""
	row "  peak RSS serve, MiB" "$(kib_to_mib "$SERVE_RSS_b")" "" ""
	row "  peak RSS clone, MiB" "$(kib_to_mib "$(max "${RSS_b[@]}")")" "" ""
	json_add b_gadn_wall_s "$(json_arr "${W_gadn_b[@]}")"
	json_add b_curl_wall_s "$(json_arr "${W_curl_b[@]}")"
	json_add b_gadn_restore_s "$(json_arr "${W_co_b[@]}")"
	json_add b_gadn_clone_cpu_s "$(json_arr "${CPU_b[@]}")"
	json_add b_serve_cpu_s "$SERVE_CPU_b"
	json_add b_gadn_wire_bytes "$(json_arr "${WIRE_b[@]}")"
	json_add b_gadn_mbps "$(mbps "$BYTES_B" "$gb")"
	json_add b_curl_mbps "$(mbps "$BYTES_B" "$cb")"
	json_add b_ratio_rate "$r_b"
	json_add b_serve_rss_kib "$SERVE_RSS_b"
	json_add b_clone_rss_kib "$(max "${RSS_b[@]}")"
else
	row "(b) loopback: skipped" "" "" ""
	json_add b_skipped "$SKIP_b"
fi
if [[ -z "$SKIP_c" ]]; then
	row "(c) $(human "$BYTES_M") clone, loopback: s" "$W_c" "" ""
	row "  MB/s" "$(mbps "$BYTES_M" "$W_c")" "" ""
	row "  peak RSS serve, MiB" "$(kib_to_mib "$RSS_SERVE_c")" "" ""
	row "  peak RSS clone, MiB" "$(kib_to_mib "$RSS_CLONE_c")" "" ""
	json_add c_gadn_wall_s "$W_c"
	json_add c_serve_rss_kib "$RSS_SERVE_c"
	json_add c_clone_rss_kib "$RSS_CLONE_c"
else
	row "(c) memory: skipped" "" "" ""
	json_add c_skipped "$SKIP_c"
fi
rule
[[ -z "$SKIP_a" ]] && echo "  (a) link: veth between two new namespaces, tbf ${RATE_MBIT}mbit burst 256kbit latency 50ms on the server's egress, added RTT ${RTT_ADDED} ms$RTT_NOTE"
[[ -z "$SKIP_a" ]] && echo "  per-round wall s (a): gadn ${W_gadn_a[*]} | curl ${W_curl_a[*]}"
[[ -z "$SKIP_b" ]] && echo "  per-round wall s (b): gadn ${W_gadn_b[*]} | curl ${W_curl_b[*]}"
if [[ -z "$SKIP_a" || -z "$SKIP_b" ]]; then
	echo "  clone CPU: user+sys of the clone process ($(nproc) cores); serve CPU: the serve process's total over the part / (ROUNDS + WARMUP)"
	echo "  checkout share: the cloned file deleted, then \`gadn restore\` from the clone's store (included in the clone's time)"
fi
for p in a b c; do
	skip_var="SKIP_$p"
	[[ -n "${!skip_var}" && "${!skip_var}" != "not in PARTS" ]] && echo "  SKIPPED ($p): ${!skip_var}"
done
echo
echo "requirements:"
if [[ -z "$SKIP_a" ]]; then
	req a_shaped_rate "(a) gadn clone Mbit/s on a ${RATE_MBIT} Mbit/s link" "$ga_mbit" ">=" "$(awk -v r="$RATE_MBIT" 'BEGIN{printf "%.1f", 0.9 * r}')"
fi
if [[ -z "$SKIP_b" ]]; then
	req b_vs_curl "(b) loopback rate gadn / curl" "$r_b" ">=" 0.50
fi
if [[ -z "$SKIP_c" ]]; then
	req c_serve_rss "(c) serve peak RSS MiB, $(human "$BYTES_M")" "$(kib_to_mib "$RSS_SERVE_c")" "<" "$RSS_LIMIT_MIB"
	req c_clone_rss "(c) clone peak RSS MiB, $(human "$BYTES_M")" "$(kib_to_mib "$RSS_CLONE_c")" "<" "$RSS_LIMIT_MIB"
fi
json_add loadavg_end "$(cut -d' ' -f1 /proc/loadavg)"
bench_finish
