#!/bin/bash
# decoding.contrast_reveal off / on, + AA rows of NAR and CVAE seeds 0-2 (experiments/contrast/reveal.md).
# Usage: experiments/contrast/reveal_check.sh DATA SPLIT OUT, e.g. `webpages val`, or `registry train`
# (the registry corpus's pages are unseen by models trained on data=webpages: make corpus, then
# python -m colorgen.extract data=registry fidelity.enabled=false). Prints pages and acc RGB.
set -e
data=${1:-webpages} split=${2:-val} out=${3:-outputs/reveal_check}/$1-$2
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} PYTHONPATH=${PYTHONPATH:-src}
mkdir -p "$out"
for m in nar cvae; do for s in 0 1 2; do
  ck=checkpoints/webpages; test $s = 0 || ck=checkpoints/webpages/seeds/s$s
  for v in plain false true; do
    args="experiment=${m}_aa decoding.contrast_reveal=$v"; test $v = plain && args="experiment=$m"
    d=$out/$m-s$s-$v
    test -f "$d/metrics.json" || python -m colorgen.eval $args data=$data size=cpu metrics=basic split=$split seed=$s \
      ckpt_dir=$ck upsampler_ckpt=checkpoints/webpages/upsampler/best.pt logger=none hydra.run.dir="$d" > "$d.log" 2>&1
    python -c "import json; m = json.load(open('$d/metrics.json')); print('$m s$s reveal=$v', m['pages'], round(m['acc_rgb'], 4))"
  done
done; done
