#!/usr/bin/env bash
# Builds the pinned Pulumi engine from the Go module proxy, for machines with Go but no access to
# Pulumi's download site: the CLI at the version of the `pulumi` devDependency (where the npm
# launcher looks for it), then the Node.js language host and the docker, command and random
# plugins at the versions the @pulumi SDKs in package-lock.json ask for.
#
#   bash scripts/install-pulumi.sh            # build what is missing, skip what is built
#
# Every module version is resolved before anything is built, so a version the proxy does not
# serve is named at once instead of after half an hour of compiling.
set -euo pipefail
cd "$(dirname "$0")/.."

PULUMI_HOME="${PULUMI_HOME:-$HOME/.pulumi}"
PROXY="${GOPROXY:-https://proxy.golang.org}"
PROXY="${PROXY%%,*}"

say() { printf 'install-pulumi: %s\n' "$*" >&2; }

cli_version="$(node -p 'require("./package.json").devDependencies.pulumi')"
sdk_version() { node -p "require('./package-lock.json').packages['node_modules/@pulumi/$1'].version"; }

# proxy_info MODULE VERSION: the proxy's .info JSON for MODULE@VERSION, or nothing when not served.
proxy_info() {
    curl -fsS --max-time 30 "$PROXY/$1/@v/$2.info" 2>/dev/null || true
}

# pseudo_version MAJOR INFO_JSON: the pseudo-version of the commit a tagged module's .info names,
# for a sibling module of the same repository that has no tags of its own.
pseudo_version() {
    # shellcheck disable=SC2016 # JavaScript, not shell
    node -e '
        const info = JSON.parse(process.argv[2]);
        const time = new Date(info.Time).toISOString().replace(/[-:T]/g, "").slice(0, 14);
        const hash = (info.Origin && info.Origin.Hash || "").slice(0, 12);
        if (!hash) process.exit(1);
        const major = Number(process.argv[1]);
        console.log(`v${major >= 2 ? major : 0}.0.0-${time}-${hash}`);
    ' "$1" "$2"
}

missing=()
# need LABEL MODULE VERSION: records MODULE@VERSION as missing unless the proxy serves it.
need() {
    if [ -n "$(proxy_info "$2" "$3")" ]; then
        say "resolved $1: $2@$3"
    else
        say "NOT SERVED $1: $2@$3"
        missing+=("$1 needs $2@$3, which the Go module proxy ($PROXY) does not serve")
    fi
}

# release_commit LABEL MODULE VERSION MAJOR: sets `commit` to the pseudo-version of a release's
# commit, read from a tagged module of the same repository; empty (and recorded as missing) when
# that module is not served.
release_commit() {
    local info
    commit=""
    info="$(proxy_info "$2" "$3")"
    if [ -n "$info" ]; then commit="$(pseudo_version "$4" "$info" || true)"; fi
    if [ -z "$commit" ]; then
        say "NOT SERVED $1: $2@$3 (needed to find the release commit)"
        missing+=("$1 needs $2@$3 to find its release commit, which the Go module proxy ($PROXY) does not serve")
    fi
}

installed_cli() {
    local bin="$PULUMI_HOME/versions/$cli_version/bin/pulumi"
    [ -x "$bin" ] && [ "$("$bin" version 2>/dev/null)" = "v$cli_version" ]
}

installed_plugin() {
    local dir="$PULUMI_HOME/plugins/resource-$1-v$2"
    [ -x "$dir/pulumi-resource-$1" ] && [ ! -e "$dir.partial" ]
}

# --- resolve -------------------------------------------------------------------------------
say "CLI v$cli_version, docker $(sdk_version docker), command $(sdk_version command), random $(sdk_version random); PULUMI_HOME=$PULUMI_HOME"

pkg_info=""
if installed_cli; then
    say "already built: pulumi v$cli_version"
else
    need "the Pulumi CLI v$cli_version" github.com/pulumi/pulumi/pkg/v3 "v$cli_version"
    need "the Pulumi CLI v$cli_version" github.com/pulumi/pulumi/sdk/v3 "v$cli_version"
fi
if [ -x "$PULUMI_HOME/versions/$cli_version/bin/pulumi-language-nodejs" ]; then
    say "already built: pulumi-language-nodejs v$cli_version"
else
    pkg_info="$(proxy_info github.com/pulumi/pulumi/pkg/v3 "v$cli_version")"
    if [ -n "$pkg_info" ]; then
        need "the Node.js language host v$cli_version" github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 "$(pseudo_version 3 "$pkg_info")"
    else
        missing+=("the Node.js language host v$cli_version needs github.com/pulumi/pulumi/pkg/v3@v$cli_version to find its commit")
    fi
fi
for plugin in docker:github.com/pulumi/pulumi-docker/sdk:github.com/pulumi/pulumi-docker/provider \
              command:github.com/pulumi/pulumi-command/sdk:github.com/pulumi/pulumi-command/provider \
              random:github.com/pulumi/pulumi-random/sdk:github.com/pulumi/pulumi-random/provider; do
    IFS=: read -r name sdk_module provider_module <<<"$plugin"
    version="$(sdk_version "$name")"
    major="${version%%.*}"
    if installed_plugin "$name" "$version"; then
        say "already built: pulumi-resource-$name v$version"
        continue
    fi
    suffix=""
    [ "$major" -ge 2 ] && suffix="/v$major"
    release_commit "the $name plugin v$version" "$sdk_module$suffix" "v$version" "$major"
    [ -n "$commit" ] && need "the $name plugin v$version" "$provider_module$suffix" "$commit"
done

# --- build ---------------------------------------------------------------------------------
build_cli() {
    local work bin_dir
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' RETURN
    bin_dir="$PULUMI_HOME/versions/$cli_version/bin"
    say "downloading github.com/pulumi/pulumi/{pkg,sdk}/v3@v$cli_version"
    local pkg_dir sdk_dir
    pkg_dir="$(go mod download -json "github.com/pulumi/pulumi/pkg/v3@v$cli_version" | node -p 'JSON.parse(require("fs").readFileSync(0)).Dir')"
    sdk_dir="$(go mod download -json "github.com/pulumi/pulumi/sdk/v3@v$cli_version" | node -p 'JSON.parse(require("fs").readFileSync(0)).Dir')"
    # pkg's go.mod replaces sdk/v3 with ../sdk: lay both out side by side, writable.
    cp -r "$pkg_dir" "$work/pkg"
    cp -r "$sdk_dir" "$work/sdk"
    chmod -R u+w "$work"
    say "building pulumi v$cli_version (a cold build takes about 20 minutes on 2 cores)"
    mkdir -p "$bin_dir"
    (cd "$work/pkg" && CGO_ENABLED=0 go build -trimpath -tags osusergo,grpcnotrace \
        -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$cli_version" \
        -o "$bin_dir/pulumi.partial" ./cmd/pulumi)
    mv "$bin_dir/pulumi.partial" "$bin_dir/pulumi"
    say "installed $bin_dir/pulumi ($("$bin_dir/pulumi" version))"
}

if ! installed_cli && [ -n "$(proxy_info github.com/pulumi/pulumi/pkg/v3 "v$cli_version")" ] \
    && [ -n "$(proxy_info github.com/pulumi/pulumi/sdk/v3 "v$cli_version")" ]; then
    build_cli
fi

if [ "${#missing[@]}" -gt 0 ]; then
    say "cannot install the whole engine; these versions cannot be had:"
    for line in "${missing[@]}"; do say "  - $line"; done
    say "pin the SDK (package.json) to a version whose plugin the proxy serves, or install Pulumi from its release archives"
    exit 1
fi
if [ ! -x "$PULUMI_HOME/versions/$cli_version/bin/pulumi-language-nodejs" ]; then
    # Every module resolved: the proxy now serves what it refused when this script was written
    # (see docs/engine.md), and the steps that build them still have to be added here.
    say "the language host and plugins resolve now, but this script builds only the CLI: see docs/engine.md"
    exit 1
fi
say "done: npx pulumi version prints v$cli_version"
