#pragma once
// libcurl's multi interface driven by one asio io_context: curl tells us which sockets to watch
// (CURLMOPT_SOCKETFUNCTION) and when to time out (CURLMOPT_TIMERFUNCTION); asio waits and calls
// curl_multi_socket_action. One per io thread, so a transfer never crosses threads.
//
// Inside, several curl multi handles (shards). libcurl 7.88 keeps one list of connections per
// host and walks all of them, busy ones too, on every new transfer, so with thousands of open
// streams to one provider each new request cost O(open streams): opening 9,000 streams took
// seconds per stream (bench/README.md, W4). A transfer goes to the shard with the fewest in
// flight, so a lightly loaded relay still reuses one shard's connections, and a list is at most
// about 1/kShards of the open streams.
#include <curl/curl.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_set>
#include <vector>

namespace relay::upstream {

class Transfer;

class CurlMulti {
 public:
  static constexpr std::size_t kShards = 64;

  explicit CurlMulti(boost::asio::io_context& io);
  ~CurlMulti();
  CurlMulti(const CurlMulti&) = delete;
  CurlMulti& operator=(const CurlMulti&) = delete;

  // Easy handles are kept for the next transfer rather than made and freed per request:
  // curl_easy_init and curl_easy_cleanup were about 5 % of the relay's CPU per small request
  // (bench/README.md). A handle comes back reset (curl_easy_reset: no option, callback or
  // pointer survives); transfers set everything they use.
  CURL* take_easy();
  void give_back_easy(CURL* easy);

  // Starts `easy` on a shard and says which; remove() needs it back.
  std::size_t add(CURL* easy);
  void remove(CURL* easy, std::size_t shard);
  boost::asio::io_context& io() { return io_; }

  struct Watch;  // per-socket state, public for the C callbacks
  struct Shard;

 private:
  boost::asio::io_context& io_;
  std::array<std::unique_ptr<Shard>, kShards> shards_;
  // At most this many idle handles (about 5 KB each); more in flight are freed on return.
  static constexpr std::size_t kSpareEasy = 256;
  std::vector<CURL*> spare_easy_;
};

}  // namespace relay::upstream
