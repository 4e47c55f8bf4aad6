/* posix_dir.c - open folders and the *at calls on them, folder listings */
#include "os/posix.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int em_posix_dirfd(const struct em_dir *d)
{
	return d ? d->fd : AT_FDCWD;
}

static struct em_dir *wrap(int fd)
{
	if (fd < 0)
		return NULL;
	struct em_dir *d = malloc(sizeof *d);
	if (!d) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	d->fd = fd;
	return d;
}

static int dir_flags(int flags)
{
	return O_RDONLY | O_DIRECTORY | O_CLOEXEC | ((flags & EM_OPEN_NOFOLLOW) ? O_NOFOLLOW : 0);
}

struct em_dir *em_dir_open(const char *path, int flags)
{
	return wrap(open(path, dir_flags(flags)));
}

struct em_dir *em_dir_openat(struct em_dir *d, const char *name, int flags)
{
	return wrap(openat(em_posix_dirfd(d), name, dir_flags(flags)));
}

void em_dir_close(struct em_dir *d)
{
	if (!d)
		return;
	int err = errno;
	close(d->fd);
	free(d);
	errno = err;
}

int em_dir_fstat(struct em_dir *d, struct em_stat *st)
{
	struct stat s;
	if (fstat(em_posix_dirfd(d), &s) != 0)
		return -1;
	em_posix_stat_fill(&s, st);
	return 0;
}

int em_dir_sync(struct em_dir *d)
{
	return fsync(em_posix_dirfd(d));
}

int em_dir_open_file(struct em_dir *d, const char *name, int flags, unsigned mode)
{
	return openat(em_posix_dirfd(d), name, em_posix_open_flags(flags), (mode_t)mode);
}

static int stat_at(struct em_dir *d, const char *name, struct em_stat *st, int atflags)
{
	struct stat s;
	if (fstatat(em_posix_dirfd(d), name, &s, atflags) != 0)
		return -1;
	em_posix_stat_fill(&s, st);
	return 0;
}

int em_dir_stat(struct em_dir *d, const char *name, struct em_stat *st)
{
	return stat_at(d, name, st, 0);
}

int em_dir_lstat(struct em_dir *d, const char *name, struct em_stat *st)
{
	return stat_at(d, name, st, AT_SYMLINK_NOFOLLOW);
}

int em_dir_mkdir(struct em_dir *d, const char *name, unsigned mode)
{
	return mkdirat(em_posix_dirfd(d), name, (mode_t)mode);
}

int em_dir_unlink(struct em_dir *d, const char *name)
{
	return unlinkat(em_posix_dirfd(d), name, 0);
}

int em_dir_rmdir(struct em_dir *d, const char *name)
{
	return unlinkat(em_posix_dirfd(d), name, AT_REMOVEDIR);
}

int em_dir_rename(struct em_dir *from_dir, const char *from, struct em_dir *to_dir,
		  const char *to)
{
	return renameat(em_posix_dirfd(from_dir), from, em_posix_dirfd(to_dir), to);
}

int em_dir_chmod(struct em_dir *d, const char *name, unsigned mode)
{
	return fchmodat(em_posix_dirfd(d), name, (mode_t)mode, 0);
}

/* ---- listings ---- */

struct em_dirlist {
	DIR *d;
};

static struct em_dirlist *list_wrap(DIR *dir)
{
	if (!dir)
		return NULL;
	struct em_dirlist *l = malloc(sizeof *l);
	if (!l) {
		closedir(dir);
		errno = ENOMEM;
		return NULL;
	}
	l->d = dir;
	return l;
}

struct em_dirlist *em_dirlist_open(const char *path)
{
	return list_wrap(opendir(path));
}

struct em_dirlist *em_dirlist_of(struct em_dir *d)
{
	int fd = d ? fcntl(d->fd, F_DUPFD_CLOEXEC, 0) : open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	DIR *dir = fdopendir(fd);
	if (!dir) {
		int err = errno;
		close(fd);
		errno = err;
		return NULL;
	}
	/* a duplicate shares the position with d: start from the first */
	rewinddir(dir);
	return list_wrap(dir);
}

const char *em_dirlist_next(struct em_dirlist *l)
{
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(l->d);
		if (!de)
			return NULL;
		const char *n = de->d_name;
		if (n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2])))
			continue;
		return n;
	}
}

void em_dirlist_close(struct em_dirlist *l)
{
	if (!l)
		return;
	int err = errno;
	closedir(l->d);
	free(l);
	errno = err;
}
