"""demo-transcribe - the demo's stand-in for openai-whisper: published only
as an sdist, so envmatrix builds it from source; it reports what it was
built with instead of transcribing anything"""
__version__ = "1.0.0"


def main():
    import numpy
    import torch

    from demo_transcribe._built import BUILT_WITH

    print("demo-transcribe", __version__, "built from source with", BUILT_WITH + ",",
          "numpy", numpy.__version__, "torch", torch.__version__)
    return 0
