#include "relay/pipeline.hpp"

#include <ctime>

#include "relay/exchange.hpp"
#include "relay/failover.hpp"
#include "relay/forward.hpp"
#include "relay/identify.hpp"
#include "relay/inspect.hpp"
#include "relay/local_routes.hpp"
#include "relay/settle.hpp"
#include "upstream/transfer.hpp"

namespace relay {

namespace asio = boost::asio;

namespace {

struct ActiveGuard {
  explicit ActiveGuard(PipelineStats& s) : stats(s) {
    stats.active.fetch_add(1, std::memory_order_relaxed);
    stats.total.fetch_add(1, std::memory_order_relaxed);
  }
  ~ActiveGuard() { stats.active.fetch_sub(1, std::memory_order_relaxed); }
  PipelineStats& stats;
};

// How a committed attempt ended, for the account's health. A client that hangs up says
// nothing about the account.
pool::AttemptOutcome outcome_for_pool(const RequestContext& ctx,
                                      std::chrono::steady_clock::time_point started) {
  pool::AttemptOutcome o;
  if (ctx.first_byte)
    o.ttfb = std::chrono::duration_cast<pool::Millis>(ctx.started + *ctx.first_byte - started);
  switch (ctx.outcome) {
    case Outcome::kOk:
      o.failure = pool::FailureClass::kNone;
      break;
    case Outcome::kUpstreamError:
      o.failure = ctx.error_code == error_spec(ErrorCode::kUpstreamTimeout).code
                      ? pool::FailureClass::kTimeout
                      : pool::FailureClass::kServerError;
      o.after_commit = true;
      break;
    default:
      o.failure = pool::FailureClass::kClientError;
  }
  return o;
}

}  // namespace

asio::awaitable<void> Pipeline::handle(http::Request& req, http::ResponseWriter& out) {
  ActiveGuard active(stats_);
  RequestContext ctx;
  ctx.request_id = request_id_for(req.headers);
  ctx.method = req.method;
  ctx.path = std::string(req.path());
  ctx.snapshot = snapshots_.get();

  // 1. accept: http/session.cpp has read the request within its size and time limits.

  // Health checks and paths outside the API are answered here, before any key is looked at.
  if (auto local = local_route(req); local != LocalRoute::kApi) {
    co_await answer_local(local, ctx, out);
    co_return settle(ctx);
  }

  // 2. identify: the relay key gives the tenant.
  auto who = identify(*ctx.snapshot, req.headers, std::time(nullptr));
  if (!who.ok()) {
    co_await respond_error(ctx, out, ErrorCode::kInvalidApiKey);
    co_return settle(ctx, to_string(who.failure));
  }
  ctx.key = who.key;

  // 3. admit: tenant rate limits, concurrency and quotas (none configured yet).

  // 4. inspect: model, stream and cache key from the body, which stays as received.
  auto inspected = inspect(req);
  if (inspected.error) {
    co_await respond_error(ctx, out, ErrorCode::kInvalidJson, *inspected.error);
    co_return settle(ctx);
  }
  ctx.body = std::move(inspected.info);

  // 5. route and 6. forward: an account by health and affinity, the request to it; a failure
  // before the first byte goes back to route for another account (failover.cpp).
  auto committed = co_await route_and_forward(ctx, req, out, {cfg_, pool_, multi_});
  if (!committed) co_return settle(ctx);
  auto& transfer = *committed->transfer;

  // 7. relay: status, headers and body to the client as they arrive.
  co_await relay_body(transfer, out, ctx, cfg_.upstream, committed->tap,
                      std::move(committed->held));

  // 8. settle: the account's health and cache figures, the lease (released with `committed`),
  // the access-log line. Quotas and usage records join later.
  if (!committed->recorded)
    pool_.record(ctx.account->id, outcome_for_pool(ctx, committed->started),
                 std::chrono::steady_clock::now());
  if (ctx.usage.present)
    pool_.record_usage(ctx.account->id, ctx.usage.input_tokens, ctx.usage.cached_tokens);
  settle(ctx, transfer.cancelled() || transfer.result() == CURLE_OK ? std::string_view()
                                                                    : transfer.error_text());
}

asio::awaitable<void> Pipeline::reject(ErrorCode code, const http::Request& partial,
                                       http::ResponseWriter& out) {
  RequestContext ctx;
  ctx.request_id = request_id_for(partial.headers);
  ctx.method = partial.method;
  ctx.path = std::string(partial.path());
  co_await respond_error(ctx, out, code);
  settle(ctx);
}

asio::awaitable<void> respond_error(RequestContext& ctx, http::ResponseWriter& out, ErrorCode code,
                                    std::string_view message, int retry_after_s) {
  const auto& spec = error_spec(code);
  ctx.status = spec.status;
  ctx.error_code = spec.code;
  if (ctx.outcome == Outcome::kOk) ctx.outcome = Outcome::kRejected;
  std::string body = error_body(code, message);
  http::ResponseHead head;
  head.status = spec.status;
  head.headers.push_back({"content-type", "application/json"});
  head.headers.push_back({"x-request-id", ctx.request_id});
  if (spec.status == 429)
    head.headers.push_back({"retry-after", std::to_string(std::max(1, retry_after_s))});
  head.content_length = body.size();
  if (co_await out.send_head(head) && co_await out.send_body(body)) co_await out.finish();
}

}  // namespace relay
