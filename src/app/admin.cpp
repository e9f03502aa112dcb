#include "app/admin.hpp"

#include <fmt/format.h>

#include "relay/errors.hpp"

namespace relay::app {

namespace asio = boost::asio;

namespace {

asio::awaitable<void> send(http::ResponseWriter& out, int status, std::string_view type,
                           std::string_view body) {
  http::ResponseHead head;
  head.status = status;
  head.headers.push_back({"content-type", std::string(type)});
  head.content_length = body.size();
  if (co_await out.send_head(head) && co_await out.send_body(body)) co_await out.finish();
}

}  // namespace

void append_metric(std::string& out, const char* name, const char* type, const char* help,
                   double value) {
  fmt::format_to(std::back_inserter(out), "# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name, help,
                 type, value);
}

asio::awaitable<void> AdminHandler::handle(http::Request& request, http::ResponseWriter& out) {
  if (request.path() == "/metrics" && (request.method == "GET" || request.method == "HEAD")) {
    co_await send(out, 200, "text/plain; version=0.0.4; charset=utf-8", metrics_());
    co_return;
  }
  co_await send(out, 404, "application/json",
                error_body(ErrorCode::kUnknownUrl,
                           "Unknown path. The admin listener serves "
                           "GET /metrics."));
}

asio::awaitable<void> AdminHandler::reject(ErrorCode code, const http::Request& /*partial*/,
                                           http::ResponseWriter& out) {
  co_await send(out, error_spec(code).status, "application/json", error_body(code));
}

}  // namespace relay::app
