"""Downloads against a local HTTP server on 127.0.0.1 serving fixture archives built in tmp_path."""

from __future__ import annotations

import http.server
import io
import shutil
import tarfile
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from rntk_bench.cli import app
from rntk_bench.data import load_dataset
from rntk_bench.data.checksums import verify_data_dir
from rntk_bench.data.fetch import RECORD_NAME, fetch, fetch_uci, fetch_ucr
from rntk_bench.errors import DatasetError

FIXTURES = Path(__file__).parent / "data"


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves files from ``self.server.files``; ``/cut/<name>`` promises the whole file and sends half."""

    def do_GET(self):
        files = self.server.files
        cut = self.path.startswith("/cut/")
        name = self.path.removeprefix("/cut/").lstrip("/")
        if name not in files:
            self.send_error(404)
            return
        body = files[name]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if cut else body)
        self.wfile.flush()
        if cut:
            self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.files = {}
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield httpd, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def zip_bytes(files: dict[str, Path]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for arcname, path in files.items():
            z.write(path, arcname)
    return buffer.getvalue()


def tar_bytes(folders: dict[str, Path]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as t:
        for arcname, path in folders.items():
            t.add(path, arcname)
    return buffer.getvalue()


def tinyts_zip() -> bytes:
    folder = FIXTURES / "UCRArchive_2018" / "TinyTs"
    return zip_bytes({f"TinyTs/TinyTs_{p}.ts": folder / f"TinyTs_{p}.ts" for p in ("TRAIN", "TEST")})


def leftovers(root: Path) -> list[Path]:
    return list(root.glob(".rntk-fetch-*"))


def test_fetch_ucr_installs_a_checked_dataset(server, tmp_path):
    httpd, url = server
    httpd.files["TinyTs.zip"] = tinyts_zip()
    calls = []
    folder = fetch_ucr("TinyTs", tmp_path, base_url=url, progress=lambda *a: calls.append(a))
    assert folder == tmp_path / "UCRArchive_2018" / "TinyTs"
    assert sorted(p.name for p in folder.iterdir()) == ["SHA256SUMS", "TinyTs_TEST.ts", "TinyTs_TRAIN.ts"]
    fetched, fixture = load_dataset("TinyTs", tmp_path), load_dataset("TinyTs", FIXTURES)
    np.testing.assert_array_equal(fetched.X, fixture.X)
    assert calls and calls[-1][1] == calls[-1][2] == len(httpd.files["TinyTs.zip"])
    assert verify_data_dir(tmp_path).ok
    assert "ucr/TinyTs.zip" in (tmp_path / RECORD_NAME).read_text()
    assert not leftovers(tmp_path)


def test_interrupted_download_leaves_nothing(server, tmp_path):
    httpd, url = server
    httpd.files["TinyTs.zip"] = tinyts_zip()
    with pytest.raises(DatasetError, match=r"interrupted .*nothing was installed"):
        fetch_ucr("TinyTs", tmp_path, base_url=f"{url}/cut")
    assert not (tmp_path / "UCRArchive_2018" / "TinyTs").exists()
    assert not leftovers(tmp_path)
    assert not (tmp_path / RECORD_NAME).exists()


def test_http_error_is_reported(server, tmp_path):
    _, url = server
    with pytest.raises(DatasetError, match=r"NoSuchSet\.zip failed: HTTP 404"):
        fetch_ucr("NoSuchSet", tmp_path, base_url=url)
    assert not (tmp_path / "UCRArchive_2018" / "NoSuchSet").exists()


def test_corrupt_archive_is_refused(server, tmp_path):
    httpd, url = server
    httpd.files["TinyTs.zip"] = b"this is not a zip file at all" * 10
    with pytest.raises(DatasetError, match=r"corrupt archive"):
        fetch_ucr("TinyTs", tmp_path, base_url=url)
    assert not (tmp_path / "UCRArchive_2018").exists() or not any((tmp_path / "UCRArchive_2018").iterdir())


def test_archive_with_bad_data_is_not_installed(server, tmp_path):
    httpd, url = server
    bad = tmp_path / "bad"
    shutil.copytree(FIXTURES / "UCRArchive_2018" / "TinyTs", bad)
    text = (bad / "TinyTs_TRAIN.ts").read_text().replace("-5.0:2", "-5.0:7")
    (bad / "TinyTs_TRAIN.ts").write_text(text)
    httpd.files["TinyTs.zip"] = zip_bytes({f"TinyTs_{p}.ts": bad / f"TinyTs_{p}.ts" for p in ("TRAIN", "TEST")})
    data = tmp_path / "data"
    with pytest.raises(DatasetError, match=r"class label '7' is not declared"):
        fetch_ucr("TinyTs", data, base_url=url)
    assert not (data / "UCRArchive_2018" / "TinyTs").exists()


def test_changed_archive_fails_the_first_use_checksum(server, tmp_path):
    httpd, url = server
    httpd.files["TinyTs.zip"] = tinyts_zip()
    fetch_ucr("TinyTs", tmp_path, base_url=url)
    folder = FIXTURES / "UCRArchive_2018" / "TinyTs"
    httpd.files["TinyTs.zip"] = zip_bytes({f"X/TinyTs_{p}.ts": folder / f"TinyTs_{p}.ts" for p in ("TRAIN", "TEST")})
    with pytest.raises(DatasetError, match=r"differs from the one recorded at the first download"):
        fetch_ucr("TinyTs", tmp_path, base_url=url, force=True)
    assert load_dataset("TinyTs", tmp_path).info.n_cases == 5  # the first install is intact


def test_fetch_named_ucr_dataset_checks_metadata(server, tmp_path, shared_datasets):
    httpd, url = server
    folder = shared_datasets / "UCRArchive_2018" / "Beef"
    httpd.files["Beef.zip"] = zip_bytes({f"Beef_{p}.tsv": folder / f"Beef_{p}.tsv" for p in ("TRAIN", "TEST")})
    result = fetch("Beef", tmp_path, ucr_url=url)
    assert result.installed == ["Beef"] and not result.failed
    assert load_dataset("Beef", tmp_path).info.n_cases == 60
    assert fetch("Beef", tmp_path, ucr_url=url).present == ["Beef"]  # no second download


def test_fetch_uci_archive(server, tmp_path, shared_datasets):
    httpd, url = server
    broken = tmp_path / "broken"
    shutil.copytree(FIXTURES / "fernandez-delgado" / "toy", broken)
    for path in broken.iterdir():
        path.rename(broken / path.name.replace("toy", "broken"))
    text = (broken / "broken.txt").read_text().replace("toy_R.dat", "broken_R.dat")
    (broken / "broken.txt").write_text(text)
    (broken / "conxuntos.dat").write_text("0 1 2 3\n4 5 6 99\n")
    httpd.files["data.tar.gz"] = tar_bytes({
        "data/lenses": shared_datasets / "fernandez-delgado" / "lenses",
        "data/toy": FIXTURES / "fernandez-delgado" / "toy",
        "data/broken": broken,
    })
    data = tmp_path / "data"
    result = fetch_uci(data, url=f"{url}/data.tar.gz")
    assert sorted(result.installed) == ["lenses", "toy"]
    assert list(result.failed) == ["broken"] and "index 99 out of range" in result.failed["broken"]
    assert not (data / "fernandez-delgado" / "broken").exists()
    lenses = load_dataset("lenses", data)
    np.testing.assert_array_equal(lenses.X, load_dataset("lenses", shared_datasets).X)
    assert verify_data_dir(data).ok
    again = fetch("lenses", data, uci_url=f"{url}/data.tar.gz")
    assert again.present == ["lenses"] and not again.installed


def test_fetch_uci_name_mismatching_the_table_is_refused(server, tmp_path):
    httpd, url = server
    fake = tmp_path / "abalone"
    shutil.copytree(FIXTURES / "fernandez-delgado" / "toy", fake)
    for path in fake.iterdir():
        path.rename(fake / path.name.replace("toy", "abalone"))
    (fake / "abalone.txt").write_text((fake / "abalone.txt").read_text().replace("toy_R.dat", "abalone_R.dat"))
    httpd.files["data.tar.gz"] = tar_bytes({"abalone": fake})
    data = tmp_path / "data"
    result = fetch("abalone", data, uci_url=f"{url}/data.tar.gz")
    assert "does not match its metadata" in result.failed["abalone"]
    assert not (data / "fernandez-delgado" / "abalone").exists()


def test_fetch_embedded_suite_needs_no_network(tmp_path):
    result = fetch("demo", tmp_path, ucr_url="http://127.0.0.1:9/unreachable", uci_url="http://127.0.0.1:9/x")
    assert len(result.present) == 9 and not result.installed and not result.failed


def test_cli_fetch_list_verify(server, tmp_path, monkeypatch, shared_datasets):
    httpd, url = server
    folder = shared_datasets / "UCRArchive_2018" / "Beef"
    httpd.files["Beef.zip"] = zip_bytes({f"Beef_{p}.tsv": folder / f"Beef_{p}.tsv" for p in ("TRAIN", "TEST")})
    monkeypatch.setenv("RNTK_BENCH_UCR_URL", url)
    runner = CliRunner()
    data = str(tmp_path / "data")
    result = runner.invoke(app, ["datasets", "fetch", "Beef", "--data-dir", data])
    assert result.exit_code == 0, result.output
    assert "installed 1" in result.output
    listing = runner.invoke(app, ["datasets", "list", "--suite", "ucr-small", "--data-dir", data])
    assert listing.exit_code == 0
    line = next(l for l in listing.output.splitlines() if l.startswith("Beef "))
    assert line.split()[-1] == "available" and line.split()[2:4] == ["30", "30"]
    assert "30 datasets" in listing.output
    verify = runner.invoke(app, ["datasets", "verify", "--data-dir", data])
    assert verify.exit_code == 0 and "2 files match, 0 bad" in verify.output
    (tmp_path / "data" / "UCRArchive_2018" / "Beef" / "Beef_TEST.tsv").write_text("1\t2\n")
    verify = runner.invoke(app, ["datasets", "verify", "--data-dir", data])
    assert verify.exit_code == 1


def test_cli_fetch_interrupted_exits_1(server, tmp_path, monkeypatch):
    httpd, url = server
    httpd.files["Beef.zip"] = tinyts_zip()
    monkeypatch.setenv("RNTK_BENCH_UCR_URL", f"{url}/cut")
    result = CliRunner().invoke(app, ["datasets", "fetch", "Beef", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "interrupted" in result.output
    assert not (tmp_path / "UCRArchive_2018" / "Beef").exists()


def test_cli_info_and_errors(tmp_path):
    runner = CliRunner()
    info = runner.invoke(app, ["datasets", "info", "JapaneseVowels", "--data-dir", str(tmp_path)])
    assert info.exit_code == 0 and "train-test: train 270, test 370" in info.output
    missing = runner.invoke(app, ["datasets", "info", "abalone", "--data-dir", str(tmp_path)])
    assert missing.exit_code == 0 and "rntk-bench datasets fetch abalone" in missing.output
    unknown = runner.invoke(app, ["datasets", "info", "Gunpoint"])
    assert unknown.exit_code == 1 and "did you mean 'GunPoint'" in unknown.output
    bad_suite = runner.invoke(app, ["datasets", "list", "--suite", "nope"])
    assert bad_suite.exit_code == 1 and "unknown suite 'nope'" in bad_suite.output


def test_fetch_refuses_a_broken_copy_unless_forced(server, tmp_path):
    httpd, url = server
    httpd.files["TinyTs.zip"] = tinyts_zip()
    folder = tmp_path / "UCRArchive_2018" / "TinyTs"
    folder.mkdir(parents=True)
    shutil.copy(FIXTURES / "UCRArchive_2018" / "TinyTs" / "TinyTs_TRAIN.ts", folder)
    result = fetch("TinyTs", tmp_path, ucr_url=url)
    assert not result.installed and not result.present
    assert str(folder / "TinyTs_TEST.ts") in result.failed["TinyTs"] and "--force" in result.failed["TinyTs"]
    assert sorted(p.name for p in folder.iterdir()) == ["TinyTs_TRAIN.ts"]  # left as it was
    forced = fetch("TinyTs", tmp_path, ucr_url=url, force=True)
    assert forced.installed == ["TinyTs"] and not forced.failed
    assert load_dataset("TinyTs", tmp_path).info.n_cases == 5


def test_fetch_without_embedded_copies_downloads_a_bundled_set(server, tmp_path):
    httpd, url = server
    httpd.files["GunPoint.zip"] = tinyts_zip()  # the wrong data: the metadata check refuses it
    assert fetch("GunPoint", tmp_path, ucr_url=url).present == ["GunPoint"]
    result = fetch("GunPoint", tmp_path, ucr_url=url, embedded=False)
    assert list(result.failed) == ["GunPoint"] and "GunPoint.zip" in result.failed["GunPoint"]
    sklearn_only = fetch("iris", tmp_path, ucr_url=url, embedded=False)
    assert "scikit-learn" in sklearn_only.failed["iris"]
