#pragma once
// The two halves of talking to the upstream: phase 6's send-and-wait-for-headers
// (forward_send.cpp) and phase 7's streaming of the body to the client (relay_body.cpp).
#include <boost/asio/awaitable.hpp>
#include <optional>

#include "app/config.hpp"
#include "http/response_writer.hpp"
#include "relay/context.hpp"
#include "relay/errors.hpp"
#include "sse/stream_tap.hpp"
#include "upstream/transfer.hpp"

namespace relay {

// Starts the transfer and waits until the upstream's status and headers are in, the transfer
// fails, the client hangs up, or the first-byte deadline passes. nullopt: headers are ready (or
// the client is gone: ctx.outcome says so). Otherwise the error to answer with.
boost::asio::awaitable<std::optional<ErrorCode>> send_upstream(upstream::Transfer& t,
                                                               http::ResponseWriter& out,
                                                               RequestContext& ctx,
                                                               const app::UpstreamConfig& cfg);

// Sends status, allow-listed headers, the bytes read ahead (`held`, already seen by `tap`) and
// then the body as it arrives; inserts heartbeats into quiet Responses streams; turns a failure
// after the 200 into the stream's own error event.
boost::asio::awaitable<void> relay_body(upstream::Transfer& t, http::ResponseWriter& out,
                                        RequestContext& ctx, const app::UpstreamConfig& cfg,
                                        sse::StreamTap& tap, std::string held);

// Response events are Responses-API events (so heartbeats and failures use its event shapes).
bool is_responses_path(std::string_view path);

}  // namespace relay
