#include "app/webhook_sender.hpp"

#include <curl/curl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <iterator>

namespace relay::app {

namespace {

std::size_t discard(char* /*data*/, std::size_t size, std::size_t n, void* /*user*/) {
  return size * n;
}

// Called about once a second even while nothing moves, so a stopping sender aborts a try that
// waits on a silent receiver instead of sitting out the whole timeout.
int on_progress(void* user, curl_off_t /*dltotal*/, curl_off_t /*dlnow*/, curl_off_t /*ultotal*/,
                curl_off_t /*ulnow*/) {
  return static_cast<const std::atomic<bool>*>(user)->load() ? 1 : 0;
}

}  // namespace

std::string webhook_log_name(std::string_view url) {
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) return "(not a url)";
  std::string_view scheme = url.substr(0, sep), rest = url.substr(sep + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
  const auto end = rest.starts_with('[') ? rest.find(']') + 1 : rest.find(':');
  return fmt::format("{}://{}", scheme, rest.substr(0, end));
}

WebhookSender::WebhookSender(std::string url, std::chrono::milliseconds timeout)
    : url_(std::move(url)),
      where_(webhook_log_name(url_)),
      timeout_(timeout),
      thread_([this] { run(); }) {
  spdlog::info("quota alerts: webhook to {}", where_);
}

WebhookSender::~WebhookSender() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  if (!queue_.empty())
    spdlog::warn("quota alert webhook to {}: {} events not sent at shutdown", where_,
                 queue_.size());
}

void WebhookSender::post(std::string json) {
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= kMaxQueued) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      if (!overflowing_)
        spdlog::warn("quota alert webhook to {}: {} events waiting; dropping new ones", where_,
                     queue_.size());
      overflowing_ = true;
      return;
    }
    queue_.push_back(std::move(json));
  }
  cv_.notify_one();
}

WebhookSender::Stats WebhookSender::stats() const {
  return {delivered_.load(), failed_.load(), dropped_.load()};
}

void WebhookSender::render_metrics(std::string& out) const {
  const Stats s = stats();
  fmt::format_to(std::back_inserter(out),
                 "# HELP codex_relay_webhook_deliveries_total Quota alert webhook events: "
                 "delivered, failed after their tries, or dropped because the queue was full.\n"
                 "# TYPE codex_relay_webhook_deliveries_total counter\n"
                 "codex_relay_webhook_deliveries_total{{result=\"delivered\"}} {}\n"
                 "codex_relay_webhook_deliveries_total{{result=\"failed\"}} {}\n"
                 "codex_relay_webhook_deliveries_total{{result=\"dropped\"}} {}\n",
                 s.delivered, s.failed, s.dropped);
}

void WebhookSender::run() {
  CURL* h = curl_easy_init();
  curl_slist* headers = curl_slist_append(nullptr, "content-type: application/json");
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  if (h) {
    curl_easy_setopt(h, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");  // never one from the *_proxy variables
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "codex-relay/" CODEX_RELAY_VERSION);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &discard);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &stop_);
  }
  for (;;) {
    std::string json;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stop_.load() || !queue_.empty(); });
      if (stop_) break;
      json = std::move(queue_.front());
      queue_.pop_front();
      if (queue_.empty()) overflowing_ = false;
    }
    deliver(h, json);
  }
  if (h) curl_easy_cleanup(h);
  curl_slist_free_all(headers);
}

void WebhookSender::deliver(CURL* h, const std::string& json) {
  std::string why = "no curl handle";
  for (int attempt = 1; h && attempt <= kMaxTries; ++attempt) {
    switch (send_once(h, json, why)) {
      case Result::kDelivered:
        delivered_.fetch_add(1, std::memory_order_relaxed);
        return;
      case Result::kRefused:
        failed_.fetch_add(1, std::memory_order_relaxed);
        spdlog::warn("quota alert webhook to {}: {}; not retried", where_, why);
        return;
      case Result::kRetry:
        if (attempt < kMaxTries && !backoff(std::chrono::seconds(attempt))) {
          failed_.fetch_add(1, std::memory_order_relaxed);
          return;  // stopping: no log line for an event the shutdown cut short
        }
    }
  }
  failed_.fetch_add(1, std::memory_order_relaxed);
  spdlog::warn("quota alert webhook to {}: not delivered after {} tries: {}", where_, kMaxTries,
               why);
}

WebhookSender::Result WebhookSender::send_once(CURL* h, const std::string& json, std::string& why) {
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(json.size()));
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, json.data());
  const CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    // curl's generic text, not its error buffer: that may quote parts of the URL.
    why = curl_easy_strerror(rc);
    return Result::kRetry;
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status < 300) return Result::kDelivered;
  why = fmt::format("HTTP {}", status);
  return status >= 500 ? Result::kRetry : Result::kRefused;
}

bool WebhookSender::backoff(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stop_.load(); });
}

}  // namespace relay::app
