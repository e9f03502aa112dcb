#pragma once
// The life of a request, in order. Pipeline::handle in pipeline.cpp is the one place that lists
// the phases; each phase lives in its own unit under relay/.
#include <atomic>
#include <boost/asio/awaitable.hpp>

#include "app/config.hpp"
#include "http/session.hpp"
#include "relay/context.hpp"
#include "relay/errors.hpp"
#include "store/snapshot_source.hpp"

namespace relay {
namespace upstream {
class Client;
}
namespace pool {
class AccountPool;
class EgressPool;
}  // namespace pool
namespace limits {
class CounterStore;
class AuthFailureLimiter;
}  // namespace limits
class RecordSink;
class QuotaAlerts;

// Counters shared by every io thread's pipeline.
struct PipelineStats {
  std::atomic<long> active{0};
  std::atomic<long> total{0};
  std::atomic<long> streams{0};  // admitted requests that asked for a stream, in flight
};

// What every pipeline shares beyond the config: where records, metrics and alerts go.
struct PipelineSinks {
  RecordSink* records = nullptr;  // null: no metadata records
  QuotaAlerts* alerts = nullptr;  // null: no quota threshold events
  // null: no per-address limit on invalid keys ([server] invalid_key_*)
  limits::AuthFailureLimiter* auth_failures = nullptr;
};

class Pipeline final : public http::RequestHandler {
 public:
  Pipeline(const app::Config& cfg, store::SnapshotSource& snapshots, pool::AccountPool& pool,
           pool::EgressPool& egresses, limits::CounterStore& counters, upstream::Client& upstreams,
           PipelineStats& stats, PipelineSinks sinks = {})
      : cfg_(cfg),
        snapshots_(snapshots),
        pool_(pool),
        egresses_(egresses),
        counters_(counters),
        upstreams_(upstreams),
        stats_(stats),
        sinks_(sinks) {}

  boost::asio::awaitable<void> handle(http::Request& request, http::ResponseWriter& out) override;
  boost::asio::awaitable<void> reject(ErrorCode code, const http::Request& partial,
                                      http::ResponseWriter& out) override;

 private:
  // Phases 4 to 7 for an admitted request; returns a detail for the access log.
  boost::asio::awaitable<std::string> forward_admitted(http::Request& req,
                                                       http::ResponseWriter& out,
                                                       RequestContext& ctx);

  const app::Config& cfg_;
  store::SnapshotSource& snapshots_;
  pool::AccountPool& pool_;
  pool::EgressPool& egresses_;
  limits::CounterStore& counters_;
  upstream::Client& upstreams_;
  PipelineStats& stats_;
  PipelineSinks sinks_;
};

// Writes a relay-made error in the error model and records it in ctx.
// A 429 always carries Retry-After (at least 1 s).
boost::asio::awaitable<void> respond_error(RequestContext& ctx, http::ResponseWriter& out,
                                           ErrorCode code, std::string_view message = {},
                                           int retry_after_s = 0);

}  // namespace relay
