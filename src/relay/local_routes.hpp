#pragma once
// Requests the relay answers itself: health checks, WebSocket attempts and paths outside /v1.
#include <boost/asio/awaitable.hpp>

#include "http/message.hpp"
#include "http/response_writer.hpp"
#include "relay/context.hpp"

namespace relay {

enum class LocalRoute { kApi, kHealth, kReady, kWebSocket, kUnknown };

LocalRoute local_route(const http::Request& req);

boost::asio::awaitable<void> answer_local(LocalRoute route, RequestContext& ctx,
                                          http::ResponseWriter& out);

}  // namespace relay
