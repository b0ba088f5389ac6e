#!/usr/bin/env bash
# The layers of the tree (docs/ARCHITECTURE.md): no include points from a lower layer
# to a higher one (scripts/check-layers.sh), and the check catches each kind of upward
# include when one is planted in a copy of the tree. Needs no test world.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_scratch

run 60 "$SFY_ROOT/scripts/check-layers.sh"
if ((RC == 0)); then
    pass tree-layers
else
    fail tree-layers "$(why "upward includes")"
fi

# Each upward edge, planted in a copy: the check must name it and fail.
COPY=$SFY_TMP/layers
plant() { # NAME FILE INCLUDE
    rm -rf "$COPY"
    mkdir -p "$COPY"
    cp -r "$SFY_ROOT/protocol" "$SFY_ROOT/shim" "$SFY_ROOT/launcher" "$COPY/"
    printf '#include "%s"\n' "$3" >>"$COPY/$2"
    run 60 "$SFY_ROOT/scripts/check-layers.sh" "$COPY"
    if ((RC == 1)) && [[ $OUT == *"$2"*"$3"* ]]; then
        pass "catches-$1"
    else
        fail "catches-$1" "$(why "planted $3 in $2")"
    fi
}
plant protocol-to-settings protocol/request.cpp shim/settings/config.hpp
plant protocol-to-shim protocol/address.hpp shim/io.hpp
plant settings-to-shim shim/settings/policy.cpp shim/log.hpp
plant settings-to-launcher shim/settings/config.cpp launcher/check.hpp
plant shim-to-hooks shim/init.cpp shim/hooks/export.hpp
plant shim-to-launcher shim/proxy/tcp_connect.cpp launcher/supervisor/supervisor.hpp
plant hooks-to-launcher shim/hooks/tcp.cpp launcher/version.hpp
plant launcher-to-hooks launcher/main.cpp shim/hooks/export.hpp
rm -rf "$COPY"
finish
