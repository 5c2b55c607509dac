# shellcheck shell=bash
# Shared set-up of the bench scripts: source it after `cd` to the repository.
#
#   bench_work            makes $work, a scratch directory that goes at exit,
#                         with every background job (and its children: entry
#                         under unshare, which does not pass TERM on) ended
#   bench_build REV OUT   builds entry at commit REV ("." for the work tree)
#                         into OUT, statically, as a release is built

bench_work() {
  work=$(mktemp -d)
  trap bench_cleanup EXIT
}

bench_cleanup() {
  local j
  # shellcheck disable=SC2046 # the children's pids, one word each
  for j in $(jobs -p); do kill -TERM $(cat /proc/"$j"/task/*/children 2>/dev/null) "$j" 2>/dev/null || true; done
  rm -rf "$work"
}

bench_build() {
  local rev=$1 out=$2 src
  if [ "$rev" = . ]; then
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out" ./cmd/entry
    return
  fi
  src=$(mktemp -d -p "$work")
  git archive "$rev" | tar -x -C "$src"
  (cd "$src" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out" ./cmd/entry)
}
