#include "app/prober.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "relay/forward.hpp"
#include "relay/holdback.hpp"
#include "upstream/transfer.hpp"

namespace relay::app {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

asio::awaitable<pool::AttemptOutcome> probe_once(const Config& cfg, upstream::Client& upstreams,
                                                 const store::SnapshotAccount& account,
                                                 const pool::EgressRoute& egress) {
  http::Request req;
  req.method = "GET";
  req.target = cfg.pool.probe_path;
  req.headers = {{"accept", "application/json"}, {"user-agent", "codex-relay-probe"}};
  constexpr std::size_t kProbeBodyLimit = 64 * std::size_t{1024};
  upstream::TransferOptions topts{cfg.upstream.connect_timeout_ms, kProbeBodyLimit};
  upstream::Transfer t(upstreams, build_upstream_request(req, account, &egress), topts);
  t.start();
  const auto started = Clock::now();
  const auto deadline = started + std::chrono::milliseconds(cfg.upstream.connect_timeout_ms);
  while (!t.headers_ready() && !t.done() && Clock::now() < deadline) {
    t.signal().expires_at(deadline);
    co_await t.signal().async_wait(asio::as_tuple(asio::use_awaitable));
  }
  pool::AttemptOutcome o;
  if (!t.headers_ready()) {
    o.failure =
        t.done() && !t.timed_out() ? pool::FailureClass::kConnect : pool::FailureClass::kTimeout;
    co_return o;
  }
  o.ttfb = std::chrono::duration_cast<pool::Millis>(Clock::now() - started);
  std::string body;
  while (!t.done() && body.size() < kProbeBodyLimit && Clock::now() < deadline) {
    if (t.has_body()) {
      body += t.take_body();
      continue;
    }
    t.signal().expires_at(deadline);
    co_await t.signal().async_wait(asio::as_tuple(asio::use_awaitable));
  }
  o.failure = pool::classify_status(t.status(), error_code_of(body));
  o.retry_after = pool::retry_after_from(t.headers(), std::chrono::system_clock::now());
  co_return o;
}

}  // namespace

asio::awaitable<void> run_prober(const Config& cfg, pool::AccountPool& pool,
                                 pool::EgressPool& egresses, store::SnapshotSource& snapshots,
                                 upstream::Client& upstreams, PipelineStats& stats,
                                 const bool& stopping) {
  asio::steady_timer timer(upstreams.io());
  while (!stopping) {
    timer.expires_after(cfg.pool.probe_interval);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    auto snap = snapshots.get();
    for (auto id : pool.due_for_probe(Clock::now())) {
      const store::SnapshotAccount* account = nullptr;
      for (const auto& a : snap->accounts)
        if (a.id == id) account = &a;
      // due_for_probe() marked the account as probing: every path that does not probe gives
      // the mark back, or a half-open account whose egresses were down at that moment would
      // wait for a trial that never comes, and take no traffic.
      if (!account || stopping) {
        pool.forgo(id);
        continue;
      }
      // Through one of its egresses, like its traffic; with none working there is nothing to
      // learn about the account itself (the egress prober watches the egresses).
      auto egress = egresses.choose(*account, {}, Clock::now());
      if (!egress) {
        pool.forgo(id);
        continue;
      }
      stats.active.fetch_add(1);
      auto outcome = co_await probe_once(cfg, upstreams, *account, *egress);
      stats.active.fetch_sub(1);
      spdlog::info("probe account={} result={}", account->name, pool::to_string(outcome.failure));
      pool.record_probe(id, outcome, Clock::now());
    }
  }
}

}  // namespace relay::app
