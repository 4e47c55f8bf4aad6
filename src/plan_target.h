/* plan_target.h - a workload's target: its platform and Python
 *
 * The first step of planning (plan.h): the platform is the matrix's
 * platform key (auto: this machine), the Python the python key read as an
 * exact version, a series, a specifier or an interpreter's path, taken
 * from this machine's interpreters (interp.h) or, from a python-mirror,
 * a python-build-standalone download (pybuild.h). doctor settles only
 * this.
 */
#ifndef ENVMATRIX_PLAN_TARGET_H
#define ENVMATRIX_PLAN_TARGET_H

#include "util/arena.h"
#include "envmatrix/error.h"
#include "interp.h"
#include "plan.h"
#include "spec/matrix.h"

/* Settle only a workload's target, as em_plan_build does first: wp->w
 * must be set; fills target, platform_name, python_name, python_from and
 * host_target. Interpreters are discovered into *own on first need when
 * *interps is NULL. */
EM_MUST_USE
int em_plan_target(struct em_arena *a, const struct em_matrix *m, const struct em_plan_options *o,
		   const struct em_interp_list **interps, struct em_interp_list *own,
		   struct em_workload_plan *wp, struct em_error *e);

#endif
