#include "relay/failover.hpp"

#include <algorithm>
#include <cmath>

#include "relay/exchange.hpp"
#include "relay/forward.hpp"
#include "relay/holdback.hpp"
#include "relay/pipeline.hpp"

namespace relay {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using pool::FailureClass;

namespace {

constexpr std::size_t kErrorBodyLimit = 64 * std::size_t{1024};

int seconds_up(std::optional<pool::Millis> d) {
  if (!d) return 1;
  return std::max(1, static_cast<int>(std::ceil(static_cast<double>(d->count()) / 1000.0)));
}

// The answer when no attempt worked: the relay's own error, never the provider's body, which
// can name the account's organisation or its key's state.
asio::awaitable<void> give_up(RequestContext& ctx, http::ResponseWriter& out,
                              const pool::AttemptOutcome& last, std::optional<pool::Millis> wait) {
  ctx.outcome = Outcome::kUpstreamError;
  switch (last.failure) {
    case FailureClass::kRateLimited:
      co_return co_await respond_error(ctx, out, ErrorCode::kUpstreamRateLimited, {},
                                       seconds_up(wait ? wait : last.retry_after));
    case FailureClass::kTimeout:
      co_return co_await respond_error(ctx, out, ErrorCode::kUpstreamTimeout);
    case FailureClass::kAuth:
      co_return co_await respond_error(ctx, out, ErrorCode::kNoHealthyAccount);
    default:
      co_return co_await respond_error(ctx, out, ErrorCode::kUpstreamUnavailable);
  }
}

}  // namespace

std::string affinity_key(const http::Request& req, const RequestContext& ctx) {
  if (const auto* s = http::find_header(req.headers, "session-id"); s && !s->empty()) return *s;
  if (const auto* s = http::find_header(req.headers, "session_id"); s && !s->empty()) return *s;
  return ctx.body.prompt_cache_key;
}

asio::awaitable<std::optional<Committed>> route_and_forward(RequestContext& ctx,
                                                            const http::Request& req,
                                                            http::ResponseWriter& out,
                                                            ForwardDeps deps) {
  const auto& pc = deps.pool.config();
  const std::string key = affinity_key(req, ctx);
  const auto deadline = Clock::now() + pc.attempt_deadline;
  const bool holdback = ctx.body.stream && is_responses_path(ctx.path);
  upstream::TransferOptions topts{deps.cfg.upstream.connect_timeout_ms,
                                  deps.cfg.upstream.stream_buffer_bytes};
  app::UpstreamConfig ucfg = deps.cfg.upstream;
  if (ctx.body.stream) ucfg.first_byte_timeout_ms = ucfg.stream_first_byte_timeout_ms;

  std::vector<std::int64_t> tried;            // accounts
  std::vector<std::int64_t> failed_egresses;  // egresses whose tunnel failed for this request
  std::optional<pool::AttemptOutcome> last;
  for (int attempt = 0;;) {
    if (last && (attempt >= pc.max_attempts || Clock::now() >= deadline)) {
      co_await give_up(ctx, out, *last, std::nullopt);
      co_return std::nullopt;
    }
    // 5. route
    auto sel = deps.pool.select(*ctx.snapshot, ctx.body.model, key, tried, Clock::now());
    if (!sel.account) {
      if (last) {
        // The soonest of: what the last provider said, and when an untried account reopens.
        auto wait = sel.retry_after;
        if (last->retry_after && (!wait || *last->retry_after < *wait)) wait = last->retry_after;
        co_await give_up(ctx, out, *last, wait);
      } else if (sel.all_rate_limited) {
        ctx.outcome = Outcome::kUpstreamError;
        co_await respond_error(ctx, out, ErrorCode::kUpstreamRateLimited, {},
                               seconds_up(sel.retry_after));
      } else {
        co_await respond_error(ctx, out, ErrorCode::kNoHealthyAccount);
      }
      co_return std::nullopt;
    }
    // 5b. the account's egress: healthy ones first, then this node's region. An account whose
    // egresses are all down is unavailable (never direct); that is not the account's fault.
    auto egress = deps.egresses.choose(*sel.account, failed_egresses, Clock::now());
    if (!egress) {
      deps.pool.forgo(sel.account->id);  // a half-open trial it was given is not used
      tried.push_back(sel.account->id);
      continue;
    }
    ++attempt;
    ctx.account = sel.account;
    ctx.egress = egress->name;
    ++ctx.attempts;
    const auto id = sel.account->id;

    // 6. forward
    Committed c;
    c.started = Clock::now();
    c.lease = std::move(sel.lease);
    c.transfer = std::make_unique<upstream::Transfer>(
        deps.upstreams, build_upstream_request(req, *sel.account, &*egress), topts);
    auto& t = *c.transfer;
    pool::AttemptOutcome o;
    auto failure = co_await send_upstream(t, out, ctx, ucfg);
    if (ctx.outcome == Outcome::kClientCancelled) {
      deps.pool.record(id, {FailureClass::kClientError, {}, {}}, Clock::now());
      co_return std::nullopt;
    }
    if (failure && egress->id != 0 &&
        (*failure == ErrorCode::kUpstreamUnavailable || t.timed_out())) {
      // Through an egress, a failure to get a response head that is not the provider's
      // slowness (the first-byte timeout) is the route's: the proxy refused or dropped the
      // tunnel, or TLS with the provider broke inside it, as it does when an egress dies
      // mid-handshake. The account may well work through another of its egresses, so its
      // health is left alone. (If the provider itself is down, each egress fails the same way
      // and the account shows egress_unavailable until a probe gets through.)
      deps.pool.forgo(id);
      deps.egresses.record(egress->id, false, t.error_text());
      failed_egresses.push_back(egress->id);
      ctx.outcome = Outcome::kOk;
      last = pool::AttemptOutcome{FailureClass::kConnect, {}, {}};
      continue;
    }
    if (egress->id != 0 && t.headers_ready()) deps.egresses.record(egress->id, true, {});
    if (failure) {
      o.failure =
          *failure == ErrorCode::kUpstreamTimeout ? FailureClass::kTimeout : FailureClass::kConnect;
      ctx.outcome = Outcome::kOk;
      deps.pool.record(id, o, Clock::now());
      last = o;
      tried.push_back(id);
      continue;
    }
    o.ttfb = std::chrono::duration_cast<pool::Millis>(Clock::now() - c.started);

    if (t.status() >= 400) {
      // Small error bodies are read whole: their error.code decides the failure class.
      auto r = co_await collect_body(t, out, c.held, nullptr, kErrorBodyLimit, deadline,
                                     [] { return false; });
      if (r == CollectResult::kClientGone) {
        ctx.outcome = Outcome::kClientCancelled;
        deps.pool.record(id, {FailureClass::kClientError, {}, {}}, Clock::now());
        co_return std::nullopt;
      }
      o.failure = pool::classify_status(t.status(), error_code_of(c.held));
      o.retry_after = pool::retry_after_from(t.headers(), std::chrono::system_clock::now());
      if (o.failure == FailureClass::kClientError) {
        // The provider's verdict on the request itself: the client gets it as it came.
        deps.pool.record(id, o, Clock::now());
        c.recorded = true;
        co_return c;
      }
      deps.pool.record(id, o, Clock::now());
      last = o;
      tried.push_back(id);
      continue;
    }

    if (holdback) {
      auto hold_until = std::min(
          deadline,
          Clock::now() + std::chrono::milliseconds(deps.cfg.upstream.heartbeat_interval_ms));
      auto r = co_await collect_body(t, out, c.held, &c.tap, pc.holdback_bytes, hold_until,
                                     [&c] { return c.tap.output_seen() || c.tap.terminal_seen(); });
      if (r == CollectResult::kClientGone) {
        ctx.outcome = Outcome::kClientCancelled;
        deps.pool.record(id, {FailureClass::kClientError, {}, {}}, Clock::now());
        co_return std::nullopt;
      }
      bool failed_early = c.tap.terminal() == "response.failed" && !c.tap.output_seen();
      bool broke_early =
          r == CollectResult::kEnded && !c.tap.output_seen() && !c.tap.terminal_seen();
      if (failed_early || broke_early) {
        o.failure = failed_early ? pool::classify_stream_failure(c.tap.failure_code())
                                 : FailureClass::kServerError;
        if (o.failure != FailureClass::kClientError) {
          deps.pool.record(id, o, Clock::now());
          last = o;
          tried.push_back(id);
          continue;
        }
      }
    }
    // Committed: health is recorded when the response ends (pipeline's settle).
    co_return c;
  }
}

}  // namespace relay
