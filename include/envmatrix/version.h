/* version.h - the version of libenvmatrix and the envmatrix tool */
#ifndef ENVMATRIX_VERSION_H
#define ENVMATRIX_VERSION_H

#define EM_VERSION "0.1.0"
#define EM_VERSION_MAJOR 0
#define EM_VERSION_MINOR 1
#define EM_VERSION_PATCH 0

#endif
