"""`raynas data fetch` / `info` against a mirror served from a local http.server (no real network).

Most tests use a small synthetic manifest; one serves the published data directory as a mirror of
the real manifest (skipped, naming the fetch command, when the data is absent), and one converts
the publishers' original files when ``$RAYNAS_TEST_ORIGINALS`` points to a copy of them laid out
as ``<repository name>/<path in the repository>`` (e.g. ``HELP/data/fbnet/metainfo.pt``).
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import urllib.parse
from dataclasses import replace
from functools import partial
from pathlib import Path

import pytest

from raynas import datasets, paths
from raynas.cli import main
from raynas.datasets import DataFile, Dataset, Original
from raynas.errors import DataChecksumError, DataDownloadError, DataNotFoundError, RaynasError


# --- a local HTTP server with Range support -------------------------------------------------------
class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass

    def do_GET(self):  # noqa: N802 - http.server's naming
        srv = self.server
        srv.requests.append((urllib.parse.unquote(self.path), self.headers.get("Range")))
        path = Path(self.translate_path(self.path))
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start = 0
        rng = self.headers.get("Range")
        if rng and srv.ranges:
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if srv.cut_after is not None:  # announce everything, send a part, hang up
            self.wfile.write(body[: srv.cut_after])
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture
def serve():
    """``serve(directory, ranges=True)`` -> (base URL, server); ``server.requests`` lists
    ``(path, Range header)``; ``server.cut_after = n`` drops each response after n bytes."""
    servers = []

    def start(directory, ranges: bool = True):
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(directory)))
        srv.requests, srv.ranges, srv.cut_after = [], ranges, None
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}", srv

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- a synthetic manifest -------------------------------------------------------------------------
def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


TABLE = b"".join(b"%d,%d.5,arch-%d\n" % (i, i * 7 % 1000, i) for i in range(20_000))  # ~330 kB
CONTENT = bytes(range(256)) * 400
PACKED = gzip.compress(CONTENT, mtime=1_500_000_000)
LICENCE = b"Permission is hereby granted, for testing.\n"


def _file(path: str, data: bytes, **kwargs) -> DataFile:
    return DataFile(path, len(data), _sha(data), "test licence", "test source", **kwargs)


def _manifest() -> dict[str, Dataset]:
    files = (_file("alpha/table.csv", TABLE), _file("alpha/images.gz", PACKED, content_sha256=_sha(CONTENT)),
             _file("alpha/LICENSE.test", LICENCE, optional=True))
    return {"alpha": Dataset("alpha", "a table and an image file", "test licence", "test source", files),
            "beta": Dataset("beta", "one more", "test licence", "test source", (_file("beta/b.txt", b"beta\n"),))}


@pytest.fixture
def mirror(tmp_path):
    root = tmp_path / "mirror"
    for rel, data in {"alpha/table.csv": TABLE, "alpha/images.gz": PACKED, "alpha/LICENSE.test": LICENCE,
                      "beta/b.txt": b"beta\n"}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def _leftovers(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.name.endswith(".part") or p.name == datasets.STAGING)


# --- fetch ----------------------------------------------------------------------------------------
def test_fetch_writes_the_layout_and_a_second_fetch_downloads_nothing(serve, mirror, tmp_path):
    base, srv = serve(mirror)
    dest = tmp_path / "data"
    results = datasets.fetch("alpha", data_dir=dest, mirror=base, manifest=_manifest())
    assert [(r.path, r.action) for r in results] == [
        ("alpha/table.csv", "downloaded"), ("alpha/images.gz", "downloaded"), ("alpha/LICENSE.test", "downloaded")]
    assert (dest / "alpha/table.csv").read_bytes() == TABLE and (dest / "alpha/images.gz").read_bytes() == PACKED
    assert not (dest / "beta").exists() and _leftovers(dest) == []
    n = len(srv.requests)
    again = datasets.fetch("alpha", data_dir=dest, mirror=base, manifest=_manifest())
    assert {r.action for r in again} == {"present"} and len(srv.requests) == n


def test_all_and_unknown_names(serve, mirror, tmp_path):
    base, _ = serve(mirror)
    results = datasets.fetch(["all"], data_dir=tmp_path / "d", mirror=base, manifest=_manifest())
    assert {r.path for r in results} == {"alpha/table.csv", "alpha/images.gz", "alpha/LICENSE.test", "beta/b.txt"}
    with pytest.raises(RaynasError, match="gamma.*alpha, beta, all"):
        datasets.fetch("gamma", data_dir=tmp_path / "d", mirror=base, manifest=_manifest())


def test_interrupted_download_resumes_with_a_range_request(serve, mirror, tmp_path):
    base, srv = serve(mirror)
    dest = tmp_path / "data"
    srv.cut_after = len(TABLE) // 3
    with pytest.raises(DataDownloadError, match="alpha/table.csv"):
        datasets.fetch("alpha", data_dir=dest, mirror=base, manifest=_manifest())
    got = (dest / "alpha/table.csv.part").read_bytes()
    assert 0 < len(got) < len(TABLE) and TABLE.startswith(got) and not (dest / "alpha/table.csv").exists()
    srv.cut_after = None
    srv.requests.clear()
    datasets.fetch("alpha", data_dir=dest, mirror=base, manifest=_manifest())
    assert ("/alpha/table.csv", f"bytes={len(got)}-") in srv.requests
    assert (dest / "alpha/table.csv").read_bytes() == TABLE and _leftovers(dest) == []


def test_server_without_range_support_starts_again(serve, mirror, tmp_path):
    base, srv = serve(mirror, ranges=False)
    dest = tmp_path / "data"
    (dest / "alpha").mkdir(parents=True)
    (dest / "alpha/table.csv.part").write_bytes(TABLE[:1000])
    datasets.fetch("alpha", data_dir=dest, mirror=base, manifest=_manifest())
    assert (dest / "alpha/table.csv").read_bytes() == TABLE and _leftovers(dest) == []


def test_a_stale_partial_file_that_does_not_verify_is_downloaded_again(serve, mirror, tmp_path):
    base, srv = serve(mirror)
    dest = tmp_path / "data"
    (dest / "alpha").mkdir(parents=True)
    (dest / "alpha/table.csv.part").write_bytes(b"x" * 1000)  # resumed, it cannot match
    datasets.fetch("alpha", data_dir=dest, mirror=base, manifest=_manifest())
    table_requests = [r for p, r in srv.requests if p == "/alpha/table.csv"]
    assert table_requests == ["bytes=1000-", None]
    assert (dest / "alpha/table.csv").read_bytes() == TABLE and _leftovers(dest) == []


def test_corrupted_download_raises_and_leaves_nothing_behind(serve, mirror, tmp_path):
    (mirror / "alpha/table.csv").write_bytes(TABLE[:-10] + b"corrupted!")
    base, _ = serve(mirror)
    dest = tmp_path / "data"
    with pytest.raises(DataChecksumError) as info:
        datasets.fetch("alpha", data_dir=dest, mirror=base, manifest=_manifest())
    message = str(info.value)
    assert "alpha/table.csv" in message and _sha(TABLE) in message
    assert _sha(TABLE[:-10] + b"corrupted!") in message and "\n" not in message
    assert not (dest / "alpha/table.csv").exists() and _leftovers(dest) == []


def test_a_corrupt_present_file_is_replaced_and_force_downloads_again(serve, mirror, tmp_path):
    base, srv = serve(mirror)
    dest = tmp_path / "data"
    (dest / "alpha").mkdir(parents=True)
    (dest / "alpha/table.csv").write_bytes(b"damaged")
    results = {r.path: r.action for r in datasets.fetch("alpha", data_dir=dest, mirror=base, manifest=_manifest())}
    assert results["alpha/table.csv"] == "downloaded" and (dest / "alpha/table.csv").read_bytes() == TABLE
    n = len(srv.requests)
    forced = datasets.fetch("alpha", data_dir=dest, mirror=base, force=True, manifest=_manifest())
    assert {r.action for r in forced} == {"downloaded"} and len(srv.requests) == n + 3


def test_a_recompressed_gzip_with_the_same_content_is_accepted(serve, mirror, tmp_path):
    other = gzip.compress(CONTENT, mtime=0)  # another header, same content (as Debian's Fashion-MNIST)
    assert other != PACKED
    (mirror / "alpha/images.gz").write_bytes(other)
    base, _ = serve(mirror)
    dest = tmp_path / "data"
    datasets.fetch("alpha", data_dir=dest, mirror=base, manifest=_manifest())
    assert (dest / "alpha/images.gz").read_bytes() == other
    (status,) = [s for s in datasets.info(dest, manifest=_manifest()) if s.name == "alpha"]
    assert status.state == "present"
    (dest / "alpha/images.gz").write_bytes(gzip.compress(CONTENT[:-1]))  # different content: corrupt
    assert datasets.info(dest, manifest=_manifest())[0].state == "corrupt"


def test_unreachable_mirror_is_one_line_naming_the_url(tmp_path):
    url = _closed_port_url()
    with pytest.raises(DataDownloadError) as info:
        datasets.fetch("beta", data_dir=tmp_path, mirror=url, manifest=_manifest(), timeout=5)
    assert f"{url}/beta/b.txt" in str(info.value) and "\n" not in str(info.value)
    assert isinstance(info.value, RaynasError)


def test_missing_file_on_the_mirror_names_the_url(serve, mirror, tmp_path):
    (mirror / "beta/b.txt").unlink()
    base, _ = serve(mirror)
    with pytest.raises(DataDownloadError, match=r"beta/b\.txt.*HTTP 404"):
        datasets.fetch("beta", data_dir=tmp_path / "d", mirror=base, manifest=_manifest())


def test_a_mirror_without_the_licence_text_only_warns(serve, mirror, tmp_path):
    (mirror / "alpha/LICENSE.test").unlink()
    base, _ = serve(mirror)
    results = {r.path: r for r in datasets.fetch("alpha", data_dir=tmp_path / "d", mirror=base, manifest=_manifest())}
    assert results["alpha/LICENSE.test"].action == "unavailable" and "404" in results["alpha/LICENSE.test"].detail
    assert datasets.info(tmp_path / "d", manifest=_manifest())[0].state == "present"


def test_mirror_from_the_environment_may_be_a_local_directory(mirror, tmp_path, monkeypatch):
    monkeypatch.setenv(datasets.MIRROR_ENV, str(mirror))
    datasets.fetch("beta", data_dir=tmp_path / "d", manifest=_manifest())
    assert (tmp_path / "d/beta/b.txt").read_bytes() == b"beta\n"


def test_data_dir_defaults_to_raynas_data(serve, mirror, tmp_path, monkeypatch):
    base, _ = serve(mirror)
    monkeypatch.setenv("RAYNAS_DATA", str(tmp_path / "env"))
    datasets.fetch("beta", mirror=base, manifest=_manifest())
    assert (tmp_path / "env/beta/b.txt").is_file()


def test_urls_are_tried_in_order(serve, mirror, tmp_path):
    base, _ = serve(mirror)
    f = replace(_file("beta/b.txt", b"beta\n"), urls=(_closed_port_url() + "/b.txt", base + "/beta/b.txt"))
    manifest = {"beta": Dataset("beta", "", "", "", (f,))}
    (result,) = datasets.fetch("beta", data_dir=tmp_path / "d", manifest=manifest, timeout=5)
    assert result.detail == base + "/beta/b.txt"


def test_a_file_without_a_public_location_needs_a_mirror(tmp_path):
    manifest = {"beta": Dataset("beta", "", "", "", (_file("beta/b.txt", b"beta\n"),))}
    with pytest.raises(DataDownloadError, match="--mirror"):
        datasets.fetch("beta", data_dir=tmp_path, manifest=manifest)
    assert manifest["beta"].files[0].how == "mirror only"


# --- converters: the publishers' formats, in miniature ----------------------------------------------
def _nb201_strings(n: int) -> list[str]:
    from raynas.spaces import NB201Space

    space = NB201Space()
    return [space.arch_str(a) for a in list(space.enumerate())[::97][:n]]


def _write_originals(root: Path, n: int = 12) -> None:
    """HELP / NAS-Landscapes originals in their published formats, with ``n`` architectures."""
    import numpy as np
    import torch

    strings = _nb201_strings(n)
    rng = np.random.default_rng(0)
    help_ = root / "HELP/data"
    for d in ("nasbench201/latency", "fbnet/latency", "ofa/latency"):
        (help_ / d).mkdir(parents=True)
    torch.save({s: i for i, s in enumerate(strings)}, help_ / "nasbench201/str_arch2idx.pt")
    for d in ("gold_6226", "pixel2", "raspi4"):
        values = [int(v) for v in rng.integers(5, 40, n)] if d == "pixel2" else list(rng.uniform(1, 30, n))
        torch.save(values, help_ / f"nasbench201/latency/{d}.pt")
        torch.save(list(rng.uniform(1, 30, n)), help_ / f"fbnet/latency/{d}.pt")
    torch.save(list(rng.uniform(1, 30, n)), help_ / "ofa/latency/v100_1.pt")
    blocks = ["k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip"]
    ops = [[int(v) for v in rng.integers(0, 9, 22)] for _ in range(n)]
    torch.save({"dataset": "cifar100", "arch": [{"op_idx_list": o, "arch_str": [blocks[v] for v in o]} for o in ops]},
               help_ / "fbnet/metainfo.pt")
    torch.save({"arch": [{"ks": [3] * 20, "e": [4] * 20, "d": [2] * 5, "r": np.int64(160 + i)} for i in range(n)]},
               help_ / "ofa/ofa_archs.pt")
    torch.save([3, 1], help_ / "nasbench201/hardware_embedding_index.pt")
    torch.save([2, 0], help_ / "fbnet/hardware_embedding_index.pt")
    acc = root / "NAS-Landscapes/data/accuracy"
    acc.mkdir(parents=True)
    cols = datasets.ACCURACY_COLUMNS
    lines = ["index,sol,arch_str," + ",".join(cols)]
    lines += [f"{i},{i * 31},{s}," + ",".join(str(v) for v in rng.uniform(10, 100, len(cols))) for i, s in enumerate(strings)]
    (acc / "cifar10_avg.csv").write_text("\n".join(lines) + "\n")


def _original(root: Path, base: str, name: str) -> Original:
    data = (root / name).read_bytes()
    return Original(name, (f"{base}/{urllib.parse.quote(name)}",), len(data), _sha(data))


def _converted_manifest(root: Path, base: str) -> dict[str, Dataset]:
    """The real recipes over the miniature originals; expected digests from converting them here."""
    o = partial(_original, root, base)
    lat = lambda space: tuple(o(f"HELP/data/{space}/latency/{d}.pt") for d in ("gold_6226", "pixel2", "raspi4"))  # noqa: E731
    recipes = {
        "nb201/accuracy_cifar10-valid_200ep.csv": (datasets.build_nb201_accuracy,
                                                   (o("NAS-Landscapes/data/accuracy/cifar10_avg.csv"),)),
        "nb201/latency_ms.csv": (datasets.build_nb201_latency,
                                 (o("HELP/data/nasbench201/str_arch2idx.pt"), *lat("nasbench201"))),
        "nb201/reference_archs.json": (datasets.build_nb201_reference,
                                       (o("HELP/data/nasbench201/hardware_embedding_index.pt"),)),
        "fbnet/archs.csv": (datasets.build_fbnet_archs, (o("HELP/data/fbnet/metainfo.pt"),)),
        "fbnet/latency_ms.csv": (datasets.build_fbnet_latency, (o("HELP/data/fbnet/metainfo.pt"), *lat("fbnet"))),
        "fbnet/reference_archs.json": (datasets.build_fbnet_reference,
                                       (o("HELP/data/fbnet/hardware_embedding_index.pt"),)),
        "ofa/archs.json": (datasets.build_ofa_archs, (o("HELP/data/ofa/ofa_archs.pt"),)),
        "ofa/latency_ms.csv": (datasets.build_ofa_latency, (o("HELP/data/ofa/latency/v100_1.pt"),)),
    }
    files = []
    for path, (build, originals) in recipes.items():
        data = build({x.name: root / x.name for x in originals})
        files.append(DataFile(path, len(data), _sha(data), "l", "s", originals=originals, build=build))
    return {"tables": Dataset("tables", "", "", "", tuple(files))}


def test_converters_build_tables_the_loaders_read(serve, tmp_path):
    from raynas.benchmarks import NB201Benchmark
    from raynas.hardware.registry import reference_archs
    from raynas.hardware.table import latency_table
    from raynas.predictors.tables import load_space_table

    _write_originals(tmp_path / "orig")
    base, srv = serve(tmp_path / "orig")
    dest = tmp_path / "data"
    results = datasets.fetch("all", data_dir=dest, manifest=_converted_manifest(tmp_path / "orig", base))
    assert {r.action for r in results} == {"converted"} and _leftovers(dest) == []
    assert sum(p == "/HELP/data/fbnet/metainfo.pt" for p, _ in srv.requests) == 1  # staged once, used twice
    bench = NB201Benchmark(data_dir=dest)
    assert len(bench) == 12 and bench.devices == ["gold_6226", "pixel2", "raspi4"]
    assert bench.arch_strs == _nb201_strings(12)
    fbnet = load_space_table("fbnet", dest)
    assert len(fbnet.archs) == 12 and fbnet.reference == [2, 0]
    assert reference_archs("nb201", dest)[0] == [3, 1]
    assert list(latency_table("ofa", dest).columns) == ["arch_id", "v100_1"]
    assert json.loads((dest / "ofa/archs.json").read_text())[1]["r"] == 161
    row = (dest / "nb201/latency_ms.csv").read_text().splitlines()[1].split(",")
    assert all(len(v.replace(".", "").lstrip("0")) <= 6 for v in row[2:])  # %g: 6 significant digits


def test_a_conversion_that_does_not_match_writes_nothing(serve, tmp_path):
    _write_originals(tmp_path / "orig")
    base, _ = serve(tmp_path / "orig")
    manifest = _converted_manifest(tmp_path / "orig", base)
    bad = replace(manifest["tables"].files[0], sha256="0" * 64)
    with pytest.raises(DataChecksumError, match="nb201/accuracy_cifar10-valid_200ep.csv.*expected 0000"):
        datasets.fetch("x", data_dir=tmp_path / "d", manifest={"x": Dataset("x", "", "", "", (bad,))})
    assert not (tmp_path / "d/nb201/accuracy_cifar10-valid_200ep.csv").exists()
    assert not list((tmp_path / "d").rglob("*.part"))


def test_a_corrupted_original_is_a_checksum_error(serve, tmp_path):
    _write_originals(tmp_path / "orig")
    base, _ = serve(tmp_path / "orig")
    manifest = _converted_manifest(tmp_path / "orig", base)
    (tmp_path / "orig/HELP/data/ofa/ofa_archs.pt").write_bytes(b"not a pickle")
    with pytest.raises(DataChecksumError, match="HELP/data/ofa/ofa_archs.pt"):
        datasets.fetch("tables", data_dir=tmp_path / "d", manifest=manifest)
    assert not (tmp_path / "d/ofa/archs.json").exists() and not list((tmp_path / "d").rglob("*.part"))


# --- the real manifest ------------------------------------------------------------------------------
def test_the_manifest_names_every_dataset_the_loaders_look_for():
    for name, (sub, marker, group) in paths.DATASETS.items():
        assert group in datasets.MANIFEST, name
        assert f"{sub}/{marker}" in {f.path for f in datasets.MANIFEST[group].files}, name
    for ds in datasets.MANIFEST.values():
        for f in ds.files:
            assert len(f.sha256) == 64 and f.size > 0 and f.licence and f.source
            assert f.how in ("download", "converted"), f.path  # every file has a public origin
            assert all(u.startswith(("https://raw.githubusercontent.com/", "http://fashion-mnist.s3"))
                       for u in (*f.urls, *(u for o in f.originals for u in o.urls))), f.path


def test_published_data_served_as_a_mirror_fetches_what_the_loaders_read(serve, data_dir, tmp_path):
    """The manifest's checksums are those of the files the loaders read (the shared data directory
    is served as the mirror; Fashion-MNIST there is Debian's recompressed copy of Zalando's files)."""
    from raynas.benchmarks import NB201Benchmark
    from raynas.data import load_fashion_mnist
    from raynas.hardware.table import latency_table
    from raynas.predictors.tables import load_space_table

    base, _ = serve(data_dir)
    dest = tmp_path / "data"
    results = datasets.fetch("all", data_dir=dest, mirror=base)
    actions = {r.path: r.action for r in results}
    assert {a for p, a in actions.items() if "LICENSE" not in p} == {"downloaded"}
    assert [s.state for s in datasets.info(dest)] == ["present"] * 3
    bench = NB201Benchmark(data_dir=dest)
    assert len(bench) == 15_625 and "raspi4" in bench.devices
    assert len(load_space_table("fbnet", dest).archs) == 5000 and len(latency_table("ofa", dest)) == 5000
    assert len(load_fashion_mnist(dest, split="test")) == 10_000
    again = datasets.fetch("all", data_dir=dest, mirror=base)
    assert {r.action for r in again} <= {"present", "unavailable"}


@pytest.mark.skipif(not os.environ.get("RAYNAS_TEST_ORIGINALS"),
                    reason="set RAYNAS_TEST_ORIGINALS to a copy of the publishers' files to test the conversion")
def test_the_publishers_originals_convert_to_the_published_files(serve, tmp_path):
    """Every file of the real manifest from its original (GitHub URLs pointed at a local copy)."""
    base, _ = serve(os.environ["RAYNAS_TEST_ORIGINALS"])

    def local(url: str) -> str:  # https://raw.githubusercontent.com/<owner>/<repo>/<commit>/<path>
        owner, repo, commit, rest = urllib.parse.urlparse(url).path.lstrip("/").split("/", 3)
        return f"{base}/{repo}/{rest}"

    def github_only(urls):
        return tuple(local(u) for u in urls if "raw.githubusercontent.com" in u)

    manifest = {name: replace(ds, files=tuple(
        replace(f, urls=github_only(f.urls), originals=tuple(replace(o, urls=github_only(o.urls)) for o in f.originals))
        for f in ds.files)) for name, ds in datasets.MANIFEST.items()}
    dest = tmp_path / "data"
    results = datasets.fetch("all", data_dir=dest, manifest=manifest)
    assert {r.action for r in results} == {"downloaded", "converted"}
    assert all(s.state == "present" and all(f.state == "ok" for f in s.files) for s in datasets.info(dest))


# --- every "not found" names the command that fetches the data ----------------------------------------
def test_loaders_name_the_fetch_command(tmp_path):
    from raynas.benchmarks import NB201Benchmark
    from raynas.data import load_fashion_mnist
    from raynas.hardware.registry import reference_archs
    from raynas.hardware.table import latency_table
    from raynas.predictors.tables import load_space_table

    cases = [(lambda: NB201Benchmark(data_dir=tmp_path), "raynas data fetch nb201"),
             (lambda: latency_table("fbnet", tmp_path), "raynas data fetch latency"),
             (lambda: load_space_table("nb201", tmp_path), "raynas data fetch latency"),
             (lambda: load_fashion_mnist(tmp_path / "nowhere"), "raynas data fetch fashion-mnist"),
             (lambda: load_fashion_mnist(tmp_path), "raynas data fetch fashion-mnist"),
             (lambda: paths.dataset_dir("ofa", tmp_path), "raynas data fetch latency")]
    for call, command in cases:
        with pytest.raises(DataNotFoundError, match=command):
            call()
    (tmp_path / "nb201").mkdir()
    (tmp_path / "nb201/latency_ms.csv").write_text("arch_index,arch_str,gpu\n")
    with pytest.raises(DataNotFoundError, match="raynas data fetch latency"):
        reference_archs("nb201", tmp_path)
    (tmp_path / "nb201/accuracy_cifar10-valid_200ep.csv").write_text("arch_index,arch_str\n")
    with pytest.raises(DataNotFoundError, match="raynas data fetch nb201"):  # lacks its columns
        NB201Benchmark(data_dir=tmp_path)


# --- the command ------------------------------------------------------------------------------------
def test_info_command_names_present_and_missing(tmp_path, capsys):
    nb201 = datasets.MANIFEST["nb201"].files[0]
    assert main(["data", "info", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"data directory: {tmp_path}" in out
    for name in datasets.MANIFEST:
        assert f"{name}: missing" in out and f"raynas data fetch {name}" in out
    (tmp_path / "nb201").mkdir()
    (tmp_path / nb201.path).write_text("not the table\n")
    assert main(["data", "info", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "nb201: corrupt" in out and f"corrupt: {nb201.path}" in out


def test_info_command_on_the_published_data(data_dir, capsys):
    assert main(["data", "info", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "nb201: present" in out and "latency: present" in out and "MIT" in out


def test_fetch_command_exit_codes(serve, tmp_path, capsys):
    assert main(["data", "fetch", "nb201", "--data-dir", str(tmp_path), "--mirror", _closed_port_url()]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("raynas: error: could not download") and "/nb201/accuracy_cifar10-valid_200ep.csv" in err
    with pytest.raises(SystemExit) as exc:
        main(["data", "fetch", "cifar5"])
    assert exc.value.code == 2
    mirror = tmp_path / "mirror"
    (mirror / "nb201").mkdir(parents=True)
    (mirror / "nb201/accuracy_cifar10-valid_200ep.csv").write_text("arch_index,arch_str\n")
    base, _ = serve(mirror)
    proc = subprocess.run([sys.executable, "-m", "raynas.cli", "data", "fetch", "nb201", "--data-dir",
                           str(tmp_path / "d"), "--mirror", base], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("raynas: error:") and datasets.MANIFEST["nb201"].files[0].sha256 in last
    assert not list((tmp_path / "d").rglob("*.csv*"))


def test_fetch_command_from_a_mirror(serve, data_dir, tmp_path, capsys):
    base, _ = serve(data_dir)
    assert main(["data", "fetch", "nb201", "--data-dir", str(tmp_path), "--mirror", base]) == 0
    out = capsys.readouterr().out
    assert "downloaded  nb201/accuracy_cifar10-valid_200ep.csv" in out and f"ready in {tmp_path}" in out
    assert main(["data", "fetch", "nb201", "--data-dir", str(tmp_path), "--mirror", base]) == 0
    assert "present     nb201/accuracy_cifar10-valid_200ep.csv" in capsys.readouterr().out
