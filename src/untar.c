/* untar.c - writing a tar archive's members into a tree on disk (untar.h) */
#include "untar.h"
#include "archive.h"
#include "os/fs.h"

#include <archive.h>
#include <errno.h>

int em_untar_file(struct archive *ar, const char *path, unsigned mode, uint64_t *bytes,
		  uint64_t max, const char *name, const char *where, struct em_error *e)
{
	int fd = em_os_open(path, EM_OPEN_WRITE | EM_OPEN_CREATE | EM_OPEN_EXCL | EM_OPEN_NOFOLLOW,
			    (mode & 0111) ? 0755 : 0644);
	if (fd < 0)
		return em_err_sys(e, errno, where, "cannot create a member");
	char buf[1 << 16];
	int rc = 0;
	for (;;) {
		la_ssize_t got = archive_read_data(ar, buf, sizeof buf);
		if (got == 0)
			break;
		if (got < 0) {
			rc = em_err(e, EM_EINVAL, where, "corrupt archive: %s",
				    archive_error_string(ar));
			break;
		}
		*bytes += (uint64_t)got;
		if (max && *bytes > max) {
			rc = em_err(e, EM_ELIMIT, where,
				    "member '%s': the archive unpacks to more than %llu bytes", name,
				    (unsigned long long)max);
			break;
		}
		int err = em_write_all(fd, buf, (size_t)got);
		if (err) {
			rc = em_err_sys(e, err, path, "cannot write");
			break;
		}
	}
	if (em_os_close(fd) && !rc)
		rc = em_err_sys(e, errno, path, "cannot write");
	return rc;
}

int em_untar_dir(const char *path, const char *name, const char *where, struct em_error *e)
{
	struct em_stat st;
	if (em_os_lstat(path, &st) == 0 ? st.type != EM_FT_DIR : em_os_mkdir(path, 0755) != 0)
		return em_err(e, EM_EINVAL, where, "cannot create folder '%s'", name);
	return 0;
}

int em_untar_symlink(const char *rel, const char *target, const char *path, const char *name,
		     const char *tree, const char *where, struct em_error *e)
{
	if (!target || !em_archive_link_inside(rel, target))
		return em_err(e, EM_EINVAL, where,
			      "member '%s' is a symbolic link to '%s', outside %s", name,
			      target ? target : "", tree);
	if (em_os_symlink(target, path))
		return em_err_sys(e, errno, path, "cannot create a symbolic link");
	return 0;
}
