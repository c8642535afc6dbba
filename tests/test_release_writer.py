"""The release writer: CSV safety, atomic publishing, recovery from a killed build."""

from __future__ import annotations

import datetime as dt

import polars as pl

from pipeline.release.files import csv_frame
from pipeline.release.publish import recover
from pipeline.releases import read_latest, releases_dir, verify_release


def test_formula_cells_are_neutralized_in_csv_only():
    df = pl.DataFrame(
        {"quote": ["=HYPERLINK(1)", "+1", "-2", "@x", "\tTab", "\rCR", "plain"], "n": [1, 2, 3, 4, 5, 6, -7]}
    )
    out = csv_frame(df)
    assert out["quote"].to_list() == ["'=HYPERLINK(1)", "'+1", "'-2", "'@x", "'\tTab", "'\rCR", "plain"]
    assert out["n"].to_list() == [1, 2, 3, 4, 5, 6, -7]  # numbers are not text cells
    assert df["quote"][0] == "=HYPERLINK(1)"  # the frame (and so the Parquet) keeps the exact text


def test_lists_are_joined_with_semicolons():
    df = pl.DataFrame({"ids": [["a", "b"], []]})
    assert csv_frame(df)["ids"].to_list() == ["a;b", ""]


def _fake_release(root, version, content=b"x"):
    folder = releases_dir(root) / version
    folder.mkdir(parents=True)
    (folder / "events.csv").write_bytes(content)
    (folder / "release_manifest.json").write_text("{}")
    import hashlib

    sums = "".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n" for p in sorted(folder.iterdir()))
    (folder / "SHA256SUMS").write_text(sums)
    return folder


def test_recover_removes_leftovers_and_promotes_a_complete_release(tmp_path):
    _fake_release(tmp_path, "2026.01.01")
    (releases_dir(tmp_path) / "LATEST").write_text("2026.01.01\n")
    (releases_dir(tmp_path) / ".tmp-2026.01.02-abcd").mkdir()
    newer = _fake_release(tmp_path, "2026.01.02")  # renamed into place, killed before LATEST moved
    actions = recover(tmp_path)
    assert not (releases_dir(tmp_path) / ".tmp-2026.01.02-abcd").exists()
    assert read_latest(tmp_path) == "2026.01.02"
    assert verify_release(newer) == []
    assert any("LATEST moved" in a for a in actions)


def test_recover_drops_an_unverified_newer_release(tmp_path):
    _fake_release(tmp_path, "2026.01.01")
    (releases_dir(tmp_path) / "LATEST").write_text("2026.01.01\n")
    bad = _fake_release(tmp_path, "2026.01.02")
    (bad / "events.csv").write_bytes(b"tampered")
    recover(tmp_path)
    assert not bad.exists()
    assert read_latest(tmp_path) == "2026.01.01"


def test_verify_release_detects_a_changed_file(tmp_path):
    folder = _fake_release(tmp_path, "2026.01.01")
    assert verify_release(folder) == []
    (folder / "events.csv").write_bytes(b"changed")
    assert verify_release(folder) == ["events.csv: checksum mismatch"]


def test_inputs_sha256_is_the_hash_of_the_sorted_lines():
    import hashlib

    from pipeline.release.provenance import inputs_sha256

    articles = pl.DataFrame(
        {
            "sha256": ["b" * 64, "a" * 64, "a" * 64, "é", "Z"],
            "source_file": ["x/é.txt", "x/ä.txt", "x/a.txt", "日本", "\U0001f600"],
        }
    )
    quarantine = pl.DataFrame(
        {
            "source_file": ["q.txt", "p.txt"],
            "line": [None, 3],
            "stage": ["ingest", "validate"],
            "reason_code": ["binary_file", "schema_error"],
        }
    )
    h = hashlib.sha256()
    for sha, src in sorted(articles.iter_rows()):
        h.update(f"{sha} {src}\n".encode())
    h.update(f"{('q.txt', None, 'binary_file')}\n".encode())
    assert inputs_sha256(articles, quarantine) == h.hexdigest()
    assert inputs_sha256(articles.reverse(), quarantine) == h.hexdigest()


def test_files_written_from_memory_match_their_digests(tmp_path):
    import hashlib

    from pipeline.release.files import csv_bytes, frame_fingerprint, write_table

    df = pl.DataFrame(
        {
            "quote": ["=x", "a,b", 'say "hi"', None],
            "ids": [["a", "b"], [], None, ["c"]],
            "d": [None, dt.date(2024, 1, 2), None, None],
            "n": [1, 2, 3, 4],
        }
    )
    digests: dict = {}
    paths = write_table(df, tmp_path, "t", digests=digests)
    for p in paths:
        data = p.read_bytes()
        assert digests[p.name] == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert (tmp_path / "t.csv").read_bytes() == csv_bytes(df)
    assert pl.read_parquet(tmp_path / "t.parquet").equals(df)
    assert frame_fingerprint(df) == frame_fingerprint(df, csv_bytes(df))
