/* host.h - facts about the machine envmatrix runs on
 *
 * Unlike the standards engine, this module reads the system (uname, the C
 * library, later /sys and /proc under ENVMATRIX_SYSROOT). Everything that
 * decides compatibility takes the resulting struct, so tests and cross
 * planning pass a described platform instead.
 */
#ifndef ENVMATRIX_HOST_H
#define ENVMATRIX_HOST_H

#include "envmatrix/error.h"
#include "spec/target.h"

/* The host's OS, architecture, C library (glibc or musl, with its version),
 * macOS version, and platform_release / platform_version as Python's
 * platform module reports them. */
EM_MUST_USE
int em_host_platform(struct em_platform *out, struct em_error *e);

#endif
