#include "relay/inspect.hpp"

#include <simdjson.h>

namespace relay {
namespace {

bool looks_like_json(const http::Request& req) {
  const auto* ct = http::find_header(req.headers, "content-type");
  // No content type on a body: the OpenAI SDKs and Codex always send one, so treat it as JSON
  // rather than let an unparsed body through.
  if (!ct) return true;
  return ct->find("json") != std::string::npos;
}

}  // namespace

InspectResult inspect(const http::Request& req) {
  InspectResult r;
  if (req.body.empty() || !looks_like_json(req)) return r;

  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::error_code err;
  if (req.body.capacity() >= req.body.size() + simdjson::SIMDJSON_PADDING) {
    err = parser.parse(req.body.data(), req.body.size(), false).get(doc);
  } else {
    err = parser.parse(simdjson::padded_string(req.body)).get(doc);
  }
  if (err) {
    r.error = std::string("We could not parse the JSON body of your request: ") +
              simdjson::error_message(err);
    return r;
  }
  simdjson::dom::object obj;
  if (doc.get(obj)) {
    r.error = "The JSON body must be an object.";
    return r;
  }
  r.info.json = true;
  std::string_view sv;
  if (!obj["model"].get(sv)) r.info.model = std::string(sv);
  bool b = false;
  if (!obj["stream"].get(b)) r.info.stream = b;
  r.info.stream_options = !obj["stream_options"].error();
  if (!obj["prompt_cache_key"].get(sv)) r.info.prompt_cache_key = std::string(sv);
  return r;
}

}  // namespace relay
