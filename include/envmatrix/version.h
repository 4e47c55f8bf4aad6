/* version.h - the version of libenvmatrix and the envmatrix tool */
#ifndef ENVMATRIX_VERSION_H
#define ENVMATRIX_VERSION_H

#define EM_VERSION "0.1.0"

#endif
