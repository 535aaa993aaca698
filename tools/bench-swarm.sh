#!/usr/bin/env bash
# Swarm sync: one `gadn clone` fetching from three seeds at once (`--peer`), over links
# the script shapes itself, and what happens when seeds die or stall mid-transfer.
#
#   sudo tools/bench-swarm.sh      SIZE (default 1G, part a), FAULT_SIZE (256M, part c),
#                                  RATE_MBIT (100: each seed's link, part a),
#                                  FAULT_RATE_MBIT (40: each seed's link, part c),
#                                  RTT_MS (20, netem when the kernel has it), ROUNDS
#                                  (default 3), WARMUP (untimed rounds of (a) first,
#                                  default 1), DROP_CACHES (empty the page cache
#                                  first, default 1), PARTS (default abc),
#                                  B_SIZE (512M), B_RATE_MBIT (100), DOWNLOADERS (6),
#                                  B_ROUNDS (ROUNDS): part b,
#                                  FAULT_KILL_SEED (3: the seed killed in c1),
#                                  FAULT_STALL_SEED (2: the seed stalled in c2),
#                                  RESUME_SLACK (8M: allowance of c3, see there),
#                                  CLONE_TIMEOUT (seconds per clone; default scales
#                                  with the size and the rate)
#
# Runs as root: it makes network namespaces and shapes links; missing tools (iproute2,
# GNU time) are installed with apt-get. The input is a random, incompressible file
# (`head -c N /dev/urandom`, cached). Network: a "hub" namespace holding a bridge, and
# four host namespaces, each joined to the bridge by a veth pair: seeds 1-3 at
# 10.98.0.1-3, the downloader at 10.98.0.10 (a /24 that lives inside these
# namespaces only, so hosts can also reach each other, as part (b) will need). Each
# seed's egress is shaped with `tc qdisc … tbf rate R burst 256kbit latency 50ms`; the
# downloader's is not. RTT_MS of added delay (half each way, netem under the tbf and on
# the downloader's egress) when the kernel has netem; otherwise none, and the output
# says so.
#
# The seeds: the origin repository is `gadn init` + `gadn add .` + `gadn commit` of the
# file, with the downloader and seeds 2 and 3 added as members (`gadn peer add`); seeds
# 2 and 3 get a copy of its store (`cp -a .gadn`, no work tree: serving reads the
# store). Every seed has its own identity (its own GADN_HOME, its own key) and runs
# `gadn serve --no-lan --listen 10.98.0.N:47199` in its namespace. The downloader of (a)
# and (c) runs
#   gadn clone KEY1@SEED1 DIR --peer KEY2@SEED2 --peer KEY3@SEED3 --json
# under `timeout`, and the file is compared with `cmp`. Figures come from the clone's
# JSON report, its `swarm` section (docs/json.md, src/sync/swarm/stats.rs): per source
# `bytes` (raw chunk bytes received, cancelled endgame copies included), `records`,
# `runs`, `mean_rate`, `errors`, `stalls`, `snubs`, `cancelled`, `dropped`; for the
# transfer `runs` (planned), `bytes` (planned), `assigned`, `endgame_duplicates`,
# `requeued`, `cancelled`.
#
#   (a) sum of links: every seed at RATE_MBIT, SIZE, WARMUP + ROUNDS clones into a fresh
#       DIR (end to end: plan, fetch, verify, land, check out). Per round: each seed's
#       share of the bytes, its mean rate, errors; the median wall time as Mbit/s and
#       as a percentage of 3 x RATE_MBIT. Need >= 90 %.
#   (b) swarm against one HTTP origin: the origin (seed 1's namespace, egress shaped to
#       B_RATE_MBIT) and DOWNLOADERS hosts at 10.98.0.21.. on the same bridge, each
#       shaped to B_RATE_MBIT up and down (tbf on both ends of its veth pair). Per
#       round, first the baseline: every downloader runs
#         curl -o DIR/asset.bin http://10.98.0.1:8080/asset.bin
#       against nginx (sendfile) at the origin, all at once; then gadn: the origin runs
#       `gadn serve` (every downloader a member, added without an address) and every
#       downloader, all at once,
#         gadn clone KEY@10.98.0.1:PORT DIR --serve ITS_IP:PORT --linger T --json
#                    --peer KEY_k@IP_k:PORT (each of the others)
#       whose time is when its JSON report appears (it keeps serving the others until
#       all are done; then every clone is stopped with SIGTERM). Per round: the time
#       until the last downloader is done, for both; curl / gadn; what the origin's link
#       sent (tc counter) as a multiple of the file; per downloader, MiB by source. Every
#       file is compared with `cmp`. Need: curl / gadn >= 3 (median over rounds).
#   (c) faults, every seed at FAULT_RATE_MBIT, FAULT_SIZE, each fault injected once the
#       downloader's packs hold a third of the file (`du`, polled every 0.1 s):
#       c1 seed FAULT_KILL_SEED killed with SIGKILL (no connection close: the clone can
#          only notice by the stall bound). Need: the clone succeeds and the file is
#          right; assigned == runs + endgame_duplicates + requeued (every request beyond
#          one per planned run is an endgame copy or the retry of a run that went back
#          to the pool); no surviving seed had an error (so every requeue is the killed
#          seed's work: its runs in flight, and the ones it was given before it was
#          dropped); bytes received beyond the planned bytes <= endgame_duplicates x
#          2 MiB (PIECE_BYTES: a run that went back to the pool keeps its landed prefix,
#          so only endgame copies fetch a byte twice).
#       c2 seed FAULT_STALL_SEED's link drops everything from then on, the process stays
#          up and nothing is closed (`tc qdisc replace … netem loss 100%`; without
#          netem, a tbf whose bucket (32 bytes) is smaller than any packet, which drops
#          every packet). Need: the clone succeeds, the file is right, that seed shows
#          stalls >= 1 and requeued >= 1 (its work moved elsewhere). The stall bound is
#          PickerConfig::stall in src/sync/swarm/picker.rs (1 s). For information:
#          the longest time the store did not grow after the fault, and the rate of the
#          3 s before and after it (a per-0.1 s sampler of the store's size).
#       c3 every seed killed with SIGKILL. Need: the clone exits nonzero (not by the
#          timeout) with an error message (printed). What landed is read from the
#          interrupted store (`gadn stats --json`, stored_chunk_bytes: chunks only, no
#          guess from directory sizes). Then the seeds start again (same keys, ports)
#          and the same `gadn clone` runs into the same DIR (it resumes). Need: it
#          succeeds, the file is right, the second run's plan (transfer `bytes`) <=
#          FAULT_SIZE - landed + RESUME_SLACK (default 8 MiB, four 2 MiB runs), and the
#          bytes it received (sum of the sources' bytes) <= the same + its
#          endgame_duplicates x 2 MiB: the endgame races the last runs on purpose (about
#          12 MiB of copies per transfer here), which is not a refetch of what landed.
# Everything the script starts (namespaces, serve and clone processes, the sampler) is
# torn down in an EXIT trap.
# shellcheck source=tools/lib.sh disable=SC2317
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PATH="$PATH:/usr/sbin:/sbin"
SIZE_ARG="${SIZE:-1G}"
FAULT_SIZE_ARG="${FAULT_SIZE:-256M}"
B_SIZE_ARG="${B_SIZE:-512M}"
BYTES_A="$(size_bytes "$SIZE_ARG")"
BYTES_C="$(size_bytes "$FAULT_SIZE_ARG")"
BYTES_B="$(size_bytes "$B_SIZE_ARG")"
B_RATE_MBIT="${B_RATE_MBIT:-100}"
B_N="${DOWNLOADERS:-6}"
B_ROUNDS="${B_ROUNDS:-${ROUNDS:-3}}"
RESUME_SLACK_BYTES="$(size_bytes "${RESUME_SLACK:-8M}")"
RATE_MBIT="${RATE_MBIT:-100}"
FAULT_RATE_MBIT="${FAULT_RATE_MBIT:-40}"
RTT_MS="${RTT_MS:-20}"
PARTS="${PARTS:-abc}"
WARMUP="${WARMUP:-1}"
FAULT_KILL_SEED="${FAULT_KILL_SEED:-3}"
FAULT_STALL_SEED="${FAULT_STALL_SEED:-2}"
[[ "$WARMUP" =~ ^[0-9]+$ ]] || die "WARMUP must be a non-negative integer, got '$WARMUP'"
[[ "$RATE_MBIT" =~ ^[1-9][0-9]*$ ]] || die "RATE_MBIT must be a positive integer (Mbit/s), got '$RATE_MBIT'"
[[ "$FAULT_RATE_MBIT" =~ ^[1-9][0-9]*$ ]] || die "FAULT_RATE_MBIT must be a positive integer (Mbit/s), got '$FAULT_RATE_MBIT'"
[[ "$B_RATE_MBIT" =~ ^[1-9][0-9]*$ ]] || die "B_RATE_MBIT must be a positive integer (Mbit/s), got '$B_RATE_MBIT'"
[[ "$B_N" =~ ^[2-9]$ ]] || die "DOWNLOADERS must be 2 to 9, got '$B_N'"
[[ "$B_ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "B_ROUNDS must be a positive integer, got '$B_ROUNDS'"
[[ "$RTT_MS" =~ ^[0-9]+$ ]] || die "RTT_MS must be a non-negative integer (ms), got '$RTT_MS'"
[[ "$PARTS" =~ ^[abc]+$ ]] || die "PARTS must be letters out of 'abc', got '$PARTS'"
[[ "$FAULT_KILL_SEED" =~ ^[123]$ ]] || die "FAULT_KILL_SEED must be 1, 2 or 3, got '$FAULT_KILL_SEED'"
[[ "$FAULT_STALL_SEED" =~ ^[123]$ ]] || die "FAULT_STALL_SEED must be 1, 2 or 3, got '$FAULT_STALL_SEED'"
[[ -z "${CLONE_TIMEOUT:-}" || "$CLONE_TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die "CLONE_TIMEOUT must be a positive integer (s), got '$CLONE_TIMEOUT'"
want() { [[ "$PARTS" == *"$1"* ]]; }

# before bench_start: it needs GNU time itself
need_pkg "$TIMEFMT_BIN" time
if want a || want b || want c; then
	need_pkg ip iproute2
	need_pkg tc iproute2
fi
if want b; then
	need_pkg nginx nginx
	need_pkg curl curl
fi

# seconds to move BYTES over three links of MBIT each, at least 1
secs3() { echo $(($1 * 8 / (3 * $2 * 1000000) + 1)); }
A_SECS="$(secs3 "$BYTES_A" "$RATE_MBIT")"
C_SECS="$(secs3 "$BYTES_C" "$FAULT_RATE_MBIT")"
# a clone may take 3x the ideal time, plus a minute for everything but the bytes
A_TIMEOUT="${CLONE_TIMEOUT:-$((3 * A_SECS + 60))}"
C_TIMEOUT="${CLONE_TIMEOUT:-$((3 * C_SECS + 60))}"
# part (b): the HTTP baseline's ideal time (every byte N times through the origin's
# link); any one download, curl or gadn, may take twice that plus two minutes
B_SECS=$((B_N * BYTES_B * 8 / (B_RATE_MBIT * 1000000) + 1))
B_TIMEOUT="${CLONE_TIMEOUT:-$((2 * B_SECS + 120))}"
bound=300
want a && bound=$((bound + 120 + (ROUNDS + WARMUP) * (A_TIMEOUT + 30) + $(gib "$BYTES_A") * 60))
want b && bound=$((bound + 120 + B_ROUNDS * (2 * B_TIMEOUT + 60) + $(gib "$BYTES_B") * 60))
want c && bound=$((bound + 120 + 4 * (C_TIMEOUT + 30) + $(gib "$BYTES_C") * 60))
bench_start swarm "$bound" "$@"

json_add size "$BYTES_A"
json_add fault_size "$BYTES_C"
json_add b_size "$BYTES_B"
json_add b_rate_mbit "$B_RATE_MBIT"
json_add downloaders "$B_N"
json_add rate_mbit "$RATE_MBIT"
json_add fault_rate_mbit "$FAULT_RATE_MBIT"
json_add parts "$PARTS"

# ---------------------------------------------------------------- processes and cleanup

declare -a BG_PIDS=() NETNS_MADE=()
BG_PID=""

# forget_pid PID: no longer ours to stop (it was reaped)
forget_pid() {
	local i
	local -a keep=()
	for i in "${BG_PIDS[@]}"; do [[ "$i" == "$1" ]] || keep+=("$i"); done
	BG_PIDS=("${keep[@]}")
}

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
	forget_pid "$p"
}

# kill9_pid PID: SIGKILL (the fault), reaped
kill9_pid() {
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	forget_pid "$1"
}

# wait_pid PID: wait for a background process to end; sets WAIT_RC
WAIT_RC=0
wait_pid() {
	WAIT_RC=0
	wait "$1" || WAIT_RC=$?
	forget_pid "$1"
}

swarm_cleanup() {
	local p
	for p in "${BG_PIDS[@]}"; do stop_pid "$p"; done
	netns_teardown
}
trap 'swarm_cleanup; bench_cleanup' EXIT

# ---------------------------------------------------------------- identities

gadn_bin
DL_HOME="$RUN_DIR/home-downloader"
declare -a SEED_HOME=() SEED_KEY=()
mkdir -p "$DL_HOME"
DL_KEY="$(GADN_HOME="$DL_HOME" "$GADN" id 2>"$RUN_DIR/id-downloader.log")" || die "gadn id (downloader) failed"
for i in 1 2 3; do
	SEED_HOME[i]="$RUN_DIR/home-seed$i"
	mkdir -p "${SEED_HOME[i]}"
	SEED_KEY[i]="$(GADN_HOME="${SEED_HOME[i]}" "$GADN" id 2>"$RUN_DIR/id-seed$i.log")" || die "gadn id (seed $i) failed"
done

# ---------------------------------------------------------------- network

NS_HUB="gadnw-hub-$$"
NS_DL="gadnw-dl-$$"
declare -a NS_SEED=() VETH_SEED=() SEED_IP=()
for i in 1 2 3; do
	NS_SEED[i]="gadnw-s$i-$$"
	VETH_SEED[i]="gws$i-$$"
	SEED_IP[i]="10.98.0.$i"
done
VETH_DL="gwsd-$$"
DL_IP=10.98.0.10
PORT=47199
HAVE_NETEM=0
RTT_ADDED=0
RTT_NOTE=""

# netns_host NS VETH TAG IP: host namespace NS joined to the hub's bridge by a veth pair
# (VETH inside NS at IP/24, gwhTAG-PID on the hub side); output to $RUN_DIR/netns.log
netns_host() {
	local ns="$1" veth="$2" tag="$3" ip="$4"
	{
		ip netns add "$ns" && NETNS_MADE+=("$ns") &&
			ip link add "$veth" netns "$ns" type veth peer name "gwh$tag-$$" netns "$NS_HUB" &&
			ip -n "$NS_HUB" link set "gwh$tag-$$" master br0 &&
			ip -n "$NS_HUB" link set "gwh$tag-$$" up &&
			ip -n "$ns" addr add "$ip/24" dev "$veth" &&
			ip -n "$ns" link set lo up &&
			ip -n "$ns" link set "$veth" up
	} >>"$RUN_DIR/netns.log" 2>&1
}

# netns_setup: the hub with its bridge, the four hosts, one veth pair each; fails
# (status 1, with a message in $RUN_DIR/netns.log) when not permitted
netns_setup() {
	local i
	{
		ip netns add "$NS_HUB" && NETNS_MADE+=("$NS_HUB") &&
			ip -n "$NS_HUB" link add br0 type bridge &&
			ip -n "$NS_HUB" link set br0 up &&
			ip -n "$NS_HUB" link set lo up
	} >"$RUN_DIR/netns.log" 2>&1 || return 1
	for i in 1 2 3; do
		netns_host "${NS_SEED[i]}" "${VETH_SEED[i]}" "$i" "${SEED_IP[i]}" || return 1
	done
	netns_host "$NS_DL" "$VETH_DL" d "$DL_IP" || return 1
	# netem present? (a kernel without sch_netem refuses the kind)
	if tc -n "$NS_DL" qdisc add dev "$VETH_DL" root netem delay 0ms >>"$RUN_DIR/netns.log" 2>&1; then
		HAVE_NETEM=1
		tc -n "$NS_DL" qdisc del dev "$VETH_DL" root >>"$RUN_DIR/netns.log" 2>&1 || true
	fi
	if ((RTT_MS > 0)); then
		if ((HAVE_NETEM)); then
			tc -n "$NS_DL" qdisc add dev "$VETH_DL" root netem delay "$((RTT_MS * 500))us" >>"$RUN_DIR/netns.log" 2>&1 || return 1
			RTT_ADDED="$RTT_MS"
		else
			RTT_NOTE=" (RTT_MS=$RTT_MS asked, but this kernel has no netem)"
			log "warning: netem is not available in this kernel; no delay added (RTT_MS=$RTT_MS ignored)"
		fi
	fi
	return 0
}

# set_rate I MBIT: seed I's egress shaped to MBIT (tbf, plus netem delay under it when
# RTT is added); replaces whatever qdisc was there (a stall of c2 included)
set_rate() {
	local i="$1" mbit="$2" ns="${NS_SEED[$1]}" dev="${VETH_SEED[$1]}"
	tc -n "$ns" qdisc del dev "$dev" root >/dev/null 2>&1 || true
	tc -n "$ns" qdisc add dev "$dev" root handle 1: tbf rate "${mbit}mbit" burst 256kbit latency 50ms ||
		die "tc: cannot shape seed $i's link to ${mbit}mbit"
	if ((RTT_ADDED > 0)); then
		tc -n "$ns" qdisc add dev "$dev" parent 1:1 handle 10: netem delay "$((RTT_ADDED * 500))us" ||
			die "tc: cannot add the delay on seed $i's link"
	fi
}

# stall_link I: from now on seed I's egress drops every packet (the process stays up,
# nothing is closed); sets STALL_HOW
STALL_HOW=""
stall_link() {
	local i="$1" ns="${NS_SEED[$1]}" dev="${VETH_SEED[$1]}"
	if ((HAVE_NETEM)); then
		STALL_HOW="netem loss 100%"
		tc -n "$ns" qdisc replace dev "$dev" root netem loss 100% || die "tc: cannot stall seed $i's link"
	else
		# tbf drops a packet longer than its bucket; every packet is longer than 32 bytes
		STALL_HOW="tbf rate 8kbit burst 32 limit 32 (no netem: a bucket smaller than any packet)"
		tc -n "$ns" qdisc del dev "$dev" root >/dev/null 2>&1 || true
		tc -n "$ns" qdisc add dev "$dev" root handle 1: tbf rate 8kbit burst 32 limit 32 ||
			die "tc: cannot stall seed $i's link"
	fi
}

# ---------------------------------------------------------------- seeds

# make_seeds P BYTES: the origin repository (seed 1) of a cached random file, members
# the downloader and seeds 2 and 3; seeds 2 and 3 get a copy of its store. Sets SRC
# and SEED_REPO[1..3].
declare -a SEED_REPO=()
SRC=""
make_seeds() {
	local p="$1" bytes="$2" origin="$RUN_DIR/$1-seed1" i
	SRC="$(cached_random "$bytes")"
	mkdir -p "$origin"
	place "$SRC" "$origin/asset.bin"
	log "($p) committing $(human "$bytes") in the origin repository"
	{
		local -a g=(env GADN_HOME="${SEED_HOME[1]}" "$GADN" -C "$origin")
		"${g[@]}" init &&
			"${g[@]}" add . &&
			"${g[@]}" commit -m asset &&
			"${g[@]}" peer add downloader "$DL_KEY" &&
			"${g[@]}" peer add seed2 "${SEED_KEY[2]}" "${SEED_IP[2]}:$PORT" &&
			"${g[@]}" peer add seed3 "${SEED_KEY[3]}" "${SEED_IP[3]}:$PORT"
	} >"$origin.setup.log" 2>&1 || {
		tail -n 20 "$origin.setup.log" >&2
		die "setting up the origin repository $origin failed"
	}
	SEED_REPO[1]="$origin"
	for i in 2 3; do
		SEED_REPO[i]="$RUN_DIR/$p-seed$i"
		mkdir -p "${SEED_REPO[i]}"
		cp -a -- "$origin/.gadn" "${SEED_REPO[i]}/" || die "copying the origin's store for seed $i failed"
	done
}

# start_seed I P: `gadn serve` of SEED_REPO[I] in seed I's namespace on its address and
# PORT; waits for its "Serving … on ADDR" line; sets SEED_PID[I]
declare -a SEED_PID=()
start_seed() {
	local i="$1" p="$2" out err n
	out="$RUN_DIR/$p-serve$i.out" err="$RUN_DIR/$p-serve$i.err"
	# keep the earlier logs of a restarted seed
	for n in out err; do
		if [[ -s "$RUN_DIR/$p-serve$i.$n" ]]; then mv -f "$RUN_DIR/$p-serve$i.$n" "$RUN_DIR/$p-serve$i.$n.$(date +%s%N)"; fi
	done
	bg_start "${NS_SEED[i]}" "$out" "$err" env GADN_HOME="${SEED_HOME[i]}" "$GADN" -C "${SEED_REPO[i]}" \
		serve --no-lan --listen "${SEED_IP[i]}:$PORT"
	SEED_PID[i]="$BG_PID"
	for ((n = 0; n < 150; n++)); do
		grep -q "^Serving .* on ${SEED_IP[i]}:$PORT" "$out" && return 0
		alive "${SEED_PID[i]}" || break
		sleep 0.2
	done
	tail -n 20 "$out" "$err" >&2 || true
	die "gadn serve (seed $i, $p) did not report its address"
}

start_seeds() {
	local i
	for i in 1 2 3; do start_seed "$i" "$1"; done
}

stop_seeds() {
	local i
	for i in 1 2 3; do
		if [[ -n "${SEED_PID[i]:-}" ]]; then stop_pid "${SEED_PID[i]}"; fi
		SEED_PID[i]=""
	done
}

# warm_seeds: their stores into the page cache
warm_seeds() {
	local i
	for i in 1 2 3; do find "${SEED_REPO[i]}/.gadn" -type f -exec cat -- {} + >/dev/null; done
}

# clone_cmd DIR TIMEOUT: the downloader's command in CLONE_CMD (inside its namespace,
# bound by TIMEOUT seconds)
declare -a CLONE_CMD=()
clone_cmd() {
	local dir="$1" timeout="$2"
	CLONE_CMD=(ip netns exec "$NS_DL" timeout "$timeout" env GADN_HOME="$DL_HOME" "$GADN" clone
		"${SEED_KEY[1]}@${SEED_IP[1]}:$PORT" "$dir"
		--peer "${SEED_KEY[2]}@${SEED_IP[2]}:$PORT"
		--peer "${SEED_KEY[3]}@${SEED_IP[3]}:$PORT" --json)
}

# ---------------------------------------------------------------- reading reports

# jq_swarm LOG EXPR...: evaluate python expressions over the last JSON line of LOG,
# bound to d (the report), sw (its swarm section), t (sw["transfer"]), s (sw["sources"]);
# one result per line
jq_swarm() {
	local log="$1"
	shift
	python3 - "$log" "$@" <<-'EOF'
		import json, sys
		lines = [l for l in open(sys.argv[1], errors="replace") if l.startswith("{")]
		if not lines:
		    sys.exit("no JSON line in " + sys.argv[1])
		d = json.loads(lines[-1])
		sw = d.get("swarm") or {}
		t = sw.get("transfer") or {}
		s = sw.get("sources") or []
		for e in sys.argv[2:]:
		    v = eval(e)
		    print("null" if v is None else v)
	EOF
}

# sources_table LOG: one line per source of a report
sources_table() {
	python3 - "$1" "$RATE_NOW" <<-'EOF'
		import json, sys
		d = json.loads([l for l in open(sys.argv[1], errors="replace") if l.startswith("{")][-1])
		rate = float(sys.argv[2])
		src = d["swarm"]["sources"]
		total = sum(x["bytes"] for x in src) or 1
		print("    %-6s %10s %7s %6s %6s %9s %7s %4s %4s %4s %5s  %s" % ("source", "MiB", "share", "recs", "runs",
		      "Mbit/s", "% link", "err", "stl", "snub", "canc", "dropped / last error"))
		for i, x in enumerate(src, 1):
		    mb = x["mean_rate"] * 8 / 1e6
		    note = x["dropped"] or x["last_error"] or ""
		    print("    seed%-2d %10.1f %6.1f%% %6d %6d %9.1f %6.1f%% %4d %4d %4d %5d  %s" % (
		        i, x["bytes"] / 2**20, 100 * x["bytes"] / total, x["records"], x["runs"], mb,
		        100 * mb / rate, x["errors"], x["stalls"], x["snubs"], x["cancelled"], note))
		t = d["swarm"]["transfer"]
		print("    transfer: runs %d, planned %.1f MiB, received %.1f MiB, assigned %d, endgame_duplicates %d, requeued %d, cancelled %d" % (
		    t["runs"], t["bytes"] / 2**20, total / 2**20, t["assigned"], t["endgame_duplicates"], t["requeued"], t["cancelled"]))
	EOF
}

# landed_bytes DIR: chunk bytes in a (partial) clone's store
landed_bytes() {
	local out
	out="$(GADN_HOME="$DL_HOME" "$GADN" -C "$1" stats --json 2>"$RUN_DIR/stats.err")" || {
		cat "$RUN_DIR/stats.err" >&2
		die "gadn stats --json failed in $1"
	}
	json_get stored_chunk_bytes <<<"$out"
}

# store_bytes DIR: bytes on disk of DIR's packs (what the fault trigger and the sampler
# poll while the clone writes, unlike `gadn stats`); not all of .gadn: its prefill
# holds a second copy of what arrives, written out as chunks land
store_bytes() {
	if [[ -d "$1/.gadn/packs" ]]; then
		du -s -B1 "$1/.gadn/packs" 2>/dev/null | cut -f1
	else
		echo 0
	fi
}

# mbit BYTES SECONDS: Mbit/s (10^6 bits)
mbit() { awk -v n="$1" -v s="$2" 'BEGIN{ if (s == 0) print "inf"; else printf "%.1f\n", n*8/1e6/s }'; }

# check KEY DESCRIPTION OK(0/1) DETAIL: a yes/no requirement, printed as it happens and
# kept for the summary
declare -a CHECK_LINES=()
check() {
	local key="$1" name="$2" ok="$3" detail="$4" verdict=FAIL
	((ok)) && verdict=PASS
	((ok)) || REQ_FAILED=1
	CHECK_LINES+=("$(printf '  %-64s %s  %s' "$name" "$verdict" "$detail")")
	log "$verdict: $name ($detail)"
	json_add "req_$key" "${verdict,,}"
}

# ---------------------------------------------------------------- setup

SKIP_a="" SKIP_b="" SKIP_c=""
want a || SKIP_a="not in PARTS"
want b || SKIP_b="not in PARTS"
want c || SKIP_c="not in PARTS"
if want a || want b || want c; then
	if ((EUID != 0)); then
		SKIP_a="${SKIP_a:-not root: cannot make network namespaces}"
		SKIP_b="${SKIP_b:-not root: cannot make network namespaces}"
		SKIP_c="${SKIP_c:-not root: cannot make network namespaces}"
	elif ! netns_setup; then
		why="cannot set up network namespaces / bridge / tc shaping (no CAP_NET_ADMIN?): $(tail -n 1 "$RUN_DIR/netns.log")"
		SKIP_a="${SKIP_a:-$why}"
		SKIP_b="${SKIP_b:-$why}"
		SKIP_c="${SKIP_c:-$why}"
		netns_teardown
	else
		log "network: hub bridge; seeds ${SEED_IP[*]} (port $PORT), downloader $DL_IP; netem $( ((HAVE_NETEM)) && echo present || echo absent), added RTT ${RTT_ADDED} ms"
	fi
fi
[[ -n "$SKIP_a" && "$SKIP_a" != "not in PARTS" ]] && log "SKIPPED part (a): $SKIP_a"
[[ -n "$SKIP_b" && "$SKIP_b" != "not in PARTS" ]] && log "SKIPPED part (b): $SKIP_b"
[[ -n "$SKIP_c" && "$SKIP_c" != "not in PARTS" ]] && log "SKIPPED part (c): $SKIP_c"

# Start from an empty page cache (see bench-sync.sh): reclaiming gigabytes of cache left
# by a build would be charged to whichever clone runs first.
if [[ "${DROP_CACHES:-1}" == 1 ]] && ((EUID == 0)); then
	sync
	echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || log "warning: cannot drop the page cache"
fi
load_start="$(cut -d' ' -f1 /proc/loadavg)"
if awk -v l="$load_start" -v c="$(nproc)" 'BEGIN{exit !(l > c / 2)}'; then
	log "warning: load average $load_start on $(nproc) cores before the timed rounds; other work will blur the figures"
fi
json_add loadavg_start "$load_start"
json_add rtt_added_ms "$RTT_ADDED"
json_add netem "$HAVE_NETEM"
RATE_NOW="$RATE_MBIT"

# need_space BYTES: is there BYTES free in BENCH_TMP?
need_space() { (($(disk_free "$BENCH_TMP") >= $1)); }

# ---------------------------------------------------------------- (a) sum of links

declare -a W_a=() MBIT_a=() CPU_a=() RSS_a=() SHARE1_a=() SHARE2_a=() SHARE3_a=() WASTE_a=()
A_WARN=""
run_a() {
	local r="$1" dest="$RUN_DIR/a-clone-$1" label="a-clone-$1" w shares waste i errs
	clone_cmd "$dest" "$A_TIMEOUT"
	sync
	timed "$label" "$TIMEFMT_BIN" -f '%U %S' -o "$RUN_DIR/$label.cpu" "${CLONE_CMD[@]}"
	w="$T_WALL"
	cmp -s -- "$SRC" "$dest/asset.bin" || die "(a) round $r: the cloned asset.bin differs from the seeded file"
	log "(a) round $r: ${w}s, $(mbit "$BYTES_A" "$w") Mbit/s, $(pct "$(mbit "$BYTES_A" "$w")" $((3 * RATE_MBIT)))% of 3 x ${RATE_MBIT} Mbit/s"
	sources_table "$RUN_DIR/$label.log" >&2
	mapfile -t shares < <(jq_swarm "$RUN_DIR/$label.log" \
		'"%.1f" % (100 * s[0]["bytes"] / max(1, sum(x["bytes"] for x in s)))' \
		'"%.1f" % (100 * s[1]["bytes"] / max(1, sum(x["bytes"] for x in s)))' \
		'"%.1f" % (100 * s[2]["bytes"] / max(1, sum(x["bytes"] for x in s)))' \
		'sum(x["bytes"] for x in s) - t["bytes"]' \
		'sum(x["errors"] for x in s)' \
		'" ".join(str(i + 1) for i, x in enumerate(s) if x["bytes"] == 0 or x["dropped"])')
	waste="${shares[3]}" errs="${shares[4]}"
	if [[ -n "${shares[5]}" ]]; then
		A_WARN+=" round $r: seed(s) ${shares[5]} delivered nothing or were dropped;"
		log "warning: (a) round $r: seed(s) ${shares[5]} delivered nothing or were dropped"
	fi
	if ((errs > 0)); then
		A_WARN+=" round $r: $errs request error(s);"
		log "warning: (a) round $r: $errs request error(s) on unfaulted links"
	fi
	if [[ -z "$WARMING" ]]; then
		W_a+=("$w")
		MBIT_a+=("$(mbit "$BYTES_A" "$w")")
		CPU_a+=("$(awk 'END{printf "%.2f\n", $1 + $2}' "$RUN_DIR/$label.cpu")")
		RSS_a+=("$T_RSS_KIB")
		SHARE1_a+=("${shares[0]}")
		SHARE2_a+=("${shares[1]}")
		SHARE3_a+=("${shares[2]}")
		WASTE_a+=("$waste")
	fi
	rm -rf -- "$dest"
}

WARMING=""
if [[ -z "$SKIP_a" ]]; then
	if ! need_space $((7 * BYTES_A + (1 << 30))); then
		SKIP_a="needs 7x$SIZE_ARG + 1GiB free in $BENCH_TMP, have $(human "$(disk_free "$BENCH_TMP")")"
		log "SKIPPED part (a): $SKIP_a"
	fi
fi
if [[ -z "$SKIP_a" ]]; then
	for i in 1 2 3; do set_rate "$i" "$RATE_MBIT"; done
	RATE_NOW="$RATE_MBIT"
	make_seeds a "$BYTES_A"
	start_seeds a
	warm_seeds
	log "(a) seeds at ${RATE_MBIT} Mbit/s each, $(human "$BYTES_A"): $WARMUP warm-up + $ROUNDS timed clones"
	WARMING=1
	for ((r = 1; r <= WARMUP; r++)); do run_a "warmup$r"; done
	WARMING=""
	for ((r = 1; r <= ROUNDS; r++)); do run_a "$r"; done
	for i in 1 2 3; do
		tc -n "${NS_SEED[i]}" -s qdisc show dev "${VETH_SEED[i]}" >"$RUN_DIR/a-qdisc$i.log" 2>&1 || true
	done
	stop_seeds
	rm -rf -- "${SEED_REPO[@]}"
fi

# ---------------------------------------------------------------- (b) downloaders serving each other

# The origin is seed 1 (its namespace, address and link, shaped to B_RATE_MBIT); the
# downloaders are hosts b1..bN at 10.98.0.21.. on the same bridge, each shaped to
# B_RATE_MBIT both ways (tbf on its own veth for upload, on the hub's end for download).
declare -a NS_B=() VETH_B=() B_IP=() B_HOME=() B_KEY=()
B_ORIGIN=""

# b_setup: the downloaders' namespaces, links, identities; the origin's repository
# (members: every downloader), its `gadn serve` and nginx. Returns 1 (message in
# $RUN_DIR/netns.log) when the namespaces cannot be made.
b_setup() {
	local j
	for ((j = 1; j <= B_N; j++)); do
		NS_B[j]="gadnw-b$j-$$" VETH_B[j]="gwsb$j-$$" B_IP[j]="10.98.0.$((20 + j))"
		netns_host "${NS_B[j]}" "${VETH_B[j]}" "b$j" "${B_IP[j]}" || return 1
		shape_dev "${NS_B[j]}" "${VETH_B[j]}" "$B_RATE_MBIT" || return 1
		shape_dev "$NS_HUB" "gwhb$j-$$" "$B_RATE_MBIT" || return 1
		B_HOME[j]="$RUN_DIR/home-b$j"
		mkdir -p "${B_HOME[j]}"
		B_KEY[j]="$(GADN_HOME="${B_HOME[j]}" "$GADN" id 2>"$RUN_DIR/id-b$j.log")" || die "gadn id (downloader b$j) failed"
	done
	set_rate 1 "$B_RATE_MBIT"
	SRC="$(cached_random "$BYTES_B")"
	B_ORIGIN="$RUN_DIR/b-origin"
	mkdir -p "$B_ORIGIN" "$RUN_DIR/b-www"
	place "$SRC" "$B_ORIGIN/asset.bin"
	place "$SRC" "$RUN_DIR/b-www/asset.bin"
	log "(b) committing $(human "$BYTES_B") in the origin repository"
	{
		local -a g=(env GADN_HOME="${SEED_HOME[1]}" "$GADN" -C "$B_ORIGIN")
		"${g[@]}" init && "${g[@]}" add . && "${g[@]}" commit -m asset || exit 1
		for ((j = 1; j <= B_N; j++)); do "${g[@]}" peer add "b$j" "${B_KEY[j]}" || exit 1; done
	} >"$B_ORIGIN.setup.log" 2>&1 || {
		tail -n 20 "$B_ORIGIN.setup.log" >&2
		die "setting up the origin repository $B_ORIGIN failed"
	}
	SEED_REPO[1]="$B_ORIGIN"
	start_seed 1 b
	start_nginx "${NS_SEED[1]}" "${SEED_IP[1]}" 8080 b-nginx "$RUN_DIR/b-www"
	warm "$SRC"
	find "$B_ORIGIN/.gadn" -type f -exec cat -- {} + >/dev/null
}

# shape_dev NS DEV MBIT: DEV's egress in NS through tbf at MBIT, with half the added
# RTT under it
shape_dev() {
	local ns="$1" dev="$2" mbit="$3"
	tc -n "$ns" qdisc add dev "$dev" root handle 1: tbf rate "${mbit}mbit" burst 256kbit latency 50ms >>"$RUN_DIR/netns.log" 2>&1 || return 1
	if ((RTT_ADDED > 0)); then
		tc -n "$ns" qdisc add dev "$dev" parent 1:1 handle 10: netem delay "$((RTT_ADDED * 500))us" >>"$RUN_DIR/netns.log" 2>&1 || return 1
	fi
}

# origin_sent: bytes the origin's link has sent so far (its root qdisc's counter)
origin_sent() {
	tc -n "${NS_SEED[1]}" -s qdisc show dev "${VETH_SEED[1]}" | awk '$1 == "Sent" { print $2; exit }'
}

# per downloader: seconds from the start until it was done (b_curl: curl's own
# time_total; b_gadn: when its report appeared)
declare -a B_DONE=()

# b_curl R: all downloaders curl the file from nginx at the origin at once
b_curl() {
	local r="$1" j t0 t1 rc bad=0 sent0
	local -a pids=()
	sent0="$(origin_sent)"
	t0=$(date +%s%N)
	for ((j = 1; j <= B_N; j++)); do
		mkdir -p "$RUN_DIR/b-curl-$j"
		bg_start "${NS_B[j]}" "$RUN_DIR/b-curl$r-$j.out" "$RUN_DIR/b-curl$r-$j.err" \
			timeout "$B_TIMEOUT" curl -sS --noproxy '*' --fail -w '%{time_total}\n' \
			-o "$RUN_DIR/b-curl-$j/asset.bin" "http://${SEED_IP[1]}:8080/asset.bin"
		pids[j]="$BG_PID"
	done
	for ((j = 1; j <= B_N; j++)); do
		wait_pid "${pids[j]}"
		rc="$WAIT_RC"
		if ((rc != 0)); then
			tail -n 5 "$RUN_DIR/b-curl$r-$j.err" >&2
			die "(b) round $r: curl on b$j exited $rc"
		fi
	done
	t1=$(date +%s%N)
	B_SENT=$(($(origin_sent) - sent0))
	B_DONE=()
	for ((j = 1; j <= B_N; j++)); do
		B_DONE[j]="$(tail -n 1 "$RUN_DIR/b-curl$r-$j.out")"
		cmp -s -- "$SRC" "$RUN_DIR/b-curl-$j/asset.bin" || bad=$((bad + 1))
		rm -rf -- "$RUN_DIR/b-curl-$j"
	done
	B_LAST=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", (b-a)/1e9}')
	B_BAD="$bad"
}

# b_gadn R: all downloaders `gadn clone --serve` from the origin at once, each naming
# the others with --peer; a clone's time is when its JSON report appears (it goes on
# serving until every clone is done, then all are stopped)
B_LAST="" B_BAD=0 B_SENT=0 B_FROM_ORIGIN="" B_FROM_PEERS="" B_RSS_MAX=0
b_gadn() {
	local r="$1" j k t0 now left bad=0 sent0 rss
	local -a pids=() cmd=() v=()
	sent0="$(origin_sent)"
	t0=$(date +%s%N)
	for ((j = 1; j <= B_N; j++)); do
		cmd=(timeout "$B_TIMEOUT" env GADN_HOME="${B_HOME[j]}" "$GADN" clone
			"${SEED_KEY[1]}@${SEED_IP[1]}:$PORT" "$RUN_DIR/b-clone-$j"
			--serve "${B_IP[j]}:$PORT" --linger "$B_TIMEOUT" --json)
		for ((k = 1; k <= B_N; k++)); do
			((k == j)) || cmd+=(--peer "${B_KEY[k]}@${B_IP[k]}:$PORT")
		done
		bg_start "${NS_B[j]}" "$RUN_DIR/b-gadn$r-$j.log" "$RUN_DIR/b-gadn$r-$j.err" "${cmd[@]}"
		pids[j]="$BG_PID"
	done
	B_DONE=()
	left="$B_N"
	while ((left > 0)); do
		sleep 0.1
		now=$(date +%s%N)
		for ((j = 1; j <= B_N; j++)); do
			[[ -z "${B_DONE[j]:-}" ]] || continue
			if grep -q '^{' "$RUN_DIR/b-gadn$r-$j.log"; then
				B_DONE[j]=$(awk -v a="$t0" -v b="$now" 'BEGIN{printf "%.2f", (b-a)/1e9}')
				left=$((left - 1))
			elif ! alive "${pids[j]}"; then
				wait_pid "${pids[j]}"
				tail -n 5 "$RUN_DIR/b-gadn$r-$j.err" >&2
				err_lines "$RUN_DIR/b-gadn$r-$j.err" >&2
				die "(b) round $r: gadn clone on b$j exited $WAIT_RC before its report"
			fi
		done
	done
	B_LAST=$(awk -v a="$t0" -v b="$now" 'BEGIN{printf "%.2f", (b-a)/1e9}')
	B_SENT=$(($(origin_sent) - sent0))
	for ((j = 1; j <= B_N; j++)); do
		# gadn is the child of `timeout`
		rss="$(vmhwm_kib "$(pgrep -P "${pids[j]}" | head -n 1)" 2>/dev/null || echo 0)"
		((rss > B_RSS_MAX)) && B_RSS_MAX="$rss"
		stop_pid "${pids[j]}"
	done
	B_FROM_ORIGIN="" B_FROM_PEERS=""
	for ((j = 1; j <= B_N; j++)); do
		cmp -s -- "$SRC" "$RUN_DIR/b-clone-$j/asset.bin" || bad=$((bad + 1))
		mapfile -t v < <(jq_swarm "$RUN_DIR/b-gadn$r-$j.log" \
			'"%.1f" % (s[0]["bytes"] / 2**20)' '"%.1f" % (sum(x["bytes"] for x in s[1:]) / 2**20)' \
			'" ".join("%s:%.0f" % (x["name"], x["bytes"] / 2**20) for x in s)' \
			'sum(x["errors"] for x in s)' '" ".join("%s(%s)" % (x["name"], x["dropped"]) for x in s if x["dropped"])' \
			'"; ".join(sorted(set(x["last_error"] for x in s if x["last_error"])))')
		B_FROM_ORIGIN+="${v[0]} " B_FROM_PEERS+="${v[1]} "
		log "(b) round $r b$j: ${B_DONE[j]} s; MiB by source ${v[2]}; errors ${v[3]}${v[4]:+; dropped ${v[4]}}${v[5]:+; last errors: ${v[5]}}"
		rm -rf -- "$RUN_DIR/b-clone-$j"
	done
	B_BAD="$bad"
}

declare -a W_curl_b=() W_gadn_b=() SENT_curl_b=() SENT_gadn_b=() RATIO_b=() FIRST_gadn_b=()
B_BAD_TOTAL=0
part_b() {
	local r
	log "(b) origin at ${B_RATE_MBIT} Mbit/s, $B_N downloaders at ${B_RATE_MBIT} Mbit/s up and down, $(human "$BYTES_B"); $B_ROUNDS rounds of curl then gadn"
	for ((r = 1; r <= B_ROUNDS; r++)); do
		b_curl "$r"
		W_curl_b+=("$B_LAST")
		SENT_curl_b+=("$(ratio "$B_SENT" "$BYTES_B" 2)")
		B_BAD_TOTAL=$((B_BAD_TOTAL + B_BAD))
		log "(b) round $r curl: last done at $B_LAST s (each: ${B_DONE[*]}); origin sent $(ratio "$B_SENT" "$BYTES_B" 2) x the file; wrong files $B_BAD"
		sync
		b_gadn "$r"
		W_gadn_b+=("$B_LAST")
		FIRST_gadn_b+=("$(printf '%s\n' "${B_DONE[@]}" | sort -g | head -n 1)")
		SENT_gadn_b+=("$(ratio "$B_SENT" "$BYTES_B" 2)")
		B_BAD_TOTAL=$((B_BAD_TOTAL + B_BAD))
		RATIO_b+=("$(ratio "${W_curl_b[-1]}" "$B_LAST" 2)")
		log "(b) round $r gadn: last done at $B_LAST s (each: ${B_DONE[*]}); origin sent $(ratio "$B_SENT" "$BYTES_B" 2) x the file; from the origin (MiB) $B_FROM_ORIGIN/ from peers $B_FROM_PEERS; wrong files $B_BAD; curl / gadn = ${RATIO_b[-1]}"
		sync
	done
	check b_files "(b) every downloader's file right (curl and gadn, every round)" "$((B_BAD_TOTAL == 0))" "$B_BAD_TOTAL wrong"
}

if [[ -z "$SKIP_b" ]] && ! need_space $(((3 * B_N + 2) * BYTES_B + (1 << 30))); then
	SKIP_b="needs $((3 * B_N + 2))x$B_SIZE_ARG + 1GiB free in $BENCH_TMP, have $(human "$(disk_free "$BENCH_TMP")")"
	log "SKIPPED part (b): $SKIP_b"
fi
if [[ -z "$SKIP_b" ]]; then
	if b_setup; then
		part_b
		stop_seeds
		stop_pid "$NGINX_PID"
		rm -rf -- "$B_ORIGIN" "$RUN_DIR/b-www"
	else
		SKIP_b="cannot add the downloaders' namespaces: $(tail -n 1 "$RUN_DIR/netns.log")"
		log "SKIPPED part (b): $SKIP_b"
	fi
fi

# ---------------------------------------------------------------- (c) faults

# fault_clone N DEST: the clone in the background (stdout+stderr to c-N.log); sets CLONE_PID
CLONE_PID=""
fault_clone() {
	clone_cmd "$2" "$C_TIMEOUT"
	bg_start "" "$RUN_DIR/c-$1.log" "$RUN_DIR/c-$1.err" "${CLONE_CMD[@]}"
	CLONE_PID="$BG_PID"
}

# wait_third DEST: until DEST's store holds a third of the file (returns 0), or the clone
# ended first (returns 1; the fault came too late)
wait_third() {
	local dest="$1" n
	for ((n = 0; n < C_TIMEOUT * 10; n++)); do
		alive "$CLONE_PID" || return 1
		(($(store_bytes "$dest") >= BYTES_C / 3)) && return 0
		sleep 0.1
	done
	return 1
}

# sampler DEST OUT: "ns bytes" of DEST's store every 0.1 s, in the background; SAMPLER_PID
SAMPLER_PID=""
start_sampler() {
	local dest="$1" out="$2"
	(
		while :; do
			echo "$(date +%s%N) $(store_bytes "$dest")"
			sleep 0.1
		done
	) >"$out" 2>/dev/null &
	SAMPLER_PID=$!
	BG_PIDS+=("$SAMPLER_PID")
}

# err_lines FILE: the clone's error message (error: and caused by: lines)
err_lines() { tr '\r' '\n' <"$1" | grep -E '^(error|  caused by):' || true; }

declare -a C_SUMMARY=()
C2_PAUSE="" C2_RATE_BEFORE="" C2_RATE_AFTER=""

fault_kill_one() {
	local k="$FAULT_KILL_SEED" dest="$RUN_DIR/c1-clone" log="$RUN_DIR/c-1.log" v t_kill
	log "(c1) clone; seed $k gets SIGKILL once a third has landed"
	start_seeds c
	fault_clone 1 "$dest"
	wait_third "$dest" || die "(c1) the clone ended before a third of the file landed (raise FAULT_SIZE or lower FAULT_RATE_MBIT)"
	t_kill=$(date +%s%N)
	kill9_pid "${SEED_PID[k]}"
	SEED_PID[k]=""
	log "(c1) killed seed $k at $(human "$(store_bytes "$dest")") in the store"
	wait_pid "$CLONE_PID"
	local rc="$WAIT_RC"
	log "(c1) clone exited $rc, $(awk -v a="$t_kill" -v b="$(date +%s%N)" 'BEGIN{printf "%.1f", (b-a)/1e9}') s after the kill"
	stop_seeds
	if ((rc != 0)); then
		tail -n 5 "$RUN_DIR/c-1.err" >&2
		err_lines "$RUN_DIR/c-1.err" >&2
		check c1_clone "(c1) clone completes with seed $k killed mid-transfer" 0 "exit $rc"
		return 0
	fi
	local same=0
	cmp -s -- "$SRC" "$dest/asset.bin" && same=1
	check c1_clone "(c1) clone completes with seed $k killed mid-transfer, file right" "$same" "exit 0, cmp $( ((same)) && echo same || echo DIFFERS)"
	sources_table "$log" >&2
	mapfile -t v < <(jq_swarm "$log" 't["assigned"]' 't["runs"]' 't["endgame_duplicates"]' 't["requeued"]' \
		"sum(x['errors'] for i, x in enumerate(s) if i != $k - 1)" \
		"s[$k - 1]['errors']" "s[$k - 1]['stalls']" "s[$k - 1]['dropped']" \
		'sum(x["bytes"] for x in s) - t["bytes"]')
	local assigned="${v[0]}" runs="${v[1]}" eg="${v[2]}" rq="${v[3]}" surv_err="${v[4]}"
	local unexplained=$((assigned - runs - eg - rq)) extra=$((v[8]))
	check c1_accounting "(c1) assigned - runs - endgame_duplicates - requeued == 0" "$((unexplained == 0))" \
		"$assigned - $runs - $eg - $rq = $unexplained"
	check c1_retries "(c1) requeues only from the killed seed (survivors' errors == 0)" "$((surv_err == 0))" \
		"requeued $rq; killed seed: errors ${v[5]}, stalls ${v[6]}, dropped: ${v[7]}; survivors' errors $surv_err"
	check c1_dup_bytes "(c1) bytes beyond the plan <= endgame_duplicates x 2 MiB" "$((extra <= eg * (2 << 20)))" \
		"$(human "$extra") <= $eg x 2 MiB = $(human $((eg * (2 << 20))))"
	rm -rf -- "$dest"
}

fault_stall_one() {
	local k="$FAULT_STALL_SEED" dest="$RUN_DIR/c2-clone" log="$RUN_DIR/c-2.log" v t_stall
	log "(c2) clone; seed $k's link drops everything once a third has landed"
	start_seeds c
	fault_clone 2 "$dest"
	start_sampler "$dest" "$RUN_DIR/c2-samples.txt"
	wait_third "$dest" || die "(c2) the clone ended before a third of the file landed (raise FAULT_SIZE or lower FAULT_RATE_MBIT)"
	t_stall=$(date +%s%N)
	stall_link "$k"
	log "(c2) seed $k's link: $STALL_HOW, at $(human "$(store_bytes "$dest")") in the store"
	wait_pid "$CLONE_PID"
	local rc="$WAIT_RC"
	log "(c2) clone exited $rc, $(awk -v a="$t_stall" -v b="$(date +%s%N)" 'BEGIN{printf "%.1f", (b-a)/1e9}') s after the stall"
	stop_pid "$SAMPLER_PID"
	stop_seeds
	set_rate "$k" "$FAULT_RATE_MBIT"
	# the pause: longest time without store growth after the fault; rates 3 s before/after
	local pause
	pause="$(awk -v t0="$t_stall" '
		{ t = $1; b = $2 }
		t < t0 - 3e9 { next }
		t <= t0 { if (nb++ == 0) { tb0 = t; bb0 = b } tb1 = t; bb1 = b; gt = t; gb = b; next }
		{
			if (na++ == 0) { ta0 = nb ? tb1 : t; ba0 = nb ? bb1 : b; if (!nb) { gt = t; gb = b } }
			if (t <= t0 + 3e9) { ta1 = t; ba1 = b }
			if (b > gb) { if (t - gt > maxgap) maxgap = t - gt; gt = t; gb = b }
		}
		END {
			rb = (tb1 > tb0) ? (bb1 - bb0) * 8 / 1e6 / ((tb1 - tb0) / 1e9) : 0
			ra = (ta1 > ta0) ? (ba1 - ba0) * 8 / 1e6 / ((ta1 - ta0) / 1e9) : 0
			printf "%.1f %.1f %.1f\n", maxgap / 1e9, rb, ra
		}' "$RUN_DIR/c2-samples.txt")"
	read -r C2_PAUSE C2_RATE_BEFORE C2_RATE_AFTER <<<"$pause"
	C_SUMMARY+=("(c2) after the stall: longest time without store growth $C2_PAUSE s; store growth $C2_RATE_BEFORE Mbit/s in the 3 s before, $C2_RATE_AFTER Mbit/s in the 3 s after (0.1 s samples; includes write batching)")
	if ((rc != 0)); then
		tail -n 5 "$RUN_DIR/c-2.err" >&2
		check c2_clone "(c2) clone completes with seed $k's link dropping all" 0 "exit $rc"
		return 0
	fi
	local same=0
	cmp -s -- "$SRC" "$dest/asset.bin" && same=1
	check c2_clone "(c2) clone completes with seed $k's link dropping all, file right" "$same" "exit 0, cmp $( ((same)) && echo same || echo DIFFERS)"
	sources_table "$log" >&2
	mapfile -t v < <(jq_swarm "$log" "s[$k - 1]['stalls']" 't["requeued"]' "s[$k - 1]['dropped']" "s[$k - 1]['last_error']" "s[$k - 1]['bytes']")
	check c2_stalls "(c2) the stalled seed shows stalls >= 1 and requeued >= 1" "$((v[0] >= 1 && v[1] >= 1))" \
		"stalls ${v[0]}, requeued ${v[1]}; dropped: ${v[2]}; last error: ${v[3]}"
	json_add c2_pause_s "$C2_PAUSE"
	rm -rf -- "$dest"
}

fault_kill_all() {
	local dest="$RUN_DIR/c3-clone" v i t_kill landed said
	log "(c3) clone; every seed gets SIGKILL once a third has landed"
	start_seeds c
	fault_clone 3 "$dest"
	wait_third "$dest" || die "(c3) the clone ended before a third of the file landed (raise FAULT_SIZE or lower FAULT_RATE_MBIT)"
	t_kill=$(date +%s%N)
	for i in 1 2 3; do
		kill9_pid "${SEED_PID[i]}"
		SEED_PID[i]=""
	done
	wait_pid "$CLONE_PID"
	local rc="$WAIT_RC" secs
	secs="$(awk -v a="$t_kill" -v b="$(date +%s%N)" 'BEGIN{printf "%.1f", (b-a)/1e9}')"
	local msg
	msg="$(err_lines "$RUN_DIR/c-3.err")"
	log "(c3) clone exited $rc, $secs s after the kill; its message:"
	printf '%s\n' "$msg" | sed 's/^/    /' >&2
	C_SUMMARY+=("(c3) first clone: exit $rc, $secs s after every seed was killed; message:")
	while IFS= read -r line; do C_SUMMARY+=("       $line"); done <<<"$msg"
	check c3_fails "(c3) every seed killed: the clone exits nonzero with an error" \
		"$((rc != 0 && rc != 124 && rc != 137 && ${#msg} > 0))" "exit $rc after $secs s$( ((rc == 124)) && echo ' (timeout)')"
	landed="$(landed_bytes "$dest")"
	# the error also says what is left; for the record
	said="$(grep -o 'runs ([0-9]* bytes)' <<<"$msg" | grep -o '[0-9]*' | tail -n 1 || true)"
	log "(c3) landed before the kill: $(human "$landed") ($landed B, gadn stats stored_chunk_bytes); the error said ${said:-?} B left (FAULT_SIZE - landed = $((BYTES_C - landed)))"
	json_add c3_landed_bytes "$landed"
	log "(c3) seeds restarted; the same clone into the same DIR"
	start_seeds c
	clone_cmd "$dest" "$C_TIMEOUT"
	local rc2=0
	"${CLONE_CMD[@]}" >"$RUN_DIR/c-3b.log" 2>"$RUN_DIR/c-3b.err" || rc2=$?
	stop_seeds
	if ((rc2 != 0)); then
		tail -n 5 "$RUN_DIR/c-3b.err" >&2
		check c3_resume "(c3) the re-run clone into the same DIR completes" 0 "exit $rc2"
		return 0
	fi
	local same=0
	cmp -s -- "$SRC" "$dest/asset.bin" && same=1
	check c3_resume "(c3) the re-run clone into the same DIR completes, file right" "$same" "exit 0, cmp $( ((same)) && echo same || echo DIFFERS)"
	sources_table "$RUN_DIR/c-3b.log" >&2
	mapfile -t v < <(jq_swarm "$RUN_DIR/c-3b.log" 'sum(x["bytes"] for x in s)' 't["bytes"]' 't["endgame_duplicates"]')
	local got="${v[0]}" planned="${v[1]}" eg="${v[2]}" left=$((BYTES_C - landed))
	local limit=$((left + RESUME_SLACK_BYTES)) eg_bytes=$((v[2] * (2 << 20)))
	C_SUMMARY+=("(c3) landed in the first run $(human "$landed"); the second run planned $(human "$planned") (FAULT_SIZE - landed = $(human "$left")), received $(human "$got") ($eg endgame copies)")
	if ((got > limit)); then
		C_SUMMARY+=("(c3) note: received > FAULT_SIZE - landed + RESUME_SLACK ($(human "$got") > $(human "$limit")): the excess is endgame copies, see the last check")
	fi
	check c3_plan "(c3) 2nd run planned bytes <= FAULT_SIZE - landed + RESUME_SLACK" "$((planned <= limit))" \
		"$planned <= $BYTES_C - $landed + $RESUME_SLACK_BYTES = $limit"
	check c3_no_refetch "(c3) 2nd run received <= that + endgame_duplicates x 2 MiB" "$((got <= limit + eg_bytes))" \
		"$got <= $limit + $eg x 2 MiB = $((limit + eg_bytes))"
	json_add c3_second_bytes "$got"
	json_add c3_second_planned "$planned"
	rm -rf -- "$dest"
}

if [[ -z "$SKIP_c" ]] && ! need_space $((5 * BYTES_C + (1 << 30))); then
	SKIP_c="needs 5x$FAULT_SIZE_ARG + 1GiB free in $BENCH_TMP, have $(human "$(disk_free "$BENCH_TMP")")"
	log "SKIPPED part (c): $SKIP_c"
fi
if [[ -z "$SKIP_c" ]]; then
	for i in 1 2 3; do set_rate "$i" "$FAULT_RATE_MBIT"; done
	RATE_NOW="$FAULT_RATE_MBIT"
	make_seeds c "$BYTES_C"
	warm_seeds
	log "(c) seeds at ${FAULT_RATE_MBIT} Mbit/s each, $(human "$BYTES_C"), clone timeout ${C_TIMEOUT}s"
	fault_kill_one
	fault_stall_one
	fault_kill_all
	rm -rf -- "${SEED_REPO[@]}"
fi
netns_teardown

# ---------------------------------------------------------------- report

echo
echo "gadn clone from three seeds (--peer): random files; $(nproc) cores, load average $load_start at start, $(cut -d' ' -f1 /proc/loadavg) at end"
if [[ -z "$SKIP_a" ]]; then
	ga="$(median "${W_a[@]}")"
	ga_mbit="$(mbit "$BYTES_A" "$ga")"
	ga_pct="$(pct "$ga_mbit" $((3 * RATE_MBIT)))"
	echo "(a) $(human "$BYTES_A"), three seeds at ${RATE_MBIT} Mbit/s each (tbf), added RTT ${RTT_ADDED} ms$RTT_NOTE; $ROUNDS rounds (+$WARMUP warm-up), medians"
	row "" "median" "per round"
	rule
	row "  clone wall, s" "$ga" "${W_a[*]}"
	row "  Mbit/s" "$ga_mbit" "${MBIT_a[*]}"
	row "  % of 3 x ${RATE_MBIT} Mbit/s" "$ga_pct" ""
	row "  share seed1 (origin), %" "$(median "${SHARE1_a[@]}")" "${SHARE1_a[*]}"
	row "  share seed2, %" "$(median "${SHARE2_a[@]}")" "${SHARE2_a[*]}"
	row "  share seed3, %" "$(median "${SHARE3_a[@]}")" "${SHARE3_a[*]}"
	row "  bytes beyond the plan, MiB" "$(awk -v b="$(median "${WASTE_a[@]}")" 'BEGIN{printf "%.1f", b/1048576}')" ""
	row "  clone CPU user+sys, s" "$(median "${CPU_a[@]}")" "${CPU_a[*]}"
	row "  clone peak RSS, MiB" "$(kib_to_mib "$(max "${RSS_a[@]}")")" ""
	rule
	[[ -n "$A_WARN" ]] && echo "  warnings:$A_WARN"
	echo "  shares: each seed's bytes / all bytes received (endgame copies included); bytes beyond the plan: received - planned"
	json_add a_wall_s "$(json_arr "${W_a[@]}")"
	json_add a_mbit "$ga_mbit"
	json_add a_pct_of_links "$ga_pct"
	json_add a_share1 "$(json_arr "${SHARE1_a[@]}")"
	json_add a_share2 "$(json_arr "${SHARE2_a[@]}")"
	json_add a_share3 "$(json_arr "${SHARE3_a[@]}")"
	json_add a_extra_bytes "$(json_arr "${WASTE_a[@]}")"
	json_add a_clone_cpu_s "$(json_arr "${CPU_a[@]}")"
	json_add a_clone_rss_kib "$(max "${RSS_a[@]}")"
else
	echo "(a) sum of links: skipped ($SKIP_a)"
	json_add a_skipped "$SKIP_a"
fi
if [[ -z "$SKIP_b" ]]; then
	gb_curl="$(median "${W_curl_b[@]}")"
	gb_gadn="$(median "${W_gadn_b[@]}")"
	gb_ratio="$(median "${RATIO_b[@]}")"
	echo "(b) $(human "$BYTES_B"), one origin at ${B_RATE_MBIT} Mbit/s up, $B_N downloaders at ${B_RATE_MBIT} Mbit/s up and down, all at once; $B_ROUNDS rounds, medians"
	row "" "median" "per round"
	rule
	row "  curl: last done, s" "$gb_curl" "${W_curl_b[*]}"
	row "  gadn: last done, s" "$gb_gadn" "${W_gadn_b[*]}"
	row "  gadn: first done, s" "$(median "${FIRST_gadn_b[@]}")" "${FIRST_gadn_b[*]}"
	row "  curl / gadn" "$gb_ratio" "${RATIO_b[*]}"
	row "  1 file at origin rate, s" "$(awk -v b="$BYTES_B" -v r="$B_RATE_MBIT" 'BEGIN{printf "%.1f", b*8/(r*1e6)}')" ""
	row "  origin sent, x file: curl" "$(median "${SENT_curl_b[@]}")" "${SENT_curl_b[*]}"
	row "  origin sent, x file: gadn" "$(median "${SENT_gadn_b[@]}")" "${SENT_gadn_b[*]}"
	row "  gadn peak RSS (max), MiB" "$(kib_to_mib "$B_RSS_MAX")" ""
	rule
	echo "  origin sent: bytes through the origin's link (tc counter, headers included) / file size"
	json_add b_curl_s "$(json_arr "${W_curl_b[@]}")"
	json_add b_gadn_s "$(json_arr "${W_gadn_b[@]}")"
	json_add b_ratio "$gb_ratio"
	json_add b_origin_sent_curl "$(json_arr "${SENT_curl_b[@]}")"
	json_add b_origin_sent_gadn "$(json_arr "${SENT_gadn_b[@]}")"
	json_add b_clone_rss_kib "$B_RSS_MAX"
else
	echo "(b) swarm against one HTTP origin: skipped ($SKIP_b)"
	json_add b_skipped "$SKIP_b"
fi
if [[ -z "$SKIP_c" ]]; then
	echo "(c) faults: $(human "$BYTES_C"), three seeds at ${FAULT_RATE_MBIT} Mbit/s each, fault at a third landed; stall by: ${STALL_HOW:-?}"
	for line in "${C_SUMMARY[@]}"; do echo "  $line"; done
else
	echo "(c) faults: skipped ($SKIP_c)"
	json_add c_skipped "$SKIP_c"
fi
echo
echo "requirements:"
if [[ -z "$SKIP_a" ]]; then
	req a_sum_of_links "(a) clone Mbit/s, three ${RATE_MBIT} Mbit/s seeds" "$ga_mbit" ">=" "$(awk -v r="$RATE_MBIT" 'BEGIN{printf "%.1f", 0.9 * 3 * r}')"
fi
if [[ -z "$SKIP_b" ]]; then
	req b_swarm_vs_http "(b) last downloader: curl time / gadn time" "$gb_ratio" ">=" "3"
fi
for line in "${CHECK_LINES[@]}"; do echo "$line"; done
json_add loadavg_end "$(cut -d' ' -f1 /proc/loadavg)"
bench_finish
