#!/usr/bin/env bash
# The layers point down only: core <- backends, kernels <- record <- sweep <- isolate <- cli.
# Fails, naming the line, when core or record includes a header of a layer above it.
src=${CORESCOPE_SOURCE:?}/src
bad=0
check() {  # check DIR PATTERN: no file under src/DIR has an #include matching PATTERN
  if grep -rnE "#include \"($2)/" "$src/$1"; then
    echo "FAIL: src/$1 includes a header of a higher layer ($2)" >&2
    bad=1
  fi
}
check core 'record|sweep|cli'
check record 'sweep|cli'
exit $bad
