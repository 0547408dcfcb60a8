# syntax=docker/dockerfile:1
# oauth2relay container image. Untested here (no Docker engine on the build machines): DockerfileTest
# checks what can be checked without one; docs/DEPLOYMENT.md says how to build and run it.
#
#   docker build -t oauth2relay .
#   docker run --rm --read-only --tmpfs /tmp -e CLIENT_SECRET -v "$PWD/config.json:/etc/oauth2relay/config.json:ro" oauth2relay
#
# No secret is baked in: the image holds the jar and the launcher only. Credentials come at run time
# from the environment or from mounted files (${ENV}, ${file:...} references in the config).

# --- build: the shaded jar, exactly as ./oauth2relay builds it ---
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY pom.xml ./
COPY relay-secrets-spi relay-secrets-spi
COPY relay-secrets-vault relay-secrets-vault
COPY relay-secrets-aws relay-secrets-aws
COPY relay-server relay-server
COPY relay-benchmarks/pom.xml relay-benchmarks/pom.xml
# -DskipTests also keeps the keycloak profile (a 170 MB download for the integration tests) off.
RUN --mount=type=cache,target=/root/.m2 \
    mvn -B -q -Dstyle.color=never -DskipTests -pl relay-server -am package

# --- runtime: a JRE, the jar, and the launcher that starts it hardened ---
FROM eclipse-temurin:17-jre
# A numeric user and group of its own: Kubernetes can only verify runAsNonRoot against a numeric USER.
RUN groupadd --system --gid 10001 oauth2relay \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin oauth2relay
# The launcher finds the jar at relay-server/target/ beside itself. With no sources in the image it never
# tries to rebuild, and it starts the JVM with its hardening flags (no core, heap or hs_err dumps, no
# attach, no perf data file; docs/SECURITY.md): the image runs the same script, so the flags cannot drift.
COPY --chmod=0555 oauth2relay /opt/oauth2relay/oauth2relay
COPY --from=build --chmod=0444 /src/relay-server/target/oauth2relay.jar /opt/oauth2relay/relay-server/target/oauth2relay.jar
# Owned by root and read-only to the relay's user: the process cannot change its own code.
USER 10001:10001
WORKDIR /opt/oauth2relay
# Nothing is written at run time except Netty's native transport library, which is extracted to
# java.io.tmpdir (/tmp): mount a tmpfs there with a read-only root file system (without one, Netty cannot
# load it and the relay uses the NIO transport). The heap follows the container's memory limit.
ENV JAVA_OPTS="-XX:MaxRAMPercentage=75"
EXPOSE 8080 9090
ENTRYPOINT ["/opt/oauth2relay/oauth2relay"]
CMD ["start", "--config", "/etc/oauth2relay/config.json"]
