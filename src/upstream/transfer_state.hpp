#pragma once
// What a Transfer and the coroutine that runs its exchange share (transfer.cpp, transfer_run.cpp).
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "upstream/byte_stream.hpp"
#include "upstream/target.hpp"
#include "upstream/transfer.hpp"

namespace relay::upstream {

struct Transfer::State {
  explicit State(boost::asio::io_context& io)
      : signal(io), resume(io), watchdog(io), resolver(io) {}

  void notify() { signal.cancel(); }
  // Ends the exchange: the relay's coroutine sees done() at its next look.
  void finish(std::string why) {
    if (done) return;
    done = true;
    failed = !why.empty();
    error = std::move(why);
    notify();
  }

  boost::asio::steady_timer signal;    // wakes the relay's coroutine
  boost::asio::steady_timer resume;    // wakes the exchange when the queue drains
  boost::asio::steady_timer watchdog;  // the connect timeout
  boost::asio::ip::tcp::resolver resolver;

  // The request, as sent: kept whole so that a retry on a fresh connection sends it again.
  std::string wire;
  std::optional<Target> target;
  std::string destination;  // the Client's pool key
  std::string ca_file;
  std::string proxy;
  std::string proxy_ca_file;
  bool head_request = false;
  bool connect_only = false;
  std::int64_t connect_timeout_ms = 0;

  // The bottom of the connection in use or being made, for cancel() to close. The connection
  // itself belongs to the exchange's coroutine: closing its socket ends whatever that awaits,
  // while destroying it under a suspended read would not be safe.
  boost::asio::ip::tcp::socket* socket = nullptr;

  std::size_t buffer_limit = 0;
  std::string buffer;
  http::Headers headers;
  int status = 0;
  bool headers_ready = false;
  bool done = false;
  bool cancelled = false;
  bool failed = false;
  bool timed_out = false;
  bool paused = false;
  std::string error;
  std::chrono::steady_clock::time_point last_progress;
};

// The exchange (transfer_run.cpp).
boost::asio::awaitable<void> run_transfer(std::shared_ptr<Transfer::State> s, Client& client);

}  // namespace relay::upstream
