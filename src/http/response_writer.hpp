#pragma once
// How the pipeline answers the client, without knowing the connection's type. The session
// implements it over the accepted socket.
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <string_view>

#include "http/message.hpp"

namespace relay::http {

class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;

  // Status line and headers. Body framing: content_length set -> fixed, else chunked.
  // Each call returns false once the client is gone.
  virtual boost::asio::awaitable<bool> send_head(const ResponseHead& head) = 0;
  // Like send_head, but the head goes out in one write with what follows it (send_body, finish
  // or flush): one system call per response instead of two when the body is already at hand.
  // Not for a head whose body may be long in coming: the client would wait for the head too.
  virtual void hold_head(const ResponseHead& head) = 0;
  // Writes a held head now, if there is one.
  virtual boost::asio::awaitable<bool> flush() = 0;
  virtual bool head_held() const = 0;
  virtual boost::asio::awaitable<bool> send_body(std::string_view data) = 0;
  // Ends the body cleanly (the last chunk for chunked framing).
  virtual boost::asio::awaitable<bool> finish() = 0;
  // Ends the connection without a clean end, so the client sees the body was cut.
  virtual void abort() = 0;
  virtual bool head_sent() const = 0;

  // Calls on_gone (once) if the client hangs up while the response is being produced; at once
  // if it hung up since an earlier phase stopped watching.
  virtual void watch_disconnect(std::function<void()> on_gone) = 0;
  // Must be called before what on_gone refers to goes away. The next phase's watch_disconnect
  // may take over the same watch of the socket (ConnectionWriter: one per response).
  virtual void stop_watching() = 0;
};

}  // namespace relay::http
