# Lux: one image for the web server and the workers (docker-compose.yml picks the command).
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    LUX_DATA_DIR=/data MEDIA_ROOT=/data/media STATIC_ROOT=/app/staticfiles
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends make && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml Makefile ./
RUN make install PYTHON=python3.11
COPY . .
# collectstatic needs some secret to import settings; the real one comes from the environment at run time.
RUN SECRET_KEY=build-only DEBUG=false .venv/bin/python manage.py collectstatic --noinput -v 0
RUN useradd --create-home lux && mkdir -p /data && chown lux /data
USER lux
EXPOSE 8000
CMD [".venv/bin/python", "-m", "gunicorn", "webapp.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", "--timeout", "300"]
