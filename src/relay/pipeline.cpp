#include "relay/pipeline.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>

#include "base/log.hpp"
#include "base/unix_time.hpp"
#include "limits/auth_failure_limiter.hpp"
#include "limits/counter_store.hpp"
#include "relay/admit.hpp"
#include "relay/client_family.hpp"
#include "relay/exchange.hpp"
#include "relay/failover.hpp"
#include "relay/forward.hpp"
#include "relay/identify.hpp"
#include "relay/inspect.hpp"
#include "relay/local_routes.hpp"
#include "relay/record.hpp"
#include "relay/settle.hpp"
#include "relay/usage_option.hpp"
#include "upstream/transfer.hpp"

namespace relay {

namespace asio = boost::asio;

namespace {

// Holds a gauge (requests or streams in flight) up while it lives; null holds nothing.
class GaugeHold {
 public:
  explicit GaugeHold(std::atomic<long>* gauge) : gauge_(gauge) {
    if (gauge_) gauge_->fetch_add(1, std::memory_order_relaxed);
  }
  ~GaugeHold() {
    if (gauge_) gauge_->fetch_sub(1, std::memory_order_relaxed);
  }
  GaugeHold(const GaugeHold&) = delete;
  GaugeHold& operator=(const GaugeHold&) = delete;

 private:
  std::atomic<long>* gauge_;
};

// Milliseconds as whole seconds for Retry-After, rounded up: a client that waits that long passes.
int whole_seconds(std::int64_t ms) {
  return static_cast<int>(std::min<std::int64_t>((ms + 999) / 1000, 86'400));
}

// The fields every request's context starts with, whatever happens to it next.
void begin(RequestContext& ctx, const http::Request& req) {
  ctx.request_id = request_id_for(req.headers);
  ctx.started_unix_ms = unix_now_ms();
  ctx.method = req.method;
  ctx.path = std::string(req.path());
  ctx.client_family = client_family(req.headers);
  ctx.bytes_in = static_cast<std::int64_t>(req.body.size());
}

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
  stats_.total.fetch_add(1, std::memory_order_relaxed);
  GaugeHold active(&stats_.active);
  RequestContext ctx;
  begin(ctx, req);
  ctx.snapshot = snapshots_.get();

  // 1. accept: http/session.cpp has read the request within its size and time limits.

  // Health checks and paths outside the API are answered here, before any key is looked at.
  if (auto local = local_route(req); local != LocalRoute::kApi) {
    co_await answer_local(local, ctx, out);
    co_return settle(ctx);
  }
  ctx.records = sinks_.records;  // every API request has a record; health checks do not

  // 2. identify: the relay key gives the tenant. An address over the invalid-key limit still
  // has valid keys served; its other failures get 429 instead of 401 (auth_failure_limiter.hpp).
  auto* auth_failures = sinks_.auth_failures;
  const std::int64_t now_ms = unix_now_ms();
  const bool over_limit = auth_failures && auth_failures->blocked_for_ms(req.client_ip, now_ms) > 0;
  auto who = identify(*ctx.snapshot, req.headers, std::time(nullptr), over_limit);
  if (!who.ok()) {
    const std::int64_t wait_ms =
        auth_failures ? auth_failures->note_failure(req.client_ip, now_ms) : 0;
    if (wait_ms > 0)
      co_await respond_error(ctx, out, ErrorCode::kTooManyInvalidKeys, {}, whole_seconds(wait_ms));
    else
      co_await respond_error(ctx, out, ErrorCode::kInvalidApiKey);
    co_return settle(ctx, to_string(who.failure));
  }
  ctx.key = who.key;

  // 3. admit: the tenant's rate limits, quotas and concurrency (admit.cpp). A shared counter
  // store that cannot answer (fail-closed Redis) refuses limited tenants only.
  AdmitOptions admit_opts;
  admit_opts.lease_ttl_ms = cfg_.limits.lease_ttl_ms;
  admit_opts.alerts = sinks_.alerts;
  Admission admission;
  bool counted = true;
  try {
    admission = co_await admit(*ctx.key, counters_, admit_opts, unix_now_ms());
  } catch (const limits::Unavailable& e) {
    counted = false;
    log::event(spdlog::level::warn, "tenant_limits_unavailable",
               {{"request_id", ctx.request_id}, {"error", e.what()}});
  }
  if (!counted && any_limit_set(*ctx.key)) {
    co_await respond_error(ctx, out, ErrorCode::kLimitsUnavailable, {}, 1);
    co_return settle(ctx);
  }
  ctx.response_headers = std::move(admission.headers);
  if (admission.refused) {
    co_await respond_error(ctx, out, *admission.refused, admission.message,
                           admission.retry_after_s);
    co_return settle(ctx);
  }

  // 4 to 7, then the account's side of settle.
  std::string detail = co_await forward_admitted(req, out, ctx);

  // 8. settle: the tenant's lease and token quota, the access-log line. (The account's health
  // and its lease were settled in forward_admitted.)
  const auto& u = ctx.usage;
  if (counted) {
    try {
      co_await admission.settle(counters_, u.present ? u.input_tokens + u.output_tokens : 0,
                                unix_now_ms());
    } catch (const limits::Unavailable& e) {
      // The lease expires after its TTL; these tokens go uncounted.
      log::event(spdlog::level::warn, "tenant_usage_not_charged",
                 {{"request_id", ctx.request_id}, {"error", e.what()}});
    }
  }
  settle(ctx, detail);
}

asio::awaitable<std::string> Pipeline::forward_admitted(http::Request& req,
                                                        http::ResponseWriter& out,
                                                        RequestContext& ctx) {
  // 4. inspect: model, stream and cache key from the body, which stays as received.
  auto inspected = inspect(req);
  if (inspected.error) {
    co_await respond_error(ctx, out, ErrorCode::kInvalidJson, *inspected.error);
    co_return std::string();
  }
  ctx.body = std::move(inspected.info);
  GaugeHold stream(ctx.body.stream ? &stats_.streams : nullptr);
  if (wants_usage_option(ctx.path, ctx.body)) {
    add_include_usage(req.body);  // after inspect, which may have parsed the body in place
    ctx.strip_usage_chunk = true;
  }

  // 5. route and 6. forward: an account by health and affinity, the request to it; a failure
  // before the first byte goes back to route for another account (failover.cpp).
  auto committed = co_await route_and_forward(ctx, req, out, {cfg_, pool_, egresses_, upstreams_});
  if (!committed) co_return std::string();
  auto& transfer = *committed->transfer;

  // 7. relay: status, headers and body to the client as they arrive.
  co_await relay_body(transfer, out, ctx, cfg_.upstream, committed->tap,
                      std::move(committed->held));

  // 8. settle, the account's side: its health and cache figures; its lease goes with
  // `committed`.
  if (!committed->recorded)
    pool_.record(ctx.account->id, outcome_for_pool(ctx, committed->started),
                 std::chrono::steady_clock::now());
  if (ctx.usage.present)
    pool_.record_usage(ctx.account->id, ctx.usage.input_tokens, ctx.usage.cached_tokens);
  co_return !transfer.failed() ? std::string() : transfer.error_text();
}

asio::awaitable<void> Pipeline::reject(ErrorCode code, const http::Request& partial,
                                       http::ResponseWriter& out) {
  RequestContext ctx;
  begin(ctx, partial);
  ctx.records = sinks_.records;
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
  head.headers.insert(head.headers.end(), ctx.response_headers.begin(), ctx.response_headers.end());
  if (spec.status == 429)
    head.headers.push_back({"retry-after", std::to_string(std::max(1, retry_after_s))});
  head.content_length = body.size();
  ctx.bytes_out += static_cast<std::int64_t>(body.size());
  out.hold_head(head);  // head and body in one write: a refusal costs one system call
  ctx.first_byte = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - ctx.started);
  record_once(ctx);  // before the body, which completes the response (record.hpp)
  if (co_await out.send_body(body)) co_await out.finish();
}

}  // namespace relay
