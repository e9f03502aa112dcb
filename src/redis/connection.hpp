#pragma once
// One hiredis 0.14 async connection, driven by one asio io_context (hiredis' own adapters are
// for other event loops, so connection.cpp is the small asio adapter: the add/del read/write
// hooks become async_wait calls on the socket). Not thread-safe: every call, and the
// destructor, run on that io_context's thread (or after it stopped).
//
// Failure is never a hang: a call fails with Unavailable at once while disconnected, after
// `call_timeout` when Redis does not answer, and when the connection drops mid-call. hiredis
// 0.14 has no timeouts of its own (no redisAsyncSetTimeout), so this class keeps them. A lost
// connection is re-established in the background with backoff (100 ms doubling to 1 s), and a
// connection that timed out several calls in a row is dropped and re-made, since a Redis that
// stalls rarely recovers by itself faster than a fresh connection.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "redis/url.hpp"

namespace relay::redis {

struct Reply {
  enum class Type { kNil, kString, kStatus, kInteger, kArray, kError };
  Type type = Type::kNil;
  long long integer = 0;
  std::string str;  // kString, kStatus, kError
  std::vector<Reply> elements;

  bool is_error() const { return type == Type::kError; }
};

// Redis cannot answer now: not connected, too slow, or the connection was lost mid-call. An
// error *reply* (say, a script error) is not this: it comes back as a Reply of type kError.
class Unavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ConnectionOptions {
  std::chrono::milliseconds call_timeout{50};
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{1000};
  int timeouts_before_reconnect = 3;
  std::string name = "redis";  // for log lines, e.g. "redis[2]"
};

class Connection {
 public:
  Connection(const boost::asio::any_io_executor& ex, Endpoint endpoint, ConnectionOptions opts);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Starts connecting (in the background) and keeps the connection up until destruction.
  void start();
  bool connected() const;

  // One command, arguments binary-safe. Throws Unavailable as described above.
  boost::asio::awaitable<Reply> command(std::span<const std::string_view> argv);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace relay::redis
