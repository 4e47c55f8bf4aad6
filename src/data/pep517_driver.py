# pep517_driver.py - runs one PEP 517 hook of a build backend for envmatrix
#
# Embedded into the envmatrix binary (src/build.c) and written next to the
# build; run as
#   python pep517_driver.py HOOK INPUT.json OUTPUT.json LOG SOURCE_DIR
# and runs the hook in SOURCE_DIR. INPUT holds {"backend": "mod.sub:obj", "backend_path":
# [...], "kwargs": {...}}; the hook's return value is written to OUTPUT as
# {"return": VALUE}, {"unsupported": true} for an optional hook the backend
# lacks, or {"backend_unavailable": "why"} when the backend cannot be
# imported. The backend's own output (stdout and stderr, file descriptors
# included) goes to LOG. A hook that raises prints its traceback to LOG and
# the driver exits with status 1. Works on Python 3.6 and later.
import json
import os
import sys
import traceback

OPTIONAL = ("get_requires_for_build_wheel", "prepare_metadata_for_build_wheel")
HOOKS = OPTIONAL + ("build_wheel",)


def write(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f)
    os.replace(tmp, path)


def load_backend(spec, backend_path):
    mod_name, _, obj_path = spec.partition(":")
    root = os.path.realpath(os.getcwd())
    extra = []
    for p in backend_path:
        full = os.path.realpath(os.path.join(root, p))
        if os.path.commonpath([root, full]) != root:
            raise ImportError("backend-path '%s' is outside the source tree" % p)
        extra.append(full)
    sys.path[:0] = extra
    try:
        obj = __import__(mod_name, fromlist=["__name__"])
    except ImportError as exc:
        raise ImportError("cannot import '%s': %s" % (mod_name, exc))
    if extra:
        found = os.path.realpath(getattr(obj, "__file__", "") or "")
        if not any(os.path.commonpath([d, found]) == d for d in extra if found):
            raise ImportError("'%s' was not found in backend-path" % mod_name)
    for part in filter(None, obj_path.split(".")):
        obj = getattr(obj, part)
    return obj


def main():
    hook, in_path, out_path, log_path, source_dir = sys.argv[1:6]
    os.chdir(source_dir)
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    with open(in_path, encoding="utf-8") as f:
        args = json.load(f)
    if hook not in HOOKS:
        print("envmatrix driver: unknown hook '%s'" % hook, file=sys.stderr)
        return 2
    try:
        backend = load_backend(args["backend"], args.get("backend_path") or [])
    except Exception:
        traceback.print_exc()
        write(out_path, {"backend_unavailable": traceback.format_exc(limit=0).strip()})
        return 0
    fn = getattr(backend, hook, None)
    if fn is None:
        if hook in OPTIONAL:
            write(out_path, {"unsupported": True})
            return 0
        print("envmatrix driver: the backend has no '%s' hook" % hook, file=sys.stderr)
        return 1
    print("envmatrix: running %s" % hook, file=sys.stderr)
    sys.stderr.flush()
    try:
        result = fn(**args.get("kwargs", {}))
    except Exception:
        traceback.print_exc()
        return 1
    sys.stdout.flush()
    sys.stderr.flush()
    write(out_path, {"return": result})
    return 0


if __name__ == "__main__":
    sys.exit(main())
