#pragma once
// The admin listener: operator-only endpoints on their own address ([admin] listen, off by
// default; bind it to 127.0.0.1 or a private interface, never next to the API). Today it
// serves GET /metrics in the Prometheus text format; no relay key is needed there, so nothing
// it serves may name a key, a prompt or a completion.
#include <functional>
#include <string>

#include "http/session.hpp"

namespace relay::app {

class AdminHandler final : public http::RequestHandler {
 public:
  // `metrics` renders the whole /metrics body at scrape time.
  explicit AdminHandler(std::function<std::string()> metrics) : metrics_(std::move(metrics)) {}

  boost::asio::awaitable<void> handle(http::Request& request, http::ResponseWriter& out) override;
  boost::asio::awaitable<void> reject(ErrorCode code, const http::Request& partial,
                                      http::ResponseWriter& out) override;

 private:
  std::function<std::string()> metrics_;
};

// One metric in the Prometheus text format (a HELP line, a TYPE line, one sample).
void append_metric(std::string& out, const char* name, const char* type, const char* help,
                   double value);

}  // namespace relay::app
