#!/usr/bin/env python3
"""fetch_setup.py - the cold-apply benchmark's index, matrix and locks.

usage: fetch_setup.py WHEELS OUT BASE_URL PYTHON_VERSION

WHEELS holds the benchmark's torch-shaped wheels (every one py3-none-any,
made by tests/bench/bench.c). Writes:

  OUT/srv/simple/<name>/<wheel>, index.html   a PEP 503 index (hard links)
  OUT/m/matrix.ini, pylock.w1..w4.toml         four workloads: w1, w2 and w3
                                               share the whole stack, w4 has
                                               the part without torch, its
                                               CUDA libraries and the
                                               packages that need them
  OUT/req/w1..w4.txt                           the same as pip requirements
  OUT/urls.txt                                 every distinct file's URL
"""
import hashlib
import os
import re
import sys


def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def main():
    wheels, out, base, pyver = sys.argv[1:5]
    files = sorted(f for f in os.listdir(wheels) if f.endswith(".whl"))
    dists = []
    for f in files:
        name, version = f.split("-")[:2]
        path = os.path.join(wheels, f)
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        dists.append((norm(name), version, f, h.hexdigest(), os.path.getsize(path)))

    srv = os.path.join(out, "srv", "simple")
    for name, version, f, sha, size in dists:
        d = os.path.join(srv, name)
        os.makedirs(d, exist_ok=True)
        os.link(os.path.join(wheels, f), os.path.join(d, f))
        with open(os.path.join(d, "index.html"), "w") as fh:
            fh.write("<!DOCTYPE html><html><body>\n")
            fh.write('<a href="%s#sha256=%s">%s</a>\n' % (f, sha, f))
            fh.write("</body></html>\n")

    heavy = re.compile(r"^(torch|nvidia-|triton|xformers|torchvision|torchaudio|bitsandbytes|"
                       r"flash-attn|cupy|gpytorch|botorch|accelerate|peft|timm)")
    light = [d for d in dists if not heavy.match(d[0])]
    workloads = {"w1": dists, "w2": dists, "w3": dists, "w4": light}

    m = os.path.join(out, "m")
    req = os.path.join(out, "req")
    os.makedirs(m, exist_ok=True)
    os.makedirs(req, exist_ok=True)
    with open(os.path.join(m, "matrix.ini"), "w") as fh:
        fh.write("[matrix]\nindex-url = %s/simple\npython = %s\n\n" % (base, pyver))
        for w in workloads:
            fh.write("[%s]\npath = %s\n\n" % (w, w))
    for w, ds in workloads.items():
        with open(os.path.join(m, "pylock.%s.toml" % w), "w") as fh:
            fh.write('lock-version = "1.0"\n')
            fh.write("environments = [\"sys_platform == 'linux'\"]\n")
            fh.write('created-by = "envmatrix"\n')
            for name, version, f, sha, size in ds:
                fh.write('\n[[packages]]\nname = "%s"\nversion = "%s"\n' % (name, version))
                fh.write('index = "%s/simple"\n\n[[packages.wheels]]\n' % base)
                fh.write('name = "%s"\nurl = "%s/simple/%s/%s"\n' % (f, base, name, f))
                fh.write('size = %d\nhashes = { sha256 = "%s" }\n' % (size, sha))
            fh.write('\n[tool.envmatrix]\nworkload = "%s"\npython = "%s"\n' % (w, pyver))
        with open(os.path.join(req, w + ".txt"), "w") as fh:
            for name, version, f, sha, size in ds:
                fh.write("%s==%s\n" % (name, version))
    with open(os.path.join(out, "urls.txt"), "w") as fh:
        for name, version, f, sha, size in dists:
            fh.write("%s/simple/%s/%s\n" % (base, name, f))
    print("%d files, %d in the shared stack, %d in w4" % (len(dists), len(dists), len(light)))


if __name__ == "__main__":
    main()
