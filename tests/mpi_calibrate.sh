#!/usr/bin/env bash
# MPI check (run by .ci/run): a small calibration shared by 3 MPI ranks must write the same
# files, byte for byte, as the local run. Needs the `mpi` cargo feature, OpenMPI and libclang.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked --features mpi --quiet
bin=target/debug/talentflow
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" calibrate tests/fixtures/tiny_calibration.toml --out "$tmp/local" --quiet
mpirun --allow-run-as-root --oversubscribe -np 3 "$bin" calibrate tests/fixtures/tiny_calibration.toml \
    --out "$tmp/mpi" --mpi --jobs 1 --quiet
status=0
for f in evaluations.csv estimates.csv covariance.csv fit.csv identifiability.csv calibrated.toml summary.txt; do
    if [ -e "$tmp/local/$f" ] && ! cmp -s "$tmp/local/$f" "$tmp/mpi/$f"; then
        echo "mpi calibrate: $f differs from the local run" >&2
        diff "$tmp/local/$f" "$tmp/mpi/$f" | head -10 >&2 || true
        status=1
    fi
done
# Every rank simulated its own share: one evaluations file per shard beside the merged one.
for i in 0 1 2; do
    if [ ! -s "$tmp/mpi/evaluations.shard-$i-of-3.csv" ]; then
        echo "mpi calibrate: rank $i wrote no evaluations.shard-$i-of-3.csv" >&2
        status=1
    fi
done
if [ "$status" = 0 ]; then
    echo "mpi calibrate: 3 ranks write the local run's files ($(grep -c ',mean,' "$tmp/mpi/evaluations.csv") evaluations)"
fi
exit "$status"
