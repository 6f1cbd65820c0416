# kiebot: one image for `kiebot run` (the bot, its job worker and its web server) and `kiebot migrate`.
# Build: docker build -t kiebot .   Settings come from the environment (see .env.example); nothing secret is baked in.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, pinned by constraints.txt, so a code change does not reinstall them.
COPY pyproject.toml constraints.txt README.md ./
COPY kiebot ./kiebot
RUN pip install --constraint constraints.txt . \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin kiebot \
    && mkdir -p /app/data && chown kiebot /app/data

USER kiebot

# Listen on every interface inside the container; publish or proxy the port from outside.
ENV WEB_HOST=0.0.0.0 \
    WEB_PORT=8080
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('WEB_PORT', '8080'), timeout=4)"]

# SIGTERM (docker stop) finishes the updates and job steps under way; give it time (stop_grace_period).
STOPSIGNAL SIGTERM
CMD ["kiebot", "run"]
