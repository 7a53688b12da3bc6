#!/usr/bin/env bash
# MPI check (run by .ci/run): a small sweep distributed over 3 MPI ranks must give the same
# results.csv bytes as the local run. Needs the `mpi` cargo feature, OpenMPI and libclang.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked --features mpi --quiet
bin=target/debug/talentflow
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" sweep tests/fixtures/tiny_sweep.toml --out "$tmp/local" --quiet 2>/dev/null
mpirun --allow-run-as-root --oversubscribe -np 3 "$bin" sweep tests/fixtures/tiny_sweep.toml --out "$tmp/mpi" --mpi
if cmp "$tmp/local/results.csv" "$tmp/mpi/results.csv"; then
    echo "mpi sweep: 3 ranks give the same results.csv as the local run ($(($(wc -l < "$tmp/mpi/results.csv") - 1)) runs)"
else
    echo "mpi sweep: results differ from the local run" >&2
    diff "$tmp/local/results.csv" "$tmp/mpi/results.csv" | head -20 >&2
    exit 1
fi
