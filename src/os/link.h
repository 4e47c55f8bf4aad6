/* link.h - putting a copy of a file somewhere the cheapest way allowed
 * (reflink, hard link or copy); the ways and their fallbacks are described
 * in link.c */
#ifndef ENVMATRIX_LINK_H
#define ENVMATRIX_LINK_H

#include "envmatrix/error.h"

struct em_dir;

enum em_link_mode {
	EM_LINK_AUTO = 0, /* reflink, else hardlink, else copy (decided per folder pair) */
	EM_LINK_CLONE,    /* reflink (copy-on-write) only */
	EM_LINK_HARDLINK, /* hard links only */
	EM_LINK_COPY      /* plain copies */
};

/* "auto", "clone", "hardlink", "copy" */
EM_MUST_USE
int em_link_mode_parse(const char *s, enum em_link_mode *out, struct em_error *e);
const char *em_link_mode_name(enum em_link_mode m);

/* Put a copy of the file src at dst (which must not exist) the cheapest
 * way mode allows; *used (optional) says which way was taken. A copy keeps
 * the permission bits. On failure nothing is left at dst and errno holds
 * the system's reason (EEXIST when dst exists); EM_EUNSUPPORTED when
 * EM_LINK_CLONE is asked of a filesystem that cannot clone. */
EM_MUST_USE
int em_link_file(const char *src, const char *dst, enum em_link_mode mode,
		 enum em_link_mode *used, struct em_error *e);

/* What EM_LINK_AUTO learnt about a pair of folders: a way that failed
 * because the filesystem cannot do it is not tried again. Zero it before
 * the first use; it may be shared by threads. */
struct em_link_state {
	int mode; /* the first way still worth trying (EM_LINK_AUTO: clone) */
};

/* em_link_file with src and dst names inside open folders (NULL: the
 * current folder) and an optional state for EM_LINK_AUTO. Errors name dst
 * as given. */
EM_MUST_USE
int em_link_at(struct em_dir *srcdir, const char *src, struct em_dir *dstdir, const char *dst,
	       enum em_link_mode mode, struct em_link_state *st, enum em_link_mode *used,
	       struct em_error *e);

#endif
