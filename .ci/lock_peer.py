"""Append a test-only peer, installed without its dependencies, to the lock with its SHA-256.

`alethiometer` (the zero-cost proxies' reference code, used only to check raynas's values) declares
h5py/Pillow it does not need for that and imports a torchvision the tests stub out, so it is not
resolved by pip-compile: `make setup` installs the whole lock with --no-deps anyway.

Usage: python .ci/lock_peer.py requirements.lock alethiometer==1.1.2
"""

import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path


def main(lock: str, requirement: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
                        "-d", tmp, requirement], check=True)
        hashes = sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in Path(tmp).iterdir())
    lines = [f"{requirement} \\"] + [f"    --hash=sha256:{h}" + (" \\" if i < len(hashes) - 1 else "")
                                      for i, h in enumerate(hashes)]
    text = Path(lock).read_text()
    block = "# test-only peer, installed without its dependencies (.ci/lock_peer.py)\n" + "\n".join(lines) + "\n"
    Path(lock).write_text(text.rstrip("\n") + "\n" + block)


if __name__ == "__main__":
    main(*sys.argv[1:])
