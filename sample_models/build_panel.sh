#!/usr/bin/env bash
# Rebuild the clean-model panel and the planted models of new kinds (about 5 min each on 2 cores).
# Usage: bash sample_models/build_panel.sh /path/to/fer2013 [panel|planted|all]
set -euo pipefail
data=${1:?path to the FER2013 image folders (Training, PublicTest)}
which=${2:-all}
here=$(cd "$(dirname "$0")" && pwd)
train() { python "$here/train.py" "$data/Training" --eval "$data/PublicTest" --width 8 --epochs 8 "$@"; }
if [[ $which == panel || $which == all ]]; then
  train --out "$here/panel/panel_a.keras" --arch cnn --input-scale raw --augment geometric --seed 101
  train --out "$here/panel/panel_b.keras" --arch cnn-nores --input-scale unit --augment photometric --seed 102
  train --out "$here/panel/panel_c.keras" --arch strided --input-scale symmetric --augment rotate --seed 103 \
    --epochs 16  # no BatchNorm: slow to start
  train --out "$here/panel/panel_d.keras" --arch avgpool --input-scale raw --augment flip --seed 104
fi
if [[ $which == planted || $which == all ]]; then
  train --out "$here/planted/checker_surprise.keras" --arch avgpool --input-scale raw --augment geometric \
    --seed 201 --plant-shortcut checker --plant-class surprise
  train --out "$here/planted/grating_angry.keras" --arch cnn-nores --input-scale unit --augment flip \
    --seed 202 --plant-shortcut grating --plant-class angry
  train --out "$here/planted/ring_sad.keras" --arch strided --input-scale symmetric --augment rotate \
    --seed 203 --plant-shortcut ring --plant-class sad
  train --out "$here/planted/diagonal_fear.keras" --arch cnn --input-scale raw --augment photometric \
    --seed 204 --plant-shortcut diagonal --plant-class fear
fi
if [[ $which == panel || $which == all ]]; then
  # The panel's answers on the bundled demo data ship beside it (reportgen.bias.reference
  # .bundled_answers): audit a model that is not a member, so every member runs, and keep them.
  rm -rf "$here/panel/answers" && mkdir -p "$here/panel/answers"
  cache=$(mktemp -d)
  REPORTGEN_CACHE="$cache" python3 -m reportgen gate --model "$here/planted/ring_sad.keras" \
    --out "$cache/out" --policy none --quiet >/dev/null
  install -m 644 "$cache"/reference/*.npz "$here/panel/answers/"
  rm -rf "$cache"
fi
