#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "relay/exchange.hpp"
#include "relay/forward.hpp"
#include "relay/record.hpp"
#include "relay/usage_option.hpp"
#include "sse/stream_tap.hpp"
#include "sse/usage_chunk_filter.hpp"

namespace relay {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// Codex resets its idle timer only on data events, never on comments (codex-protocol.md §3.1).
constexpr std::string_view kResponsesHeartbeat = "data: {\"type\":\"keepalive\"}\n\n";
// Other SSE clients (chat completions) would hand a data event to the caller; a comment is
// skipped by every SSE parser.
constexpr std::string_view kCommentHeartbeat = ": keepalive\n\n";

bool starts_with_ci(std::string_view s, std::string_view p) {
  if (s.size() < p.size()) return false;
  for (std::size_t i = 0; i < p.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != p[i]) return false;
  return true;
}

}  // namespace

bool is_responses_path(std::string_view path) {
  return path == "/v1/responses" || path == "/v1/responses/";
}

asio::awaitable<void> relay_body(upstream::Transfer& t, http::ResponseWriter& out,
                                 RequestContext& ctx, const app::UpstreamConfig& cfg,
                                 sse::StreamTap& tap, std::string held) {
  const auto* ct = http::find_header(t.headers(), "content-type");
  const bool sse = ct && starts_with_ci(*ct, "text/event-stream");
  // A whole JSON answer is read for its usage at the end; bounded, and never kept afterwards.
  constexpr std::size_t kJsonUsageLimit = std::size_t{8} << 20;
  bool json = !sse && ct && ct->find("json") != std::string::npos && t.status() < 300;
  std::string json_body;
  if (json) json_body = held;
  const bool responses = sse && is_responses_path(ctx.path);
  ctx.usage_expected = responses || (sse && is_chat_completions_path(ctx.path));

  http::ResponseHead head;
  head.status = t.status();
  head.headers = filter_response_headers(t.headers(), 1 + ctx.response_headers.size());
  head.headers.push_back({"x-request-id", ctx.request_id});
  head.headers.insert(head.headers.end(), ctx.response_headers.begin(), ctx.response_headers.end());
  if (!sse) head.content_length = t.content_length();
  ctx.status = head.status;

  // The usage of a whole body or stream: read once, when the response is complete.
  auto take_usage = [&] {
    if (json)
      ctx.usage = sse::usage_from_json_body(json_body);
    else if (sse)
      ctx.usage = tap.usage();
  };
  // Counts what goes out, and hands the record over before the bytes that complete the
  // response (record.hpp): the terminal event of a stream, the last byte of a fixed length.
  auto before_send = [&](std::size_t n) {
    ctx.bytes_out += static_cast<std::int64_t>(n);
    if (ctx.recorded) return;
    const bool completes = sse ? tap.terminal_seen()
                               : head.content_length && static_cast<std::size_t>(ctx.bytes_out) >=
                                                            *head.content_length;
    if (!completes) return;
    take_usage();
    ctx.outcome = Outcome::kOk;
    record_once(ctx);
  };

  // The client did not ask for the usage chunk the relay asked for (usage_option.hpp).
  const bool strip = sse && ctx.strip_usage_chunk;
  sse::UsageChunkFilter filter;
  std::string filtered;
  auto for_client = [&](std::string& raw) -> std::string& {
    if (!strip) return raw;
    filtered.clear();
    filter.feed(raw, filtered);
    return filtered;
  };

  bool client_gone = false;
  out.watch_disconnect([&t, &client_gone] {
    client_gone = true;
    t.cancel();
  });
  // Body bytes already here (a whole small answer usually comes in one read with its head):
  // head and body leave in one write. Otherwise the head goes now, not after the first event.
  if (!held.empty() || t.has_body())
    out.hold_head(head);
  else if (!co_await out.send_head(head))
    client_gone = true;
  // The head is bytes in the writer now, and the held body goes out next: neither stays in this
  // frame for the rest of a stream that may last minutes.
  http::Headers().swap(head.headers);
  ctx.first_byte = std::chrono::duration_cast<milliseconds>(Clock::now() - ctx.started);
  if (!client_gone && !held.empty()) {
    std::string& data = for_client(held);
    before_send(data.size());
    if (!data.empty() && !co_await out.send_body(data)) client_gone = true;
  }
  std::string().swap(held);
  const milliseconds heartbeat(cfg.heartbeat_interval_ms);
  const bool heartbeats = sse && cfg.heartbeat_interval_ms > 0;  // 0 turns them off
  const milliseconds idle(cfg.idle_timeout_ms);
  auto last_sent = Clock::now();
  bool idle_timeout = false;

  while (!client_gone) {
    if (t.has_body()) {
      std::string chunk = t.take_body();
      if (sse) tap.feed(chunk);
      if (json && json_body.size() + chunk.size() <= kJsonUsageLimit)
        json_body += chunk;
      else if (json) {
        json = false;  // too big to read for usage: stop copying rather than keep a torn copy
        std::string().swap(json_body);
      }
      std::string& data = for_client(chunk);
      before_send(data.size());
      if (!data.empty() && !co_await out.send_body(data)) client_gone = true;
      last_sent = Clock::now();
      continue;
    }
    if (t.done()) {
      if (strip) {
        filtered.clear();
        filter.flush(filtered);  // an event the stream ended inside of goes out as it was
        before_send(filtered.size());
        if (!filtered.empty() && !co_await out.send_body(filtered)) client_gone = true;
      }
      break;
    }
    // Everything at hand went out; a head still held (its body filtered to nothing) must not
    // wait for the next bytes from upstream.
    if (out.head_held() && !co_await out.flush()) {
      client_gone = true;
      break;
    }
    auto deadline = t.last_progress() + idle;
    if (heartbeats) {
      // A heartbeat that fell due mid-event waits for the event's end or another interval,
      // whichever comes first; the deadline never lies in the past, so the loop never spins.
      auto due = last_sent + heartbeat;
      if (due <= Clock::now()) due = Clock::now() + heartbeat;
      deadline = std::min(deadline, due);
    }
    t.signal().expires_at(deadline);
    co_await t.signal().async_wait(asio::as_tuple(asio::use_awaitable));
    if (t.has_body() || t.done() || client_gone) continue;
    auto now = Clock::now();
    if (!t.paused() && now - t.last_progress() >= idle) {
      idle_timeout = true;
      t.cancel();
      break;
    }
    if (heartbeats && now - last_sent >= heartbeat && tap.at_boundary()) {
      const std::string_view beat = responses ? kResponsesHeartbeat : kCommentHeartbeat;
      before_send(beat.size());
      if (!co_await out.send_body(beat)) client_gone = true;
      last_sent = Clock::now();
    }
  }
  out.stop_watching();
  if (!ctx.recorded) take_usage();  // a complete response has read it already

  if (client_gone) {
    // Codex hangs up as soon as it has read response.completed: that is a success.
    ctx.outcome = tap.terminal_seen() ? Outcome::kOk : Outcome::kClientCancelled;
    if (!tap.terminal_seen()) out.abort();
    co_return;
  }
  const bool failed = idle_timeout || t.failed();
  const bool cut_short = responses && !tap.terminal_seen();
  if (!failed && !cut_short) {
    ctx.outcome = Outcome::kOk;
    record_once(ctx);  // a chunked body is complete with its last chunk, sent by finish()
    co_await out.finish();
    co_return;
  }
  ctx.outcome = Outcome::kUpstreamError;
  if (!sse) {
    out.abort();  // a cut JSON body cannot carry an error; a broken connection tells the client
    co_return;
  }
  ErrorCode code = idle_timeout ? ErrorCode::kUpstreamTimeout : ErrorCode::kUpstreamUnavailable;
  ctx.error_code = error_spec(code).code;
  std::string tail = tap.at_boundary() ? std::string() : std::string("\n\n");
  if (responses) {
    std::string id = tap.response_id().empty() ? "resp_" + ctx.request_id : tap.response_id();
    std::string_view msg = failed ? "The upstream stream failed before the response completed."
                                  : "The upstream closed the stream before response.completed.";
    tail += response_failed_event(code, id, msg);
  } else {
    tail += stream_error_event(code, "The upstream stream failed before it completed.");
  }
  before_send(tail.size());
  record_once(ctx);  // the error event completes the response for the client
  if (co_await out.send_body(tail)) co_await out.finish();
}

}  // namespace relay
