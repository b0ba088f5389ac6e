#!/usr/bin/env bash
# The include rule of the layers (docs/ARCHITECTURE.md): a file may include its own
# layer and the layers below it, never one above.
#   protocol/  <  shim/settings/  <  shim/ (machinery)  <  shim/hooks/
#                                                   <  launcher/
# Prints one line per include that breaks the rule; exits 1 if any does.
set -u
# The tree to check: the argument, or the one this script is in.
cd "${1:-$(dirname "${BASH_SOURCE[0]}")/..}" || exit 2

# The layer a path belongs to, as a rank; launcher/ and shim/hooks/ sit side by side.
layer() {
    case $1 in
    protocol/*) echo protocol ;;
    shim/settings/*) echo settings ;;
    shim/hooks/*) echo hooks ;;
    shim/*) echo shim ;;
    launcher/*) echo launcher ;;
    *) echo other ;;
    esac
}

# What each layer may include.
allowed() {
    case $1 in
    protocol) echo "protocol" ;;
    settings) echo "protocol settings" ;;
    shim) echo "protocol settings shim" ;;
    hooks) echo "protocol settings shim hooks" ;;
    launcher) echo "protocol settings shim launcher" ;;
    esac
}

bad=0
files=0
while IFS= read -r file; do
    from=$(layer "$file")
    files=$((files + 1))
    while IFS= read -r inc; do
        to=$(layer "$inc")
        [[ $to == other ]] && continue
        if [[ " $(allowed "$from") " != *" $to "* ]]; then
            echo "layer: $file ($from) includes $inc ($to)"
            bad=$((bad + 1))
        fi
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$file")
done < <(find protocol shim launcher -name '*.[ch]pp' | sort)

if ((files == 0)); then
    echo "layer: no sources found"
    exit 2
fi
((bad == 0)) && echo "layers: $files files, every include points down or sideways within its layer"
((bad == 0))
