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
class CurlMulti;
}
namespace pool {
class AccountPool;
}

// Counters shared by every io thread's pipeline.
struct PipelineStats {
  std::atomic<long> active{0};
  std::atomic<long> total{0};
};

class Pipeline final : public http::RequestHandler {
 public:
  Pipeline(const app::Config& cfg, store::SnapshotSource& snapshots, pool::AccountPool& pool,
           upstream::CurlMulti& multi, PipelineStats& stats)
      : cfg_(cfg), snapshots_(snapshots), pool_(pool), multi_(multi), stats_(stats) {}

  boost::asio::awaitable<void> handle(http::Request& request, http::ResponseWriter& out) override;
  boost::asio::awaitable<void> reject(ErrorCode code, const http::Request& partial,
                                      http::ResponseWriter& out) override;

 private:
  const app::Config& cfg_;
  store::SnapshotSource& snapshots_;
  pool::AccountPool& pool_;
  upstream::CurlMulti& multi_;
  PipelineStats& stats_;
};

// Writes a relay-made error in the error model and records it in ctx.
// A 429 always carries Retry-After (at least 1 s).
boost::asio::awaitable<void> respond_error(RequestContext& ctx, http::ResponseWriter& out,
                                           ErrorCode code, std::string_view message = {},
                                           int retry_after_s = 0);

}  // namespace relay
