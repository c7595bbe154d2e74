#!/usr/bin/env bash
# A real Kubernetes control plane on loopback for the e2e tier, built here the way
# controller-runtime's envtest provides one: etcd, kube-apiserver and kube-controller-manager
# (garbage collector, namespace and service-account controllers, so ownerReferences, namespace
# deletion and ServiceAccounts behave as in a cluster). No kubelet and no scheduler: pods
# never run, which the tests do not need.
#
# The binaries are built from the published Go modules pinned in e2e/cluster/go.mod
# (k8s.io/kubernetes and the etcd it requires) and cached under .tools/cluster/<versions>-<go.sum
# hash>/, so only a new machine or a version bump builds them; Go's own build cache makes a
# rebuild in a fresh clone of the same machine cheap.
#
# Usage: scripts/cluster.sh build      build (or reuse) the binaries; prints their folder
#        scripts/cluster.sh start      build if needed, then start the control plane
#        scripts/cluster.sh env        print `export KUBECONFIG=...` for a started cluster
#        scripts/cluster.sh status     exit 0 when the started cluster answers
#        scripts/cluster.sh stop       stop the processes `start` started (by pid), keep logs
#
# Everything a run writes (certificates, etcd data, logs, pids, the admin kubeconfig) is in
# $LAUNCHPLANE_CLUSTER_DIR (default target/cluster/). Ports are chosen free on 127.0.0.1 at
# start. Extra kube-apiserver flags: LAUNCHPLANE_APISERVER_FLAGS="--flag=value ...".
#
# The API server reads its structured authentication configuration from
# $LAUNCHPLANE_CLUSTER_DIR/authentication-config.yaml (--authentication-config), which starts
# with no JWT authenticator (a copy stays in authentication-config.default.yaml). It reloads the
# file when it changes, so a test can add an issuer and put the default back without a restart
# (controller/tests/e2e_ci_identity.rs). `env` exports its path as
# LAUNCHPLANE_AUTHENTICATION_CONFIG. Extra flags naming --authentication-config or --oidc-*
# (which exclude it) replace it.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
module_dir="$root/e2e/cluster"
run_dir="${LAUNCHPLANE_CLUSTER_DIR:-$root/target/cluster}"
cache_root="${LAUNCHPLANE_CLUSTER_CACHE:-$root/.tools/cluster}"

say() { echo "cluster: $*" >&2; }
die() { echo "cluster: $*" >&2; exit 1; }

# --- versions and the binary cache -----------------------------------------------------------
module_version() { # the version go.mod requires of module $1
    awk -v m="$1" '$1 == m && $2 ~ /^v/ { print $2; exit }' "$module_dir/go.mod"
}
kube_version="$(module_version k8s.io/kubernetes)"
etcd_version="$(module_version go.etcd.io/etcd/server/v3)"
[[ -n "$kube_version" && -n "$etcd_version" ]] || die "cannot read the pinned versions from $module_dir/go.mod"
# The key also covers this script's build line, so a change to how they are built rebuilds.
build_hash="$( (cat "$module_dir/go.sum" "$module_dir/cmd/etcd/main.go"; sed -n '/^build()/,/^}/p' "${BASH_SOURCE[0]}") | sha256sum | cut -c1-12)"
bin_dir="$cache_root/kubernetes-$kube_version-etcd-$etcd_version-$build_hash"
binaries=(etcd kube-apiserver kube-controller-manager kubectl)

build() {
    local missing=0 b
    for b in "${binaries[@]}"; do [[ -x "$bin_dir/$b" ]] || missing=1; done
    if ((missing == 0)); then
        echo "$bin_dir"
        return
    fi
    command -v go >/dev/null || die "go is not installed: the local API server is built from Go modules"
    local started=$SECONDS tmp
    say "building kube-apiserver and kube-controller-manager $kube_version and etcd $etcd_version (the first build on a machine takes several minutes)"
    tmp="$(mktemp -d "$cache_root.tmp.XXXXXX" 2>/dev/null || { mkdir -p "$cache_root" && mktemp -d "$cache_root.tmp.XXXXXX"; })"
    # -mod=readonly: the build uses exactly go.mod and go.sum, and fails rather than edit them.
    # The version is stamped as Kubernetes' own build does (hack/lib/version.sh), so /version
    # answers v1.x.y and not v0.0.0-master.
    local minor="${kube_version#v1.}" pkg ldflags="-s -w"
    minor="${minor%%.*}"
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
        ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
    done
    (cd "$module_dir" && go build -mod=readonly -trimpath -ldflags="$ldflags" -o "$tmp/" \
        ./cmd/etcd k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
        k8s.io/kubernetes/cmd/kubectl) ||
        { rm -rf "$tmp"; die "go build failed"; }
    mkdir -p "$(dirname "$bin_dir")"
    rm -rf "$bin_dir"
    mv "$tmp" "$bin_dir"
    say "built in $((SECONDS - started)) s into $bin_dir"
    echo "$bin_dir"
}

# --- helpers -----------------------------------------------------------------------------------
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

alive() { # pid file $1 names a running process
    [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

wait_for() { # wait up to $2 seconds for command $3... to succeed; $1 names what for errors
    local what="$1" timeout="$2" deadline
    shift 2
    deadline=$((SECONDS + timeout))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.5
    done
    say "$what is up"
}

certificates() {
    local pki="$run_dir/pki"
    mkdir -p "$pki"
    (
        cd "$pki"
        openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=launchplane-e2e-ca" \
            -keyout ca.key -out ca.crt 2>/dev/null
        # The API server's serving certificate, valid for loopback only.
        openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout apiserver.key \
            -out apiserver.csr 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n' >apiserver.ext
        openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
            -extfile apiserver.ext -out apiserver.crt 2>/dev/null
        # Client certificates: the test admin (system:masters) and the controller manager.
        client_cert admin "/O=system:masters/CN=launchplane-e2e-admin"
        client_cert controller-manager "/CN=system:kube-controller-manager"
        # Service-account tokens are signed with this key and verified with its public half.
        openssl genrsa -out sa.key 2048 2>/dev/null
        openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
        rm -f ./*.csr ./*.ext ./*.srl
    )
}

client_cert() { # $1 file stem, $2 subject; runs inside the pki folder
    openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$1.key" -out "$1.csr" 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
        -extfile "$1.ext" -out "$1.crt" 2>/dev/null
}

authentication_config() { # the default: no JWT authenticator (client certificates and ServiceAccount tokens only)
    cat <<EOF
apiVersion: apiserver.config.k8s.io/v1
kind: AuthenticationConfiguration
jwt: []
EOF
}

kubeconfig() { # $1 output file, $2 client cert stem, $3 server URL
    local pki="$run_dir/pki"
    cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: launchplane-e2e
  cluster:
    server: $3
    certificate-authority: $pki/ca.crt
users:
- name: $2
  user:
    client-certificate: $pki/$2.crt
    client-key: $pki/$2.key
contexts:
- name: launchplane-e2e
  context:
    cluster: launchplane-e2e
    user: $2
current-context: launchplane-e2e
EOF
}

# --- commands ------------------------------------------------------------------------------
start() {
    if alive "$run_dir/kube-apiserver.pid"; then
        say "already running ($(server_url)); 'scripts/cluster.sh stop' first to restart"
        return
    fi
    command -v openssl >/dev/null || die "openssl is required to generate the cluster's certificates"
    command -v python3 >/dev/null || die "python3 is required to pick free ports"
    build >/dev/null
    local started=$SECONDS
    stop_processes quiet
    rm -rf "$run_dir"
    mkdir -p "$run_dir/logs"
    certificates

    local etcd_client etcd_peer api_port kcm_port server
    etcd_client="$(free_port)"
    etcd_peer="$(free_port)"
    api_port="$(free_port)"
    kcm_port="$(free_port)"
    server="https://127.0.0.1:$api_port"
    echo "$server" >"$run_dir/server"

    # The etcd built here skips fsync (test data is thrown away); another one (LAUNCHPLANE_ETCD,
    # e.g. Debian's 3.4 etcd-server) may not know that flag.
    local etcd="${LAUNCHPLANE_ETCD:-$bin_dir/etcd}" etcd_flags=()
    [[ -n "${LAUNCHPLANE_ETCD:-}" ]] || etcd_flags+=(--unsafe-no-fsync)
    "$etcd" --name launchplane-e2e --data-dir "$run_dir/etcd" \
        --listen-client-urls "http://127.0.0.1:$etcd_client" \
        --advertise-client-urls "http://127.0.0.1:$etcd_client" \
        --listen-peer-urls "http://127.0.0.1:$etcd_peer" \
        --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
        --initial-cluster "launchplane-e2e=http://127.0.0.1:$etcd_peer" \
        --quota-backend-bytes=2147483648 "${etcd_flags[@]}" \
        >"$run_dir/logs/etcd.log" 2>&1 &
    echo $! >"$run_dir/etcd.pid"
    wait_for etcd 60 curl -fsS "http://127.0.0.1:$etcd_client/health" ||
        { tail -n 20 "$run_dir/logs/etcd.log" >&2; die "etcd did not start (log: $run_dir/logs/etcd.log)"; }

    local pki="$run_dir/pki" authn_flags=()
    case " ${LAUNCHPLANE_APISERVER_FLAGS:-} " in
    *" --authentication-config"* | *" --oidc-"*) ;;
    *)
        authentication_config >"$run_dir/authentication-config.default.yaml"
        cp "$run_dir/authentication-config.default.yaml" "$run_dir/authentication-config.yaml"
        authn_flags+=(--authentication-config "$run_dir/authentication-config.yaml")
        ;;
    esac
    # shellcheck disable=SC2086 # LAUNCHPLANE_APISERVER_FLAGS is a list of flags
    "$bin_dir/kube-apiserver" \
        --etcd-servers "http://127.0.0.1:$etcd_client" \
        --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
        --cert-dir "$run_dir/apiserver" \
        --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
        --client-ca-file "$pki/ca.crt" \
        --authorization-mode Node,RBAC \
        --service-account-issuer "$server" \
        --service-account-key-file "$pki/sa.pub" \
        --service-account-signing-key-file "$pki/sa.key" \
        --service-cluster-ip-range 10.96.0.0/24 \
        --allow-privileged=false --anonymous-auth=false \
        ${authn_flags[@]+"${authn_flags[@]}"} ${LAUNCHPLANE_APISERVER_FLAGS:-} \
        >"$run_dir/logs/kube-apiserver.log" 2>&1 &
    echo $! >"$run_dir/kube-apiserver.pid"
    kubeconfig "$run_dir/kubeconfig" admin "$server"
    kubeconfig "$run_dir/controller-manager.kubeconfig" controller-manager "$server"
    wait_for kube-apiserver 120 ready ||
        { tail -n 30 "$run_dir/logs/kube-apiserver.log" >&2; die "kube-apiserver did not become ready (log: $run_dir/logs/kube-apiserver.log)"; }

    "$bin_dir/kube-controller-manager" \
        --kubeconfig "$run_dir/controller-manager.kubeconfig" \
        --authentication-kubeconfig "$run_dir/controller-manager.kubeconfig" \
        --authorization-kubeconfig "$run_dir/controller-manager.kubeconfig" \
        --bind-address 127.0.0.1 --secure-port "$kcm_port" --cert-dir "$run_dir/controller-manager" \
        --controllers garbage-collector-controller,namespace-controller,serviceaccount-controller,serviceaccount-token-controller \
        --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
        --use-service-account-credentials=true --leader-elect=false \
        >"$run_dir/logs/kube-controller-manager.log" 2>&1 &
    echo $! >"$run_dir/kube-controller-manager.pid"
    # The controller manager is ready once it has made the default namespace's ServiceAccount.
    wait_for kube-controller-manager 120 \
        "$bin_dir/kubectl" --kubeconfig "$run_dir/kubeconfig" get serviceaccount default -n default ||
        { tail -n 30 "$run_dir/logs/kube-controller-manager.log" >&2; die "kube-controller-manager did not start (log: $run_dir/logs/kube-controller-manager.log)"; }
    say "Kubernetes $kube_version (etcd $etcd_version) at $server, started in $((SECONDS - started)) s"
    say "KUBECONFIG=$run_dir/kubeconfig"
}

server_url() { cat "$run_dir/server" 2>/dev/null; }

ready() {
    "$bin_dir/kubectl" --kubeconfig "$run_dir/kubeconfig" get --raw /readyz --request-timeout=5s
}

stop_processes() { # stop what `start` started, newest first, by the pids it recorded
    local quiet="${1:-}" name pidfile pid
    for name in kube-controller-manager kube-apiserver etcd; do
        pidfile="$run_dir/$name.pid"
        [[ -f "$pidfile" ]] || continue
        pid="$(cat "$pidfile")"
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
            kill -9 "$pid" 2>/dev/null || true
            [[ -n "$quiet" ]] || say "stopped $name ($pid)"
        fi
        rm -f "$pidfile"
    done
}

case "${1:-}" in
build) build ;;
start) start ;;
env)
    alive "$run_dir/kube-apiserver.pid" || die "no cluster is running; 'scripts/cluster.sh start' first"
    echo "export KUBECONFIG=$run_dir/kubeconfig"
    if [[ -f "$run_dir/authentication-config.yaml" ]]; then
        echo "export LAUNCHPLANE_AUTHENTICATION_CONFIG=$run_dir/authentication-config.yaml"
    fi
    ;;
status) alive "$run_dir/kube-apiserver.pid" && ready >/dev/null ;;
stop) stop_processes ;;
*)
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
