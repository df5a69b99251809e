# Sourced by the scripts: TARGET_DIR is where cargo puts binaries, as cargo itself reports it
# (CARGO_TARGET_DIR, relative or absolute, and .cargo/config.toml's build.target-dir included).
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps 2>/dev/null \
  | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
TARGET_DIR=${TARGET_DIR:-$(pwd)/target}
