# One image for every process of StockRace; docker-compose.yml picks the command.
FROM python:3.11-slim-bookworm AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm libpq5 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt ./
RUN pip install -r requirements.txt

# Front-end libraries (htmx, lightweight-charts) at the pinned versions of scripts/package.json.
COPY scripts/ scripts/
RUN ./scripts/fetch_assets.sh && rm -rf var/npm

COPY . .
# collectstatic needs settings but no live database: give it throwaway values at build time only.
RUN DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost:6379/0 SECRET_KEY=build-only \
    python manage.py collectstatic --noinput

RUN useradd --create-home --uid 1000 stockrace && chown -R stockrace /app
USER stockrace

EXPOSE 8000
# The web process by default; compose overrides the command for the other processes.
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "--proxy-headers", "stockrace.asgi:application"]
