#!/usr/bin/env bash
# The whole GPU check in one script, sized for 12 minutes of device time; its output goes to
# docs/benchmarks.md ("GPU suite"). Run it only where a GPU is lent:
#
#   mkdir -p .devdata && cp -r ../shared/data/mnist .devdata/          # git-ignored, carried to the GPU
#   OUT=$OUT bash benchmarks/gpu_suite.sh                               # PYTHONPATH=src is set here
#
# 1. pytorch/examples' DCGAN (fp32, eager) against our dcgan at the same architecture, 32x32 and 64x64,
#    batch 64 (about 1 minute).
# 2. Throughput of dcgan, sagan and mspgsen at 32x32 and 64x64, batch 256: eager-fp32, eager-bf16 and
#    torch.compile (about 6 minutes, most of it compiling).
# 3. A short Stacked MNIST run of dcgan (BUDGET seconds, default 150) with its modes, KL and
#    confident-sample share over 26,000 samples, after training the MNIST classifier.
set -uo pipefail
export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH}
DATA=${DATA:-.devdata}
OUT=${OUT:-runs/gpu-suite}
BUDGET=${BUDGET:-150}
PY=${PY:-python3}
mkdir -p "$OUT"
section() { echo; echo "## $1 ($(date -u +%H:%M:%S))"; }

section "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"

section "reference DCGAN against ours"
timeout 150 $PY benchmarks/throughput.py --device cuda --against-reference --sizes 32,64 --batch-size 64 \
  --warmup 10 --steps 20 --windows 5

section "throughput by path"
timeout 390 $PY benchmarks/throughput.py --device cuda --families dcgan,sagan,mspgsen --sizes 32,64 \
  --paths eager-fp32,eager-bf16,fast --batch-size 256 --warmup 10 --steps 10 --windows 3

section "Stacked MNIST, dcgan, ${BUDGET}s"
timeout $((BUDGET + 150)) $PY -m mspgsen classifier train --data mnist --data-root "$DATA" --device cuda \
  --epochs 3 --out "$OUT/mnist-classifier.safetensors" \
&& timeout $((BUDGET + 120)) $PY -m mspgsen train --config configs/stacked-mnist.yaml --data-root "$DATA" \
  --device cuda --out "$OUT/stacked-dcgan" --set train.time_limit="$BUDGET" --set train.progress=false \
&& timeout 120 $PY -m mspgsen evaluate --run "$OUT/stacked-dcgan" --metrics modes --device cuda \
  --classifier "$OUT/mnist-classifier.safetensors"
echo "done $(date -u +%H:%M:%S)"
