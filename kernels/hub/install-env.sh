#!/usr/bin/env bash
# Build the Python environment a JupyterHub on one machine runs from.
#
#   kernels/hub/install-env.sh PREFIX
#
# Every account (hub, instructor, students) executes this environment, so it
# is built from a system Python (default /usr/bin/python3) at a path every
# user can enter, never from an interpreter under a private home such as a
# pyenv in /root. It holds:
#   - PyTorch first, from the pin in constraints.txt (a CPU build; a GPU host
#     installs its own torch first, docs/operations.md#gpu);
#   - dlcourse as a regular (non-editable) install: the wheel leaves out every
#     topic's notebooks/ (solutions) and hidden/ (checks), so students can
#     read the whole environment and still see neither;
#   - JupyterHub (the hub and jupyterhub-singleuser) and nbgrader's extensions;
#   - the single-user settings in kernels/hub/etc, copied into PREFIX/etc: students get no instructor tools, and formgrader may
#     be framed by JupyterLab (see jupyterhub_config.py for the instructors').
# Instructors grade from their own checkout of the course repository, which
# has the solutions and hidden checks (docs/operations.md#hub).
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 PREFIX  (e.g. /opt/dlcourse/env)" >&2
  exit 2
fi
prefix=$1
repo=$(cd "$(dirname "$0")/../.." && pwd)
python=${PYTHON:-/usr/bin/python3}
torch_pin=$(grep -E '^torch==' "$repo/constraints.txt")

umask 022
"$python" -m venv "$prefix"
"$prefix/bin/python" -m pip install --quiet --upgrade pip
"$prefix/bin/python" -m pip install --quiet "$torch_pin"
"$prefix/bin/python" -m pip install --quiet -c "$repo/constraints.txt" "$repo[hub]"
mkdir -p "$prefix/etc"
cp -R "$repo/kernels/hub/etc/." "$prefix/etc/"
chmod -R a+rX "$prefix"

# Refuse an environment that other accounts cannot execute (a parent folder
# without o+x): every single-user server would fail with "Permission denied".
real=$(readlink -f "$prefix/bin/python")
dir=$(dirname "$real")
while [ "$dir" != / ]; do
  if [ "$(( 0$(stat -c %a "$dir") & 1 ))" = 0 ]; then
    echo "$0: $real lies under $dir, which other users cannot enter: students' servers would fail." >&2
    echo "Build from a system Python: PYTHON=/usr/bin/python3 $0 $prefix" >&2
    exit 1
  fi
  dir=$(dirname "$dir")
done
echo "dlcourse hub environment ready in $prefix"
