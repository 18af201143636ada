"""The published datasets raynas reads: where each file comes from, and ``raynas data fetch`` / ``info``.

Like scikit-learn's ``fetch_*`` functions, :func:`fetch` downloads what the loaders need into the
data directory (:func:`raynas.paths.data_dir`: ``--data-dir``, else ``$RAYNAS_DATA``, else the user
data directory) and :func:`info` says what is there. Three groups can be fetched (``all`` is every one):

=================  ==========================================================================================
``nb201``          ``nb201/accuracy_cifar10-valid_200ep.csv``: NAS-Bench-201 (NATS-Bench topology space)
                   "cifar10-valid" accuracies after 200 epochs, averaged over seeds (15,625 architectures)
``latency``        measured latencies of every architecture on 12-20 device settings and the
                   hardware-embedding reference architectures: ``nb201/latency_ms.csv``,
                   ``nb201/reference_archs.json``, ``fbnet/archs.csv``, ``fbnet/latency_ms.csv``,
                   ``fbnet/reference_archs.json``, ``ofa/archs.json``, ``ofa/latency_ms.csv``
``fashion-mnist``  the four Fashion-MNIST IDX files (``fashion-mnist/*-ubyte.gz``)
=================  ==========================================================================================

Each group also brings its publishers' licence texts (``LICENSE.<publisher>`` beside the data).
The layout is exactly what :class:`raynas.benchmarks.NB201Benchmark`,
:func:`raynas.hardware.table.latency_table`, :func:`raynas.predictors.tables.load_space_table` and
:func:`raynas.data.load_fashion_mnist` read.

Where the files come from (checked byte for byte against public repository snapshots):

* **Fashion-MNIST**: the original gzip files of ``zalandoresearch/fashion-mnist`` (``data/fashion/``,
  MIT), from GitHub at a pinned commit, else Zalando's own download site. Their MD5s are the ones
  Zalando's README publishes and their git blob hashes the ones in that commit's tree. Debian's
  ``dataset-fashion-mnist`` package ships the same compressed streams with the file name and time
  stripped from the gzip header, so its files differ byte-wise but decompress to identical bytes:
  a present file is therefore accepted when either its SHA-256 or that of its decompressed content
  matches (``DataFile.content_sha256``).
* **NAS-Bench-201 accuracy**: converted from ``data/accuracy/cifar10_avg.csv`` of
  ``gabro8a/NAS-Landscapes`` (MIT; NATS-Bench topology space, validation/test metrics averaged over
  three seeds): the identifying and accuracy/loss/time columns, floats with 6 significant digits.
* **Latency tables**: converted from the per-device ``.pt`` lists of ``HayeonLee/HELP`` (MIT) at a
  pinned commit: ``data/{nasbench201,fbnet,ofa}/latency/<device>.pt``, the NAS-Bench-201 string
  index, the FBNet and OFA architecture lists and the reference indices. HELP's raspi4, pixel3 and
  eyeriss columns are HW-NAS-Bench's (MIT) numbers; HELP's devices ``essential_ph_1``, ``fpga``,
  ``gold_6240``, ``samsung_s7`` and ``titan_rtx_*`` are left out on purpose (held-out hardware).

Every download is checked against the SHA-256 recorded here; every converted file too (the
conversion reproduces the published tables exactly). A mirror (``--mirror URL`` or
``$RAYNAS_DATA_URL``; an ``http(s)://`` or ``file://`` URL, or a local directory) replaces all of
that: it serves the final layout (``<mirror>/nb201/latency_ms.csv``, ...) and its files must carry
the same checksums, so a copy of another user's data directory is a mirror.

Examples::

    from raynas import datasets

    datasets.fetch("nb201")                        # into the user data directory
    datasets.fetch(["latency", "fashion-mnist"], data_dir="~/nas-data")
    datasets.fetch("all", mirror="http://intranet.example/raynas-data")
    present = [status.name for status in datasets.info() if status.state == "present"]

or from a shell::

    raynas data fetch all
    raynas data fetch nb201 --data-dir ~/nas-data --mirror file:///mnt/shared/raynas-data
    raynas data info
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import http.client
import json
import os
import shutil
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from raynas import paths
from raynas.errors import DataChecksumError, DataDownloadError, RaynasError, UnknownNameError
from raynas.logs import Progress, get_logger

#: environment variable holding a default mirror (see :func:`fetch`)
MIRROR_ENV = "RAYNAS_DATA_URL"
#: subdirectory of the data directory where originals wait to be converted (removed after a fetch)
STAGING = ".download"
_CHUNK = 1 << 16
_USER_AGENT = "raynas-data-fetch"

log = get_logger("datasets")

#: converts downloaded originals (``Original.name`` -> local path) into a data file's bytes
Builder = Callable[[Mapping[str, Path]], bytes]


# --- the manifest ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Original:
    """A file as its publisher serves it, downloaded to build a data file.

    ``name`` is unique (``"<publisher>/<path in its repository>"``) and is where it waits in
    ``<data dir>/.download/``; ``urls`` are tried in order; ``size`` and ``sha256`` are checked."""

    name: str
    urls: tuple[str, ...]
    size: int
    sha256: str


@dataclass(frozen=True)
class DataFile:
    """One file of the data directory.

    Args:
        path: relative to the data directory, with ``/`` (``"nb201/latency_ms.csv"``).
        size: bytes.
        sha256: hex digest of the file.
        licence: its licence.
        source: who published it, and how it was obtained.
        urls: public locations of this exact file, tried in order.
        originals: otherwise, the published files it is built from ...
        build: ... by this function (originals -> bytes; the result must have ``sha256``).
        content_sha256: for gzip files, the digest of the decompressed bytes: a recompressed copy
            with the same content (as Debian ships Fashion-MNIST) is accepted too.
        optional: a licence text; a mirror that lacks it only produces a warning.

    A file with neither ``urls`` nor ``build`` can only come from a mirror."""

    path: str
    size: int
    sha256: str
    licence: str
    source: str
    urls: tuple[str, ...] = ()
    originals: tuple[Original, ...] = ()
    build: Builder | None = None
    content_sha256: str | None = None
    optional: bool = False

    @property
    def how(self) -> str:
        """``"download"``, ``"converted"`` (from originals) or ``"mirror only"``."""
        if self.urls:
            return "download"
        return "converted" if self.build is not None else "mirror only"


@dataclass(frozen=True)
class Dataset:
    """A group of files fetched together (``raynas data fetch <name>``)."""

    name: str
    description: str
    licence: str
    source: str
    files: tuple[DataFile, ...]

    @property
    def size(self) -> int:
        """Bytes of all its files."""
        return sum(f.size for f in self.files)

    @property
    def directories(self) -> list[str]:
        """The subdirectories of the data directory its files live in."""
        return sorted({f.path.split("/")[0] for f in self.files})


# HayeonLee/HELP (MIT): latency measurements as Python lists pickled with torch.save.
_HELP_COMMIT = "45f70eb92d0d735970a33b608d1544ad3c52f285"
_HELP_RAW = f"https://raw.githubusercontent.com/HayeonLee/HELP/{_HELP_COMMIT}/"
#: path in the HELP repository at that commit -> (bytes, SHA-256)
_HELP_FILES: dict[str, tuple[int, str]] = {
    "LICENSE": (1066, "3c98229c673fb4c782576aa9da6013416cc906a8a38d0d6daf15807c6361f4f5"),
    "data/nasbench201/str_arch2idx.pt": (1536943, "e1d7b7cc7cf51d7c3cd6f9e726e7395bea87d7ba674e26202fb8633f963aef0d"),
    "data/nasbench201/hardware_embedding_index.pt": (431, "6ca321dd4af6ca236430c3d9ffd0ed49319335be77dc4fc76ae94b597843f7f6"),
    "data/nasbench201/latency/1080ti_1.pt": (141039, "4028f52b2c2441da126932e3827ae11a7f76d39818c4374c1b9ab9df236e23f4"),
    "data/nasbench201/latency/1080ti_256.pt": (141039, "435af0ccfab01f5dc55dc9f2e8b90ca37b396b2656e327bba5ee0b6eb9c24464"),
    "data/nasbench201/latency/1080ti_32.pt": (141039, "affce4fcdcf6f28622365995ef2ec018bb07d448add59f80633c0978c393cdea"),
    "data/nasbench201/latency/2080ti_1.pt": (141039, "38cf0e8f698abf8696c69b41a358fe9ddedf5d54cb1ae6f85b04dd8a8f89a1b3"),
    "data/nasbench201/latency/2080ti_256.pt": (141039, "daee655c44c46955d8318ddf0fa39254e70bab1ae723a6abc53d7b7e4e1561ae"),
    "data/nasbench201/latency/2080ti_32.pt": (141039, "ebc603ad325850663fc56c8e0fde52fadea28e585a8405864baa20f986eaf29d"),
    "data/nasbench201/latency/eyeriss.pt": (141039, "6f1dd2f8c0442289a09ab78e63e49bde96489f6d455cc33d5fa5aed37edb5d03"),
    "data/nasbench201/latency/gold_6226.pt": (141039, "6a00f63d14f67f8007ec04519f638a90aa6ed5357cf5c0e60c391df37f186c99"),
    "data/nasbench201/latency/pixel2.pt": (31663, "051845ddefc2bc138f21e2217f6c7827fe280c78375cbfb4b5bd252a888cb950"),
    "data/nasbench201/latency/pixel3.pt": (141039, "cf1387da12e06b1d4541ce85f3ca4869d551084e09daf4acf024b6e21a80d465"),
    "data/nasbench201/latency/raspi4.pt": (141039, "2fae425c50bcaef7aacc5391244cd0af98bfc7fba689a8741e461cb18192f57c"),
    "data/nasbench201/latency/samsung_a50.pt": (31663, "0872cb4ec8ecc7ea1b3bd8c98dd705f2d0f6e4940f3af833b313e484de39b155"),
    "data/nasbench201/latency/silver_4114.pt": (141039, "0cce9dc9ba62ad81c21275298a88cb0e4534db6474a878f089df0abb13293421"),
    "data/nasbench201/latency/silver_4210r.pt": (141039, "f976049bda39abde94b8f8cac90140cb78a5069fc145c462d6d6bc2f8450727a"),
    "data/nasbench201/latency/titanx_1.pt": (141039, "3461cc686263bd0ce4d4cd915bfc2fe067deb139cc68da387741bd6443434cb0"),
    "data/nasbench201/latency/titanx_256.pt": (141039, "04ddb80719515687bd3d722235cd5da821b50bd453a9e580b1e9d321dfb92941"),
    "data/nasbench201/latency/titanx_32.pt": (141039, "9c4ca69131e34451fb1e104caa47efbe12ffec3cc47bf051613674d7af044ff2"),
    "data/nasbench201/latency/titanxp_1.pt": (141039, "935aa0041c6592bed90f2f94ff3b4d40e892c066467864b704e6583682a57b20"),
    "data/nasbench201/latency/titanxp_256.pt": (141039, "9f03206bc62b0dcfc882820de07f55dc1fb7f43f57dfc977e4f0f4b019cb5041"),
    "data/nasbench201/latency/titanxp_32.pt": (141039, "4b6db63c7a9fb55177aa2649d70031dd86d2ed1609467ef5803dc1089a73cb1b"),
    "data/fbnet/metainfo.pt": (579887, "2d612b214ba2e446ec3f0b7e4f56a5f683ab2370dd09fc120d2e66ad78c2107b"),
    "data/fbnet/hardware_embedding_index.pt": (431, "e76207257f9c50706ec2cae178a50e8341956e7bed1e0221fd41a82bfd9670e5"),
    "data/fbnet/latency/1080ti_1.pt": (45423, "e8dc124d658407e6e8f2cc0642162bae3ce2b56c8dee44b4bc629f2ac8ca4c28"),
    "data/fbnet/latency/1080ti_32.pt": (45423, "74c5c9801b4e6b7d0cb2fdd3c2d953fc9eea7569da9b9dbb5438c2c2b8687b85"),
    "data/fbnet/latency/1080ti_64.pt": (45423, "ec8e443e814c739df4d7153bf1902b64b987e1e158bc780fa3579d4e481ba462"),
    "data/fbnet/latency/2080ti_1.pt": (45423, "bc8ef435a048c8c44d5ab0b5636c9366bded86fcade1fd79c1bea2e0558e4fd7"),
    "data/fbnet/latency/2080ti_32.pt": (45423, "35ade96b5e88c60f9a176909b7dfe8033830f983a212b89379e557c1c98f93c1"),
    "data/fbnet/latency/2080ti_64.pt": (45423, "038c6438091fecb536c5e1fc70da13cbb2d99b4ef7ba44a7c545d2b141ec7654"),
    "data/fbnet/latency/eyeriss.pt": (45423, "eaf78708634cdada3fa52971a91fa851c41a3a3edc213c7d5dd3dc81ad205e7f"),
    "data/fbnet/latency/gold_6226.pt": (45423, "77a15ae6276ba8e5343fb3d2b9e7dd995629b0cca92af282d12619002745560c"),
    "data/fbnet/latency/pixel2.pt": (10415, "da0b0da71fc6195232a92d0cf2c23a4176756c8fbb600c74b3cc99d6c2e69d88"),
    "data/fbnet/latency/pixel3.pt": (45423, "ccd89872782b2c4f4c7b163e65983cffb7a14782b3a03f2837ccf5083f00ebd8"),
    "data/fbnet/latency/raspi4.pt": (45423, "51a9da87b02efb1a6ebd42e312c324abdaac0e75dbfc84825dff92b0804a44af"),
    "data/fbnet/latency/samsung_a50.pt": (10415, "378f93b6a278598470d354073d983ffaa0e80f72884b5370da3bb70b6a8e0f1d"),
    "data/fbnet/latency/silver_4114.pt": (45423, "908e18175a31ec455f63292025bba736ad1e52831950c15e472ce1670048ce94"),
    "data/fbnet/latency/silver_4210r.pt": (45423, "e1732f783606639d40cb3ac40903e05c8dc06797be024c0643e8d14e7e270de5"),
    "data/fbnet/latency/titanx_1.pt": (45423, "2ab7914e5effece2a2e9c1f5f73826adc0e6c371a63802e91234a65936eb3068"),
    "data/fbnet/latency/titanx_32.pt": (45423, "667e020f5d3977d347d0969c6e67362892ec5e0b483c10791f5de25eb1c196b4"),
    "data/fbnet/latency/titanx_64.pt": (45423, "f2d09f8de4d6efbc6c504c3812eacbc9717bf813d1fcc55cae6ce5de405d2277"),
    "data/fbnet/latency/titanxp_1.pt": (45423, "a4da9d78c7f3f39640051bcf3d843f26447254d50cab3beabdbab64e07fe27dd"),
    "data/fbnet/latency/titanxp_32.pt": (45423, "fb059a030b7c0f9c80357122d81e3c336c50ddbbab82eae8e1a0d0435fe92208"),
    "data/fbnet/latency/titanxp_64.pt": (45423, "6571f75d29bdbde84c1973b4e9d8e7a7205eae03d06299d1a5390b3c2939a888"),
    "data/ofa/ofa_archs.pt": (904943, "77787b5c3e208b130282d4e239c1bb56e76fbb8f7d7f374c4fcc63df4970d574"),
    "data/ofa/latency/2080ti_1.pt": (45423, "fd02a4aa46d7ab468d9214ae20b73cbb58fd8d7a857df98861d83383744f9ca9"),
    "data/ofa/latency/2080ti_32.pt": (45423, "0a40f72137451914e4296d8911c92429af357556c7caa5aa74803e17b2948eb6"),
    "data/ofa/latency/2080ti_64.pt": (45423, "6b5b8ae9a25aa5c7df2a96c0e5d6baa91a0566fa935e8fcd709809fbfdee1bd8"),
    "data/ofa/latency/titan_rtx_1.pt": (45423, "b308b08490eaf5af871bc0c5712a105e23c952ff55c5277abbc90e0ff7acf65a"),
    "data/ofa/latency/titan_rtx_32.pt": (45423, "418618fe00b90d3495b2b4147689debb302dddcd038126c376b2bc4aef2867cf"),
    "data/ofa/latency/titan_rtx_64.pt": (45423, "33bb74ee6430fb136ca00c41821842cf511eee5f28080b7745e6216e91d87b42"),
    "data/ofa/latency/titan_xp_1.pt": (45423, "ab157a674a7ba7ad536a0afba7a791ab49fa5f3dbafa5f9628170b48030c2733"),
    "data/ofa/latency/titan_xp_32.pt": (45423, "8e362f53dd522e6c26c54c7b4806301d3465947edf0935c9c1479aefee0271b6"),
    "data/ofa/latency/titan_xp_64.pt": (45423, "9b377dc3de2c4ff12c735331762d7f957aa789a41583693082f33abfc4d6e018"),
    "data/ofa/latency/v100_1.pt": (45423, "277d012e6c82cf20abee447edadd22da992a921de5e74376970a369466a48907"),
    "data/ofa/latency/v100_32.pt": (45423, "41643776a003adeb16ec57314b1bd1d5145a12c3616c686161debdb7e45ea9e8"),
    "data/ofa/latency/v100_64.pt": (45423, "577f48672ed029b11cbb66126ca92d4542f18472e2157965a4ec6852a327dfa2"),
}
_NB201_DEVICES = ("1080ti_1", "1080ti_256", "1080ti_32", "2080ti_1", "2080ti_256", "2080ti_32", "eyeriss",
                  "gold_6226", "pixel2", "pixel3", "raspi4", "samsung_a50", "silver_4114", "silver_4210r",
                  "titanx_1", "titanx_256", "titanx_32", "titanxp_1", "titanxp_256", "titanxp_32")
_FBNET_DEVICES = ("1080ti_1", "1080ti_32", "1080ti_64", "2080ti_1", "2080ti_32", "2080ti_64", "eyeriss",
                  "gold_6226", "pixel2", "pixel3", "raspi4", "samsung_a50", "silver_4114", "silver_4210r",
                  "titanx_1", "titanx_32", "titanx_64", "titanxp_1", "titanxp_32", "titanxp_64")
_OFA_DEVICES = ("2080ti_1", "2080ti_32", "2080ti_64", "titan_rtx_1", "titan_rtx_32", "titan_rtx_64",
                "titan_xp_1", "titan_xp_32", "titan_xp_64", "v100_1", "v100_32", "v100_64")

# gabro8a/NAS-Landscapes (MIT): NATS-Bench topology-space metrics as CSV.
_LANDSCAPES_COMMIT = "abd5221948d901f765e3bc61d0175a3c1c52b802"
_LANDSCAPES_RAW = f"https://raw.githubusercontent.com/gabro8a/NAS-Landscapes/{_LANDSCAPES_COMMIT}/"
_LANDSCAPES_FILES: dict[str, tuple[int, str]] = {
    "LICENSE.txt": (1082, "f9f4c0d383e2ba18d4124303a42b10113c6e5876fe7a8aa63e0628d75d554468"),
    "data/accuracy/cifar10_avg.csv": (4050037, "1fc89edb42c804223ea2f520a3a65b5e10d8c34bc2d1bbca6bc4b4b38a193827"),
}

# zalandoresearch/fashion-mnist (MIT): the original gzip files, also on Zalando's download site.
_FMNIST_COMMIT = "b2617bb6d3ffa2e429640350f613e3291e10b141"
_FMNIST_RAW = f"https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/{_FMNIST_COMMIT}/"
_FMNIST_SITE = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
#: file -> (bytes, SHA-256 of Zalando's file, SHA-256 of its decompressed content)
_FMNIST_FILES: dict[str, tuple[int, str, str]] = {
    "train-images-idx3-ubyte.gz": (26421880, "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                                   "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
    "train-labels-idx1-ubyte.gz": (29515, "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                                   "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
    "t10k-images-idx3-ubyte.gz": (4422102, "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                                  "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
    "t10k-labels-idx1-ubyte.gz": (5148, "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                                  "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
}
_FMNIST_LICENSE = (1109, "13ef4788476d292858fa60eb9a5f74aeca5c65770bc885ccaa05823a17ef7be1")


def _help(path: str) -> Original:
    size, sha = _HELP_FILES[path]
    return Original(f"HELP/{path}", (_HELP_RAW + path,), size, sha)


def _help_latency(space: str, devices: Iterable[str]) -> tuple[Original, ...]:
    return tuple(_help(f"data/{space}/latency/{d}.pt") for d in devices)


# --- converters: publishers' formats -> the tables the loaders read ---------------------------------
def _g(value: float) -> str:
    """A float as the published tables write it: 6 significant digits (``%g``)."""
    return "%g" % value


def _csv_bytes(rows: Iterable[Iterable[str]]) -> bytes:
    return "".join(",".join(r) + "\n" for r in rows).encode()


def _load_pt(path: Path):
    """A pickled list/dict of plain values from a ``.pt`` file, without running arbitrary code
    (``weights_only``; numpy integer scalars, which HELP's OFA list holds, are allowed too)."""
    import numpy as np
    import torch

    core = getattr(np, "_core", None) or np.core
    scalar = core.multiarray.scalar
    allowed = [scalar, (scalar, "numpy.core.multiarray.scalar"), (scalar, "numpy._core.multiarray.scalar"),
               np.dtype, *{type(np.dtype(t)) for t in (np.int64, np.int32, np.float64, np.float32)}]
    safe_globals = getattr(torch.serialization, "safe_globals", None)
    if safe_globals is None:  # torch < 2.5; the file's SHA-256 was checked: it is the published file
        return torch.load(path, map_location="cpu", weights_only=False)
    with safe_globals(allowed):
        return torch.load(path, map_location="cpu", weights_only=True)


def _find(originals: Mapping[str, Path], suffix: str) -> Path:
    return next(p for name, p in originals.items() if name.endswith(suffix))


def _latencies(originals: Mapping[str, Path]) -> dict[str, list]:
    """Device name -> latency list, devices in the published column order (sorted names)."""
    found = {Path(name).stem: p for name, p in originals.items() if "/latency/" in name}
    return {d: list(_load_pt(found[d])) for d in sorted(found)}


def _nb201_strings(originals: Mapping[str, Path]) -> list[str]:
    index = _load_pt(_find(originals, "nasbench201/str_arch2idx.pt"))  # arch string -> official index
    strings = [""] * len(index)
    for s, i in index.items():
        strings[int(i)] = s
    return strings


def _fbnet_archs(originals: Mapping[str, Path]) -> list[dict]:
    return list(_load_pt(_find(originals, "fbnet/metainfo.pt"))["arch"])


def _latency_csv(id_col: str, strings: list[str] | None, lat: dict[str, list]) -> bytes:
    n = len(next(iter(lat.values())))
    if any(len(v) != n for v in lat.values()) or (strings is not None and len(strings) != n):
        raise RaynasError(f"the latency lists do not all have {n} entries")
    head = [id_col, *(["arch_str"] if strings is not None else []), *lat]
    rows = ([str(i), *([strings[i]] if strings is not None else []), *(_g(v[i]) for v in lat.values())]
            for i in range(n))
    return _csv_bytes([head, *rows])


def build_nb201_latency(originals: Mapping[str, Path]) -> bytes:
    """``nb201/latency_ms.csv`` from HELP's ``data/nasbench201`` lists (row = official arch_index)."""
    return _latency_csv("arch_index", _nb201_strings(originals), _latencies(originals))


def build_fbnet_latency(originals: Mapping[str, Path]) -> bytes:
    """``fbnet/latency_ms.csv`` from HELP's ``data/fbnet`` lists (row = arch_id)."""
    strings = ["-".join(a["arch_str"]) for a in _fbnet_archs(originals)]
    return _latency_csv("arch_id", strings, _latencies(originals))


def build_ofa_latency(originals: Mapping[str, Path]) -> bytes:
    """``ofa/latency_ms.csv`` from HELP's ``data/ofa`` lists (row = arch_id)."""
    return _latency_csv("arch_id", None, _latencies(originals))


def build_fbnet_archs(originals: Mapping[str, Path]) -> bytes:
    """``fbnet/archs.csv``: arch_id, block names joined by ``-``, one op index per layer."""
    archs = _fbnet_archs(originals)
    width = len(archs[0]["op_idx_list"])
    head = ["arch_id", "arch_str", *(f"layer{i}" for i in range(width))]
    rows = ([str(i), "-".join(a["arch_str"]), *(str(int(v)) for v in a["op_idx_list"])] for i, a in enumerate(archs))
    return _csv_bytes([head, *rows])


def build_ofa_archs(originals: Mapping[str, Path]) -> bytes:
    """``ofa/archs.json``: ``[{ks, e, d, r}, ...]`` from HELP's ``data/ofa/ofa_archs.pt``."""
    archs = _load_pt(_find(originals, "ofa/ofa_archs.pt"))["arch"]
    out = [{k: ([int(v) for v in a[k]] if k != "r" else int(a[k])) for k in ("ks", "e", "d", "r")} for a in archs]
    return json.dumps(out).encode()


def _build_reference(key: str) -> Builder:
    def build(originals: Mapping[str, Path]) -> bytes:
        indices = _load_pt(_find(originals, "hardware_embedding_index.pt"))
        return json.dumps({key: [int(i) for i in indices]}).encode()

    build.__name__ = build.__qualname__ = f"build_reference_{key}"
    build.__doc__ = f"``reference_archs.json`` (``{key}``) from HELP's ``hardware_embedding_index.pt``."
    return build


build_nb201_reference = _build_reference("reference_arch_indices")
build_fbnet_reference = _build_reference("reference_arch_ids")

#: columns of ``nb201/accuracy_<dataset>_200ep.csv`` after ``arch_index, arch_str``
ACCURACY_COLUMNS = ("train-accuracy", "valid-accuracy", "test-accuracy", "train-loss", "valid-loss",
                    "test-loss", "train-all-time")


def build_nb201_accuracy(originals: Mapping[str, Path]) -> bytes:
    """``nb201/accuracy_cifar10-valid_200ep.csv`` from NAS-Landscapes' ``cifar10_avg.csv``
    (its ``index`` is the official arch_index)."""
    with open(_find(originals, "cifar10_avg.csv"), newline="") as f:
        rows = [[r["index"], r["arch_str"], *(_g(float(r[c])) for c in ACCURACY_COLUMNS)] for r in csv.DictReader(f)]
    return _csv_bytes([["arch_index", "arch_str", *ACCURACY_COLUMNS], *rows])


# --- the groups --------------------------------------------------------------------------------------
_LIC_LANDSCAPES = "MIT (NAS-Landscapes, (c) 2023 G. Ochoa and N. Veerapen)"
_LIC_HELP = "MIT (HELP, (c) 2024 Hayeon Lee)"
_LIC_FMNIST = "MIT (Fashion-MNIST, (c) 2017 Zalando SE)"
_SRC_LANDSCAPES = (f"NATS-Bench topology space, converted from data/accuracy/cifar10_avg.csv of "
                   f"github.com/gabro8a/NAS-Landscapes@{_LANDSCAPES_COMMIT[:7]}")
_SRC_HELP = f"HELP (Lee et al., NeurIPS 2021), converted from the .pt files of github.com/HayeonLee/HELP@{_HELP_COMMIT[:7]}"
_SRC_FMNIST = (f"Zalando Research, data/fashion/ of github.com/zalandoresearch/fashion-mnist@{_FMNIST_COMMIT[:7]} "
               f"(also on Zalando's download site)")


def _licence_file(path: str, url: str, size: int, sha: str, licence: str, source: str) -> DataFile:
    return DataFile(path, size, sha, licence, f"licence text of {source}", urls=(url,), optional=True)


def _help_licence(directory: str) -> DataFile:
    return _licence_file(f"{directory}/LICENSE.HELP", _HELP_RAW + "LICENSE", *_HELP_FILES["LICENSE"],
                         _LIC_HELP, "github.com/HayeonLee/HELP")


def _help_file(path: str, size: int, sha: str, build: Builder, originals: tuple[Original, ...]) -> DataFile:
    return DataFile(path, size, sha, _LIC_HELP, _SRC_HELP, originals=originals, build=build)


_NB201 = Dataset(
    "nb201",
    "NAS-Bench-201 cifar10-valid accuracies after 200 epochs, averaged over seeds (15,625 architectures)",
    _LIC_LANDSCAPES, _SRC_LANDSCAPES,
    (
        DataFile("nb201/accuracy_cifar10-valid_200ep.csv", 2319564,
                 "c906c29ac114fdd1e403e8a1a2ca62bdea1dc7b4410e4ad681dde740c803dcc2", _LIC_LANDSCAPES, _SRC_LANDSCAPES,
                 originals=(Original("NAS-Landscapes/data/accuracy/cifar10_avg.csv",
                                     (_LANDSCAPES_RAW + "data/accuracy/cifar10_avg.csv",),
                                     *_LANDSCAPES_FILES["data/accuracy/cifar10_avg.csv"]),),
                 build=build_nb201_accuracy),
        _licence_file("nb201/LICENSE.NAS-Landscapes", _LANDSCAPES_RAW + "LICENSE.txt",
                      *_LANDSCAPES_FILES["LICENSE.txt"], _LIC_LANDSCAPES, "github.com/gabro8a/NAS-Landscapes"),
    ),
)

_FBNET_META = _help("data/fbnet/metainfo.pt")
_LATENCY = Dataset(
    "latency",
    "measured latencies (ms) of NAS-Bench-201, FBNet and OFA architectures on GPUs, CPUs, phones, "
    "a Raspberry Pi 4 and an ASIC simulator, with hardware-embedding reference architectures",
    _LIC_HELP + "; raspi4/pixel3/eyeriss from HW-NAS-Bench (MIT)", _SRC_HELP,
    (
        _help_file("nb201/latency_ms.csv", 3744471, "3dfc292669477f584e9e054e8e7ad16c58c4b6ba051338b962e9e42a39b003a4",
                   build_nb201_latency,
                   (_help("data/nasbench201/str_arch2idx.pt"), *_help_latency("nasbench201", _NB201_DEVICES))),
        _help_file("nb201/reference_archs.json", 85, "93efff55cb00f2fa5ce0b3c87445215f47b2cea3d355f2ba8c2c085633587ff9",
                   build_nb201_reference, (_help("data/nasbench201/hardware_embedding_index.pt"),)),
        _help_file("fbnet/archs.csv", 965872, "2910ed1af7cfa2554c2d9aba24620f375481aad1387baf234f469c3704c87f86",
                   build_fbnet_archs, (_FBNET_META,)),
        _help_file("fbnet/latency_ms.csv", 1485786, "692032ada4294a42d0e154871eec62a485e38c4da1094fa81e14184549496a5d",
                   build_fbnet_latency, (_FBNET_META, *_help_latency("fbnet", _FBNET_DEVICES))),
        _help_file("fbnet/reference_archs.json", 82, "ecd729afb07c013fde66ba85de9802c3a4871e024a164ff4015bdd398b55a6b0",
                   build_fbnet_reference, (_help("data/fbnet/hardware_embedding_index.pt"),)),
        _help_file("ofa/archs.json", 845000, "ba82155c9113e7fd33111c6aae937b8a4b8f32c39e833d1d17d756a20d753512",
                   build_ofa_archs, (_help("data/ofa/ofa_archs.pt"),)),
        _help_file("ofa/latency_ms.csv", 497361, "455a04cd90a0985ebf949756473960e7fd0c07e4e93b2bde5394c17454fa94d3",
                   build_ofa_latency, _help_latency("ofa", _OFA_DEVICES)),
        _help_licence("nb201"),
        _help_licence("fbnet"),
        _help_licence("ofa"),
    ),
)

_FASHION_MNIST = Dataset(
    "fashion-mnist",
    "Fashion-MNIST: 60,000 training and 10,000 test images, 28x28 grey, 10 classes (IDX format, gzip)",
    _LIC_FMNIST, _SRC_FMNIST,
    (
        *(DataFile(f"fashion-mnist/{name}", size, sha, _LIC_FMNIST, _SRC_FMNIST,
                   urls=(f"{_FMNIST_RAW}data/fashion/{name}", _FMNIST_SITE + name), content_sha256=content)
          for name, (size, sha, content) in _FMNIST_FILES.items()),
        _licence_file("fashion-mnist/LICENSE.fashion-mnist", _FMNIST_RAW + "LICENSE", *_FMNIST_LICENSE, _LIC_FMNIST,
                      "github.com/zalandoresearch/fashion-mnist"),
    ),
)

#: every dataset :func:`fetch` knows, by name (``"all"`` means all of them)
MANIFEST: dict[str, Dataset] = {d.name: d for d in (_NB201, _LATENCY, _FASHION_MNIST)}


def resolve_names(names: str | Iterable[str], manifest: Mapping[str, Dataset] | None = None) -> list[str]:
    """Dataset names in manifest order; ``"all"`` is every dataset. Unknown names raise
    :class:`~raynas.errors.UnknownNameError` listing the known ones."""
    manifest = MANIFEST if manifest is None else manifest
    wanted = [names] if isinstance(names, str) else list(names)
    for n in wanted:
        if n != "all" and n not in manifest:
            raise UnknownNameError(f"unknown dataset {n!r}; choose from {', '.join([*manifest, 'all'])}")
    return [n for n in manifest if "all" in wanted or n in wanted]


# --- checking files ---------------------------------------------------------------------------------
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _gunzip_sha256(path: Path) -> str | None:
    h = hashlib.sha256()
    try:
        with gzip.open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    except (OSError, EOFError, zlib.error):
        return None
    return h.hexdigest()


def verify(path: str | os.PathLike, file: DataFile) -> tuple[bool, str]:
    """``(matches, actual SHA-256)`` of a local copy of ``file``. A gzip file whose decompressed
    content has ``file.content_sha256`` matches too (a recompressed copy of the same data)."""
    actual = _sha256(Path(path))
    if actual == file.sha256:
        return True, actual
    if file.content_sha256 is not None and _gunzip_sha256(Path(path)) == file.content_sha256:
        return True, actual
    return False, actual


# --- downloading ------------------------------------------------------------------------------------
def _mirror_base(mirror: str | os.PathLike | None) -> str | None:
    """The mirror's base URL (``mirror``, else ``$RAYNAS_DATA_URL``); a local directory becomes a
    ``file://`` URL."""
    value = str(mirror) if mirror is not None and str(mirror) != "" else os.environ.get(MIRROR_ENV) or None
    if value is None:
        return None
    if len(urllib.parse.urlparse(value).scheme) > 1:  # one letter: a Windows drive
        return value.rstrip("/")
    return Path(value).expanduser().resolve().as_uri()


def mirror_url(base: str, path: str) -> str:
    """Where a mirror at ``base`` serves the data file ``path`` (the data directory's layout)."""
    return f"{base.rstrip('/')}/{urllib.parse.quote(path)}"


def _content_range_start(value: str | None) -> int | None:
    try:  # "bytes 100-199/200"
        return int(value.split()[1].split("-")[0]) if value else None
    except (IndexError, ValueError):
        return None


_NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException, OSError, ValueError)


class _Check:
    """Checksum test of a downloaded file (carries the expected digest for error messages)."""

    def __init__(self, expected: str, file: DataFile | None = None):
        self.expected = expected
        self.file = file

    def __call__(self, path: Path) -> tuple[bool, str]:
        if self.file is not None:
            return verify(path, self.file)
        actual = _sha256(path)
        return actual == self.expected, actual


def _transfer(url: str, part: Path, size: int, label: str, timeout: float, bar: Progress | None) -> bool:
    """Download ``url`` into ``part``, continuing a partial ``part`` where the server honours an
    HTTP Range request. Returns whether the download was resumed."""
    offset = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": _USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # nothing left to send: the partial file may be whole already
            return True
        raise
    with resp:
        resumed = bool(offset) and getattr(resp, "status", None) == 206 \
            and _content_range_start(resp.headers.get("Content-Range")) == offset
        if resumed:
            log.info("%s: resuming at byte %d of %d", label, offset, size)
        own = bar is None
        if own:
            bar = Progress(size, f"downloading {label} from {url}", unit="B")
        else:
            log.info("%s: from %s", label, url)
        announced = resp.headers.get("Content-Length")
        received = 0
        try:
            bar.update(offset if resumed else 0)
            with open(part, "ab" if resumed else "wb") as out:
                while chunk := resp.read(_CHUNK):
                    out.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
            if announced is not None and announced.isdigit() and received < int(announced):
                raise ConnectionError(f"the connection closed after {received} of {announced} bytes; "
                                      f"run the fetch again to continue")
        except BaseException:
            if own:
                bar.close(note="interrupted")
            raise
        if own:
            bar.close()
    return resumed


def _download(urls: Iterable[str], dest: Path, size: int, check: _Check,
              label: str, timeout: float, bar: Progress | None = None) -> str:
    """Fetch ``dest`` from the first of ``urls`` that delivers it with the right checksum, via
    ``dest.part`` and an atomic rename. Returns the URL used.

    A partial ``.part`` left by an interrupted run is continued; one that then fails the check is
    discarded and downloaded again from the start. A file that fails its check is deleted and, when
    no other URL delivers it, raises :class:`DataChecksumError`; unreachable URLs raise
    :class:`DataDownloadError`."""
    part = dest.with_name(dest.name + ".part")
    _writable(dest.parent)
    failures: list[str] = []
    mismatch: DataChecksumError | None = None
    for url in urls:
        try:
            resumed = _transfer(url, part, size, label, timeout, bar)
            ok, actual = check(part)
            if not ok and resumed:
                log.warning("%s: the resumed download does not match its checksum; starting again", label)
                part.unlink()
                _transfer(url, part, size, label, timeout, bar)
                ok, actual = check(part)
        except RaynasError:
            raise
        except _NETWORK_ERRORS as exc:
            failures.append(f"{url} ({_reason(exc)})")
            continue
        if ok:
            os.replace(part, dest)
            return url
        part.unlink(missing_ok=True)
        mismatch = DataChecksumError(f"{label} from {url} has SHA-256 {actual}, expected {check.expected}; "
                                     f"the download was deleted")
    if mismatch is not None:
        raise mismatch
    raise DataDownloadError(f"could not download {label} from {'; '.join(failures)}")


def _writable(directory: Path) -> None:
    """Create ``directory``; a RaynasError when it cannot be created or written to."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RaynasError(f"cannot create {str(directory)!r}: {exc.strerror or exc}") from None
    if not os.access(directory, os.W_OK):
        raise RaynasError(f"cannot write to {str(directory)!r}; choose another data directory (--data-dir)")


def _offline_hint(exc: DataDownloadError) -> DataDownloadError:
    return DataDownloadError(f"{exc}; without access to it, a mirror can stand in (--mirror URL or ${MIRROR_ENV})")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


@dataclass(frozen=True)
class FetchResult:
    """What :func:`fetch` did with one file: ``action`` is ``"present"`` (already there, checksum
    ok), ``"downloaded"``, ``"converted"`` (built from originals) or ``"unavailable"`` (an optional
    licence text the source does not have); ``detail`` names the URL or the reason."""

    path: str
    action: str
    detail: str = ""


def _build(file: DataFile, root: Path, timeout: float) -> str:
    """Download ``file.originals`` into the staging directory, convert, check, rename into place."""
    stage = root / STAGING
    todo = [o for o in file.originals if not ((stage / o.name).is_file() and _sha256(stage / o.name) == o.sha256)]
    if todo:
        bar = Progress(sum(o.size for o in todo), f"downloading {len(todo)} original file(s) for {file.path}", unit="B")
        try:
            for o in todo:
                _download(o.urls, stage / o.name, o.size, _Check(o.sha256), o.name, timeout, bar)
        except BaseException:
            bar.close(note="interrupted")
            raise
        bar.close()
    try:
        data = file.build({o.name: stage / o.name for o in file.originals})
    except Exception as exc:  # noqa: BLE001 - any failure of a converter is one clear error
        raise RaynasError(f"could not convert the originals of {file.path}: {type(exc).__name__}: {exc}") from None
    target = root / file.path
    part = target.with_name(target.name + ".part")
    _writable(target.parent)
    part.write_bytes(data)
    ok, actual = verify(part, file)
    if not ok:
        part.unlink()
        raise DataChecksumError(f"{file.path} converted from {', '.join(o.name for o in file.originals[:3])}"
                                f"{', ...' if len(file.originals) > 3 else ''} has SHA-256 {actual}, "
                                f"expected {file.sha256}; nothing was written")
    os.replace(part, target)
    return f"from {len(file.originals)} original file(s)"


def _fetch_file(file: DataFile, root: Path, base: str | None, force: bool, timeout: float) -> FetchResult:
    target = root / file.path
    if target.is_file() and not force:
        ok, actual = verify(target, file)
        if ok:
            log.info("%s: already present (SHA-256 ok), skipped", file.path)
            return FetchResult(file.path, "present", str(target))
        log.warning("%s: SHA-256 %s, expected %s; replacing it", file.path, actual, file.sha256)
    try:
        if base is not None:
            url = _download([mirror_url(base, file.path)], target, file.size, _Check(file.sha256, file),
                            file.path, timeout)
            return FetchResult(file.path, "downloaded", url)
        if file.urls:
            url = _download(file.urls, target, file.size, _Check(file.sha256, file), file.path, timeout)
            return FetchResult(file.path, "downloaded", url)
        if file.build is not None:
            return FetchResult(file.path, "converted", _build(file, root, timeout))
        raise DataDownloadError(f"{file.path} has no verified public location; fetch it from a mirror "
                                f"(--mirror URL or ${MIRROR_ENV})")
    except DataDownloadError as exc:
        if not file.optional:
            raise
        log.warning("%s not fetched (optional): %s", file.path, exc)
        return FetchResult(file.path, "unavailable", str(exc))


def fetch(names: str | Iterable[str] = "all", data_dir: str | os.PathLike | None = None,
          mirror: str | os.PathLike | None = None, force: bool = False, *,
          manifest: Mapping[str, Dataset] | None = None, timeout: float = 60.0) -> list[FetchResult]:
    """Download datasets into the data directory, checking every file's SHA-256.

    Args:
        names: ``"nb201"``, ``"latency"``, ``"fashion-mnist"``, ``"all"``, or a list of them.
        data_dir: the data directory (default :func:`raynas.paths.data_dir`: ``$RAYNAS_DATA``, else
            the user data directory); created if needed.
        mirror: base URL (or local directory) serving the data directory's layout, used instead
            of the original locations; default ``$RAYNAS_DATA_URL``.
        force: download again even files that are present and intact.
        manifest: the datasets to choose from (default :data:`MANIFEST`).
        timeout: seconds a connection may stay silent.

    Files present with the right checksum are skipped (so a second call downloads nothing); a
    present file with a wrong checksum is replaced. Each download goes to ``<file>.part`` (an
    interrupted one is continued where the server supports HTTP ranges), is checked, then renamed
    into place, so a file in the layout is always whole. Converted files are built from their
    publishers' originals, which wait in ``<data_dir>/.download/`` and are removed once every
    requested file is in place.

    Returns:
        one :class:`FetchResult` per file.

    Raises:
        DataChecksumError: a downloaded or converted file does not match its checksum (it is deleted).
        DataDownloadError: no URL of a file could be reached (the message names them).
        UnknownNameError: an unknown dataset name.

    Example::

        >>> from raynas import datasets
        >>> [r.action for r in datasets.fetch("nb201", data_dir="/tmp/nas")][:1]
        ['converted']
        >>> [r.action for r in datasets.fetch("nb201", data_dir="/tmp/nas")][:1]   # idempotent
        ['present']
    """
    manifest = MANIFEST if manifest is None else manifest
    root = paths.data_dir(data_dir)
    base = _mirror_base(mirror)
    files: dict[str, DataFile] = {}
    for name in resolve_names(names, manifest):
        files.update({f.path: f for f in manifest[name].files})
    try:
        results = [_fetch_file(f, root, base, force, timeout) for f in files.values()]
    except DataDownloadError as exc:
        raise (exc if base is not None else _offline_hint(exc)) from None
    finally:
        _tidy_staging(root / STAGING)
    shutil.rmtree(root / STAGING, ignore_errors=True)
    return results


def _tidy_staging(stage: Path) -> None:
    """Remove empty directories of the staging area (complete originals stay for the next run)."""
    if not stage.is_dir():
        return
    for d in sorted((p for p in stage.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(d.iterdir()):
            d.rmdir()
    if not any(stage.iterdir()):
        stage.rmdir()


# --- what is present --------------------------------------------------------------------------------
@dataclass(frozen=True)
class FileStatus:
    """One file in :func:`info`: ``state`` is ``"ok"``, ``"missing"`` or ``"corrupt"``."""

    file: DataFile
    state: str

    @property
    def path(self) -> str:
        return self.file.path


@dataclass(frozen=True)
class DatasetStatus:
    """One dataset in :func:`info`.

    ``state`` is ``"present"`` (every data file there and intact), ``"missing"`` (none there),
    ``"incomplete"`` (some missing) or ``"corrupt"`` (a file fails its checksum). Licence texts
    are optional: their absence does not make a dataset incomplete."""

    name: str
    state: str
    root: Path
    dataset: Dataset
    files: tuple[FileStatus, ...]

    @property
    def fetch_command(self) -> str:
        return f"raynas data fetch {self.name}"

    @property
    def directories(self) -> list[Path]:
        return [self.root / d for d in self.dataset.directories]


def _file_state(root: Path, file: DataFile) -> str:
    path = root / file.path
    if not path.is_file():
        return "missing"
    return "ok" if verify(path, file)[0] else "corrupt"


def info(data_dir: str | os.PathLike | None = None, *,
         manifest: Mapping[str, Dataset] | None = None) -> list[DatasetStatus]:
    """For each dataset: present, missing, incomplete or corrupt (every file's SHA-256 is checked),
    where, and its size, licence and source.

    Example::

        >>> from raynas import datasets
        >>> [(s.name, s.state) for s in datasets.info("/tmp/empty")]
        [('nb201', 'missing'), ('latency', 'missing'), ('fashion-mnist', 'missing')]
        >>> report = datasets.format_info(datasets.info())      # the text `raynas data info` prints
    """
    manifest = MANIFEST if manifest is None else manifest
    root = paths.data_dir(data_dir)
    out = []
    for ds in manifest.values():
        files = tuple(FileStatus(f, _file_state(root, f)) for f in ds.files)
        required = [s for s in files if not s.file.optional]
        if any(s.state == "corrupt" for s in files):
            state = "corrupt"
        elif all(s.state == "ok" for s in required):
            state = "present"
        elif all(s.state == "missing" for s in required):
            state = "missing"
        else:
            state = "incomplete"
        out.append(DatasetStatus(ds.name, state, root, ds, files))
    return out


def _megabytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def _where(data_dir: str | os.PathLike | None) -> str:
    if data_dir is not None and str(data_dir) != "":
        return "--data-dir"
    return "$RAYNAS_DATA" if os.environ.get("RAYNAS_DATA") else "the user data directory"


def format_info(statuses: list[DatasetStatus], data_dir: str | os.PathLike | None = None) -> str:
    """The report ``raynas data info`` prints for :func:`info`'s result."""
    if not statuses:
        return "no datasets"
    root = statuses[0].root
    lines = [f"data directory: {root} ({_where(data_dir)})"]
    base = _mirror_base(None)
    lines.append(f"mirror: {base} (${MIRROR_ENV})" if base else f"mirror: none (${MIRROR_ENV} is not set)")
    for s in statuses:
        dirs = ", ".join(str(d) for d in s.directories)
        lines += ["", f"{s.name}: {s.state} - {_megabytes(s.dataset.size)} in {dirs}",
                  f"  {s.dataset.description}",
                  f"  licence: {s.dataset.licence}",
                  f"  source:  {s.dataset.source}"]
        if s.state != "missing":
            lines += [f"  {f.state}: {f.path}" for f in s.files
                      if f.state == "corrupt" or (f.state == "missing" and not f.file.optional)]
            absent = [f.path for f in s.files if f.state == "missing" and f.file.optional]
            if absent:
                lines.append(f"  licence text not fetched: {', '.join(absent)}")
        if s.state != "present":
            lines.append(f"  fetch it with: {s.fetch_command}")
    return "\n".join(lines)
