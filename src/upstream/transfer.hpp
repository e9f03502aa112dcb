#pragma once
// One upstream HTTP/1.1 exchange. The relay's coroutine waits on `signal()`, which is cancelled
// whenever something happens (headers, body bytes, completion); it then reads the state. Body
// bytes queue up to a bound; above it the transfer stops reading until the client catches up,
// so a slow client never makes the relay buffer without end.
//
// The exchange runs in a coroutine of its own on the Client's io_context, over a pooled
// keep-alive connection or a new one (TCP, the egress tunnel, TLS). Its state is shared with
// that coroutine, so destroying a Transfer mid-exchange is safe: it cancels, and the coroutine
// ends on its own.
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "http/message.hpp"
#include "relay/forward.hpp"
#include "upstream/signal.hpp"

namespace relay::upstream {

class Client;

struct TransferOptions {
  std::int64_t connect_timeout_ms = 10'000;
  std::size_t buffer_bytes = std::size_t{256} * 1024;
};

class Transfer {
 public:
  Transfer(Client& client, const UpstreamRequest& request, const TransferOptions& options);
  ~Transfer();
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  void start();
  // Stops the exchange now and closes its connection; safe to call more than once.
  void cancel();

  bool headers_ready() const;
  int status() const;
  const http::Headers& headers() const;
  std::optional<std::size_t> content_length() const;

  bool has_body() const;
  // Moves the queued body bytes out and resumes reading if it had stopped.
  std::string take_body();

  bool done() const;
  bool cancelled() const;
  // Done, not cancelled, and not a complete response: error_text() says why.
  bool failed() const;
  // The connection (TCP, egress tunnel and TLS) was not up within connect_timeout_ms.
  bool timed_out() const;
  // Why it failed; may name the upstream or the egress by host:port, never a credential.
  std::string error_text() const;
  std::chrono::steady_clock::time_point last_progress() const;
  // Waiting for the client to take the queued bytes: not reading from the upstream.
  bool paused() const;

  Signal& signal();

  struct State;  // shared with the exchange's coroutine (transfer_run.cpp)

 private:
  Client& client_;
  std::shared_ptr<State> state_;
};

}  // namespace relay::upstream
