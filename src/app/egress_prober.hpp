#pragma once
// The active half of egress health: every egress.probe_interval_ms, a tunnel is opened through
// every egress of every enabled account to that account's provider host (an HTTP CONNECT, or a
// SOCKS5 connect with the name resolved by the proxy), TLS included for https providers, and
// nothing is sent. The result goes to the EgressPool: a dead egress is marked down within one
// interval even when no request is using it, and a revived one comes back. Probes run side by
// side (one per egress at a time), each bounded by egress.probe_timeout_ms.
#include <boost/asio/awaitable.hpp>

#include "app/config.hpp"
#include "pool/egress_pool.hpp"
#include "relay/pipeline.hpp"
#include "store/snapshot_source.hpp"
#include "upstream/client.hpp"

namespace relay::app {

boost::asio::awaitable<void> run_egress_prober(const Config& cfg, pool::EgressPool& egresses,
                                               store::SnapshotSource& snapshots,
                                               upstream::Client& upstreams, PipelineStats& stats,
                                               const bool& stopping);

}  // namespace relay::app
