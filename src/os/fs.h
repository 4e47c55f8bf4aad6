/* fs.h - the platform layer's files, folders and paths
 *
 * src/os is the only code that calls the operating system; everything
 * else reaches files, folders, processes, the clock and the environment
 * through os/fs.h, os/link.h, os/proc.h and os/sys.h. The POSIX
 * implementation is in src/os/posix_*.c (and fs.c, link.c, proc.c); a
 * Windows one (UTF-16 -W calls, no *at calls, no folder exchange,
 * mandatory locks, job objects; mingw-w64) sits beside it behind the same
 * declarations, without a caller changing.
 *
 * Conventions of the low-level calls (em_os_*, em_dir_*):
 * - they follow POSIX: 0 (or a descriptor, a count) on success, -1 (or
 *   NULL) on failure with errno set to an <errno.h> value (ENOENT, EEXIST,
 *   EXDEV...), which a Windows implementation maps from GetLastError. So
 *   callers keep testing errno and passing it to em_err_sys;
 * - an open file is an int descriptor (the mingw CRT has int descriptors
 *   too, and maps them to HANDLEs); always close-on-exec and binary;
 * - an open folder is an opaque struct em_dir (a descriptor on POSIX, a
 *   path on Windows), with *at-like calls that name an entry in it;
 *   NULL for a struct em_dir * means the current folder (AT_FDCWD);
 * - paths are UTF-8 bytes with '/' (Windows also accepts '\\').
 *
 * Every write envmatrix makes is atomic: the data goes to a temporary file
 * beside the target, is flushed to disk, and is renamed over it, so a crash
 * leaves either the old file or the new one, never a mix.
 */
#ifndef ENVMATRIX_FS_H
#define ENVMATRIX_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/arena.h"
#include "util/sha256.h"
#include "envmatrix/error.h"

/* ---- file descriptors ---- */

/* em_os_open / em_dir_open_file flags (combine with |) */
#define EM_OPEN_READ 0x01
#define EM_OPEN_WRITE 0x02
#define EM_OPEN_RDWR (EM_OPEN_READ | EM_OPEN_WRITE)
#define EM_OPEN_CREATE 0x04   /* create when missing, with the mode given */
#define EM_OPEN_EXCL 0x08     /* with CREATE: EEXIST when it exists */
#define EM_OPEN_TRUNC 0x10
#define EM_OPEN_APPEND 0x20
#define EM_OPEN_NOFOLLOW 0x40 /* ELOOP when the last component is a symbolic link */

/* Open a file: a descriptor, or -1 and errno. EISDIR-like errors are the
 * system's; use em_dir_open for folders. */
EM_MUST_USE
int em_os_open(const char *path, int flags, unsigned mode);
int em_os_close(int fd);
/* read/write/pread/pwrite exactly as POSIX (short counts, EINTR, EAGAIN) */
ssize_t em_os_read(int fd, void *buf, size_t n);
ssize_t em_os_write(int fd, const void *buf, size_t n);
ssize_t em_os_pread(int fd, void *buf, size_t n, uint64_t off);
ssize_t em_os_pwrite(int fd, const void *buf, size_t n, uint64_t off);
/* Write all n bytes to fd (retrying short writes and EINTR): 0, or the
 * errno of the failed write. */
EM_MUST_USE
int em_write_all(int fd, const void *data, size_t n);
EM_MUST_USE
int em_os_fsync(int fd);
EM_MUST_USE
int em_os_ftruncate(int fd, uint64_t size);
/* Move the file position to off from the start: 0 or -1 and errno. */
EM_MUST_USE
int em_os_seek(int fd, uint64_t off);
EM_MUST_USE
int em_os_fchmod(int fd, unsigned mode);

/* ---- what a path is ---- */

enum em_ftype {
	EM_FT_OTHER = 0, /* a device, a FIFO, a socket... */
	EM_FT_FILE,
	EM_FT_DIR,
	EM_FT_LINK       /* only from the lstat forms */
};

struct em_stat {
	enum em_ftype type;
	unsigned mode;     /* permission bits (07777); Windows: 0444 or 0666 from the
			    * read-only attribute, 0111 added for folders */
	uint64_t size;
	uint64_t dev, ino; /* identity: device + inode (Windows: volume serial +
			    * file id); equal pairs are one file */
	uint64_t nlink;
	uint64_t blocks;   /* 512-byte blocks allocated on disk */
	int64_t mtime_sec; /* last change of the data, since the epoch */
	long mtime_nsec;
};

/* stat follows symbolic links, lstat does not. 0, or -1 and errno. */
EM_MUST_USE
int em_os_stat(const char *path, struct em_stat *st);
EM_MUST_USE
int em_os_lstat(const char *path, struct em_stat *st);
EM_MUST_USE
int em_os_fstat(int fd, struct em_stat *st);
/* The same file (device and inode, volume and file id)? */
bool em_os_same_file(const struct em_stat *a, const struct em_stat *b);

/* access(2): EM_ACCESS_EXISTS (following links) or EM_ACCESS_EXEC (an
 * executable file: on Windows, one that exists). 0, or -1 and errno. */
#define EM_ACCESS_EXISTS 0
#define EM_ACCESS_EXEC 1
EM_MUST_USE
int em_os_access(const char *path, int how);

/* ---- changing the tree by path ---- */

EM_MUST_USE
int em_os_mkdir(const char *path, unsigned mode);
EM_MUST_USE
int em_os_rmdir(const char *path);
/* em_os_unlink, em_dir_unlink, em_os_close and em_os_unlock are not
 * EM_MUST_USE: most calls remove a leftover or release a resource on the
 * way out of a failure, where the first error is the one to report. */
int em_os_unlink(const char *path);
/* rename(2): replaces an existing file (Windows: MoveFileEx with
 * MOVEFILE_REPLACE_EXISTING). */
EM_MUST_USE
int em_os_rename(const char *from, const char *to);
/* Swap two existing paths in one atomic step (Linux renameat2
 * RENAME_EXCHANGE). 0 when done; EM_EUNSUPPORTED when the system or the
 * filesystem cannot (always on Windows; errno holds the system's reason):
 * the caller then falls back to its journal of plain renames; -1 and errno
 * for any other failure. */
EM_MUST_USE
int em_os_exchange(const char *a, const char *b);
/* A hard link, a symbolic link (Windows: needs the privilege or developer
 * mode), and reading one: readlink(2) exactly (no NUL added). */
EM_MUST_USE
int em_os_link(const char *from, const char *to);
EM_MUST_USE
int em_os_symlink(const char *target, const char *path);
ssize_t em_os_readlink(const char *path, char *buf, size_t n);
EM_MUST_USE
int em_os_chmod(const char *path, unsigned mode);
/* realpath(3): a malloc'd absolute path with every link resolved (free()
 * it), or NULL and errno. */
char *em_os_realpath(const char *path);
/* The current folder, in the arena; NULL and errno on failure. */
char *em_os_getcwd(struct em_arena *a);
/* mkdtemp(3): tmpl ends in XXXXXX, which are replaced; tmpl or NULL. */
char *em_os_mkdtemp(char *tmpl);
/* The process id, for names of temporary files ("%s.tmp.%ld"). */
long em_os_pid(void);

/* ---- durability ---- */

/* fsync a folder, so a rename into it is durable: 0, or -1 and errno. */
EM_MUST_USE
int em_os_fsync_dir(const char *path);
/* fsync the folder holding path (best effort). */
void em_fsync_parent(const char *path);
/* Flush every file of the filesystem holding path to disk (Linux syncfs;
 * elsewhere a sync of everything, or FlushFileBuffers on the volume). 0, or
 * -1 and errno (the open or the flush failed). */
EM_MUST_USE
int em_os_flush_volume(const char *path);

/* ---- locks ---- */

/* Advisory whole-file locks on a descriptor (flock(2)); a lock goes with
 * the open file, and with its last close. On Windows they are mandatory
 * (LockFileEx on a byte range far past the end, so the file's bytes stay
 * readable by others). EM_FLOCK_NB: fail with EWOULDBLOCK instead of
 * waiting; a blocking wait ends with EINTR when a signal arrives (check
 * the stop flag). 0, or -1 and errno. */
#define EM_FLOCK_SH 1
#define EM_FLOCK_EX 2
#define EM_FLOCK_NB 4
EM_MUST_USE
int em_os_lock(int fd, int how);
int em_os_unlock(int fd);

/* ---- free space ---- */

/* Bytes available to this user and the filesystem's size, for the
 * filesystem holding path (statvfs; Windows GetDiskFreeSpaceExW). 0, or -1
 * and errno. */
EM_MUST_USE
int em_os_space(const char *path, uint64_t *avail, uint64_t *total);

/* ---- folders as handles (the *at calls) ---- */

struct em_dir;

/* Open a folder (EM_OPEN_NOFOLLOW: refuse a symbolic link); NULL and errno.
 * em_dir_openat opens name inside d (".." is d's parent). */
struct em_dir *em_dir_open(const char *path, int flags);
struct em_dir *em_dir_openat(struct em_dir *d, const char *name, int flags);
void em_dir_close(struct em_dir *d); /* NULL is fine */
/* What d itself is (identity, to check that a folder did not move). */
EM_MUST_USE
int em_dir_fstat(struct em_dir *d, struct em_stat *st);
/* fsync d itself. */
EM_MUST_USE
int em_dir_sync(struct em_dir *d);

/* The calls of the same name, on the entry name inside d. em_dir_lstat
 * does not follow a link, em_dir_stat does. em_dir_chmod follows links. */
EM_MUST_USE
int em_dir_open_file(struct em_dir *d, const char *name, int flags, unsigned mode);
EM_MUST_USE
int em_dir_stat(struct em_dir *d, const char *name, struct em_stat *st);
EM_MUST_USE
int em_dir_lstat(struct em_dir *d, const char *name, struct em_stat *st);
EM_MUST_USE
int em_dir_mkdir(struct em_dir *d, const char *name, unsigned mode);
int em_dir_unlink(struct em_dir *d, const char *name); /* not a folder */
EM_MUST_USE
int em_dir_rmdir(struct em_dir *d, const char *name);  /* an empty folder */
EM_MUST_USE
int em_dir_rename(struct em_dir *from_dir, const char *from, struct em_dir *to_dir,
		  const char *to);
EM_MUST_USE
int em_dir_chmod(struct em_dir *d, const char *name, unsigned mode);

/* ---- listing a folder ---- */

struct em_dirlist;

/* Start listing the folder at path, or d's entries from the first (d
 * stays open and usable; each list is independent). NULL and errno. */
struct em_dirlist *em_dirlist_open(const char *path);
struct em_dirlist *em_dirlist_of(struct em_dir *d);
/* The next entry's name ("." and ".." are never returned), valid until the
 * next call; NULL at the end (errno 0) or on an error (errno set). The
 * order is the system's. */
const char *em_dirlist_next(struct em_dirlist *l);
void em_dirlist_close(struct em_dirlist *l); /* NULL is fine */

/* ---- names ---- */

/* Whether two names in one folder name the same entry: byte-equal on
 * POSIX; case-insensitive on Windows and macOS default volumes is a
 * property of the filesystem, so callers that need it ask this. */
bool em_os_names_equal(const char *a, const char *b);

/* ---- built on the above (portable, src/os/fs.c) ---- */

/* Read a whole file (at most max bytes: EM_ELIMIT beyond) into the arena,
 * NUL-terminated. EM_ENOTFOUND when it does not exist. */
EM_MUST_USE
int em_read_file(struct em_arena *a, const char *path, size_t max, char **out, size_t *len,
		 struct em_error *e);

/* Write data to path atomically (temporary file beside it, fsync, rename,
 * fsync of the folder). mode is the new file's permission bits. */
EM_MUST_USE
int em_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode,
			 struct em_error *e);

/* Hash a whole file with SHA-256; *size gets its length when size is not
 * NULL. */
EM_MUST_USE
int em_sha256_file(const char *path, char hex[EM_SHA256_HEX_LEN + 1], int64_t *size,
		   struct em_error *e);

/* The folder part of a path ("." when there is none), and a path joined to
 * a folder (rel unchanged when it is absolute). Pure string work. */
char *em_path_dir(struct em_arena *a, const char *path);
char *em_path_join(struct em_arena *a, const char *dir, const char *rel);
/* An absolute, lexically normalized version of path (no I/O beyond the
 * current folder): "." and ".." segments and repeated '/' removed. */
char *em_path_absolute(struct em_arena *a, const char *path);
bool em_path_is_absolute(const char *path);

/* Create a folder and its missing parents (mode 0755); an existing folder
 * is fine. */
EM_MUST_USE
int em_mkdir_p(const char *path, struct em_error *e);

/* Remove a file or a whole tree without following symbolic links (a link
 * is removed, never what it points to). Read-only folders are made
 * writable first. A path that does not exist is not an error. e may be
 * NULL for best-effort cleanup (not EM_MUST_USE: that use ignores it). */
int em_remove_tree(const char *path, struct em_error *e);

#endif
