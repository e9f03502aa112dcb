#pragma once
// What a Transfer and the coroutine that runs its exchange share (transfer.cpp, transfer_run.cpp).
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <optional>

#include "upstream/byte_stream.hpp"
#include "upstream/target.hpp"
#include "upstream/transfer.hpp"

namespace relay::upstream {

struct Transfer::State {
  explicit State(boost::asio::io_context& io) : io(io), signal(io) {}

  void notify() { signal.cancel(); }
  // Ends the exchange: the relay's coroutine sees done() at its next look.
  void finish(std::string why) {
    if (done) return;
    done = true;
    failed = !why.empty();
    error = std::move(why);
    notify();
  }

  // Made when first needed: each construction looks its service up under a lock of the
  // io_context, and a request on a pooled connection that never stops reading needs neither.
  boost::asio::steady_timer& resume_timer() { return resume ? *resume : resume.emplace(io); }
  boost::asio::steady_timer& watchdog_timer() {
    return watchdog ? *watchdog : watchdog.emplace(io);
  }
  boost::asio::ip::tcp::resolver& name_resolver() {
    return resolver ? *resolver : resolver.emplace(io);
  }
  // Ends whatever the exchange is waiting for, but the socket (cancel() closes that).
  void stop_waiting() {
    if (resolver) resolver->cancel();
    if (resume) resume->cancel();
    if (watchdog) watchdog->cancel();
  }

  boost::asio::io_context& io;
  Signal signal;                                      // wakes the relay's coroutine
  std::optional<boost::asio::steady_timer> resume;    // wakes the exchange when the queue drains
  std::optional<boost::asio::steady_timer> watchdog;  // the connect timeout
  std::optional<boost::asio::ip::tcp::resolver> resolver;

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
