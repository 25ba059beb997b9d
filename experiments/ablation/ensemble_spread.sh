#!/bin/bash
# Issue 14: the ensemble rows over three disjoint groups of seeds (0-2 = the table's, 3-5, 6-8),
# each scored as the table scores it (metrics=basic, the table's Upsampler for nothing but the
# data; eval seed = group). Seeds 3-8 are trained like `make spread` trains 1 and 2:
#   python -m colorgen.train model=<m> trainer=cpu data=webpages seed=<s> ckpt_dir=checkpoints/webpages/seeds/s<s> trainer.resume=true
# Usage: bash experiments/ablation/ensemble_spread.sh [runs folder]
set -euo pipefail
PY=${PYTHON:-.venv/bin/python}
RUNS=${1:-outputs/webpages/ensemble-runs}
CK=checkpoints/webpages
for m in ${MODELS:-nar cvae}; do
  mkdir -p "$RUNS/g0"
  rm -rf "$RUNS/g0/${m}_ens3" && cp -r "outputs/webpages/table-runs/${m}_ens3" "$RUNS/g0/${m}_ens3"
  for g in 1 2; do
    a=$((3 * g)); b=$((a + 1)); c=$((a + 2))
    $PY -m colorgen.eval experiment=${m}_ens3 data=webpages size=cpu metrics=basic seed=$g logger=none \
      ckpt_dir=$CK/seeds/s$a "ensemble=[$CK/seeds/s$b,$CK/seeds/s$c]" hydra.run.dir="$RUNS/g$g/${m}_ens3"
  done
done
$PY -m colorgen.spread "$RUNS/g0" "$RUNS/g1" "$RUNS/g2" --out experiments/results/webpages/spread_ensembles
