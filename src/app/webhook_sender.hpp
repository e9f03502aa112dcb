#pragma once
// POSTs quota alert events (src/relay/quota_alerts.hpp) to [alerts] webhook_url from a thread
// of its own, so an io thread only ever appends to a bounded queue. Each event gets up to 3
// tries, 1 s then 2 s apart, after a network error or a 5xx; a 4xx is the receiver refusing
// the event, and is not retried. The URL may carry a token: only its scheme and host are ever
// logged (docs/limits.md#quota-alerts).
#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace relay::app {

class WebhookSender {
 public:
  WebhookSender(std::string url, std::chrono::milliseconds timeout);
  // Returns within about a second even mid-try or mid-backoff; events still queued are lost.
  ~WebhookSender();
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  // Never blocks on the network; beyond kMaxQueued waiting events the new one is dropped.
  void post(std::string json);

  struct Stats {
    std::uint64_t delivered, failed, dropped;
  };
  Stats stats() const;
  void render_metrics(std::string& out) const;  // Prometheus text

  static constexpr std::size_t kMaxQueued = 1000;
  static constexpr int kMaxTries = 3;

 private:
  enum class Result { kDelivered, kRetry, kRefused };
  void run();
  void deliver(CURL* h, const std::string& json);
  Result send_once(CURL* h, const std::string& json, std::string& why);
  // Waits out a backoff; false when the sender is stopping.
  bool backoff(std::chrono::milliseconds d);

  const std::string url_;
  const std::string where_;  // scheme://host: all of the URL that may be logged
  const std::chrono::milliseconds timeout_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  bool overflowing_ = false;  // logs a full queue once per episode
  std::atomic<std::uint64_t> delivered_{0}, failed_{0}, dropped_{0};
  std::thread thread_;  // last: starts once everything above exists
};

// "https://user:pw@hooks.example.com:8443/x?token=y" -> "https://hooks.example.com".
std::string webhook_log_name(std::string_view url);

}  // namespace relay::app
