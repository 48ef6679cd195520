# Sourced by the benchmark scripts: the small measurements they all take.
# median N...: the middle value (the lower middle of an even count).
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# rss_kib PID: resident memory in KiB.
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
# cpu_ticks PID: user + system CPU time so far, in clock ticks (getconf CLK_TCK per second).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
