# Helpers that run Debian's docker-registry (CNCF distribution) on 127.0.0.1 for the registry
# integration tests. Source after tests/integration/lib.sh.
#
#   start_registry NAME [--htpasswd FILE] [--tls CERT KEY] [--token REALM SERVICE ISSUER BUNDLE]
#     starts a registry with its storage under $TEST_TMP/NAME; sets REG_PORT, REG_LOG and REG_PID;
#     stopped when the test exits.
#   start_test_server NAME registry_test_servers.py ARGS...
#     starts tests/support/registry_test_servers.py (token service, fault proxy) with ARGS and a
#     --port-file; sets SERVER_PORT; stopped when the test exits. Output in $TEST_TMP/NAME.out.
#   free_port: prints a TCP port nothing listens on now, for tests that need an address where
#     nothing answers (never for starting a server: it could be taken before the server binds it).
#   make_test_ca DIR: a CA and a server certificate for 127.0.0.1/localhost (DIR/ca.pem,
#     DIR/server.pem, DIR/server.key).
#
# No port is guessed for a server: each binds port 0, so the kernel hands it a free one, and
# reports it — docker-registry in its log ("listening on 127.0.0.1:PORT", written after the bind,
# with the bound address), the Python servers in a port file (as tests/support/channel_server.sh).
# shellcheck shell=bash

free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# wait_for_line PID FILE REGEX [SECONDS]: until FILE has a line matching the extended REGEX (prints
# its first capture group); fails when PID exits first or time runs out.
wait_for_line() {
  local pid=$1 file=$2 regex=$3 limit=${4:-20} i line
  for ((i = 0; i < limit * 10; i++)); do
    line=$(grep -E -m1 -o -- "$regex" "$file" 2>/dev/null || true)
    if [[ -n "$line" ]]; then
      [[ "$line" =~ $regex ]] && echo "${BASH_REMATCH[1]}"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

start_test_server() {
  local name=$1
  shift
  local port_file=$TEST_TMP/$name.port out=$TEST_TMP/$name.out
  rm -f "$port_file"
  python3 "$DE_SOURCE_DIR/tests/support/registry_test_servers.py" "$@" --port-file "$port_file" \
    >"$out" 2>&1 &
  local pid=$!
  on_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
  # shellcheck disable=SC2034 # read by the tests
  SERVER_PORT=$(read_port_file "$pid" "$port_file" "$out" "$name")
}

start_registry() {
  local name=$1
  shift
  local dir=$TEST_TMP/$name auth="" tls=""
  mkdir -p "$dir/storage"
  while (($#)); do
    case $1 in
      --htpasswd)
        auth=$(printf 'auth:\n  htpasswd:\n    realm: test-realm\n    path: %s\n' "$2")
        shift 2 ;;
      --token)
        auth=$(printf 'auth:\n  token:\n    realm: %s\n    service: %s\n    issuer: %s\n    rootcertbundle: %s\n' "$2" "$3" "$4" "$5")
        shift 5 ;;
      --tls)
        tls=$(printf '  tls:\n    certificate: %s\n    key: %s\n' "$2" "$3")
        shift 3 ;;
      *) die "start_registry: unknown option $1" ;;
    esac
  done
  REG_LOG=$dir/registry.log
  cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:0
$tls
$auth
YAML
  docker-registry serve "$dir/config.yml" >"$REG_LOG" 2>&1 &
  REG_PID=$!
  on_exit "kill $REG_PID 2>/dev/null; wait $REG_PID 2>/dev/null"
  if ! REG_PORT=$(wait_for_line "$REG_PID" "$REG_LOG" 'listening on 127\.0\.0\.1:([0-9]+)' 20) ||
    [[ -z "$REG_PORT" ]]; then
    cat "$REG_LOG" >&2
    die "docker-registry did not start"
  fi
}

make_test_ca() {
  local dir=$1
  mkdir -p "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=docker-envs test CA" \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" >/dev/null 2>&1
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$dir/server.key" -out "$dir/server.csr" >/dev/null 2>&1
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$dir/ext.cnf"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 2 -extfile "$dir/ext.cnf" -out "$dir/server.pem" >/dev/null 2>&1
}
