/* fs.c - reading files whole, writing them atomically, path helpers */
#include "envmatrix/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int em_read_file(struct em_arena *a, const char *path, size_t max, char **out, size_t *len,
		 struct em_error *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		if (err == ENOENT)
			return em_err(e, EM_ENOTFOUND, path, "no such file");
		return em_err_sys(e, err, path, "cannot open");
	}
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return em_err(e, EM_EINVAL, path, "is a folder, not a file");
	}
	size_t cap = (fstat(fd, &st) == 0 && st.st_size > 0 && (uint64_t)st.st_size < max)
			     ? (size_t)st.st_size + 1
			     : 65536;
	if (cap > max + 1)
		cap = max + 1;
	char *buf = malloc(cap + 1);
	size_t n = 0;
	int rc = 0;
	while (buf) {
		if (n == cap) {
			if (cap > max) {
				rc = em_err(e, EM_ELIMIT, path, "file is larger than %zu bytes", max);
				break;
			}
			size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			char *nb = realloc(buf, ncap + 1);
			if (!nb)
				break;
			buf = nb;
			cap = ncap;
		}
		ssize_t got = read(fd, buf + n, cap - n);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			rc = em_err_sys(e, errno, path, "cannot read");
			break;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	if (!buf)
		return em_err_nomem(e);
	if (!rc && n > max)
		rc = em_err(e, EM_ELIMIT, path, "file is larger than %zu bytes", max);
	if (!rc) {
		char *copy = em_arena_alloc(a, n + 1);
		if (!copy) {
			rc = em_err_nomem(e);
		} else {
			memcpy(copy, buf, n);
			copy[n] = '\0';
			*out = copy;
			*len = n;
		}
	}
	free(buf);
	return rc;
}

int em_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode,
			 struct em_error *e)
{
	size_t pl = strlen(path);
	char *tmp = malloc(pl + 32);
	if (!tmp)
		return em_err_nomem(e);
	snprintf(tmp, pl + 32, "%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		int rc = em_err_sys(e, errno, path, "cannot create a temporary file beside it");
		free(tmp);
		return rc;
	}
	const char *p = data;
	size_t left = len;
	int rc = 0;
	while (left) {
		ssize_t w = write(fd, p, left);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			rc = em_err_sys(e, errno, path, "cannot write");
			break;
		}
		p += w;
		left -= (size_t)w;
	}
	if (!rc && fsync(fd) != 0)
		rc = em_err_sys(e, errno, path, "cannot flush to disk");
	if (close(fd) != 0 && !rc)
		rc = em_err_sys(e, errno, path, "cannot write");
	if (!rc && rename(tmp, path) != 0)
		rc = em_err_sys(e, errno, path, "cannot move the new file into place");
	if (rc) {
		unlink(tmp);
	} else {
		/* make the rename itself durable */
		char *dir = strdup(path);
		if (dir) {
			char *slash = strrchr(dir, '/');
			const char *d = slash ? (slash == dir ? "/" : (*slash = '\0', dir)) : ".";
			int dfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd >= 0) {
				fsync(dfd);
				close(dfd);
			}
			free(dir);
		}
	}
	free(tmp);
	return rc;
}

bool em_path_is_absolute(const char *path)
{
	return path[0] == '/';
}

char *em_path_dir(struct em_arena *a, const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return em_arena_strdup(a, ".");
	if (slash == path)
		return em_arena_strdup(a, "/");
	return em_arena_strndup(a, path, (size_t)(slash - path));
}

char *em_path_join(struct em_arena *a, const char *dir, const char *rel)
{
	if (em_path_is_absolute(rel) || !dir || !*dir || !strcmp(dir, "."))
		return em_arena_strdup(a, rel);
	size_t dl = strlen(dir);
	return em_arena_printf(a, "%s%s%s", dir, dir[dl - 1] == '/' ? "" : "/", rel);
}

char *em_path_absolute(struct em_arena *a, const char *path)
{
	char cwd[PATH_MAX];
	const char *base = "";
	if (!em_path_is_absolute(path)) {
		if (!getcwd(cwd, sizeof cwd))
			return NULL;
		base = cwd;
	}
	size_t cap = strlen(base) + strlen(path) + 3;
	char *out = em_arena_alloc(a, cap);
	if (!out)
		return NULL;
	/* walk both as one path, segment by segment */
	char *joined = em_arena_printf(a, "%s/%s", base, path);
	if (!joined)
		return NULL;
	size_t o = 0;
	const char *s = joined;
	while (*s) {
		while (*s == '/')
			s++;
		const char *seg = s;
		while (*s && *s != '/')
			s++;
		size_t n = (size_t)(s - seg);
		if (n == 0 || (n == 1 && seg[0] == '.'))
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			continue;
		}
		out[o++] = '/';
		memcpy(out + o, seg, n);
		o += n;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return out;
}
