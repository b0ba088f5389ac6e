// The launcher's side of pipelining: what the run's proxy does with early bytes is
// read from a per-user cache or probed on a connection of the launcher's own while
// the program starts, and written into the shared header the library reads. Until a
// verdict is there, connections go one message per round trip: the first connection
// of a run never waits for the probe and never pays for a wrong guess.
#pragma once

#include <string>

#include "protocol/pipeline_probe.hpp"
#include "shim/proxy/pipeline_probe.hpp"
#include "shim/settings/config.hpp"

namespace socksify::launcher {

// Connects to cfg's proxy and runs the probe under cfg.timeout_ms.
// connect_ms: time to connect, or -1 when the proxy could not be reached.
shim::ProbeOutcome probe_proxy(const shim::Config& cfg, double& connect_ms);

// The cache file: $XDG_CACHE_HOME/socksify/pipelining, else ~/.cache/socksify/...;
// empty when neither names an absolute directory.
std::string pipeline_cache_path();

// The remembered verdict for key, kUnknown if none (or the file is not the user's
// own, private, regular file: a cache is never trusted across users).
proto::PipelineVerdict cache_lookup(const std::string& path, const std::string& key);
// Records key's verdict (one line per key, the newest wins); false on failure.
bool cache_store(const std::string& path, const std::string& key, proto::PipelineVerdict v);

// The cache key of cfg's proxy: its address and the user name it logs in with.
std::string pipeline_key(const shim::Config& cfg);

// The cache key of a chain's hop, as pipeline_key: a verdict is the server's, wherever
// it stands in a chain.
std::string hop_key(const shim::HopSpec& h);

// Puts the verdict into the run's shared state, from the cache or from a probe that
// runs on a thread of its own (the launcher waits for the program, not for it); for a
// chain, the same for each later SOCKS5 hop (SharedHeader::hop_pipeline).
void start_pipeline_learning(const shim::Config& cfg, const std::string& state_ref);
// Waits for that probe, so what it found is remembered for the next run. Bounded by
// the probe's own deadline (--timeout); it normally took a round trip long ago.
void finish_pipeline_learning();

}  // namespace socksify::launcher
