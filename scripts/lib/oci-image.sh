# shellcheck shell=bash
# Builds small images offline: an OCI image layout with a single gzip layer,
# packed as an oci-archive tar for `skopeo copy`. Test images hold the static
# busybox (Debian's busybox-static) and its applet links in /bin; a binary
# image holds one static program and nothing else (zoneplane-probe). The
# build is deterministic (sorted tar, mtime 0, root-owned, gzip -n), so the
# same inputs always give the same manifest digest. Needs: tar, gzip,
# sha256sum, jq, readelf and strip (binutils). Source it after lib/common.sh.

BUSYBOX_BIN=/bin/busybox # shipped by busybox-static
REQUIRED_APPLETS=(sh sleep cat echo true false ls env head dd mkdir)

# OCI architecture name of this machine (Debian names differ for a few).
oci_arch() {
  local arch
  arch=$(dpkg --print-architecture)
  case $arch in
    i386) echo 386 ;;
    armhf | armel) echo arm ;;
    ppc64el) echo ppc64le ;;
    *) echo "$arch" ;;
  esac
}

# add_blob LAYOUT FILE: moves FILE into LAYOUT/blobs/sha256/ under its digest
# and prints "sha256:HEX SIZE".
add_blob() {
  local layout=$1 file=$2 hex size
  hex=$(sha256sum "$file" | cut -d' ' -f1)
  size=$(stat -c %s "$file")
  mv "$file" "$layout/blobs/sha256/$hex"
  echo "sha256:$hex $size"
}

# make_rootfs_tar DEST_TAR: writes the uncompressed layer tar.
make_rootfs_tar() {
  local dest=$1 stage applet
  [[ -x $BUSYBOX_BIN ]] || die "$BUSYBOX_BIN is missing (install busybox-static)"
  stage=$(mktemp -d)
  mkdir -p "$stage"/{bin,dev,etc,proc,root,sys,tmp}
  chmod 0755 "$stage"/{bin,dev,etc,proc,sys}
  chmod 0700 "$stage/root"
  chmod 1777 "$stage/tmp"
  install -m 0755 "$BUSYBOX_BIN" "$stage/bin/busybox"
  for applet in $("$BUSYBOX_BIN" --list); do
    [[ $applet == busybox ]] || ln -s busybox "$stage/bin/$applet"
  done
  for applet in "${REQUIRED_APPLETS[@]}"; do
    [[ -L $stage/bin/$applet ]] || die "busybox lacks the '$applet' applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$stage/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$stage/etc/group"
  chmod 0644 "$stage/etc/passwd" "$stage/etc/group"
  tar -C "$stage" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
    --format=gnu -cf "$dest" bin dev etc proc root sys tmp
  rm -rf "$stage"
}

# pack_image OUT_DIR TAG LAYER_TAR CONFIG_FN [ARGS...]
# Turns the uncompressed LAYER_TAR into OUT_DIR/layout (an OCI image layout)
# and OUT_DIR/image.tar (the same as an oci-archive). CONFIG_FN DIFF_ID
# ARGS... prints the image config for the layer's diff id. Removes LAYER_TAR;
# prints the manifest digest.
pack_image() {
  local out=$1 tag=$2 layer_tar=$3 config_fn=$4
  shift 4
  local layout=$out/layout tmp=$out/tmp diff_id layer config manifest
  mkdir -p "$layout/blobs/sha256" "$tmp"

  diff_id=sha256:$(sha256sum "$layer_tar" | cut -d' ' -f1)
  gzip -n -9 -c "$layer_tar" >"$tmp/layer.tar.gz" # no name or time stored
  rm -f "$layer_tar"
  layer=$(add_blob "$layout" "$tmp/layer.tar.gz")

  "$config_fn" "$diff_id" "$@" >"$tmp/config.json"
  config=$(add_blob "$layout" "$tmp/config.json")

  jq -cn --arg config "$config" --arg layer "$layer" '
    def desc($media; $blob): ($blob | split(" ")) as $b
      | {mediaType: $media, digest: $b[0], size: ($b[1] | tonumber)};
    {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: desc("application/vnd.oci.image.config.v1+json"; $config),
      layers: [desc("application/vnd.oci.image.layer.v1.tar+gzip"; $layer)]
    }' >"$tmp/manifest.json"
  manifest=$(add_blob "$layout" "$tmp/manifest.json")

  jq -cn --arg manifest "$manifest" --arg tag "$tag" '($manifest | split(" ")) as $m | {
      schemaVersion: 2,
      manifests: [{
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: $m[0], size: ($m[1] | tonumber),
        annotations: {"org.opencontainers.image.ref.name": $tag}
      }]
    }' >"$layout/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
  rmdir "$tmp"

  tar -C "$layout" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
    --format=gnu -cf "$out/image.tar" oci-layout index.json blobs
  echo "${manifest%% *}"
}

# busybox_config DIFF_ID CMD_JSON USER: the test images' config. Without USER
# it is byte for byte what it always was (same digests).
busybox_config() {
  jq -cn --arg arch "$(oci_arch)" --arg diff_id "$1" --argjson cmd "$2" \
    --arg user "$3" '{
      created: "1970-01-01T00:00:00Z", architecture: $arch, os: "linux",
      config: ({Env: ["PATH=/bin"], Cmd: $cmd, WorkingDir: "/"}
        + (if $user == "" then {} else {User: $user} end)),
      rootfs: {type: "layers", diff_ids: [$diff_id]}
    }'
}

# build_busybox_image OUT_DIR TAG CMD_JSON [USER]
# Creates OUT_DIR/layout (an OCI image layout) and OUT_DIR/image.tar (the same
# as an oci-archive). CMD_JSON is the image's Cmd, e.g. '["sleep","3600"]';
# USER, when given, is the config's User (e.g. "1000:1000"; the image then
# runs as that user unless told otherwise). Prints the manifest digest.
build_busybox_image() {
  local out=$1 tag=$2 cmd_json=$3 user=${4:-}
  rm -rf "$out"
  mkdir -p "$out"
  make_rootfs_tar "$out/layer.tar"
  pack_image "$out" "$tag" "$out/layer.tar" busybox_config "$cmd_json" "$user"
}

# is_static_elf FILE: true if FILE is an ELF executable that needs no dynamic
# loader (no PT_INTERP program header, no dynamic section).
is_static_elf() {
  local headers
  headers=$(LC_ALL=C readelf -lW "$1" 2>/dev/null) || return 1
  ! grep -qE '^[[:space:]]*(INTERP|DYNAMIC)[[:space:]]' <<<"$headers"
}

# binary_config DIFF_ID ENTRYPOINT USER: an image that runs one program, as
# USER, with no environment of its own.
binary_config() {
  jq -cn --arg arch "$(oci_arch)" --arg diff_id "$1" --arg entry "$2" --arg user "$3" '{
      created: "1970-01-01T00:00:00Z", architecture: $arch, os: "linux",
      config: {Entrypoint: [$entry], User: $user, WorkingDir: "/"},
      rootfs: {type: "layers", diff_ids: [$diff_id]}
    }'
}

# build_binary_image OUT_DIR TAG BINARY [USER]
# An image whose only file is BINARY (statically linked; stripped of its
# symbols) at /NAME, its entrypoint, running as USER (default 65534:65534,
# nobody). Writes OUT_DIR/layout and OUT_DIR/image.tar like
# build_busybox_image; prints the manifest digest. Dies when BINARY is not a
# static executable: the image has no libraries for it.
build_binary_image() {
  local out=$1 tag=$2 binary=$3 user=${4:-65534:65534} name stage
  [[ -f $binary && -x $binary ]] || die "$binary is not an executable file"
  is_static_elf "$binary" || die "$binary is not a statically linked executable"
  name=$(basename "$binary")
  rm -rf "$out"
  mkdir -p "$out"
  stage=$(mktemp -d)
  # strip(1) output depends only on its input: the same build gives the same digest.
  strip -o "$stage/$name" "$binary"
  chmod 0755 "$stage/$name"
  tar -C "$stage" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
    --format=gnu -cf "$out/layer.tar" "$name"
  rm -rf "$stage"
  pack_image "$out" "$tag" "$out/layer.tar" binary_config "/$name" "$user"
}
