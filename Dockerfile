# syntax=docker/dockerfile:1
# helpdesk-ingest: a slim image that runs as an unprivileged user.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY helpdesk_ingest ./helpdesk_ingest
COPY alembic ./alembic
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
 && pip wheel --no-cache-dir --wheel-dir /wheels /wheels/helpdesk_ingest-*.whl

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HELPDESK_INGEST_CONFIG=/etc/helpdesk-ingest/helpdesk-ingest.toml
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/helpdesk-ingest \
        --create-home --shell /usr/sbin/nologin helpdesk
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels helpdesk-ingest \
 && rm -rf /wheels
USER helpdesk
WORKDIR /var/lib/helpdesk-ingest
# Health is read from the daemon's own records (age of the last successful poll), never by
# logging in to the mailbox: a second POP3 session would collide with the poller's.
HEALTHCHECK --interval=60s --timeout=15s --start-period=180s --retries=3 \
    CMD ["helpdesk-ingest", "--log-level", "error", "health"]
ENTRYPOINT ["helpdesk-ingest"]
CMD ["run"]
