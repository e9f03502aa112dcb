#pragma once
// The background probe: every pool.probe_interval_ms it sends a cheap request (GET
// pool.probe_path, default /v1/models) to each account the pool says is due (half-open, and
// disabled ones when pool.probe_disabled is set), through the same upstream path as real
// traffic, and reports the result to the pool. Runs as a coroutine on one io thread.
#include <boost/asio/awaitable.hpp>

#include "app/config.hpp"
#include "pool/account_pool.hpp"
#include "pool/egress_pool.hpp"
#include "relay/pipeline.hpp"
#include "store/snapshot_source.hpp"
#include "upstream/client.hpp"

namespace relay::app {

// A probe in flight counts in stats.active, so shutdown drains it like a request.
boost::asio::awaitable<void> run_prober(const Config& cfg, pool::AccountPool& pool,
                                        pool::EgressPool& egresses,
                                        store::SnapshotSource& snapshots,
                                        upstream::Client& upstreams, PipelineStats& stats,
                                        const bool& stopping);

}  // namespace relay::app
