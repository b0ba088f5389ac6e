// The pipelining probe's I/O (protocol/pipeline_probe.hpp says how it decides): one
// exchange on a connection of its own to the proxy, never on a program's socket.
#pragma once

#include "protocol/pipeline_probe.hpp"
#include "shim/io.hpp"
#include "shim/proxy/handshake.hpp"

namespace socksify::shim {

struct ProbeOutcome {
    proto::PipelineVerdict verdict = proto::PipelineVerdict::kUnknown;
    int err = 0;      // why the probe ended without an answer (0 if one came)
    int method = -1;  // the method the server chose, -1 if none arrived
    int rep = -1;     // the REP of the first reply, -1 if none arrived
};

// fd: a non-blocking socket already connected to the proxy.
ProbeOutcome probe_pipelining(int fd, const Credentials& creds, const Deadline& deadline);

}  // namespace socksify::shim
