# One image for both apps: `docker run IMAGE producer` or `docker run IMAGE sink`.
# Build: docker build -t jobsearch-offload .

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml README.md ./
COPY jobsearch ./jobsearch
COPY producer_app ./producer_app
COPY sink_app ./sink_app
RUN /opt/venv/bin/pip install .

FROM python:3.11-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    JOBSEARCH_ENV=production \
    LOG_FORMAT=json
RUN useradd --system --uid 10001 --home-dir /app --create-home jobsearch
COPY --from=build /opt/venv /opt/venv
COPY connector /app/connector
WORKDIR /app
USER 10001
EXPOSE 8000 8001
HEALTHCHECK --interval=30s --timeout=3s CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/healthz', timeout=2)"]
ENTRYPOINT ["jobsearch"]
CMD ["producer", "--host", "0.0.0.0", "--port", "8000"]
