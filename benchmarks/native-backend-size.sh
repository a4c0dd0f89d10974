#!/usr/bin/env bash
# What TorchSharp's native backend costs an application, measured side by side: the project from the MtlDsl
# template as created (TorchSharp-cpu: libtorch for Linux, macOS and Windows) and the same project with this
# platform's libtorch package only (TorchSharp + libtorch-cpu-<rid>). Each restores into its own empty packages
# folder, builds and runs; prints what was downloaded (.nupkg), the packages folder and the build output, and
# whether it trained. Usage: bash benchmarks/native-backend-size.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/mtldsl-backend.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) rid=linux-x64 ;; Darwin-arm64) rid=osx-arm64 ;; MINGW*-x86_64|MSYS*-x86_64) rid=win-x64 ;;
  *) echo "no single-platform libtorch package for $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac
torchsharp="$(sed -n 's:.*Include="TorchSharp" Version="\([^"]*\)".*:\1:p' "$repo/Directory.Packages.props")"
. "$repo/tests/packages/packed.sh"
version="$(mtldsl_pack "$repo" "$work/packages" "size.$$" 2>"$work/pack.log")" || { cat "$work/pack.log" >&2; exit 1; }
dotnet new install "$work/packages/MtlDsl.Templates.$version.nupkg" --debug:custom-hive "$work/hive" >/dev/null

measure() { # measure NAME: restore, build and run $work/NAME with its own packages folder
  local name="$1" dir="$work/$1"
  mtldsl_nuget_config "$dir" "$work/packages" "$dir/packages"
  (cd "$dir" && dotnet build -c Release >"$dir/build.log" 2>&1) || { cat "$dir/build.log"; return 1; }
  local accuracy
  accuracy="$(cd "$dir" && dotnet run -c Release --no-build 2>&1 | grep -oE 'Quadrant: loss [0-9.]+, accuracy [0-9.]+' | grep -oE '[0-9.]+$')"
  local nupkg folder bin
  nupkg="$(find "$dir/packages" -name '*.nupkg' -printf '%s\n' | awk '{s+=$1} END {printf "%.0f", s/1048576}')"
  folder="$(du -sm "$dir/packages" | cut -f1)"
  bin="$(du -sm "$dir/bin" | cut -f1)"
  printf '  %-44s downloaded %5s MB   packages folder %5s MB   build output %5s MB   trained: accuracy %s\n' \
    "$name" "$nupkg" "$folder" "$bin" "${accuracy:-FAILED}"
}

dotnet new mtldsl -n AllPlatforms -o "$work/TorchSharp-cpu" --debug:custom-hive "$work/hive" >/dev/null
dotnet new mtldsl -n OnePlatform -o "$work/TorchSharp+libtorch-cpu-$rid" --debug:custom-hive "$work/hive" >/dev/null
echo "TorchSharp $torchsharp, MtlDsl $version, on $rid:"
measure TorchSharp-cpu
# The libtorch version TorchSharp-cpu depends on, from the nuspec it just restored.
libtorch="$(sed -n 's:.*id="libtorch-cpu" version="\([^"]*\)".*:\1:p' "$work"/TorchSharp-cpu/packages/torchsharp-cpu/*/torchsharp-cpu.nuspec | head -1)"
[ -n "$libtorch" ] || { echo "no libtorch-cpu dependency in TorchSharp-cpu's nuspec" >&2; exit 1; }
one="$work/TorchSharp+libtorch-cpu-$rid/OnePlatform.csproj"
sed -i "s|<PackageReference Include=\"TorchSharp-cpu\" Version=\"[^\"]*\" />|<PackageReference Include=\"TorchSharp\" Version=\"$torchsharp\" /><PackageReference Include=\"libtorch-cpu-$rid\" Version=\"$libtorch\" />|" "$one"
grep -q "libtorch-cpu-$rid" "$one"
measure "TorchSharp+libtorch-cpu-$rid"
