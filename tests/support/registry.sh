# Helpers that run Debian's docker-registry (CNCF distribution) on 127.0.0.1 for the registry
# integration tests. Source after tests/integration/lib.sh.
#
#   start_registry NAME [--htpasswd FILE] [--tls CERT KEY] [--token REALM SERVICE ISSUER BUNDLE]
#     starts a registry with its storage under $TEST_TMP/NAME; sets REG_PORT and REG_LOG; stopped
#     when the test exits.
#   free_port: prints a TCP port nothing listens on.
#   make_test_ca DIR: a CA and a server certificate for 127.0.0.1/localhost (DIR/ca.pem,
#     DIR/server.pem, DIR/server.key).
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

# wait_port PORT [SECONDS]: until something accepts on 127.0.0.1:PORT.
wait_port() {
  local port=$1 limit=${2:-20} i
  for ((i = 0; i < limit * 10; i++)); do
    (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
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
  REG_PORT=$(free_port) || die "no free port"
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
  addr: 127.0.0.1:$REG_PORT
$tls
$auth
YAML
  docker-registry serve "$dir/config.yml" >"$REG_LOG" 2>&1 &
  local pid=$!
  on_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
  wait_port "$REG_PORT" 20 || { cat "$REG_LOG" >&2; die "docker-registry did not start"; }
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
