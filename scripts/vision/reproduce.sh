#!/usr/bin/env bash
# The tiny vision model (issue #22) in one command, from the repository root after `npm run build`:
#
#   scripts/vision/reproduce.sh [OUT_DIR] [--install]
#
# Resumable: every stage is skipped once its output exists, and a stage that was stopped continues
# from its checkpoint when the script is run again (encoder every 25 steps, language model every 10).
# --install copies the final pair to models/edgellm-vision-{lm,mmproj}-f32.gguf, the files
# `edgellm run --image` uses when neither -m nor --mmproj is given.
#
# Stages and their times on the 2-core VM, from per-step rates measured in training runs (the whole
# script has not been timed in one go): ~55 min with the CPU to itself, ~2 h on a loaded machine.
#   1 atlas    glyph bitmaps of the system TrueType fonts (glyphs.py)                    ~1.5 min
#   2 lm-cells the default model tuned to read true cells, 300 steps of 8 x 192 tokens  6-13 min
#   3 encoder  ViT + mlp projector from scratch on the TS trainer, 1700 steps of 32     36-65 min
#   4 lm-rows  stage 2's model tuned on the encoder's own rows, 300 steps               6-13 min
#   5 eval     held-out fonts and positions: encoder cells on 200 images, answers on 40  ~3 min
# (encoder: 24.9 images/s at the start of an unloaded run, 14 under load; language model: 1,225
# tokens/s in the fastest run logged (LM6), 595 under load; the train-*.mjs logs print these rates.)
# The shipped pair took a longer road (the encoder was first trained by an earlier numpy trainer,
# then continued on the TS one and grown to 4 blocks with FFN 512; see docs/vision.md), so a rerun
# gives a smaller pair of the same kind (3 blocks, FFN 256), not the shipped files.
set -euo pipefail
OUT=build/vision/repro
INSTALL=0
for a in "$@"; do
  case "$a" in
    --install) INSTALL=1 ;;
    -*) echo "unknown option $a" >&2; exit 1 ;;
    *) OUT="$a" ;;
  esac
done
BASE=models/edgellm-default-f32.gguf
ATLAS=build/vision/atlas
mkdir -p "$OUT"
resume() { [ -e "$1" ] && echo --resume || true; }
t0=$(date +%s)
say() { echo "[$(( $(date +%s) - t0 )) s] $*"; }

if [ ! -e "$ATLAS.json" ]; then
  say "1 atlas"
  python3 scripts/vision/glyphs.py /usr/share/fonts/truetype "$ATLAS"
fi
if [ ! -e "$OUT/lm-cells/edgellm-vision-lm-f32.gguf" ]; then
  say "2 lm-cells"
  node scripts/vision/train-lm.mjs "$OUT/lm-cells" --steps 300 --seq-len 192 --lr 1e-3 \
    $(resume "$OUT/lm-cells/lm.ckpt")
fi
if [ ! -e "$OUT/enc/mmproj-f32.gguf" ]; then
  say "3 encoder"
  node scripts/vision/train-encoder.mjs "$BASE" "$OUT/enc" 1700 $(resume "$OUT/enc/encoder.ckpt")
fi
if [ ! -e "$OUT/lm-rows/edgellm-vision-lm-f32.gguf" ]; then
  say "4 lm-rows"
  node scripts/vision/train-lm.mjs "$OUT/lm-rows" --examples 6000 --data-seed 202 --steps 300 --seq-len 192 \
    --lr 3e-4 --base "$OUT/lm-cells/edgellm-vision-lm-f32.gguf" --mmproj "$OUT/enc/mmproj-f32.gguf" \
    $(resume "$OUT/lm-rows/lm.ckpt")
fi
LM="$OUT/lm-rows/edgellm-vision-lm-f32.gguf"
MM="$OUT/enc/mmproj-f32.gguf"
say "5 eval"
[ -e "$OUT/test/labels.json" ] || node scripts/vision/render.mjs "$OUT/test" 200 2024 test
node scripts/vision/eval.mjs --lm "$LM" --mmproj "$MM" --dir "$OUT/test" --n 200 --cells-only --show 0
node scripts/vision/eval.mjs --lm "$LM" --mmproj "$MM" --dir "$OUT/test" --n 40 --show 0
if [ "$INSTALL" = 1 ]; then
  cp "$LM" models/edgellm-vision-lm-f32.gguf
  cp "$MM" models/edgellm-vision-mmproj-f32.gguf
  say "installed models/edgellm-vision-lm-f32.gguf and models/edgellm-vision-mmproj-f32.gguf"
fi
say "done"
