# Production image: needs DATABASE_URL. It refuses to start without one rather
# than run an embedded PostgreSQL (and its dev mailbox) on 0.0.0.0.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    RATELINE_HOST=0.0.0.0 \
    RATELINE_PORT=8080 \
    RATELINE_DATA_DIR=/home/rateline/var

RUN useradd --create-home --uid 10001 rateline
WORKDIR /app
COPY pyproject.toml setup.cfg README.md ./
COPY server ./server
COPY actors ./actors
COPY protocols ./protocols
COPY storage ./storage
COPY ops ./ops
RUN pip install --no-cache-dir .

USER rateline
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)" || exit 1
CMD ["sh", "-c", "if [ -z \"$DATABASE_URL\" ]; then echo 'rateline: set DATABASE_URL; this image does not run an embedded PostgreSQL' >&2; exit 64; fi; exec rateline serve"]
