/* spec.h - declarative package-index specs for tests (mkindex, scenarios)
 *
 * A spec describes package indexes that tests build on disk (tests/tools/
 * mkindex.c writes them) and, in scenario files, what a test asks of them.
 *
 * ---- Lines ----
 * A spec is a text file of lines (LF or CRLF). Blank lines and lines whose
 * first non-blank character is '#' are ignored. A comment may also end a
 * line: a '#' outside double quotes that follows a space or a tab and is
 * followed by a space, a tab or the end of the line ("#!python" and
 * "#sha256=" are not comments).
 *
 * Indentation is made of spaces (a tab there is an error) and marks
 * nesting: a line indented deeper than the line before it opens that
 * line's block; every line of a block has the same indentation, and a
 * line that ends a block must return to the indentation of an enclosing
 * one. Top-level lines start in column 1. Blocks nest at most
 * SPEC_MAX_DEPTH deep.
 *
 * Each line is a directive word and its arguments: the rest of the line
 * without the comment, trimmed (node.args). Directives read that either as
 * raw text (requirements, specifiers, expected output) or as words:
 * separated by blanks, KEY=VALUE options, "double quoted" strings with
 * the escapes \" \\ \n \t \r and \xHH.
 *
 * ---- Index directives (mkindex builds these) ----
 *   index NAME [format=html|json|both] [hashes=yes|no] [sidecars=yes|no]
 *              [absolute-urls=yes|no] [requires-python=yes|no]
 *       A PEP 503 / PEP 691 index at OUT/NAME/ (NAME may hold '/', as in
 *       torch/cu126). Defaults: format=html hashes=yes sidecars=yes
 *       absolute-urls=no requires-python=yes. hashes: #sha256= fragments
 *       and JSON hashes; sidecars: PEP 658 <file>.metadata files and the
 *       data-core-metadata / data-dist-info-metadata attributes;
 *       absolute-urls: the files go to OUT/NAME-files/ and the pages link
 *       them with absolute file:// URLs (an index whose files live on
 *       another host); requires-python: data-requires-python / JSON
 *       requires-python from the version's Requires-Python (the PyTorch
 *       index publishes none).
 *   findlinks NAME
 *       A flat folder OUT/NAME/ holding the files, no pages, no sidecars.
 *
 *   Inside index and findlinks:
 *     package NAME                     a project (a valid PEP 508 name)
 *     mirror INDEX PACKAGE...          the same packages as an index declared
 *                                      earlier in the spec (the files come out
 *                                      byte-identical)
 *   Inside package:
 *     version VERSION                  a PEP 440 version
 *     wheel TAG [OPTIONS]              default wheels for each version that
 *                                      lists neither wheel nor sdist
 *   Inside version:
 *     requires-python SPECIFIERS       raw; Requires-Python
 *     requires REQUIREMENT             raw PEP 508; Requires-Dist of every file
 *     provides-extra NAME              Provides-Extra
 *     field NAME: VALUE                raw; one more METADATA header line
 *     yanked ["REASON"]                PEP 592 (data-yanked, JSON yanked)
 *     upload-time TIME                 PEP 700 upload-time (JSON), as written;
 *                                      default SPEC_DEFAULT_UPLOAD_TIME
 *     metadata-file PATH               METADATA (and PKG-INFO) is this file's
 *                                      bytes, verbatim; PATH is relative to the
 *                                      spec's folder
 *     entry-point GROUP NAME = OBJECT  a line of entry_points.txt, every wheel
 *     file PATH CONTENT                a file at the root of every wheel
 *     data KEY/PATH CONTENT            NAME-VERSION.data/KEY/PATH in every wheel;
 *                                      KEY is purelib, platlib, headers, scripts
 *                                      or data
 *     sdist [sidecar=yes|no]           NAME-VERSION.tar.gz with PKG-INFO; with
 *                                      sidecar=yes its PKG-INFO is also served
 *                                      as a PEP 658 file (default no)
 *       Inside sdist: file PATH CONTENT, a member NAME-VERSION/PATH of the
 *       sdist, and file-from PATH FILE, the same with FILE's bytes (FILE
 *       relative to the spec's folder, read while parsing); pyproject.toml
 *       or PKG/__init__.py given so replace mkindex's (an in-tree backend,
 *       backend-path, makes an sdist that builds with nothing but Python).
 *       The version's file lines stay in its wheels.
 *     wheel TAG [sidecar=yes|no] [hash=yes|no|wrong] [build=BUILD]
 *         TAG is the compressed tag triple "cp311-cp311-manylinux_2_17_x86_64.
 *         manylinux2014_x86_64"; sidecar overrides the index's sidecars;
 *         hash=no publishes no hash for this file, hash=wrong a wrong one
 *         (real indexes have had both); build is a build tag (digits first).
 *       Inside wheel: requires, entry-point, file, data for this wheel only
 *       (requires: this wheel's METADATA gets the line after the version's).
 *   CONTENT is one word, usually "quoted" with escapes.
 *
 *   define NAME                        a block of lines, for any level
 *   use NAME                           the lines of define NAME, in place
 *                                      (defines are top-level lines, anywhere
 *                                      in the file; uses nest at most
 *                                      SPEC_MAX_USE deep; errors in a define's
 *                                      lines name the define's line)
 *
 * Checked while parsing: names (PEP 508), versions (PEP 440; one version
 * twice in a package, as 1.0 and 1.0.0 say, is an error), specifiers,
 * requirements, wheel file names, member paths (em_archive_check_name),
 * duplicate indexes, packages and wheels, unknown directives and options.
 *
 * ---- Scenario directives ----
 * Every other top-level line (target, request, prefer, expect-resolution,
 * expect-error, ...) is kept as a generic node for the caller: mkindex
 * ignores them. Their blocks are nodes too; spec_block_text() gives a
 * block back as text with its relative indentation.
 *
 * ---- What the files look like (mkindex) ----
 * Wheels are zip files named NAME-VERSION[-BUILD]-TAG.whl (NAME the PEP 503
 * name with '_' for '-', VERSION normalized) holding PKG/__init__.py (PKG is
 * NAME; a file directive with that path replaces it, and a wheel's file one
 * of its version's with the same path), the files and data above, and
 * NAME-VERSION.dist-info/ with METADATA (spec_metadata(): Metadata-Version
 * 2.1, Name, Version, Summary, Requires-Python, the fields, Provides-Extra,
 * Requires-Dist), WHEEL (Wheel-Version 1.0, Generator, Root-Is-Purelib true
 * when every ABI is none and every platform any, one Tag line per expanded
 * tag, Build), entry_points.txt when there are entry points, and RECORD
 * (sha256 and size of every member; RECORD's own row empty). sdists are
 * NAME-VERSION.tar.gz (ustar, gzip) with NAME-VERSION/PKG-INFO (the
 * version's METADATA), pyproject.toml (setuptools) and PKG/__init__.py, and
 * the sdist's file lines. Same spec, same
 * bytes: fixed times (2025-01-01, UTC) and owners, sorted members, RECORD
 * last, no time in the gzip header; only absolute file:// URLs depend on
 * where OUTDIR is.
 *
 * Pages: OUT/NAME/index.html lists the projects (index.json: PEP 691
 * "projects"); OUT/NAME/PROJECT/index.html has one anchor per file in spec
 * order (href percent-encoded, '+' as %2B, #sha256= unless hashes=no or
 * hash=no, data-requires-python HTML-escaped, data-dist-info-metadata and
 * data-core-metadata "sha256=HEX" of the sidecar ("true" with hashes=no),
 * data-yanked); index.json has meta.api-version "1.1", name, versions
 * (sorted), and files with filename, url, hashes, requires-python,
 * core-metadata and dist-info-metadata, yanked, size and upload-time.
 */
#ifndef ENVMATRIX_TESTS_SPEC_H
#define ENVMATRIX_TESTS_SPEC_H

#include <stdbool.h>
#include <stddef.h>

#include "util/arena.h"
#include "util/buf.h"
#include "envmatrix/error.h"

#define SPEC_MAX_DEPTH 32
#define SPEC_MAX_USE 8
#define SPEC_MAX_LINE 65536
#define SPEC_DEFAULT_UPLOAD_TIME "2025-01-01T00:00:00.000000Z"

/* One line and its block. */
struct spec_node {
	unsigned line;           /* 1-based */
	unsigned indent;         /* spaces before the directive */
	const char *word;        /* the directive: the first word */
	const char *args;        /* the rest, comment removed, trimmed ("" if none) */
	const char *text;        /* the line after its indentation, comment kept */
	struct spec_node *parent;
	struct spec_node *child; /* first line of its block, or NULL */
	struct spec_node *next;  /* next line of the same block, or NULL */
};

enum spec_format { SPEC_HTML = 1, SPEC_JSON = 2, SPEC_BOTH = 3 };
enum spec_hash { SPEC_HASH_YES = 0, SPEC_HASH_NO, SPEC_HASH_WRONG };
enum spec_sidecar { SPEC_SIDECAR_INDEX = 0, SPEC_SIDECAR_YES, SPEC_SIDECAR_NO };

struct spec_content {         /* file and data */
	unsigned line;
	const char *path;     /* member path inside the wheel ("pkg/x.py",
			       * "demo-1.0.data/scripts/foo") */
	const char *data;
	size_t len;
};

struct spec_entry_point {
	unsigned line;
	const char *group, *name, *object;
};

/* What a version and a wheel add to the files (a wheel's extends its
 * version's). */
struct spec_extra {
	size_t nrequires;
	const char **requires;
	size_t nentry_points;
	struct spec_entry_point *entry_points;
	size_t nfiles;
	struct spec_content *files; /* file and data, in spec order */
};

struct spec_wheel {
	unsigned line;
	const char *tag;          /* as written */
	const char *build;        /* NULL when none */
	enum spec_sidecar sidecar;
	enum spec_hash hash;
	const char *filename;     /* "numpy-1.26.4-cp311-cp311-win_amd64.whl" */
	struct spec_extra extra;
};

struct spec_version {
	unsigned line;
	const char *version;         /* as written */
	const char *normalized;      /* PEP 440 normal form */
	const char *requires_python; /* NULL when none */
	size_t nprovides_extra;
	const char **provides_extra;
	size_t nfields;
	const char **fields;         /* "Name: value" */
	bool yanked;
	const char *yank_reason;     /* "" when none given */
	const char *upload_time;
	const char *metadata_file;   /* path (resolved against the spec) or NULL */
	bool sdist;
	bool sdist_sidecar;          /* its PKG-INFO as a PEP 658 file too */
	const char *sdist_filename;  /* "numpy-1.26.4.tar.gz", NULL without sdist */
	struct spec_extra sdist_extra; /* its file lines (only files) */
	struct spec_extra extra;
	size_t nwheels;
	struct spec_wheel *wheels;
};

struct spec_package {
	unsigned line;
	const char *name;            /* as written */
	const char *canonical;       /* PEP 503 */
	const char *file_name;       /* canonical with '_' ("typing_extensions") */
	size_t nversions;
	struct spec_version *versions;
};

struct spec_index {
	unsigned line;
	const char *name;            /* "pypi", "torch/cu126", "wheels" */
	bool findlinks;
	enum spec_format format;
	bool hashes, sidecars, absolute_urls, requires_python;
	size_t npackages;
	const struct spec_package **packages; /* mirrored ones are shared */
};

struct spec {
	const char *path;            /* as given */
	const char *dir;             /* its folder ("." when none) */
	size_t nindexes;
	struct spec_index *indexes;
	struct spec_node *nodes;     /* every top-level line, in order (index,
				      * findlinks, define and scenario lines) */
};

/* Parse text (len bytes) read from path into a. Errors are EM_EINVAL
 * (EM_ELIMIT, EM_ENOMEM) with where "PATH:LINE". */
int spec_parse(struct em_arena *a, const char *path, const char *text, size_t len,
	       struct spec *out, struct em_error *e);
/* Read and parse the file at path. */
int spec_load(struct em_arena *a, const char *path, struct spec *out, struct em_error *e);

/* The first top-level node with this directive, and the next one after n;
 * NULL when there is none. */
const struct spec_node *spec_find(const struct spec *s, const char *word);
const struct spec_node *spec_find_next(const struct spec_node *n, const char *word);

/* Append n's block as text: each line of the block and of its nested
 * blocks (comments kept), indented relative to the block's first line,
 * each ending in '\n'. Returns em_buf's result. */
int spec_block_text(const struct spec_node *n, struct em_buf *b);

/* Split n->args into words (quotes and escapes decoded); *lens gets each
 * word's length (a quoted word may hold NUL). */
int spec_words(struct em_arena *a, const struct spec_node *n, const char *path, char ***words,
	       size_t **lens, size_t *nwords, struct em_error *e);

/* A wheel's METADATA or an sdist's PKG-INFO as mkindex writes it (w NULL:
 * the version's own, for the sdist). metadata-file is read here. */
int spec_metadata(const struct spec *s, const struct spec_package *p,
		  const struct spec_version *v, const struct spec_wheel *w, struct em_buf *out,
		  struct em_error *e);

#endif
