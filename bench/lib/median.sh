# The middle line of sorted input, the upper middle of an even count: the run that stands for a repeated measurement,
# the same rule as bench/Shared/Repeated.cs for the C# benches. Sourced by bench/http/run.sh and bench/http/flatness.sh.
#   printf '%s\n' 3 1 2 | sort -g | middle_line   ->  2
middle_line() { awk '{ l[NR] = $0 } END { if (NR) print l[int(NR / 2) + 1] }'; }
