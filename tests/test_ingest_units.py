"""Unit tests of the ingest pieces: decoding, normalization, boilerplate, title/dateline, language."""

from __future__ import annotations

import datetime as dt
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.ingest.bundle import BundleLine, BundleStop, read_bundle
from pipeline.ingest.decode import decode_bytes, looks_like_html, sniff_type
from pipeline.ingest.language import guess_english, normalize_language_code
from pipeline.ingest.metadata import parse_date, read_sources_csv
from pipeline.ingest.normalize import Boilerplate, BoilerplatePattern, default_boilerplate, normalize_text
from pipeline.ingest.structure import analyze, find_dateline, reads_as_headline

# --- decoding ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, text, encoding",
    [
        ("Café ’quoted’".encode(), "Café ’quoted’", "utf-8"),
        (b"\xef\xbb\xbfhello", "hello", "utf-8"),
        (b"\xff\xfe" + "héllo".encode("utf-16-le"), "héllo", "utf-16-le"),
        (b"\xfe\xff" + "héllo".encode("utf-16-be"), "héllo", "utf-16-be"),
        ("héllo wörld, plain text".encode("utf-16-le"), "héllo wörld, plain text", "utf-16-le"),  # no BOM
        (
            "Caf\xe9 \u2019quoted\u2019 \u201csaid\u201d \u2013 \u20ac5".encode("cp1252"),
            "Café ’quoted’ “said” – €5",
            "cp1252",
        ),
        ("na\xefve r\xe9sum\xe9 \xa3".encode("latin-1"), "naïve résumé £", "cp1252"),  # latin-1 letters = cp1252
        (b"some\x00 text with\x00\x00 NULs", "some text with NULs", "utf-8"),  # a few NULs are dropped
    ],
)
def test_decode_text(data, text, encoding):
    decoded = decode_bytes(data)
    assert (decoded.text, decoded.encoding) == (text, encoding)


def test_decode_non_latin_legacy_encoding_uses_detection():
    russian = (
        "Правительство Казахстана объявило о новых переговорах с представителями Афганистана "
        "по вопросам торговли и транзита. "
    ) * 3
    decoded = decode_bytes(russian.encode("cp1251"))
    assert decoded.text == russian


@pytest.mark.parametrize("data", [bytes(range(256)) * 4, b"\x00" * 100, b"\x01\x02\x03\x04abc\x05\x06\x07\x08" * 10])
def test_binary_is_not_text(data):
    assert decode_bytes(data).text is None


@pytest.mark.parametrize(
    "data, kind",
    [
        (b"%PDF-1.4\n...", "PDF document"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "PNG image"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG image"),
        (b"GIF89a\x01\x00", "GIF image"),
        (b"PK\x03\x04\x14\x00", "ZIP archive (or DOCX/XLSX/EPUB)"),
        (b"\x80\x04\x95\x00", "Python pickle (not loaded)"),
        (b"<?xml version='1.0'?>\n<svg xmlns='http://www.w3.org/2000/svg'></svg>", "SVG image"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "WebP image"),
    ],
)
def test_sniff_type(data, kind):
    assert sniff_type(data) == kind


@pytest.mark.parametrize("data", [b"Plain article text.", b"BMW said on Monday", b"<p>fragment</p>"])
def test_sniff_type_leaves_text_alone(data):
    assert sniff_type(data) is None


def test_looks_like_html():
    assert looks_like_html("  <!DOCTYPE html><html>")
    assert looks_like_html(b"\xef\xbb\xbf<html lang='en'>")
    assert not looks_like_html("The <html> tag is mentioned in this article.")


# --- normalization ----------------------------------------------------------------------------


def test_normalize_text_rules():
    raw = "\ufeff  Title  \r\nline\x00 one\t \rline two\u2028three\n\n\n\n\nend \x07\n  "
    assert normalize_text(raw) == "Title\nline one\nline two\nthree\n\nend"
    assert normalize_text("e\u0301") == "\u00e9"  # NFC
    assert normalize_text("e\x00\u0301") == "\u00e9"  # a control between them does not block NFC
    assert normalize_text(" \n\t\n") == ""


def test_normalize_keeps_leading_indentation_inside_the_text():
    assert normalize_text("a\n    b") == "a\n    b"


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=200)
    | st.text(alphabet=" \t\r\n\x00\x0b\x0c\x85\u2028\u2029\ufeffae\u0301\u0308\u00a0\u2000.", max_size=60)
)
def test_normalize_text_properties(text):
    out = normalize_text(text)
    assert normalize_text(out) == out  # idempotent: stored offsets never move
    assert "\r" not in out and "\x00" not in out
    assert unicodedata.is_normalized("NFC", out)
    assert out == out.strip()
    assert all(line == line.rstrip() for line in out.split("\n"))
    assert "\n\n\n" not in out
    assert out.splitlines() == out.split("\n") or out == ""  # no other line-break characters


# --- boilerplate ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Para one.\nRead more: Taliban taking 'concrete steps'\nPara two.", "Para one.\nPara two."),
        ("Para one.\nRead also\nPara two.", "Para one.\nPara two."),
        ("Para one.\nREAD ALSO: Iran and Afghanistan sign deal\nPara two.", "Para one.\nPara two."),
        ("Title\n\nPublished\nGeneral news correspondent\nBody.", "Title\n\nBody."),
        (
            "Caption about talks, including Kazakhstan / Photo: Reuters\n\nBody.",
            "Caption about talks, including Kazakhstan\n\nBody.",
        ),
        (
            "Body ends here. All Content by Mehr News Agency is licensed under a Creative Commons "
            "Attribution 4.0 International License.",
            "Body ends here.",
        ),
        (
            "Body.\n                 All Content by Mehr News Agency is licensed under a Creative "
            "Commons Attribution 4.0 International License.",
            "Body.",
        ),
        ("Title\nBy Jane Doe\nBody.", "Title\nBody."),
    ],
)
def test_boilerplate_is_removed(text, expected):
    assert default_boilerplate().strip(normalize_text(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "He said readers should read more about the agreement.",
        "The statement was published on Monday by the ministry.",
        "Published reports say the talks went well.",
        "The correspondent of the agency reported that the meeting was held in Kabul.",
        "Photo opportunities were rare during the visit.",
        "By the end of the year, the two sides had signed a deal.",
    ],
)
def test_article_sentences_are_not_boilerplate(text):
    assert default_boilerplate().strip(text) == text


def test_boilerplate_patterns_are_data():
    custom = Boilerplate(
        [
            BoilerplatePattern("x", "line", "advertisement"),
            BoilerplatePattern("y", "inline", r"\(subscribe\)", case_sensitive=True),
        ]
    )
    assert custom.strip("A.\nAdvertisement\nB (subscribe) C. (SUBSCRIBE)") == "A.\nB C. (SUBSCRIBE)"  # noqa: B005 (Boilerplate.strip, not str.strip)
    with pytest.raises(ValueError):
        Boilerplate([BoilerplatePattern("bad", "line", "(unclosed")])
    with pytest.raises(ValueError):
        Boilerplate([BoilerplatePattern("bad", "sometimes", "x")])


# --- title, date line, dateline ---------------------------------------------------------------


@pytest.mark.parametrize(
    "line, ok",
    [
        ("Afghan envoy pushes for IEA recognition during talks with Kazakh official", True),
        ("What next for Afghanistan?", True),
        ("“Kabul is open,” says minister", True),
        ("The minister arrived in Kabul on Monday.", False),  # final period
        ("Breaking", False),  # one word
        ("KABUL, AFGHANISTAN – Kazakhstan has accepted the credentials", False),  # a dateline opens a body
        ("-01", False),
        ("x " * 40, False),  # too long
    ],
)
def test_reads_as_headline(line, ok):
    assert reads_as_headline(line) is ok


@pytest.mark.parametrize(
    "line, place",
    [
        ("KABUL, AFGHANISTAN – Kazakhstan has accepted", "KABUL, AFGHANISTAN"),
        ("TEHRAN - Islamic Republic of Iran Broadcasting", "TEHRAN"),
        ("TEHRAN (PIN) – The second day of talks", "TEHRAN"),
        ("VIENNA (Reuters) -- The UN nuclear watchdog said", "VIENNA"),
        ("NEW YORK — The UN said", "NEW YORK"),
        ("Two - three people were hurt", None),
        ("The UN - and its agencies - said", None),
        ("Kabul – the capital", None),
    ],
)
def test_find_dateline(line, place):
    assert find_dateline(line) == place


def test_analyze_date_line_title_and_dateline():
    s = analyze("date 2023-12-29 Kazakhstan Removes Taliban from Banned List\n\nIn a significant move, ...")
    assert s.date_marker == dt.date(2023, 12, 29)
    assert s.title == "Kazakhstan Removes Taliban from Banned List"
    text = "date 2023-12-29 Kazakhstan Removes Taliban from Banned List\n\nBody."
    st_ = analyze(text)
    assert text[st_.title_span[0] : st_.title_span[1]] == st_.title
    s = analyze("Headline here\n\nKABUL, AFGHANISTAN – The body starts.")
    assert (s.title, s.dateline) == ("Headline here", "KABUL, AFGHANISTAN")
    s = analyze("KABUL, AFGHANISTAN – One line article without a headline.")
    assert (s.title, s.dateline) == (None, "KABUL, AFGHANISTAN")
    assert analyze("Only a headline").title is None  # no body: not a title
    assert analyze("date 2023-02-30 Bad date headline\nBody.").date_marker is None


# --- language and metadata --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, english",
    [
        ("The minister said that the talks with the Taliban would continue in the next month.", True),
        ("Le ministre a déclaré que les discussions avec les talibans se poursuivraient le mois prochain.", False),
        ("Der Minister sagte, dass die Gespräche mit den Taliban im nächsten Monat fortgesetzt würden.", False),
        ("El ministro dijo que las conversaciones con los talibanes continuarán el próximo mes en Doha.", False),
        ("Министр заявил, что переговоры с талибами продолжатся в следующем месяце.", False),
        ("وزیر گفت که گفتگوها با طالبان ماه آینده ادامه خواهد یافت", False),
        ("Kazakh-Afghan talks", True),  # too short to judge: given the benefit of the doubt
    ],
)
def test_guess_english(text, english):
    assert guess_english(text).is_english is english


def test_language_codes():
    assert [normalize_language_code(v) for v in ["en", "EN-us", "English", "eng", "fr", "xx-yy-zz", "??"]] == [
        "en",
        "en",
        "en",
        "en",
        "fr",
        "xx",
        None,
    ]


@pytest.mark.parametrize(
    "value, date",
    [
        ("2024-08-21", dt.date(2024, 8, 21)),
        ("2024-08-21T10:00:00Z", dt.date(2024, 8, 21)),
        ("2024-08-21 10:00:00+04:30", dt.date(2024, 8, 21)),
        ("Wed, 21 Aug 2024 10:00:00 +0000", dt.date(2024, 8, 21)),
    ],
)
def test_parse_date(value, date):
    assert parse_date(value) == date


@pytest.mark.parametrize("value", ["2024-13-45", "21/08/2024", "yesterday", "1066-10-14", "", "2024-02-30"])
def test_parse_date_rejects(value):
    with pytest.raises(ValueError):
        parse_date(value)


def test_sources_csv_rows(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    text = (
        "file,outlet,published_at,language,extra\n"
        "a.txt,Outlet A,2024-01-02,en,ignored\n"
        "a.txt,Again,,,\n"
        "b.txt,Ghost,,,\n"
        "sub/../../x.txt,Out,,,\n"
        ",,,,\n"
    )
    table = read_sources_csv(text, tmp_path, {"a.txt"})
    line, meta = table.by_file["a.txt"]
    assert (line, meta.outlet, meta.published_at, meta.language) == (2, "Outlet A", dt.date(2024, 1, 2), "en")
    assert [(i.line, i.message.split(";")[0].split(" (")[0]) for i in table.issues] == [
        (3, "second row for the same file"),
        (4, "row refers to a file that does not exist in the raw folder"),
        (5, "path leaves the raw folder"),
    ]
    assert (
        read_sources_csv("outlet,url\nX,Y\n", tmp_path, set()).issues[0].message.startswith("sources.csv has no 'file'")
    )


# --- bundles ----------------------------------------------------------------------------------


def test_read_bundle_limits(tmp_path: Path):
    p = tmp_path / "b.jsonl"
    p.write_bytes(b'{"text": "a"}\n' + b'{"text": "' + b"x" * 5000 + b'"}\n' + b'{"text": "c"}\n')
    items = list(read_bundle(p, max_line_bytes=1000, max_bundle_bytes=10_000))
    assert [(i.line, i.problem_code) for i in items] == [(1, None), (2, "too_large"), (3, None)]
    items = list(read_bundle(p, max_line_bytes=1000, max_bundle_bytes=3000))
    assert isinstance(items[-1], BundleStop) and items[-1].line == 2 and items[-1].code == "bundle_too_large"
    assert isinstance(items[0], BundleLine) and items[0].record == {"text": "a"}


def test_dating_in_two_processes_equals_dating_in_one(monkeypatch):
    """pipeline/ingest/parallel.py splits many texts between this process and a spawned one; the
    dates, in order, are the ones a single process gives."""
    import datetime as dt

    import polars as pl

    from pipeline.ingest import parallel
    from pipeline.text.dates import WEEKDAY_TOKEN_PATTERN, YEAR_TOKEN_PATTERN

    stories = [
        "KABUL (Reuters) - The delegation arrived on Wednesday, August 21, officials said.",
        "Talks began in 2023 and resumed on Monday, March 4.",
        "The ministry said on Friday that the envoy had presented credentials.",
        "ASTANA, Dec 29 - Kazakhstan removed the group from its list.",
        "No date here at all.",
    ]
    texts = [f"{stories[i % len(stories)]} (Item {i}.)" for i in range(60)]
    series = pl.Series(texts)
    years = series.str.extract_all(YEAR_TOKEN_PATTERN).to_list()
    weekdays = series.str.contains(WEEKDAY_TOKEN_PATTERN).to_list()
    monkeypatch.setattr(parallel, "PARALLEL_MIN_TEXTS", 10)
    hints = _fixed_hints
    one = parallel.infer_dates(texts, years, weekdays, hints, workers=1)
    two = parallel.infer_dates(texts, years, weekdays, hints, workers=2)
    assert one == two
    assert any(d[0] is not None for d in one) and any(d[0] is None for d in one)
    assert all(isinstance(d[0], (dt.date, type(None))) for d in two)


def _fixed_hints(text):  # module level: the spawned worker unpickles it by name
    import datetime as dt

    return [dt.date(2021, 8, 15)]
