#!/bin/bash
# The whole GPU check of this project in one call on a lent H100/H200 (see benchmarks/README.md, "GPU").
#
#   bash benchmarks/gpu_check.sh prepare   # here, on the CPU machine: wheels + small data into .gpu-check/
#   bash benchmarks/gpu_check.sh run       # there: device tool `run` with carry [".gpu-check"]
#
# run: fused-kernel check, the CUDA tests, benchmarks/gpu_tiles.py, benchmarks/gpu.py --amp with the best tile,
# and each app's train command (plus filter and visualize) with --device cuda.  Everything it writes is in
# $OUT/results.tgz (logs and JSON); the console gets the tables.  About 6 minutes on an H200 plus the start.
set -u
cd "$(dirname "$0")/.."
G=.gpu-check
if [ "${1:-}" = prepare ]; then
  grep -qx "/$G/" .git/info/exclude 2>/dev/null || echo "/$G/" >> .git/info/exclude
  rm -rf $G && mkdir -p $G/whl $G/fsdd $G/text
  # the device image has Python 3.12 with torch, Triton, numpy, scipy, OpenCV, scikit-image; not these
  pins=""
  for p in kornia kornia_rs sgfmill librosa soundfile soxr audioread pooch decorator platformdirs cffi pycparser; do
    pins="$pins $p==$(python -m pip show $p | awk '/^Version/{print $2}')"
  done
  python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d $G/whl $pins
  data=${DATA:-../shared/data}
  for s in george jackson; do for d in 0 1 2 3 4 5 6 7 8 9; do for t in $(seq 0 11); do
    cp $data/fsdd/recordings/${d}_${s}_${t}.wav $G/fsdd/; done; done; done
  cp -r $data/text/TREC $G/text/
  filterkit go prepare $data/go --out $G/go --splits train,val --max-games 60 --quiet
  du -sh $G
  exit 0
fi
[ "${1:-}" = run ] || { echo "usage: bash benchmarks/gpu_check.sh prepare|run" >&2; exit 2; }
export PYTHONUNBUFFERED=1
T0=$(date +%s); stamp(){ echo "== +$(( $(date +%s) - T0 ))s $*"; }
R=/tmp/results; rm -rf $R; mkdir -p $R
trap 'tar czf ${OUT:-/tmp}/results.tgz -C $R .' EXIT
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site $G/whl/*.whl 2>&1 | grep -v WARNING | tail -2
ln -sfn ../apps filterkit/apps  # what the editable install maps (filterkit.apps -> apps/)
export PYTHONPATH=$PWD:/tmp/site
python3 -c "import torch, triton, kornia; print('torch', torch.__version__, 'triton', triton.__version__, 'kornia', kornia.__version__, torch.cuda.get_device_name())"
stamp check
timeout 120 python3 - <<'PY' 2>&1 | tail -20
import torch
from filterkit.filters import tensor as T
from filterkit.filters._backends import triton_separable as F
x = torch.rand(2, 3, 517, 1031, device="cuda")
for name, fn in [("gauss1", lambda t: T.gaussian(t, 1.0)), ("gauss5 wrap", lambda t: T.gaussian(t, 5.0, mode="wrap")),
                 ("mean15 constant", lambda t: T.mean(t, 15, mode="constant", cval=0.3)), ("sobel", lambda t: T.sobel(t)),
                 ("sobel x f16", lambda t: T.sobel(t.half(), axis=1, mode="mirror").float())]:
    F.ENABLED = True; a = fn(x); F.ENABLED = False; b = fn(x)
    print(f"{name}: fused vs torch path, max relative difference {((a - b).abs().max() / b.abs().max()).item():.1e}")
PY
stamp tests
timeout ${TEST_TIMEOUT:-110} python3 -m pytest -q -p no:cacheprovider -n 16 --maxfail=30 tests/test_tensor.py \
  tests/test_triton_separable.py tests/test_layers.py tests/test_train.py 2>&1 | tee $R/tests.log | tail -25
stamp tiles
timeout ${TILE_TIMEOUT:-150} python3 benchmarks/gpu_tiles.py --repeats 10 --json $R/tiles.json 2>&1 | tee $R/tiles.log | tail -80
BEST=$(python3 -c "import json; print(json.load(open('$R/tiles.json'))['best'])" 2>/dev/null || echo 256x128x2)
stamp gpu.py tile $BEST
timeout ${GPU_TIMEOUT:-200} python3 benchmarks/gpu.py --amp --json $R/gpu.json --tile $BEST 2>&1 | tee $R/gpu.log | tail -60
stamp apps
W=/tmp/fk_smoke; rm -rf $W; mkdir -p $W
app(){ local name=$1; shift; local t0=$(date +%s); timeout 120 "$@" > $R/$name.log 2>&1; local rc=$?
  echo "$name: rc=$rc, $(( $(date +%s) - t0 )) s: $(tail -n 2 $R/$name.log | tr '\n' ' ' | cut -c1-300)"; }
FK="python3 -m filterkit"
app filter $FK filter samples/astronaut.jpg samples/testcard16.tif samples/camera_saltpepper.png --op gaussian --sigma 2 --backend torch --device cuda -o $W/f --quiet
app filter_sobel $FK filter samples/astronaut.jpg --op sobel --backend torch --device cuda -o $W/s --quiet
app speech $FK speech train $G/fsdd --eval hash --epochs 3 --device cuda --out $W/speech --json $R/speech.json --quiet
app text $FK text train TREC --data-root $G/text --variant rand --epochs 2 --device cuda --out $W/text.pt --json $R/text.json --quiet
app go $FK go train $G/go --out $W/go --layers 13 --width 192 --epochs 2 --batch-size 256 --device cuda --json $R/go.json --quiet
# the same with 4 loader processes: if positions/s rises, loading limits GPU training (issue 6)
app go_workers4 $FK go train $G/go --out $W/go4 --layers 13 --width 192 --epochs 2 --batch-size 256 --workers 4 --device cuda --json $R/go_workers4.json --quiet
app vis_train $FK visualize train --data builtin --epochs 1 --device cuda -o $W/cnn --quiet
app vis_max $FK visualize maximize --model $W/cnn/best.pt --class 3 --device cuda -o $W/max.png --json $R/vis_max.json
app vis_style $FK visualize style skimage:camera skimage:brick --size 128 --steps 20 --device cuda -o $W/style.png
stamp done
