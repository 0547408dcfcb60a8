#!/usr/bin/env bash
# Side-by-side load comparison on loopback: the same load sent straight to an nginx origin, through nginx
# (proxy_set_header Authorization), through HAProxy (http-request set-header) and through oauth2relay
# (a real token from mock-oauth2-server, fetched by the relay's own client_credentials login).
#
#   wrk/h2load --(LOAD_CPU)--> [direct | nginx | haproxy | oauth2relay] --(SERVER_CPU)--> nginx origin
#
# Knobs (environment):
#   DURATION=15        seconds per measurement
#   WARMUP=10          seconds of unrecorded load per target and case before the first round
#   RELAY_WARMUP=60    the same for oauth2relay: its JVM's JIT compiler shares the one pinned CPU with the
#                      event loops and keeps compiling for 30-60 s under load (perf sched showed C2 taking
#                      4-5 ms slices then, the event loops waiting: a p99 several times the p50); nginx
#                      and HAProxy have nothing to warm
#   WARMUP_RUNS=3      each warm-up is split into this many load runs, every one with new connections: a JIT
#                      that has only seen connections open deoptimises its hottest code when they first
#                      close and recompiles it (C2 took 0.8 s of the shared CPU in the next 10 s run: p99
#                      7.0 ms, 3.0 ms in the runs after), so one long warm-up left that to the first measured run
#   REPEATS=3          rounds; every round runs every case/connections/target in turn, so slow drift
#                      (a neighbour's build) spreads over all targets instead of hitting one
#   CASES="tiny 16k post1m h2"
#   CONNS="64 256"     wrk connections (HTTP/1.1 cases)
#   H2_CONNS="8"       h2load connections for the h2 case, each with H2_STREAMS concurrent streams
#   H2_STREAMS=100
#   TARGETS="direct nginx haproxy relay"
#   LOAD_CPU=0 SERVER_CPU=1   taskset cores: load generator on one, origin and proxy on the other
#   RELAY_JAVA_OPTS="-Xms64m -Xmx128m"   the relay's JVM options (JAVA_OPTS of ./oauth2relay)
#   OUT=relay-benchmarks/target/load-<time>  where configs, logs and raw results go
#   PROFILE=1          record the relay with JFR (JAVA_OPTS -XX:StartFlightRecording, written to
#                      OUT/relay.jfr when the relay stops); JFR is off in the launcher unless asked for
#
# Prints one table: median req/s, p50 and p99 latency, the proxy's peak RSS and CPU time per request,
# and ratios (each proxy to direct; oauth2relay to nginx). Everything listens on 127.0.0.1 only; every wait
# is bounded; every process the script starts is stopped by its PID when it exits.
set -euo pipefail

DURATION="${DURATION:-15}"
WARMUP="${WARMUP:-10}"
RELAY_WARMUP="${RELAY_WARMUP:-60}"
WARMUP_RUNS="${WARMUP_RUNS:-3}"
REPEATS="${REPEATS:-3}"
CASES="${CASES:-tiny 16k post1m h2}"
CONNS="${CONNS:-64 256}"
H2_CONNS="${H2_CONNS:-8}"
H2_STREAMS="${H2_STREAMS:-100}"
TARGETS="${TARGETS:-direct nginx haproxy relay}"
LOAD_CPU="${LOAD_CPU:-0}"
SERVER_CPU="${SERVER_CPU:-1}"
RELAY_JAVA_OPTS="${RELAY_JAVA_OPTS:--Xms64m -Xmx128m}"
PROFILE="${PROFILE:-0}"

root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"
OUT="${OUT:-$root/relay-benchmarks/target/load-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
results="$OUT/results.tsv"
: >"$results"

log() { printf '[compare] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- tools
need_apt=()
command -v wrk >/dev/null || need_apt+=(wrk)
command -v h2load >/dev/null || need_apt+=(nghttp2-client)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need_apt+=(nginx)
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || need_apt+=(haproxy)
command -v curl >/dev/null || need_apt+=(curl)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing from apt: ${need_apt[*]}"
  sudo_=()
  [ "$(id -u)" -eq 0 ] || sudo_=(sudo)
  "${sudo_[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_[@]}" apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${need_apt[@]}" >&2
fi
export PATH="$PATH:/usr/sbin:/sbin"
command -v taskset >/dev/null || die "taskset (util-linux) is missing"
ncpu="$(nproc)"
[ "$LOAD_CPU" -lt "$ncpu" ] && [ "$SERVER_CPU" -lt "$ncpu" ] || die "LOAD_CPU/SERVER_CPU beyond the $ncpu cores here"

# ---------------------------------------------------------------- processes and ports
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  # Below Linux's ephemeral range (32768 and up by default): the thousands of loopback connections a run
  # makes take ports from that range, and a listener picked there could find its port taken.
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 12000))
    port_open "$p" || { echo "$p"; return; }
  done
  die "no free port found"
}
wait_port() { # port seconds what [pid]: the pid's exit ends the wait early
  local deadline=$((SECONDS + $2))
  until port_open "$1"; do
    [ $SECONDS -lt "$deadline" ] || die "$3 did not listen on 127.0.0.1:$1 within $2 s (logs in $OUT)"
    if [ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null; then
      die "$3 exited before listening on 127.0.0.1:$1 (logs in $OUT)"
    fi
    sleep 0.2
  done
}

# ---------------------------------------------------------------- identity provider (mock-oauth2-server)
log "building the identity provider's class path (Maven)"
(cd "$root" && mvn -B -q -Dstyle.color=never -f relay-benchmarks/load/idp/pom.xml dependency:build-classpath \
  -Dmdep.outputFile="$OUT/idp.classpath") >"$OUT/mvn.log" 2>&1 || die "mvn dependency:build-classpath failed (see $OUT/mvn.log)"
# A free port can be taken between the check and the bind on a busy machine: three tries.
for attempt in 1 2 3; do
  idp_port="$(free_port)"
  SERVER_HOSTNAME=127.0.0.1 SERVER_PORT="$idp_port" taskset -c "$SERVER_CPU" \
    java -Xmx128m -cp "$(cat "$OUT/idp.classpath")" no.nav.security.mock.oauth2.StandaloneMockOAuth2ServerKt \
    >"$OUT/idp.log" 2>&1 &
  idp_pid=$!
  pids+=("$idp_pid")
  deadline=$((SECONDS + 60))
  until port_open "$idp_port" || ! kill -0 "$idp_pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; do sleep 0.2; done
  port_open "$idp_port" && break
  [ "$attempt" -lt 3 ] || die "mock-oauth2-server did not start (see $OUT/idp.log)"
  kill "$idp_pid" 2>/dev/null || true
done
token_url="http://127.0.0.1:$idp_port/bench/token"
client_secret="bench-secret-$RANDOM$RANDOM"
# The same kind of token the relay gets, for nginx and HAProxy to inject as a constant.
token=""
for _ in $(seq 50); do
  token="$(curl -sS -m 5 -u "bench-client:$client_secret" -d grant_type=client_credentials -d scope=api "$token_url" \
    | sed -n 's/.*"access_token" *: *"\([^"]*\)".*/\1/p')" || true
  [ -n "$token" ] && break
  sleep 0.2
done
[ -n "$token" ] || die "no token from mock-oauth2-server at $token_url"
log "identity provider on 127.0.0.1:$idp_port; token of ${#token} characters (not shown)"

# ---------------------------------------------------------------- nginx origin
origin_port="$(free_port)"
origin_h2_port="$(free_port)"
mkdir -p "$OUT/origin/www" "$OUT/origin/tmp"
head -c 16384 /dev/zero | tr '\0' 'a' >"$OUT/origin/www/16k"
cat >"$OUT/origin/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $OUT/origin/nginx.pid;
error_log $OUT/origin/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $OUT/origin/tmp;
  proxy_temp_path $OUT/origin/tmp;
  fastcgi_temp_path $OUT/origin/tmp;
  uwsgi_temp_path $OUT/origin/tmp;
  scgi_temp_path $OUT/origin/tmp;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  sendfile on;
  tcp_nopush on;
  upstream self { server 127.0.0.1:$origin_port; keepalive 512; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:$origin_port reuseport backlog=4096;
    listen 127.0.0.1:$origin_h2_port http2;
    root $OUT/origin/www;
    location = /tiny { default_type text/plain; return 200 "ok\n"; }
    location = /16k { default_type text/plain; }
    # The 1 MiB POST sink: reads the whole body into memory first (proxy_request_buffering is on by
    # default), then answers with /tiny through a kept-alive loopback hop, without sending the body on.
    # ("return 200" alone would answer before the body has arrived, which tests early responses instead.)
    location = /upload {
      client_max_body_size 2m;
      client_body_buffer_size 2m;
      proxy_pass http://self/tiny;
      proxy_method GET;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
taskset -c "$SERVER_CPU" nginx -c "$OUT/origin/nginx.conf" -p "$OUT/origin" -e "$OUT/origin/error.log" \
  >"$OUT/origin/stdout.log" 2>&1 &
pids+=($!)
wait_port "$origin_port" 10 "nginx origin" "$!"

# ---------------------------------------------------------------- proxies
nginx_port="$(free_port)"; nginx_h2_port="$(free_port)"
haproxy_port="$(free_port)"; haproxy_h2_port="$(free_port)"
relay_port="$(free_port)"

mkdir -p "$OUT/nginx/tmp"
cat >"$OUT/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $OUT/nginx/nginx.pid;
error_log $OUT/nginx/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $OUT/nginx/tmp;
  proxy_temp_path $OUT/nginx/tmp;
  fastcgi_temp_path $OUT/nginx/tmp;
  uwsgi_temp_path $OUT/nginx/tmp;
  scgi_temp_path $OUT/nginx/tmp;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  upstream origin {
    server 127.0.0.1:$origin_port;
    keepalive 512;              # at least the callers' concurrency: a smaller pool forces reconnects
    keepalive_requests 1000000; # the default 1000 forces reconnects
    keepalive_timeout 300s;
  }
  server {
    listen 127.0.0.1:$nginx_port reuseport backlog=4096;
    listen 127.0.0.1:$nginx_h2_port http2;
    client_max_body_size 2m;
    client_body_buffer_size 128k;  # bigger reads, fewer syscalls for the 1 MiB POST
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Authorization "Bearer $token";
      proxy_request_buffering off;   # stream the body, as the relay does
    }
  }
}
EOF

cat >"$OUT/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 8000   # fits a 20000 open-file limit
  tune.bufsize 131072
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 300s
  option http-keep-alive
  http-reuse always
frontend bench
  bind 127.0.0.1:$haproxy_port
  bind 127.0.0.1:$haproxy_h2_port proto h2
  http-request set-header Authorization "Bearer $token"
  default_backend origin
backend origin
  server origin 127.0.0.1:$origin_port maxconn 1024
EOF

cat >"$OUT/relay.json" <<EOF
{
  "host": "127.0.0.1",
  "port": $relay_port,
  "accessLog": false,
  "login": {
    "grant": "client_credentials",
    "tokenUrl": "$token_url",
    "clientId": "bench-client",
    "clientSecret": "\${BENCH_CLIENT_SECRET}"
  },
  "relay": { "url": "http://127.0.0.1:$origin_port/" }
}
EOF

start_nginx() {
  taskset -c "$SERVER_CPU" nginx -c "$OUT/nginx/nginx.conf" -p "$OUT/nginx" -e "$OUT/nginx/error.log" \
    >"$OUT/nginx/stdout.log" 2>&1 &
  pids+=($!); nginx_pid=$!
  wait_port "$nginx_port" 10 "nginx proxy" "$nginx_pid"
}
start_haproxy() {
  taskset -c "$SERVER_CPU" haproxy -db -f "$OUT/haproxy.cfg" >"$OUT/haproxy.log" 2>&1 &
  pids+=($!); haproxy_pid=$!
  wait_port "$haproxy_port" 10 "haproxy" "$haproxy_pid"
}
start_relay() {
  if [ "$PROFILE" = 1 ]; then
    RELAY_JAVA_OPTS="$RELAY_JAVA_OPTS -XX:StartFlightRecording=filename=$OUT/relay.jfr,settings=profile"
  fi
  log "starting oauth2relay (JAVA_OPTS=$RELAY_JAVA_OPTS; builds the jar on first use)"
  (cd "$root" && ./oauth2relay version >"$OUT/relay-build.log" 2>&1) || die "cannot build or run ./oauth2relay (see $OUT/relay-build.log)"
  BENCH_CLIENT_SECRET="$client_secret" JAVA_OPTS="$RELAY_JAVA_OPTS" \
    taskset -c "$SERVER_CPU" "$root/oauth2relay" start --config "$OUT/relay.json" >"$OUT/relay.log" 2>&1 &
  pids+=($!); relay_pid=$!
  wait_port "$relay_port" 60 "oauth2relay" "$relay_pid"
  local deadline=$((SECONDS + 30))
  until [ "$(curl -s -o /dev/null -w '%{http_code}' -m 5 "http://127.0.0.1:$relay_port/tiny")" = 200 ]; do
    [ $SECONDS -lt $deadline ] || die "oauth2relay does not answer 200 on /tiny (see $OUT/relay.log)"
    sleep 0.5
  done
}

nginx_pid=""; haproxy_pid=""; relay_pid=""
for t in $TARGETS; do
  case "$t" in
    nginx) start_nginx ;;
    haproxy) start_haproxy ;;
    relay) start_relay ;;
    direct) ;;
    *) die "unknown target $t (expected: direct nginx haproxy relay)" ;;
  esac
done

# The proxy's processes: nginx's master and worker, HAProxy, the relay's JVM (the launcher execs java).
proxy_pids() {
  case "$1" in
    nginx) echo "$nginx_pid $(cat /proc/"$nginx_pid"/task/*/children 2>/dev/null)" ;;
    haproxy) echo "$haproxy_pid" ;;
    relay) echo "$relay_pid" ;;
    *) echo "" ;;
  esac
}
port_of() { # target h2?
  case "$1:$2" in
    direct:h1) echo "$origin_port" ;; direct:h2) echo "$origin_h2_port" ;;
    nginx:h1) echo "$nginx_port" ;; nginx:h2) echo "$nginx_h2_port" ;;
    haproxy:h1) echo "$haproxy_port" ;; haproxy:h2) echo "$haproxy_h2_port" ;;
    relay:h1 | relay:h2) echo "$relay_port" ;; # h2c prior knowledge on the relay's one port
  esac
}
cpu_ticks() { # sum of utime+stime of the pids; with "sys" as $2, of stime only (the kernel's share)
  local total=0 p f sys_only="${2:-}"
  for p in $1; do
    f="$(cat /proc/"$p"/stat 2>/dev/null)" || continue
    f="${f##*) }"
    # shellcheck disable=SC2086
    set -- $f
    if [ "$sys_only" = sys ]; then total=$((total + ${13})); else total=$((total + ${12} + ${13})); fi
  done
  echo "$total"
}
peak_rss_kb() { # VmHWM summed over the pids (peak resident set since the last reset)
  local total=0 p v
  for p in $1; do
    v="$(awk '/^VmHWM:/ {print $2}' /proc/"$p"/status 2>/dev/null)" || continue
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
reset_peak_rss() { local p; for p in $1; do echo 5 >/proc/"$p"/clear_refs 2>/dev/null || true; done; }
steal_ticks() { awk '/^cpu / {print $9}' /proc/stat; }
all_ticks() { awk '/^cpu / {s=0; for (i=2; i<=NF; i++) s+=$i; print s}' /proc/stat; }

to_ms() { # wrk latency like 1.23ms / 456.00us / 1.02s -> milliseconds
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else print "nan" }'
}

post_lua="$OUT/post1m.lua"
cat >"$post_lua" <<'EOF'
wrk.method = "POST"
wrk.body = string.rep("x", 1048576)
wrk.headers["Content-Type"] = "application/octet-stream"
EOF

# One measurement: prints "rps p50_ms p99_ms status" (status ok or a reason).
measure() { # case conns target
  local case_="$1" conns="$2" target="$3" port raw
  local limit=$((DURATION + 30))
  raw="$OUT/raw/$case_-c$conns-$target-r$round.txt"
  mkdir -p "$OUT/raw"
  if [ "$case_" = h2 ]; then
    port="$(port_of "$target" h2)"
    local reqlog="$OUT/raw/h2-requests.log"
    if ! timeout "$limit" taskset -c "$LOAD_CPU" h2load -t1 -c "$conns" -m "$H2_STREAMS" -D "$DURATION" \
      --log-file="$reqlog" "http://127.0.0.1:$port/tiny" >"$raw" 2>&1; then
      echo "0 nan nan failed"; return
    fi
    local rps succeeded
    rps="$(sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' "$raw")"
    succeeded="$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' "$raw")"
    if [ -z "$rps" ] || [ "${succeeded:-0}" -eq 0 ]; then echo "0 nan nan failed"; return; fi
    # --log-file: start time, status, microseconds per request (tab separated). 2xx only.
    awk -F'\t' '$2 ~ /^2/ {print $3}' "$reqlog" | sort -n | awk -v rps="$rps" '
      { a[NR] = $1 } END {
        if (NR == 0) { print "0 nan nan failed"; exit }
        p50 = a[int(NR * 0.50) > 0 ? int(NR * 0.50) : 1]; p99 = a[int(NR * 0.99) > 0 ? int(NR * 0.99) : 1]
        printf "%s %.3f %.3f ok\n", rps, p50 / 1000, p99 / 1000 }'
    rm -f "$reqlog"
    return
  fi
  port="$(port_of "$target" h1)"
  local url script=()
  case "$case_" in
    tiny) url="http://127.0.0.1:$port/tiny" ;;
    16k) url="http://127.0.0.1:$port/16k" ;;
    post1m) url="http://127.0.0.1:$port/upload"; script=(-s "$post_lua") ;;
  esac
  if ! timeout "$limit" taskset -c "$LOAD_CPU" wrk -t1 -c "$conns" -d "${DURATION}s" --timeout 10s --latency \
    "${script[@]}" "$url" >"$raw" 2>&1; then
    echo "0 nan nan failed"; return
  fi
  local rps p50 p99 total bad errors
  rps="$(awk '/^Requests\/sec:/ {print $2}' "$raw")"
  p50="$(to_ms "$(awk '$1 == "50%" {print $2}' "$raw")")"
  p99="$(to_ms "$(awk '$1 == "99%" {print $2}' "$raw")")"
  total="$(awk '/requests in/ {print $1}' "$raw")"
  bad="$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$raw")"
  errors="$(awk '/Socket errors:/ {gsub(/,/, ""); print $4 + $6 + $8 + $10}' "$raw")"
  if [ -z "$rps" ] || [ "${total:-0}" -eq 0 ]; then echo "0 nan nan failed"; return; fi
  # More than 1 % failures: the figure is not a proxy's throughput but an error rate.
  if [ $(( (${bad:-0} + ${errors:-0}) * 100 )) -gt "$total" ]; then
    echo "$rps $p50 $p99 errors:$(( ${bad:-0} + ${errors:-0} ))/$total"; return
  fi
  echo "$rps $p50 $p99 ok"
}

# ---------------------------------------------------------------- the run
log "pinning: load generator on CPU $LOAD_CPU, origin and proxies on CPU $SERVER_CPU (taskset), $ncpu cores"
log "DURATION=${DURATION}s REPEATS=$REPEATS CASES='$CASES' CONNS='$CONNS' H2_CONNS='$H2_CONNS' H2_STREAMS=$H2_STREAMS"
if [ "$WARMUP" -gt 0 ]; then
  log "warming up every target for ${WARMUP}s per case, oauth2relay for ${RELAY_WARMUP}s, in $WARMUP_RUNS runs each (not recorded)"
  saved_duration="$DURATION"; DURATION="$WARMUP"; round=warmup
  for case_ in $CASES; do
    conns_list="$CONNS"
    [ "$case_" = h2 ] && conns_list="$H2_CONNS"
    for target in $TARGETS; do
      [ "$target" = direct ] && continue
      warm="$WARMUP"
      [ "$target" = relay ] && warm="$RELAY_WARMUP"
      DURATION=$(( (warm + WARMUP_RUNS - 1) / WARMUP_RUNS ))
      for _ in $(seq "$WARMUP_RUNS"); do
        read -r _ _ _ _ < <(measure "$case_" "${conns_list%% *}" "$target") || true
      done
    done
  done
  DURATION="$saved_duration"
fi
loadavg_start="$(cut -d' ' -f1-3 /proc/loadavg)"
log "load average before the run: $loadavg_start; raw output in $OUT"
for round in $(seq "$REPEATS"); do
  for case_ in $CASES; do
    conns_list="$CONNS"
    [ "$case_" = h2 ] && conns_list="$H2_CONNS"
    for conns in $conns_list; do
      for target in $TARGETS; do
        ps_="$(proxy_pids "$target")"
        reset_peak_rss "$ps_"
        c0="$(cpu_ticks "$ps_")"; k0="$(cpu_ticks "$ps_" sys)"; s0="$(steal_ticks)"; a0="$(all_ticks)"
        read -r rps p50 p99 status < <(measure "$case_" "$conns" "$target")
        c1="$(cpu_ticks "$ps_")"; k1="$(cpu_ticks "$ps_" sys)"; s1="$(steal_ticks)"; a1="$(all_ticks)"
        rss="$(peak_rss_kb "$ps_")"
        steal="$(awk -v s=$((s1 - s0)) -v a=$((a1 - a0)) 'BEGIN {printf "%.1f", (a > 0 ? 100 * s / a : 0)}')"
        cpu_us="$(awk -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v r="$rps" -v d="$DURATION" \
          'BEGIN {printf "%.1f", (r > 0 ? t / hz * 1e6 / (r * d) : 0)}')"
        kernel_us="$(awk -v t=$((k1 - k0)) -v hz="$(getconf CLK_TCK)" -v r="$rps" -v d="$DURATION" \
          'BEGIN {printf "%.1f", (r > 0 ? t / hz * 1e6 / (r * d) : 0)}')"
        [ "$target" = direct ] && { rss=0; cpu_us=0; kernel_us=0; }
        if [ "$status" != ok ] && [ "$target" = relay ] && [ "$case_" = h2 ]; then
          status="n/a (relay has no h2c yet)"
        fi
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$case_" "$conns" "$target" "$rps" "$p50" \
          "$p99" "$rss" "$cpu_us" "$steal" "$status" >>"$results"
        log "round $round $case_ c=$conns $target: ${rps} req/s p50 ${p50} ms p99 ${p99} ms rss $((rss / 1024)) MB cpu ${cpu_us} us/req (kernel ${kernel_us}) steal ${steal}% $status"
      done
    done
  done
done

# ---------------------------------------------------------------- the table
echo
echo "oauth2relay load comparison: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), $(uname -r)"
echo "wrk -t1 (HTTP/1.1) / h2load -t1 -m $H2_STREAMS (h2c prior knowledge), ${DURATION} s per run, medians of $REPEATS round(s);"
echo "pinned with taskset: load generator on CPU $LOAD_CPU; origin (nginx) and the proxy under test on CPU $SERVER_CPU."
echo "Load average at the start: $loadavg_start, at the end: $(cut -d' ' -f1-3 /proc/loadavg) (above $(nproc): other work was running; figures are then noisy)."
echo "Proxy access logs off in all three. Peak RSS = VmHWM of the proxy's processes during the run (nginx: master + worker)."
echo "CPU us/req = the proxy's own CPU time per request. Ratio: req/s against direct; relay/nginx: req/s and p99."
echo
awk -F'\t' '
  function median(list,   n, i, j, t, v) {
    n = split(list, v, " ")
    for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j > 0 && v[j] + 0 > t + 0; j--) v[j + 1] = v[j]; v[j + 1] = t }
    if (n == 0) return "nan"
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  }
  {
    k = $2 SUBSEP $3 SUBSEP $4
    if (!(k in seen)) { seen[k] = 1; order[++n] = k }
    if ($11 == "ok") { rps[k] = rps[k] " " $5; p50[k] = p50[k] " " $6; p99[k] = p99[k] " " $7; cpu[k] = cpu[k] " " $9 }
    else { why[k] = $11 }
    if ($8 + 0 > rss[k] + 0) rss[k] = $8
    if (!(k in steal) || $10 + 0 > steal[k] + 0) steal[k] = $10
  }
  END {
    printf "| case | conns | target | req/s | p50 ms | p99 ms | peak RSS MB | CPU us/req | vs direct | relay/nginx req/s, p99 | max steal %% |\n"
    printf "|---|---|---|---|---|---|---|---|---|---|---|\n"
    for (i = 1; i <= n; i++) {
      split(order[i], f, SUBSEP); c = f[1]; k = order[i]
      if (rps[k] == "") {
        printf "| %s | %s | %s | %s | | | | | | | %s |\n", c, f[2], f[3], why[k], steal[k]
        continue
      }
      r = median(rps[k]); q50 = median(p50[k]); q99 = median(p99[k])
      d = c SUBSEP f[2] SUBSEP "direct"; ng = c SUBSEP f[2] SUBSEP "nginx"
      ratio = (f[3] != "direct" && rps[d] != "") ? sprintf("%.2fx", r / median(rps[d])) : ""
      rn = (f[3] == "relay" && rps[ng] != "") ? sprintf("%.2fx, %.2fx", r / median(rps[ng]), q99 / median(p99[ng])) : ""
      mem = f[3] == "direct" ? "-" : sprintf("%.0f", rss[k] / 1024)
      cu = f[3] == "direct" ? "-" : sprintf("%.0f", median(cpu[k]))
      note = why[k] != "" ? " (some rounds: " why[k] ")" : ""
      printf "| %s | %s | %s | %.0f%s | %.2f | %.2f | %s | %s | %s | %s | %s |\n", c, f[2], f[3], r, note, q50, q99, mem, cu, ratio, rn, steal[k]
    }
  }' "$results" | tee "$OUT/table.md"
echo
echo "raw results: $results"
