#include "relay/holdback.hpp"

#include <simdjson.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace relay {

namespace asio = boost::asio;

asio::awaitable<CollectResult> collect_body(upstream::Transfer& t, http::ResponseWriter& out,
                                            std::string& held, sse::StreamTap* tap,
                                            std::size_t limit,
                                            std::chrono::steady_clock::time_point deadline,
                                            const std::function<bool()>& stop) {
  bool client_gone = false;
  out.watch_disconnect([&t, &client_gone] {
    client_gone = true;
    t.cancel();
  });
  CollectResult result = CollectResult::kDeadline;
  for (;;) {
    if (client_gone) {
      result = CollectResult::kClientGone;
      break;
    }
    if (t.has_body()) {
      std::string chunk = t.take_body();
      if (tap) tap->feed(chunk);
      held += chunk;
      if (stop() || held.size() >= limit) {
        result = CollectResult::kStopped;
        break;
      }
      continue;
    }
    if (t.done()) {
      result = CollectResult::kEnded;
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    t.signal().expires_at(deadline);
    co_await t.signal().async_wait(asio::as_tuple(asio::use_awaitable));
  }
  out.stop_watching();
  co_return result;
}

std::string error_code_of(std::string_view body) {
  if (body.empty() || body.front() != '{') return {};
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(simdjson::padded_string(body)).get(doc)) return {};
  std::string_view code;
  if (!doc.at_pointer("/error/code").get(code)) return std::string(code);
  if (!doc.at_pointer("/error/type").get(code)) return std::string(code);
  return {};
}

}  // namespace relay
