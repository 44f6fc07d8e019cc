FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 FLASK_APP=webapp

WORKDIR /app
COPY pyproject.toml README.md ./
COPY requirements/lock.txt requirements/lock.txt
COPY webapp/ webapp/
# Editable, so that `webapp` is this /app copy, beside its templates, static files and
# migrations; a plain install would add a second copy to site-packages without them.
RUN pip install -c requirements/lock.txt -e . && useradd --create-home --uid 10001 marquee
COPY wsgi.py gunicorn.conf.py ./
COPY templates/ templates/
COPY static/ static/
COPY migrations/ migrations/
RUN mkdir -p instance && chown marquee:marquee instance

USER marquee
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status != 200)"
# Apply migrations, load the demo catalog (idempotent), then hand over to gunicorn.
# Several workers need REDIS_URL (gunicorn.conf.py refuses otherwise): WEB_CONCURRENCY=1 without it.
CMD ["sh", "-c", "flask db upgrade && flask catalog load-demo && exec gunicorn --bind 0.0.0.0:8000 --workers ${WEB_CONCURRENCY:-2} --threads 4 --access-logfile - wsgi:app"]
