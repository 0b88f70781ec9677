# One image for every AIM service (hub, portal, partner agent); docker-compose.yml picks the command.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /srv/aim
COPY pyproject.toml README.md ./
COPY aim ./aim
COPY api ./api
COPY governance ./governance
COPY linkage ./linkage
COPY fixtures ./fixtures
RUN pip install . \
    && useradd --system --home /var/lib/aim --create-home aim \
    && mkdir -p /var/lib/aim /etc/aim \
    && chown aim /var/lib/aim

USER aim
EXPOSE 8700 8800
CMD ["aim", "--help"]
