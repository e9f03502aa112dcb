#include "relay/local_routes.hpp"

#include "relay/pipeline.hpp"

namespace relay {

namespace asio = boost::asio;

LocalRoute local_route(const http::Request& req) {
  auto path = req.path();
  if (path == "/healthz") return LocalRoute::kHealth;
  if (path == "/readyz") return LocalRoute::kReady;
  if (path.substr(0, 4) != "/v1/") return LocalRoute::kUnknown;
  // Codex tries a WebSocket first when a provider allows it; a non-101 answer makes it fall
  // back to HTTP in the same turn (codex-protocol.md §5).
  if (req.upgrade) return LocalRoute::kWebSocket;
  return LocalRoute::kApi;
}

asio::awaitable<void> answer_local(LocalRoute route, RequestContext& ctx,
                                   http::ResponseWriter& out) {
  switch (route) {
    case LocalRoute::kWebSocket:
      co_return co_await respond_error(ctx, out, ErrorCode::kWebsocketNotSupported);
    case LocalRoute::kUnknown:
      co_return co_await respond_error(
          ctx, out, ErrorCode::kUnknownUrl,
          "Unknown path " + std::string(ctx.path.substr(0, 200)) + ". The relay serves /v1/*.");
    case LocalRoute::kApi:
      co_return;
    case LocalRoute::kHealth:
    case LocalRoute::kReady: {
      // Ready means the loaded config has at least one enabled account to send requests to.
      bool ready = route == LocalRoute::kHealth;
      for (const auto& a : ctx.snapshot->accounts) ready = ready || a.enabled;
      std::string body = ready ? R"({"status":"ok"})" : R"({"status":"no_accounts"})";
      http::ResponseHead head;
      head.status = ready ? 200 : 503;
      head.headers.push_back({"content-type", "application/json"});
      head.headers.push_back({"x-request-id", ctx.request_id});
      head.content_length = body.size();
      ctx.status = head.status;
      if (co_await out.send_head(head) && co_await out.send_body(body)) co_await out.finish();
      co_return;
    }
  }
}

}  // namespace relay
