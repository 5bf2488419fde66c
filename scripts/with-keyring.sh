#!/bin/sh
# Runs a command with a private, unlocked Secret Service (gnome-keyring on its own D-Bus session
# bus, state in a throwaway folder), so the CLI's keychain code is tested against the real store
# it uses on desktops, without touching the user's keyring. Usage: scripts/with-keyring.sh CMD [ARGS...]
set -eu

if [ "$#" -eq 0 ]; then
  echo "usage: scripts/with-keyring.sh COMMAND [ARGS...]" >&2
  exit 2
fi
for tool in dbus-run-session dbus-send gnome-keyring-daemon; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "with-keyring: '$tool' is missing; install it with: apt-get install -y dbus gnome-keyring" >&2
    exit 127
  fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/zdx-keyring.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$tmp/data" "$tmp/cache" "$tmp/runtime"
chmod 700 "$tmp/runtime"
export XDG_DATA_HOME="$tmp/data" XDG_CACHE_HOME="$tmp/cache" XDG_RUNTIME_DIR="$tmp/runtime"

set +e
dbus-run-session -- sh -c '
  # A fresh login keyring, created and unlocked with a throwaway password.
  printf pass | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
  i=0
  until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true"; do
    i=$((i + 1))
    if [ "$i" -gt 100 ]; then
      echo "with-keyring: gnome-keyring did not claim org.freedesktop.secrets within 10 s" >&2
      exit 1
    fi
    sleep 0.1
  done
  exec "$@"
' with-keyring "$@"
rc=$?
set -e
exit "$rc"
