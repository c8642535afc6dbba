"""Ingest end to end on hostile raw folders (built in tmp_path) and on the seed articles."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import zlib
from pathlib import Path

import polars as pl
import pytest

from pipeline.ingest.core import IngestLimits, IngestResult, ingest_raw
from schemas.models import ArticleText, Quarantine
from tests.conftest import SEEDS

ENGLISH = (
    "Kazakhstan and Afghanistan held talks in Astana on Monday about trade and transit. "
    "The two delegations said that they would continue their cooperation in the region, "
    "and the ministry added that a new agreement could be signed later this year."
)
HEADLINE = "Kazakh and Afghan officials hold talks in Astana"
FRENCH = (
    "Le gouvernement du Kazakhstan a annoncé lundi une nouvelle série de discussions avec les "
    "représentants afghans sur le commerce régional, selon le ministère des affaires étrangères."
)
# Source newlines and inline tags inside a <p> are not line breaks.
HTML_BODY = ENGLISH.replace(". The two", ".\n  The <a href='x'>two</a>")
SMALL_LIMITS = IngestLimits(
    max_article_chars=1_000_000, max_file_bytes=2_000_000, max_line_bytes=2_000_000, max_bundle_bytes=4_000_000
)


def article(n: int) -> str:
    """A distinct English article (headline + body) per n."""
    return f"{HEADLINE} number {n}\n{ENGLISH} This is report {n}."


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def gzip_bomb(path: Path, first_line: bytes, zero_mb: int) -> None:
    """A .jsonl.gz that expands to ``zero_mb`` MB: one good line, then NUL bytes without a newline.

    One compressed 1 MB member repeated (gzip allows concatenated members), so a "gigabytes" bomb
    is written in milliseconds.
    """
    member = gzip.compress(b"\x00" * (1 << 20))
    with open(path, "wb") as f:
        f.write(gzip.compress(first_line))
        for _ in range(zero_mb):
            f.write(member)


def build_hostile(raw: Path) -> dict[str, str]:
    """Every kind of bad input next to good ones; returns source_file -> expected outcome."""
    expected: dict[str, str] = {}

    def add(name: str, data: bytes | str, outcome: str) -> None:
        write(raw / name, data)
        expected[name] = outcome

    add("good.txt", f"{HEADLINE}\n\nKABUL, AFGHANISTAN – {ENGLISH}\n", "article")
    add("sub/dir/nested article.txt", article(1), "article")
    add("-leading dash.txt", article(2), "article")
    add("ünïcødé 名前.txt", article(3), "article")
    add(
        "cp1252.txt",
        f"Caf\xe9 talks \u2019resume\u2019 in Kabul\n{ENGLISH} \u201cWe agree,\u201d he said.".encode("cp1252"),
        "article",
    )
    add("latin1.txt", f"Na\xefve hopes in Astana\n{ENGLISH} The r\xe9sum\xe9 was \xa3500.".encode("latin-1"), "article")
    add("utf16le.txt", b"\xff\xfe" + article(4).encode("utf-16-le"), "article")
    add("utf16be.txt", b"\xfe\xff" + article(5).encode("utf-16-be"), "article")
    add("utf8bom.txt", b"\xef\xbb\xbf" + article(6).encode(), "article")
    add("nul.txt", article(7).replace("talks", "ta\x00lks").encode() + b"\x00\x00", "article")
    add("crlf.txt", article(8).replace("\n", "\r\n") + "\r\n", "article")
    add(
        "page.html",
        (
            "<!DOCTYPE html><html lang='en'><head><title>Talks | Site</title>"
            "<meta property='og:site_name' content='Example News'>"
            "<meta property='article:published_time' content='2024-08-21T10:00:00Z'>"
            "<script>alert('never run')</script><style>p{}</style></head><body><nav>Home | World</nav>"
            f"<article><h1>{HEADLINE} in HTML</h1><p>{HTML_BODY}</p>"
            "<p>Second <b>paragraph</b> here.</p></article><footer>Copyright</footer></body></html>"
        ),
        "article",
    )
    add("dup_a.txt", article(9), "article")
    add("dup_b.txt", article(9).replace("\n", "\r\n"), "duplicate_text")  # same text once normalized
    add("empty.txt", b"", "empty_file")
    add("blank.txt", " \n\t\r\n  \n", "empty_file")
    add("utf16blank.txt", b"\xff\xfe" + " \n \n".encode("utf-16-le"), "empty_file")
    add("binary.txt", bytes(range(256)) * 40, "binary_file")
    add("report.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "not_article_type")
    add("photo.txt", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "not_article_type")
    add("model.txt", b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00", "not_article_type")
    add("notes.md", "# Notes\nnot an article type", "unsupported_type")
    add("french.txt", FRENCH, "non_english")
    add("boilerplate_only.txt", "Read more: something else\nPublished\n", "only_boilerplate")
    add("one_line.txt", "word " * 300_000, "too_large")  # one 1.5 MB line > 1,000,000 characters
    with open(raw / "huge.txt", "wb") as f:  # 30 MB: only max_file_bytes + 1 are read
        block = (ENGLISH + "\n").encode() * 4000
        while f.tell() < 30_000_000:
            f.write(block)
    expected["huge.txt"] = "too_large"
    add(".hidden.txt", article(10), "hidden_file")
    add(".git/config", "[core]", "hidden_file")
    expected.pop(".git/config")
    expected[".git"] = "hidden_file"

    os.symlink("/etc/hostname", raw / "escape.txt")
    expected["escape.txt"] = "symlink_outside"
    os.symlink(raw / "good.txt", raw / "link_to_good.txt")
    expected["link_to_good.txt"] = "duplicate_text"
    os.symlink(raw / "sub", raw / "sub_link")
    expected["sub_link"] = "symlink_dir"
    os.symlink(raw / "no_such_target.txt", raw / "broken_link.txt")
    expected["broken_link.txt"] = "unreadable"
    os.mkfifo(raw / "pipe.txt")
    expected["pipe.txt"] = "not_regular_file"

    lines = [
        json.dumps(
            {
                "id": 1,
                "text": article(20),
                "title": "Bundle title",
                "url": "https://example.org/1",
                "outlet": "Example Wire",
                "published_at": "2024-08-21",
                "language": "en",
            }
        ),
        '{"id": 2, "text": "broken',
        "[1, 2, 3]",
        json.dumps({"id": 4, "slug": "no-text"}),
        json.dumps({"id": 5, "text": 5}),
        "",
        json.dumps({"id": 7, "text": article(21), "published_at": "21/08/2024"}),
        json.dumps({"id": 8, "text": article(2) + "\r\n"}),  # = "-leading dash.txt", which sorts first
        json.dumps({"id": 9, "text": FRENCH}),
        json.dumps({"id": 10, "text": "   "}),
        "[" * 100_000 + "]" * 100_000,  # deeply nested: must not crash the parser
    ]
    write(raw / "bundles/b.jsonl", "\n".join(lines) + "\n")
    for i, outcome in enumerate(
        [
            "article",
            "broken_json",
            "not_an_object",
            "missing_text",
            "missing_text",
            "blank_line",
            "article",
            "duplicate_text",
            "non_english",
            "empty_text",
            "broken_json",
        ],
        start=1,
    ):
        expected[f"bundles/b.jsonl#L{i}"] = outcome
    write(
        raw / "bundles/c.jsonl.gz",
        gzip.compress("\n".join(json.dumps({"id": i, "text": article(30 + i)}) for i in range(3)).encode()),
    )
    for i in range(1, 4):
        expected[f"bundles/c.jsonl.gz#L{i}"] = "article"
    gzip_bomb(raw / "bundles/bomb.jsonl.gz", (json.dumps({"text": article(40)}) + "\n").encode(), zero_mb=1024)
    expected["bundles/bomb.jsonl.gz#L1"] = "article"
    expected["bundles/bomb.jsonl.gz"] = "bundle_too_large"
    good_gz = gzip.compress("\n".join(json.dumps({"text": article(50 + i)}) for i in range(200)).encode())
    write(raw / "bundles/truncated.jsonl.gz", good_gz[: len(good_gz) // 2])
    expected["bundles/truncated.jsonl.gz"] = "corrupt_bundle"

    write(
        raw / "sources.csv",
        "\n".join(
            [
                "file,outlet,url,published_at,language",
                "good.txt,Khaama Press,https://example.org/good,2024-08-22,en",
                "cp1252.txt,Legacy Daily,,2024-13-45,",
                "missing.txt,Ghost,,2024-01-01,en",
                "../outside.txt,Escape,,,",
                "/etc/passwd,Escape,,,",
                "latin1.txt,,,,",
            ]
        )
        + "\n",
    )
    return expected


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> tuple[Path, dict[str, str], IngestResult]:
    raw = tmp_path_factory.mktemp("hostile") / "raw"
    raw.mkdir()
    expected = build_hostile(raw)
    return raw, expected, ingest_raw(raw, SMALL_LIMITS)


def outcomes(result: IngestResult) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for name in result.articles["source_file"]:
        out.setdefault(name, set()).add("article")
    for name, code in result.quarantine.select("source_file", "reason_code").iter_rows():
        out.setdefault(name, set()).add(code)
    return out


def test_frames_match_the_contracts(hostile):
    _, _, result = hostile
    ArticleText.validate(result.articles)
    Quarantine.validate(result.quarantine)
    assert result.articles.columns == list(ArticleText.to_schema().columns)
    assert result.quarantine.columns == list(Quarantine.to_schema().columns)
    assert result.quarantine["stage"].unique().to_list() == ["ingest"]
    assert result.quarantine["reason"].str.len_chars().min() > 10


def test_every_input_has_its_expected_outcome(hostile):
    _, expected, result = hostile
    got = outcomes(result)
    wrong = {name: (want, got.get(name)) for name, want in expected.items() if want not in got.get(name, set())}
    assert wrong == {}
    # Nothing unexpected: every row is about a known input (sources.csv rows are metadata issues).
    unexpected = {n: g for n, g in got.items() if n not in expected and n != "sources.csv"}
    truncated_lines = {n: g for n, g in unexpected.items() if n.startswith("bundles/truncated.jsonl.gz#L")}
    assert truncated_lines and all(g == {"article"} for g in truncated_lines.values())
    assert set(unexpected) == set(truncated_lines)


def test_every_file_on_disk_is_accounted_for(hostile):
    raw, _, result = hostile
    named = set(outcomes(result))
    bundle_files = {n.split("#L")[0] for n in named if "#L" in n}
    for dirpath, dirnames, filenames in os.walk(raw):
        rel_dir = Path(dirpath).relative_to(raw)
        if any(part.startswith(".") for part in rel_dir.parts):
            continue
        for name in filenames + [d for d in dirnames if d.startswith(".") or os.path.islink(Path(dirpath) / d)]:
            rel = (rel_dir / name).as_posix()
            assert rel in named or rel in bundle_files or rel == "sources.csv", rel


def test_decoded_texts_are_right(hostile):
    _, _, result = hostile
    text = dict(zip(result.articles["source_file"], result.articles["text"]))
    assert text["cp1252.txt"].startswith("Café talks ’resume’ in Kabul\n")
    assert "“We agree,” he said." in text["cp1252.txt"]
    assert "Naïve hopes" in text["latin1.txt"] and "résumé was £500" in text["latin1.txt"]
    assert text["utf16le.txt"] == article(4)
    assert text["utf16be.txt"] == article(5)
    assert text["utf8bom.txt"] == article(6)
    assert text["nul.txt"] == article(7)
    assert text["crlf.txt"] == article(8)
    for t in text.values():
        assert "\r" not in t and "\x00" not in t and "\ufeff" not in t


def test_html_page_is_extracted_without_scripts_or_furniture(hostile):
    _, _, result = hostile
    row = result.articles.filter(pl.col("source_file") == "page.html").row(0, named=True)
    assert row["text"].split("\n") == [f"{HEADLINE} in HTML", ENGLISH, "Second paragraph here."]
    assert row["title"] == f"{HEADLINE} in HTML"
    assert row["outlet"] == "Example News"
    assert (row["published_at"], row["published_basis"]) == (dt.date(2024, 8, 21), "metadata")


def test_metadata_from_sources_csv_and_bad_rows(hostile):
    _, _, result = hostile
    arts = {r["source_file"]: r for r in result.articles.iter_rows(named=True)}
    good = arts["good.txt"]
    assert (good["outlet"], good["url"], good["published_at"], good["published_basis"]) == (
        "Khaama Press",
        "https://example.org/good",
        dt.date(2024, 8, 22),
        "metadata",
    )
    assert good["title"] == HEADLINE and good["dateline"] == "KABUL, AFGHANISTAN"
    # The bad date is reported, and the article is still ingested without it.
    assert arts["cp1252.txt"]["outlet"] == "Legacy Daily"
    assert arts["cp1252.txt"]["published_basis"] != "metadata"
    bad = result.quarantine.filter(pl.col("reason_code") == "bad_metadata")
    csv_rows = bad.filter(pl.col("source_file") == "sources.csv")
    assert sorted(csv_rows["line"].to_list()) == [3, 4, 5, 6]
    by_line = dict(zip(csv_rows["line"], csv_rows["reason"]))
    assert "date" in by_line[3] and "does not exist" in by_line[4]
    assert "leaves the raw folder" in by_line[5] and "leaves the raw folder" in by_line[6]
    assert csv_rows.filter(pl.col("line") == 3)["record_id"][0] == arts["cp1252.txt"]["article_id"]
    # A bad date on a bundle line: same treatment.
    assert bad.filter(pl.col("source_file") == "bundles/b.jsonl#L7").height == 1
    assert arts["bundles/b.jsonl#L7"]["published_basis"] != "metadata"


def test_bundle_fields_and_line_names(hostile):
    _, _, result = hostile
    row = result.articles.filter(pl.col("source_file") == "bundles/b.jsonl#L1").row(0, named=True)
    assert (row["title"], row["url"], row["outlet"], row["published_at"], row["language"]) == (
        "Bundle title",
        "https://example.org/1",
        "Example Wire",
        dt.date(2024, 8, 21),
        "en",
    )
    q = result.quarantine.filter(pl.col("source_file").str.starts_with("bundles/b.jsonl#"))
    assert all(f"#L{line}" in name for name, line in q.select("source_file", "line").iter_rows())


def test_duplicates_point_at_the_kept_article(hostile):
    _, _, result = hostile
    dups = result.quarantine.filter(pl.col("reason_code") == "duplicate_text")
    pairs = dict(zip(dups["source_file"], dups["duplicate_of"]))
    assert pairs == {
        "dup_b.txt": "dup_a.txt",
        "link_to_good.txt": "good.txt",
        "bundles/b.jsonl#L8": "-leading dash.txt",
    }
    kept = dict(zip(result.articles["source_file"], result.articles["article_id"]))
    assert all(rid == kept[pairs[name]] for name, rid in zip(dups["source_file"], dups["record_id"]))
    assert result.articles["article_id"].is_unique().all()


def test_limits_are_stated_in_the_rows(hostile):
    _, _, result = hostile
    q = {r["source_file"]: r for r in result.quarantine.iter_rows(named=True)}
    assert "2,000,001" in q["huge.txt"]["detail"]  # read at most max_file_bytes + 1
    bomb = q["bundles/bomb.jsonl.gz"]
    assert "4,000,000" in bomb["reason"] and bomb["line"] == 2
    assert q["bundles/truncated.jsonl.gz"]["line"] >= 1
    # Lines before the corruption were kept.
    assert result.articles["source_file"].str.starts_with("bundles/truncated.jsonl.gz#L").sum() >= 1


def test_ids_hashes_and_lengths(hostile):
    import hashlib

    _, _, result = hostile
    for r in result.articles.iter_rows(named=True):
        digest = hashlib.sha256(r["text"].encode()).hexdigest()
        assert r["sha256"] == digest and r["article_id"] == "a" + digest[:16]
        assert r["n_chars"] == len(r["text"])


def test_deterministic(hostile):
    raw, _, result = hostile
    again = ingest_raw(raw, SMALL_LIMITS)
    assert again.articles.equals(result.articles)
    assert again.quarantine.equals(result.quarantine)


def test_default_limits_stop_a_gigabyte_bomb_early(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    gzip_bomb(raw / "bomb.jsonl.gz", (json.dumps({"text": article(1)}) + "\n").encode(), zero_mb=3 * 1024)
    limits = IngestLimits(max_bundle_bytes=64 * 1024 * 1024)
    result = ingest_raw(raw, limits)
    assert result.articles["source_file"].to_list() == ["bomb.jsonl.gz#L1"]
    row = result.quarantine.row(0, named=True)
    assert row["reason_code"] == "bundle_too_large" and "67,108,864" in row["reason"]


def test_seed_articles(seed_raw):
    result = ingest_raw(seed_raw)
    ArticleText.validate(result.articles)
    assert result.quarantine.height == 0
    arts = {r["source_file"][:3]: r for r in result.articles.iter_rows(named=True)}
    assert sorted(arts) == ["000", "001", "002", "003", "004"]
    assert arts["000"]["title"] is None and arts["000"]["dateline"] == "KABUL, AFGHANISTAN"
    assert arts["001"]["title"] == "Afghan envoy pushes for IEA recognition during talks with Kazakh official"
    assert arts["002"]["title"] == "Kazakhstan removes Taliban from designated terror groups list"
    assert arts["003"]["title"] == "Kazakhstan Removes Taliban from Banned List: A Shift in Diplomatic Relations"
    assert (arts["003"]["published_at"], arts["003"]["published_basis"]) == (dt.date(2023, 12, 29), "text")
    assert arts["004"]["title"] == "Kazakhstan to exclude Taliban from its list of prohibited organizations"
    # Titles stay inside the stored text (sentence 0 for the extractor).
    for r in arts.values():
        if r["title"]:
            assert r["title"] in r["text"].split("\n")[0]
    # Boilerplate is gone, the sentences around it are not.
    t2, t4 = arts["002"]["text"], arts["004"]["text"]
    assert "Read more:" not in t2 and "Afghanistan re-integration" in t2
    assert "\nPublished\n" not in t4 and "correspondent" not in t4 and "Photo: Reuters" not in t4
    assert "including Kazakhstan\n" in t4  # the caption sentence stays, its credit goes
    assert "In 2005, the Supreme Court of Kazakhstan declared the Taliban movement a terrorist organization" in t4
    for p in SEEDS.glob("*.txt"):  # every sentence of the seed survives (modulo whitespace)
        for line in p.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith(("Read more:", "Read also", "Published", "General news")):
                assert line.replace(" / Photo: Reuters", "") in arts[p.name[:3]]["text"], line


def test_symlinked_raw_folder_itself_is_followed(tmp_path, seed_raw):
    link = tmp_path / "raw_link"
    link.symlink_to(seed_raw, target_is_directory=True)
    assert ingest_raw(link).articles.height == 5


def test_publication_hints_reach_the_date_inference(seed_raw, monkeypatch):
    from pipeline.ingest import parallel
    from pipeline.text import dates

    seen = []

    def fake_infer(text, hints=(), **bulk_tokens):
        seen.append(tuple(hints))
        return dates.PublicationDate(None, "unknown", dt.date(2024, 1, 1))

    monkeypatch.setattr(parallel, "infer_publication_date", fake_infer)
    result = ingest_raw(seed_raw, publication_hints=lambda text: [dt.date(2021, 8, 15)])
    assert seen and all(h == (dt.date(2021, 8, 15),) for h in seen)
    assert len(seen) == 4  # 003 has its own date line: no inference needed
    unknown = result.articles.filter(pl.col("published_basis") == "unknown")
    assert unknown["published_after"].to_list() == [dt.date(2024, 1, 1)] * 4


def test_unreadable_corrupt_sources_csv_does_not_stop_ingest(tmp_path):
    raw = tmp_path / "raw"
    write(raw / "a.txt", article(1))
    write(raw / "sources.csv", b"\x89PNG\r\n\x1a\n\x00\x00")
    result = ingest_raw(raw)
    assert result.articles.height == 1
    assert result.quarantine["reason_code"].to_list() == ["bad_metadata"]


def test_zlib_error_midstream_is_reported(tmp_path):
    raw = tmp_path / "raw"
    good = zlib.compress(b"x")  # a zlib stream is not a gzip file
    write(raw / "notgzip.jsonl.gz", good)
    result = ingest_raw(raw)
    assert result.quarantine["reason_code"].to_list() == ["corrupt_bundle"]


# ../shared beside the project (as on CI and the developers' machines).
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "tehran_times" / "articles.jsonl.gz"


@pytest.mark.skipif(not CORPUS.exists(), reason="Tehran Times corpus not available")
def test_tehran_times_sample(tmp_path):
    """200 lines spread over the real corpus: all accounted for, licence footer gone, datelines found."""
    raw = tmp_path / "raw"
    raw.mkdir()
    with gzip.open(CORPUS, "rb") as src:
        lines = [line for i, line in enumerate(src) if i % 168 == 0][:200]
    (raw / "tt.jsonl.gz").write_bytes(gzip.compress(b"".join(lines)))
    result = ingest_raw(raw)
    named = set(result.articles["source_file"]) | set(result.quarantine["source_file"])
    assert named == {f"tt.jsonl.gz#L{i}" for i in range(1, 201)}
    assert result.articles.height >= 195
    assert not result.articles["text"].str.contains("Creative Commons").any()
    assert not result.articles["text"].str.contains("\r").any()
    assert (result.articles["dateline"] == "TEHRAN").sum() > 50
    ArticleText.validate(result.articles)


def test_missing_raw_folder_is_a_configuration_error(tmp_path):
    with pytest.raises(NotADirectoryError):
        ingest_raw(tmp_path / "nope")


def test_file_name_that_is_not_utf8(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    fd = os.open(os.fsencode(raw) + b"/caf\xe9.txt", os.O_WRONLY | os.O_CREAT)
    os.write(fd, article(1).encode())
    os.close(fd)
    result = ingest_raw(raw)
    assert result.articles["source_file"].to_list() == ["caf\\xe9.txt"]


def test_collected_at_from_sources_csv_caps_publication(tmp_path):
    """sources.csv's collected_at (issue 16): a bundle's row gives every line its collection date;
    a file's row too; a stated publication date after it is reported and dropped; a text whose
    stated dates pass it gets no date and no lower bound past it."""
    raw = tmp_path / "raw"
    lines = [
        {"id": 1, "text": article(1) + " The talks were held in March 2024 in Tehran."},
        {"id": 2, "text": article(2) + " The talks were held in March 2021 in Tehran."},
    ]
    write(raw / "bundle.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n")
    write(raw / "late.txt", article(3))
    write(raw / "fine.txt", article(4))
    write(
        raw / "sources.csv",
        "file,published_at,collected_at\n"
        "bundle.jsonl,,2023-07-08\n"
        "late.txt,2024-01-02,2023-07-08\n"
        "fine.txt,2023-01-02,2023-07-08\n",
    )
    result = ingest_raw(raw, SMALL_LIMITS)
    arts = {r["source_file"]: r for r in result.articles.iter_rows(named=True)}
    assert {a["collected_at"] for a in arts.values()} == {dt.date(2023, 7, 8)}
    assert arts["bundle.jsonl#L1"]["published_at"] is None and arts["bundle.jsonl#L1"]["published_after"] is None
    assert arts["bundle.jsonl#L2"]["published_after"] == dt.date(2021, 3, 1)
    assert arts["late.txt"]["published_at"] is None and arts["late.txt"]["published_basis"] != "metadata"
    assert arts["fine.txt"]["published_at"] == dt.date(2023, 1, 2)
    issues = result.quarantine.filter(pl.col("reason_code") == "bad_metadata")
    late = issues.filter(pl.col("reason").str.contains("after the input's collected_at"))
    assert late.height == 1 and late["record_id"].to_list() == [arts["late.txt"]["article_id"]]
    # The bundle's row applies; it is not reported as ignored.
    assert not issues["reason"].str.contains("row refers to a bundle").any()
    # Without the row, nothing caps the lower bound the past date gives.
    write(raw / "sources.csv", "file,outlet\nfine.txt,X\n")
    again = {r["source_file"]: r for r in ingest_raw(raw, SMALL_LIMITS).articles.iter_rows(named=True)}
    assert again["bundle.jsonl#L1"]["published_after"] == dt.date(2024, 3, 1)
    assert again["bundle.jsonl#L1"]["collected_at"] is None
