#include "relay/pipeline.hpp"

#include <ctime>

#include "relay/exchange.hpp"
#include "relay/forward.hpp"
#include "relay/identify.hpp"
#include "relay/inspect.hpp"
#include "relay/local_routes.hpp"
#include "relay/route.hpp"
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

  // 5. route: an account that serves the model.
  ctx.account = route(*ctx.snapshot, ctx.body.model);
  if (!ctx.account) {
    co_await respond_error(ctx, out, ErrorCode::kNoHealthyAccount);
    co_return settle(ctx);
  }

  // 6. forward: allow-listed headers plus the account's credential, body byte for byte.
  upstream::TransferOptions topts{cfg_.upstream.connect_timeout_ms,
                                  cfg_.upstream.stream_buffer_bytes};
  upstream::Transfer transfer(multi_, build_upstream_request(req, *ctx.account), topts);
  if (auto failure = co_await send_upstream(transfer, out, ctx, cfg_.upstream)) {
    co_await respond_error(ctx, out, *failure);
    ctx.outcome = Outcome::kUpstreamError;
    co_return settle(ctx, transfer.error_text());
  }
  if (ctx.outcome == Outcome::kClientCancelled) co_return settle(ctx);

  // 7. relay: status, headers and body to the client as they arrive.
  co_await relay_body(transfer, out, ctx, cfg_.upstream);

  // 8. settle: record the outcome (leases, health, quotas and usage records join later).
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
                                    std::string_view message) {
  const auto& spec = error_spec(code);
  ctx.status = spec.status;
  ctx.error_code = spec.code;
  if (ctx.outcome == Outcome::kOk) ctx.outcome = Outcome::kRejected;
  std::string body = error_body(code, message);
  http::ResponseHead head;
  head.status = spec.status;
  head.headers.push_back({"content-type", "application/json"});
  head.headers.push_back({"x-request-id", ctx.request_id});
  head.content_length = body.size();
  if (co_await out.send_head(head) && co_await out.send_body(body)) co_await out.finish();
}

}  // namespace relay
