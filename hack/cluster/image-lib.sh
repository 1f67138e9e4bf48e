# Image building without a registry or Docker engine (sourced by images.sh).
# Root filesystems from Debian's packages (debootstrap, apt-get download +
# dpkg-deb), OCI images with umoci in one layout (.cache/cluster/oci, so
# images share their base layer), docker-archives with skopeo, each archive
# named by a key of its inputs: an existing archive is never rebuilt.
OCI="$CL/oci"
ROOTFS="$CL/rootfs"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm # the builder's Debian (glibc 2.36), as the Dockerfile's golang:bookworm

key() { sha256sum | cut -c1-16; }

# full_ref REF: the name containerd stores REF under (docker.io/library/ for short names).
full_ref() {
  local ref=$1 first=${1%%/*}
  case "$ref" in
  */*) case "$first" in *.* | *:* | localhost) echo "$ref" ;; *) echo "docker.io/$ref" ;; esac ;;
  *) echo "docker.io/library/$ref" ;;
  esac
}

oci_init() {
  [ -f "$OCI/index.json" ] && return
  umoci init --layout "$OCI"
  umoci new --image "$OCI:scratch"
}

# base_rootfs: the minimal Debian root filesystem (debootstrap --variant=minbase), made once.
base_rootfs() {
  local dir="$ROOTFS/$SUITE-minbase"
  if [ ! -f "$dir.done" ]; then
    log "debootstrap --variant=minbase $SUITE (once; cached in $dir)"
    rm -rf "$dir"
    mkdir -p "$ROOTFS"
    debootstrap --variant=minbase "$SUITE" "$dir" "$DEBIAN_MIRROR" >"$ROOTFS/debootstrap.log" 2>&1 \
      || die "debootstrap failed (see $ROOTFS/debootstrap.log)"
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
    touch "$dir.done"
  fi
  echo "$dir"
}

# add_packages ROOTFS PKG...: extracts PKG and the dependencies ROOTFS lacks
# (resolved by apt against ROOTFS's dpkg status) into ROOTFS. Maintainer
# scripts do not run: the image recipes create users and links themselves.
add_packages() {
  local rootfs=$1; shift
  local dl="$ROOTFS/debs"
  mkdir -p "$dl/partial"
  apt-get install -qq -y --download-only --no-install-recommends \
    -o Dir::State::status="$rootfs/var/lib/dpkg/status" -o Dir::Cache::archives="$dl" \
    -o Debug::NoLocking=1 "$@" >"$ROOTFS/apt.log" 2>&1 || {
    log "apt-get update (the package lists are missing or old)"
    apt-get update -qq >/dev/null || die "apt-get update failed: Debian's package mirror is not reachable"
    apt-get install -qq -y --download-only --no-install-recommends \
      -o Dir::State::status="$rootfs/var/lib/dpkg/status" -o Dir::Cache::archives="$dl" \
      -o Debug::NoLocking=1 "$@" >"$ROOTFS/apt.log" 2>&1 || die "downloading $* failed (see $ROOTFS/apt.log)"
  }
  local deb pkgs
  pkgs="$(apt-get install -s --no-install-recommends -o Dir::State::status="$rootfs/var/lib/dpkg/status" \
    -o Debug::NoLocking=1 "$@" 2>/dev/null | sed -n 's/^Inst \([^ ]*\) .*/\1/p')"
  for p in $pkgs; do
    deb="$(ls "$dl/${p%%:*}"_*.deb 2>/dev/null | sort -V | tail -1)"
    [ -n "$deb" ] || die "no .deb of $p in $dl"
    dpkg-deb --fsys-tarfile "$deb" | tar -C "$rootfs" --keep-directory-symlink -xf -
  done
}

# add_user ROOTFS NAME UID HOME: a user and group NAME with id UID.
add_user() {
  sed -i "/^$2:/d" "$1/etc/passwd" "$1/etc/group"
  echo "$2:x:$3:$3:$2:$4:/usr/sbin/nologin" >>"$1/etc/passwd"
  echo "$2:x:$3:" >>"$1/etc/group"
  mkdir -p "$1$4" && chown "$3:$3" "$1$4"
}

# prune_tags NAME KEEP: removes the layout's other NAME-<key> tags (images of
# older inputs; every tag is a whole image, so no other depends on them) and
# their archives; build_all's `umoci gc` then frees their blobs.
prune_tags() {
  local t
  for t in $(umoci ls --layout "$OCI" | grep -E "^$1-[0-9a-f]{16}\$" | grep -vx "$2" || true); do
    umoci rm --image "$OCI:$t" >/dev/null
    rm -f "$CL_IMAGES/$t.tar"
  done
}

# build_image NAME REF KEY FROM POPULATE [umoci config args...]: unless
# $CL_IMAGES/NAME-KEY.tar exists, unpacks image FROM of the layout ("scratch"
# or a tag), runs POPULATE ROOTFS, repacks it as tag NAME-KEY, applies the
# config and writes the docker-archive tagged REF (REF "-": a base for other
# images, kept in the layout only).
build_image() {
  local name=$1 ref=$2 k from=$4 populate=$5
  k="$(echo "$3 $ref" | key)" # a new tag is a new image
  shift 5
  local tar="$CL_IMAGES/$name-$k.tar" bundle="$CL/bundle-$name"
  oci_init
  prune_tags "$name" "$name-$k"
  if [ "$ref" = - ]; then
    umoci ls --layout "$OCI" | grep -qx "$name-$k" && return
  elif [ -f "$tar" ]; then
    return
  fi
  log "image ${ref/#-/$name} ($name-$k)"
  mkdir -p "$CL_IMAGES"
  rm -rf "$bundle"
  umoci unpack --image "$OCI:$from" "$bundle" >/dev/null
  "$populate" "$bundle/rootfs"
  umoci repack --image "$OCI:$name-$k" "$bundle" >/dev/null
  umoci config --image "$OCI:$name-$k" --os linux --architecture amd64 --author bookstore "$@" >/dev/null
  rm -rf "$bundle"
  [ "$ref" = - ] && return
  rm -f "$CL_IMAGES/$name"-*.tar
  skopeo copy --quiet "oci:$OCI:$name-$k" "docker-archive:$tar.tmp:$(full_ref "$ref")" >&2
  mv "$tar.tmp" "$tar"
}
