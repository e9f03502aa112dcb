#pragma once
// The pool's gauges on /metrics (docs/metrics.md): each account's health state, score and
// requests in flight, and each egress's state. Read at scrape time from the pools' status();
// accounts and egresses are configured by the operator, so their label sets are bounded by
// the config.
#include <chrono>
#include <string>

#include "pool/account_pool.hpp"
#include "pool/egress_pool.hpp"

namespace relay::app {

void render_pool_metrics(std::string& out, const pool::AccountPool& accounts,
                         const pool::EgressPool& egresses,
                         std::chrono::steady_clock::time_point now);

}  // namespace relay::app
