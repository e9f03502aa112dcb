#pragma once
// One upstream HTTP exchange on a CurlMulti. The relay's coroutine waits on `signal()`, which
// is cancelled whenever something happens (headers, body bytes, completion); it then reads the
// state. Body bytes queue up to a bound; above it the transfer pauses until the client catches
// up, so a slow client never makes the relay buffer without end.
#include <curl/curl.h>

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "http/message.hpp"
#include "relay/forward.hpp"

namespace relay::upstream {

class CurlMulti;

struct TransferOptions {
  std::int64_t connect_timeout_ms = 10'000;
  std::size_t buffer_bytes = std::size_t{256} * 1024;
};

class Transfer {
 public:
  Transfer(CurlMulti& multi, const UpstreamRequest& request, const TransferOptions& options);
  ~Transfer();
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  void start();
  // Stops the exchange now and closes its connection; safe to call more than once.
  void cancel();

  bool headers_ready() const { return headers_ready_; }
  int status() const { return status_; }
  const http::Headers& headers() const { return headers_; }
  std::optional<std::size_t> content_length() const;

  bool has_body() const { return !buffer_.empty(); }
  // Moves the queued body bytes out and resumes a paused transfer.
  std::string take_body();

  bool done() const { return done_; }
  bool cancelled() const { return cancelled_; }
  CURLcode result() const { return result_; }
  bool timed_out() const { return result_ == CURLE_OPERATION_TIMEDOUT; }
  // curl's description of a failure; may name the upstream host, never a credential.
  std::string error_text() const;
  std::chrono::steady_clock::time_point last_progress() const { return last_progress_; }
  bool paused() const { return paused_; }

  boost::asio::steady_timer& signal() { return signal_; }

  // Called by CurlMulti when curl reports the transfer finished.
  void on_done(CURLcode result);

 private:
  static std::size_t on_header_cb(char* data, std::size_t size, std::size_t n, void* self);
  static std::size_t on_write_cb(char* data, std::size_t size, std::size_t n, void* self);
  void notify() { signal_.cancel(); }

  CurlMulti& multi_;
  CURL* easy_;
  curl_slist* header_list_ = nullptr;
  boost::asio::steady_timer signal_;
  std::size_t buffer_limit_;
  std::string buffer_;
  http::Headers headers_;
  int status_ = 0;
  bool headers_ready_ = false;
  std::size_t shard_ = 0;  // the CurlMulti shard it was added to
  bool attached_ = false;
  bool done_ = false;
  bool cancelled_ = false;
  bool paused_ = false;
  bool connect_only_ = false;
  CURLcode result_ = CURLE_OK;
  char error_buf_[CURL_ERROR_SIZE] = {};
  std::chrono::steady_clock::time_point last_progress_;
};

}  // namespace relay::upstream
