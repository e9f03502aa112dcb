#pragma once
// Phase 1, accept: one coroutine per connection reads requests under the size and time limits
// and hands each to the request handler (the pipeline). Keep-alive until the client or a
// limit ends it.
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "http/message.hpp"
#include "http/response_writer.hpp"
#include "relay/errors.hpp"

namespace boost::asio::ssl {
class context;
}

namespace relay::http {

// Counted for every listener; never holds client data.
struct SessionCounters {
  std::atomic<std::uint64_t> tls_handshake_failures{0};
  std::atomic<std::uint64_t> bad_request_heads{0};  // smuggling-shaped or malformed heads
  std::atomic<std::uint64_t> slow_clients{0};       // responses cut for reading too slowly
};

struct SessionLimits {
  std::size_t max_header_bytes = std::size_t{32} * 1024;
  std::size_t max_body_bytes = 64ull << 20;
  std::chrono::milliseconds header_timeout{10'000};  // also bounds the TLS handshake
  std::chrono::milliseconds body_timeout{60'000};
  std::chrono::milliseconds keepalive_timeout{60'000};
  std::chrono::milliseconds send_timeout{60'000};  // a client that reads nothing this long
  // A client that makes the relay wait on its writes for longer than send_rate_grace in total
  // over one response must have read at least min_send_rate bytes per second of that wait.
  std::size_t min_send_rate = 1024;  // bytes per second; 0: no minimum
  std::chrono::milliseconds send_rate_grace{10'000};
  SessionCounters* counters = nullptr;
};

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  virtual boost::asio::awaitable<void> handle(Request& request, ResponseWriter& out) = 0;
  // The request broke a protocol limit before it was complete; `partial` has what was read.
  virtual boost::asio::awaitable<void> reject(ErrorCode code, const Request& partial,
                                              ResponseWriter& out) = 0;
};

// `tls`: the listener's context at accept time (nullptr: plain HTTP). `refuse`: answer this
// error (after the TLS handshake) without reading a request, then close.
boost::asio::awaitable<void> run_session(boost::asio::ip::tcp::socket socket,
                                         std::shared_ptr<boost::asio::ssl::context> tls,
                                         RequestHandler& handler, const SessionLimits& limits,
                                         std::optional<ErrorCode> refuse = std::nullopt);

}  // namespace relay::http
