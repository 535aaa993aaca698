#!/usr/bin/env bash
# The main job end to end on embedded defaults: build, create a repository in a
# temporary directory, commit the sample assets, change one, commit again, show
# history and dedup statistics, and prove the store whole with fsck.
set -euo pipefail
cd "$(dirname "$0")/.."
project="$PWD"
cargo build --release --quiet
GADN="$PWD/target/release/gadn"
work=$(mktemp -d "${TMPDIR:-/tmp}/gadn-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
export GADN_AUTHOR_NAME="Demo Artist" GADN_AUTHOR_EMAIL="artist@example.org"
# The identity key (made by the first `gadn lock`) lives with the demo, not in ~/.config.
export GADN_HOME="$work/home"
# Previews are made before `commit` returns (the default makes them in a background
# process, which could outlive this script's temporary directory).
export GADN_PREVIEW_ON_COMMIT=wait

echo "== repository in $work"
"$GADN" init "$work/repo"
cp -r fixtures "$work/repo/assets"
cd "$work/repo"
"$GADN" add .
"$GADN" commit -m "Import sample assets"

echo "== edit one asset (append 1 MiB to the largest file) and commit again"
big=$(find assets -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2-)
head -c 1048576 /dev/urandom >> "$big"
"$GADN" status
"$GADN" commit -a -m "Extend $big"

echo "== history"
"$GADN" log --oneline
"$GADN" show HEAD
echo "== storage"
"$GADN" stats
echo "== integrity"
"$GADN" fsck
echo "== two artists edit the same texture on two branches, then merge"
"$GADN" switch -c lighting
printf 'lighting pass' >> assets/texture.png
"$GADN" commit -a -m "Relight the texture"
"$GADN" switch main
printf 'colour pass' >> assets/texture.png
"$GADN" commit -a -m "Recolour the texture"
"$GADN" merge lighting || echo "(merge stopped on a conflict, as it must for a binary asset)"
"$GADN" status
"$GADN" resolve assets/texture.png --both
"$GADN" commit -m "Merge lighting, keeping both textures"
"$GADN" log --oneline -n 4
ls assets/texture*.png

echo "== restore the first version of $big and compare"
first=$("$GADN" log --oneline | tail -1 | cut -d' ' -f1)
"$GADN" cat "$first:$big" | cmp - "$OLDPWD/fixtures/${big#assets/}"
echo "$first:$big (the first commit) is byte-identical to the original"

echo "== creative metadata, versioned with the asset"
"$GADN" meta set assets/texture.png author="Demo Artist" created=2026-11-02 tags+=hero,wip notes="lighting and colour passes merged"
"$GADN" commit -m "Describe the hero texture"
"$GADN" meta show assets/texture.png
"$GADN" diff HEAD~1 HEAD
echo "== find assets"
"$GADN" find --tag hero
"$GADN" find --class audio
echo "== an advisory lock on the texture"
"$GADN" lock assets/texture.png
"$GADN" locks
"$GADN" unlock assets/texture.png
echo "== history of one asset"
"$GADN" history assets/texture.png
echo "== previews, made at commit: a texture, a mesh, a sound, a .blend thumbnail"
"$GADN" preview assets/texture.png
"$GADN" preview assets/preview/mesh/cube.glb
"$GADN" preview assets/tone.wav --role waveform --out "$work/tone-waveform.png"
"$GADN" preview assets/preview/blend/red_cube_zstd.blend --level 64 --out "$work/cube-64.png"
"$GADN" preview assets/preview/texture/bc1_mips.dds
"$GADN" fsck

echo "== the same assets inside a Git repository, through gadn's filter"
export GIT_AUTHOR_NAME="Demo Artist" GIT_AUTHOR_EMAIL="artist@example.org"
export GIT_COMMITTER_NAME="Demo Artist" GIT_COMMITTER_EMAIL="artist@example.org"
git init -q -b main "$work/game"
cp -r "$project/fixtures" "$work/game/assets"
cd "$work/game"
"$GADN" git install
git add -A && git commit -q -m "Assets through gadn"
echo "Git stores a pointer for assets/texture.png:"
git cat-file -p HEAD:assets/texture.png
rm assets/texture.png && git checkout -- assets/texture.png
cmp assets/texture.png "$project/fixtures/texture.png"
echo "assets/texture.png restored byte for byte"
git status --short | wc -l | xargs echo "git status: changed files:"
"$GADN" git fsck

echo "== two peers on loopback: alice serves the repository, bob clones it over QUIC"
cd "$work/repo"
bob_home="$work/bob-home"
bob_key=$(GADN_HOME="$bob_home" "$GADN" id)
# The first `peer add` founds the member list, naming this machine after the author.
GADN_AUTHOR_NAME=alice "$GADN" peer add bob "$bob_key"
"$GADN" peer list
"$GADN" serve --listen 127.0.0.1:0 --no-lan >"$work/serve.out" 2>"$work/serve.log" &
serve_pid=$!
trap 'kill "$serve_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 50); do grep -q '^Serving' "$work/serve.out" && break; sleep 0.1; done
addr=$(sed -n 's/^Serving .* on //p' "$work/serve.out")
alice_key=$("$GADN" id)
echo "alice serves at $addr as $alice_key"
GADN_HOME="$bob_home" GADN_AUTHOR_NAME="Bob" "$GADN" clone "$alice_key@$addr" "$work/bob"
cd "$work/bob"
GADN_HOME="$bob_home" "$GADN" log --oneline -n 3
echo "== bob edits the largest asset and pushes it to alice as a branch"
head -c 4096 /dev/urandom >> "$big"
GADN_HOME="$bob_home" GADN_AUTHOR_NAME="Bob" "$GADN" commit -a -m "Bob extends $big"
GADN_HOME="$bob_home" "$GADN" push alice main:bob-main
echo "== alice merges bob's branch; only the new chunks crossed the wire"
cd "$work/repo"
"$GADN" merge bob-main
"$GADN" log --oneline -n 2
echo "== bob fetches alice's metadata-only change back (incremental: a few objects)"
"$GADN" meta set "$big" notes="reviewed by alice"
"$GADN" commit -m "Review $big"
cd "$work/bob"
GADN_HOME="$bob_home" "$GADN" pull
GADN_HOME="$bob_home" "$GADN" fsck
kill -TERM "$serve_pid"
wait "$serve_pid" || true
tail -n 1 "$work/serve.log"
