# gitops-bot container image.
#   make image            # builds localhost/gitops-bot:dev (on a Debian-made base, see tools/podman-here)
#   docker build -t gitops-bot .   # elsewhere: the default base is the usual slim Python image
# Two stages: the venv is built where pip and build tools live, then copied alone into the runtime.
ARG BASE=python:3.11-slim-bookworm

FROM ${BASE} AS build
# The Debian base has `python3` (and python3-venv), the python image `python3` too: use that name only.
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --quiet --upgrade pip
WORKDIR /src
COPY pyproject.toml ./
COPY gitops_bot ./gitops_bot
# Runtime dependencies only (no [dev] extras); the lab package is not part of the image.
# pip and setuptools are build tools: removed so the runtime carries only what the bot imports.
RUN /opt/venv/bin/pip install --no-cache-dir --quiet . \
 && /opt/venv/bin/pip uninstall --quiet --yes pip setuptools \
 && /opt/venv/bin/gitops-bot --help >/dev/null

FROM ${BASE}
# git + ssh for the GitOps remote, tini to reap git's children and forward SIGTERM, procps so `ps`
# works for whoever debugs a running pod. Installed only when the base lacks them (the Debian-made base
# has all but procps); apt lists are removed in the same layer.
RUN set -eu; missing=""; \
    for p in git openssh-client ca-certificates tini procps; do \
      dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; \
    done; \
    if [ -n "$missing" ]; then \
      apt-get update -qq \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null \
      && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin; \
    fi
# A real passwd entry with a HOME: ssh refuses to run for a uid it cannot look up, and git reads ~.
RUN groupadd --gid 10001 gitops-bot \
 && useradd --uid 10001 --gid 10001 --home-dir /home/gitops-bot --create-home \
      --shell /usr/sbin/nologin gitops-bot \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/gitops-bot \
 && install -d -m 0755 /etc/gitops-bot
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/home/gitops-bot
USER 10001:10001
WORKDIR /var/lib/gitops-bot
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--", "/opt/venv/bin/gitops-bot"]
CMD ["serve", "--config", "/etc/gitops-bot/gitops-bot.yaml"]
LABEL org.opencontainers.image.title="gitops-bot" \
      org.opencontainers.image.description="GitOps rollback bot for production AI agents"
