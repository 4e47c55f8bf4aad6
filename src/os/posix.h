/* posix.h - what the POSIX files of src/os share (never included outside
 * src/os) */
#ifndef ENVMATRIX_OS_POSIX_H
#define ENVMATRIX_OS_POSIX_H

#include <sys/stat.h>

#include "os/fs.h"

/* struct em_dir on POSIX: an open folder descriptor */
struct em_dir {
	int fd;
};

/* d's descriptor, AT_FDCWD for NULL */
int em_posix_dirfd(const struct em_dir *d);
/* open(2) flags for EM_OPEN_* (O_CLOEXEC always) */
int em_posix_open_flags(int flags);
/* struct stat to struct em_stat */
void em_posix_stat_fill(const struct stat *s, struct em_stat *st);

#endif
