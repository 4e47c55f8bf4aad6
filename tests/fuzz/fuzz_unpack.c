/* fuzz_unpack.c - arbitrary bytes as a wheel: unpack, then install
 *
 * The input is written as N/a/b/demo-1.0-py3-none-any.whl and unpacked
 * into N/a/b/cache/demo; when that succeeds the tree is installed into a
 * POSIX scheme under N/a/b/venv (plus a Windows-style one), so the RECORD
 * reader, the scheme mapping, entry points and launchers are reached too.
 *
 * Invariants checked: nothing crashes or leaks; every failure fills the
 * error record with its own code and a message; nothing is ever written
 * outside N/a/b (so a "../x" or "../../x" that escaped would show in
 * N/a or N), and nothing but the wheel, "cache" and "venv" appears
 * there; a failed unpack leaves no target and no temporary folder; every
 * file written is a regular file or a folder (no links, FIFOs, devices);
 * an unpacked tree carries its mark.
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "install.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static int rm_cb(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)type;
	(void)f;
	remove(path);
	return 0;
}

static void rm_rf(const char *path)
{
	nftw(path, rm_cb, 64, FTW_DEPTH | FTW_PHYS);
}

static int check_cb(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)path;
	(void)f;
	if (type == FTW_SL || type == FTW_SLN)
		abort(); /* a symbolic link was written */
	if (type == FTW_F && !S_ISREG(st->st_mode))
		abort(); /* a FIFO, a socket or a device */
	return 0;
}

/* the names in dir must all be in allowed (NULL-terminated) */
static void only(const char *dir, const char *const *allowed)
{
	DIR *d = opendir(dir);
	if (!d)
		abort();
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		bool ok = false;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = !strcmp(de->d_name, *a);
		if (!ok)
			abort(); /* written outside the folder it was given */
	}
	closedir(d);
}

static void check_error(int rc, const struct em_error *e)
{
	if (rc && (rc != e->code || !e->msg[0]))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a fresh T/N per input, in memory where there is /dev/shm */
	const char *t = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
	char n[4200], a[4300], b[4400], wheel[4500], target[4500], venv[4500];
	snprintf(n, sizeof n, "%s/envmatrix-fuzz-unpack.XXXXXX", t ? t : "/tmp");
	if (!mkdtemp(n))
		abort();
	snprintf(a, sizeof a, "%s/a", n);
	snprintf(b, sizeof b, "%s/b", a);
	if (mkdir(a, 0755) || mkdir(b, 0755))
		abort();
	snprintf(wheel, sizeof wheel, "%s/demo-1.0-py3-none-any.whl", b);
	snprintf(target, sizeof target, "%s/cache/demo", b);
	snprintf(venv, sizeof venv, "%s/venv", b);
	FILE *f = fopen(wheel, "wb");
	if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f))
		abort();

	struct em_error e = { 0 };
	int rc = em_wheel_unpack(wheel, target, &e);
	check_error(rc, &e);
	if (rc == 0) {
		char mark[4600];
		snprintf(mark, sizeof mark, "%s/%s", target, EM_UNPACKED_MARK);
		if (access(mark, F_OK))
			abort();
		char site[4600], bin[4600], inc[4600];
		snprintf(site, sizeof site, "%s/lib/python3.12/site-packages", venv);
		snprintf(bin, sizeof bin, "%s/bin", venv);
		snprintf(inc, sizeof inc, "%s/include/site/python3.12", venv);
		struct em_scheme s = { site, site, bin, inc, venv };
		for (int k = 0; k < 2; k++) {
			struct em_install_opts o = {
				&s, k ? "/opt/a venv/bin/python" : "/opt/venv/bin/python",
				k ? EM_OS_WINDOWS : EM_OS_LINUX, k ? EM_LINK_COPY : EM_LINK_AUTO,
				k == 0, 2
			};
			struct em_install_result r;
			em_error_clear(&e);
			rc = em_wheel_install(target, "demo-1.0-py3-none-any.whl", &o, &r, &e);
			check_error(rc, &e);
			if (rc == 0 && r.files < 3)
				abort(); /* METADATA... at least WHEEL, INSTALLER, RECORD */
		}
	} else {
		struct stat st;
		if (lstat(target, &st) == 0)
			abort(); /* a failed unpack left its target */
	}
	static const char *const in_b[] = { "demo-1.0-py3-none-any.whl", "cache", "venv", NULL };
	static const char *const in_a[] = { "b", NULL };
	static const char *const in_n[] = { "a", NULL };
	only(b, in_b);
	only(a, in_a);
	only(n, in_n);
	char cache[4600];
	snprintf(cache, sizeof cache, "%s/cache", b);
	static const char *const in_cache[] = { "demo", NULL };
	if (access(cache, F_OK) == 0)
		only(cache, in_cache);
	if (nftw(b, check_cb, 64, FTW_PHYS) != 0)
		abort();
	rm_rf(n);
	return 0;
}
