#include "app/admin.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <chrono>
#include <future>

#include "admin/openapi_doc.hpp"
#include "app/config.hpp"
#include "relay/errors.hpp"
#include "store/store_factory.hpp"

namespace relay::app {

namespace asio = boost::asio;

namespace {

asio::awaitable<void> send(http::ResponseWriter& out, int status, std::string_view type,
                           std::string_view body, const http::Headers& extra = {}) {
  http::ResponseHead head;
  head.status = status;
  head.headers.push_back({"content-type", std::string(type)});
  for (const auto& h : extra) head.headers.push_back(h);
  head.content_length = body.size();
  if (co_await out.send_head(head) && co_await out.send_body(body)) co_await out.finish();
}

}  // namespace

// The admin API's own store connections, for the admin thread alone.
struct AdminHandler::Stores {
  const Config& cfg;
  std::unique_ptr<store::ConfigStore> config;
  std::unique_ptr<store::AdminStore> admin;
};

AdminHandler::AdminHandler(std::function<std::string()> metrics, const Config* cfg)
    : metrics_(std::move(metrics)) {
  if (!cfg) return;
  stores_ = std::make_unique<Stores>(Stores{*cfg, nullptr, nullptr});
  Stores& s = *stores_;
  api_ = std::make_unique<admin::AdminApi>(
      admin::AdminApi::Stores{[&s]() -> store::ConfigStore& {
                                if (!s.config) s.config = store::open_config_store(s.cfg);
                                return *s.config;
                              },
                              [&s]() -> store::AdminStore& {
                                if (!s.admin) s.admin = store::open_admin_store(s.cfg);
                                return *s.admin;
                              }},
      std::string(admin::openapi_document()));
}

AdminHandler::~AdminHandler() = default;

std::function<std::string()> on_io_thread(asio::io_context& io,
                                          std::function<std::string()> render) {
  return [&io, render = std::move(render)] {
    auto done = std::make_shared<std::promise<std::string>>();
    auto result = done->get_future();
    asio::post(io, [done, &render] { done->set_value(render()); });
    if (result.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
      spdlog::warn("admin: /metrics not rendered within 5 s (the io thread is busy or stopped)");
      return std::string();
    }
    return result.get();
  };
}

void append_metric(std::string& out, const char* name, const char* type, const char* help,
                   double value) {
  fmt::format_to(std::back_inserter(out), "# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name, help,
                 type, value);
}

asio::awaitable<void> AdminHandler::handle(http::Request& request, http::ResponseWriter& out) {
  const std::string_view path = request.path();
  if (path == "/metrics" && (request.method == "GET" || request.method == "HEAD")) {
    co_await send(out, 200, "text/plain; version=0.0.4; charset=utf-8", metrics_());
    co_return;
  }
  if (api_ && (path == "/admin" || path.starts_with("/admin/"))) {
    admin::ApiRequest r;
    r.method = request.method;
    r.path = std::string(path);
    if (request.target.size() > path.size()) r.query = request.target.substr(path.size() + 1);
    if (const auto* auth = http::find_header(request.headers, "authorization"))
      r.authorization = *auth;
    r.body = std::move(request.body);
    // Blocks this thread (the admin listener's own) for the store calls.
    admin::ApiResponse resp = api_->handle(r);
    // The body may hold an account credential or a proxy password.
    OPENSSL_cleanse(r.body.data(), r.body.size());
    OPENSSL_cleanse(r.authorization.data(), r.authorization.size());
    http::Headers extra;
    for (auto& [name, value] : resp.headers) extra.push_back({name, value});
    extra.push_back({"cache-control", "no-store"});
    co_await send(out, resp.status, "application/json", resp.body, extra);
    OPENSSL_cleanse(resp.body.data(), resp.body.size());  // may hold a new relay key
    co_return;
  }
  co_await send(out, 404, "application/json",
                error_body(ErrorCode::kUnknownUrl,
                           "Unknown path. The admin listener serves GET /metrics and the admin "
                           "API under /admin/v1/ (GET /admin/v1/openapi.json)."));
}

asio::awaitable<void> AdminHandler::reject(ErrorCode code, const http::Request& /*partial*/,
                                           http::ResponseWriter& out) {
  co_await send(out, error_spec(code).status, "application/json", error_body(code));
}

}  // namespace relay::app
