/* posix_fs.c - files, paths, locks and free space on POSIX systems */
#include "os/posix.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef O_BINARY
#define O_BINARY 0
#endif

int em_posix_open_flags(int flags)
{
	int f = O_CLOEXEC | O_BINARY;
	if ((flags & EM_OPEN_RDWR) == EM_OPEN_RDWR)
		f |= O_RDWR;
	else if (flags & EM_OPEN_WRITE)
		f |= O_WRONLY;
	else
		f |= O_RDONLY;
	if (flags & EM_OPEN_CREATE)
		f |= O_CREAT;
	if (flags & EM_OPEN_EXCL)
		f |= O_EXCL;
	if (flags & EM_OPEN_TRUNC)
		f |= O_TRUNC;
	if (flags & EM_OPEN_APPEND)
		f |= O_APPEND;
	if (flags & EM_OPEN_NOFOLLOW)
		f |= O_NOFOLLOW;
	return f;
}

void em_posix_stat_fill(const struct stat *s, struct em_stat *st)
{
	memset(st, 0, sizeof *st);
	if (S_ISREG(s->st_mode))
		st->type = EM_FT_FILE;
	else if (S_ISDIR(s->st_mode))
		st->type = EM_FT_DIR;
	else if (S_ISLNK(s->st_mode))
		st->type = EM_FT_LINK;
	else
		st->type = EM_FT_OTHER;
	st->mode = (unsigned)(s->st_mode & 07777);
	st->size = s->st_size > 0 ? (uint64_t)s->st_size : 0;
	st->dev = (uint64_t)s->st_dev;
	st->ino = (uint64_t)s->st_ino;
	st->nlink = (uint64_t)s->st_nlink;
	st->blocks = s->st_blocks > 0 ? (uint64_t)s->st_blocks : 0;
#if defined(__APPLE__)
	st->mtime_sec = (int64_t)s->st_mtimespec.tv_sec;
	st->mtime_nsec = s->st_mtimespec.tv_nsec;
#else
	st->mtime_sec = (int64_t)s->st_mtim.tv_sec;
	st->mtime_nsec = s->st_mtim.tv_nsec;
#endif
}

/* ---- descriptors ---- */

int em_os_open(const char *path, int flags, unsigned mode)
{
	return open(path, em_posix_open_flags(flags), (mode_t)mode);
}

int em_os_close(int fd)
{
	return close(fd);
}

ssize_t em_os_read(int fd, void *buf, size_t n)
{
	return read(fd, buf, n);
}

ssize_t em_os_write(int fd, const void *buf, size_t n)
{
	return write(fd, buf, n);
}

ssize_t em_os_pread(int fd, void *buf, size_t n, uint64_t off)
{
	return pread(fd, buf, n, (off_t)off);
}

ssize_t em_os_pwrite(int fd, const void *buf, size_t n, uint64_t off)
{
	return pwrite(fd, buf, n, (off_t)off);
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

int em_os_fsync(int fd)
{
	return fsync(fd);
}

int em_os_ftruncate(int fd, uint64_t size)
{
	return ftruncate(fd, (off_t)size);
}

int em_os_seek(int fd, uint64_t off)
{
	return lseek(fd, (off_t)off, SEEK_SET) == (off_t)off ? 0 : -1;
}

int em_os_fchmod(int fd, unsigned mode)
{
	return fchmod(fd, (mode_t)mode);
}

/* ---- what a path is ---- */

int em_os_stat(const char *path, struct em_stat *st)
{
	struct stat s;
	if (stat(path, &s) != 0)
		return -1;
	em_posix_stat_fill(&s, st);
	return 0;
}

int em_os_lstat(const char *path, struct em_stat *st)
{
	struct stat s;
	if (lstat(path, &s) != 0)
		return -1;
	em_posix_stat_fill(&s, st);
	return 0;
}

int em_os_fstat(int fd, struct em_stat *st)
{
	struct stat s;
	if (fstat(fd, &s) != 0)
		return -1;
	em_posix_stat_fill(&s, st);
	return 0;
}

bool em_os_same_file(const struct em_stat *a, const struct em_stat *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

int em_os_access(const char *path, int how)
{
	return access(path, how == EM_ACCESS_EXEC ? X_OK : F_OK);
}

/* ---- changing the tree ---- */

int em_os_mkdir(const char *path, unsigned mode)
{
	return mkdir(path, (mode_t)mode);
}

int em_os_rmdir(const char *path)
{
	return rmdir(path);
}

int em_os_unlink(const char *path)
{
	return unlink(path);
}

int em_os_rename(const char *from, const char *to)
{
	return rename(from, to);
}

int em_os_exchange(const char *a, const char *b)
{
	int err;
#ifdef SYS_renameat2
	if (syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 2 /* RENAME_EXCHANGE */) == 0)
		return 0;
	err = errno;
#else
	(void)a;
	(void)b;
	err = ENOSYS;
#endif
	errno = err;
	if (err == EINVAL || err == ENOSYS || err == ENOTSUP || err == EOPNOTSUPP)
		return EM_EUNSUPPORTED;
	return -1;
}

int em_os_link(const char *from, const char *to)
{
	return link(from, to);
}

int em_os_symlink(const char *target, const char *path)
{
	return symlink(target, path);
}

ssize_t em_os_readlink(const char *path, char *buf, size_t n)
{
	return readlink(path, buf, n);
}

int em_os_chmod(const char *path, unsigned mode)
{
	return chmod(path, (mode_t)mode);
}

char *em_os_realpath(const char *path)
{
	return realpath(path, NULL);
}

char *em_os_getcwd(struct em_arena *a)
{
	char *cwd = getcwd(NULL, 0);
	if (!cwd)
		return NULL;
	char *r = em_arena_strdup(a, cwd);
	free(cwd);
	if (!r)
		errno = ENOMEM;
	return r;
}

char *em_os_mkdtemp(char *tmpl)
{
	return mkdtemp(tmpl);
}

long em_os_pid(void)
{
	return (long)getpid();
}

/* ---- durability ---- */

int em_os_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	int err = errno;
	close(fd);
	errno = err;
	return rc;
}

int em_os_flush_volume(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
#if defined(__linux__)
	int rc = syncfs(fd);
#else
	sync();
	int rc = 0;
#endif
	int err = errno;
	close(fd);
	errno = err;
	return rc;
}

/* ---- locks ---- */

int em_os_lock(int fd, int how)
{
	int op = (how & EM_FLOCK_EX) ? LOCK_EX : LOCK_SH;
	if (how & EM_FLOCK_NB)
		op |= LOCK_NB;
	return flock(fd, op);
}

int em_os_unlock(int fd)
{
	return flock(fd, LOCK_UN);
}

/* ---- free space ---- */

int em_os_space(const char *path, uint64_t *avail, uint64_t *total)
{
	struct statvfs sv;
	if (statvfs(path, &sv) != 0)
		return -1;
	*avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	*total = (uint64_t)sv.f_blocks * sv.f_frsize;
	return 0;
}

/* ---- names ---- */

bool em_os_names_equal(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}
