#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "relay/exchange.hpp"

namespace relay {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

asio::awaitable<std::optional<ErrorCode>> send_upstream(upstream::Transfer& t,
                                                        http::ResponseWriter& out,
                                                        RequestContext& ctx,
                                                        const app::UpstreamConfig& cfg) {
  bool client_gone = false;
  out.watch_disconnect([&t, &client_gone] {
    client_gone = true;
    t.cancel();
  });
  t.start();
  const auto deadline = Clock::now() + std::chrono::milliseconds(cfg.first_byte_timeout_ms);
  bool timed_out = false;
  while (!t.headers_ready() && !t.done()) {
    if (Clock::now() >= deadline) {
      timed_out = true;
      t.cancel();
      break;
    }
    t.signal().expires_at(deadline);
    co_await t.signal().async_wait(asio::as_tuple(asio::use_awaitable));
  }
  out.stop_watching();
  if (client_gone) {
    ctx.outcome = Outcome::kClientCancelled;
    co_return std::nullopt;
  }
  if (t.headers_ready()) co_return std::nullopt;
  ctx.outcome = Outcome::kUpstreamError;
  if (timed_out || t.timed_out()) co_return ErrorCode::kUpstreamTimeout;
  co_return ErrorCode::kUpstreamUnavailable;
}

}  // namespace relay
