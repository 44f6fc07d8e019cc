"""gunicorn reads this file from the directory it starts in (the Dockerfile's too).

Before any worker starts it checks that the rate limits can hold across the workers
(webapp/serving.py): more than one worker with per-process (memory://) limit storage is
refused with the reason, rather than quietly multiplying every limit."""

from webapp.serving import workers_problem


def on_starting(server):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    problem = workers_problem(server.cfg.workers)
    if problem:
        raise RuntimeError(problem)  # gunicorn prints "Error: …" and exits with status 1
