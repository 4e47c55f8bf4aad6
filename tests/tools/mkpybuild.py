#!/usr/bin/env python3
"""mkpybuild.py - python-build-standalone-style archives from this machine's
own interpreters, for the interpreter download tests.

    mkpybuild.py build OUT SOURCE [--build TAG] [--triple T] [--version V]
        Pack the interpreter SOURCE (an executable such as the system's
        /usr/bin/python3, or an installation folder such as a pyenv
        version, whose newest bin/python3.X is taken) as
        OUT/cpython-VERSION+TAG-TRIPLE-install_only.tar.gz and .tar.zst
        (zstd when the zstd command exists), shaped like a
        python-build-standalone install_only archive: one top folder
        python/ with bin/pythonX.Y (a copy of the interpreter), bin/python3,
        bin/pydocX.Y (a script whose #! line names /install/bin/pythonX.Y,
        the build prefix, for the installer to rewrite), lib/pythonX.Y (the
        standard library the interpreter reports, lib-dynload included)
        and include/pythonX.Y when present, leaving out test/, idlelib,
        tkinter, turtledemo, __pycache__, site-packages and the static
        library folder config-X.Y-*, binaries stripped when strip exists.
        An interpreter linked to a shared libpython (pyenv's) gets the
        library in lib/ and its RUNPATH string rewritten in place to
        $ORIGIN/../lib (shorter, padded with NULs), checked with ldd; the
        copy must run from its new place and report its own library.
        Exit status 3 when SOURCE cannot be made relocatable. --version
        names the archive for another version than the interpreter's (for
        the tests of a lying archive).
    mkpybuild.py standin OUT VERSION [TRIPLE]
        A small install_only archive whose bin/python3.X is a shell script
        that answers envmatrix's interpreter question as Python VERSION and
        runs nothing else: a second version for the tests that need two,
        on a machine with one Python.
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

The JSON catalogue is envmatrix's documented format (src/
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


INFO = """import json, sys, sysconfig
print(json.dumps({"version": "%d.%d.%d" % sys.version_info[:3],
    "minor": "%d.%d" % sys.version_info[:2],
    "executable": sys.executable,
    "stdlib": sysconfig.get_path("stdlib"),
    "platstdlib": sysconfig.get_path("platstdlib"),
    "platlibdir": getattr(sys, "platlibdir", "lib"),
    "include": sysconfig.get_path("include")}))
"""


def interp_info(exe):
    return json.loads(subprocess.check_output([exe, "-I", "-S", "-c", INFO]).decode())


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


def ignore(d, names):
    return [n for n in names if n in SKIP_DIRS or n.startswith("config-")
            or n.endswith(".a") or n.endswith("-gdb.py")]


def pick_exe(source):
    """The interpreter: SOURCE itself, or the newest bin/python3.X of the
    installation folder SOURCE."""
    if not os.path.isdir(source):
        return source
    exes = sorted((n for n in os.listdir(os.path.join(source, "bin"))
                   if re.fullmatch(r"python3\.\d+", n)),
                  key=lambda n: int(n.split(".")[1]))
    if not exes:
        sys.exit("mkpybuild: no bin/python3.X in %s" % source)
    return os.path.join(source, "bin", exes[-1])


def libpython(binary):
    """The path ldd resolves the binary's libpython to, or None."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "libpython" in line and "=>" in line:
            return line.split("=>")[1].split("(")[0].strip() or None
    return None


def build(out, source, tag, triple, version):
    info = interp_info(pick_exe(source))
    real_exe = os.path.realpath(info["executable"])
    version = version or info["version"]
    minor = info["minor"]
    exe = "python" + minor
    work = tempfile.mkdtemp(prefix="mkpybuild.")
    try:
        root = os.path.join(work, "python")
        # bin/: the interpreter, python3, and a script whose #! line names
        # the build's prefix, as python-build-standalone's do (/install)
        os.makedirs(os.path.join(root, "bin"))
        binary = os.path.join(root, "bin", exe)
        shutil.copy2(real_exe, binary)
        os.symlink(exe, os.path.join(root, "bin", "python3"))
        with open(os.path.join(root, "bin", "pydoc" + minor), "w") as f:
            f.write("#!/install/bin/%s\nimport pydoc\nif __name__ == '__main__':\n"
                    "    pydoc.cli()\n" % exe)
        os.chmod(os.path.join(root, "bin", "pydoc" + minor), 0o755)
        # lib/pythonX.Y: the standard library (lib-dynload included);
        # PLATLIBDIR/pythonX.Y too where the platform's differs
        shutil.copytree(info["stdlib"], os.path.join(root, "lib", "python" + minor),
                        symlinks=False, ignore=ignore, ignore_dangling_symlinks=True)
        plat = os.path.join(root, info["platlibdir"], "python" + minor)
        if os.path.realpath(info["platstdlib"]) != os.path.realpath(info["stdlib"]) and \
                not os.path.exists(plat):
            shutil.copytree(info["platstdlib"], plat, symlinks=False, ignore=ignore,
                            ignore_dangling_symlinks=True)
        if info["include"] and os.path.isdir(info["include"]):
            shutil.copytree(info["include"], os.path.join(root, "include", "python" + minor))
        # a shared libpython goes to lib/, found through $ORIGIN/../lib
        shared = libpython(real_exe)
        libs = []
        if shared:
            dest = os.path.join(root, "lib", os.path.basename(shared))
            shutil.copy2(os.path.realpath(shared), dest)
            libs.append(dest)
        if shutil.which("strip"):
            for f in [binary] + libs:
                subprocess.call(["strip", "--strip-unneeded", f],
                                stderr=subprocess.DEVNULL)
        if shared:
            needs = subprocess.run(["readelf", "-d", binary], capture_output=True,
                                   text=True).stdout
            m = re.search(r"\((?:RUNPATH|RPATH)\)\s+Library r(?:un)?path: \[([^\]]*)\]", needs)
            if not m:
                print("mkpybuild: %s links %s and has no RUNPATH to change" % (real_exe, shared),
                      file=sys.stderr)
                sys.exit(3)
            if not m.group(1).startswith("$ORIGIN") and \
                    not patch_runpath(binary, m.group(1).encode()):
                sys.exit(3)
            # check from the copy: ldd must resolve libpython inside it
            found = libpython(binary)
            if not found or not found.startswith(root):
                print("mkpybuild: %s is not relocatable: %s" % (real_exe, found),
                      file=sys.stderr)
                sys.exit(3)
        # the copy runs from its new place and finds its own library
        got = interp_info(binary)
        if got["version"] != info["version"] or not got["stdlib"].startswith(root):
            print("mkpybuild: the copy of %s does not run from its own folder: %s"
                  % (real_exe, got), file=sys.stderr)
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


STANDIN = """#!/bin/sh
# a stand-in for Python %(version)s (mkpybuild.py standin): it answers
# envmatrix's question for the version and runs nothing else
case "$*" in
*envmatrix-interp-1*)
	echo "envmatrix-interp-1 cpython %(words)s final 0 0"
	exit 0 ;;
esac
echo "stand-in Python %(version)s: runs nothing" >&2
exit 1
"""


def standin(out, version, triple):
    """A small Linux install_only archive whose bin/python3.X is a shell
    script answering envmatrix's interpreter question as Python VERSION."""
    major, minor, micro = version.split(".")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        exe = STANDIN % {"version": version, "words": "%s %s %s" % (major, minor, micro)}
        for n, data, mode in (("python/bin/python%s.%s" % (major, minor), exe.encode(), 0o755),
                              ("python/lib/python%s.%s/os.py" % (major, minor), b"# os\n", 0o644)):
            ti = tarfile.TarInfo(n)
            ti.size = len(data)
            ti.mode = mode
            t.addfile(ti, io.BytesIO(data))
        ti = tarfile.TarInfo("python/bin/python3")
        ti.type = tarfile.SYMTYPE
        ti.linkname = "python%s.%s" % (major, minor)
        t.addfile(ti)
    import gzip
    name = "cpython-%s+20250101-%s-install_only.tar.gz" % (version, triple)
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
    elif len(argv) in (3, 4) and argv[0] == "standin":
        os.makedirs(argv[1], exist_ok=True)
        standin(argv[1], argv[2], argv[3] if len(argv) == 4 else "x86_64-unknown-linux-gnu")
    elif len(argv) == 3 and argv[0] == "fakewin":
        os.makedirs(argv[1], exist_ok=True)
        fakewin(argv[1], argv[2])
    elif len(argv) == 2 and argv[0] == "index":
        index(argv[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
