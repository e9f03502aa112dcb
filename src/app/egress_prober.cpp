#include "app/egress_prober.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <unordered_set>

#include "relay/forward.hpp"
#include "upstream/transfer.hpp"

namespace relay::app {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

using InFlight = std::unordered_set<std::int64_t>;

asio::awaitable<void> probe_egress(const Config& cfg, pool::EgressPool& egresses,
                                   upstream::Client& upstreams, store::SnapshotPtr snap,
                                   const store::SnapshotAccount& account,
                                   const store::SnapshotEgress& egress,
                                   std::shared_ptr<InFlight> in_flight, PipelineStats& stats) {
  http::Request req;
  req.method = "GET";
  req.target = "/";
  const pool::EgressRoute route{egress.id, egress.name, egress.url, egress.ca_file};
  auto up = build_upstream_request(req, account, &route);
  up.headers.clear();  // nothing is sent; the credential stays home
  up.connect_only = true;
  const std::int64_t timeout_ms = cfg.egress.probe_timeout_ms;
  upstream::Transfer t(upstreams, up, upstream::TransferOptions{timeout_ms, 1024});
  t.start();
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!t.done() && Clock::now() < deadline) {
    t.signal().expires_at(deadline);
    co_await t.signal().async_wait(asio::as_tuple(asio::use_awaitable));
  }
  if (!t.done()) {
    t.cancel();
    egresses.record(egress.id, false, "probe: no tunnel within the probe timeout");
  } else if (!t.failed()) {
    egresses.record(egress.id, true, {});
  } else {
    egresses.record(egress.id, false, "probe: " + t.error_text());
  }
  in_flight->erase(egress.id);
  stats.active.fetch_sub(1);
  (void)snap;  // kept alive until here: account and egress point into it
}

}  // namespace

asio::awaitable<void> run_egress_prober(const Config& cfg, pool::EgressPool& egresses,
                                        store::SnapshotSource& snapshots,
                                        upstream::Client& upstreams, PipelineStats& stats,
                                        const bool& stopping) {
  if (cfg.egress.probe_interval_ms <= 0) co_return;
  asio::steady_timer timer(upstreams.io());
  auto in_flight = std::make_shared<InFlight>();
  while (!stopping) {
    timer.expires_after(std::chrono::milliseconds(cfg.egress.probe_interval_ms));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (stopping) break;
    auto snap = snapshots.get();
    for (const auto& a : snap->accounts) {
      if (!a.enabled) continue;
      for (const auto& e : a.egresses) {
        if (!in_flight->insert(e.id).second) continue;  // the last probe is still out
        // Counted like a request, so that shutdown drains it.
        stats.active.fetch_add(1);
        asio::co_spawn(upstreams.io(),
                       probe_egress(cfg, egresses, upstreams, snap, a, e, in_flight, stats),
                       asio::detached);
      }
    }
  }
}

}  // namespace relay::app
