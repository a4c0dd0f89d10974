#!/usr/bin/env bash
# MtlDsl as a user gets it: packs the four packages, then works in a temporary folder outside the repository,
# with its own NuGet.config (the packed folder added as a source; the machine's registry left as it is) and its
# own global-packages folder, on a package version that exists only in the packed folder, so nothing of the
# repository's build can leak in. Checks, each printed as PASS or FAIL:
#   the package layout (runtime, generator and code fix at analyzers/dotnet/roslyn<version>/cs, the targets);
#   a project from the template builds with the generator active and runs (training steps, summary, metrics);
#   a declaration with a deliberate error fails the build with MTL005 at its line and column;
#   a compiler older than the generator's Roslyn gets warning MTLDSL001 instead of a silent nothing;
#   the repository's Penguins sample builds against the packages (-p:MtlDslFromPackages=true), runs, and exports its
#   trained network with MtlDsl.Onnx.
# Usage: bash tests/packages/consumer-test.sh   (MTLDSL_KEEP_CONSUMER=1 keeps the folder; prints "consumer: N passed, N failed"; exit status 1 on a failure)
set -uo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/mtldsl-consumer.XXXXXX")"
[ "${MTLDSL_KEEP_CONSUMER:-}" = 1 ] && echo "keeping $work" || trap 'rm -rf "$work"' EXIT
case "$work/" in "$repo"/*) echo "the consumer folder $work is inside the repository" >&2; exit 2 ;; esac

passed=0; failed=0
check() { # check NAME COMMAND...: runs the command, output in $work/logs/NAME.log
  local name="$1"; shift
  mkdir -p "$work/logs"
  if "$@" >"$work/logs/$name.log" 2>&1; then
    echo "PASS $name"; passed=$((passed + 1))
  else
    echo "FAIL $name"; failed=$((failed + 1)); sed 's/^/    /' "$work/logs/$name.log" | tail -40
  fi
}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

. "$repo/tests/packages/packed.sh"
suffix="ci.$(date -u +%Y%m%d%H%M%S).$$"
packages="$work/packages"
version=""
pack() { version="$(mtldsl_pack "$repo" "$packages" "$suffix")"; }
check pack pack
if [ -z "$version" ]; then echo "consumer: $passed passed, $((failed + 1)) failed"; exit 1; fi
echo "packed version $version"

roslyn="$(sed -n 's:.*<MtlDslRoslynVersion>\(.*\)</MtlDslRoslynVersion>.*:\1:p' "$repo/Directory.Build.props")"
layout() {
  local listing; listing="$(unzip -l "$packages/MtlDsl.$version.nupkg")" || return 1
  echo "$listing"
  for path in "lib/net10.0/MtlDsl.dll" "analyzers/dotnet/roslyn$roslyn/cs/MtlDsl.Generators.dll" \
              "analyzers/dotnet/roslyn$roslyn/cs/MtlDsl.CodeFixes.dll" "buildTransitive/MtlDsl.targets" "README.md" "LICENSE"; do
    grep -q " $path\$" <<<"$listing" || { echo "missing $path"; return 1; }
  done
  # (Read into variables first: grep -q on a pipe would end it early, and pipefail would call that a failure.)
  local nuspec templates
  nuspec="$(unzip -p "$packages/MtlDsl.$version.nupkg" MtlDsl.nuspec)" && templates="$(unzip -l "$packages/MtlDsl.Templates.$version.nupkg")" || return 1
  grep -q '<dependency id="TorchSharp"' <<<"$nuspec" || { echo "no TorchSharp dependency"; return 1; }
  ! grep -q "$repo" <<<"$nuspec" || { echo "the nuspec names $repo"; return 1; }
  grep -q "content/MtlDslConsole/.template.config/template.json" <<<"$templates" || { echo "no template"; return 1; }
  # MtlDsl.Onnx: its library, on MtlDsl and Google.Protobuf; the protobuf compiler (Grpc.Tools) is a build tool only.
  local onnx; onnx="$(unzip -p "$packages/MtlDsl.Onnx.$version.nupkg" MtlDsl.Onnx.nuspec)" || return 1
  grep -q " lib/net10.0/MtlDsl.Onnx.dll\$" <<<"$(unzip -l "$packages/MtlDsl.Onnx.$version.nupkg")" || { echo "MtlDsl.Onnx lacks its library"; return 1; }
  grep -q "<dependency id=\"MtlDsl\" version=\"$version\"" <<<"$onnx" && grep -q '<dependency id="Google.Protobuf"' <<<"$onnx" || { echo "MtlDsl.Onnx's dependencies: $onnx"; return 1; }
  ! grep -q "Grpc.Tools" <<<"$onnx" || { echo "MtlDsl.Onnx depends on Grpc.Tools"; return 1; }
  [ -f "$packages/MtlDsl.$version.snupkg" ] || { echo "no symbols package"; return 1; }
}
check package-layout layout

mtldsl_nuget_config "$work" "$packages" "$work/nuget-packages"

hive="$work/template-hive"
from_template() {
  cd "$work" &&
  dotnet new install "$packages/MtlDsl.Templates.$version.nupkg" --debug:custom-hive "$hive" &&
  dotnet new mtldsl -n Consumer -o "$work/Consumer" --debug:custom-hive "$hive" &&
  grep -q "Include=\"MtlDsl\" Version=\"$version\"" "$work/Consumer/Consumer.csproj"
}
check template from_template

build_consumer() {
  cd "$work/Consumer" && dotnet build -c Release 2>&1 | tee "$work/consumer-build.txt"
  [ "${PIPESTATUS[0]}" -eq 0 ] || return 1
  ! grep -q "MTLDSL001" "$work/consumer-build.txt" || { echo "MTLDSL001 with the SDK's own compiler"; return 1; }
  # The generated code came from the package's generator, restored into this folder's own packages.
  [ -f "$work/nuget-packages/mtldsl/$version/analyzers/dotnet/roslyn$roslyn/cs/MtlDsl.Generators.dll" ] || { echo "generator not restored from the packed folder"; return 1; }
}
check template-builds build_consumer

run_consumer() {
  cd "$work/Consumer" && dotnet run -c Release --no-build 2>&1 | tee "$work/consumer-run.txt"
  [ "${PIPESTATUS[0]}" -eq 0 ] || return 1
  grep -q "PointModel" "$work/consumer-run.txt" || { echo "no summary"; return 1; }
  # Learning, not just running: validation accuracy of the quadrant task above 0.9 (4 classes, chance 0.25).
  accuracy="$(grep -oE 'Quadrant.*accuracy[ =:]+[0-9.]+' "$work/consumer-run.txt" | tail -1 | grep -oE '[0-9.]+$')"
  echo "quadrant validation accuracy: ${accuracy:-none}"
  awk -v a="${accuracy:-0}" 'BEGIN { exit !(a > 0.9) }'
}
check template-runs run_consumer
sed 's/^/    /' "$work/logs/template-runs.log" | tail -12

# A deliberate mistake: a Linear layer straight after a convolution (needs Flatten). Line 11, the Linear attribute.
broken() {
  cat > "$work/Consumer/Broken.cs" <<'CS'
using MtlDsl;
using TorchSharp.Modules;

[MultiTaskModel]
[Input(3, 8, 8)]
public partial class Broken
{
    [Trunk, Conv2d(4, kernelSize: 3), ReLU]
    public partial Sequential Features { get; }

    [Task(Loss.CrossEntropy), Linear(2)]
    public partial Sequential Label { get; }

    [Task(Loss.MeanSquaredError), Flatten, Linear(1)]
    public partial Sequential Value { get; }
}
CS
  cd "$work/Consumer" && dotnet build -c Release 2>&1 | tee "$work/broken-build.txt"
  local status=${PIPESTATUS[0]}
  rm -f "$work/Consumer/Broken.cs"
  [ "$status" -ne 0 ] || { echo "the build succeeded"; return 1; }
  grep -qE "Broken\.cs\(11,31\): error MTL005" "$work/broken-build.txt" || { echo "no MTL005 at Broken.cs(11,31)"; return 1; }
  local others; others="$(grep -E ": error " "$work/broken-build.txt" | grep -vE "error MTL005" || true)"
  [ -z "$others" ] || { echo "errors other than MTL005:"; echo "$others"; return 1; }
}
check deliberate-error broken

older_compiler() {
  # The SDK picks analyzers/dotnet/roslyn<N> by this property: an older compiler finds no generator.
  cd "$work/Consumer" && dotnet build -c Release -p:CompilerApiVersion=roslyn4.8 -p:OutputPath="$work/old-bin/" 2>&1 | tee "$work/old-build.txt"
  grep -q "warning MTLDSL001" "$work/old-build.txt" || { echo "no MTLDSL001"; return 1; }
}
check older-compiler-warns older_compiler

penguins() {
  # Its own obj and bin outside the repository; the in-repo obj/ (from source builds) kept out of its items.
  cd "$repo" && dotnet build samples/Penguins -c Release -p:MtlDslFromPackages=true -p:MtlDslPackageVersion="$version" \
    -p:RestoreAdditionalProjectSources="$packages" -p:RestorePackagesPath="$work/nuget-packages" \
    -p:BaseIntermediateOutputPath="$work/penguins/obj/" -p:OutputPath="$work/penguins/bin/" -p:DefaultExcludesInProjectFolder="obj/**" 2>&1 | tee "$work/penguins-build.txt"
  [ "${PIPESTATUS[0]}" -eq 0 ] || return 1
  ! grep -q "MTLDSL001" "$work/penguins-build.txt" || { echo "MTLDSL001 with the SDK's own compiler"; return 1; }
  grep -q "\"MtlDsl/$version\"" "$work/penguins/obj/project.assets.json" || { echo "Penguins did not restore MtlDsl $version"; return 1; }
  grep -q "\"MtlDsl.Onnx/$version\"" "$work/penguins/obj/project.assets.json" || { echo "Penguins did not restore MtlDsl.Onnx $version"; return 1; }
  cd "$work/penguins/bin" && dotnet Penguins.dll --epochs 3 --out "$work/penguins/out" --onnx "$work/penguins/out/penguins.onnx" || return 1
  [ -s "$work/penguins/out/penguins.onnx" ] || { echo "no ONNX file from MtlDsl.Onnx"; return 1; }
}
check sample-from-packages penguins

echo "consumer: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
