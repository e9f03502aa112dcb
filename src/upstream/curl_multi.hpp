#pragma once
// libcurl's multi interface driven by one asio io_context: curl tells us which sockets to watch
// (CURLMOPT_SOCKETFUNCTION) and when to time out (CURLMOPT_TIMERFUNCTION); asio waits and calls
// curl_multi_socket_action. One per io thread, so a transfer never crosses threads.
#include <curl/curl.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <unordered_set>

namespace relay::upstream {

class Transfer;

class CurlMulti {
 public:
  explicit CurlMulti(boost::asio::io_context& io);
  ~CurlMulti();
  CurlMulti(const CurlMulti&) = delete;
  CurlMulti& operator=(const CurlMulti&) = delete;

  void add(CURL* easy);
  void remove(CURL* easy);
  boost::asio::io_context& io() { return io_; }
  int running() const { return running_; }

  struct Watch;  // per-socket state, public for the C callbacks

 private:
  static int on_socket_cb(CURL* easy, curl_socket_t s, int what, void* userp, void* socketp);
  static int on_timer_cb(CURLM* multi, long timeout_ms, void* userp);
  void arm(const std::shared_ptr<Watch>& w);
  void socket_action(curl_socket_t s, int events);
  void check_done();

  boost::asio::io_context& io_;
  boost::asio::steady_timer timer_;
  CURLM* multi_;
  int running_ = 0;
  // Bumped by every timer callback: a posted zero timeout that curl has since replaced is void.
  std::uint64_t timer_generation_ = 0;
  std::unordered_set<std::shared_ptr<Watch>*> watches_;
};

}  // namespace relay::upstream
