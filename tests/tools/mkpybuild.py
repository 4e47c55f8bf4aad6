#!/usr/bin/env python3
"""mkpybuild.py - python-build-standalone-style archives from this machine's
own interpreters, for the interpreter download tests.

    mkpybuild.py build OUT PREFIX [--build TAG] [--triple T] [--version V]
        Pack the installation at PREFIX (a pyenv version folder) as
        OUT/cpython-VERSION+TAG-TRIPLE-install_only.tar.gz and .tar.zst
        (zstd when the zstd command exists): one top folder python/ with
        bin/, lib/ and include/, leaving out test/, idlelib, tkinter,
        turtledemo, __pycache__, site-packages and the static library
        folder config-X.Y-*, binaries stripped when strip exists.
        pyenv links bin/pythonX.Y to its libpython by an absolute RUNPATH,
        which would make the copy run the original's library: the copy's
        RUNPATH string is rewritten in place to $ORIGIN/../lib (shorter,
        padded with NULs), and the result is checked with ldd from a
        temporary unpacked copy. Exit status 3 when PREFIX cannot be made
        relocatable. --version names the archive for another version than
        the interpreter's (for the tests of a lying archive).
    mkpybuild.py evil OUT NAME KIND
        A small archive NAME whose KIND is "dotdot" (a member
        python/../escape), "symlink" (python/lib/esc -> ../../..) or
        "absolute" (a member /tmp/...).
    mkpybuild.py fakewin OUT VERSION
        A Windows install_only archive (x86_64-pc-windows-msvc) holding a
        fake python.exe, Lib/os.py and Lib/venv/scripts/nt/venvlauncher.exe
        and venvwlauncher.exe: enough for a Windows-layout venv planned and
        built on Linux, never run.
    mkpybuild.py index OUT
        OUT/SHA256SUMS and OUT/catalogue.json for every archive in OUT.

The JSON catalogue is envmatrix's documented format (include/envmatrix/
pybuild.h): a list of {version, triple, url, sha256, size, flavor}.
"""
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

SKIP_DIRS = {"test", "tests", "idlelib", "tkinter", "turtledemo", "__pycache__",
             "site-packages", "lib2to3", "ensurepip", "pydoc_data"}


def interp_version(exe):
    out = subprocess.check_output([exe, "-I", "-S", "-c",
                                   "import sys; print('%d.%d.%d' % sys.version_info[:3])"])
    return out.decode().strip()


def patch_runpath(path, old):
    """Rewrite the RUNPATH string old (bytes) in place to $ORIGIN/../lib."""
    new = b"$ORIGIN/../lib"
    with open(path, "rb") as f:
        data = f.read()
    key = old + b"\0"
    if key not in data:
        return False
    if len(new) > len(old):
        return False
    data = data.replace(key, new + b"\0" * (len(old) - len(new) + 1))
    with open(path, "wb") as f:
        f.write(data)
    return True


def build(out, prefix, tag, triple, version):
    prefix = os.path.realpath(prefix)
    exes = sorted(n for n in os.listdir(os.path.join(prefix, "bin"))
                  if re.fullmatch(r"python3\.\d+", n))
    if not exes:
        sys.exit("mkpybuild: no bin/python3.X in %s" % prefix)
    exe = exes[-1]
    real = interp_version(os.path.join(prefix, "bin", exe))
    version = version or real
    minor = exe[len("python"):]
    work = tempfile.mkdtemp(prefix="mkpybuild.")
    try:
        root = os.path.join(work, "python")
        def ignore(d, names):
            skip = [n for n in names if n in SKIP_DIRS or n.startswith("config-")
                    or n.endswith(".a") or n.endswith("-gdb.py")]
            return skip
        os.makedirs(root)
        for sub in ("bin", "lib", "include"):
            src = os.path.join(prefix, sub)
            if os.path.isdir(src):
                shutil.copytree(src, os.path.join(root, sub), symlinks=True, ignore=ignore)
        binary = os.path.join(root, "bin", exe)
        libs = [os.path.join(root, "lib", n) for n in os.listdir(os.path.join(root, "lib"))
                if n.startswith("libpython") and not os.path.islink(os.path.join(root, "lib", n))]
        if shutil.which("strip"):
            for f in [binary] + libs:
                subprocess.call(["strip", "--strip-unneeded", f])
        # relocatable: the interpreter must find its libpython beside it
        needs = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True).stdout
        m = re.search(r"\((?:RUNPATH|RPATH)\)\s+Library r(?:un)?path: \[([^\]]*)\]", needs)
        if "libpython" in needs and m and not m.group(1).startswith("$ORIGIN"):
            if not patch_runpath(binary, m.group(1).encode()):
                sys.exit(3)
        # check from a copy elsewhere: ldd must resolve libpython inside it
        if "libpython" in needs:
            ldd = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
            lp = [l for l in ldd.splitlines() if "libpython" in l]
            if not lp or root not in lp[0]:
                print("mkpybuild: %s is not relocatable: %s" % (prefix, lp), file=sys.stderr)
                sys.exit(3)
        base = "cpython-%s+%s-%s-install_only" % (version, tag, triple)
        tar_path = os.path.join(work, base + ".tar")
        with tarfile.open(tar_path, "w", format=tarfile.GNU_FORMAT) as t:
            t.add(root, arcname="python", filter=lambda ti: clean(ti))
        with open(tar_path, "rb") as f:
            raw = f.read()
        import gzip
        with open(os.path.join(out, base + ".tar.gz"), "wb") as f:
            f.write(gzip.compress(raw, compresslevel=6, mtime=0))
        if shutil.which("zstd"):
            subprocess.check_call(["zstd", "-q", "-f", "-3", tar_path, "-o",
                                   os.path.join(out, base + ".tar.zst")])
        print("%s %s %s" % (version, minor, base))
    finally:
        shutil.rmtree(work)


def clean(ti):
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "root"
    ti.mtime = 0
    return ti


def evil(out, name, kind):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        def add_file(n, data=b"x\n", mode=0o755):
            ti = tarfile.TarInfo(n)
            ti.size = len(data)
            ti.mode = mode
            t.addfile(ti, io.BytesIO(data))
        add_file("python/bin/python3.12", b"#!/bin/sh\necho no\n")
        if kind == "dotdot":
            add_file("python/../escape", b"escaped\n", 0o644)
        elif kind == "absolute":
            add_file("/tmp/envmatrix-escape", b"escaped\n", 0o644)
        elif kind == "symlink":
            ti = tarfile.TarInfo("python/lib/esc")
            ti.type = tarfile.SYMTYPE
            ti.linkname = "../../.."
            t.addfile(ti)
        else:
            sys.exit("mkpybuild: unknown kind %s" % kind)
    import gzip
    with open(os.path.join(out, name), "wb") as f:
        f.write(gzip.compress(buf.getvalue(), mtime=0))


def fakewin(out, version):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for n, data in (("python/python.exe", b"MZ fake python"),
                        ("python/pythonw.exe", b"MZ fake pythonw"),
                        ("python/Lib/os.py", b"# os\n"),
                        ("python/Lib/venv/scripts/nt/venvlauncher.exe", b"MZ fake venvlauncher"),
                        ("python/Lib/venv/scripts/nt/venvwlauncher.exe", b"MZ fake venvwlauncher")):
            ti = tarfile.TarInfo(n)
            ti.size = len(data)
            ti.mode = 0o755
            t.addfile(ti, io.BytesIO(data))
    import gzip
    name = "cpython-%s+20250101-x86_64-pc-windows-msvc-install_only.tar.gz" % version
    with open(os.path.join(out, name), "wb") as f:
        f.write(gzip.compress(buf.getvalue(), mtime=0))


NAME = re.compile(r"cpython-(\d+\.\d+\.\d+)\+(\w+)-(.+?)-(install_only(?:_stripped)?)\.tar\.(gz|zst)$")


def index(out):
    sums, cat = [], []
    for n in sorted(os.listdir(out)):
        if not (n.endswith(".tar.gz") or n.endswith(".tar.zst")):
            continue
        with open(os.path.join(out, n), "rb") as f:
            h = hashlib.sha256(f.read()).hexdigest()
        sums.append("%s  %s\n" % (h, n))
        m = NAME.match(n)
        if m:
            cat.append({"version": m.group(1), "triple": m.group(3), "url": n, "sha256": h,
                        "size": os.path.getsize(os.path.join(out, n)), "flavor": m.group(4)})
    with open(os.path.join(out, "SHA256SUMS"), "w") as f:
        f.writelines(sums)
    with open(os.path.join(out, "catalogue.json"), "w") as f:
        json.dump(cat, f, indent=1)


def main(argv):
    if len(argv) >= 3 and argv[0] == "build":
        args = argv[3:]
        opts = {"--build": "20250101", "--triple": "x86_64-unknown-linux-gnu", "--version": None}
        while args:
            if args[0] in opts and len(args) > 1:
                opts[args[0]] = args[1]
                args = args[2:]
            else:
                sys.exit("mkpybuild: bad option %s" % args[0])
        os.makedirs(argv[1], exist_ok=True)
        build(argv[1], argv[2], opts["--build"], opts["--triple"], opts["--version"])
    elif len(argv) == 4 and argv[0] == "evil":
        os.makedirs(argv[1], exist_ok=True)
        evil(argv[1], argv[2], argv[3])
    elif len(argv) == 3 and argv[0] == "fakewin":
        os.makedirs(argv[1], exist_ok=True)
        fakewin(argv[1], argv[2])
    elif len(argv) == 2 and argv[0] == "index":
        index(argv[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
