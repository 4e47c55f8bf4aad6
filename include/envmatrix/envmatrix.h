/* envmatrix.h - the public interface of libenvmatrix */
#ifndef ENVMATRIX_H
#define ENVMATRIX_H

#include "envmatrix/version.h"
#include "envmatrix/error.h"

#endif
