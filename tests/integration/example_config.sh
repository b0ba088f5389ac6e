#!/usr/bin/env bash
# docs/socksify.conf.example, the example the Debian package installs under
# /usr/share/doc/socksify/examples/: the launcher reads it as it is and hands the
# program each active setting, and reads it with every commented setting and rule
# switched on too. A broken copy is refused (the check can fail). Needs no test world.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_launcher
ensure_scratch

EXAMPLE=$SFY_ROOT/docs/socksify.conf.example

# Every active "key = value" line, as the variable the launcher sets for it.
declare -A VAR=([proxy]=PROXY [dns]=DNS [dns-tcp]=DNS_TCP [udp]=UDP [timeout]=TIMEOUT
    [pipeline]=PIPELINE [fake-net]=FAKE_NET [fake-net6]=FAKE_NET6 [log]=LOG
    [default-deny]=DEFAULT_DENY)
declare -A BOOL=([yes]=1 [no]=0)

run 10 "$SOCKSIFY" --config "$EXAMPLE" -- env
why=
nset=0
while IFS= read -r l; do
    [[ $l =~ ^([a-z0-9-]+)\ =\ ([^ ]+) ]] || continue
    key=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
    [[ $key == strict ]] && continue  # "no" sets nothing: strict is a one-way switch
    var=${VAR[$key]:-}
    if [[ -z $var ]]; then
        why+=" key '$key' not known to this test;"
        continue
    fi
    [[ $key == pipeline || $key == default-deny ]] && value=${BOOL[$value]:-$value}
    nset=$((nset + 1))
    [[ $'\n'$OUT$'\n' == *$'\n'"SOCKSIFY_$var=$value"$'\n'* ]] || why+=" SOCKSIFY_$var is not '$value';"
done <"$EXAMPLE"
if ((RC == 0 && nset >= 5)) && [[ -z $why ]]; then
    pass example-active-settings
else
    fail example-active-settings "$(why "${why:-only $nset settings}")"
fi

# The commented settings and rules switched on (the audit log into scratch; the password
# file needs a user in the proxy URL, so it stays off).
sed -E -e 's/^#((dns-tcp|direct|audit) = [^ ]*).*/\1/' -e 's/^#((allow|deny) )/\1/' \
    -e "s|^audit = .*|audit = $SFY_TMP/audit.log|" "$EXAMPLE" >"$SFY_TMP/all.conf"
run 10 "$SOCKSIFY" --config "$SFY_TMP/all.conf" -- env
if ((RC == 0)) && [[ $OUT == *SOCKSIFY_DNS_TCP=* && $OUT == *SOCKSIFY_POLICY=allow:*deny:* &&
    $OUT == *"SOCKSIFY_AUDIT=$SFY_TMP/audit.log"* && $OUT == *SOCKSIFY_DIRECT=*,* ]]; then
    pass example-commented-settings
else
    fail example-commented-settings "$(why)"
fi

# A copy with one value broken is refused, naming the file and line.
sed 's/^udp = on/udp = maybe/' "$EXAMPLE" >"$SFY_TMP/bad.conf"
run 10 "$SOCKSIFY" --config "$SFY_TMP/bad.conf" -- true
if ((RC == 2)) && [[ $ERR == *"bad.conf:"*"udp"*maybe* ]]; then
    pass example-broken-copy-refused
else
    fail example-broken-copy-refused "$(why)"
fi

finish
