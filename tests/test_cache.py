"""The stage cache helper (pipeline/cache.py): fingerprints that glob their folders, a folder per
stage and fingerprint, and a sweep that removes only the stage's own older fingerprints."""

from __future__ import annotations

from pipeline.cache import StageCache, source_fingerprint


def test_a_new_module_changes_the_fingerprint_without_being_listed(tmp_path):
    package = tmp_path / "stage"
    (package / "sub").mkdir(parents=True)
    (package / "core.py").write_text("X = 1\n")
    (package / "notes.md").write_text("docs are not code\n")
    before = source_fingerprint(package)
    assert before == source_fingerprint(package)
    (package / "notes.md").write_text("edited docs\n")
    assert source_fingerprint(package) == before  # only code and data count
    (package / "sub" / "new_module.py").write_text("Y = 2\n")
    added = source_fingerprint(package)
    assert added != before
    (package / "sub" / "new_module.py").rename(package / "sub" / "renamed.py")
    assert source_fingerprint(package) != added  # a rename is a change
    assert source_fingerprint(package, salt="v2") != source_fingerprint(package, salt="v1")


def test_each_stage_sweeps_only_its_own_older_fingerprints(tmp_path):
    old_extract = StageCache(tmp_path, "extract", "0" * 64)
    bucket = StageCache(tmp_path, "extract", "0" * 64, part="buckets/b3")
    dedup = StageCache(tmp_path, "dedup", "1" * 64)
    for cache in (old_extract, bucket, dedup):
        with cache.locked():
            cache.file("data.parquet").write_bytes(b"x")
    current = StageCache(tmp_path, "extract", "a" * 64)
    with current.locked():
        current.file("data.parquet").write_bytes(b"y")
        current.sweep()
    assert not old_extract.dir.exists()
    assert current.file("data.parquet").is_file()
    assert bucket.file("data.parquet").is_file()  # a part's folder is not a fingerprint
    assert dedup.file("data.parquet").is_file()  # another stage's cache is never touched
    assert (tmp_path / "extract" / ".lock").exists()
