#include "sse/stream_tap.hpp"

#include <simdjson.h>

#include "sse/json_peek.hpp"

namespace relay::sse {
namespace {

std::int64_t int_at(simdjson::dom::element e, std::string_view pointer) {
  std::int64_t v = 0;
  if (e.at_pointer(pointer).get(v)) return 0;
  return v;
}

void read_usage(simdjson::dom::element usage, Usage& out, bool chat) {
  out.present = true;
  if (chat) {
    out.input_tokens = int_at(usage, "/prompt_tokens");
    out.cached_tokens = int_at(usage, "/prompt_tokens_details/cached_tokens");
    out.output_tokens = int_at(usage, "/completion_tokens");
    out.reasoning_tokens = int_at(usage, "/completion_tokens_details/reasoning_tokens");
  } else {
    out.input_tokens = int_at(usage, "/input_tokens");
    out.cached_tokens = int_at(usage, "/input_tokens_details/cached_tokens");
    out.output_tokens = int_at(usage, "/output_tokens");
    out.reasoning_tokens = int_at(usage, "/output_tokens_details/reasoning_tokens");
  }
}

}  // namespace

Usage usage_from_json_body(std::string_view body) {
  Usage out;
  while (!body.empty() && (body.front() == ' ' || body.front() == '\n' || body.front() == '\r' ||
                           body.front() == '\t'))
    body.remove_prefix(1);
  if (body.empty() || body.front() != '{') return out;
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(simdjson::padded_string(body)).get(doc)) return out;
  simdjson::dom::element usage;
  if (doc["usage"].get(usage) || !usage.is_object()) return out;
  std::int64_t probe = 0;
  read_usage(usage, out, !usage["prompt_tokens"].get(probe));
  return out;
}

// The Responses API names each event twice, in `event:` and in the data's `type`. The deltas
// (nearly every event of a stream) carry nothing the tap reads but "output has started", so the
// name is enough and the JSON is not parsed. Events without a name are parsed only when they may
// hold a `type` or a usage object (chat chunks hold neither until the last).
// Named events the tap decides on by their name alone: their data need not even be copied
// (SseParser::skip_data_of), which was about half of the parser's time on a Responses stream.
bool StreamTap::decided_by_name(std::string_view name) {
  return name.substr(0, 9) == "response." && name != "response.created" &&
         name != "response.completed" && name != "response.failed" && name != "response.incomplete";
}

StreamTap::StreamTap() {
  parser_.skip_data_of(&StreamTap::decided_by_name);
}

bool StreamTap::worth_parsing(const Event& ev) {
  std::string_view name = ev.type;
  if (name.empty()) {
    return find_in(ev.data, "\"type\"") != std::string_view::npos || may_have_usage_object(ev.data);
  }
  if (!decided_by_name(name)) return true;
  if (name != "response.in_progress" && name != "response.queued") output_seen_ = true;
  return false;
}

void StreamTap::feed(std::string_view chunk) {
  parser_.feed(chunk, [this](const Event& ev) { on_event(ev); });
}

void StreamTap::on_event(const Event& ev) {
  ++events_;
  if (ev.data == "[DONE]") {
    terminal_ = "[DONE]";
    return;
  }
  if (ev.truncated || ev.data.empty() || ev.data.front() != '{') return;
  if (!worth_parsing(ev)) return;
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(ev.data.data(), ev.data.size(), false).get(doc)) return;
  std::string_view type;
  if (doc["type"].get(type) == simdjson::SUCCESS) {
    if (type == "response.created" || type == "response.completed" || type == "response.failed" ||
        type == "response.incomplete") {
      std::string_view id;
      if (!doc.at_pointer("/response/id").get(id)) response_id_ = std::string(id);
    }
    if (type == "response.failed") {
      std::string_view code;
      if (!doc.at_pointer("/response/error/code").get(code)) failure_code_ = std::string(code);
    }
    if (type != "response.created" && type != "response.in_progress" && type != "response.queued" &&
        type != "response.failed" && type != "keepalive")
      output_seen_ = true;
    if (type == "response.completed" || type == "response.failed" ||
        type == "response.incomplete") {
      terminal_ = std::string(type);
      simdjson::dom::element usage;
      if (!doc.at_pointer("/response/usage").get(usage) && usage.is_object())
        read_usage(usage, usage_, false);
    }
    return;
  }
  // Chat completions: the usage chunk (stream_options.include_usage) has a top-level usage.
  simdjson::dom::element usage;
  if (!doc["usage"].get(usage) && usage.is_object()) read_usage(usage, usage_, true);
}

}  // namespace relay::sse
