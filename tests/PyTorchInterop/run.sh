#!/usr/bin/env bash
# The checks against PyTorch, as CI runs them: installs Debian's python3-torch when /usr/bin/python3 lacks torch,
# then (1) every architecture's hand-written PyTorch twin loads the generated model's weights strictly and gives its outputs,
# loss, gradients and BatchNorm state (architectures.py), (2) the PyTorch twin MtlDsl writes from the plan of every test
# model loads its weights strictly and gives its outputs, losses and gradients (generated_twins.py), (3) the
# MultiMNIST and tabular networks' weights go from TorchSharp to PyTorch and back (check.py), (4) torchrun trains a
# generated twin on two processes as MtlDsl's Fit does on one (Distributed.cs), (5) the Python safetensors readers refuse
# short and inconsistent files (safetensors_refusals.py), (6) the twins' losses with class and positive weights equal
# PyTorch's weighted losses (loss_weights.py), (7) train_ddp.py's Python weighting strategies on the reference vectors
# (weighting_vectors.py), (8) torchrun trains with every weighting strategy, and with one dataset per task, as Fit
# does (Strategies.cs), (9) a fit resumes across the engines, both ways (Resume.cs). Prints one "PASS …" or "FAIL …"
# line per check; exits 1 on a failure.
set -uo pipefail
cd "$(dirname "$0")/../.."

if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  echo "installing Debian's python3-torch (a few minutes)"
  sudo_=""; [ "$(id -u)" -ne 0 ] && sudo_="sudo"
  if ! { $sudo_ apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq python3-torch; } >/tmp/mtldsl-apt.log 2>&1; then
    tail -20 /tmp/mtldsl-apt.log
    echo "FAIL installing python3-torch with apt-get (log above): the PyTorch checks cannot run"
    exit 1
  fi
fi

folder="$(mktemp -d)"
trap 'rm -rf "$folder"' EXIT
status=0
# The Python readers of safetensors (the twins' mtldsl_torch.py and the checks' own) refuse short and inconsistent files.
/usr/bin/python3 tests/PyTorchInterop/safetensors_refusals.py || status=1
# The twins' losses with class and positive weights against PyTorch's own (the reference MtlDsl's tests use too).
/usr/bin/python3 tests/PyTorchInterop/loss_weights.py || status=1
# train_ddp.py's Python strategies on the reference vectors MtlDsl's C# strategies are tested on.
/usr/bin/python3 tests/PyTorchInterop/weighting_vectors.py || status=1
if ! build_log="$(dotnet build tests/PyTorchInterop -v q -nologo 2>&1)"; then
  echo "$build_log" | tail -20
  echo "FAIL building tests/PyTorchInterop"
  exit 1
fi
run() { dotnet run --no-build --project tests/PyTorchInterop -- "$@"; }

run architectures "$folder/architectures" || { echo "FAIL exporting the architecture models"; status=1; }
/usr/bin/python3 tests/PyTorchInterop/architectures.py "$folder/architectures" || status=1

# The twins MtlDsl writes from every test model's NetworkPlan (Model.PyTorchTwin, ExportPyTorch).
run generated "$folder/generated" || { echo "FAIL exporting the generated PyTorch twins"; status=1; }
/usr/bin/python3 tests/PyTorchInterop/generated_twins.py "$folder/generated" || status=1
# …and of random declarations (the generator tests' fuzzer: every layer and 2-D form, ids, [Concat], residual
# blocks, every architecture; at least 60, three of every form).
if dotnet build tests/RandomTwins -v q -nologo >"$folder/random-build.log" 2>&1 && dotnet run --no-build --project tests/RandomTwins -- "$folder/random" 60; then
  /usr/bin/python3 tests/PyTorchInterop/generated_twins.py "$folder/random" >"$folder/random.log" 2>&1; random_status=$?
  grep -v '^PASS' "$folder/random.log"
  echo "$( [ $random_status -eq 0 ] && echo PASS || echo FAIL ) generated PyTorch twins of random declarations: $(grep -c '^PASS' "$folder/random.log") of $(wc -l <"$folder/random/models.txt") equal their TorchSharp modules"
  [ $random_status -eq 0 ] || status=1
else
  tail -20 "$folder/random-build.log"; echo "FAIL exporting the generated twins of random declarations"; status=1
fi

# The generated twin trained by its training script under torchrun, two processes on the CPU (DDP, gloo), equals
# MtlDsl's single-process Fit on the same global batches. Debian's torchrun (PyTorch 1.13 on Python 3.11) fails
# with "'NoneType' object has no attribute 'get'" when --redirects/--tee are 0 (3.11's enums skip the zero flag):
# --redirects 1 --tee 1 keeps every process's output on the console.
# A free port for each run's rendezvous (torchrun's default, 29500, may be taken by another job on the machine).
free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ddp() { # weighting, epochs
  (cd "$folder/distributed" && timeout 300 torchrun --redirects 1 --tee 1 --master_port "$(free_port)" --nproc_per_node=2 train_ddp.py --model RecommenderModel --data train.safetensors \
     --weights RecommenderModel.safetensors --out "trained_$1.safetensors" --epochs "$2" --batch-size 32 --lr 0.05 --dtype float64 --weighting "$1" \
     >"$folder/torchrun-$1.log" 2>&1 || { tail -30 "$folder/torchrun-$1.log"; false; })
}
tabular_ddp() {
  (cd "$folder/distributed/tabular" && timeout 300 torchrun --redirects 1 --tee 1 --master_port "$(free_port)" --nproc_per_node=2 train_ddp.py --model TabularModel \
     --data train.safetensors --weights TabularModel.safetensors --out trained.safetensors --epochs 3 --batch-size 32 --lr 0.05 --momentum 0.9 \
     >"$folder/torchrun-tabular.log" 2>&1 || { tail -30 "$folder/torchrun-tabular.log"; false; })
}
reference_ddp() { # folder, model: the declared weights, against the single-process reference
  (cd "$folder/distributed/$1" && timeout 300 torchrun --redirects 1 --tee 1 --master_port "$(free_port)" --nproc_per_node=2 train_ddp.py --model "$2" \
     --data train.safetensors --weights "$2.safetensors" --out trained.safetensors --epochs 2 --batch-size 32 --lr 0.05 --dtype float64 \
     >"$folder/torchrun-$1.log" 2>&1 || { tail -30 "$folder/torchrun-$1.log"; false; })
}
esmm_ddp() { # weighting, epochs
  (cd "$folder/distributed/esmm" && timeout 300 torchrun --redirects 1 --tee 1 --master_port "$(free_port)" --nproc_per_node=2 train_ddp.py --model EsmmModel \
     --data train.safetensors --weights EsmmModel.safetensors --out "trained_$1.safetensors" --epochs "$2" --batch-size 32 --lr 0.05 --dtype float64 --weighting "$1" \
     >"$folder/torchrun-esmm-$1.log" 2>&1 || { tail -30 "$folder/torchrun-esmm-$1.log"; false; })
}
if run distributed-export "$folder/distributed" && ddp declared 2 && ddp uw 2 && ddp dwa 3 && tabular_ddp && reference_ddp imbalance ImbalanceModel && reference_ddp bottom MMoEBottomModel && reference_ddp funnel-esmm FunnelEsmm && reference_ddp funnel-mmoe FunnelMmoe && reference_ddp aitm AitmModel && esmm_ddp declared 2 && esmm_ddp dwa 3; then
  run distributed-check "$folder/distributed" || status=1
else
  echo "FAIL training the generated twin with torchrun --nproc_per_node=2"; status=1
fi

# Runs of train_ddp.py under torchrun --nproc_per_node=2, one per line of <folder>/runs.txt: its name and train_ddp.py's
# arguments for the training Fit did, as the trainer's TorchrunArguments gave them (a run that hangs is stopped after 5 minutes).
torchrun_runs() { # folder
  while read -r name arguments; do
    (cd "$folder/$1" && timeout 300 torchrun --redirects 1 --tee 1 --master_port "$(free_port)" --nproc_per_node=2 train_ddp.py $arguments \
       >"$folder/torchrun-$1-$name.log" 2>&1 </dev/null || tail -30 "$folder/torchrun-$1-$name.log")
  done <"$folder/$1/runs.txt"
}
# Every weighting strategy, with clipping and with one dataset per task, against Fit on one process (Strategies.cs).
if run strategies-export "$folder/strategies"; then
  torchrun_runs strategies
  run strategies-check "$folder/strategies" || status=1
else
  echo "FAIL exporting the strategy runs"; status=1
fi
# A fit stopped after 2 of 4 epochs and resumed in the other engine, both ways (Resume.cs); then checkpoints that
# train_ddp.py must refuse before it loads anything: another strategy's, and one with a byte changed.
if run resume-export "$folder/resume"; then
  torchrun_runs resume
  run resume-check "$folder/resume" || status=1
  refused() { # what, expected message, arguments
    local output; output="$(cd "$folder/resume" && timeout 120 /usr/bin/python3 train_ddp.py --model StrategyModel --data train.safetensors --out refused.safetensors \
      --optimizer adam --dtype float64 --epochs 4 "${@:3}" 2>&1 </dev/null)"; local code=$?
    if [ $code -eq 2 ] && grep -q -- "$2" <<<"$output" && [ ! -e "$folder/resume/refused.safetensors" ]; then echo "PASS train_ddp.py refuses $1: $(grep -o -- "$2.*" <<<"$output" | head -c 160)"
    else echo "FAIL train_ddp.py did not refuse $1 (exit $code): $output" | tail -5; status=1; fi
  }
  refused "Fit's checkpoint of another strategy" "written with the UW weighting strategy" --weighting GradVac --strategy-seed 5 --resume-from csharp_UW/checkpoints/last.ckpt
  cp "$folder/resume/csharp_UW/checkpoints/last.ckpt" "$folder/resume/damaged.ckpt"
  printf '\x01' | dd of="$folder/resume/damaged.ckpt" bs=1 seek=200 conv=notrunc status=none
  refused "a checkpoint with a byte changed" "checksum does not match" --weighting UW --resume-from damaged.ckpt
else
  echo "FAIL exporting the resume runs"; status=1
fi

if run export "$folder/interop" && /usr/bin/python3 tests/PyTorchInterop/check.py "$folder/interop"; then
  echo "PASS TorchSharp's MultiMNIST and tabular weights load strictly into PyTorch and give the same outputs"
else
  echo "FAIL TorchSharp's weights in PyTorch (check.py)"; status=1
fi
if run import "$folder/interop"; then
  echo "PASS PyTorch's MultiMNIST weights load into the generated model and give PyTorch's outputs"
else
  echo "FAIL PyTorch's weights in TorchSharp (import)"; status=1
fi
exit $status
