#!/usr/bin/env bash
# One fixed-budget CIFAR-10 run per family on a GPU, with the classifier-feature FID over time
# (metrics.jsonl, metric_curves in the run folder) and the final sample grid; for docs/benchmarks.md.
#
#   mkdir -p .devdata && cp ../shared/data/cifar10-jpeg.tar.gz .devdata/   # git-ignored, carried to the GPU
#   BUDGET=420 OUT=out bash benchmarks/cifar10_budget.sh sagan mspgsen
#
# Each run trains for BUDGET seconds of wall clock (train.time_limit), evaluating FID[classifier:cifar10]
# on 5,000 samples every EVAL_EVERY steps. The classifier is trained first (about a minute on a GPU).
set -euo pipefail
DATA=${DATA:-.devdata}
OUT=${OUT:-runs/cifar10-budget}
BUDGET=${BUDGET:-420}
EVAL_EVERY=${EVAL_EVERY:-1000}
BATCH=${BATCH:-256}
MSPGSEN=${MSPGSEN:-python3 -m mspgsen}
mkdir -p "$OUT"
$MSPGSEN classifier train --data cifar10 --data-root "$DATA" --device cuda --epochs 5
families=("$@")
[ ${#families[@]} -gt 0 ] || families=(sagan mspgsen)
for family in "${families[@]}"; do
  $MSPGSEN train --model "$family" --data cifar10 --data-root "$DATA" --image-size 32 --device cuda \
    --precision bf16 --batch-size "$BATCH" --steps 1000000 --out "$OUT/$family" \
    --set train.time_limit="$BUDGET" --set train.eval_every="$EVAL_EVERY" --set train.eval_n=5000 \
    --set train.eval_features=classifier --set train.progress=false --set train.log_every=200 \
    --set train.sample_every=2000 --set train.checkpoint_every=5000 2>&1 | tail -n 40
done
