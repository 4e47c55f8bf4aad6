/* fs.c - reading files whole, writing them atomically, removing trees,
 * hashing files, path helpers
 *
 * Portable: built only on the em_os_* and em_dir_* calls of fs.h, so every
 * platform shares it.
 */
#include "os/fs.h"
#include "util/buf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int em_read_file(struct em_arena *a, const char *path, size_t max, char **out, size_t *len,
		 struct em_error *e)
{
	int fd = em_os_open(path, EM_OPEN_READ, 0);
	if (fd < 0) {
		int err = errno;
		if (err == ENOENT)
			return em_err(e, EM_ENOTFOUND, path, "no such file");
		return em_err_sys(e, err, path, "cannot open");
	}
	struct em_stat st;
	if (em_os_fstat(fd, &st) == 0 && st.type == EM_FT_DIR) {
		em_os_close(fd);
		return em_err(e, EM_EINVAL, path, "is a folder, not a file");
	}
	size_t cap = (em_os_fstat(fd, &st) == 0 && st.size > 0 && st.size < max)
			     ? (size_t)st.size + 1
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
		ssize_t got = em_os_read(fd, buf + n, cap - n);
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
	em_os_close(fd);
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
	snprintf(tmp, pl + 32, "%s.tmp.%ld", path, em_os_pid());
	int fd = em_os_open(tmp, EM_OPEN_WRITE | EM_OPEN_CREATE | EM_OPEN_TRUNC, mode);
	if (fd < 0) {
		int rc = em_err_sys(e, errno, path, "cannot create a temporary file beside it");
		free(tmp);
		return rc;
	}
	int rc = 0;
	int werr = em_write_all(fd, data, len);
	if (werr)
		rc = em_err_sys(e, werr, path, "cannot write");
	if (!rc && em_os_fsync(fd) != 0)
		rc = em_err_sys(e, errno, path, "cannot flush to disk");
	if (em_os_close(fd) != 0 && !rc)
		rc = em_err_sys(e, errno, path, "cannot write");
	if (!rc && em_os_rename(tmp, path) != 0)
		rc = em_err_sys(e, errno, path, "cannot move the new file into place");
	if (rc)
		em_os_unlink(tmp); /* best effort: rc is the error to report */
	else
		em_fsync_parent(path); /* make the rename itself durable */
	free(tmp);
	return rc;
}

void em_fsync_parent(const char *path)
{
	char *dir = strdup(path);
	if (!dir)
		return;
	char *slash = strrchr(dir, '/');
	const char *d = slash ? (slash == dir ? "/" : (*slash = '\0', dir)) : ".";
	EM_IGNORE(em_os_fsync_dir(d)); /* best effort: the data is already durable */
	free(dir);
}

int em_mkdir_p(const char *path, struct em_error *e)
{
	char *p = strdup(path);
	if (!p)
		return em_err_nomem(e);
	int rc = 0;
	for (char *s = p + 1; *s && !rc; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (em_os_mkdir(p, 0755) && errno != EEXIST)
			rc = em_err_sys(e, errno, p, "cannot create the folder");
		*s = '/';
	}
	if (!rc && em_os_mkdir(p, 0755) && errno != EEXIST)
		rc = em_err_sys(e, errno, p, "cannot create the folder");
	if (!rc) {
		struct em_stat st;
		if (em_os_stat(p, &st) != 0)
			rc = em_err_sys(e, errno, p, "cannot create the folder");
		else if (st.type != EM_FT_DIR)
			rc = em_err(e, EM_EINVAL, p, "exists and is not a folder");
	}
	free(p);
	return rc;
}

/* Empty the folder open as *cur (its path, for messages, is root/rel), one
 * level at a time: files and empty folders are removed as they are met;
 * the first folder that is not empty is entered ("cur" becomes it, its name
 * is pushed on rel) and the scan starts there. Returns 1 when it entered a
 * folder, 0 when fd is empty, or an error. No recursion and one open
 * folder at a time, so neither the depth of the tree nor the length of its
 * paths is limited (a wheel's member names allow thousands of levels). */
static int empty_one(struct em_dir **cur, const char *root, struct em_buf *rel,
		     struct em_error *e)
{
	struct em_dirlist *d = em_dirlist_of(*cur);
	if (!d)
		return em_err_sys(e, errno, root, "cannot read a folder inside");
	int rc = 0;
	const char *n;
	while ((n = em_dirlist_next(d))) {
		struct em_stat st;
		if (em_dir_lstat(*cur, n, &st) != 0) {
			if (errno == ENOENT)
				continue;
			rc = em_err_sys(e, errno, root, "cannot inspect an entry of");
			break;
		}
		if (st.type != EM_FT_DIR) {
			if (em_dir_unlink(*cur, n) != 0 && errno != ENOENT) {
				rc = em_err_sys(e, errno, root, "cannot remove a file inside");
				break;
			}
			continue;
		}
		if (em_dir_rmdir(*cur, n) == 0 || errno == ENOENT)
			continue;
		/* not empty: make it ours to empty, and go in */
		if ((st.mode & 0700) != 0700)
			/* failing, the open or a removal below says why */
			EM_IGNORE(em_dir_chmod(*cur, n, st.mode | 0700));
		struct em_dir *sub = em_dir_openat(*cur, n, EM_OPEN_NOFOLLOW);
		if (!sub) {
			rc = em_err_sys(e, errno, root, "cannot open a folder inside");
			break;
		}
		if (rel->len)
			em_buf_addc(rel, '/');
		em_buf_addstr(rel, n);
		if (rel->err) {
			em_dir_close(sub);
			rc = em_err_nomem(e);
			break;
		}
		em_dir_close(*cur);
		*cur = sub;
		rc = 1;
		break;
	}
	em_dirlist_close(d);
	return rc;
}

int em_remove_tree(const char *path, struct em_error *e)
{
	struct em_stat st;
	if (em_os_lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		return em_err_sys(e, errno, path, "cannot inspect");
	}
	if (st.type != EM_FT_DIR) {
		if (em_os_unlink(path) != 0 && errno != ENOENT)
			return em_err_sys(e, errno, path, "cannot remove");
		return 0;
	}
	if ((st.mode & 0700) != 0700)
		/* failing, the open or a removal below says why */
		EM_IGNORE(em_os_chmod(path, st.mode | 0700));
	struct em_dir *cur = em_dir_open(path, EM_OPEN_NOFOLLOW);
	if (!cur)
		return em_err_sys(e, errno, path, "cannot open the folder");
	struct em_buf rel = EM_BUF_INIT; /* where cur is, below path */
	int rc;
	for (;;) {
		rc = empty_one(&cur, path, &rel, e);
		if (rc == 1)
			continue;
		if (rc < 0 || rel.len == 0)
			break;
		/* cur is empty: go up and remove it */
		struct em_dir *up = em_dir_openat(cur, "..", 0);
		if (!up) {
			rc = em_err_sys(e, errno, path, "cannot go back up inside");
			break;
		}
		em_dir_close(cur);
		cur = up;
		char *slash = strrchr(rel.ptr, '/');
		const char *name = slash ? slash + 1 : rel.ptr;
		if (em_dir_rmdir(cur, name) != 0 && errno != ENOENT) {
			rc = em_err_sys(e, errno, path, "cannot remove a folder inside");
			break;
		}
		em_buf_truncate(&rel, slash ? (size_t)(slash - rel.ptr) : 0);
	}
	em_dir_close(cur);
	em_buf_release(&rel);
	if (!rc && em_os_rmdir(path) != 0 && errno != ENOENT)
		rc = em_err_sys(e, errno, path, "cannot remove the folder");
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
	const char *base = "";
	if (!em_path_is_absolute(path)) {
		base = em_os_getcwd(a);
		if (!base)
			return NULL;
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

int em_sha256_file(const char *path, char hex[EM_SHA256_HEX_LEN + 1], int64_t *size,
		   struct em_error *e)
{
	int fd = em_os_open(path, EM_OPEN_READ, 0);
	if (fd < 0)
		return em_err_sys(e, errno, path, "cannot open");
	struct em_sha256 h;
	int rc = em_sha256_init(&h, e);
	if (rc) {
		em_os_close(fd);
		return rc;
	}
	static const size_t chunk = 1 << 16;
	unsigned char buf[1 << 16];
	int64_t total = 0;
	for (;;) {
		ssize_t got = em_os_read(fd, buf, chunk);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			int err = errno;
			em_sha256_abort(&h);
			em_os_close(fd);
			return em_err_sys(e, err, path, "cannot read");
		}
		if (got == 0)
			break;
		em_sha256_update(&h, buf, (size_t)got);
		total += got;
	}
	em_os_close(fd);
	em_sha256_final(&h, hex);
	if (size)
		*size = total;
	return 0;
}
