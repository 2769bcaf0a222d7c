#!/usr/bin/env bash
# Installs the system programs scratchgrad's pictures and browser tests need, when
# missing and when we may (root with apt-get). Elsewhere it only says what is missing.
set -u
need=()
command -v dot >/dev/null 2>&1 || need+=(graphviz)
if [ "${SCRATCHGRAD_NEED_BROWSER:-0}" = 1 ] && ! [ -x /usr/bin/chromium ]; then
  need+=(chromium)
fi
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${need[*]} with apt-get ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
    || { echo "apt-get install ${need[*]} failed" >&2; exit 1; }
else
  echo "note: ${need[*]} missing and not root: install with your package manager (e.g. sudo apt-get install ${need[*]})." >&2
fi
