#pragma once
// The admin listener: operator-only endpoints on their own address ([admin] listen, 127.0.0.1
// by default; bind it to loopback or a private interface, never next to the API). GET /metrics
// (Prometheus text format) needs no token, so nothing it serves may name a key, a prompt or a
// completion. /admin/v1/* is the admin API (src/admin/admin_api.hpp, docs/admin-api.md): it
// needs an admin token, and its store calls block, so serve runs this listener on a thread of
// its own, never on an io thread serving /v1 traffic.
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "admin/admin_api.hpp"
#include "http/session.hpp"

namespace relay::app {

struct Config;

class AdminHandler final : public http::RequestHandler {
 public:
  // `metrics` renders the whole /metrics body at scrape time. With `cfg`, /admin/v1/* is served
  // from the stores it names, opened on first use (on the admin thread).
  explicit AdminHandler(std::function<std::string()> metrics, const Config* cfg = nullptr);
  ~AdminHandler() override;

  boost::asio::awaitable<void> handle(http::Request& request, http::ResponseWriter& out) override;
  boost::asio::awaitable<void> reject(ErrorCode code, const http::Request& partial,
                                      http::ResponseWriter& out) override;

 private:
  struct Stores;
  std::function<std::string()> metrics_;
  std::unique_ptr<Stores> stores_;
  std::unique_ptr<admin::AdminApi> api_;
};

// `render` wrapped to run on io's thread, the caller waiting (up to 5 s: then "" and a warning),
// for the admin thread's /metrics: what render reads belongs to that thread.
std::function<std::string()> on_io_thread(boost::asio::io_context& io,
                                          std::function<std::string()> render);

// One metric in the Prometheus text format (a HELP line, a TYPE line, one sample).
void append_metric(std::string& out, const char* name, const char* type, const char* help,
                   double value);

}  // namespace relay::app
