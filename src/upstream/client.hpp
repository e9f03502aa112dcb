#pragma once
// The relay's side of its upstream connections, one per io thread: idle keep-alive connections
// by destination, and the TLS contexts. A transfer never crosses threads, so nothing here locks.
//
// A destination is everything that makes two connections interchangeable: scheme, host, port,
// the CA file, and the egress proxy (with its credentials). An account's egress is its own
// (never shared between accounts), so its connections are never used for another account's
// requests.
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "upstream/byte_stream.hpp"
#include "upstream/tls_stream.hpp"

namespace relay::upstream {

class Client {
 public:
  explicit Client(boost::asio::io_context& io);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  boost::asio::io_context& io() { return io_; }
  TlsContexts& tls() { return tls_; }

  // The most recently used idle connection to `destination`, or nullptr.
  std::unique_ptr<ByteStream> take(const std::string& destination);
  // Keeps `c` for the next request to `destination`. While idle it is watched: one the peer
  // closes (or sends anything to) is dropped at once; one idle longer than kIdleLimit is not
  // handed out again.
  void give_back(const std::string& destination, std::unique_ptr<ByteStream> c);
  std::size_t idle_count() const;

  // Below a provider's usual keep-alive timeout, so that a request rarely meets a connection
  // the provider is closing at that moment (the transfer retries once on a fresh connection if
  // it does).
  static constexpr std::chrono::seconds kIdleLimit{30};
  static constexpr std::size_t kIdlePerDestination = 256;

 private:
  struct Idle {
    std::unique_ptr<ByteStream> stream;
    std::chrono::steady_clock::time_point since;
    std::uint64_t id;
  };
  void watch(std::vector<Idle>& list, std::uint64_t id, ByteStream& c);
  void on_readable(std::vector<Idle>& list, std::uint64_t id);

  boost::asio::io_context& io_;
  TlsContexts tls_;
  std::unordered_map<std::string, std::vector<Idle>> idle_;
  std::uint64_t next_id_ = 0;
  // Watch handlers hold this weakly: one that runs after the client is gone does nothing.
  std::shared_ptr<Client*> self_;
};

}  // namespace relay::upstream
