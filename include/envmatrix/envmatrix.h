/* envmatrix.h - the public interface of libenvmatrix, one header per area */
#ifndef ENVMATRIX_H
#define ENVMATRIX_H

#define EM_VERSION "0.1.0"

#include "envmatrix/error.h"
#include "envmatrix/arena.h"
#include "envmatrix/buf.h"
#include "envmatrix/str.h"
#include "envmatrix/name.h"
#include "envmatrix/pep440.h"
#include "envmatrix/pep508.h"
#include "envmatrix/target.h"
#include "envmatrix/tags.h"
#include "envmatrix/metadata.h"
#include "envmatrix/host.h"
#include "envmatrix/sha256.h"
#include "envmatrix/fs.h"
#include "envmatrix/archive.h"
#include "envmatrix/index.h"
#include "envmatrix/source.h"
#include "envmatrix/proc.h"
#include "envmatrix/interp.h"
#include "envmatrix/matrix.h"
#include "envmatrix/lock.h"
#include "envmatrix/candidates.h"
#include "envmatrix/resolve.h"
#include "envmatrix/plan.h"
#include "envmatrix/install.h"
#include "envmatrix/venv.h"
#include "envmatrix/http.h"
#include "envmatrix/cache.h"
#include "envmatrix/apply.h"
#include "envmatrix/mirror.h"
#include "envmatrix/state.h"

#endif
