/* fs.c - reading files whole, writing them atomically, path helpers */
#include "os/fs.h"
#include "util/buf.h"

#include <dirent.h>
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
	int rc = 0;
	int werr = em_write_all(fd, data, len);
	if (werr)
		rc = em_err_sys(e, werr, path, "cannot write");
	if (!rc && fsync(fd) != 0)
		rc = em_err_sys(e, errno, path, "cannot flush to disk");
	if (close(fd) != 0 && !rc)
		rc = em_err_sys(e, errno, path, "cannot write");
	if (!rc && rename(tmp, path) != 0)
		rc = em_err_sys(e, errno, path, "cannot move the new file into place");
	if (rc)
		unlink(tmp);
	else
		em_fsync_parent(path); /* make the rename itself durable */
	free(tmp);
	return rc;
}

int em_write_all(int fd, const void *data, size_t n)
{
	const char *p = data;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

void em_fsync_parent(const char *path)
{
	char *dir = strdup(path);
	if (!dir)
		return;
	char *slash = strrchr(dir, '/');
	const char *d = slash ? (slash == dir ? "/" : (*slash = '\0', dir)) : ".";
	int dfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
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
		if (mkdir(p, 0755) && errno != EEXIST)
			rc = em_err_sys(e, errno, p, "cannot create the folder");
		*s = '/';
	}
	if (!rc && mkdir(p, 0755) && errno != EEXIST)
		rc = em_err_sys(e, errno, p, "cannot create the folder");
	if (!rc) {
		struct stat st;
		if (stat(p, &st) != 0)
			rc = em_err_sys(e, errno, p, "cannot create the folder");
		else if (!S_ISDIR(st.st_mode))
			rc = em_err(e, EM_EINVAL, p, "exists and is not a folder");
	}
	free(p);
	return rc;
}

/* Empty the folder open as fd (its path, for messages, is root/rel), one
 * level at a time: files and empty folders are removed as they are met;
 * the first folder that is not empty is entered ("cur" becomes it, its name
 * is pushed on rel) and the scan starts there. Returns 1 when it entered a
 * folder, 0 when fd is empty, or an error. No recursion and one open
 * folder at a time, so neither the depth of the tree nor the length of its
 * paths is limited (a wheel's member names allow thousands of levels). */
static int empty_one(int *cur, const char *root, struct em_buf *rel, struct em_error *e)
{
	int dup_fd = dup(*cur);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return em_err_sys(e, errno, root, "cannot read a folder inside");
	}
	rewinddir(d);
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		if (n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2])))
			continue;
		struct stat st;
		if (fstatat(*cur, n, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno == ENOENT)
				continue;
			rc = em_err_sys(e, errno, root, "cannot inspect an entry of");
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (unlinkat(*cur, n, 0) != 0 && errno != ENOENT) {
				rc = em_err_sys(e, errno, root, "cannot remove a file inside");
				break;
			}
			continue;
		}
		if (unlinkat(*cur, n, AT_REMOVEDIR) == 0 || errno == ENOENT)
			continue;
		/* not empty: make it ours to empty, and go in */
		if ((st.st_mode & 0700) != 0700)
			fchmodat(*cur, n, (st.st_mode & 07777) | 0700, 0);
		int sub = openat(*cur, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			rc = em_err_sys(e, errno, root, "cannot open a folder inside");
			break;
		}
		if (rel->len)
			em_buf_addc(rel, '/');
		em_buf_addstr(rel, n);
		if (rel->err) {
			close(sub);
			rc = em_err_nomem(e);
			break;
		}
		close(*cur);
		*cur = sub;
		rc = 1;
		break;
	}
	closedir(d);
	return rc;
}

int em_remove_tree(const char *path, struct em_error *e)
{
	struct stat st;
	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		return em_err_sys(e, errno, path, "cannot inspect");
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) != 0 && errno != ENOENT)
			return em_err_sys(e, errno, path, "cannot remove");
		return 0;
	}
	if ((st.st_mode & 0700) != 0700)
		chmod(path, (st.st_mode & 07777) | 0700);
	int cur = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cur < 0)
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
		int up = openat(cur, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (up < 0) {
			rc = em_err_sys(e, errno, path, "cannot go back up inside");
			break;
		}
		close(cur);
		cur = up;
		char *slash = strrchr(rel.ptr, '/');
		const char *name = slash ? slash + 1 : rel.ptr;
		if (unlinkat(cur, name, AT_REMOVEDIR) != 0 && errno != ENOENT) {
			rc = em_err_sys(e, errno, path, "cannot remove a folder inside");
			break;
		}
		em_buf_truncate(&rel, slash ? (size_t)(slash - rel.ptr) : 0);
	}
	close(cur);
	em_buf_release(&rel);
	if (!rc && rmdir(path) != 0 && errno != ENOENT)
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
