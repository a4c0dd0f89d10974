# MtlDsl's packages as a user gets them, for the scripts that try them from outside the repository
# (tests/packages/consumer-test.sh, benchmarks/native-backend-size.sh). Sourced, not run.

# mtldsl_pack REPO OUT SUFFIX: packs the four packages into OUT at version <VersionPrefix>-SUFFIX (a version no
# registry and no cache has); the build's output goes to stderr, the version to stdout.
mtldsl_pack() {
  (cd "$1" && dotnet pack -c Release -o "$2" -p:VersionSuffix="$3") >&2 || return 1
  local id nupkg
  for id in MtlDsl MtlDsl.Reporting MtlDsl.Onnx MtlDsl.Templates; do
    ls "$2/$id".[0-9]*-"$3".nupkg >/dev/null 2>&1 || { echo "no $id package with suffix $3 in $2" >&2; return 1; }
  done
  nupkg="$(basename "$(ls "$2"/MtlDsl.[0-9]*-"$3".nupkg | head -1)" .nupkg)"
  echo "${nupkg#MtlDsl.}"
}

# mtldsl_nuget_config DIR SOURCE PACKAGES: writes DIR/NuGet.config, which adds the folder SOURCE as a package source
# (the machine's configured registries stay) and makes PACKAGES the global-packages folder.
mtldsl_nuget_config() {
  cat > "$1/NuGet.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="mtldsl-packed" value="$2" />
  </packageSources>
  <config>
    <add key="globalPackagesFolder" value="$3" />
  </config>
</configuration>
XML
}
