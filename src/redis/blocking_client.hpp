#pragma once
// A blocking Redis client for background threads (the record stream's forwarder and consumer,
// shared account health), never for io threads. It drives a redis::Connection on a private
// io_context, so AUTH, SELECT, timeouts and reconnects are the ones admission uses. Not
// thread-safe: one client per thread.
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "redis/connection.hpp"
#include "redis/url.hpp"

namespace relay::redis {

class BlockingClient {
 public:
  BlockingClient(Endpoint endpoint, ConnectionOptions opts);
  ~BlockingClient();
  BlockingClient(const BlockingClient&) = delete;
  BlockingClient& operator=(const BlockingClient&) = delete;

  // One command. Throws Unavailable when Redis cannot be reached within the connect timeout,
  // does not answer within the call timeout, or drops the connection. An error reply is
  // returned, not thrown.
  Reply command(const std::vector<std::string>& argv);
  // Sends every command at once (one round trip) and returns their replies in order. Throws
  // Unavailable when any of them gets no reply; MULTI ... EXEC makes a batch all-or-nothing.
  std::vector<Reply> pipeline(const std::vector<std::vector<std::string>>& commands);

  const Endpoint& endpoint() const { return endpoint_; }

 private:
  void await_connected();

  Endpoint endpoint_;
  ConnectionOptions opts_;
  boost::asio::io_context io_;
  std::unique_ptr<Connection> conn_;
};

}  // namespace relay::redis
