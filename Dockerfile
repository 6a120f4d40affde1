# wgbot: one image for every replica (webhook mode by default) and for one-off commands
# (`docker compose run --rm bot migrate`, `... bot report-key`).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot bot
COPY handlers handlers
COPY storage storage
COPY locales locales
COPY catalogue catalogue
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /srv/wgbot wgbot \
    && mkdir -p /srv/wgbot/data && chown wgbot /srv/wgbot/data
COPY --from=build /install /usr/local
ENV PYTHONUNBUFFERED=1 \
    WGBOT_DATA_DIR=/srv/wgbot/data \
    WGBOT_HTTP_HOST=0.0.0.0 \
    WGBOT_HTTP_PORT=8080 \
    WGBOT_METRICS_PORT=9464
USER wgbot
WORKDIR /srv/wgbot
VOLUME /srv/wgbot/data
EXPOSE 8080
# SIGTERM: stop taking updates, finish handlers and sends in flight, give back unsent claims.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD \
    python -c "import sys, urllib.request as u; sys.exit(u.urlopen('http://127.0.0.1:9464/healthz', timeout=4).status != 200)"
ENTRYPOINT ["wgbot"]
CMD ["run", "--webhook"]
