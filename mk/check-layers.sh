#!/bin/sh
# mk/check-layers.sh [BUILD] - the layer rules, read from the built objects
# with nm (run by tests/run.sh in `make check`; `make` must have built BUILD)
#
# Prints one "ok N - rule" or "not ok N - rule" line per rule (with the
# offenders as "#" lines before it) and exits non-zero when a rule fails.
#
#   1 platform   no library object outside src/os has an undefined
#                reference to an operating-system function (os_re below)
#   2 spec       no member of libemspec.a (src/spec and the pure src/util)
#                references an OS function, curl_*, git_* or archive_*
#   3 direction  util uses only util; spec uses spec and util; os uses os
#                and util; the engine (src/*.c) uses anything but src/api.o,
#                which nothing in the library uses
#   4 cycles     no cycle between library modules (a module is one object,
#                or the objects whose sources share its private header
#                NAME_int.h; A depends on B when A has an undefined symbol
#                B defines)
#   5 headers    at most 10 public headers in include/envmatrix, each
#                compiling alone, twice (include guard), with -Iinclude only
#
# Objects not converted yet are listed in mk/layers-pending.txt ("os OBJ",
# "cycle OBJ OBJ..."); a listed object that no longer violates, or a listed
# cycle that is gone, fails the rule too, so the list can only shrink.
# Environment: NM (nm), CC (cc), LAYERS_PENDING (mk/layers-pending.txt).
set -u
BUILD=${1:-${BUILD:-build}}
NM=${NM:-nm}
CC=${CC:-cc}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
PENDING=${LAYERS_PENDING:-mk/layers-pending.txt}

# Operating-system functions, with glibc's 64-bit, fortified (_chk) and
# versioned names. Console output (printf, stdout...) counts: the library
# never prints. Thread creation counts; mutexes and condition variables do
# not (a port provides them beside pthreads).
os_re='^(open|open64|openat|openat64|__open_2|__open64_2|__openat_2|__openat64_2|creat|creat64'
os_re="$os_re|read|__read_chk|readv|write|writev|pread|pread64|__pread_chk|__pread64_chk"
os_re="$os_re|pwrite|pwrite64|close|close_range|lseek|lseek64"
os_re="$os_re|stat|stat64|fstat|fstat64|fstatat|fstatat64|lstat|lstat64|statx"
os_re="$os_re|__xstat|__xstat64|__fxstat|__fxstat64|__fxstatat|__fxstatat64|__lxstat|__lxstat64"
os_re="$os_re|mkdir|mkdirat|mkfifo|mkfifoat|mknod|mknodat|rename|renameat|renameat2"
os_re="$os_re|unlink|unlinkat|rmdir|remove|link|linkat|symlink|symlinkat"
os_re="$os_re|readlink|readlinkat|__readlink_chk|__readlinkat_chk"
os_re="$os_re|opendir|fdopendir|readdir|readdir64|readdir_r|readdir64_r|rewinddir|seekdir"
os_re="$os_re|telldir|closedir|dirfd|scandir|scandir64|ftw|ftw64|nftw|nftw64"
os_re="$os_re|fsync|fdatasync|syncfs|sync|sync_file_range|flock|lockf|lockf64|fcntl|fcntl64|ioctl"
os_re="$os_re|posix_spawn.*|fork|vfork|_Fork|execl|execle|execlp|execv|execve|execvp|execvpe"
os_re="$os_re|fexecve|system|wait|wait3|wait4|waitpid|waitid|kill|killpg|setsid|setpgid|getpgid"
os_re="$os_re|pipe|pipe2|poll|ppoll|__poll_chk|__ppoll_chk|select|pselect|epoll_.*"
os_re="$os_re|sigaction|signal|sigprocmask|pthread_sigmask|sigsuspend|sigwait|raise|alarm"
os_re="$os_re|getenv|secure_getenv|setenv|unsetenv|putenv|clearenv|environ|__environ"
os_re="$os_re|clock_gettime|clock_getres|gettimeofday|time|nanosleep|clock_nanosleep|sleep|usleep"
os_re="$os_re|localtime|localtime_r|mktime|tzset"
os_re="$os_re|sysconf|confstr|get_nprocs|get_nprocs_conf|sched_getaffinity|getrlimit|setrlimit"
os_re="$os_re|statvfs|statvfs64|fstatvfs|fstatvfs64|statfs|statfs64|fstatfs|fstatfs64"
os_re="$os_re|uname|gnu_get_libc_version|gethostname|__gethostname_chk|getpid|getppid|gettid"
os_re="$os_re|getuid|geteuid|getgid|getegid|umask|syscall|getrandom|getentropy"
os_re="$os_re|dup|dup2|dup3|chmod|fchmod|fchmodat|chown|fchown|lchown|fchownat"
os_re="$os_re|utime|utimes|utimensat|futimens|realpath|__realpath_chk|canonicalize_file_name"
os_re="$os_re|getcwd|__getcwd_chk|get_current_dir_name|chdir|fchdir"
os_re="$os_re|access|faccessat|euidaccess|eaccess|copy_file_range|sendfile|sendfile64"
os_re="$os_re|fallocate|fallocate64|posix_fallocate|posix_fallocate64|posix_fadvise|posix_fadvise64"
os_re="$os_re|truncate|truncate64|ftruncate|ftruncate64|mmap|mmap64|munmap|msync|mprotect"
os_re="$os_re|fopen|fopen64|freopen|freopen64|fdopen|popen|pclose|tmpfile|tmpfile64"
os_re="$os_re|mkstemp|mkstemp64|mkstemps|mkstemps64|mkostemp|mkostemp64|mkostemps|mkostemps64"
os_re="$os_re|mkdtemp|tmpnam|isatty|ttyname|dlopen|dlsym|dlvsym|dlclose|dlerror"
os_re="$os_re|pthread_create|pthread_join|pthread_detach|pthread_kill"
os_re="$os_re|printf|vprintf|__printf_chk|puts|putchar|stdin|stdout|stderr"
os_re="$os_re)(@.*)?\$"
spec_re="$os_re|^(curl_|git_|archive_)"

n=0
failed=0
result() { # OK WHAT: the rule's line
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		failed=$((failed + 1))
		echo "not ok $n - $2"
	fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/envmatrix-layers.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

if ! command -v "$NM" >/dev/null 2>&1; then
	echo "skip 1 - the layer rules: $NM is missing (apt-get install binutils)"
	exit 0
fi

# the library's objects, named as their sources are (src/apply.o): one per
# src/**/*.c outside src/cli, so objects of deleted sources are not read
find src -name '*.c' ! -path 'src/cli/*' | sort | sed 's/\.c$/.o/' >"$tmp/objs"
missing=0
while read -r o; do
	if [ ! -f "$BUILD/obj/$o" ]; then
		echo "# $BUILD/obj/$o is not built (run make)"
		missing=1
	fi
done <"$tmp/objs"
if [ $missing = 1 ]; then
	result 1 "the library's objects are built"
	exit 1
fi

# every symbol: "D OBJ SYM" (defined, global) and "U OBJ SYM" (undefined)
# shellcheck disable=SC2046
(cd "$BUILD/obj" && "$NM" -A -P $(cat "$tmp/objs")) | awk '
	{ obj = $1; sub(/:$/, "", obj); sym = $2; t = $3
	  if (t == "U") print "U", obj, sym
	  else if (t ~ /^[TDBRCVWGSAI]$/) print "D", obj, sym }' >"$tmp/syms"
# the pending list: "os OBJ" and "cycle OBJ OBJ..." (sorted)
if [ -f "$PENDING" ]; then
	sed 's/#.*//' "$PENDING" | awk 'NF { $1 = $1; print }' >"$tmp/pending"
else
	: >"$tmp/pending"
fi

# ---- 1 platform ----
awk -v re="$os_re" '$1 == "U" && $2 !~ /^src\/os\// && $3 ~ re { print $2, $3 }' "$tmp/syms" |
	sort -u | awk '
	$1 != last { if (last != "") print last, calls; last = $1; calls = $2; next }
	{ calls = calls "," $2 }
	END { if (last != "") print last, calls }' >"$tmp/os-calls"
rc=0
while read -r o calls; do
	if grep -Fqx "os $o" "$tmp/pending"; then
		echo "# pending (mk/layers-pending.txt): $o calls $calls"
	else
		echo "# $o calls the operating system directly: $calls (go through src/os)"
		rc=1
	fi
done <"$tmp/os-calls"
awk '$1 == "os" { print $2 }' "$tmp/pending" >"$tmp/pending-os"
while read -r o; do
	if ! awk -v o="$o" '$1 == o { f = 1 } END { exit !f }' "$tmp/os-calls"; then
		echo "# $PENDING lists 'os $o', which no longer calls the OS (or is gone): remove the line"
		rc=1
	fi
done <"$tmp/pending-os"
result $rc "platform: no library object outside src/os calls the operating system"

# ---- 2 spec ----
rc=0
if [ ! -f "$BUILD/libemspec.a" ]; then
	echo "# $BUILD/libemspec.a is not built (run make)"
	rc=1
else
	"$NM" -A -P -u "$BUILD/libemspec.a" | awk -v re="$spec_re" '
		{ obj = $1; sub(/:$/, "", obj); if ($2 ~ re) print obj, $2 }' >"$tmp/spec-calls"
	if [ -s "$tmp/spec-calls" ]; then
		sed 's/^/# /' "$tmp/spec-calls"
		rc=1
	fi
fi
result $rc "spec: libemspec.a calls no OS function, libcurl, libgit2 or libarchive"

# ---- the module graph: "A B" when A uses a symbol B defines ----
awk '$1 == "D" { def[$3] = $2; next }
	$1 == "U" && ($3 in def) && def[$3] != $2 { print $2, def[$3], $3 }' \
	"$tmp/syms" "$tmp/syms" | sort -u >"$tmp/uses"
# a module's files: those that share its private header NAME_int.h are one
# module (src/spec/resolve.c and resolve_explain.c), named after NAME.o
for c in $(grep -l '^#include "[a-z/]*_int\.h"' src/*.c src/*/*.c 2>/dev/null); do
	h=$(sed -n 's/^#include "\([a-z/]*\)_int\.h".*/\1/p' "$c" | head -n 1)
	echo "${c%.c}.o src/$h.o"
done >"$tmp/modules"
awk 'NR == FNR { mod[$1] = $2; next }
	{ a = ($1 in mod) ? mod[$1] : $1; b = ($2 in mod) ? mod[$2] : $2
	  if (a != b) print a, b }' "$tmp/modules" "$tmp/uses" | sort -u >"$tmp/edges"

# ---- 3 direction ----
awk 'function layer(o) {
		if (o == "src/api.o") return "api"
		if (o ~ /^src\/(util|spec|os)\//) { split(o, p, "/"); return p[2] }
		return "engine"
	}
	BEGIN { ok["util"] = "util"; ok["spec"] = "spec util"; ok["os"] = "os util"
		ok["engine"] = "engine os spec util"; ok["api"] = "api engine os spec util" }
	{ a = layer($1); b = layer($2)
	  if (index(" " ok[a] " ", " " b " ") == 0)
		print "# " $1 " (" a ") uses " $3 " from " $2 " (" b ")" }' "$tmp/uses" >"$tmp/direction"
rc=0
if [ -s "$tmp/direction" ]; then
	cat "$tmp/direction"
	rc=1
fi
result $rc "direction: util < spec, os < engine < api (no module uses one above it)"

# ---- 4 cycles: the strongly connected components of more than one module ----
awk '{ e[$1, $2] = 1; if (!($1 in id)) { id[$1] = ++c; N[c] = $1 }
	if (!($2 in id)) { id[$2] = ++c; N[c] = $2 } }
	END {
		for (k in e) { split(k, p, SUBSEP); r[id[p[1]], id[p[2]]] = 1 }
		for (k = 1; k <= c; k++)
			for (i = 1; i <= c; i++)
				if ((i, k) in r)
					for (j = 1; j <= c; j++)
						if ((k, j) in r) r[i, j] = 1
		for (i = 1; i <= c; i++) {
			if (done[i]) continue
			s = N[i]; m = 1
			for (j = i + 1; j <= c; j++)
				if (((i, j) in r) && ((j, i) in r)) { s = s "\n" N[j]; done[j] = 1; m++ }
			if (m > 1) print s "\n--"
		}
	}' "$tmp/edges" | awk '
	/^--$/ { n = split(cur, p, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (p[j] < p[i]) { t = p[i]; p[i] = p[j]; p[j] = t }
		s = p[1]; for (i = 2; i <= n; i++) s = s " " p[i]; print s; cur = ""; next }
	{ cur = cur " " $0 }' | sort >"$tmp/cycles"
rc=0
while read -r members; do
	if grep -Fqx "cycle $members" "$tmp/pending"; then
		echo "# pending (mk/layers-pending.txt): cycle $members"
	else
		echo "# a dependency cycle: $members"
		for a in $members; do
			for b in $members; do
				awk -v a="$a" -v b="$b" '$1 == a && $2 == b { print "#   " a " uses " $3 " from " b }' \
					"$tmp/uses" | head -n 3
			done
		done
		rc=1
	fi
done <"$tmp/cycles"
awk '$1 == "cycle" { $1 = ""; sub(/^ /, ""); print }' "$tmp/pending" >"$tmp/pending-cycles"
while read -r members; do
	if ! grep -Fqx "$members" "$tmp/cycles"; then
		echo "# $PENDING lists 'cycle $members', which is no longer a cycle: remove the line"
		rc=1
	fi
done <"$tmp/pending-cycles"
result $rc "cycles: no dependency cycle between library modules"

# ---- 5 headers ----
rc=0
count=$(find include -type f | wc -l)
if [ "$count" -gt 10 ]; then
	echo "# $count files in include/ (at most 10 public headers)"
	rc=1
fi
for h in $(cd include && find . -type f | sed 's|^\./||' | sort); do
	case $h in
	envmatrix/*.h) ;;
	*) echo "# include/$h: only public headers, in include/envmatrix"; rc=1; continue ;;
	esac
	printf '#include <%s>\n#include <%s>\nint em_alone(void);\n' "$h" "$h" >"$tmp/alone.c"
	if ! "$CC" -std=c11 -Wall -Wextra -Wpedantic -Wstrict-prototypes -Werror -fsyntax-only \
		-Iinclude "$tmp/alone.c" >"$tmp/cc.out" 2>&1; then
		echo "# include/$h does not compile alone (or twice):"
		sed 's/^/#   /' "$tmp/cc.out"
		rc=1
	fi
done
result $rc "headers: at most 10 public headers, each compiles alone with -Iinclude"

[ "$failed" -eq 0 ]
