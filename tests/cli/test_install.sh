#!/bin/sh
# test_install.sh - `make install DESTDIR=... PREFIX=/usr` puts the binary,
# the man page, libenvmatrix.a, the public headers (exactly those of
# include/envmatrix) and envmatrix.pc in place, and a program compiled and
# linked against them with `pkg-config --cflags --libs --static envmatrix`
# opens a matrix through the public interface
. "$(dirname "$0")/lib.sh"

top=$(cd "$(dirname "$0")/../.." && pwd)
# the build under test ($EM is BUILD/envmatrix): installed as it is built
build=$(dirname "$EM")
build=${build#"$top"/}
san=0 san_flags=""
# an AddressSanitizer build's library needs its runtime in the program too
case $build in */asan) san=1 san_flags="-fsanitize=address,undefined" ;; esac
root="$T_TMP/root"
version=$(sed -n 's/^#define EM_VERSION "\(.*\)"/\1/p' "$top/include/envmatrix/version.h")

# a make of its own: not the jobserver of a `make check` around this test
t_run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$top" --no-print-directory install \
	O="$build" SANITIZE=$san DESTDIR="$root" PREFIX=/usr
if [ "$T_RC" = 0 ] && [ -x "$root/usr/bin/envmatrix" ] &&
	[ -f "$root/usr/share/man/man1/envmatrix.1" ] && [ -f "$root/usr/lib/libenvmatrix.a" ] &&
	[ -f "$root/usr/lib/pkgconfig/envmatrix.pc" ]; then
	t_pass "make install DESTDIR PREFIX=/usr installs the binary, man page, library and envmatrix.pc"
else
	t_fail "make install" "exit $T_RC" "$T_OUT" "$T_ERR" "$(find "$root" -type f 2>&1)"
fi
want=$(cd "$top/include/envmatrix" && ls)
got=$(cd "$root/usr/include/envmatrix" 2>/dev/null && ls)
if [ -n "$want" ] && [ "$got" = "$want" ]; then
	t_pass "the public headers, and only they, are installed in include/envmatrix"
else
	t_fail "public headers installed" "want: $want" "got: $got"
fi
t_expect "the installed binary runs" 0 "envmatrix $version" -- "$root/usr/bin/envmatrix" --version

if ! command -v pkg-config >/dev/null 2>&1; then
	t_skip "pkg-config finds envmatrix" "pkg-config is missing (apt-get install pkg-config)"
	t_skip "a program links against the installed library" \
		"pkg-config is missing (apt-get install pkg-config)"
	t_done
	exit
fi
# the .pc names /usr; the sysroot puts DESTDIR in front of its paths
PKG_CONFIG_PATH="$root/usr/lib/pkgconfig"
PKG_CONFIG_SYSROOT_DIR=$root
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
t_expect "pkg-config finds envmatrix $version" 0 "$version" -- pkg-config --modversion envmatrix
flags=$(pkg-config --cflags --libs --static envmatrix)
missing=""
for f in "-I$root/usr/include" "-L$root/usr/lib" -lenvmatrix -lgit2 -larchive -lcurl -linih \
	-ljansson -lcrypto -lz -ldl -pthread; do
	case " $flags " in *" $f "*) ;; *) missing="$missing $f" ;; esac
done
if [ -z "$missing" ]; then
	t_pass "its flags name the installed folders, the library and what it links with"
else
	t_fail "pkg-config --cflags --libs --static envmatrix" "$flags" "missing:$missing"
fi

cat >"$T_TMP/front.c" <<'EOF'
#include <envmatrix/envmatrix.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	struct em_project *p;
	struct em_error e;
	if (argc != 2 || strcmp(em_library_version(), EM_VERSION))
		return 2;
	int rc = em_project_open(argv[1], NULL, &p, &e);
	if (rc) {
		printf("%s (%d)\n", em_strerror(rc), rc == EM_ENOTFOUND);
		return 1;
	}
	printf("%zu workload %s\n", em_project_workload_count(p), em_project_workload_name(p, 0));
	em_project_close(p);
	return 0;
}
EOF
printf '[vlm]\npython = 3.12\n' >"$T_TMP/matrix.ini"
# shellcheck disable=SC2086
if ${CC:-cc} -std=c11 -Wall -Wextra -Werror $san_flags -o "$T_TMP/front" "$T_TMP/front.c" $flags \
	>"$T_TMP/cc.out" 2>&1; then
	t_expect "a program built with pkg-config --static opens a matrix through envmatrix.h" 0 \
		"1 workload vlm" -- "$T_TMP/front" "$T_TMP/matrix.ini"
	t_run "$T_TMP/front" "$T_TMP/none.ini"
	if [ "$T_RC" = 1 ] && printf '%s\n' "$T_OUT" | grep -q '(1)$'; then
		t_pass "and gets EM_ENOTFOUND for a matrix that does not exist"
	else
		t_fail "a missing matrix" "exit $T_RC" "$T_OUT"
	fi
else
	t_fail "compile and link against the installed library" "$(cat "$T_TMP/cc.out")"
fi
t_done
