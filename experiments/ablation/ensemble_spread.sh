#!/bin/bash
# Issue 14: the ensemble rows over three disjoint groups of seeds (0-2 = the table's, 3-5, 6-8),
# each scored as the table scores it (metrics=basic, the table's Upsampler for nothing but the
# data; eval seed = group). Seeds 3-8 are trained like `make spread` trains 1 and 2:
#   python -m colorgen.train model=<m> trainer=cpu data=webpages seed=<s> ckpt_dir=checkpoints/webpages/seeds/s<s> trainer.resume=true
# Usage: bash experiments/ablation/ensemble_spread.sh [runs folder]   (ROWS: the experiment files, default
# nar_ens3 cvae_ens3 nar_ens3_aa)
set -euo pipefail
PY=${PYTHON:-.venv/bin/python}
RUNS=${1:-outputs/webpages/ensemble-runs}
CK=checkpoints/webpages
for r in ${ROWS:-nar_ens3 cvae_ens3 nar_ens3_aa}; do
  mkdir -p "$RUNS/g0"
  rm -rf "$RUNS/g0/$r" && cp -r "outputs/webpages/table-runs/$r" "$RUNS/g0/$r"
  for g in 1 2; do
    a=$((3 * g)); b=$((a + 1)); c=$((a + 2))
    $PY -m colorgen.eval experiment=$r data=webpages size=cpu metrics=basic seed=$g logger=none \
      ckpt_dir=$CK/seeds/s$a "ensemble=[$CK/seeds/s$b,$CK/seeds/s$c]" hydra.run.dir="$RUNS/g$g/$r"
  done
done
$PY -m colorgen.spread "$RUNS/g0" "$RUNS/g1" "$RUNS/g2" --out experiments/results/webpages/spread_ensembles
