# Sourced by scripts: paths that let a stock lua5.4 `require "dnn"` from this tree.
# Usage: . scripts/env.sh [build-dir]
_dnn_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
_dnn_build=${1:-$_dnn_root/build}
export LUA_PATH="$_dnn_root/lua/?.lua;$_dnn_root/lua/?/init.lua;$_dnn_root/spec/?.lua;;"
export LUA_CPATH="$_dnn_build/lua/?.so;;"
export DNN_ROOT="$_dnn_root"
