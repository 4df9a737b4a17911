#!/usr/bin/env bash
# Builds the inspector's wasm into web/pkg/ (git-ignored): the release wasm32 build of
# meguri-wasm, wasm-bindgen --target web, then wasm-opt -Oz from npm's binaryen when it is
# installed (npm ci in web/). Needs the wasm32 target and wasm-bindgen-cli at the crate's
# exact version (.ci/web installs both). `meguri web` embeds web/ and web/pkg/ when built after.
set -euo pipefail
cd "$(dirname "$0")/.."
want=$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' wasm/Cargo.toml)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  echo "web/build.sh: wasm-bindgen $want is needed (found: ${have:-none}); cargo install wasm-bindgen-cli --version $want --locked" >&2
  exit 1
fi
target_dir=${CARGO_TARGET_DIR:-target}
cargo build --release -p meguri-wasm --target wasm32-unknown-unknown
rm -rf web/pkg
wasm-bindgen --target web --no-typescript --out-dir web/pkg \
  "$target_dir/wasm32-unknown-unknown/release/meguri_wasm.wasm"
opt=web/node_modules/.bin/wasm-opt
if [ -x "$opt" ]; then
  raw=$(stat -c %s web/pkg/meguri_wasm_bg.wasm)
  "$opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    web/pkg/meguri_wasm_bg.wasm -o web/pkg/meguri_wasm_bg.opt.wasm
  mv web/pkg/meguri_wasm_bg.opt.wasm web/pkg/meguri_wasm_bg.wasm
  echo "wasm-opt -Oz: $raw -> $(stat -c %s web/pkg/meguri_wasm_bg.wasm) bytes"
else
  echo "NOTE: $opt is absent (npm ci in web/ installs it); the wasm is not size-optimised" >&2
fi
ls -l web/pkg
