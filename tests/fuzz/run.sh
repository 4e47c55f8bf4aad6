#!/bin/sh
# tests/fuzz/run.sh FUZZER SECONDS - run one libFuzzer target for a while,
# seeded from the conformance data and tests/fuzz/seeds/<target>/ if present.
# Findings are kept in findings/<target>/ beside the binary.
set -u
bin=$1
secs=${2:-30}
name=$(basename "$bin")
top=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(cd "$(dirname "$bin")" && pwd)
corpus="$dir/corpus/$name"
findings="$dir/findings/$name"
mkdir -p "$corpus" "$findings"

seed_column() { # FILE COLUMN: one seed file per row (header skipped)
	[ -f "$1" ] || return 0
	tail -n +2 "$1" | cut -f "$2" | head -n 400 | {
		i=0
		while IFS= read -r line; do
			i=$((i + 1))
			printf '%s' "$line" >"$corpus/seed-$2-$i"
		done
	}
}
conf="$top/tests/fixtures/conformance"
case "$name" in
fuzz_version) seed_column "$conf/versions-valid.tsv" 1; seed_column "$conf/versions-invalid.tsv" 1 ;;
fuzz_specifier) seed_column "$conf/specifiers.tsv" 1 ;;
fuzz_marker) seed_column "$conf/markers.tsv" 1 ;;
fuzz_requirement) seed_column "$conf/requirements.tsv" 1 ;;
fuzz_wheel_name) seed_column "$conf/wheel-filenames.tsv" 1 ;;
esac
if [ -d "$top/tests/fuzz/seeds/$name" ]; then
	cp "$top/tests/fuzz/seeds/$name"/* "$corpus"/ 2>/dev/null
fi

exec "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
	-artifact_prefix="$findings/" -print_final_stats=1 "$corpus"
