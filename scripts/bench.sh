#!/usr/bin/env bash
# The performance benchmark (`make bench`, `make bench-scale`).
#
# make bench: for the fleet without tarpits ("bench-no-tarpits") and then
# the one with them ("bench"), each of 1,900 servers on 127.1.x.y, one
# after the other: play the fleet, scan it with kensa's documented
# defaults under /usr/bin/time -v (wall time, CPU seconds, peak RSS of the
# scanner), then find the critical path — the time the slowest server of
# that fleet takes when scanned alone, over every distinct host
# composition of the fleet (services × behaviours × limits × delays): one
# server of each is scanned alone with the same defaults, four such
# scans side by side to screen them, then the 5 slowest of the screening
# again one at a time; the longest of those walls is the critical path.
# The servers slowest in the full scan are listed for information (with
# tarpits they are servers slowed by the crowd, not the slowest alone).
# The last line is
#   bench: hosts=N wall_s=X critical_s=Y ratio=Z rss_mb=W
# for the fleet with tarpits. Targets: ratio <= 1.2, rss <= 250 MB. Every
# scan's verdicts are compared with its fleet's truth: when any differs,
# the benchmark says where and exits 1, whatever its speed.
#
# make bench-scale (--scale): peak RSS of the scan of the "bench" fleet at
# 1,900 and at 10,000 servers, and whether memory stays flat.
#
# Options: --scale, --servers N (default 1900), --large N (default 10000),
# --solo K (compositions scanned again truly alone, default 5), --cpuprofile FILE (CPU
# profile of the scan of the fleet with tarpits), --scanner BIN (scan
# with another kensa binary, such as an older one, the fleet still
# played by bin/kensa), --keep (keep the work directory). MB here are MiB (peak RSS in KiB / 1024).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
KENSA=$ROOT/bin/kensa
BENCHTOOL=$ROOT/bench/benchtool.py
# shellcheck source=../bench/lib.sh
. "$ROOT/bench/lib.sh"

MODE=bench
SERVERS=1900
# TRUTH_FAILED names the fleets where some verdict differed from the
# truth: the benchmark then fails, whatever its speed.
TRUTH_FAILED=""
LARGE=10000
SOLO=5
CPUPROFILE=""
SCANNER=""
FLAT_MAX=1.25
while [ $# -gt 0 ]; do
	case $1 in
	--scale) MODE=scale ;;
	--servers) SERVERS=$2; shift ;;
	--large) LARGE=$2; shift ;;
	--solo) SOLO=$2; shift ;;
	--cpuprofile) CPUPROFILE=$(realpath -m "$2"); shift ;;
	--scanner) SCANNER=$(realpath -m "$2"); shift ;;
	--keep) BENCH_KEEP=1 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) bench_die "unknown argument $1 (see --help)" ;;
	esac
	shift
done

[ -x "$KENSA" ] || bench_die "$KENSA is missing: run 'make build' (make bench does)"
[ -x /usr/bin/time ] || bench_die "GNU time (/usr/bin/time) is missing: apt-get install time"
command -v python3 >/dev/null || bench_die "python3 is missing"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kensa-bench.XXXXXX")
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
bench_nofile
# A private copy: a rebuild of bin/kensa during the run changes nothing.
cp "$KENSA" "$WORK/kensa"
KENSA=$WORK/kensa
# The scans may use another binary (--scanner); the fleet is bin/kensa's.
if [ -n "${SCANNER:-}" ]; then
	cp "$SCANNER" "$WORK/kensa-scan"
	KENSA_SCAN=$WORK/kensa-scan
fi

# truth_verdict exits 1 when a scan's verdicts differed from its fleet's
# truth: a fast wrong scan is not a result.
truth_verdict() {
	if [ -n "$TRUTH_FAILED" ]; then
		echo "bench: FAILED: verdicts differ from the truth in $TRUTH_FAILED (listed above)" >&2
		exit 1
	fi
}

# measure PROFILE SERVERS WITH_CRITICAL: sets M_WALL M_CPU M_RSS (KiB)
# M_CRIT M_SLOWEST M_TRUTH for one fleet.
measure() {
	local profile=$1 n=$2 crit=$3 dir line extra=()
	dir=$WORK/$profile-$n
	bench_fleet_start "$profile" "$n" "$dir" || return 1
	if [ -n "$CPUPROFILE" ] && [ "$profile" = bench ] && [ "$crit" = yes ]; then
		extra=(--cpuprofile "$CPUPROFILE")
	fi
	bench_log "bench: scanning $n servers ($profile)…"
	bench_timed_scan "$dir/inventory.csv" "$dir/results.jsonl" "$dir/time.txt" ${extra[@]+"${extra[@]}"} || return 1
	line=$(bench_timev "$dir/time.txt") || return 1
	read -r M_WALL M_CPU M_RSS <<<"$line"
	local rc=0
	line=$(python3 "$BENCHTOOL" truth "$dir/results.jsonl" "$dir/truth.csv" M1,M2,M3,S1,S2,S3,A1,P1,X1,X2) || rc=$?
	case $rc in
	0) ;;
	3)
		TRUTH_FAILED+="${TRUTH_FAILED:+; }$profile ($n servers)"
		printf '%s\n' "$line" >&2
		;;
	*) return 1 ;;
	esac
	M_TRUTH=${line%%$'\n'*}
	bench_log "bench: $profile: wall $M_WALL s, CPU $M_CPU s, peak RSS $((M_RSS / 1024)) MB; $M_TRUTH"
	M_CRIT=0
	M_SLOWEST=""
	M_FLOOR=""
	if [ "$crit" = yes ]; then
		M_SLOWEST=$(python3 "$BENCHTOOL" slowest "$dir/results.jsonl" "$SOLO" | awk '{printf "%s%s %s ms", (NR>1?", ":""), $1, $2}') || return 1
		bench_floor "$dir/inventory.csv" "$dir/floor" "$SOLO" || return 1
		M_CRIT=$FLOOR
		M_FLOOR="$FLOOR_ID, $FLOOR s alone, the slowest of $FLOOR_COUNT compositions: $FLOOR_COMPOSITION"
		bench_log "bench: $profile: floor $FLOOR s ($M_FLOOR)"
	fi
	bench_fleet_stop
}

row() { # label hosts wall crit cpu rss_kib
	bench_calc "printf \"%-18s %6d %8.1f %11.1f %6.2f %7.1f %7d %10.1f\n\", \"$1\", $2, $3, $4, $3/$4, $5, int($6/1024 + 0.5), $2/$3"
}

header() {
	printf '%-18s %6s %8s %11s %6s %7s %7s %10s\n' fleet hosts wall_s critical_s ratio cpu_s rss_mb servers/s
}

if [ "$MODE" = bench ]; then
	declare -A R
	for profile in bench-no-tarpits bench; do
		measure "$profile" "$SERVERS" yes
		R[$profile]="$M_WALL $M_CRIT $M_CPU $M_RSS"
		R[$profile.slowest]=$M_SLOWEST
		R[$profile.floor]=$M_FLOOR
		R[$profile.truth]=$M_TRUTH
	done
	echo
	echo "kensa benchmark: $SERVERS simulated servers per fleet on 127.1.x.y, documented default bounds and timeouts"
	echo "(scanner $("${KENSA_SCAN:-$KENSA}" version), $(nproc) cores; critical = the slowest server scanned alone over every host composition)"
	echo
	header
	for profile in bench-no-tarpits bench; do
		read -r wall crit cpu rss <<<"${R[$profile]}"
		label=$profile
		[ "$profile" = bench ] && label="bench (tarpits)"
		row "$label" "$SERVERS" "$wall" "$crit" "$cpu" "$rss"
	done
	echo
	for profile in bench-no-tarpits bench; do
		echo "$profile floor: ${R[$profile.floor]}"
		echo "$profile slowest in the full scan: ${R[$profile.slowest]}"
		echo "$profile ${R[$profile.truth]}"
	done
	echo "targets: ratio <= 1.2, peak RSS <= 250 MB"
	read -r wall crit cpu rss <<<"${R[bench]}"
	bench_calc "printf \"bench: hosts=%d wall_s=%.1f critical_s=%.1f ratio=%.2f rss_mb=%d\n\", $SERVERS, $wall, $crit, $wall/$crit, int($rss/1024 + 0.5)"
	truth_verdict
	exit 0
fi

# --scale
declare -A S
for n in "$SERVERS" "$LARGE"; do
	if ! measure bench "$n" no; then
		if [ "$n" = "$LARGE" ]; then
			echo "bench-scale: this machine cannot hold a fleet of $n servers (see kensa fleet's words above); measured only $SERVERS" >&2
			exit 1
		fi
		exit 1
	fi
	S[$n]="$M_WALL $M_CPU $M_RSS"
done
echo
echo "kensa bench-scale: fleet \"bench\" (with tarpits), documented default bounds ($("$KENSA" version), $(nproc) cores)"
printf '%-8s %8s %7s %7s %10s\n' hosts wall_s cpu_s rss_mb servers/s
for n in "$SERVERS" "$LARGE"; do
	read -r wall cpu rss <<<"${S[$n]}"
	bench_calc "printf \"%-8d %8.1f %7.1f %7d %10.1f\n\", $n, $wall, $cpu, int($rss/1024 + 0.5), $n/$wall"
done
read -r _ _ small <<<"${S[$SERVERS]}"
read -r _ _ large <<<"${S[$LARGE]}"
flat=$(bench_calc "print ($large/$small <= $FLAT_MAX) ? \"yes\" : \"no\"")
echo "memory flat means peak RSS at $LARGE servers <= $FLAT_MAX x the RSS at $SERVERS"
bench_calc "printf \"bench-scale: hosts=%d rss_mb=%d hosts=%d rss_mb=%d rss_ratio=%.2f flat=$flat\n\", $SERVERS, int($small/1024 + 0.5), $LARGE, int($large/1024 + 0.5), $large/$small"
truth_verdict
