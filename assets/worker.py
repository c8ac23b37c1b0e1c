"""The Celery app of newsdag's workers: `dagster-celery worker start -A assets.worker`.

dagster-celery's own app and tasks, plus a warm-up: each new worker process loads spaCy's model and GX in
background threads as it starts, so that the first NER chunk or check that lands on it does not pay for them
(~1 s and ~3 s)."""

from celery.signals import worker_process_init
from dagster_celery.app import app, execute_job, execute_plan, resume_job  # noqa: F401  (the tasks it serves)

from checks import gx
from newsdag import ner
from newsdag.settings import Settings


@worker_process_init.connect
def warm_up(**_kwargs) -> None:
    """Start loading the model (NEWSDAG_SPACY_MODEL or the default) and GX in this worker process."""
    ner.preload(Settings.from_env().spacy_model)
    gx.preload()
