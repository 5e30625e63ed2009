#!/usr/bin/env bash
# Runs a command on one of the WebGPU backends of Deno the project is tested on:
#
#   tools/backend.sh lavapipe|swiftshader|gl COMMAND...
#   tools/backend.sh gl deno test -A tests/golden_test.ts
#   tools/backend.sh swiftshader deno task train --epochs 1
#
#   lavapipe     Vulkan on Mesa's llvmpipe        (Debian: mesa-vulkan-drivers)
#   swiftshader  Vulkan on Chromium's SwiftShader (Debian: chromium)
#   gl           OpenGL ES on Mesa's llvmpipe     (Debian: libegl1 libegl-mesa0 libgl1-mesa-dri)
#
# Vulkan backends get DENO_WEBGPU_BACKEND=vulkan and the Vulkan loader sees only that driver
# (VK_ICD_FILENAMES, VK_DRIVER_FILES); gl gets DENO_WEBGPU_BACKEND=gl.
set -euo pipefail

usage() {
  echo "usage: $0 lavapipe|swiftshader|gl COMMAND..." >&2
  exit 2
}
[ $# -ge 2 ] || usage
backend=$1
shift

vulkan() { # driver manifest, package that provides it
  if [ ! -f "$1" ]; then
    echo "$0: no $backend Vulkan driver at $1: install $2" >&2
    exit 1
  fi
  export DENO_WEBGPU_BACKEND=vulkan VK_ICD_FILENAMES="$1" VK_DRIVER_FILES="$1"
}

case "$backend" in
  lavapipe) vulkan "/usr/share/vulkan/icd.d/lvp_icd.$(uname -m).json" mesa-vulkan-drivers ;;
  swiftshader) vulkan /usr/lib/chromium/vk_swiftshader_icd.json chromium ;;
  gl)
    unset VK_ICD_FILENAMES VK_DRIVER_FILES
    export DENO_WEBGPU_BACKEND=gl
    ;;
  *) usage ;;
esac
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-${TMPDIR:-/tmp}}"
exec "$@"
