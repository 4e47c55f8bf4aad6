"""demo_backend - the PEP 517 backend inside demo-transcribe's sdist

A few lines of Python that write the wheel with zipfile: the package
folder, METADATA (the sdist's PKG-INFO), WHEEL, entry_points.txt and
RECORD. It needs no setuptools, so the offline demo builds it anywhere.
"""
import base64
import hashlib
import os
import sys
import zipfile

NAME, VERSION = "demo_transcribe", "1.0.0"
DIST_INFO = "%s-%s.dist-info" % (NAME, VERSION)


def _record_row(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "%s,sha256=%s,%d\n" % (path, digest.decode(), len(data))


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = {}
    for name in sorted(os.listdir(NAME)):
        if name.endswith(".py"):
            with open(os.path.join(NAME, name), "rb") as f:
                files[NAME + "/" + name] = f.read()
    built = "BUILT_WITH = 'Python %d.%d.%d'\n" % sys.version_info[:3]
    files[NAME + "/_built.py"] = built.encode()
    with open("PKG-INFO", "rb") as f:
        files[DIST_INFO + "/METADATA"] = f.read()
    files[DIST_INFO + "/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: demo_backend\n"
                                   b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    files[DIST_INFO + "/entry_points.txt"] = (
        b"[console_scripts]\ndemo-transcribe = demo_transcribe:main\n")
    record = "".join(_record_row(p, d) for p, d in files.items())
    record += DIST_INFO + "/RECORD,,\n"
    wheel = "%s-%s-py3-none-any.whl" % (NAME, VERSION)
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel), "w") as z:
        for path, data in files.items():
            z.writestr(path, data)
        z.writestr(DIST_INFO + "/RECORD", record)
    print("demo_backend: built", wheel)
    return wheel
