# shellcheck shell=bash
# Shared by scripts/bench.sh and bench/vs-nmap (sourced, not run): start
# and stop a simulated fleet by PID, time a scan with GNU time, keep the
# open-file limit high enough. Callers set KENSA (the binary), BENCHTOOL
# (bench/benchtool.py) and WORK (a temporary directory), and call
# bench_cleanup from their EXIT trap.

FLEET_PID=""
SCAN_PID=""
# SCAN_PIDS are scans running side by side (bench_screen), by PID.
SCAN_PIDS=()

bench_log() { printf '%s\n' "$*" >&2; }

bench_die() {
	bench_log "bench: $*"
	exit 1
}

# bench_nofile raises this shell's soft open-file limit to 20,000 (what a
# fleet process needs; the fleet spreads itself over child processes
# within it) or to the hard limit when that is lower, and says so.
bench_nofile() {
	local want=20000 soft hard
	soft=$(ulimit -Sn)
	hard=$(ulimit -Hn)
	if [ "$soft" != unlimited ] && [ "$soft" -lt "$want" ]; then
		if [ "$hard" = unlimited ] || [ "$hard" -ge "$want" ]; then
			ulimit -Sn "$want"
		else
			ulimit -Sn "$hard"
			bench_log "bench: the open-file limit is $hard (hard), under $want: the fleet will use more child processes, and may refuse a large fleet"
		fi
	fi
}

# bench_fleet_start PROFILE SERVERS DIR: plays the fleet in the
# background (inventory and truth in DIR), records its PID in FLEET_PID
# and waits until it prints "ready". On failure it prints the fleet's own
# words and returns 1.
bench_fleet_start() {
	local profile=$1 n=$2 dir=$3 rc=0
	mkdir -p "$dir"
	if [ -n "$FLEET_PID" ]; then
		bench_die "internal: a fleet (PID $FLEET_PID) is still running"
	fi
	"$KENSA" fleet --profile "$profile" --servers "$n" \
		--inventory "$dir/inventory.csv" --truth "$dir/truth.csv" \
		>"$dir/fleet.out" 2>"$dir/fleet.err" &
	FLEET_PID=$!
	local start=$SECONDS
	until grep -qx ready "$dir/fleet.out" 2>/dev/null; do
		if ! kill -0 "$FLEET_PID" 2>/dev/null; then
			wait "$FLEET_PID" || rc=$?
			FLEET_PID=""
			bench_log "bench: kensa fleet --profile $profile --servers $n exited (code $rc) before it was ready:"
			sed 's/^/  /' "$dir/fleet.err" >&2
			return 1
		fi
		if [ $((SECONDS - start)) -gt 300 ]; then
			bench_log "bench: kensa fleet --profile $profile --servers $n not ready after 300 s"
			bench_fleet_stop
			return 1
		fi
		sleep 0.2
	done
	bench_log "bench: fleet $profile: $n servers ready in $((SECONDS - start)) s (PID $FLEET_PID)"
}

# bench_fleet_stop ends the fleet started by bench_fleet_start: SIGTERM
# to its PID (it stops its children and waits for them), SIGKILL to the
# same PID after 30 s.
bench_fleet_stop() {
	[ -n "$FLEET_PID" ] || return 0
	local pid=$FLEET_PID i
	FLEET_PID=""
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 150; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$pid" 2>/dev/null; then
		bench_log "bench: fleet PID $pid still running after 30 s; SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

# bench_cleanup stops a scan in progress and the fleet, and removes WORK
# (unless BENCH_KEEP is set); for EXIT traps.
bench_cleanup() {
	if [ -n "${SCAN_PID:-}" ]; then
		# SCAN_PID is /usr/bin/time (env execs it); the scan is its child.
		# TERM to the scan by its PID: it stops cleanly and time returns.
		local child
		for child in $(pgrep -P "$SCAN_PID" 2>/dev/null); do
			kill -TERM "$child" 2>/dev/null || true
		done
		wait "$SCAN_PID" 2>/dev/null || true
		SCAN_PID=""
	fi
	local pid
	for pid in ${SCAN_PIDS[@]+"${SCAN_PIDS[@]}"}; do
		for child in $(pgrep -P "$pid" 2>/dev/null); do
			kill -TERM "$child" 2>/dev/null || true
		done
		wait "$pid" 2>/dev/null || true
	done
	SCAN_PIDS=()
	bench_fleet_stop
	if [ -n "${WORK:-}" ] && [ -d "$WORK" ]; then
		if [ -n "${BENCH_KEEP:-}" ]; then
			bench_log "bench: kept $WORK"
		else
			rm -rf "$WORK"
		fi
	fi
}

# bench_timed_scan INVENTORY RESULTS TIMEFILE [SCAN FLAGS…]: runs
# `kensa scan` with its documented defaults under /usr/bin/time -v (no
# GOMEMLIMIT or GOGC from the caller's environment: the binary's own
# settings are measured). The grade table goes to RESULTS.table, stderr
# to RESULTS.err.
bench_timed_scan() {
	local inv=$1 out=$2 tf=$3 rc=0
	shift 3
	# In the background and waited for, so that an INT or TERM trap of the
	# caller runs at once (bench_cleanup then stops the scan by its PID).
	env -u GOMEMLIMIT -u GOGC /usr/bin/time -v -o "$tf" \
		"${KENSA_SCAN:-$KENSA}" scan -i "$inv" -o "$out" --overwrite --quiet "$@" \
		>"$out.table" 2>"$out.err" &
	SCAN_PID=$!
	wait "$SCAN_PID" || rc=$?
	SCAN_PID=""
	if [ "$rc" -ne 0 ]; then
		bench_log "bench: kensa scan -i $inv exited with code $rc:"
		tail -n 20 "$out.err" | sed 's/^/  /' >&2
		return 1
	fi
}

# bench_floor INVENTORY DIR SOLO: the benchmark's floor, the slowest
# server of the fleet scanned alone over every distinct host composition
# (services, behaviours, limits, delays: benchtool compositions). One
# server of each composition is scanned alone, a few such scans side by
# side to screen them (a scan of one server uses a few percent of a
# core); then the SOLO slowest of the screening are scanned again one at
# a time, each truly alone, and the longest of those walls is the
# floor. Sets FLOOR (seconds), FLOOR_ID,
# FLOOR_COMPOSITION and FLOOR_COUNT (compositions).
bench_floor() {
	local inv=$1 dir=$2 solo=$3 id n comp i=0 w best=0 line pids=()
	mkdir -p "$dir"
	python3 "$BENCHTOOL" compositions "$inv" >"$dir/compositions.txt" || return 1
	FLOOR_COUNT=$(wc -l <"$dir/compositions.txt")
	bench_log "bench: $FLOOR_COUNT host compositions; screening each alone, 4 at a time…"
	while read -r id n comp; do
		python3 "$BENCHTOOL" row "$inv" "$id" "$dir/$id.csv" || return 1
		env -u GOMEMLIMIT -u GOGC /usr/bin/time -v -o "$dir/$id.time" \
			"${KENSA_SCAN:-$KENSA}" scan -i "$dir/$id.csv" -o "$dir/$id.jsonl" --overwrite --quiet >"$dir/$id.table" 2>"$dir/$id.err" &
		SCAN_PIDS+=($!)
		if [ "${#SCAN_PIDS[@]}" -ge 4 ]; then
			wait "${SCAN_PIDS[0]}" || true
			SCAN_PIDS=("${SCAN_PIDS[@]:1}")
		fi
	done <"$dir/compositions.txt"
	for id in ${SCAN_PIDS[@]+"${SCAN_PIDS[@]}"}; do wait "$id" || true; done
	SCAN_PIDS=()
	: >"$dir/screen.txt"
	while read -r id n comp; do
		line=$(bench_timev "$dir/$id.time") || return 1
		read -r w _ _ <<<"$line"
		echo "$w $id" >>"$dir/screen.txt"
	done <"$dir/compositions.txt"
	FLOOR=0
	while read -r w id; do
		i=$((i + 1))
		bench_timed_scan "$dir/$id.csv" "$dir/$id-alone.jsonl" "$dir/$id-alone.time" || return 1
		line=$(bench_timev "$dir/$id-alone.time") || return 1
		read -r w _ _ <<<"$line"
		bench_log "bench:   $id alone: $w s ($(grep "^$id " "$dir/compositions.txt" | cut -d' ' -f3-))"
		if [ "$(bench_calc "print ($w > $FLOOR) ? 1 : 0")" = 1 ]; then
			FLOOR=$w
			FLOOR_ID=$id
		fi
	done < <(sort -rn "$dir/screen.txt" | head -n "$solo")
	FLOOR_COMPOSITION=$(grep "^$FLOOR_ID " "$dir/compositions.txt" | cut -d' ' -f3-)
}

# bench_timev TIMEFILE: prints "wall_s cpu_s rss_kib".
bench_timev() { python3 "$BENCHTOOL" timev "$1"; }

# bench_calc AWK-STATEMENTS: runs them in awk's BEGIN block (floating-point
# arithmetic and printf for the shell), e.g. bench_calc 'printf "%.2f", 3/2'.
bench_calc() { awk "BEGIN { $1 }" </dev/null; }
