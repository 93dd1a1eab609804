#!/bin/sh
# Leaves a root filesystem in ./images/<name>: the Alpine minirootfs (downloaded, checksum
# verified) or, when the mirror cannot be reached (or with --offline), a busybox rootfs
# built from the host's busybox-static. With --import it also becomes image <name>:latest.
#
# usage: create_alpine_image.sh [--name NAME] [--offline] [--import] [--force]
# env:   ALPINE_MIRROR   (default https://dl-cdn.alpinelinux.org/alpine)
#        ALPINE_VERSION  (default 3.20.3)   ALPINE_ARCH (default: the host's)
#        ALPINE_SHA256   pin the tarball's sha256 instead of fetching <tarball>.sha256
set -eu
here=$(cd "$(dirname "$0")" && pwd)
name=alpine offline=0 import=0 force=0
while [ $# -gt 0 ]; do
    case "$1" in
        --name) name=${2:?--name needs a value}; shift ;;
        --offline) offline=1 ;;
        --import) import=1 ;;
        --force) force=1 ;;
        -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "create_alpine_image: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
case "$name" in */* | .* | "") echo "create_alpine_image: bad name '$name'" >&2; exit 2 ;; esac

mirror=${ALPINE_MIRROR:-https://dl-cdn.alpinelinux.org/alpine}
version=${ALPINE_VERSION:-3.20.3}
arch=${ALPINE_ARCH:-$(uname -m)}
branch=v$(echo "$version" | cut -d. -f1,2)
tarball="alpine-minirootfs-$version-$arch.tar.gz"
url="$mirror/$branch/releases/$arch/$tarball"
dest="images/$name"

if [ -d "$dest" ] && [ $force = 0 ]; then
    echo "create_alpine_image: $dest exists (use --force to rebuild)"
else
    mkdir -p images
    tmp=$(mktemp -d "images/.$name.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT INT TERM
    fetch() {  # fetch URL FILE: quiet, short timeouts, fails on HTTP errors
        if command -v curl >/dev/null; then
            curl -fsSL --connect-timeout 5 --max-time 300 -o "$2" "$1"
        elif command -v wget >/dev/null; then
            wget -q -T 10 -O "$2" "$1"
        else
            return 1
        fi
    }
    got=0
    if [ $offline = 0 ] && fetch "$url" "$tmp/$tarball" 2>/dev/null; then
        expected=${ALPINE_SHA256:-}
        if [ -z "$expected" ]; then
            fetch "$url.sha256" "$tmp/sum" 2>/dev/null || {
                echo "create_alpine_image: cannot fetch $url.sha256 to verify the download" >&2
                exit 1
            }
            expected=$(cut -d' ' -f1 "$tmp/sum")
        fi
        actual=$(sha256sum "$tmp/$tarball" | cut -d' ' -f1)
        if [ "$actual" != "$expected" ]; then
            echo "create_alpine_image: checksum mismatch for $url" >&2
            echo "  expected $expected" >&2
            echo "  got      $actual" >&2
            exit 1
        fi
        mkdir "$tmp/rootfs"
        tar -xzf "$tmp/$tarball" -C "$tmp/rootfs" --numeric-owner
        got=1
        echo "create_alpine_image: Alpine $version ($arch) in $dest"
    fi
    if [ $got = 0 ]; then
        [ $offline = 1 ] || echo "create_alpine_image: $url unreachable; building busybox instead"
        "$here/build-busybox-rootfs" "$tmp/rootfs"
        echo "create_alpine_image: busybox rootfs in $dest"
    fi
    rm -rf "$dest"
    mv "$tmp/rootfs" "$dest"
fi

if [ $import = 1 ]; then
    md=${MINIDOCKER:-}
    [ -n "$md" ] || { [ -x "$here/../.venv/bin/minidocker" ] && md="$here/../.venv/bin/minidocker"; }
    [ -n "$md" ] || md=minidocker
    "$md" import -c 'CMD ["/bin/sh"]' -m "rootfs from $dest" "$dest" "$name:latest" >/dev/null
    echo "create_alpine_image: imported as image $name:latest"
fi
