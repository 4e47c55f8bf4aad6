/* posix_link.c - putting a copy of a file somewhere the cheapest way allowed
 *
 * Three ways, cheapest first:
 *   clone     a copy-on-write copy (Linux FICLONE: btrfs, XFS with reflink,
 *             bcachefs, overlayfs over those; macOS clonefileat on APFS):
 *             its own inode, shares the blocks until either side is written
 *   hardlink  link(): the same inode under a second name, no data written
 *   copy      the bytes, with copy_file_range() where the kernel has it (it
 *             may clone or copy inside the kernel) and read/write otherwise;
 *             the permission bits are kept
 *
 * EM_LINK_AUTO takes the first that works. A failure that says the
 * filesystem (or the pair of filesystems) cannot do a way - EOPNOTSUPP,
 * EXDEV, EPERM and their kin - moves on to the next; a caller that passes
 * a struct em_link_state remembers that, so the next file between the same
 * folders does not try again. EMLINK (the source has the most links its
 * filesystem allows) copies just that file. Every other error is reported.
 *
 * Whatever way was taken, dst is created and never replaced: an existing
 * dst is an error (EEXIST in errno), so a caller that wants to replace a
 * file removes it first. On failure nothing is left at dst.
 */
#include "os/link.h"
#include "os/posix.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__linux__)
#include <sys/ioctl.h>
#include <linux/fs.h>
#endif
#if defined(__APPLE__)
#include <sys/clonefile.h>
#endif

#if defined(__linux__) && defined(__GLIBC__) && \
	(__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 27))
#define HAVE_COPY_FILE_RANGE 1
#endif

#define COPY_BLOCK (64u << 10)

/* what the ways below return for a source that is not a regular file
 * (never an errno value, which are positive) */
#define NOT_REGULAR (-1)

static const char *const mode_names[] = { "auto", "clone", "hardlink", "copy" };

int em_link_mode_parse(const char *s, enum em_link_mode *out, struct em_error *e)
{
	char q[80];
	if (!s)
		return em_err(e, EM_EUSAGE, NULL, "no link mode given");
	for (int i = 0; i < 4; i++) {
		if (!strcmp(s, mode_names[i])) {
			*out = (enum em_link_mode)i;
			return 0;
		}
	}
	return em_err(e, EM_EINVAL, NULL,
		      "unknown link mode '%s' (expected auto, clone, hardlink or copy)",
		      em_quote(q, sizeof q, s, strlen(s)));
}

const char *em_link_mode_name(enum em_link_mode m)
{
	return (unsigned)m < 4 ? mode_names[m] : "unknown";
}

/* ---- the three ways; each returns 0 or an errno value ---- */

/* Open src for reading, checking it is a regular file, and create dst
 * (which must not exist) for writing. */
static int open_pair(int sd, const char *src, int dd, const char *dst, int *in, int *out,
		     struct stat *st)
{
	*in = openat(sd, src, em_posix_open_flags(EM_OPEN_READ));
	if (*in < 0)
		return errno;
	int err = 0;
	if (fstat(*in, st) != 0)
		err = errno;
	else if (!S_ISREG(st->st_mode))
		err = S_ISDIR(st->st_mode) ? EISDIR : NOT_REGULAR;
	else if ((*out = openat(dd, dst,
				em_posix_open_flags(EM_OPEN_WRITE | EM_OPEN_CREATE | EM_OPEN_EXCL),
				0600)) < 0)
		err = errno;
	if (err)
		close(*in);
	return err;
}

static int close_dst(int dd, const char *dst, int out, int err)
{
	if (close(out) != 0 && !err)
		err = errno;
	if (err)
		unlinkat(dd, dst, 0);
	return err;
}

static int do_clone(int sd, const char *src, int dd, const char *dst)
{
#if defined(__linux__) && defined(FICLONE)
	struct stat st;
	int in, out;
	int err = open_pair(sd, src, dd, dst, &in, &out, &st);
	if (err)
		return err;
	if (ioctl(out, FICLONE, in) != 0)
		err = errno;
	else if (fchmod(out, st.st_mode & 07777) != 0)
		err = errno;
	close(in);
	return close_dst(dd, dst, out, err);
#elif defined(__APPLE__)
	/* clonefileat keeps the mode bits itself */
	return clonefileat(sd, src, dd, dst, CLONE_NOFOLLOW) == 0 ? 0 : errno;
#else
	(void)sd;
	(void)src;
	(void)dd;
	(void)dst;
	return EOPNOTSUPP;
#endif
}

static int do_hardlink(int sd, const char *src, int dd, const char *dst)
{
	return linkat(sd, src, dd, dst, 0) == 0 ? 0 : errno;
}

static int copy_fd(int in, int out, off_t size)
{
#ifdef HAVE_COPY_FILE_RANGE
	/* the kernel copies (or clones) without the data passing through
	 * here; any refusal falls back to read/write from where it stopped */
	off_t left = size;
	while (left > 0) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
			    errno == EOPNOTSUPP || errno == EBADF || errno == EPERM)
				break;
			return errno;
		}
		if (n == 0)
			break; /* shorter than fstat said: read the rest below */
		left -= n;
	}
#else
	(void)size;
#endif
	char buf[COPY_BLOCK];
	for (;;) {
		ssize_t got = read(in, buf, sizeof buf);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (got == 0)
			return 0;
		int err = em_write_all(out, buf, (size_t)got);
		if (err)
			return err;
	}
}

static int do_copy(int sd, const char *src, int dd, const char *dst)
{
	struct stat st;
	int in, out;
	int err = open_pair(sd, src, dd, dst, &in, &out, &st);
	if (err)
		return err;
	err = copy_fd(in, out, st.st_size);
	/* the permission bits exactly, whatever the umask */
	if (!err && fchmod(out, st.st_mode & 07777) != 0)
		err = errno;
	close(in);
	return close_dst(dd, dst, out, err);
}

/* ---- choosing ---- */

/* The filesystem cannot clone between these folders. */
static bool clone_unsupported(int err)
{
	return err == EOPNOTSUPP || err == ENOTSUP || err == ENOTTY || err == EINVAL ||
	       err == EXDEV || err == ENOSYS || err == EPERM || err == EBADF;
}

/* The filesystem cannot hard link between these folders. */
static bool hardlink_unsupported(int err)
{
	return err == EXDEV || err == EPERM || err == EOPNOTSUPP || err == ENOTSUP ||
	       err == ENOSYS;
}

static int state_get(const struct em_link_state *st)
{
	return st ? __atomic_load_n(&st->mode, __ATOMIC_RELAXED) : EM_LINK_AUTO;
}

static void state_set(struct em_link_state *st, enum em_link_mode m)
{
	if (st)
		__atomic_store_n(&st->mode, (int)m, __ATOMIC_RELAXED);
}

static int fail(struct em_error *e, int err, const char *src, const char *dst,
		const char *how)
{
	char qs[256], qd[256];
	em_quote(qs, sizeof qs, src, strlen(src));
	em_quote(qd, sizeof qd, dst, strlen(dst));
	int rc;
	if (err == NOT_REGULAR) {
		rc = em_err(e, EM_EINVAL, qd, "cannot %s '%s': it is not a regular file", how, qs);
		errno = EINVAL;
		return rc;
	}
	if (err == EEXIST)
		rc = em_err(e, EM_EIO, qd, "cannot %s '%s' here: the file already exists", how, qs);
	else if (err == ENOSPC || err == EDQUOT)
		rc = em_err(e, EM_EIO, qd, "cannot %s '%s' here: no space left on the device (%s)",
			    how, qs, strerror(err));
	else if (err == ENOENT)
		rc = em_err(e, EM_ENOTFOUND, qd, "cannot %s '%s' here: %s", how, qs,
			    strerror(err));
	else
		rc = em_err(e, EM_EIO, qd, "cannot %s '%s' here: %s", how, qs, strerror(err));
	errno = err;
	return rc;
}

static int link_fds(int srcdir, const char *src, int dstdir, const char *dst,
		    enum em_link_mode mode, struct em_link_state *st, enum em_link_mode *used,
		    struct em_error *e)
{
	int err;
	switch (mode) {
	case EM_LINK_CLONE:
		err = do_clone(srcdir, src, dstdir, dst);
		if (err > 0 && clone_unsupported(err)) {
			/* FICLONE says EOPNOTSUPP or EINVAL on a filesystem without
			 * reflinks, EXDEV across two */
			char qs[256], qd[256];
			em_quote(qs, sizeof qs, src, strlen(src));
			em_quote(qd, sizeof qd, dst, strlen(dst));
			int rc = em_err(e, EM_EUNSUPPORTED, qd,
					"cannot clone '%s' here: the filesystem cannot (%s)", qs,
					strerror(err));
			errno = err;
			return rc;
		}
		if (err)
			return fail(e, err, src, dst, "clone");
		break;
	case EM_LINK_HARDLINK:
		err = do_hardlink(srcdir, src, dstdir, dst);
		if (err)
			return fail(e, err, src, dst, "hard link");
		break;
	case EM_LINK_COPY:
		err = do_copy(srcdir, src, dstdir, dst);
		if (err)
			return fail(e, err, src, dst, "copy");
		break;
	case EM_LINK_AUTO: {
		int how = state_get(st);
		if (how == EM_LINK_AUTO || how == EM_LINK_CLONE) {
			err = do_clone(srcdir, src, dstdir, dst);
			if (!err) {
				mode = EM_LINK_CLONE;
				break;
			}
			if (!clone_unsupported(err))
				return fail(e, err, src, dst, "clone");
			how = EM_LINK_HARDLINK;
			state_set(st, EM_LINK_HARDLINK);
		}
		if (how == EM_LINK_HARDLINK) {
			err = do_hardlink(srcdir, src, dstdir, dst);
			if (!err) {
				mode = EM_LINK_HARDLINK;
				break;
			}
			if (hardlink_unsupported(err))
				state_set(st, EM_LINK_COPY);
			else if (err != EMLINK)
				return fail(e, err, src, dst, "hard link");
		}
		err = do_copy(srcdir, src, dstdir, dst);
		if (err)
			return fail(e, err, src, dst, "copy");
		mode = EM_LINK_COPY;
		break;
	}
	default:
		return em_err(e, EM_EUSAGE, NULL, "unknown link mode %d", (int)mode);
	}
	if (used)
		*used = mode;
	return 0;
}

int em_link_file(const char *src, const char *dst, enum em_link_mode mode,
		 enum em_link_mode *used, struct em_error *e)
{
	if (!src || !dst)
		return em_err(e, EM_EUSAGE, NULL, "no file given to link");
	return link_fds(AT_FDCWD, src, AT_FDCWD, dst, mode, NULL, used, e);
}

int em_link_at(struct em_dir *srcdir, const char *src, struct em_dir *dstdir, const char *dst,
	       enum em_link_mode mode, struct em_link_state *st, enum em_link_mode *used,
	       struct em_error *e)
{
	return link_fds(em_posix_dirfd(srcdir), src, em_posix_dirfd(dstdir), dst, mode, st, used,
			e);
}
