#pragma once
// Phase 1, accept: one coroutine per connection reads requests under the size and time limits
// and hands each to the request handler (the pipeline). Keep-alive until the client or a
// limit ends it.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>

#include "http/message.hpp"
#include "http/response_writer.hpp"
#include "relay/errors.hpp"

namespace relay::http {

struct SessionLimits {
  std::size_t max_header_bytes = std::size_t{32} * 1024;
  std::size_t max_body_bytes = 64ull << 20;
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds body_timeout{60'000};
  std::chrono::milliseconds keepalive_timeout{60'000};
  std::chrono::milliseconds send_timeout{60'000};  // a client that reads nothing this long
};

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  virtual boost::asio::awaitable<void> handle(Request& request, ResponseWriter& out) = 0;
  // The request broke a protocol limit before it was complete; `partial` has what was read.
  virtual boost::asio::awaitable<void> reject(ErrorCode code, const Request& partial,
                                              ResponseWriter& out) = 0;
};

boost::asio::awaitable<void> run_session(boost::asio::ip::tcp::socket socket,
                                         RequestHandler& handler, const SessionLimits& limits);

}  // namespace relay::http
