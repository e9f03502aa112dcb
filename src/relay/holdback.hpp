#pragma once
// Reading the start of an upstream response before committing to it. Until the relay has sent
// the client anything it may still try another account, so it first reads an error body (to
// classify it) or, on a Responses stream, holds events back until the first output event: a
// stream that fails before any output is then retried instead of reaching the client.
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <string>

#include "http/response_writer.hpp"
#include "sse/stream_tap.hpp"
#include "upstream/transfer.hpp"

namespace relay {

enum class CollectResult {
  kStopped,     // `stop` said enough, or the limit was reached
  kEnded,       // the transfer finished (result() tells how)
  kDeadline,    // the deadline passed first
  kClientGone,  // the client hung up
};

// Moves body bytes from `t` into `held` (feeding `tap` when given) until `stop()`, the end of
// the transfer, `limit` bytes, or `deadline`.
boost::asio::awaitable<CollectResult> collect_body(upstream::Transfer& t, http::ResponseWriter& out,
                                                   std::string& held, sse::StreamTap* tap,
                                                   std::size_t limit,
                                                   std::chrono::steady_clock::time_point deadline,
                                                   const std::function<bool()>& stop);

// error.code of an OpenAI-style error body, or empty.
std::string error_code_of(std::string_view body);

}  // namespace relay
